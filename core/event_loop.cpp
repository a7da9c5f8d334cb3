#include "event_loop.hpp"

namespace offkv {

std::shared_ptr<EventLoop> EventLoop::start() {
  std::shared_ptr<EventLoop> loop(new EventLoop());
  std::unique_lock<std::mutex> lock(loop->mutex_);
  // The thread holds its own reference so a loop stopped from its own thread
  // outlives the client that owned it.
  loop->thread_ = std::thread([self = loop] { self->run(); });
  loop->thread_id_ = loop->thread_.get_id();
  return loop;
}

EventLoop::~EventLoop() {
  if (thread_.joinable()) thread_.detach();
}

bool EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(fn));
  }
  wake_.notify_one();
  return true;
}

void EventLoop::run() {
  {
    // Wait until start() has published thread_id_.
    std::lock_guard<std::mutex> lock(mutex_);
  }
  while (true) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {  // stopping and drained
        finished_ = true;
        finished_cv_.notify_all();
        break;
      }
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      fn();
    } catch (...) {
      // A callback must not take the event thread down; the facade already turns
      // user-visible failures into codes, so there is nothing more to report here.
    }
  }
}

void EventLoop::stop() {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = !stopping_;
    stopping_ = true;
  }
  wake_.notify_one();
  if (on_event_thread()) {
    if (first) thread_.detach();  // ends after the current callback returns
    return;
  }
  if (first && thread_.joinable()) {
    thread_.join();
    return;
  }
  // Stopped earlier, possibly from a callback on the event thread: still wait until
  // everything queued has run, so no callback runs after this returns.
  std::unique_lock<std::mutex> lock(mutex_);
  finished_cv_.wait(lock, [&] { return finished_; });
}

}  // namespace offkv
