#include "async.hpp"

#include <algorithm>

namespace offkv {

AsyncRunner::AsyncRunner(std::shared_ptr<EventLoop> loop, std::size_t max_threads)
    : loop_(std::move(loop)), max_threads_(std::max<std::size_t>(max_threads, 1)) {}

AsyncRunner::~AsyncRunner() { shutdown(); }

bool AsyncRunner::related(const std::string &a, const std::string &b) {
  const std::string &shorter = a.size() <= b.size() ? a : b;
  const std::string &longer = a.size() <= b.size() ? b : a;
  if (shorter == "/") return true;  // the root is every key's ancestor
  if (longer.compare(0, shorter.size(), shorter) != 0) return false;
  return longer.size() == shorter.size() || longer[shorter.size()] == '/';
}

bool AsyncRunner::submit(std::vector<std::string> keys, Work work,
                         std::function<void()> closed) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shutdown_) return false;
  auto call = std::make_shared<Call>();
  call->keys = std::move(keys);
  call->work = std::move(work);
  call->closed = std::move(closed);
  calls_.push_back(std::move(call));
  if (idle_ == 0 && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { worker(); });
  } else {
    wake_.notify_one();
  }
  return true;
}

AsyncRunner::CallPtr AsyncRunner::next_runnable() {
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    const CallPtr &candidate = calls_[i];
    if (candidate->running) continue;
    bool blocked = false;
    for (std::size_t j = 0; j < i && !blocked; ++j)
      for (const auto &a : calls_[j]->keys)
        for (const auto &b : candidate->keys)
          if (related(a, b)) blocked = true;
    if (!blocked) return candidate;
  }
  return nullptr;
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
    Work work = std::move(call->work);
    lock.unlock();
    std::function<void()> completion;
    try {
      completion = work();
    } catch (...) {
      completion = call->closed;  // work never throws; be safe all the same
    }
    // What the work holds (e.g. its client) goes here, never under mutex_.
    work = nullptr;
    if (completion) loop_->post(std::move(completion));
    completion = nullptr;
    lock.lock();
    calls_.erase(std::find(calls_.begin(), calls_.end(), call));
    finished_.notify_all();
    wake_.notify_all();  // calls it blocked may run now
  }
}

void AsyncRunner::shutdown() {
  std::vector<std::thread> threads;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!shutdown_) {
      shutdown_ = true;
      for (auto it = calls_.begin(); it != calls_.end();) {
        if ((*it)->running) {
          ++it;
          continue;
        }
        if ((*it)->closed) loop_->post(std::move((*it)->closed));
        it = calls_.erase(it);
      }
      wake_.notify_all();
    }
    finished_.wait(lock, [&] { return calls_.empty(); });
    threads.swap(threads_);
  }
  for (auto &t : threads)
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // never: workers do not shut their own runner down
    } else {
      t.join();
    }
}

std::size_t AsyncRunner::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_.size();
}

}  // namespace offkv
