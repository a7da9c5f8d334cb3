// Helpers shared by the ZooKeeper server tests.
#pragma once

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "offkv.h"

namespace zktest {

// The server URL from OFFKV_TEST_URL, or the file named by OFFKV_TEST_URL_FILE.
inline std::string server_url() {
  if (const char *url = std::getenv("OFFKV_TEST_URL"); url && *url) return url;
  const char *file = std::getenv("OFFKV_TEST_URL_FILE");
  if (!file || !*file)
    throw std::runtime_error(
        "set OFFKV_TEST_URL or OFFKV_TEST_URL_FILE (no server, no test)");
  std::ifstream in(file);
  std::string url;
  if (!(in >> url)) throw std::runtime_error(std::string("no URL in ") + file);
  return url;
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

}  // namespace zktest
