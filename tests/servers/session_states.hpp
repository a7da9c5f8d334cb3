// Session states seen through a session callback, shared by the server tests.
#pragma once

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "offkv.h"

namespace servertest {

// Session states seen through a session callback.
struct States {
  std::mutex mutex;
  std::vector<int> seen;
  static void callback(const offkv_event *e, void *user) {
    auto *self = static_cast<States *>(user);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->seen.push_back(e->session_state);
  }
  bool saw(int state) {
    std::lock_guard<std::mutex> lock(mutex);
    for (int s : seen)
      if (s == state) return true;
    return false;
  }
  // state seen after the last `after` (0: at any time).
  bool saw_after(int state, int after) {
    std::lock_guard<std::mutex> lock(mutex);
    bool found = false;
    for (int s : seen) {
      if (s == after) {
        found = false;  // only what follows the last `after` counts
      } else if (s == state) {
        found = true;
      }
    }
    return found;
  }
  bool wait_for(int state, int seconds, int after = 0) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (after ? saw_after(state, after) : saw(state)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // The last state reported (0: none yet).
  int last() {
    std::lock_guard<std::mutex> lock(mutex);
    return seen.empty() ? 0 : seen.back();
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex);
    seen.clear();
  }
};

}  // namespace servertest
