// The interface every storage backend implements. The core has already validated
// keys, values, flags and limits and turned client keys into full paths (prefix
// applied) before any call; a backend only talks to its store.
//
// Every method may throw offkv::Error (or TxnFailed from commit). Watch arguments may
// be null (plain read); when not null, the backend registers the watch atomically with
// the read and later calls watch->fire() exactly as described in watch.hpp, from any
// thread, in the order the changes happened. A failed read registers nothing.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model.hpp"
#include "stats.hpp"
#include "watch.hpp"

namespace offkv {

// How a backend tells the core about its session: CONNECTED, SUSPENDED, LOST (the core
// then ends every watch of the client with ENDED) and CLOSED.
using SessionListener =
    std::function<void(int session_state, const std::string &message)>;

// How a native asynchronous call ends: error is null and value is the result, or error
// holds what the blocking form would have thrown (offkv::Error, TxnFailed).
template <typename T>
using Completion = std::function<void(std::exception_ptr error, T value)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // The client's counters (before start): a backend counts its retries there.
  void attach_stats(std::shared_ptr<Stats> stats) { stats_ = std::move(stats); }

  // Starts the session; called once before any other call. Reports the first
  // CONNECTED through the listener (or throws if the store cannot be reached).
  virtual void start(SessionListener listener) = 0;

  // Returns the actual path (differs for NodeFlag::sequential).
  virtual std::string create(const std::string &path, const std::string &value,
                             int flags) = 0;
  // Returns the new version.
  virtual std::int64_t set(const std::string &path, const std::string &value) = 0;
  virtual std::int64_t cas(const std::string &path, const std::string &value,
                           std::int64_t expected_version) = 0;
  virtual Node get(const std::string &path, const WatchPtr &watch) = 0;
  // Version, or 0 if absent.
  virtual std::int64_t exists(const std::string &path, const WatchPtr &watch) = 0;
  // Full paths of the direct children, in any order (the core sorts).
  virtual std::vector<std::string> children(const std::string &path,
                                            const WatchPtr &watch) = 0;
  virtual void erase(const std::string &path, std::int64_t expected_version) = 0;
  // One result per op; throws TxnFailed with the index (checks first) on failure.
  virtual std::vector<OpResult> commit(const Txn &txn) = 0;
  // Registers a persistent recursive watch on path and everything below it.
  virtual void watch_persistent(const std::string &path, const WatchPtr &watch) = 0;
  // Drops every registration of the watch (it was cancelled).
  virtual void unwatch(const WatchPtr &watch) = 0;

  // Native asynchronous forms, for offkv_*_async: many in flight on the one
  // connection, no thread blocked per call. Each either returns false at once, having
  // started nothing (no native form for this call: the core then runs the blocking
  // form above on one of its worker threads), or starts the operation, returns true,
  // and later calls done exactly once, from any thread (even before it returns), with
  // what the blocking form would return or throw. It must never block or throw, and
  // it must not call done while holding a lock that done's caller could need.
  // close() must make every started call complete (with ECLOSED or the error the
  // store gave) before or soon after it returns: close waits for them.
  // The core starts a call only after every earlier call on a related key finished.
  virtual bool start_create(const std::string &path, const std::string &value, int flags,
                            Completion<std::string> done);
  virtual bool start_set(const std::string &path, const std::string &value,
                         Completion<std::int64_t> done);
  virtual bool start_cas(const std::string &path, const std::string &value,
                         std::int64_t expected_version, Completion<std::int64_t> done);
  virtual bool start_get(const std::string &path, const WatchPtr &watch,
                         Completion<Node> done);
  virtual bool start_exists(const std::string &path, const WatchPtr &watch,
                            Completion<std::int64_t> done);
  virtual bool start_children(const std::string &path, const WatchPtr &watch,
                              Completion<std::vector<std::string>> done);
  virtual bool start_erase(const std::string &path, std::int64_t expected_version,
                           Completion<bool> done);
  virtual bool start_commit(const Txn &txn, Completion<std::vector<OpResult>> done);

  // Ends the session at once: ephemerals removed, registrations dropped. Idempotent.
  // Also lifts a test kit cut first, so that the session really ends at the store.
  virtual void close() = 0;

  // Test kit (offkv_testkit_suspend / _resume / _expire): client-side hooks only. The
  // backend's own session machinery decides what follows and reports it through the
  // listener, exactly as for a real outage; the core only waits for the report.
  //  - cut(true): this client's connection to the store is cut: what is in flight
  //    may fail, nothing new reaches the store, reconnection attempts fail, until
  //    cut(false). The session lives at the store until its timeout runs out.
  //  - expire(): the store ends the session now, as if it had timed out there: its
  //    ephemerals are gone for everyone when this returns. The client learns of it as
  //    it would of a real expiry (at once when connected, once it reconnects when
  //    cut). Nothing to do when there is no session right now (after LOST).
  // Both may throw offkv::Error (EUNSUPPORTED where a backend has no such hook).
  virtual void testkit_cut(bool cut);
  virtual void testkit_expire();

 protected:
  // A request sent again (a race lost, a stale read, a refused connection).
  void count_retry() {
    if (stats_) ++stats_->retries;
  }
  // The client's counters; null until attach_stats.
  Stats *stats() const { return stats_.get(); }

 private:
  std::shared_ptr<Stats> stats_;
};

// Creates the backend for a parsed URL; throws EUNSUPPORTED for a scheme compiled out.
std::unique_ptr<Backend> make_backend(const Endpoint &endpoint, const Options &options);

// True if the scheme ("mem", "zk", "etcd", "consul", ...) is compiled in.
bool has_backend(const char *scheme);

}  // namespace offkv
