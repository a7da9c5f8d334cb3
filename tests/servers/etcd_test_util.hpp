// Helpers shared by the etcd server tests.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "session_states.hpp"

namespace etcdtest {

inline std::string read_line(const std::string &file) {
  std::ifstream in(file);
  std::string line;
  if (!(in >> line))
    throw std::runtime_error("nothing in " + file + " (no server, no test)");
  return line;
}

inline std::string env(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    throw std::runtime_error(std::string("set ") + name + " (no server, no test)");
  return v;
}

// The server URL from OFFKV_TEST_URL, or the file named by OFFKV_TEST_URL_FILE.
inline std::string server_url() {
  if (const char *url = std::getenv("OFFKV_TEST_URL"); url && *url) return url;
  return read_line(env("OFFKV_TEST_URL_FILE"));
}

// A unique prefix per test run, so runs never see each other's keys.
inline std::string unique_prefix(const std::string &name) {
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return "/" + name + "-" + std::to_string(now);
}

// Retries fn while it answers a transient code (connection loss during failover).
template <typename Fn>
int retry_transient(Fn fn, int seconds = 30) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    int rc = fn();
    if (rc != OFFKV_ECONNLOSS && rc != OFFKV_ETIMEOUT) return rc;
    if (std::chrono::steady_clock::now() > end) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

using servertest::States;

}  // namespace etcdtest
