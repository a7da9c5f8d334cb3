// Asynchronous calls of one client. A call runs natively when the backend can start it
// without blocking (Backend::start_*): it is started on the caller's thread and the
// backend completes it from its own I/O thread, so many calls share the connection
// and no thread waits per call. Otherwise a few worker threads run the client's
// ordinary (blocking) operations side by side. Either way each completion is handed
// to the client's event thread.
//
// Order: a call starts only after every earlier call on a related key (the same key,
// or one below the other) has finished, so calls on related keys take effect and
// complete in call order; unrelated calls run and complete in any order.
//
// Time: a native call not answered within the operation timeout completes with its
// timed_out completion (outcome unknown), as a blocking call would throw ETIMEOUT; its
// late answer is dropped (Finish returns false).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "event_loop.hpp"

namespace offkv {

class AsyncRunner {
 public:
  using Clock = std::chrono::steady_clock;
  // A completion: runs on the event thread.
  using Deliver = std::function<void()>;
  // Runs the call (blocking) on a worker thread and returns its completion.
  using Work = std::function<Deliver()>;
  // Hands a native call's completion over. False when the call had already ended
  // (timed out, or the runner shut it down): the completion is dropped, never run.
  using Finish = std::function<bool(Deliver)>;
  // Starts the call natively and returns true, then calls finish exactly once (from
  // any thread, even before returning); or returns false having started nothing.
  // Never throws.
  using Start = std::function<bool(const Finish &)>;

  struct Submission {
    std::vector<std::string> keys;  // what the call touches, for ordering
    Work work;                      // the blocking form
    Start start;                    // the native form; may be empty
    Deliver closed;                 // the completion if the runner shuts down first
    Deliver timed_out;              // the completion of a native call out of time
  };

  AsyncRunner(std::shared_ptr<EventLoop> loop, std::size_t max_threads,
              std::chrono::milliseconds native_timeout = std::chrono::seconds(10));
  ~AsyncRunner();

  // Queues the call, or starts it at once on this thread when it is native and no
  // earlier call blocks it. False (nothing queued, nothing run) once shut down.
  bool submit(Submission submission);
  // A call with a blocking form only.
  bool submit(std::vector<std::string> keys, Work work, Deliver closed) {
    return submit(Submission{std::move(keys), std::move(work), nullptr, std::move(closed),
                             nullptr});
  }

  // Completes every call not yet started with its `closed` completion, waits until
  // the running ones have handed over their completions (native ones at the latest
  // at their timeout), and ends the threads. Every completion is posted to the event
  // loop before it returns. Idempotent.
  void shutdown();

  // Calls queued or running (for tests and diagnostics).
  std::size_t pending() const;
  // Calls that ran natively so far (for tests and diagnostics).
  std::size_t native_started() const { return native_started_; }

  static bool related(const std::string &a, const std::string &b);

 private:
  struct Call {
    std::vector<std::string> keys;
    Work work;
    Start start;
    Deliver closed;
    Deliver timed_out;
    bool running = false;            // guarded by mutex_
    std::atomic<bool> ended{false};  // its completion was handed over (or dropped)
    bool timed = false;              // deadline is in deadlines_; guarded by mutex_
    std::multimap<Clock::time_point, std::weak_ptr<Call>>::iterator deadline;
  };
  using CallPtr = std::shared_ptr<Call>;

  // The first queued call that no earlier queued or running call blocks (mutex_ held).
  CallPtr next_runnable();
  bool blocked(std::size_t index) const;  // mutex_ held
  // Starts a native call (mutex_ not held); false if the backend declined.
  bool try_start(const CallPtr &call);
  // Ends the call with deliver: posts it, removes the call, wakes what it blocked.
  // False if it had ended already.
  bool end(const CallPtr &call, Deliver deliver);
  // A worker for a runnable call not started natively (mutex_ held).
  void ensure_worker();
  void worker();
  void timer();

  std::shared_ptr<EventLoop> loop_;
  const std::size_t max_threads_;
  const std::chrono::milliseconds native_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;      // a call became runnable, or shutdown
  std::condition_variable finished_;  // a call finished
  std::deque<CallPtr> calls_;         // in call order; running ones stay until done
  std::size_t idle_ = 0;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
  // Native calls' deadlines, watched by timer_ (started with the first native call).
  std::multimap<Clock::time_point, std::weak_ptr<Call>> deadlines_;
  std::condition_variable timer_wake_;
  bool timer_stop_ = false;
  std::thread timer_;
  std::atomic<std::size_t> native_started_{0};
};

}  // namespace offkv
