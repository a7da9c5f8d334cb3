// The ZooKeeper session of one offkv client: the zhandle, its state machine
// (CONNECTED / SUSPENDED / LOST, then a fresh session by itself), and the plumbing that
// turns the C client's asynchronous calls into calls that wait with a deadline.
//
// Threads: callers issue requests and wait on a Call; the C client's completion
// thread runs completions and watchers (never blocks, never waits on the network);
// a supervisor thread replaces the handle after the session expired.
#pragma once

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../backend.hpp"
#include "../model.hpp"

namespace offkv {
namespace zk {

using Clock = std::chrono::steady_clock;

// Something a ZooKeeper watcher callback gets as its context. Shared ownership: the
// Generation (the handle) it was registered with holds one reference for as long as
// the C client may call it (until it released itself or the handle is closed); a
// caller waiting on it (the persistent registration walk) holds another, so a session
// that expires or a client that closes underneath never frees what someone waits on.
struct Generation;
struct WatchContext {
  virtual ~WatchContext() = default;
  // The handle was closed (no C client callback can follow): ZSESSIONEXPIRED after
  // the session expired, ZCLOSING when the client closed. Called once, on the thread
  // that closed the handle.
  virtual void retired(int zrc) {}
  // The handle reconnected within its session (CONNECTED after SUSPENDED); called on
  // the C client's completion thread.
  virtual void reconnected(zhandle_t *zh) {}
  // Called by a caller whose write just completed: returns once the context has
  // reported what the events seen so far caused (or at the deadline).
  virtual void settle(Clock::time_point deadline) {}
  WatchPtr watch;
  Generation *gen = nullptr;  // the handle it is registered with
  std::atomic<bool> cancelled{false};
  bool settles = false;  // settle() does something (persistent watches)
};
using WatchContextPtr = std::shared_ptr<WatchContext>;

struct CallHolder;

// One zhandle (one ZooKeeper session), the watch contexts registered with it and the
// requests it has not answered yet.
struct Generation {
  zhandle_t *zh = nullptr;
  class Conn *conn = nullptr;
  std::atomic<bool> retired{false};  // session expired or client closed
  std::shared_mutex use;             // shared while issuing requests; unique to close

  std::mutex mutex;  // guards contexts and calls
  std::unordered_map<WatchContext *, WatchContextPtr> contexts;
  std::unordered_set<CallHolder *> calls;  // issued, completion not run yet

  WatchContext *adopt(WatchContextPtr ctx);
  void release(WatchContext *ctx);  // the C client will not call ctx again
  void cancel(const WatchPtr &watch);
  std::vector<WatchContextPtr> snapshot(bool settling_only = false);
};
using GenerationPtr = std::shared_ptr<Generation>;

// One request in flight. Completions fill it; the caller waits for it.
struct Call {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  bool completing = false;  // the completion has started; guarded by mutex
  bool abandoned = false;   // the caller stopped waiting (deadline); guarded by mutex
  int rc = ZOK;
  std::string value;
  struct Stat stat {};
  bool has_stat = false;
  std::vector<std::string> strings;
  std::string created;
  // Runs on the completion thread (before any watch event of the same handle can),
  // e.g. to settle a watch; `abandoned`: the caller already gave up (timed out), so
  // whatever the request left behind must not reach the user.
  std::function<void(Call &, bool abandoned)> on_complete;
  // A native asynchronous call's continuation: runs on the completion thread once the
  // call is done (after on_complete), with nobody waiting on it.
  std::function<void(Call &)> then;

  // zoo_multi storage; must outlive the request.
  std::vector<zoo_op_t> ops;
  std::vector<zoo_op_result_t> results;
  std::deque<struct Stat> stats;
  std::deque<std::vector<char>> buffers;

  void finish(int zrc);
};
using CallPtr = std::shared_ptr<Call>;

// The completion data of one request: the C client holds it until the completion runs
// (or the handle is closed, then Conn finishes the call itself).
struct CallHolder {
  CallPtr call;
  Generation *gen = nullptr;
};

// Completion functions for the C client; `data` is a CallHolder they consume.
void call_void_done(int rc, const void *data);
void call_stat_done(int rc, const struct Stat *stat, const void *data);
void call_data_done(int rc, const char *value, int len, const struct Stat *stat,
                    const void *data);
void call_strings_stat_done(int rc, const struct String_vector *strings,
                            const struct Stat *stat, const void *data);
void call_string_done(int rc, const char *value, const void *data);

class Conn {
 public:
  Conn(std::vector<std::string> hosts, Options options);
  ~Conn();

  // Connects, authenticates, waits for the first CONNECTED (connect_timeout_ms).
  void start(SessionListener listener);
  // Closes the session at once (ephemerals go); idempotent.
  void close();
  bool closed();

  // Runs fn with the current handle, held open (not closed underneath) for the call.
  // Throws ECLOSED / ESESSION / ECONNLOSS when no request can be sent.
  using WithHandle = std::function<void(zhandle_t *, const GenerationPtr &)>;
  // Runs fn with the live handle. While SUSPENDED, first waits for the connection
  // until the deadline: ECONNLOSS (nothing sent) if it did not come back, ESESSION if
  // the session was lost meanwhile (docs/semantics.md: one behaviour on every backend).
  void verify_server(Clock::time_point deadline);
  void with_handle(const WithHandle &fn, const std::string &what,
                   Clock::time_point deadline);

  // Issues one asynchronous request on the current handle. `issue` gets the handle
  // and the completion data (a CallHolder) and returns the C client's immediate code.
  // Throws like with_handle.
  using Issue =
      std::function<int(zhandle_t *, const GenerationPtr &, Call &, const void *data)>;
  CallPtr submit(const Issue &issue, const std::string &what, Clock::time_point deadline);
  // Waits for the call until the deadline; throws ETIMEOUT after it (the call is then
  // abandoned). Returns the ZooKeeper code; ZCLOSING becomes ZSESSIONEXPIRED unless
  // the client itself was closed (the handle of an expired session was closed).
  int wait(const CallPtr &call, Clock::time_point deadline, const std::string &what);
  // Issues one request without waiting for anything: false (nothing sent) unless the
  // session is CONNECTED right now and the handle free to use; else call.then runs
  // once the answer is in (on the completion thread, or here if the C client refused
  // the request at once) or the handle was closed underneath.
  bool try_submit(const Issue &issue, const CallPtr &call);
  // True when a persistent watch of this client must settle after a write (see
  // settle): such writes are not run natively, since settling waits.
  bool writes_settle();
  Clock::time_point deadline() const;
  // ZCLOSING -> ZSESSIONEXPIRED unless the client was closed.
  int closing_code(int zrc);

  // After a write of this client completed: waits (until the deadline at most) until
  // its persistent watches have reported what it caused, as mem:// has when a write
  // returns. The events of the write were handled before its reply (ZooKeeper sends
  // them first on the connection); only the reads they triggered are waited for.
  void settle(Clock::time_point deadline);

  // Drops the watch's registrations (cancelled): its contexts stop firing.
  void unwatch(const WatchPtr &watch);

  int operation_timeout_ms() const { return options_.operation_timeout_ms; }

  // Test kit. cut(true): the handle's server list becomes an address where nothing
  // listens (zoo_set_servers drops the connection to a server not in the list), so
  // the C client loses its connection and cannot reconnect; a handle opened meanwhile
  // (after LOST) gets that list too. cut(false): the real list again.
  void testkit_cut(bool cut);
  // Curator's KillSession: a second handle opened with this session's id and password
  // and closed, which ends the session at the server (its ephemerals are gone when
  // this returns); the client's handle is cut meanwhile, so it learns of it on its
  // next connection (EXPIRED) and not half-way.
  void testkit_expire();

 private:
  friend void session_watcher(zhandle_t *, int, int, const char *, void *);
  // Opens a handle and publishes it as gen_, all under `lock` (held on entry and on
  // return), so the C client cannot report the new session before gen_ is it.
  // Throws on a bad host string.
  void open_generation(std::unique_lock<std::mutex> &lock);
  // The server list the handle uses: hosts_, or nowhere while the test kit cut it.
  const char *servers() const;
  // Points the current handle at servers(); mutex_ held.
  void point_handle();
  // Tells on_session_event the handle's state after point_handle() cut it.
  void notice_disconnection();
  void on_session_event(Generation *gen, zhandle_t *zh, int zstate);
  void supervise();
  // zookeeper_close, then finishes what the C client left: unanswered calls get zrc,
  // watch contexts are told retired(zrc) and dropped.
  void retire(const GenerationPtr &gen, int zrc);
  // Before closing a live handle: one round trip, so that no earlier reply is still
  // unread when zookeeper_close waits for closeSession's answer. Bounded.
  void drain(const GenerationPtr &gen);

  const std::string hosts_;
  const Options options_;
  SessionListener listener_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  GenerationPtr gen_;
  int state_ = 0;  // offkv_session_state, 0 before the first CONNECTED
  bool closed_ = false;
  bool replace_ = false;  // the supervisor must open a new session
  // SUSPENDED since then; the negotiated session timeout of the current session. No
  // server for that long: the session is declared LOST here (the servers expire it).
  Clock::time_point suspended_since_{};
  int session_timeout_ms_ = 0;
  bool cut_ = false;  // test kit: the handle is pointed at kNowhere
  std::thread supervisor_;
};

}  // namespace zk
}  // namespace offkv
