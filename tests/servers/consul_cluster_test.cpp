// offkv on a 3-server Consul cluster (tests/servers/consul.sh start-cluster):
//  - the leader is killed while a client on another server keeps writing and reading:
//    its session survives (no LOST), its ephemeral stays, its persistent watch keeps
//    reporting, a client on the third server sees every write;
//  - the agent a client talks to is killed: the client sees SUSPENDED, then LOST after
//    2 x TTL (its watch ENDED, its ephemeral gone for everyone), and once the agent is
//    back a new session by itself (CONNECTED).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <string>

#include "consul_test_util.hpp"
#include "offkv.h"

using namespace consultest;

namespace {

std::string sh() { return env("CONSUL_SH"); }
std::string dir() { return env("CONSUL_CLUSTER_DIR"); }

int leader() { return std::stoi(run(sh() + " leader " + dir())); }
void member(const char *action, int n) {
  run(sh() + " " + action + " " + dir() + " " + std::to_string(n));
}
std::string member_url(int n) {
  return first_line(dir() + "/m" + std::to_string(n) + "/url");
}

struct Client {
  offkv_client *c = nullptr;
  ~Client() { offkv_client_free(c); }
};

std::string get(offkv_client *c, const char *key) {
  offkv_buf buf{};
  std::int64_t v = 0;
  int rc = retry_transient([&] {
    offkv_buf_free(&buf);
    return offkv_get(c, key, &buf, &v);
  });
  INFO(offkv_last_error());
  REQUIRE(rc == OFFKV_OK);
  std::string out(buf.data, buf.len);
  offkv_buf_free(&buf);
  return out;
}

}  // namespace

TEST_CASE("a client keeps working while the Consul leader is killed",
          "[consul][cluster]") {
  const int old_leader = leader();
  const int mine = old_leader % 3 + 1;  // the two servers that are not the leader
  const int third = mine % 3 + 1;
  INFO("leader m" << old_leader << ", client on m" << mine << ", reader on m" << third);
  REQUIRE(mine != old_leader);
  REQUIRE(third != old_leader);
  REQUIRE(third != mine);
  const std::string prefix = unique_prefix("cluster");

  Recorder rec;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 20000;  // TTL 10 s: an election takes far less
  opts.operation_timeout_ms = 5000;
  opts.session_callback = &Recorder::on_session;
  opts.session_user = &rec;
  Client a, reader;
  REQUIRE(offkv_open((member_url(mine) + prefix).c_str(), &opts, &a.c) == OFFKV_OK);
  REQUIRE(offkv_open((member_url(third) + prefix).c_str(), nullptr, &reader.c) ==
          OFFKV_OK);
  REQUIRE(offkv_create(a.c, "/eph", "me", 2, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  Recorder events;
  offkv_watch *watch = nullptr;
  REQUIRE(offkv_watch_persistent(a.c, "/counter", &Recorder::on_event, &events, &watch) ==
          OFFKV_OK);

  std::int64_t version = 0;
  auto write_and_read = [&](const std::string &value) {
    std::int64_t v = 0;
    int rc = retry_transient(
        [&] { return offkv_set(a.c, "/counter", value.data(), value.size(), &v); });
    INFO(offkv_last_error());
    REQUIRE(rc == OFFKV_OK);
    CHECK(v > version);
    version = v;
    CHECK(get(a.c, "/counter") == value);
    CHECK(get(reader.c, "/counter") == value);
  };
  for (int i = 0; i < 3; ++i) write_and_read("before-" + std::to_string(i));

  member("stop-member", old_leader);
  for (int i = 0; i < 10; ++i) write_and_read("after-" + std::to_string(i));
  const int new_leader = leader();
  CHECK(new_leader != old_leader);
  CHECK(version >= 13);

  // The session survived: never LOST, the ephemeral is still there for everyone.
  CHECK_FALSE(rec.saw_state(OFFKV_SESSION_LOST));
  std::int64_t eph = 0;
  REQUIRE(retry_transient([&] { return offkv_exists(reader.c, "/eph", &eph); }) ==
          OFFKV_OK);
  CHECK(eph == 1);
  // The persistent watch reported at least the latest state after the failover (its
  // blocking query may first have waited out the election).
  CHECK(eventually(
      [&] {
        std::lock_guard<std::mutex> lock(events.mutex);
        return !events.events.empty() && events.events.back().version == version;
      },
      30000));
  {
    std::lock_guard<std::mutex> lock(events.mutex);
    REQUIRE_FALSE(events.events.empty());
    CHECK(events.events.back().version == version);
    for (const auto &e : events.events) CHECK(e.type != OFFKV_EVENT_ENDED);
  }
  offkv_watch_free(watch);
  member("start-member", old_leader);
  REQUIRE(offkv_close(a.c) == OFFKV_OK);
  // Closing destroyed the session: the ephemeral is gone at once.
  REQUIRE(retry_transient([&] { return offkv_exists(reader.c, "/eph", &eph); }) ==
          OFFKV_OK);
  CHECK(eph == 0);
}

TEST_CASE("a client whose agent dies sees SUSPENDED, LOST, then a new session",
          "[consul][cluster][sessions]") {
  const int lead = leader();
  const int mine = lead % 3 + 1;  // not the leader: stopping it needs no election
  const int observer = lead;
  INFO("leader m" << lead << ", client on m" << mine << ", observer on m" << observer);
  REQUIRE(mine != lead);
  REQUIRE(observer != mine);
  const std::string prefix = unique_prefix("lost");

  Recorder rec;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 4000;  // TTL 2 s: LOST 4 s after the last renewal
  opts.operation_timeout_ms = 2000;
  opts.connect_timeout_ms = 1000;
  opts.session_callback = &Recorder::on_session;
  opts.session_user = &rec;
  Client a, obs;
  REQUIRE(offkv_open((member_url(mine) + prefix).c_str(), &opts, &a.c) == OFFKV_OK);
  REQUIRE(offkv_open((member_url(observer) + prefix).c_str(), nullptr, &obs.c) ==
          OFFKV_OK);
  REQUIRE(offkv_create(a.c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  Recorder events;
  offkv_watch *watch = nullptr;
  std::int64_t v = 0;
  REQUIRE(offkv_exists_watch(a.c, "/never", &v, &Recorder::on_event, &events, &watch) ==
          OFFKV_OK);

  member("stop-member", mine);
  CHECK(eventually([&] { return rec.saw_state(OFFKV_SESSION_SUSPENDED); }, 5000));
  // An operation while the agent is away fails cleanly, within its timeout.
  int rc = offkv_set(a.c, "/x", "", 0, nullptr);
  CHECK((rc == OFFKV_ECONNLOSS || rc == OFFKV_ETIMEOUT));
  CHECK(eventually([&] { return rec.saw_state(OFFKV_SESSION_LOST); }, 10000));
  // LOST ends the watch with ESESSION.
  CHECK(eventually([&] { return events.event_count() == 1; }, 5000));
  {
    std::lock_guard<std::mutex> lock(events.mutex);
    REQUIRE(events.events.size() == 1);
    CHECK(events.events[0].type == OFFKV_EVENT_ENDED);
    CHECK(events.events[0].error == OFFKV_ESESSION);
  }
  // The servers ended the session too: its ephemeral is gone for everyone.
  CHECK(eventually(
      [&] {
        std::int64_t e = -1;
        return offkv_exists(obs.c, "/eph", &e) == OFFKV_OK && e == 0;
      },
      10000));

  member("start-member", mine);
  CHECK(eventually([&] { return offkv_exists(a.c, "/eph", &v) == OFFKV_OK; }, 30000));
  CHECK(eventually(
      [&] {
        auto s = rec.state_list();
        return !s.empty() && s.back() == OFFKV_SESSION_CONNECTED;
      },
      30000));
  auto states = rec.state_list();
  // CONNECTED, SUSPENDED, LOST, CONNECTED (a SUSPENDED may repeat before LOST).
  REQUIRE(states.size() >= 4);
  CHECK(states.front() == OFFKV_SESSION_CONNECTED);
  CHECK(states.back() == OFFKV_SESSION_CONNECTED);
  // The new session makes ephemerals again.
  REQUIRE(retry_transient([&] {
            return offkv_create(a.c, "/eph2", "", 0, OFFKV_EPHEMERAL, nullptr);
          }) == OFFKV_OK);
  offkv_watch_free(watch);
}
