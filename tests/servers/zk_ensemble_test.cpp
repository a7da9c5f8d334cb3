// A client keeps working while members of a 3-node ensemble stop and start: its
// session survives (no LOST), its ephemeral node stays, reads and writes go on after
// at most a short SUSPENDED.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "zk_test_util.hpp"

namespace {

std::mutex states_mutex;
std::vector<int> states;

void on_session(const offkv_event *e, void *) {
  std::lock_guard<std::mutex> lock(states_mutex);
  states.push_back(e->session_state);
}

void member(const char *action, int n) {
  const char *sh = std::getenv("ZK_SH");
  const char *dir = std::getenv("ZK_ENSEMBLE_DIR");
  REQUIRE(sh);
  REQUIRE(dir);
  std::string cmd = std::string(sh) + " " + action + " " + dir + " " + std::to_string(n);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace

TEST_CASE("a client keeps working while ensemble members stop", "[zk][ensemble]") {
  std::string url = zktest::server_url() + zktest::unique_prefix("ensemble");
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 20000;
  opts.operation_timeout_ms = 5000;
  opts.session_callback = on_session;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), &opts, &c) == OFFKV_OK);
  REQUIRE(offkv_create(c, "/eph", "me", 2, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  // A second session watches /counter persistently through the failovers (its own
  // member may be the one stopped: re-arms lost with the connection are issued again
  // when it reconnects).
  offkv_options wopts = OFFKV_OPTIONS_INIT;
  wopts.session_timeout_ms = 20000;
  offkv_client *watcher = nullptr;
  REQUIRE(offkv_open(url.c_str(), &wopts, &watcher) == OFFKV_OK);
  offkv_watch *pw = nullptr;
  REQUIRE(offkv_watch_persistent(watcher, "/counter", nullptr, nullptr, &pw) == OFFKV_OK);

  std::int64_t version = 0;
  for (int n = 1; n <= 3; ++n) {
    INFO("member " << n << " stopped");
    member("stop-member", n);
    for (int i = 0; i < 5; ++i) {
      std::string value = "v" + std::to_string(n) + "-" + std::to_string(i);
      std::int64_t v = 0;
      REQUIRE(zktest::retry_transient([&] {
                return offkv_set(c, "/counter", value.data(), value.size(), &v);
              }) == OFFKV_OK);
      CHECK(v > version);
      version = v;
      offkv_buf buf{};
      std::int64_t got = 0;
      REQUIRE(zktest::retry_transient(
                  [&] { return offkv_get(c, "/counter", &buf, &got); }) == OFFKV_OK);
      CHECK(std::string(buf.data, buf.len) == value);
      offkv_buf_free(&buf);
    }
    std::int64_t eph = 0;
    REQUIRE(zktest::retry_transient([&] { return offkv_exists(c, "/eph", &eph); }) ==
            OFFKV_OK);
    CHECK(eph == 1);  // the session survived the failover
    member("start-member", n);
  }
  CHECK(version == 15);
  // Per key the emulation is exact: CREATED 1, then CHANGED 2..15, in order (versions
  // a re-arm skipped are reported one by one; nothing is lost or repeated).
  std::vector<std::string> seen;
  for (std::int64_t expected = 1; expected <= 15; ++expected) {
    offkv_event *ev = nullptr;
    int rc = offkv_watch_wait(pw, 30000, &ev);
    REQUIRE(rc == OFFKV_OK);
    seen.push_back(std::to_string(ev->type) + "@" + std::to_string(ev->version));
    INFO(
        "events so far: " << Catch::StringMaker<std::vector<std::string>>::convert(seen));
    CHECK(std::string(ev->key) == "/counter");
    CHECK(ev->type == (expected == 1 ? OFFKV_EVENT_CREATED : OFFKV_EVENT_CHANGED));
    CHECK(ev->version == expected);
    offkv_event_free(ev);
  }
  offkv_watch_free(pw);
  offkv_client_free(watcher);
  offkv_close(c);
  offkv_client_free(c);
  std::lock_guard<std::mutex> lock(states_mutex);
  for (int s : states) CHECK(s != OFFKV_SESSION_LOST);
}

namespace {
bool wait_for_state(int wanted, int seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(states_mutex);
      for (int s : states)
        if (s == wanted) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The child: a client whose process gets frozen (SIGSTOP) past its session timeout by
// the parent, so the server expires the session. Exit code = first failed step.
int expiry_child(const std::string &url, int ready_fd, int go_fd) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 2000;
  opts.operation_timeout_ms = 3000;
  opts.session_callback = on_session;
  offkv_client *c = nullptr;
  if (offkv_open(url.c_str(), &opts, &c) != OFFKV_OK) return 10;
  if (offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) != OFFKV_OK) return 11;
  offkv_watch *w = nullptr;
  std::int64_t v = 0;
  if (offkv_exists_watch(c, "/nothing", &v, nullptr, nullptr, &w) != OFFKV_OK) return 12;
  {
    std::lock_guard<std::mutex> lock(states_mutex);
    states.clear();
  }
  char byte = 'r';
  if (write(ready_fd, &byte, 1) != 1) return 13;
  if (read(go_fd, &byte, 1) != 1) return 14;  // we were frozen and thawed by now
  if (!wait_for_state(OFFKV_SESSION_LOST, 20)) return 15;
  offkv_event *ev = nullptr;
  if (offkv_watch_wait(w, 5000, &ev) != OFFKV_OK) return 16;
  if (ev->type != OFFKV_EVENT_ENDED || ev->error != OFFKV_ESESSION) return 17;
  offkv_event_free(ev);
  offkv_watch_free(w);
  std::int64_t eph = -1;
  // New session: operations work again without reopening.
  if (zktest::retry_transient([&] {
        int rc = offkv_exists(c, "/eph", &eph);
        return rc == OFFKV_ESESSION ? OFFKV_ECONNLOSS : rc;
      }) != OFFKV_OK)
    return 18;
  if (eph != 0) return 19;  // the old session's ephemeral is gone
  if (!wait_for_state(OFFKV_SESSION_CONNECTED, 20)) return 20;
  if (offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) != OFFKV_OK) return 21;
  offkv_close(c);
  offkv_client_free(c);
  return 0;
}
}  // namespace

TEST_CASE("after the session expires the client opens a new one by itself",
          "[zk][session]") {
  std::string url = zktest::server_url() + zktest::unique_prefix("expiry");
  int ready[2], go[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(go) == 0);
  std::fflush(nullptr);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(expiry_child(url, ready[1], go[0]));
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  REQUIRE(kill(child, SIGSTOP) == 0);
  std::this_thread::sleep_for(std::chrono::seconds(5));  // > session timeout (2 s)
  REQUIRE(kill(child, SIGCONT) == 0);
  REQUIRE(write(go[1], &byte, 1) == 1);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
