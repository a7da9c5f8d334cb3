#include "zk_watches.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include "../key.hpp"
#include "codes.hpp"

namespace offkv {
namespace zk {

namespace {

void fire(const WatchPtr &watch, int type, const std::string &path,
          std::int64_t version) {
  Event e;
  e.type = type;
  e.path = path;
  e.version = version;
  watch->fire(std::move(e));
}

std::string child_path(const std::string &parent, const char *name) {
  return parent == "/" ? "/" + std::string(name) : parent + "/" + name;
}

// ---- one-shot ----

void children_checked(int rc, const struct Stat *, const void *data) {
  auto *ctx = static_cast<OneShotContext *>(const_cast<void *>(data));
  if (!ctx->cancelled) {
    if (rc == ZNONODE)
      fire(ctx->watch, EventType::deleted, ctx->path, 0);
    else
      fire(ctx->watch, EventType::children, ctx->path, -1);
  }
  ctx->gen->release(ctx);
}

}  // namespace

void oneshot_watcher(zhandle_t *zh, int type, int, const char *, void *context) {
  auto *ctx = static_cast<OneShotContext *>(context);
  if (type == ZOO_SESSION_EVENT) return;  // the core handles session ends
  if (type == ZOO_CHILD_EVENT && !ctx->cancelled) {
    // A subtree erase deletes the children first: ZooKeeper tells a children
    // watch CHILDREN, mem:// (and the contract) DELETED. The multi is atomic and
    // replies follow events, so an exists issued now says which it was.
    if (zoo_aexists(zh, ctx->path.c_str(), 0, children_checked, ctx) == ZOK) return;
    fire(ctx->watch, EventType::children, ctx->path, -1);
  } else if (!ctx->cancelled) {
    if (type == ZOO_CREATED_EVENT)
      fire(ctx->watch, EventType::created, ctx->path, 1);
    else if (type == ZOO_CHANGED_EVENT)
      // The first change after the read is exactly one set: version + 1.
      fire(ctx->watch, EventType::changed, ctx->path, ctx->version + 1);
    else if (type == ZOO_DELETED_EVENT)
      fire(ctx->watch, EventType::deleted, ctx->path, 0);
  }
  ctx->gen->release(ctx);
}

// ---- persistent ----

namespace {

enum class Mode { Initial, Discover, Recheck };

struct Request {
  PersistentContext *ctx;
  std::string path;
  Mode mode;
  std::uint64_t cause;  // the watcher event this request follows from (0: the walk)
};

void persistent_watcher(zhandle_t *zh, int type, int state, const char *path,
                        void *context);
void exists_done(int rc, const struct Stat *stat, const void *data);
void children_done(int rc, const struct String_vector *strings, const struct Stat *stat,
                   const void *data);

zhandle_t *handle_of(PersistentContext *ctx) { return ctx->gen->zh; }

// Bookkeeping of outstanding requests (ctx->mutex held).
void track(Request *req) {
  PersistentContext *ctx = req->ctx;
  if (req->mode == Mode::Initial) ++ctx->pending;
  ++ctx->outstanding[req->cause];
}

void untrack(Request *req) {
  PersistentContext *ctx = req->ctx;
  if (req->mode == Mode::Initial) --ctx->pending;
  auto it = ctx->outstanding.find(req->cause);
  if (it != ctx->outstanding.end() && --it->second == 0) ctx->outstanding.erase(it);
  ctx->walked.notify_all();
}

// A request finished (its completion ran, or it could not be issued).
void finish(Request *req) {
  untrack(req);
  delete req;
}

// Both issue functions are called with ctx->mutex held. A request that cannot even be
// queued means the handle is unusable (session expired or closing).
void arm(zhandle_t *zh, Request *req) {
  track(req);
  int rc =
      zoo_awexists(zh, req->path.c_str(), persistent_watcher, req->ctx, exists_done, req);
  if (rc != ZOK) {
    if (req->mode == Mode::Initial && !req->ctx->error) req->ctx->error = rc;
    finish(req);
  }
}

void list(zhandle_t *zh, Request *req) {
  track(req);
  int rc = zoo_awget_children2(zh, req->path.c_str(), persistent_watcher, req->ctx,
                               children_done, req);
  if (rc != ZOK) {
    if (req->mode == Mode::Initial && !req->ctx->error) req->ctx->error = rc;
    finish(req);
  }
}

// A follow-up request with the same cause.
Request *follow(Request *req, const std::string &path, Mode mode) {
  return new Request{req->ctx, path, mode, req->cause};
}

bool covers(const std::string &top, const std::string &path) {
  if (path == top) return true;
  if (top == "/") return true;
  return path.size() > top.size() && path.compare(0, top.size(), top) == 0 &&
         path[top.size()] == '/';
}

// Reports DELETED for path and every known node below it, deepest first in the order
// mem:// uses (reverse of a pre-order walk with sorted children).
void report_deleted(PersistentContext *ctx, const std::string &path) {
  std::vector<std::string> doomed;
  for (auto &entry : ctx->known)
    if (covers(path, entry.first)) doomed.push_back(entry.first);
  if (doomed.empty()) return;
  sort_preorder(doomed);
  for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
    ctx->known.erase(*it);
    fire(ctx->watch, EventType::deleted, *it, 0);
  }
}

// CHANGED for every version from `from` + 1 to `to`: each set bumps the version by
// one, so the versions in between are exactly what mem:// would report.
void report_changes(PersistentContext *ctx, const std::string &path, std::int64_t from,
                    std::int64_t to) {
  for (std::int64_t v = first_version_to_report(from, to); v <= to; ++v)
    fire(ctx->watch, EventType::changed, path, v);
}

// The request died with the connection (the C client fails what is pending with
// CONNECTIONLOSS, or OPERATIONTIMEOUT when the connection timed out); the session
// may live on.
bool lost_with_connection(int rc) {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT;
}

// The handle is closing or its session is gone: nothing to re-arm; a registration walk
// fails with that code.
bool ended(Request *req, int rc) {
  if (rc != ZCLOSING && rc != ZSESSIONEXPIRED && rc != ZINVALIDSTATE) return false;
  if (req->mode == Mode::Initial && !req->ctx->error) req->ctx->error = rc;
  return true;
}

void exists_done(int rc, const struct Stat *stat, const void *data) {
  auto *req = static_cast<Request *>(const_cast<void *>(data));
  PersistentContext *ctx = req->ctx;
  std::unique_lock<std::mutex> lock(ctx->mutex);
  if (ctx->cancelled || ended(req, rc)) {
    finish(req);
    return;
  }
  if (rc == ZOK && stat) {
    std::int64_t version = stat->version + 1;
    auto it = ctx->known.find(req->path);
    if (it != ctx->known.end() && it->second.czxid != 0 &&
        it->second.czxid != stat->czxid) {
      report_deleted(ctx, req->path);  // erased and created again in between
      it = ctx->known.end();
    }
    if (it == ctx->known.end()) {
      ctx->known[req->path] = {version, stat->czxid};
      if (req->mode != Mode::Initial) {
        fire(ctx->watch, EventType::created, req->path, 1);
        report_changes(ctx, req->path, 1, version);
      }
      list(handle_of(ctx),
           follow(req, req->path,
                  req->mode == Mode::Initial ? Mode::Initial : Mode::Discover));
    } else {
      bool discovering = it->second.czxid == 0;
      it->second.czxid = stat->czxid;
      if (version > it->second.version) {
        report_changes(ctx, req->path, it->second.version, version);
        it->second.version = version;
      }
      if (discovering) list(handle_of(ctx), follow(req, req->path, Mode::Discover));
    }
  } else if (rc == ZNONODE) {
    report_deleted(ctx, req->path);  // an exists watch now waits for its creation
  } else if (lost_with_connection(rc) && req->mode != Mode::Initial) {
    ctx->resync.emplace(req->path, false);  // not registered: again on reconnection
  } else if (req->mode == Mode::Initial && !ctx->error) {
    ctx->error = rc;
  }
  finish(req);
}

void children_done(int rc, const struct String_vector *strings, const struct Stat *,
                   const void *data) {
  auto *req = static_cast<Request *>(const_cast<void *>(data));
  PersistentContext *ctx = req->ctx;
  std::unique_lock<std::mutex> lock(ctx->mutex);
  if (ctx->cancelled || ended(req, rc)) {
    finish(req);
    return;
  }
  if (rc == ZOK) {
    std::set<std::string> now;
    if (strings)
      for (int i = 0; i < strings->count; ++i) {
        if (req->path == "/" && std::string(strings->data[i]) == "zookeeper") continue;
        now.insert(child_path(req->path, strings->data[i]));
      }
    // Known children that are gone (normally their own DELETED came first).
    std::vector<std::string> gone;
    std::string below = req->path == "/" ? "/" : req->path + "/";
    for (auto it = ctx->known.lower_bound(below);
         it != ctx->known.end() && it->first.compare(0, below.size(), below) == 0; ++it)
      if (it->first.find('/', below.size()) == std::string::npos && !now.count(it->first))
        gone.push_back(it->first);
    for (const auto &g : gone) report_deleted(ctx, g);
    for (const auto &child : now) {
      if (ctx->known.count(child)) continue;
      if (req->mode == Mode::Initial) {
        arm(handle_of(ctx), follow(req, child, Mode::Initial));
      } else {
        ctx->known[child] = {1, 0};
        fire(ctx->watch, EventType::created, child, 1);
        arm(handle_of(ctx), follow(req, child, Mode::Discover));
      }
    }
  } else if (rc == ZNONODE) {
    report_deleted(ctx, req->path);
  } else if (lost_with_connection(rc) && req->mode != Mode::Initial) {
    ctx->resync.emplace(req->path, true);  // not registered: again on reconnection
  } else if (req->mode == Mode::Initial && !ctx->error) {
    ctx->error = rc;
  }
  finish(req);
}

void persistent_watcher(zhandle_t *zh, int type, int, const char *path, void *context) {
  auto *ctx = static_cast<PersistentContext *>(context);
  if (type == ZOO_SESSION_EVENT || !path) return;
  std::unique_lock<std::mutex> lock(ctx->mutex);
  if (ctx->cancelled || ctx->gen->retired) return;  // nothing to re-arm any more
  std::string p = path;
  std::uint64_t cause = ++ctx->events_seen;
  if (type == ZOO_CREATED_EVENT) {
    // An exists watch on an absent key (the root, or a key found gone): created, so
    // at version 1. Told now, in the server's order; the read that re-arms reports
    // what followed (sets, or an erase and a new creation) from the node's stat.
    if (!ctx->known.count(p)) {
      ctx->known[p] = {1, 0};
      fire(ctx->watch, EventType::created, p, 1);
    }
    arm(zh, new Request{ctx, p, Mode::Recheck, cause});
  } else if (type == ZOO_CHANGED_EVENT) {
    // The first set after the read that left this data watch: exactly one version
    // more than that read saw (later events of the node cannot overtake its reply).
    auto it = ctx->known.find(p);
    if (it != ctx->known.end()) {
      ++it->second.version;
      fire(ctx->watch, EventType::changed, p, it->second.version);
    }
    arm(zh, new Request{ctx, p, Mode::Recheck, cause});
  } else if (type == ZOO_DELETED_EVENT) {
    report_deleted(ctx, p);
    if (p == ctx->root) arm(zh, new Request{ctx, p, Mode::Recheck, cause});
  } else if (type == ZOO_CHILD_EVENT) {
    list(zh, new Request{ctx, p, Mode::Recheck, cause});
  }
}

}  // namespace

void persistent_start(zhandle_t *zh, PersistentContext *ctx) {
  std::lock_guard<std::mutex> lock(ctx->mutex);
  arm(zh, new Request{ctx, ctx->root, Mode::Initial, 0});
}

void PersistentContext::retired(int zrc) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (pending > 0 && !error) error = zrc;  // requests the C client dropped
    pending = 0;
    outstanding.clear();
    ended = true;
  }
  walked.notify_all();
}

void PersistentContext::reconnected(zhandle_t *zh) {
  std::lock_guard<std::mutex> lock(mutex);
  if (cancelled) return;
  std::set<std::pair<std::string, bool>> again;
  again.swap(resync);
  std::uint64_t cause = ++events_seen;
  for (const auto &entry : again) {
    if (entry.second)
      list(zh, new Request{this, entry.first, Mode::Recheck, cause});
    else
      arm(zh, new Request{this, entry.first, Mode::Recheck, cause});
  }
}

void PersistentContext::settle(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex);
  const std::uint64_t seen = events_seen;
  walked.wait_until(lock, deadline, [&] {
    return ended || cancelled || outstanding.empty() || outstanding.begin()->first > seen;
  });
}

}  // namespace zk
}  // namespace offkv
