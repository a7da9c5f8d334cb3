// ZooKeeper sessions against real servers: a session that expires while a persistent
// watch is still registering (its walk of the subtree), offkv_close ending the session
// at once, and operations that never outlast operation_timeout_ms while the server
// hangs (a private server, frozen with SIGSTOP, so the shared fixture is untouched).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "session_states.hpp"
#include "zk_test_util.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::mutex states_mutex;
std::vector<int> states;

void on_session(const offkv_event *e, void *) {
  std::lock_guard<std::mutex> lock(states_mutex);
  states.push_back(e->session_state);
}

bool wait_for_state(int wanted, int seconds) {
  auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(states_mutex);
      for (int s : states)
        if (s == wanted) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// /big/cNN/gNN: 1 + width + width * width nodes, created 16 per transaction.
bool make_tree(offkv_client *c, int width) {
  if (offkv_create(c, "/big", "", 0, 0, nullptr) != OFFKV_OK) return false;
  std::vector<std::string> keys;
  for (int i = 0; i < width; ++i) {
    std::string child = "/big/c" + std::to_string(i);
    keys.push_back(child);
  }
  for (int i = 0; i < width; ++i)
    for (int j = 0; j < width; ++j)
      keys.push_back("/big/c" + std::to_string(i) + "/g" + std::to_string(j));
  for (std::size_t at = 0; at < keys.size(); at += OFFKV_MAX_TXN_OPS) {
    offkv_txn *txn = nullptr;
    if (offkv_txn_new(&txn) != OFFKV_OK) return false;
    for (std::size_t k = at; k < keys.size() && k < at + OFFKV_MAX_TXN_OPS; ++k)
      offkv_txn_create(txn, keys[k].c_str(), "v", 1, 0);
    int rc = offkv_commit(c, txn, nullptr);
    offkv_txn_free(txn);
    if (rc != OFFKV_OK) return false;
  }
  return true;
}

std::atomic<int> ended_events{0};
void count_ended(const offkv_event *e, void *) {
  if (e->type == OFFKV_EVENT_ENDED) ++ended_events;
}

// The child: registers a persistent watch on a large subtree while the parent freezes
// it (SIGSTOP) past its 2 s session timeout, so the session expires in the middle of
// the registration walk. Exit code = first failed step.
int walk_child(const std::string &url, int ready_fd) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 2000;
  opts.operation_timeout_ms = 10000;
  opts.session_callback = on_session;
  offkv_client *c = nullptr;
  if (offkv_open(url.c_str(), &opts, &c) != OFFKV_OK) return 10;
  if (!make_tree(c, 30)) return 11;
  if (offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) != OFFKV_OK) return 12;
  char byte = 'r';
  if (write(ready_fd, &byte, 1) != 1) return 13;
  offkv_watch *w = nullptr;
  auto started = Clock::now();
  int rc = offkv_watch_persistent(c, "/big", count_ended, nullptr, &w);
  auto took = Clock::now() - started;
  if (std::getenv("ZK_TEST_VERBOSE"))
    std::fprintf(
        stderr, "walk: %s after %lld ms: %s\n", offkv_error_name(rc),
        (long long)std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
        offkv_last_error());
  // Frozen for 5 s, then at most the operation timeout (10 s) and some slack.
  if (took > std::chrono::seconds(17)) return 14;
  if (rc == OFFKV_OK) {
    // Registered before the expiry: the session loss must end it.
    if (!wait_for_state(OFFKV_SESSION_LOST, 20)) return 15;
    auto end = Clock::now() + std::chrono::seconds(10);
    while (ended_events == 0 && Clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ended_events != 1) return 16;
  } else if (rc != OFFKV_ECONNLOSS && rc != OFFKV_ESESSION && rc != OFFKV_ETIMEOUT) {
    std::fprintf(stderr, "watch_persistent: %s: %s\n", offkv_error_name(rc),
                 offkv_last_error());
    return 17;
  } else if (w != nullptr) {
    return 18;  // a failed call hands out no watch
  }
  offkv_watch_free(w);
  if (!wait_for_state(OFFKV_SESSION_LOST, 20)) return 19;
  // A new session by itself; the old ephemeral is gone; a new walk works.
  std::int64_t eph = -1;
  if (zktest::retry_transient([&] {
        int r = offkv_exists(c, "/eph", &eph);
        return r == OFFKV_ESESSION ? OFFKV_ECONNLOSS : r;
      }) != OFFKV_OK)
    return 20;
  if (eph != 0) return 21;
  offkv_watch *again = nullptr;
  if (offkv_watch_persistent(c, "/big", nullptr, nullptr, &again) != OFFKV_OK) return 22;
  if (offkv_set(c, "/big/c1/g1", "x", 1, nullptr) != OFFKV_OK) return 23;
  offkv_event *ev = nullptr;
  if (offkv_watch_wait(again, 10000, &ev) != OFFKV_OK) return 24;
  if (ev->type != OFFKV_EVENT_CHANGED || std::string(ev->key) != "/big/c1/g1" ||
      ev->version != 2)
    return 25;
  offkv_event_free(ev);
  offkv_watch_free(again);
  offkv_erase(c, "/big", 0);
  offkv_close(c);
  offkv_client_free(c);
  return 0;
}

std::string sh() {
  const char *s = std::getenv("ZK_SH");
  REQUIRE(s);
  return s;
}

// A standalone server of this test's own (it gets frozen).
struct PrivateServer {
  std::string dir;
  PrivateServer() {
    const char *base = std::getenv("ZK_PRIVATE_DIR");
    REQUIRE(base);
    dir = base;
    REQUIRE(std::system((sh() + " start " + dir + " >/dev/null").c_str()) == 0);
  }
  ~PrivateServer() { std::system((sh() + " stop " + dir).c_str()); }
  std::string url() const {
    std::ifstream in(dir + "/url");
    std::string u;
    in >> u;
    return u;
  }
  pid_t pid() const {
    std::ifstream in(dir + "/pid");
    pid_t p = 0;
    in >> p;
    return p;
  }
};

}  // namespace

TEST_CASE("a session that expires during a persistent watch's registration walk",
          "[zk][session][persistent]") {
  // Freezing at different points of the walk (before, during, after it).
  for (int delay_ms : {0, 5, 30, 120}) {
    INFO("frozen " << delay_ms << " ms after the walk started");
    std::string url = zktest::server_url() + zktest::unique_prefix("walk");
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    std::fflush(nullptr);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(walk_child(url, ready[1]));
    close(ready[1]);
    char byte = 0;
    REQUIRE(read(ready[0], &byte, 1) == 1);
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    REQUIRE(kill(child, SIGSTOP) == 0);
    std::this_thread::sleep_for(std::chrono::seconds(5));  // > session timeout (2 s)
    REQUIRE(kill(child, SIGCONT) == 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("offkv_close ends the ZooKeeper session at once", "[zk][session]") {
  std::string url = zktest::server_url() + zktest::unique_prefix("close");
  offkv_client *observer = nullptr;
  REQUIRE(offkv_open(url.c_str(), nullptr, &observer) == OFFKV_OK);
  for (int i = 0; i < 20; ++i) {
    offkv_client *c = nullptr;
    REQUIRE(offkv_open(url.c_str(), nullptr, &c) == OFFKV_OK);
    std::string key = "/eph" + std::to_string(i);
    REQUIRE(offkv_create(c, key.c_str(), "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
    offkv_watch *w = nullptr;
    std::int64_t v = 0;
    REQUIRE(offkv_exists_watch(observer, key.c_str(), &v, nullptr, nullptr, &w) ==
            OFFKV_OK);
    REQUIRE(v == 1);
    REQUIRE(offkv_close(c) == OFFKV_OK);
    // Immediately after close returns, for everyone: no waiting for a timeout.
    REQUIRE(offkv_exists(observer, key.c_str(), &v) == OFFKV_OK);
    CHECK(v == 0);
    offkv_event *ev = nullptr;
    REQUIRE(offkv_watch_wait(w, 5000, &ev) == OFFKV_OK);
    CHECK(ev->type == OFFKV_EVENT_DELETED);
    offkv_event_free(ev);
    offkv_watch_free(w);
    CHECK(offkv_exists(c, key.c_str(), &v) == OFFKV_ECLOSED);
    offkv_client_free(c);
  }
  offkv_client_free(observer);
}

TEST_CASE("operations never outlast operation_timeout_ms while the server hangs",
          "[zk][timeout]") {
  PrivateServer server;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 20000;  // the session outlives the freeze
  opts.operation_timeout_ms = 1000;
  opts.session_callback = on_session;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open((server.url() + "/hang").c_str(), &opts, &c) == OFFKV_OK);
  REQUIRE(make_tree(c, 4));
  {
    std::lock_guard<std::mutex> lock(states_mutex);
    states.clear();
  }
  REQUIRE(kill(server.pid(), SIGSTOP) == 0);
  struct Op {
    const char *name;
    std::function<int()> run;
  };
  std::vector<Op> ops = {
      {"get",
       [&] {
         offkv_buf b{};
         int rc = offkv_get(c, "/big", &b, nullptr);
         offkv_buf_free(&b);
         return rc;
       }},
      {"set", [&] { return offkv_set(c, "/big/c1", "x", 1, nullptr); }},
      {"cas", [&] { return offkv_cas(c, "/big/c1", "x", 1, 7, nullptr); }},
      {"erase subtree", [&] { return offkv_erase(c, "/big", 5); }},
      {"children",
       [&] {
         offkv_strings s{};
         int rc = offkv_children(c, "/big", &s);
         offkv_strings_free(&s);
         return rc;
       }},
      {"watch_persistent",
       [&] {
         offkv_watch *w = nullptr;
         int rc = offkv_watch_persistent(c, "/big", nullptr, nullptr, &w);
         offkv_watch_free(w);
         return rc;
       }},
      {"commit",
       [&] {
         offkv_txn *t = nullptr;
         offkv_txn_new(&t);
         offkv_txn_check(t, "/nothing", 0);
         offkv_txn_set(t, "/big/c2", "y", 1);
         offkv_txn_erase(t, "/big/c3", 0);
         int rc = offkv_commit(c, t, nullptr);
         offkv_txn_free(t);
         return rc;
       }},
  };
  for (auto &op : ops) {
    INFO(op.name);
    auto start = Clock::now();
    int rc = op.run();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
                  .count();
    INFO(offkv_error_name(rc) << ": " << offkv_last_error() << " after " << ms << " ms");
    CHECK((rc == OFFKV_ETIMEOUT || rc == OFFKV_ECONNLOSS));
    CHECK(ms <= 1000 + 250);
  }
  REQUIRE(kill(server.pid(), SIGCONT) == 0);
  // The session survived (20 s): the client works again by itself.
  std::int64_t v = 0;
  CHECK(zktest::retry_transient([&] { return offkv_exists(c, "/big", &v); }) == OFFKV_OK);
  CHECK(v == 1);
  offkv_client_free(c);
  std::lock_guard<std::mutex> lock(states_mutex);
  for (int s : states) CHECK(s != OFFKV_SESSION_LOST);
}

TEST_CASE("TLS options on zk:// are refused, never ignored", "[zk][tls]") {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.tls_ca_file = "/nonexistent/ca.pem";
  offkv_client *c = nullptr;
  CHECK(offkv_open(zktest::server_url().c_str(), &opts, &c) == OFFKV_EUNSUPPORTED);
  CHECK(c == nullptr);
  CHECK(std::string(offkv_last_error()).find("TLS") != std::string::npos);
}

TEST_CASE("a client cut off from every server is LOST after the session timeout",
          "[zk][session]") {
  PrivateServer server;
  servertest::States seen;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 4000;
  opts.operation_timeout_ms = 1000;
  opts.session_callback = servertest::States::callback;
  opts.session_user = &seen;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open((server.url() + "/cutoff").c_str(), &opts, &c) == OFFKV_OK);
  REQUIRE(offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  REQUIRE(kill(server.pid(), SIGSTOP) == 0);
  REQUIRE(seen.wait_for(OFFKV_SESSION_SUSPENDED, 10));
  auto suspended = Clock::now();
  // LOST while no server answers, one session timeout after SUSPENDED (not whenever
  // a server is reachable again: a detector would report the old leader till then).
  REQUIRE(seen.wait_for(OFFKV_SESSION_LOST, 10));
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - suspended)
          .count();
  INFO("LOST " << ms << " ms after SUSPENDED");
  CHECK(ms >= 3900);
  CHECK(ms <= 4000 + 1000);
  int state = 0;
  REQUIRE(offkv_get_session_state(c, &state) == OFFKV_OK);
  CHECK(state == OFFKV_SESSION_LOST);
  std::int64_t v = -1;
  CHECK(offkv_exists(c, "/eph", &v) == OFFKV_ESESSION);
  REQUIRE(kill(server.pid(), SIGCONT) == 0);
  // A new session by itself; the old one's ephemeral goes once the server, running
  // again, expires the old session on its own clock: within a session timeout (plus
  // its tick), not necessarily before the new session is CONNECTED.
  REQUIRE(seen.wait_for(OFFKV_SESSION_CONNECTED, 30, OFFKV_SESSION_LOST));
  auto gone_by = Clock::now() + std::chrono::milliseconds(4000 + 2000);
  do {
    REQUIRE(zktest::retry_transient([&] { return offkv_exists(c, "/eph", &v); }) ==
            OFFKV_OK);
    if (v == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (Clock::now() < gone_by);
  CHECK(v == 0);
  offkv_client_free(c);
}
