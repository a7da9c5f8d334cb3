// Sessions on etcd (one lease per client): close revokes the lease so ephemerals go
// at once; a client frozen past its TTL sees LOST, its watches ENDED, then a new
// lease by itself; the layout keeps "/a" and "/ab" apart.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "etcd_test_util.hpp"

namespace {

offkv_client *open_client(const std::string &url, offkv_options *opts = nullptr) {
  offkv_options o = OFFKV_OPTIONS_INIT;
  if (!opts) opts = &o;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), opts, &c) == OFFKV_OK);
  return c;
}

etcdtest::States child_states;

// Frozen (SIGSTOP) by the parent past its 2 s lease TTL. Exit code = failed step.
int expiry_child(const std::string &url, int ready_fd, int go_fd) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 2000;
  opts.operation_timeout_ms = 3000;
  opts.session_callback = etcdtest::States::callback;
  opts.session_user = &child_states;
  offkv_client *c = nullptr;
  if (offkv_open(url.c_str(), &opts, &c) != OFFKV_OK) return 10;
  if (offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr) != OFFKV_OK) return 11;
  offkv_watch *w = nullptr;
  std::int64_t v = 0;
  if (offkv_exists_watch(c, "/nothing", &v, nullptr, nullptr, &w) != OFFKV_OK) return 12;
  child_states.clear();
  char byte = 'r';
  if (write(ready_fd, &byte, 1) != 1) return 13;
  if (read(go_fd, &byte, 1) != 1) return 14;  // frozen and thawed by now
  if (!child_states.wait_for(OFFKV_SESSION_LOST, 20)) return 15;
  offkv_event *ev = nullptr;
  if (offkv_watch_wait(w, 5000, &ev) != OFFKV_OK) return 16;
  if (ev->type != OFFKV_EVENT_ENDED || ev->error != OFFKV_ESESSION) return 17;
  offkv_event_free(ev);
  offkv_watch_free(w);
  // The new lease: CONNECTED after LOST (a CONNECTED right after the thaw, before the
  // lease was found expired, does not count).
  if (!child_states.wait_for(OFFKV_SESSION_CONNECTED, 20, OFFKV_SESSION_LOST)) return 18;
  std::int64_t eph = -1;
  // Just thawed, the connection may stall once (seen under a full parallel suite: a
  // read DEADLINE_EXCEEDED on a READY channel); a caller retries a timed-out read.
  int rc = OFFKV_ETIMEOUT;
  for (int attempt = 0; attempt < 3 && (rc == OFFKV_ETIMEOUT || rc == OFFKV_ECONNLOSS);
       ++attempt) {
    rc = offkv_exists(c, "/eph", &eph);
    if (rc != OFFKV_OK)
      std::fprintf(stderr, "expiry child: exists after the new lease: %s: %s\n",
                   offkv_error_name(rc), offkv_last_error());
  }
  if (rc != OFFKV_OK) return 19;
  if (eph != 0) return 20;  // the old lease's ephemeral is gone
  if (int rc = offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr)) {
    std::fprintf(stderr, "expiry child: create with the new lease: %s: %s\n",
                 offkv_error_name(rc), offkv_last_error());
    return 21;
  }
  offkv_close(c);
  offkv_client_free(c);
  return 0;
}

}  // namespace

TEST_CASE("close revokes the lease: the client's ephemerals vanish at once",
          "[etcd][session]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("close");
  offkv_client *a = open_client(url);
  offkv_client *b = open_client(url);
  REQUIRE(offkv_create(a, "/p", "", 0, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(a, "/p/e", "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  offkv_watch *w = nullptr;
  std::int64_t v = 0;
  REQUIRE(offkv_exists_watch(b, "/p/e", &v, nullptr, nullptr, &w) == OFFKV_OK);
  REQUIRE(v == 1);
  REQUIRE(offkv_close(a) == OFFKV_OK);
  CHECK(offkv_exists(b, "/p/e", &v) == OFFKV_OK);
  CHECK(v == 0);  // no wait for a TTL
  offkv_event *ev = nullptr;
  REQUIRE(offkv_watch_wait(w, 5000, &ev) == OFFKV_OK);
  CHECK(ev->type == OFFKV_EVENT_DELETED);
  offkv_event_free(ev);
  offkv_watch_free(w);
  CHECK(offkv_exists(b, "/p", &v) == OFFKV_OK);
  CHECK(v == 1);
  offkv_client_free(a);
  offkv_close(b);
  offkv_client_free(b);
}

TEST_CASE("after the lease expires the client gets a new one by itself",
          "[etcd][session]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("expiry");
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
  // Past the TTL (2 s): etcd expires the lease and deletes the ephemeral.
  offkv_client *observer = open_client(url);
  std::int64_t v = 1;
  for (int i = 0; i < 100 && v != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(offkv_exists(observer, "/eph", &v) == OFFKV_OK);
  }
  CHECK(v == 0);
  REQUIRE(kill(child, SIGCONT) == 0);
  REQUIRE(write(go[1], &byte, 1) == 1);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  offkv_close(observer);
  offkv_client_free(observer);
}

TEST_CASE("on etcd '/a' and '/ab' never meet: children, erase, watches",
          "[etcd][layout]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("layout");
  offkv_client *c = open_client(url);
  for (const char *k : {"/a", "/a/x", "/a/x/y", "/ab", "/ab/x", "/a b", "/a!"})
    REQUIRE(offkv_create(c, k, "", 0, 0, nullptr) == OFFKV_OK);
  offkv_strings kids{};
  REQUIRE(offkv_children(c, "/a", &kids) == OFFKV_OK);
  REQUIRE(kids.count == 1);
  CHECK(std::string(kids.items[0]) == "/a/x");
  offkv_strings_free(&kids);
  offkv_watch *w = nullptr;
  REQUIRE(offkv_watch_persistent(c, "/a", nullptr, nullptr, &w) == OFFKV_OK);
  REQUIRE(offkv_set(c, "/ab/x", "1", 1, nullptr) == OFFKV_OK);
  REQUIRE(offkv_erase(c, "/a", 0) == OFFKV_OK);
  std::vector<std::string> deleted;
  for (int i = 0; i < 3; ++i) {
    offkv_event *ev = nullptr;
    REQUIRE(offkv_watch_wait(w, 5000, &ev) == OFFKV_OK);
    CHECK(ev->type == OFFKV_EVENT_DELETED);
    deleted.push_back(ev->key);
    offkv_event_free(ev);
  }
  CHECK(deleted == std::vector<std::string>{"/a/x/y", "/a/x", "/a"});  // deepest first
  offkv_event *ev = nullptr;
  CHECK(offkv_watch_wait(w, 300, &ev) == OFFKV_ETIMEOUT);  // nothing from /ab
  offkv_watch_free(w);
  std::int64_t v = 0;
  for (const char *k : {"/ab", "/ab/x", "/a b", "/a!"}) {
    REQUIRE(offkv_exists(c, k, &v) == OFFKV_OK);
    CHECK(v >= 1);
  }
  offkv_close(c);
  offkv_client_free(c);
}
