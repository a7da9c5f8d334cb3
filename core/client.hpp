// A client: the backend-neutral half of every operation. It validates keys, values,
// flags and limits before any I/O, applies the prefix, sorts children, keeps the
// session state and ends watches when the session ends. The backend does the rest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "async.hpp"
#include "backend.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "model.hpp"
#include "watch.hpp"

namespace offkv {

class Client : public std::enable_shared_from_this<Client> {
 public:
  // Parses the URL (its query overrides options), starts the event thread and the
  // backend's session. session_callback (may be empty) hears every transition.
  static std::shared_ptr<Client> open(const std::string &url, Options options,
                                      EventCallback session_callback);
  ~Client();

  void close();
  int session_state() const { return state_.load(); }

  // Returns the created key (the actual one for sequential creates).
  std::string create(std::string_view key, std::string_view value, int flags);
  std::int64_t set(std::string_view key, std::string_view value);
  std::int64_t cas(std::string_view key, std::string_view value, std::int64_t expected);
  // watch_out (when not null) receives a one-shot watch registered with the read.
  Node get(std::string_view key, const EventCallback *callback, WatchPtr *watch_out);
  std::int64_t exists(std::string_view key, const EventCallback *callback,
                      WatchPtr *watch_out);
  std::vector<std::string> children(std::string_view key, const EventCallback *callback,
                                    WatchPtr *watch_out);
  void erase(std::string_view key, std::int64_t expected);
  // txn holds client keys; results carry client keys.
  std::vector<OpResult> commit(const Txn &txn);
  WatchPtr watch_persistent(std::string_view key, EventCallback callback);
  void cancel(const WatchPtr &watch);
  // Test kit: ends every watch with ENDED(error) while the session stays as it is, as
  // a server-side cancellation would (etcd does it on a permission change).
  void end_watches_now(int error, const std::string &message);
  // Test kit (offkv_testkit_suspend / _resume / _expire): the backend's client-side
  // hook, then a wait for the session transition the backend reports in answer (its
  // own state machine decides it, as for a real outage). ETIMEOUT if that report does
  // not come in time; ECLOSED if the client closes meanwhile.
  //  - suspend: the connection is cut; returns once SUSPENDED (or LOST) was reported.
  //  - resume: the cut is lifted; returns once CONNECTED (the same session, or a new
  //    one if it was lost meanwhile). At once if the client was not cut.
  //  - expire: the store ends the session (its ephemerals go for everyone); when the
  //    client was CONNECTED, returns once it heard LOST and is CONNECTED again with a
  //    new session; otherwise (cut, or already reconnecting) as soon as the store is
  //    done: the client learns of it when it reconnects.
  void testkit_suspend();
  void testkit_resume();
  void testkit_expire();
  // The counters of this client (offkv_stats).
  const Stats &stats() const { return *stats_; }

  // A read's result with the one-shot watch it left (null when none was asked for).
  template <typename T>
  struct Watched {
    T value{};
    WatchPtr watch;
  };
  // Native asynchronous forms of the operations above (Backend::start_*), for
  // offkv_*_async: the same checks, thrown here, then the backend's native form.
  // False when the backend has none for this call (nothing started, nothing counted:
  // run the blocking form instead); else done runs exactly once, on any thread, with
  // what the blocking form returns or throws. A watched read (watch = true) leaves its
  // watch only on success.
  bool start_create(std::string_view key, std::string_view value, int flags,
                    Completion<std::string> done);
  bool start_set(std::string_view key, std::string_view value,
                 Completion<std::int64_t> done);
  bool start_cas(std::string_view key, std::string_view value, std::int64_t expected,
                 Completion<std::int64_t> done);
  bool start_get(std::string_view key, const EventCallback *callback, bool watch,
                 Completion<Watched<Node>> done);
  bool start_exists(std::string_view key, const EventCallback *callback, bool watch,
                    Completion<Watched<std::int64_t>> done);
  bool start_children(std::string_view key, const EventCallback *callback, bool watch,
                      Completion<Watched<std::vector<std::string>>> done);
  bool start_erase(std::string_view key, std::int64_t expected, Completion<bool> done);
  bool start_commit(const Txn &txn, Completion<std::vector<OpResult>> done);

  // Asynchronous calls (offkv_*_async), in order with earlier calls on related keys
  // (core/async.hpp): natively when the submission's start can, else its blocking
  // work on a worker thread of this client. Throws ECLOSED once closed.
  void submit(AsyncRunner::Submission submission);
  // The operation timeout, which also bounds a native asynchronous call.
  int operation_timeout_ms() const { return operation_timeout_ms_; }
  // Asynchronous calls that ran natively so far (tests, diagnostics).
  std::size_t native_async_calls() const { return runner_->native_started(); }
  // Throws what an operation writing value to key would throw for them alone
  // (EINVAL, ETOOBIG, ECLOSED), with no I/O.
  void validate_write(std::string_view key, std::string_view value) const;

  // For the recipes (core/recipes/), which are built on the operations above.
  // Runs fn on the event thread after everything queued so far; false (and fn never
  // runs) once the client is closed.
  bool post(std::function<void()> fn);
  bool on_event_thread() const { return loop_->on_event_thread(); }
  // Throws what an operation on key would throw for the key alone (EINVAL, ETOOBIG,
  // ECLOSED), with no I/O.
  void validate(std::string_view key) const;
  // The same for a key that may also be the root "/" (children, watches).
  void validate_listed(std::string_view key) const;
  // listener hears every session transition (CONNECTED, SUSPENDED, LOST, CLOSED)
  // synchronously, on whatever thread reports it, before the session callback runs;
  // close() tells CLOSED once more before it ends the session (listeners must accept
  // a repeated CLOSED).
  // It must be quick and must not call the client. Returns an id for
  // remove_session_listener; after that returns, the listener is not called again
  // unless it is running right now on another thread.
  std::uint64_t add_session_listener(SessionListener listener);
  void remove_session_listener(std::uint64_t id);

 private:
  Client() = default;
  void check_open() const;
  void check_value(std::string_view key, std::string_view value) const;
  // The checks of each operation beyond its key, shared by both forms.
  void check_create(std::string_view key, const std::string &full, std::string_view value,
                    int flags) const;
  Txn full_txn(const Txn &txn) const;
  std::vector<std::string> client_children(std::vector<std::string> paths) const;
  // Counts the operation started natively, and its error when it ends with one.
  template <typename T>
  Completion<T> counting(Op op, Completion<T> done);
  // The watch a native read registers with (null without one), and its completion:
  // the watch is abandoned when the read fails.
  template <typename T, typename Raw, typename Map>
  bool start_watched(WatchKind kind, const std::string &full,
                     const EventCallback *callback, bool watch, Op op,
                     Completion<Watched<T>> done, Map map,
                     bool (Backend::*start)(const std::string &, const WatchPtr &,
                                            Completion<Raw>));
  std::string full_key(std::string_view key) const;
  std::string full_key_or_root(std::string_view key) const;
  WatchPtr new_watch(WatchKind kind, const std::string &path,
                     const EventCallback *callback);
  void forget(const WatchPtr &watch);
  void abandon(const WatchPtr &watch);
  void end_watches(int error, int session_state, const std::string &message);
  void on_session(int state, const std::string &message);
  void notify_listeners(int state, const std::string &message);
  // After a transition was told to every listener: wakes the test kit's waits.
  void told(bool lost);
  // Waits (on state_mutex_) until done() or timeout_ms passed; false on timeout.
  // Throws ECLOSED once the client is closed.
  bool wait_session(const std::function<bool()> &done, int timeout_ms,
                    std::unique_lock<std::mutex> &lock);

  std::string prefix_;
  std::string scheme_;
  // Runs one operation, counting it and the error it ends with.
  template <typename Fn>
  auto counted(Op op, Fn &&fn) -> decltype(fn()) {
    ++stats_->ops[static_cast<int>(op)];
    try {
      return fn();
    } catch (const Error &e) {
      stats_->count_error(e.code());
      throw;
    }
  }

  std::unique_ptr<Backend> backend_;
  const std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();
  std::shared_ptr<EventLoop> loop_;
  std::unique_ptr<AsyncRunner> runner_;
  EventCallback session_callback_;
  std::atomic<int> state_{0};
  std::atomic<bool> closed_{false};
  int operation_timeout_ms_ = 0;
  int connect_timeout_ms_ = 0;

  // Session transitions, for the test kit's waits.
  std::mutex state_mutex_;  // guards the two below; never held while reporting
  std::condition_variable state_changed_;
  // The state once every listener (the recipes) has been told of it, and the LOST
  // transitions told so far.
  int told_state_ = 0;
  std::uint64_t lost_count_ = 0;
  std::mutex testkit_mutex_;  // one test kit call at a time
  bool cut_ = false;          // guarded by testkit_mutex_

  std::mutex watches_mutex_;  // guards watches_ only; never held while firing
  std::unordered_map<Watch *, WatchPtr> watches_;

  std::mutex listeners_mutex_;  // guards the two below; never held while calling
  std::uint64_t next_listener_ = 1;
  std::vector<std::pair<std::uint64_t, SessionListener>> listeners_;
};

}  // namespace offkv
