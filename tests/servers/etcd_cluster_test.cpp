// A client keeps working while the leader of a 3-member etcd cluster stops: its lease
// (session) survives, its ephemeral stays, reads and writes go on after at most a
// short SUSPENDED, and its persistent watch misses no change (it is resumed on
// another member from the revision after the last event it delivered).
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include "etcd_test_util.hpp"

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
