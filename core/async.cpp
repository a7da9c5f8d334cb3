#include "async.hpp"

#include <algorithm>

namespace offkv {

AsyncRunner::AsyncRunner(std::shared_ptr<EventLoop> loop, std::size_t max_threads,
                         std::chrono::milliseconds native_timeout)
    : loop_(std::move(loop)),
      max_threads_(std::max<std::size_t>(max_threads, 1)),
      native_timeout_(native_timeout) {}

AsyncRunner::~AsyncRunner() { shutdown(); }

bool AsyncRunner::related(const std::string &a, const std::string &b) {
  const std::string &shorter = a.size() <= b.size() ? a : b;
  const std::string &longer = a.size() <= b.size() ? b : a;
  if (shorter == "/") return true;  // the root is every key's ancestor
  if (longer.compare(0, shorter.size(), shorter) != 0) return false;
  return longer.size() == shorter.size() || longer[shorter.size()] == '/';
}

bool AsyncRunner::submit(Submission s) {
  auto call = std::make_shared<Call>();
  call->keys = std::move(s.keys);
  call->work = std::move(s.work);
  call->start = std::move(s.start);
  call->closed = std::move(s.closed);
  call->timed_out = std::move(s.timed_out);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutdown_) return false;
    calls_.push_back(call);
    bool start_here = call->start && !blocked(calls_.size() - 1);
    if (!start_here) {
      ensure_worker();
      return true;
    }
    call->running = true;
  }
  // Native and free to go: started on the caller's thread, no hand-off.
  if (!try_start(call)) {
    std::lock_guard<std::mutex> lock(mutex_);
    call->running = false;
    ensure_worker();
  }
  return true;
}

bool AsyncRunner::blocked(std::size_t index) const {
  const CallPtr &candidate = calls_[index];
  for (std::size_t j = 0; j < index; ++j)
    for (const auto &a : calls_[j]->keys)
      for (const auto &b : candidate->keys)
        if (related(a, b)) return true;
  return false;
}

AsyncRunner::CallPtr AsyncRunner::next_runnable() {
  for (std::size_t i = 0; i < calls_.size(); ++i)
    if (!calls_[i]->running && !blocked(i)) return calls_[i];
  return nullptr;
}

void AsyncRunner::ensure_worker() {
  if (idle_ == 0 && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { worker(); });
  } else {
    wake_.notify_one();
  }
}

bool AsyncRunner::try_start(const CallPtr &call) {
  Start start = std::move(call->start);  // a declined call goes to a worker
  if (!start) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!timer_.joinable() && !timer_stop_) timer_ = std::thread([this] { timer(); });
    // Every call has the same timeout, so a new deadline is never the earliest: the
    // timer needs waking only when it had none (a wake-up per call cost a context
    // switch per call).
    bool was_idle = deadlines_.empty();
    call->deadline = deadlines_.emplace(Clock::now() + native_timeout_, call);
    call->timed = true;
    if (was_idle) timer_wake_.notify_one();
  }
  // Holds the call, not the runner's lifetime: after the call ended, a late answer
  // (the call timed out) touches nothing but the call.
  Finish finish = [this, call](Deliver deliver) { return end(call, std::move(deliver)); };
  bool started = false;
  try {
    started = start(finish);
  } catch (...) {
    started = false;  // Start never throws; be safe all the same
  }
  if (started) ++native_started_;
  return started;
}

bool AsyncRunner::end(const CallPtr &call, Deliver deliver) {
  if (call->ended.exchange(true)) return false;
  if (deliver) loop_->post(std::move(deliver));
  deliver = nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  if (call->timed) {
    deadlines_.erase(call->deadline);
    call->timed = false;
  }
  calls_.erase(std::find(calls_.begin(), calls_.end(), call));
  finished_.notify_all();
  // Calls it blocked may run now: a worker starts them (natively if they can be).
  if (!calls_.empty() && !shutdown_) ensure_worker();
  wake_.notify_all();
  return true;
}

void AsyncRunner::worker() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    CallPtr call;
    ++idle_;
    wake_.wait(lock, [&] { return shutdown_ || (call = next_runnable()) != nullptr; });
    --idle_;
    if (!call) return;  // shut down: queued calls were completed by shutdown()
    call->running = true;
    lock.unlock();
    if (!try_start(call)) {
      Work work = std::move(call->work);
      Deliver completion;
      try {
        completion = work();
      } catch (...) {
        completion = call->closed;  // work never throws; be safe all the same
      }
      // What the work holds (e.g. its client) goes here, never under mutex_.
      work = nullptr;
      end(call, std::move(completion));
    }
    call = nullptr;
    lock.lock();
  }
}

void AsyncRunner::timer() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!timer_stop_) {
    if (deadlines_.empty()) {
      timer_wake_.wait(lock);
      continue;
    }
    auto first = deadlines_.begin();
    // A copy: end() may erase the entry while this waits (the lock is released).
    const Clock::time_point when = first->first;
    if (Clock::now() < when) {
      timer_wake_.wait_until(lock, when);
      continue;
    }
    std::shared_ptr<Call> call = first->second.lock();
    deadlines_.erase(first);
    if (call) call->timed = false;
    if (!call || call->ended) continue;
    lock.unlock();
    end(call, call->timed_out);
    call = nullptr;
    lock.lock();
  }
}

void AsyncRunner::shutdown() {
  std::vector<std::thread> threads;
  std::thread timer;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!shutdown_) {
      shutdown_ = true;
      for (auto it = calls_.begin(); it != calls_.end();) {
        if ((*it)->running) {
          ++it;
          continue;
        }
        (*it)->ended = true;
        if ((*it)->closed) loop_->post(std::move((*it)->closed));
        it = calls_.erase(it);
      }
      wake_.notify_all();
    }
    // Native calls end by their answer (the backend was closed first) or by the timer.
    finished_.wait(lock, [&] { return calls_.empty(); });
    threads.swap(threads_);
    timer_stop_ = true;
    timer_wake_.notify_all();
    timer.swap(timer_);
  }
  auto join = [](std::thread &t) {
    if (!t.joinable()) return;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // never: the runner's threads do not shut it down
    } else {
      t.join();
    }
  };
  for (auto &t : threads) join(t);
  join(timer);
}

std::size_t AsyncRunner::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_.size();
}

}  // namespace offkv
