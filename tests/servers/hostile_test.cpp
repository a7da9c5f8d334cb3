// Timeouts are kept against servers that are no server (tests/servers/hostile_server.py
// on loopback): one that never answers, one that sends bytes of no protocol, an HTTP
// "agent" with answers of 30 and 64 MiB. Every call returns within its timeout
// + 100 ms, with an error; nothing hangs, nothing crashes.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "shell.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kConnectMs = 1500;
constexpr int kOperationMs = 300;
constexpr long kSlackMs = 100;

struct Hostile {
  pid_t pid = 0;
  std::string port;
  explicit Hostile(const std::string &mode) {
    const char *script = std::getenv("HOSTILE_SERVER");
    const char *tmp = std::getenv("TMPDIR");
    REQUIRE(script);
    std::string file = std::string(tmp ? tmp : "/tmp") + "/offkv-hostile-" + mode + "-" +
                       std::to_string(::getpid());
    std::remove(file.c_str());
    pid = static_cast<pid_t>(
        std::stol(servertest::run("python3 " + std::string(script) + " " + mode + " " +
                                  file + " >/dev/null 2>&1 & echo $!")));
    for (int i = 0; i < 200 && port.empty(); ++i) {
      std::ifstream in(file);
      in >> port;
      if (port.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::remove(file.c_str());
    REQUIRE(!port.empty());
  }
  ~Hostile() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  std::string url(const std::string &scheme) const {
    return scheme + "://127.0.0.1:" + port;
  }
};

// The remote backends of this build (from CMake): each must be compiled in.
std::vector<std::string> schemes() {
  std::vector<std::string> out;
  std::string list =
      std::getenv("OFFKV_HOSTILE_SCHEMES") ? std::getenv("OFFKV_HOSTILE_SCHEMES") : "";
  for (std::size_t at = 0; at < list.size();) {
    std::size_t end = list.find(' ', at);
    if (end == std::string::npos) end = list.size();
    if (end > at) out.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  REQUIRE(!out.empty());
  for (const auto &s : out) REQUIRE(offkv_has_backend(s.c_str()));
  return out;
}

offkv_options options() {
  offkv_options o = OFFKV_OPTIONS_INIT;
  o.connect_timeout_ms = kConnectMs;
  o.operation_timeout_ms = kOperationMs;
  return o;
}

long ms_since(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
          .count());
}

}  // namespace

TEST_CASE("open gives up within its connect timeout on a silent or garbage server",
          "[hostile]") {
  for (const char *mode : {"silent", "garbage"}) {
    Hostile server(mode);
    for (const std::string &scheme : schemes()) {
      std::string url = server.url(scheme);
      offkv_options o = options();
      offkv_client *c = nullptr;
      auto start = Clock::now();
      int rc = offkv_open(url.c_str(), &o, &c);
      long ms = ms_since(start);
      INFO(mode << " " << url << ": " << offkv_error_name(rc) << " after " << ms
                << " ms: " << offkv_last_error());
      CHECK(rc != OFFKV_OK);
      CHECK(c == nullptr);
      CHECK(ms <= kConnectMs + kSlackMs);
      offkv_client_free(c);
    }
  }
}

TEST_CASE("a Consul answer above the cap, or too long to decode, keeps the timeout",
          "[hostile][consul]") {
  REQUIRE(offkv_has_backend("consul"));
  for (const char *mode : {"huge", "big"}) {
    Hostile agent(mode);
    offkv_options o = options();
    offkv_client *c = nullptr;
    REQUIRE(offkv_open(agent.url("consul").c_str(), &o, &c) == OFFKV_OK);
    offkv_buf b{};
    auto start = Clock::now();
    int rc = offkv_get(c, "/x", &b, nullptr);
    long ms = ms_since(start);
    INFO(mode << ": " << offkv_error_name(rc) << " after " << ms
              << " ms: " << offkv_last_error());
    CHECK((rc == OFFKV_ESERVICE || rc == OFFKV_ETIMEOUT));
    CHECK(ms <= kOperationMs + kSlackMs);
    // 64 MiB: refused at the cap (ESERVICE) unless the transfer itself outlasted the
    // timeout (ETIMEOUT), which a loaded machine can make happen first.
    if (std::string(mode) == "huge" && rc == OFFKV_ESERVICE)
      CHECK(std::string(offkv_last_error()).find("cap") != std::string::npos);
    offkv_buf_free(&b);
    offkv_client_free(c);
  }
}
