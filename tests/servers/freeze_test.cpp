// A client process frozen (SIGSTOP) past its session timeout, then thawed, on any
// remote backend (the URL comes from OFFKV_TEST_URL_FILE). Strict: after LOST and
// the new CONNECTED, the very first call must answer within a normal round trip (no
// retry), an ephemeral created then must belong to a session the client really keeps
// alive (another client still sees it after several session timeouts), and no second
// LOST may follow. The pause stands for a GC pause, a VM freeze, a laptop lid.
//
// The child is this program run again (fork + exec), a fresh process like any client:
// a child merely forked from a process that had used gRPC shares that process's epoll
// set and stalls at random (issue 20; etcd:// refuses such a child, see
// etcd_session_test.cpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "session_states.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSessionTimeoutMs = 2000;  // OFFKV_SESSION_TIMEOUT_MIN_MS
constexpr int kOperationTimeoutMs = 3000;
// A round trip on loopback takes about a millisecond; this bound leaves room for a
// loaded machine (ctest -j2) and is still far below the operation timeout, which is
// what a stalled connection costs.
constexpr auto kNormalRoundTrip = std::chrono::milliseconds(1000);

std::string server_url() {
  const char *file = std::getenv("OFFKV_TEST_URL_FILE");
  if (!file || !*file)
    throw std::runtime_error("set OFFKV_TEST_URL_FILE (no server, no test)");
  std::ifstream in(file);
  std::string url;
  if (!(in >> url)) throw std::runtime_error(std::string("no URL in ") + file);
  return url;
}

std::string unique_prefix() {
  return "/freeze-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

constexpr const char *kChildFlag = "--frozen-child";

servertest::States child_states;

// One step of the child; its exit code names the step that failed.
#define STEP(code, cond, ...)                                \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "frozen child, step %d: ", code); \
      std::fprintf(stderr, __VA_ARGS__);                     \
      std::fprintf(stderr, "\n");                            \
      return code;                                           \
    }                                                        \
  } while (0)

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Protocol with the parent over two pipes: 'r' (ready to be frozen) ... 'g' (thawed,
// go on) ... 'c' (re-created the ephemeral) ... 'x' (exit now).
int frozen_child(const std::string &url, int to_parent, int from_parent) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = kSessionTimeoutMs;
  opts.operation_timeout_ms = kOperationTimeoutMs;
  opts.session_callback = servertest::States::callback;
  opts.session_user = &child_states;
  offkv_client *c = nullptr;
  int rc = offkv_open(url.c_str(), &opts, &c);
  STEP(10, rc == OFFKV_OK, "open: %s: %s", offkv_error_name(rc), offkv_last_error());
  rc = offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr);
  STEP(11, rc == OFFKV_OK, "create: %s: %s", offkv_error_name(rc), offkv_last_error());
  offkv_watch *w = nullptr;
  std::int64_t v = 0;
  rc = offkv_exists_watch(c, "/nothing", &v, nullptr, nullptr, &w);
  STEP(12, rc == OFFKV_OK, "exists_watch: %s", offkv_last_error());
  child_states.clear();
  char byte = 'r';
  STEP(13, write(to_parent, &byte, 1) == 1, "write to parent");
  STEP(14, read(from_parent, &byte, 1) == 1 && byte == 'g', "read from parent");

  // Thawed: the session is gone, the watch ended with it.
  STEP(15, child_states.wait_for(OFFKV_SESSION_LOST, 20), "no LOST within 20 s");
  offkv_event *ev = nullptr;
  rc = offkv_watch_wait(w, 5000, &ev);
  STEP(16, rc == OFFKV_OK, "watch_wait: %s", offkv_error_name(rc));
  bool ended = ev->type == OFFKV_EVENT_ENDED && ev->error == OFFKV_ESESSION;
  offkv_event_free(ev);
  offkv_watch_free(w);
  STEP(17, ended, "the watch did not end with ESESSION");

  // The new session (a CONNECTED right after the thaw, before the old session was
  // found expired, does not count).
  STEP(18, child_states.wait_for(OFFKV_SESSION_CONNECTED, 20, OFFKV_SESSION_LOST),
       "no CONNECTED after LOST within 20 s");
  auto t = Clock::now();
  std::int64_t eph = -1;
  rc = offkv_exists(c, "/eph", &eph);
  long long took = ms_since(t);
  STEP(19, rc == OFFKV_OK, "first call after CONNECTED (exists): %s: %s",
       offkv_error_name(rc), offkv_last_error());
  STEP(20, eph == 0, "the old session's ephemeral is still there");
  long long first_took = took;
  STEP(21, took <= kNormalRoundTrip.count(), "first call after CONNECTED took %lld ms",
       took);
  t = Clock::now();
  rc = offkv_create(c, "/eph", "", 0, OFFKV_EPHEMERAL, nullptr);
  took = ms_since(t);
  STEP(22, rc == OFFKV_OK, "create with the new session: %s: %s", offkv_error_name(rc),
       offkv_last_error());
  STEP(23, took <= kNormalRoundTrip.count(), "create after CONNECTED took %lld ms", took);
  std::fprintf(stderr,
               "frozen child: after CONNECTED, exists took %lld ms, create %lld ms\n",
               first_took, took);
  byte = 'c';
  STEP(24, write(to_parent, &byte, 1) == 1, "write to parent");
  STEP(25, read(from_parent, &byte, 1) == 1 && byte == 'x', "read from parent");
  int state = child_states.last();
  STEP(26, state == OFFKV_SESSION_CONNECTED,
       "the new session did not stay CONNECTED (last state %d)", state);
  offkv_close(c);
  offkv_client_free(c);
  return 0;
}

offkv_client *open_observer(const std::string &url) {
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), nullptr, &c) == OFFKV_OK);
  return c;
}

std::int64_t version_of(offkv_client *c, const char *key) {
  std::int64_t v = -1;
  REQUIRE(offkv_exists(c, key, &v) == OFFKV_OK);
  return v;
}

}  // namespace

TEST_CASE("a client frozen past its session timeout comes back with a session it keeps",
          "[session][freeze]") {
  std::string url = server_url() + unique_prefix();
  int to_parent[2], from_parent[2];
  REQUIRE(pipe(to_parent) == 0);
  REQUIRE(pipe(from_parent) == 0);
  std::fflush(nullptr);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(to_parent[0]);
    close(from_parent[1]);
    std::string out = std::to_string(to_parent[1]), in = std::to_string(from_parent[0]);
    execl("/proc/self/exe", "freeze_test", kChildFlag, url.c_str(), out.c_str(),
          in.c_str(), static_cast<char *>(nullptr));
    std::perror("freeze_test: exec of the child");
    _exit(127);
  }
  close(to_parent[1]);
  close(from_parent[0]);
  char byte = 0;
  REQUIRE(read(to_parent[0], &byte, 1) == 1);
  REQUIRE(kill(child, SIGSTOP) == 0);

  // Frozen until the store has ended its session: the ephemeral is gone.
  offkv_client *observer = open_observer(url);
  auto frozen_at = Clock::now();
  while (version_of(observer, "/eph") != 0 &&
         Clock::now() - frozen_at < std::chrono::seconds(30))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  INFO("frozen for " << ms_since(frozen_at) << " ms");
  CHECK(version_of(observer, "/eph") == 0);
  REQUIRE(kill(child, SIGCONT) == 0);
  byte = 'g';
  REQUIRE(write(from_parent[1], &byte, 1) == 1);

  // The child re-created its ephemeral: it must live on for several session timeouts,
  // so the session behind the new CONNECTED is really kept alive.
  bool created = read(to_parent[0], &byte, 1) == 1 && byte == 'c';
  if (created) {
    CHECK(version_of(observer, "/eph") == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * kSessionTimeoutMs));
    CHECK(version_of(observer, "/eph") == 1);
    byte = 'x';
    REQUIRE(write(from_parent[1], &byte, 1) == 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(created);
  // Closed: its ephemeral goes at once.
  CHECK(version_of(observer, "/eph") == 0);
  offkv_close(observer);
  offkv_client_free(observer);
}

int main(int argc, char **argv) {
  if (argc == 5 && std::string(argv[1]) == kChildFlag)
    return frozen_child(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
  return Catch::Session().run(argc, argv);
}
