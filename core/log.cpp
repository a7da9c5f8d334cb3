#include "log.hpp"

#include <atomic>
#include <mutex>
#include <shared_mutex>

namespace offkv {
namespace log {

namespace {
std::shared_mutex mutex;  // shared while calling, unique while replacing
Callback current = nullptr;
void *current_user = nullptr;
std::atomic<int> max_level{0};  // 0: off
}  // namespace

void set(Callback callback, void *user, int level) {
  std::unique_lock<std::shared_mutex> lock(mutex);
  current = callback;
  current_user = user;
  max_level = callback ? level : 0;
}

bool enabled(int level) { return level >= Error && level <= max_level.load(); }

void write(int level, const char *component, const std::string &message) noexcept {
  if (!enabled(level)) return;
  try {
    std::shared_lock<std::shared_mutex> lock(mutex);
    if (current && level <= max_level)
      current(level, component, message.c_str(), current_user);
  } catch (...) {
    // A log line is never worth an error.
  }
}

}  // namespace log
}  // namespace offkv
