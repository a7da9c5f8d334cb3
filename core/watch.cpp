#include "watch.hpp"

#include <chrono>

#include "codes.hpp"
#include "error.hpp"
#include "key.hpp"

namespace offkv {

Watch::Watch(WatchKind kind, std::string path, std::string prefix,
             std::shared_ptr<EventLoop> loop, EventCallback callback,
             std::shared_ptr<Stats> stats)
    : kind_(kind),
      path_(std::move(path)),
      prefix_(std::move(prefix)),
      loop_(std::move(loop)),
      callback_(std::move(callback)),
      stats_(std::move(stats)) {}

bool Watch::fire(Event event) {
  if (!event.path.empty()) event.path = to_client_key(prefix_, event.path);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_ || ended_ || fired_) return false;
    if (persistent()) {
      // With a callback, events go only to the callback (no unbounded queue).
      if (!callback_) queue_.push_back(event);
    } else {
      fired_ = true;
      oneshot_event_ = event;
    }
  }
  if (stats_) ++stats_->watches_fired;  // before a waiter can look
  changed_.notify_all();
  if (callback_) {
    loop_->post([self = shared_from_this(), event] { self->dispatch(event); });
  }
  return true;
}

void Watch::end(int error, int session_state, const std::string &message) {
  Event event;
  event.type = EventType::ended;
  event.path = to_client_key(prefix_, path_);
  event.session_state = session_state;
  event.error = error;
  event.message = message;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_ || ended_) return;
    if (!persistent() && fired_) return;  // already told its one change
    ended_ = true;
    if (persistent()) {
      if (!callback_) queue_.push_back(event);
    } else {
      oneshot_event_ = event;
    }
  }
  changed_.notify_all();
  if (callback_) {
    loop_->post([self = shared_from_this(), event] { self->dispatch(event); });
  }
}

void Watch::dispatch(const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return;
    in_callback_ = true;
  }
  callback_(event);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_callback_ = false;
  }
  changed_.notify_all();
}

std::optional<Event> Watch::wait(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&] {
    if (cancelled_) return true;
    if (persistent()) return !queue_.empty() || ended_;
    return oneshot_event_.has_value();
  };
  if (timeout_ms < 0) {
    changed_.wait(lock, ready);
  } else if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
    return std::nullopt;
  }
  if (cancelled_) fail(Err::eclosed, "watch on '" + path_ + "' was cancelled");
  if (!persistent()) return oneshot_event_;
  if (queue_.empty()) fail(Err::eclosed, "watch on '" + path_ + "' has ended");
  Event event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

bool Watch::cancel() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (cancelled_) return false;
  cancelled_ = true;
  changed_.notify_all();
  // A callback running on the event thread may itself cancel its watch; anywhere
  // else, wait so that no callback runs after cancel returns.
  if (!loop_->on_event_thread()) changed_.wait(lock, [&] { return !in_callback_; });
  return true;
}

bool Watch::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_ || ended_ || (!persistent() && fired_);
}

std::int64_t first_version_to_report(std::int64_t seen, std::int64_t now) {
  return now - seen > kMaxFilledVersions ? now : seen + 1;
}

}  // namespace offkv
