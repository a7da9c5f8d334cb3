// Watches: callbacks feed one queue in arrival order; the main thread prints each
// event as `TYPE KEY version=N` and re-arms one-shot watches before going on, so a
// script that alternates changes and `wait` sees every change.
#include <signal.h>
#include <chrono>

#include <csignal>
#include <cstdio>

#include "cli.hpp"

namespace cli {

void EventQueue::push(Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
}

bool EventQueue::pop(Event &event, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [&] { return !events_.empty(); }))
    return false;
  event = std::move(events_.front());
  events_.pop_front();
  return true;
}

// Runs on the session's event thread; only copies the event into the queue.
static void on_event(const offkv_event *ev, void *user) {
  auto *w = static_cast<Watch *>(user);
  try {
    Event e;
    e.type = ev->type;
    e.key = ev->key ? ev->key : "";
    e.version = ev->version;
    e.error = ev->error;
    e.message = ev->message ? ev->message : "";
    e.watch = w;
    w->queue->push(std::move(e));
  } catch (...) {
    // Out of memory: the event is lost; never let an exception into the library.
  }
}

void arm(offkv_client *client, Watch &w) {
  int rc = OFFKV_OK;
  switch (w.mode) {
    case WatchMode::Exists: {
      std::int64_t version = 0;
      rc = offkv_exists_watch(client, w.key.c_str(), &version, on_event, &w, &w.handle);
      break;
    }
    case WatchMode::Children: {
      offkv_strings children = {nullptr, 0};
      rc =
          offkv_children_watch(client, w.key.c_str(), &children, on_event, &w, &w.handle);
      offkv_strings_free(&children);
      break;
    }
    case WatchMode::Recursive:
      rc = offkv_watch_persistent(client, w.key.c_str(), on_event, &w, &w.handle);
      break;
  }
  check(rc, "watch " + w.key);
}

// Prints the event; re-arms a one-shot watch; an ENDED that is not the session's
// own close is an error.
static void handle(Context &ctx, const Event &e) {
  std::printf("%s %s version=%lld\n", offkv_event_type_name(e.type), e.key.c_str(),
              static_cast<long long>(e.version));
  std::fflush(stdout);
  Watch &w = *e.watch;
  if (e.type == OFFKV_EVENT_ENDED) {
    if (e.error != OFFKV_ECLOSED) op_error("watch " + w.key, e.error, e.message);
    return;
  }
  if (w.mode == WatchMode::Recursive) return;
  offkv_watch_free(w.handle);  // it has fired; a one-shot watch fires once
  w.handle = nullptr;
  if (offkv_client *client = ctx.open_client(w.session)) arm(client, w);
}

bool take_event(Context &ctx, int timeout_ms) {
  Event e;
  if (!ctx.events().pop(e, timeout_ms)) return false;
  handle(ctx, e);
  return true;
}

static volatile std::sig_atomic_t stop_requested = 0;

static void on_signal(int) { stop_requested = 1; }

void watch_until_signal(Context &ctx) {
  while (!stop_requested) take_event(ctx, 100);
}

void catch_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace cli
