// Helpers shared by the Consul server tests.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "shell.hpp"

namespace consultest {

inline std::string env(const char *name) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    throw std::runtime_error(std::string("set ") + name + " (no server, no test)");
  return v;
}

// The first line of a file (a URL or a token written by consul.sh).
inline std::string first_line(const std::string &file) {
  std::ifstream in(file);
  std::string line;
  if (!std::getline(in, line) || line.empty())
    throw std::runtime_error("nothing in " + file);
  return line;
}

// A unique prefix per test run, so runs never see each other's keys.
inline std::string unique_prefix(const std::string &name) {
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return "/" + name + "-" + std::to_string(now);
}

using servertest::run;

// Retries fn while it answers a transient code (no leader during an election).
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

// Records session states (session callback) and events (watch callback).
struct Recorder {
  std::mutex mutex;
  std::vector<int> states;
  std::vector<offkv_event> events;  // key/message pointers are not kept
  std::vector<std::string> keys;

  static void on_session(const offkv_event *e, void *user) {
    auto *r = static_cast<Recorder *>(user);
    std::lock_guard<std::mutex> lock(r->mutex);
    r->states.push_back(e->session_state);
  }
  static void on_event(const offkv_event *e, void *user) {
    auto *r = static_cast<Recorder *>(user);
    std::lock_guard<std::mutex> lock(r->mutex);
    offkv_event copy = *e;
    copy.key = nullptr;
    copy.message = nullptr;
    r->events.push_back(copy);
    r->keys.push_back(e->key ? e->key : "");
  }
  std::vector<int> state_list() {
    std::lock_guard<std::mutex> lock(mutex);
    return states;
  }
  bool saw_state(int s) {
    std::lock_guard<std::mutex> lock(mutex);
    for (int x : states)
      if (x == s) return true;
    return false;
  }
  std::size_t event_count() {
    std::lock_guard<std::mutex> lock(mutex);
    return events.size();
  }
};

// Waits until pred() holds (polling), at most ms.
template <typename Pred>
bool eventually(Pred pred, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace consultest
