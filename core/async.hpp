// Asynchronous calls of one client: a few worker threads run the client's ordinary
// (blocking) operations side by side, so many calls are in flight on the one
// connection, and each completion is handed to the client's event thread.
//
// Order: a call starts only after every earlier call on a related key (the same key,
// or one below the other) has finished, so calls on related keys take effect and
// complete in call order; unrelated calls run and complete in any order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.hpp"

namespace offkv {

class AsyncRunner {
 public:
  // Runs the call on a worker thread and returns its completion, which is then run on
  // the event thread.
  using Work = std::function<std::function<void()>()>;

  AsyncRunner(std::shared_ptr<EventLoop> loop, std::size_t max_threads);
  ~AsyncRunner();

  // Queues a call touching keys. closed is its completion should the runner shut
  // down before the call started. False (nothing queued) once shut down.
  bool submit(std::vector<std::string> keys, Work work, std::function<void()> closed);

  // Completes every call not yet started with its `closed` completion, waits until
  // the running ones have handed over their completions, and ends the workers. Every
  // completion is posted to the event loop before it returns. Idempotent.
  void shutdown();

  // Calls queued or running (for tests and diagnostics).
  std::size_t pending() const;

 private:
  struct Call {
    std::vector<std::string> keys;
    Work work;
    std::function<void()> closed;
    bool running = false;
  };
  using CallPtr = std::shared_ptr<Call>;

  static bool related(const std::string &a, const std::string &b);
  // The first queued call that no earlier queued or running call blocks (mutex_ held).
  CallPtr next_runnable();
  void worker();

  std::shared_ptr<EventLoop> loop_;
  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;      // a call became runnable, or shutdown
  std::condition_variable finished_;  // a call finished
  std::deque<CallPtr> calls_;         // in call order; running ones stay until done
  std::size_t idle_ = 0;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace offkv
