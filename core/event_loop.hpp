// The client's event thread: runs queued callbacks in order, with no library lock held.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace offkv {

class EventLoop : public std::enable_shared_from_this<EventLoop> {
 public:
  static std::shared_ptr<EventLoop> start();
  ~EventLoop();

  // Queues fn; it runs after everything queued before it. Ignored once stopped;
  // returns false then (fn will never run).
  bool post(std::function<void()> fn);

  // Runs what is queued, then ends the thread. Joins it unless called from the event
  // thread itself (then the thread ends after the current callback returns).
  void stop();

  bool on_event_thread() const { return std::this_thread::get_id() == thread_id_; }

 private:
  EventLoop() = default;
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  bool finished_ = false;  // run() has drained the queue and is returning
  std::condition_variable finished_cv_;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace offkv
