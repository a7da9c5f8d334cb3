// Watch contexts handed to the ZooKeeper C client. Their callbacks run on the C
// client's completion thread: they only call Watch::fire and issue asynchronous
// requests, never wait.
//
// One-shot watches are native ZK watches. Persistent (recursive) watches are
// emulated: the 3.8 C client has no addWatch, so every node of the subtree carries an
// exists (data) watch and a children watch, re-armed after each event; docs/
// zookeeper-notes.md says what this can coalesce.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "zk_conn.hpp"

namespace offkv {
namespace zk {

struct OneShotContext : WatchContext {
  WatchKind kind = WatchKind::Data;
  std::string path;
  std::int64_t version = 0;  // what the read returned (set by its completion)
};

// The watcher function for OneShotContext.
void oneshot_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx);

struct PersistentContext : WatchContext {
  PersistentContext() { settles = true; }
  std::string root;
  std::mutex mutex;
  struct Known {
    std::int64_t version;  // last version reported
    std::int64_t czxid;    // 0: reported CREATED from a listing, stat not read yet
  };
  std::map<std::string, Known> known;  // nodes currently present, as reported
  // The registration walk: requests still outstanding, first hard error (the caller
  // waits on `walked` until pending == 0 or error != 0).
  int pending = 0;
  int error = 0;
  std::condition_variable walked;
  // Re-arms lost with the connection (path, true = children listing), issued again
  // when the handle reconnects within its session.
  std::set<std::pair<std::string, bool>> resync;
  // Watcher events handled so far, and the requests still outstanding per event they
  // follow from (0: the registration walk); see settle().
  std::uint64_t events_seen = 0;
  std::map<std::uint64_t, int> outstanding;
  bool ended = false;  // the handle was closed

  void retired(int zrc) override;
  void reconnected(zhandle_t *zh) override;
  // Waits (until the deadline at most) until every request that follows from the
  // events handled so far has completed, i.e. what those events caused is reported.
  void settle(Clock::time_point deadline) override;
};
using PersistentContextPtr = std::shared_ptr<PersistentContext>;

// Starts the registration walk from ctx->root (on the caller's thread, with the
// handle in use); the caller then waits on ctx->walked for pending == 0 or an error.
void persistent_start(zhandle_t *zh, PersistentContext *ctx);

}  // namespace zk
}  // namespace offkv
