// A watch, backend-neutral: at-most-once firing for one-shot watches, an ordered queue
// for persistent ones, delivery on the client's event thread, blocking waits, and
// final cancellation. Backends only call fire().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "event_loop.hpp"
#include "model.hpp"
#include "stats.hpp"

namespace offkv {

enum class WatchKind {
  Data,       // get: CHANGED / DELETED
  Exists,     // exists: CREATED / CHANGED / DELETED
  Children,   // children: CHILDREN / DELETED
  Persistent  // the key and its subtree: CREATED / CHANGED / DELETED, until cancelled
};

using EventCallback = std::function<void(const Event &)>;

// Persistent watches report every version of a node (each offkv set adds one). A
// backend that sees a node at `now` after last reporting it at `seen` (> 0) reports
// the versions from the one this returns up to `now`: all those in between, unless
// the gap is above kMaxFilledVersions — not offkv's writes (foreign data, a restore)
// — and then only `now`. The same bound on every backend.
constexpr std::int64_t kMaxFilledVersions = 10000;
std::int64_t first_version_to_report(std::int64_t seen, std::int64_t now);

class Watch : public std::enable_shared_from_this<Watch> {
 public:
  // path is the backend (full) path; prefix is stripped from event paths at delivery.
  Watch(WatchKind kind, std::string path, std::string prefix,
        std::shared_ptr<EventLoop> loop, EventCallback callback,
        std::shared_ptr<Stats> stats = nullptr);

  WatchKind kind() const { return kind_; }
  const std::string &path() const { return path_; }
  bool persistent() const { return kind_ == WatchKind::Persistent; }

  // Called by a backend (any thread, may hold backend locks: takes only this watch's
  // lock and the loop's queue lock). A one-shot watch takes the first event and drops
  // every later one. Returns false if the watch had already fired or ended.
  bool fire(Event event);

  // Ends the watch with ENDED (session lost, client closed). Idempotent.
  void end(int error, int session_state, const std::string &message);

  // Waits for the next event; nullopt on timeout. Throws Error(ECLOSED) once cancelled
  // (or ended and drained, for persistent watches).
  std::optional<Event> wait(int timeout_ms);

  // Marks the watch cancelled; waits for a running callback unless on the event
  // thread. Returns true if this call did the cancelling.
  bool cancel();

  // True once the watch cannot fire any more (fired one-shot, ended or cancelled).
  bool finished() const;

 private:
  void dispatch(const Event &event);

  const WatchKind kind_;
  const std::string path_;
  const std::string prefix_;
  std::shared_ptr<EventLoop> loop_;
  EventCallback callback_;
  const std::shared_ptr<Stats> stats_;  // the client's counters (events fired)

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool fired_ = false;  // one-shot: has its event
  bool ended_ = false;  // ENDED delivered
  bool cancelled_ = false;
  bool in_callback_ = false;
  std::deque<Event> queue_;  // persistent: undelivered events for wait()
  std::optional<Event> oneshot_event_;
};

using WatchPtr = std::shared_ptr<Watch>;

}  // namespace offkv
