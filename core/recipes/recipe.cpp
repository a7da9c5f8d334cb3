#include "recipe.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <thread>

#include "codes.hpp"

namespace offkv {
namespace recipes {

Recipe::Recipe(std::shared_ptr<Client> client) : client_(std::move(client)) {}

Recipe::~Recipe() {
  unlisten();
  std::shared_ptr<EventLoop> worker;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    worker = std::move(worker_);
  }
  // Nothing of ours is queued (a queued step keeps us alive), so this returns at once;
  // when the last step itself released us, the worker ends after it.
  if (worker) worker->stop();
}

std::shared_ptr<EventLoop> Recipe::worker() {
  std::lock_guard<std::mutex> lock(worker_mutex_);
  if (!worker_) worker_ = EventLoop::start();
  return worker_;
}

int Recipe::listen() {
  std::weak_ptr<Recipe> weak = shared_from_this();
  listener_ =
      client_->add_session_listener([weak](int state, const std::string &message) {
        if (auto self = weak.lock()) self->session_changed(state, message);
      });
  return client_->session_state();
}

void Recipe::unlisten() {
  std::uint64_t id = listener_.exchange(0);
  if (id) client_->remove_session_listener(id);
}

void Recipe::post(std::function<void()> fn) {
  // The worker stops only in our destructor, so this is never refused.
  worker()->post([self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

namespace {

// Runs fn through post (a queue served by one thread) and waits for it; at once when
// already on that thread. An Error fn throws is thrown again here as a new Error with
// its code and message: the exception object itself stays on fn's thread (libstdc++
// shares an exception's text between copies through a count TSan cannot see). false
// if post refused it (fn did not run).
bool run_and_wait(bool on_thread, const std::function<void()> &fn,
                  const std::function<bool(std::function<void()>)> &post) {
  if (on_thread) {
    fn();
    return true;
  }
  struct Outcome {
    bool failed = false;
    int code = 0;
    std::string message;
    std::exception_ptr other;  // anything but an Error (allocation failure)
  };
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  Outcome outcome;
  // fn and outcome are captured by reference: this call waits until the task has
  // run, and a queued task always runs (a stopping loop drains its queue).
  bool queued = post([&fn, &outcome, done] {
    try {
      fn();
    } catch (const Error &e) {
      outcome.failed = true;
      outcome.code = e.code();
      outcome.message.assign(e.what());  // a copy of the text, not a shared one
    } catch (...) {
      outcome.other = std::current_exception();
    }
    done->set_value();
  });
  if (!queued) return false;
  finished.get();
  if (outcome.other) std::rethrow_exception(outcome.other);
  if (outcome.failed) fail(outcome.code, outcome.message);
  return true;
}

}  // namespace

void Recipe::run_step(const std::function<void()> &fn) {
  std::shared_ptr<EventLoop> loop = worker();
  run_and_wait(loop->on_event_thread(), fn, [&](std::function<void()> task) {
    return loop->post([self = shared_from_this(), task = std::move(task)] { task(); });
  });
}

bool Recipe::notify(std::function<void()> fn) {
  return client_->post([self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

bool Recipe::run_on_loop(const std::function<void()> &fn) {
  return run_and_wait(client_->on_event_thread(), fn, [this](std::function<void()> task) {
    return notify(std::move(task));
  });
}

void Recipe::post_later(std::function<void()> fn, unsigned step) {
  if (retry_pending_.fetch_or(step) & step) return;
  int delay = std::min(5000, std::max(200, backoff_ms_.load() * 2));
  backoff_ms_ = delay;
  std::weak_ptr<Recipe> weak = shared_from_this();
  std::thread([weak, delay, step, fn = std::move(fn)] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (auto self = weak.lock()) {
      self->retry_pending_.fetch_and(~step);
      self->post(fn);
    }
  }).detach();
}

const char *session_state_name(int state) {
  switch (state) {
    case SessionState::connected:
      return "CONNECTED";
    case SessionState::suspended:
      return "SUSPENDED";
    case SessionState::lost:
      return "LOST";
    case SessionState::closed:
      return "CLOSED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace recipes
}  // namespace offkv
