// One behaviour on every remote backend while the session is SUSPENDED: an operation
// waits for the connection, up to its operation timeout, and succeeds when the server
// comes back within it (it does not fail fast). The server (a private one: it gets
// paused with SIGSTOP) is started with the backend's script, SERVER_SH, in PRIVATE_DIR.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "offkv.h"
#include "session_states.hpp"
#include "shell.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::string env(const char *name) {
  const char *v = std::getenv(name);
  REQUIRE(v);
  return v;
}

std::string read_word(const std::string &file) {
  std::ifstream in(file);
  std::string word;
  in >> word;
  return word;
}

struct PrivateServer {
  std::string sh = env("SERVER_SH"), dir = env("PRIVATE_DIR");
  PrivateServer() { servertest::run(sh + " start " + dir + " >/dev/null"); }
  ~PrivateServer() { std::system((sh + " stop " + dir + " >/dev/null").c_str()); }
  std::string url() const { return read_word(dir + "/url"); }
  pid_t pid() const {
    std::string p = read_word(dir + "/pid");
    if (p.empty()) p = read_word(dir + "/m1/pid");  // etcd.sh keeps members apart
    REQUIRE(!p.empty());
    return static_cast<pid_t>(std::stol(p));
  }
};

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// tcp_proxy.py on a port of its own in front of the server: stop() makes the server
// unreachable (connections cut, new ones refused), start() brings the path back.
struct Proxy {
  int port = free_port();
  std::string target, log;
  pid_t pid = 0;
  Proxy(const std::string &target_address, const std::string &dir)
      : target(target_address), log(dir + "-proxy.log") {
    start();
  }
  ~Proxy() { stop(); }
  void start() {
    std::remove(log.c_str());
    pid = static_cast<pid_t>(std::stol(
        servertest::run("python3 " + env("TCP_PROXY") + " " + std::to_string(port) + " " +
                        target + " >" + log + " 2>&1 & echo $!")));
    for (int i = 0; i < 100 && read_word(log) != "ready"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    REQUIRE(read_word(log) == "ready");
  }
  void stop() {
    if (pid == 0) return;
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    pid = 0;
  }
  // url with its host:port replaced by the proxy's.
  std::string through(const std::string &url) const {
    std::size_t begin = url.find("://") + 3;
    std::size_t end = url.find_first_of("/?", begin);
    return url.substr(0, begin) + "127.0.0.1:" + std::to_string(port) +
           (end == std::string::npos ? "" : url.substr(end));
  }
  static std::string address_of(const std::string &url) {
    std::size_t begin = url.find("://") + 3;
    return url.substr(begin, url.find_first_of("/?", begin) - begin);
  }
};

// A client whose session outlives the outage (20 s) and whose calls wait 10 s.
offkv_client *open_client(const std::string &url, servertest::States &seen) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.session_timeout_ms = 20000;
  opts.operation_timeout_ms = 10000;
  opts.session_callback = servertest::States::callback;
  opts.session_user = &seen;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), &opts, &c) == OFFKV_OK);
  return c;
}

}  // namespace

TEST_CASE("an operation while the server is unreachable waits for it within its timeout",
          "[session]") {
  PrivateServer server;
  Proxy proxy(Proxy::address_of(server.url()), server.dir);
  servertest::States seen;
  offkv_client *c = open_client(proxy.through(server.url()) + "/cut", seen);
  REQUIRE(offkv_set(c, "/k", "0", 1, nullptr) == OFFKV_OK);
  proxy.stop();
  REQUIRE(seen.wait_for(OFFKV_SESSION_SUSPENDED, 30));
  std::atomic<int> rc{-1};
  auto start = Clock::now();
  std::thread op([&] { rc = offkv_set(c, "/k", "v", 1, nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK(rc == -1);  // still waiting, not failed fast
  proxy.start();
  op.join();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  INFO("set returned " << offkv_error_name(rc) << " after " << ms << " ms");
  CHECK(rc == OFFKV_OK);
  CHECK(ms <= 10000 + 100);
  CHECK_FALSE(seen.saw(OFFKV_SESSION_LOST));
  offkv_client_free(c);
}

TEST_CASE("an operation while SUSPENDED waits for the connection within its timeout",
          "[session]") {
  PrivateServer server;
  servertest::States seen;
  offkv_client *c = open_client(server.url() + "/suspended", seen);
  REQUIRE(offkv_set(c, "/k", "0", 1, nullptr) == OFFKV_OK);
  REQUIRE(kill(server.pid(), SIGSTOP) == 0);
  bool suspended = seen.wait_for(OFFKV_SESSION_SUSPENDED, 30);
  if (!suspended) kill(server.pid(), SIGCONT);
  REQUIRE(suspended);
  std::atomic<int> rc{-1};
  auto start = Clock::now();
  std::thread op([&] { rc = offkv_set(c, "/k", "v", 1, nullptr); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK(rc == -1);  // still waiting, not failed fast
  REQUIRE(kill(server.pid(), SIGCONT) == 0);
  op.join();
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  INFO("set returned " << offkv_error_name(rc) << " (" << offkv_last_error() << ") after "
                       << ms << " ms");
  CHECK(rc == OFFKV_OK);
  CHECK(ms <= 10000 + 100);
  offkv_buf b{};
  REQUIRE(offkv_get(c, "/k", &b, nullptr) == OFFKV_OK);
  CHECK(std::string(b.data, b.len) == "v");
  offkv_buf_free(&b);
  CHECK_FALSE(seen.saw(OFFKV_SESSION_LOST));
  // The counters saw it: one SUSPENDED, then CONNECTED again (a reconnection).
  REQUIRE(seen.wait_for(OFFKV_SESSION_CONNECTED, 20, OFFKV_SESSION_SUSPENDED));
  offkv_stats stats = OFFKV_STATS_INIT;
  REQUIRE(offkv_get_stats(c, &stats) == OFFKV_OK);
  std::uint64_t reconnects = 0, suspended_count = 0;
  for (size_t i = 0; i < stats.count; ++i) {
    if (std::string(stats.items[i]->name) == "reconnects")
      reconnects = stats.items[i]->value;
    if (std::string(stats.items[i]->name) == "session.SUSPENDED")
      suspended_count = stats.items[i]->value;
  }
  offkv_stats_free(&stats);
  CHECK(reconnects >= 1);
  CHECK(suspended_count >= 1);
  offkv_client_free(c);
}
