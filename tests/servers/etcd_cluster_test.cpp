// A client keeps working while the leader of a 3-member etcd cluster stops: its lease
// (session) survives, its ephemeral stays, reads and writes go on after at most a
// short SUSPENDED, and its persistent watch misses no change (it is resumed on
// another member from the revision after the last event it delivered).
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include <cstring>
#include <thread>

#include "etcd_test_util.hpp"
#include "shell.hpp"

namespace {

std::string script(const std::string &action) {
  return etcdtest::env("ETCD_SH") + " " + action + " " +
         etcdtest::env("ETCD_CLUSTER_DIR");
}

int leader() {
  FILE *p = popen(script("leader").c_str(), "r");
  REQUIRE(p);
  int n = 0;
  if (std::fscanf(p, "%d", &n) != 1) n = 0;
  pclose(p);
  return n;
}

void member(const char *action, int n) {
  REQUIRE(std::system((script(action) + " " + std::to_string(n)).c_str()) == 0);
}

}  // namespace

TEST_CASE("a client keeps working while the etcd leader stops", "[etcd][cluster]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("failover");
  etcdtest::States states;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 15000;
  opts.operation_timeout_ms = 5000;
  opts.session_callback = etcdtest::States::callback;
  opts.session_user = &states;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), &opts, &c) == OFFKV_OK);
  REQUIRE(offkv_create(c, "/eph", "me", 2, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  offkv_watch *w = nullptr;
  REQUIRE(offkv_watch_persistent(c, "/counter", nullptr, nullptr, &w) == OFFKV_OK);

  std::int64_t version = 0;
  for (int round = 1; round <= 2; ++round) {
    int n = leader();
    REQUIRE(n >= 1);
    INFO("round " << round << ": leader m" << n << " stopped");
    member("stop-member", n);
    for (int i = 0; i < 5; ++i) {
      std::string value = "v" + std::to_string(round) + "-" + std::to_string(i);
      std::int64_t v = 0;
      REQUIRE(etcdtest::retry_transient([&] {
                return offkv_set(c, "/counter", value.data(), value.size(), &v);
              }) == OFFKV_OK);
      CHECK(v > version);
      version = v;
      offkv_buf buf{};
      std::int64_t got = 0;
      REQUIRE(etcdtest::retry_transient(
                  [&] { return offkv_get(c, "/counter", &buf, &got); }) == OFFKV_OK);
      CHECK(std::string(buf.data, buf.len) == value);
      CHECK(got == v);
      offkv_buf_free(&buf);
    }
    std::int64_t eph = 0;
    REQUIRE(etcdtest::retry_transient([&] { return offkv_exists(c, "/eph", &eph); }) ==
            OFFKV_OK);
    CHECK(eph == 1);  // the lease survived the failover
    member("start-member", n);
  }
  // A retried set may have been applied twice (outcome unknown on ECONNLOSS), so
  // the versions are checked against what the watch saw, which must be all of them.
  std::set<std::int64_t> seen;
  for (;;) {
    offkv_event *ev = nullptr;
    int rc = offkv_watch_wait(w, seen.count(version) ? 0 : 10000, &ev);
    if (rc != OFFKV_OK || !ev) break;
    REQUIRE(ev->type != OFFKV_EVENT_ENDED);
    seen.insert(ev->version);
    offkv_event_free(ev);
  }
  REQUIRE(!seen.empty());
  CHECK(*seen.begin() == 1);
  CHECK(*seen.rbegin() == version);
  CHECK(seen.size() == static_cast<std::size_t>(version));  // no change missed
  offkv_watch_free(w);
  offkv_close(c);
  offkv_client_free(c);
  CHECK_FALSE(states.saw(OFFKV_SESSION_LOST));
}

namespace {

std::string member_url(int n) {
  std::string endpoint =
      etcdtest::read_line(etcdtest::env("ETCD_CLUSTER_DIR") + "/m" + std::to_string(n) +
                          "/endpoint");
  return "etcd://" + endpoint.substr(endpoint.find("://") + 3);
}

// A client on member k only (so stopping k breaks its watch stream) and a writer on
// another member; k is a follower, so stopping it needs no election.
struct TwoClients {
  int k = 0, other = 0;
  offkv_client *watcher = nullptr, *writer = nullptr;
  explicit TwoClients(const std::string &prefix) {
    int lead = leader();
    REQUIRE(lead >= 1);
    k = lead == 3 ? 2 : 3;
    other = lead;
    offkv_options opts = OFFKV_OPTIONS_INIT;
    opts.session_timeout_ms = 30000;  // outlives the member's stop
    opts.operation_timeout_ms = 5000;
    REQUIRE(offkv_open((member_url(k) + prefix).c_str(), &opts, &watcher) == OFFKV_OK);
    REQUIRE(offkv_open((member_url(other) + prefix).c_str(), &opts, &writer) == OFFKV_OK);
  }
  ~TwoClients() {
    offkv_client_free(watcher);
    offkv_client_free(writer);
  }
  void put(const char *key, const char *value) {
    REQUIRE(etcdtest::retry_transient([&] {
              return offkv_set(writer, key, value, std::strlen(value), nullptr);
            }) == OFFKV_OK);
  }
};

struct Seen {
  int type = 0;
  std::string key;
  std::int64_t version = 0;
};

Seen next_event(offkv_watch *w, const char *what, int timeout_ms = 20000) {
  INFO("waiting for an event of the " << what << " watch");
  offkv_event *ev = nullptr;
  int rc = offkv_watch_wait(w, timeout_ms, &ev);
  INFO("offkv_watch_wait: " << rc << " " << offkv_last_error());
  REQUIRE(rc == OFFKV_OK);
  Seen out{ev->type, ev->key ? ev->key : "", ev->version};
  INFO("event " << out.type << " " << out.key << " error " << ev->error << " "
                << (ev->message ? ev->message : ""));
  offkv_event_free(ev);
  REQUIRE(out.type != OFFKV_EVENT_ENDED);
  return out;
}

}  // namespace

TEST_CASE("a watch whose resume revision was compacted delivers what it missed",
          "[etcd][cluster][compaction]") {
  TwoClients two(etcdtest::unique_prefix("compacted"));
  two.put("/a", "1");
  REQUIRE(offkv_create(two.writer, "/p", "", 0, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(two.writer, "/q", "", 0, 0, nullptr) == OFFKV_OK);
  offkv_watch *data = nullptr, *absent = nullptr, *kids = nullptr, *tree = nullptr;
  REQUIRE(offkv_get_watch(two.watcher, "/a", nullptr, nullptr, nullptr, nullptr,
                          &data) == OFFKV_OK);
  std::int64_t v = -1;
  REQUIRE(offkv_exists_watch(two.watcher, "/new", &v, nullptr, nullptr, &absent) ==
          OFFKV_OK);
  REQUIRE(v == 0);
  offkv_strings list{nullptr, 0};
  REQUIRE(offkv_children_watch(two.watcher, "/p", &list, nullptr, nullptr, &kids) ==
          OFFKV_OK);
  offkv_strings_free(&list);
  REQUIRE(offkv_watch_persistent(two.watcher, "/q", nullptr, nullptr, &tree) == OFFKV_OK);

  member("stop-member", two.k);
  two.put("/a", "2");
  two.put("/new", "x");
  REQUIRE(offkv_create(two.writer, "/p/c", "", 0, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(two.writer, "/q/n", "", 0, 0, nullptr) == OFFKV_OK);
  two.put("/q", "changed");
  servertest::run(script("compact") + " " + std::to_string(two.other));
  member("start-member", two.k);

  Seen ev = next_event(data, "get");
  CHECK(ev.type == OFFKV_EVENT_CHANGED);
  CHECK(ev.version == 2);
  ev = next_event(absent, "exists");
  CHECK(ev.type == OFFKV_EVENT_CREATED);
  CHECK(ev.key == "/new");
  ev = next_event(kids, "children");
  CHECK(ev.type == OFFKV_EVENT_CHILDREN);
  // The persistent watch: what the store still shows, in store order, then it goes on.
  ev = next_event(tree, "persistent (1st)");
  CHECK(ev.type == OFFKV_EVENT_CREATED);
  CHECK(ev.key == "/q/n");
  ev = next_event(tree, "persistent (2nd)");
  CHECK(ev.type == OFFKV_EVENT_CHANGED);
  CHECK(ev.key == "/q");
  CHECK(ev.version == 2);
  two.put("/q/n", "again");
  ev = next_event(tree, "persistent (3rd)");
  CHECK(ev.type == OFFKV_EVENT_CHANGED);
  CHECK(ev.key == "/q/n");
  CHECK(ev.version == 2);
  for (offkv_watch *w : {data, absent, kids, tree}) offkv_watch_free(w);
}

TEST_CASE("progress notifications keep an idle watch's resume revision current",
          "[etcd][cluster][compaction]") {
  // The watch is idle while the store moves on; a compaction then happens while the
  // watcher's member is down, and an erase after it. Resumed from the revision of
  // its last progress notification, the watch sees the erase itself (a resync from
  // an older revision could not: an erased node leaves nothing to read).
  TwoClients two(etcdtest::unique_prefix("progress"));
  REQUIRE(offkv_create(two.writer, "/r", "", 0, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(two.writer, "/r/x", "", 0, 0, nullptr) == OFFKV_OK);
  // A linearizable read on the watcher's member first: that member has applied the
  // creations, so the watch (from "now" on that member) starts after them.
  std::int64_t v = 0;
  REQUIRE(offkv_exists(two.watcher, "/r/x", &v) == OFFKV_OK);
  REQUIRE(v == 1);
  offkv_watch *tree = nullptr;
  REQUIRE(offkv_watch_persistent(two.watcher, "/r", nullptr, nullptr, &tree) == OFFKV_OK);
  for (int i = 0; i < 5; ++i) two.put("/elsewhere", std::to_string(i).c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // > 1 s interval
  member("stop-member", two.k);
  servertest::run(script("compact") + " " + std::to_string(two.other));
  REQUIRE(etcdtest::retry_transient([&] { return offkv_erase(two.writer, "/r/x", 0); }) ==
          OFFKV_OK);
  member("start-member", two.k);
  Seen ev = next_event(tree, "persistent");
  CHECK(ev.type == OFFKV_EVENT_DELETED);
  CHECK(ev.key == "/r/x");
  offkv_watch_free(tree);
}
