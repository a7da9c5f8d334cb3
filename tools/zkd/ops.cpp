// The ZooKeeper requests, each on the session's offkv::Client (docs/zkd.md has the
// mapping and its cost in backend round trips).
#include <algorithm>
#include <cstring>

#include "error.hpp"
#include "zkd.hpp"

namespace zkd {

[[noreturn]] void zk_fail(int code, std::string message) {
  throw ZkError{code, std::move(message)};
}

int map_offkv_error(int code) {
  switch (code) {
    case OFFKV_EINVAL: return err::bad_arguments;
    case OFFKV_ENOENT: return err::no_node;
    case OFFKV_EEXIST: return err::node_exists;
    case OFFKV_EVERSION: return err::bad_version;
    case OFFKV_EEPHEMERAL: return err::no_children_for_ephemerals;
    case OFFKV_ENOTEMPTY: return err::not_empty;
    case OFFKV_ETOOBIG: return err::bad_arguments;
    case OFFKV_ECONNLOSS: return err::connection_loss;
    case OFFKV_ESESSION: return err::session_expired;
    case OFFKV_ECLOSED: return err::session_expired;
    case OFFKV_ETIMEOUT: return err::operation_timeout;
    case OFFKV_EAUTH: return err::no_auth;
    case OFFKV_EUNSUPPORTED: return err::unimplemented;
    default: return err::system_error;
  }
}

std::string reply_header(int xid, std::int64_t zxid, int error) {
  Writer w;
  w.i32(xid).i64(zxid).i32(error);
  return w.take();
}

namespace {

// Runs an offkv call, turning its errors into ZooKeeper's.
template <typename Fn>
auto kv(Fn &&fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const offkv::Error &e) {
    zk_fail(map_offkv_error(e.code()), e.what());
  }
}

bool is_virtual(const std::string &path) {
  return path == "/zookeeper" || path == "/zookeeper/config" || path == "/zookeeper/quota";
}
bool under_zookeeper(const std::string &path) {
  return path == "/zookeeper" || path.rfind("/zookeeper/", 0) == 0;
}

std::string parent_of(const std::string &path) {
  auto slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

std::string name_of(const std::string &key) { return key.substr(key.rfind('/') + 1); }

void check_path(const std::string &path) {
  if (path.empty() || path[0] != '/') zk_fail(err::bad_arguments, "bad path");
}

Stat make_stat(const Meta &m, std::int64_t version, std::size_t data_length,
               std::size_t children) {
  Stat s;
  s.czxid = m.czxid;
  s.mzxid = m.mzxid;
  s.ctime = m.ctime;
  s.mtime = m.mtime;
  s.version = static_cast<std::int32_t>(version - 1);
  s.cversion = m.cversion;
  s.aversion = m.aversion;
  s.ephemeral_owner = m.owner;
  s.data_length = static_cast<std::int32_t>(data_length);
  s.num_children = static_cast<std::int32_t>(children);
  s.pzxid = std::max(m.pzxid, m.czxid);
  return s;
}

std::uint64_t seen_node(const offkv::Node &n) { return static_cast<std::uint64_t>(n.version); }
std::uint64_t seen_version(std::int64_t v) { return static_cast<std::uint64_t>(v); }
std::uint64_t seen_names(const std::vector<std::string> &names) {
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  std::uint64_t h = 1469598103934665603ull;
  for (const auto &c : sorted) {
    for (unsigned char ch : c) h = (h ^ ch) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  return h;
}

class Handler {
 public:
  Handler(Server &server, Session &session)
      : server_(server), s_(session), c_(*session.client), meta_(server.meta) {}

  // Children names of a node (the root also lists the virtual "zookeeper").
  std::vector<std::string> list(const std::string &path, offkv::WatchPtr *watch_out,
                                const offkv::EventCallback *cb) {
    if (path == "/zookeeper") return {"config", "quota"};
    if (is_virtual(path)) return {};
    auto keys = kv([&] { return c_.children(path, cb, watch_out); });
    std::vector<std::string> names;
    names.reserve(keys.size() + 1);
    for (auto &k : keys) names.push_back(name_of(k));
    if (path == "/" && std::find(names.begin(), names.end(), "zookeeper") == names.end())
      names.push_back("zookeeper");
    return names;
  }

  // The Stat of a node read at `version` with a value of `length` bytes: one more read
  // for its children (numChildren, cversion).
  Stat stat_of(const std::string &path, std::int64_t version, std::size_t length) {
    if (path == "/" || is_virtual(path)) {
      std::vector<std::string> names;
      try {
        names = list(path, nullptr, nullptr);
      } catch (const ZkError &) {
      }
      Meta m = meta_.observe_children(path, names);
      Stat s = make_stat(m, 1, 0, names.size());
      s.czxid = s.mzxid = s.ctime = s.mtime = 0;
      // ZooKeeper 3.8's own values for its nodes.
      if (path == "/zookeeper") s.cversion = -2;
      if (path == "/zookeeper/config") s.aversion = -1;
      if (path != "/") s.pzxid = 0;
      return s;
    }
    Meta m = meta_.observe(path, version);
    std::vector<std::string> names;
    try {
      names = list(path, nullptr, nullptr);
      m = meta_.observe_children(path, names);
    } catch (const ZkError &e) {
      if (e.code != err::no_node) throw;  // erased since: the stat of the read
    }
    return make_stat(m, version, length, names.size());
  }

  offkv::EventCallback watch_callback(int kind, const std::string &path,
                                      std::shared_ptr<offkv::WatchPtr> holder) {
    std::weak_ptr<Session> weak = s_.shared_from_this();
    return [weak, kind, path, holder](const offkv::Event &e) {
      auto s = weak.lock();
      if (!s) return;
      int type = 0;
      switch (e.type) {
        case OFFKV_EVENT_CREATED: type = ev::created; break;
        case OFFKV_EVENT_DELETED: type = ev::deleted; break;
        case OFFKV_EVENT_CHANGED: type = ev::data_changed; break;
        case OFFKV_EVENT_CHILDREN: type = ev::children_changed; break;
        default: break;  // ENDED: the session's end is told by its expiry
      }
      std::vector<offkv::WatchPtr> others;
      {
        std::lock_guard<std::mutex> lock(s->mutex);
        auto &mine = kind == 0 ? s->data_watches : s->child_watches;
        auto it = mine.find(path);
        if (it != mine.end()) {
          auto &v = it->second;
          v.erase(std::remove_if(v.begin(), v.end(),
                                 [&](const Session::Armed &x) { return x.watch == *holder; }),
                  v.end());
        }
        if (type == ev::deleted) {
          // ZooKeeper tells a session one NodeDeleted for a node, whatever watches it
          // had on it: the others that saw the node would tell it again.
          for (int k = 0; k < 2; ++k) {
            auto &m = k == 0 ? s->data_watches : s->child_watches;
            auto jt = m.find(path);
            if (jt == m.end()) continue;
            auto &v = jt->second;
            for (auto x = v.begin(); x != v.end();) {
              if (k == 1 || x->seen != 0) {
                others.push_back(x->watch);
                x = v.erase(x);
              } else {
                ++x;
              }
            }
          }
        }
      }
      for (auto &o : others) s->client->cancel(o);
      if (type == ev::deleted || type == ev::data_changed) s->server->meta.get(path);
      if (type) s->notify(type, path, kind);
    };
  }

  // A read that may leave a one-shot watch. A change is told once per session, as
  // ZooKeeper does: a new watch whose read saw the same state as a live one of the
  // same path and kind (0 data/exists, 1 children) would fire for the same change, so
  // it is dropped; one that saw another state waits for a later change than the live
  // one (whose event is due or on its way) and is kept.
  template <typename Read, typename Seen>
  auto watched(int kind, const std::string &path, bool watch, Read read, Seen seen_of)
      -> decltype(read(nullptr, nullptr)) {
    if (!watch) return read(nullptr, nullptr);
    auto holder = std::make_shared<offkv::WatchPtr>();
    auto cb = watch_callback(kind, path, holder);
    offkv::WatchPtr w;
    auto result = read(&cb, &w);
    std::uint64_t seen = seen_of(result);
    bool duplicate = false;
    {
      std::lock_guard<std::mutex> lock(s_.mutex);
      *holder = w;
      if (!w || w->finished()) return result;  // fired already: its event is on its way
      auto &v = (kind == 0 ? s_.data_watches : s_.child_watches)[path];
      v.erase(std::remove_if(v.begin(), v.end(),
                             [](const Session::Armed &x) { return x.watch->finished(); }),
              v.end());
      for (const auto &x : v) duplicate |= x.seen == seen;
      if (!duplicate) v.push_back(Session::Armed{w, seen});
    }
    if (duplicate) c_.cancel(w);
    return result;
  }

  std::string reply(int xid, const Writer &body) {
    return reply_header(xid, meta_.last_zxid(), 0) + body.data();
  }

  void check_acl(const std::vector<Acl> &acl) {
    if (acl.empty()) zk_fail(err::invalid_acl, "empty ACL");
    for (const auto &a : acl) {
      if (a.scheme == "world" && a.id == "anyone") continue;
      if (a.scheme == "digest") continue;
      if (a.scheme == "auth") {
        bool any = false;
        for (const auto &id : s_.auth) any |= id.first == "digest";
        if (!any) zk_fail(err::invalid_acl, "auth ACL without digest authentication");
        continue;
      }
      zk_fail(err::invalid_acl, "ACL scheme " + a.scheme + " is not served");
    }
  }

  // create, create2, createContainer, createTTL. Returns the actual path and its Stat.
  std::pair<std::string, Stat> create(const std::string &path, const std::string &data,
                                      const std::vector<Acl> &acl, int flags) {
    check_path(path);
    if (path == "/" || is_virtual(path)) zk_fail(err::bad_arguments, "reserved path");
    if (under_zookeeper(path)) zk_fail(err::unimplemented, "writes under /zookeeper");
    if (flags < 0 || flags > 4) zk_fail(err::unimplemented, "TTL nodes are not served");
    check_acl(acl);
    int kv_flags = 0;
    if (flags & 1) kv_flags |= OFFKV_EPHEMERAL;
    if (flags & 2) kv_flags |= OFFKV_SEQUENTIAL;
    std::string actual = kv([&] { return c_.create(path, data, kv_flags); });
    std::int64_t zxid = meta_.next_zxid();
    std::int64_t owner = (flags & 1) ? s_.id : 0;
    meta_.created(actual, owner, zxid, acl);
    Meta m = meta_.observe(actual, 1);
    return {actual, make_stat(m, 1, data.size(), 0)};
  }

  void remove(const std::string &path, std::int32_t version) {
    check_path(path);
    if (path == "/" || under_zookeeper(path)) zk_fail(err::bad_arguments, "reserved path");
    // ZooKeeper deletes leaves only; offkv erases subtrees: look first.
    auto names = list(path, nullptr, nullptr);
    if (!names.empty()) zk_fail(err::not_empty, path + " has children");
    kv([&] { c_.erase(path, version == -1 ? 0 : std::int64_t(version) + 1); });
    meta_.erased(path, meta_.next_zxid());
  }

  Stat set_data(const std::string &path, const std::string &data, std::int32_t version) {
    check_path(path);
    if (path == "/" || under_zookeeper(path))
      zk_fail(err::unimplemented, "setData on " + path + " is not served");
    std::int64_t v = 0;
    if (version == -1) {
      // Replace only an existing node, in one step.
      offkv::Txn txn;
      txn.checks.push_back({offkv::TxnOpKind::Check, path, "", OFFKV_ANY_VERSION, 0});
      txn.ops.push_back({offkv::TxnOpKind::Set, path, data, 0, 0});
      try {
        v = c_.commit(txn).at(0).version;
      } catch (const offkv::TxnFailed &e) {
        zk_fail(e.index() == 0 ? err::no_node : map_offkv_error(e.reason()), e.what());
      } catch (const offkv::Error &e) {
        zk_fail(map_offkv_error(e.code()), e.what());
      }
    } else {
      try {
        v = c_.cas(path, data, std::int64_t(version) + 1);
      } catch (const offkv::Error &e) {
        if (e.code() == OFFKV_EVERSION && kv([&] { return c_.exists(path, nullptr, nullptr); }) == 0)
          zk_fail(err::no_node, path);
        zk_fail(map_offkv_error(e.code()), e.what());
      }
    }
    meta_.changed(path, v, meta_.next_zxid());
    return stat_of(path, v, data.size());
  }

  void add_persistent(const std::string &path, bool recursive) {
    std::weak_ptr<Session> weak = s_.shared_from_this();
    auto cb = [weak, path, recursive](const offkv::Event &e) {
      auto s = weak.lock();
      if (!s) return;
      int type = 0;
      switch (e.type) {
        case OFFKV_EVENT_CREATED: type = ev::created; break;
        case OFFKV_EVENT_DELETED: type = ev::deleted; break;
        case OFFKV_EVENT_CHANGED: type = ev::data_changed; break;
        default: return;
      }
      if (recursive || e.path == path) {
        s->notify(type, e.path, 2);
      } else if (type != ev::data_changed && parent_of(e.path) == path) {
        s->notify(ev::children_changed, path, 2);
      }
    };
    offkv::WatchPtr w = kv([&] { return c_.watch_persistent(path, cb); });
    offkv::WatchPtr old;
    {
      std::lock_guard<std::mutex> lock(s_.mutex);
      auto it = s_.persistent.find(path);
      if (it != s_.persistent.end()) old = it->second.watch;
      s_.persistent[path] = Session::Persistent{w, recursive};
    }
    if (old) c_.cancel(old);
  }

  // True if the session holds a live watch of this kind on path, or told its event
  // while no connection was attached.
  bool still_set(int kind, const std::string &path) {
    std::lock_guard<std::mutex> lock(s_.mutex);
    auto &slots = kind == 0 ? s_.data_watches : s_.child_watches;
    auto it = slots.find(path);
    if (it != slots.end())
      for (auto &x : it->second)
        if (!x.watch->finished()) return true;
    return s_.told_while_away.count({path, kind}) > 0;
  }
  void fire_now(int kind, const std::string &path, int type) {
    std::vector<Session::Armed> ws;
    {
      std::lock_guard<std::mutex> lock(s_.mutex);
      auto &slots = kind == 0 ? s_.data_watches : s_.child_watches;
      auto it = slots.find(path);
      if (it != slots.end()) {
        ws = std::move(it->second);
        slots.erase(it);
      }
    }
    for (auto &x : ws) c_.cancel(x.watch);
    s_.notify(type, path, kind);
  }

  // setWatches after a reconnection. The session's watches live on in zkd across
  // connections, so most are still set; the others are set again, told at once when
  // the node changed after the client's last zxid (as ZooKeeper does).
  void set_watches(std::int64_t relative, const std::vector<std::string> &data,
                   const std::vector<std::string> &exist,
                   const std::vector<std::string> &child,
                   const std::vector<std::string> &pers,
                   const std::vector<std::string> &rec) {
    for (const auto &path : data) {
      if (path == "/" || under_zookeeper(path) || still_set(0, path)) continue;
      try {
        offkv::Node node = watched(0, path, true, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
          return kv([&] { return c_.get(path, cb, out); });
        }, seen_node);
        if (meta_.observe(path, node.version).mzxid > relative)
          fire_now(0, path, ev::data_changed);
      } catch (const ZkError &e) {
        if (e.code == err::no_node) s_.notify(ev::deleted, path, 0);
      }
    }
    for (const auto &path : exist) {
      if (path == "/" || under_zookeeper(path) || still_set(0, path)) continue;
      try {
        std::int64_t v = watched(0, path, true, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
          return kv([&] { return c_.exists(path, cb, out); });
        }, seen_version);
        if (v != 0) fire_now(0, path, ev::created);
      } catch (const ZkError &) {
      }
    }
    for (const auto &path : child) {
      if (under_zookeeper(path) || still_set(1, path)) continue;
      try {
        watched(1, path, true, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
          return list(path, out, cb);
        }, seen_names);
        if (meta_.get(path).pzxid > relative) fire_now(1, path, ev::children_changed);
      } catch (const ZkError &e) {
        if (e.code == err::no_node) s_.notify(ev::deleted, path, 1);
      }
    }
    for (int k = 0; k < 2; ++k) {
      for (const auto &path : k ? rec : pers) {
        {
          std::lock_guard<std::mutex> lock(s_.mutex);
          if (s_.persistent.count(path)) continue;
        }
        try {
          add_persistent(path, k == 1);
        } catch (const ZkError &) {
        }
      }
    }
    std::lock_guard<std::mutex> lock(s_.mutex);
    s_.told_while_away.clear();
  }

  std::string multi(int xid, Reader &r);
  std::string dispatch(int xid, int type, Reader &r, bool *close_after);

 private:
  Server &server_;
  Session &s_;
  offkv::Client &c_;
  MetaStore &meta_;
};

std::string Handler::multi(int xid, Reader &r) {
  struct ZkOp {
    int type;
    std::string path, data;
    std::int32_t version = -1;
    int flags = 0;
    std::vector<Acl> acl;
  };
  std::vector<ZkOp> ops;
  for (;;) {
    int type = r.i32();
    bool done = r.boolean();
    r.i32();
    if (done) break;
    ZkOp o;
    o.type = type;
    switch (type) {
      case op::create: case op::create2: case op::create_container:
        o.path = r.str(); o.data = r.buffer(); o.acl = r.acls(); o.flags = r.i32();
        if (type == op::create_container) o.flags = 0;
        break;
      case op::create_ttl:
        o.path = r.str(); o.data = r.buffer(); o.acl = r.acls(); o.flags = r.i32(); r.i64();
        break;
      case op::remove: o.path = r.str(); o.version = r.i32(); break;
      case op::set_data: o.path = r.str(); o.data = r.buffer(); o.version = r.i32(); break;
      case op::check: o.path = r.str(); o.version = r.i32(); break;
      default: zk_fail(err::unimplemented, "multi op " + std::to_string(type));
    }
    ops.push_back(std::move(o));
  }
  // Results: every op OK, or the first failing one with its code (those before it
  // 0, those after RUNTIMEINCONSISTENCY), as ZooKeeper answers.
  auto failed_reply = [&](std::size_t index, int code) {
    Writer w;
    for (std::size_t k = 0; k < ops.size(); ++k) {
      int e = k < index ? 0 : k == index ? code : err::runtime_inconsistency;
      w.i32(op::error).boolean(false).i32(e).i32(e);
    }
    w.i32(-1).boolean(true).i32(-1);
    return reply(xid, w);
  };
  offkv::Txn txn;
  std::vector<std::size_t> check_of, op_of;  // offkv index -> ZooKeeper index
  std::set<std::string> made, gone;
  for (std::size_t k = 0; k < ops.size(); ++k) {
    auto &o = ops[k];
    try {
      check_path(o.path);
      if (under_zookeeper(o.path) || o.path == "/")
        zk_fail(o.type == op::check ? err::no_node : err::bad_arguments, "reserved path");
      switch (o.type) {
        case op::check:
          txn.checks.push_back({offkv::TxnOpKind::Check, o.path, "",
                                o.version == -1 ? OFFKV_ANY_VERSION : std::int64_t(o.version) + 1, 0});
          check_of.push_back(k);
          break;
        case op::create: case op::create2: case op::create_container: case op::create_ttl: {
          if (o.flags < 0 || o.flags > 4) zk_fail(err::unimplemented, "TTL nodes");
          check_acl(o.acl);
          int f = ((o.flags & 1) ? OFFKV_EPHEMERAL : 0) | ((o.flags & 2) ? OFFKV_SEQUENTIAL : 0);
          txn.ops.push_back({offkv::TxnOpKind::Create, o.path, o.data, 0, f});
          op_of.push_back(k);
          made.insert(o.path);
          break;
        }
        case op::remove: {
          if (!made.count(o.path)) {
            // Leaves only, counting the deletes before it in this multi.
            auto names = list(o.path, nullptr, nullptr);
            for (const auto &n : names)
              if (!gone.count(o.path + "/" + n)) zk_fail(err::not_empty, o.path);
          }
          gone.insert(o.path);
          txn.ops.push_back({offkv::TxnOpKind::Erase, o.path, "",
                             o.version == -1 ? 0 : std::int64_t(o.version) + 1, 0});
          op_of.push_back(k);
          break;
        }
        case op::set_data:
          if (!made.count(o.path)) {
            txn.checks.push_back({offkv::TxnOpKind::Check, o.path, "",
                                  o.version == -1 ? OFFKV_ANY_VERSION : std::int64_t(o.version) + 1, 0});
            check_of.push_back(k);
          }
          txn.ops.push_back({offkv::TxnOpKind::Set, o.path, o.data, 0, 0});
          op_of.push_back(k);
          break;
      }
    } catch (const ZkError &e) {
      return failed_reply(k, e.code);
    }
  }
  std::vector<offkv::OpResult> results;
  if (!txn.checks.empty() || !txn.ops.empty()) {
    try {
      results = c_.commit(txn);
    } catch (const offkv::TxnFailed &e) {
      std::size_t i = e.index();
      std::size_t k = i < txn.checks.size() ? check_of.at(i) : op_of.at(i - txn.checks.size());
      int code = map_offkv_error(e.reason());
      if (i < txn.checks.size()) {
        // A check: no node, or another version?
        std::int64_t v = 0;
        try {
          v = c_.exists(ops[k].path, nullptr, nullptr);
        } catch (const offkv::Error &) {
        }
        code = v == 0 ? err::no_node : err::bad_version;
      }
      return failed_reply(k, code);
    } catch (const offkv::Error &e) {
      zk_fail(map_offkv_error(e.code()), e.what());
    }
  }
  std::int64_t zxid = meta_.next_zxid();
  Writer w;
  for (std::size_t k = 0, j = 0; k < ops.size(); ++k) {
    auto &o = ops[k];
    if (o.type == op::check) {
      w.i32(op::check).boolean(false).i32(0);
      continue;
    }
    const auto &res = results.at(j++);
    switch (o.type) {
      case op::create: case op::create2: case op::create_container: case op::create_ttl: {
        meta_.created(res.path, (o.flags & 1) ? s_.id : 0, zxid, o.acl);
        if (o.type == op::create) {
          w.i32(op::create).boolean(false).i32(0).str(res.path);
        } else {
          Meta m = meta_.observe(res.path, 1);
          w.i32(op::create2).boolean(false).i32(0).str(res.path).stat(make_stat(m, 1, o.data.size(), 0));
        }
        break;
      }
      case op::remove:
        meta_.erased(o.path, zxid);
        w.i32(op::remove).boolean(false).i32(0);
        break;
      case op::set_data: {
        meta_.changed(o.path, res.version, zxid);
        // The Stat as of this op, as ZooKeeper gives it: without the children that
        // later ops of the multi create or delete.
        Stat st = stat_of(o.path, res.version, o.data.size());
        for (std::size_t later = k + 1; later < ops.size(); ++later) {
          if (parent_of(ops[later].path) != o.path) continue;
          int t = ops[later].type;
          if (t == op::create || t == op::create2 || t == op::create_container || t == op::create_ttl)
            --st.num_children;
          else if (t == op::remove)
            ++st.num_children;
        }
        w.i32(op::set_data).boolean(false).i32(0).stat(st);
        break;
      }
    }
  }
  w.i32(-1).boolean(true).i32(-1);
  return reply(xid, w);
}

std::string Handler::dispatch(int xid, int type, Reader &r, bool *close_after) {
  Writer w;
  switch (type) {
    case op::create: case op::create2: case op::create_container: case op::create_ttl: {
      std::string path = r.str(), data = r.buffer();
      auto acl = r.acls();
      int flags = r.i32();
      if (type == op::create_ttl) {
        r.i64();
        zk_fail(err::unimplemented, "TTL nodes are not served");
      }
      if (type == op::create_container) {
        if (flags != 4) zk_fail(err::bad_arguments, "container flag");
        flags = 0;
      } else if (flags == 4) {
        zk_fail(err::bad_arguments, "container nodes need createContainer");
      }
      auto made = create(path, data, acl, flags);
      w.str(made.first);
      if (type != op::create) w.stat(made.second);
      return reply(xid, w);
    }
    case op::remove: case op::delete_container: {
      std::string path = r.str();
      std::int32_t version = type == op::remove ? r.i32() : -1;
      remove(path, version);
      return reply(xid, w);
    }
    case op::exists: {
      std::string path = r.str();
      bool watch = r.boolean();
      check_path(path);
      if (path == "/" || is_virtual(path)) return reply(xid, w.stat(stat_of(path, 1, 0)));
      std::int64_t v = watched(0, path, watch, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
        return kv([&] { return c_.exists(path, cb, out); });
      }, seen_version);
      if (v == 0) zk_fail(err::no_node, path);
      // The value's length: one more read.
      std::size_t len = 0;
      try {
        len = c_.get(path, nullptr, nullptr).value.size();
      } catch (const offkv::Error &) {
      }
      return reply(xid, w.stat(stat_of(path, v, len)));
    }
    case op::get_data: {
      std::string path = r.str();
      bool watch = r.boolean();
      check_path(path);
      if (path == "/" || is_virtual(path)) return reply(xid, w.buffer("").stat(stat_of(path, 1, 0)));
      offkv::Node node = watched(0, path, watch, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
        return kv([&] { return c_.get(path, cb, out); });
      }, seen_node);
      return reply(xid, w.buffer(node.value).stat(stat_of(path, node.version, node.value.size())));
    }
    case op::set_data: {
      std::string path = r.str(), data = r.buffer();
      std::int32_t version = r.i32();
      return reply(xid, w.stat(set_data(path, data, version)));
    }
    case op::get_children: case op::get_children2: {
      std::string path = r.str();
      bool watch = r.boolean();
      check_path(path);
      std::vector<std::string> names;
      if (is_virtual(path)) {
        names = list(path, nullptr, nullptr);
      } else {
        names = watched(1, path, watch, [&](const offkv::EventCallback *cb, offkv::WatchPtr *out) {
          return list(path, out, cb);
        }, seen_names);
      }
      w.strings(names);
      if (type == op::get_children2) {
        if (path == "/" || is_virtual(path)) {
          w.stat(stat_of(path, 1, 0));
        } else {
          offkv::Node node = kv([&] { return c_.get(path, nullptr, nullptr); });
          Meta m = meta_.observe(path, node.version);
          m = meta_.observe_children(path, names);
          w.stat(make_stat(m, node.version, node.value.size(), names.size()));
        }
      }
      return reply(xid, w);
    }
    case op::sync: {
      std::string path = r.str();
      return reply(xid, w.str(path));
    }
    case op::get_acl: {
      std::string path = r.str();
      check_path(path);
      Stat st;
      if (path == "/" || is_virtual(path)) {
        st = stat_of(path, 1, 0);
      } else {
        offkv::Node node = kv([&] { return c_.get(path, nullptr, nullptr); });
        st = stat_of(path, node.version, node.value.size());
      }
      Meta m = meta_.get(path);
      std::vector<Acl> acl = m.acl;
      if (acl.empty()) acl.push_back(Acl{31, "world", "anyone"});
      return reply(xid, w.acls(acl).stat(st));
    }
    case op::set_acl: {
      std::string path = r.str();
      auto acl = r.acls();
      std::int32_t version = r.i32();
      check_path(path);
      if (path == "/" || under_zookeeper(path)) zk_fail(err::unimplemented, "setACL on " + path);
      check_acl(acl);
      offkv::Node node = kv([&] { return c_.get(path, nullptr, nullptr); });
      meta_.observe(path, node.version);
      meta_.set_acl(path, node.version, version, acl);
      return reply(xid, w.stat(stat_of(path, node.version, node.value.size())));
    }
    case op::multi: return multi(xid, r);
    case op::check: {
      std::string path = r.str();
      std::int32_t version = r.i32();
      std::int64_t v = kv([&] { return c_.exists(path, nullptr, nullptr); });
      if (v == 0) zk_fail(err::no_node, path);
      if (version != -1 && v != std::int64_t(version) + 1) zk_fail(err::bad_version, path);
      return reply(xid, w);
    }
    case op::add_watch: {
      std::string path = r.str();
      int mode = r.i32();
      check_path(path);
      if (mode != 0 && mode != 1) zk_fail(err::bad_arguments, "addWatch mode");
      add_persistent(path, mode == 1);
      return reply(xid, w.i32(0));  // ErrorResponse(0), as ZooKeeper answers
    }
    case op::remove_watches: case op::check_watches: {
      std::string path = r.str();
      int wtype = r.i32();  // 1 children, 2 data, 3 any, 4 persistent, 5 recursive
      std::vector<offkv::WatchPtr> doomed;
      {
        std::lock_guard<std::mutex> lock(s_.mutex);
        auto take = [&](std::map<std::string, std::vector<Session::Armed>> &m) {
          auto it = m.find(path);
          if (it == m.end()) return;
          for (auto &x : it->second)
            if (!x.watch->finished()) doomed.push_back(x.watch);
          if (type == op::remove_watches) m.erase(it);
        };
        if (wtype == 1 || wtype == 3) take(s_.child_watches);
        if (wtype == 2 || wtype == 3) take(s_.data_watches);
        auto it = s_.persistent.find(path);
        if (it != s_.persistent.end() &&
            (wtype == 3 || (wtype == 4 && !it->second.recursive) ||
             (wtype == 5 && it->second.recursive))) {
          doomed.push_back(it->second.watch);
          if (type == op::remove_watches) s_.persistent.erase(it);
        }
      }
      // Watches on ZooKeeper's own nodes are kept by no one: they never fire.
      if (doomed.empty() && !under_zookeeper(path)) zk_fail(err::no_watcher, path);
      if (type == op::remove_watches)
        for (auto &d : doomed) c_.cancel(d);
      return reply(xid, w);
    }
    case op::set_watches: case op::set_watches2: {
      std::int64_t relative = r.i64();
      auto data = r.strings(), exist = r.strings(), child = r.strings();
      std::vector<std::string> pers, rec;
      if (type == op::set_watches2) {
        pers = r.strings();
        rec = r.strings();
      }
      set_watches(relative, data, exist, child, pers, rec);
      return reply_header(kSetWatchesXid, meta_.last_zxid(), 0);
    }
    case op::close_session:
      *close_after = true;
      server_.close_session(s_.shared_from_this());
      return reply(xid, w);
    case op::get_ephemerals: {
      // The ephemerals this zkd made for the session.
      std::string prefix = r.str();
      std::vector<std::string> mine;
      for (auto &path : meta_.owned_by(s_.id))
        if (path.rfind(prefix, 0) == 0) mine.push_back(path);
      std::sort(mine.begin(), mine.end());
      return reply(xid, w.strings(mine));
    }
    case op::get_all_children_number: {
      // Every node below: one children read per node.
      std::string path = r.str();
      check_path(path);
      std::int32_t total = 0;
      std::vector<std::string> todo{path};
      while (!todo.empty()) {
        std::string p = todo.back();
        todo.pop_back();
        std::vector<std::string> names;
        try {
          names = list(p, nullptr, nullptr);
        } catch (const ZkError &e) {
          if (p == path || e.code != err::no_node) throw;
        }
        total += static_cast<std::int32_t>(names.size());
        for (auto &n : names) todo.push_back(p == "/" ? "/" + n : p + "/" + n);
      }
      return reply(xid, w.i32(total));
    }
    case op::reconfig:
      zk_fail(err::reconfig_disabled, "reconfig is not served");
    case op::whoami: {
      w.i32(static_cast<std::int32_t>(s_.auth.size() + 1));
      w.str("ip").str("127.0.0.1");
      for (auto &a : s_.auth) w.str(a.first).str(a.second);
      return reply(xid, w);
    }
    default:
      zk_fail(err::unimplemented, "operation " + std::to_string(type) + " is not served");
  }
}

}  // namespace

std::string handle_request(Server &server, Session &session, int xid, int type, Reader &r,
                           bool *close_after) {
  Handler h(server, session);
  try {
    return h.dispatch(xid, type, r, close_after);
  } catch (const ZkError &e) {
    if (server.config.verbose)
      std::fprintf(stderr, "zkd: session 0x%llx op %d: error %d %s\n",
                   static_cast<unsigned long long>(session.id), type, e.code,
                   e.message.c_str());
    return reply_header(xid, server.meta.last_zxid(), e.code);
  } catch (const JuteError &e) {
    return reply_header(xid, server.meta.last_zxid(), err::marshalling);
  } catch (const offkv::Error &e) {
    return reply_header(xid, server.meta.last_zxid(), map_offkv_error(e.code()));
  }
}

}  // namespace zkd
