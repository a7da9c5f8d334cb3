#include "consul_backend.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "../error.hpp"
#include "../key.hpp"
#include "../log.hpp"
#include "../verdict.hpp"
#include "codes.hpp"
#include "consul_errors.hpp"
#include "consul_http.hpp"
#include "consul_keys.hpp"
#include "consul_session.hpp"
#include "consul_watches.hpp"

namespace offkv {

namespace {

using namespace consul;
using nlohmann::json;

// Optimistic retries: a write whose pre-read went stale before its /v1/txn (the txn
// failed, so nothing was written) is read and tried again after a short random pause,
// until the operation's deadline.
constexpr int kMaxPauseMs = 50;
constexpr int kStripes = 64;  // client-local write locks, by key
// The longest a write waits for its own watches to see it (WatchHub::settle).
constexpr int kSettleMs = 2000;

std::string child_path(const std::string &parent, const std::string &name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

// ---- /v1/txn operations (Consul's KV verbs) ----

json kv_op(const char *verb, const std::string &key) {
  return json{{"KV", json{{"Verb", verb}, {"Key", key}}}};
}
json op_write(const char *verb, const std::string &key, const std::string &value,
              std::int64_t version) {
  json op = kv_op(verb, key);
  op["KV"]["Value"] = base64_encode(value);
  op["KV"]["Flags"] = static_cast<std::uint64_t>(version);
  return op;
}
// cas: index 0 = only if absent, else only if the entry's ModifyIndex is index.
json op_cas(const std::string &key, const std::string &value, std::int64_t version,
            std::uint64_t index) {
  json op = op_write("cas", key, value, version);
  op["KV"]["Index"] = index;
  return op;
}
json op_set(const std::string &key, const std::string &value, std::int64_t version) {
  return op_write("set", key, value, version);
}
// An ephemeral node: the key held by our session (behavior delete).
json op_lock(const std::string &key, const std::string &value, std::int64_t version,
             const std::string &session) {
  json op = op_write("lock", key, value, version);
  op["KV"]["Session"] = session;
  return op;
}
json op_check_index(const std::string &key, std::uint64_t index) {
  json op = kv_op("check-index", key);
  op["KV"]["Index"] = index;
  return op;
}
json op_check_absent(const std::string &key) { return kv_op("check-not-exists", key); }
// The key exists and no session holds it: a persistent node.
json op_check_persistent(const std::string &key) {
  json op = kv_op("check-session", key);
  op["KV"]["Session"] = "";
  return op;
}
json op_delete_cas(const std::string &key, std::uint64_t index) {
  json op = kv_op("delete-cas", key);
  op["KV"]["Index"] = index;
  return op;
}

// A pre-read entry as a guard: the transaction applies only if it is unchanged.
json op_guard(const Entry &e, const std::string &key) {
  return e.present ? op_check_index(key, e.modify_index) : op_check_absent(key);
}

// What this client last saw of each node key (a read, or its own write), value left
// out: the guess an optimistic write starts from instead of reading first. A stale
// guess costs one refused txn (its compare-and-set or guard on the ModifyIndex, so
// nothing is written) and then the read the write would have made anyway.
class SeenEntries {
 public:
  std::optional<Entry> find(const std::string &key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = seen_.find(key);
    if (it == seen_.end()) return std::nullopt;
    return it->second;
  }
  void remember(const std::string &key, Entry e) {
    if (key.compare(0, 7, "offkv/n") != 0) return;  // node keys only
    e.value.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    if (seen_.size() >= kMaxSeen) seen_.clear();  // a bound, not a policy
    seen_[key] = std::move(e);
  }
  void forget(const std::string &key) {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.erase(key);
  }
  void forget_below(const std::string &prefix) {  // every key starting with prefix
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = seen_.lower_bound(prefix);
    while (it != seen_.end() && it->first.compare(0, prefix.size(), prefix) == 0)
      it = seen_.erase(it);
  }

  // After a txn that applied: each key it wrote as its results show it, each key it
  // deleted as absent, everything under a delete-tree forgotten.
  void learn(const json &ops, const json &results) {
    std::map<std::string, bool> last_deleted;  // key -> its last op deleted it
    std::vector<std::string> trees;
    for (const auto &op : ops) {
      const json &kv = op.at("KV");
      const std::string verb = kv.at("Verb").get<std::string>();
      const std::string key = kv.at("Key").get<std::string>();
      if (verb == "delete-tree")
        trees.push_back(key);
      else if (verb == "delete" || verb == "delete-cas")
        last_deleted[key] = true;
      else if (verb == "set" || verb == "cas" || verb == "lock")
        last_deleted[key] = false;
    }
    std::map<std::string, Entry> latest;
    for (const auto &result : results) {
      auto kv = result.find("KV");
      if (kv == result.end() || !kv->is_object()) continue;
      Entry e = parse_entry(*kv);
      auto &slot = latest[e.key];
      if (!slot.present || e.modify_index >= slot.modify_index) slot = std::move(e);
    }
    for (const auto &t : trees) forget_below(t);
    auto under_tree = [&](const std::string &key) {
      for (const auto &t : trees)
        if (key.compare(0, t.size(), t) == 0) return true;
      return false;
    };
    for (const auto &entry : last_deleted) {
      if (under_tree(entry.first)) continue;
      if (entry.second) {
        remember(entry.first, Entry());
      } else {
        auto it = latest.find(entry.first);
        if (it != latest.end())
          remember(entry.first, it->second);
        else
          forget(entry.first);
      }
    }
  }

 private:
  static constexpr std::size_t kMaxSeen = 100000;
  std::mutex mutex_;
  std::map<std::string, Entry> seen_;
};

class ConsulBackend : public Backend {
 public:
  ConsulBackend(const Endpoint &endpoint, const Options &options)
      : prefix_(endpoint.prefix),
        root_(prefix_.empty() ? "/" : prefix_),
        options_(options),
        consistency_(options.read_consistency == ReadMode::serializable ? "stale"
                                                                        : "consistent"),
        http_((endpoint.tls ? "https://" : "http://") + endpoint.hosts.at(0), options),
        session_(http_, options),
        hub_(http_, options) {}

  ~ConsulBackend() override { close(); }

  void start(SessionListener listener) override {
    if (stats()) http_.count_requests(&stats()->requests);
    http_.start();
    session_.start([this, listener](int state, const std::string &message) {
      if (state == SessionState::lost) hub_.clear();  // the core ends every watch
      listener(state, message);
    });
  }

  std::string create(const std::string &path, const std::string &value,
                     int flags) override {
    const std::string what = "create '" + show(path) + "'";
    auto deadline = new_deadline();
    const std::string parent = parent_path(path);
    const bool check_parent = needs_parent(path);
    std::unique_lock<std::mutex> serial;
    if (flags & NodeFlag::sequential) serial = stripe(counter_key(parent));
    for (int attempt = 0;; pause(attempt++, deadline, what)) {
      json ops = json::array();
      if (check_parent) ops.push_back(op_check_persistent(node_key(parent)));
      std::string actual = path;
      std::size_t counter_at = SIZE_MAX;
      if (flags & NodeFlag::sequential) {
        std::string ckey = counter_key(parent);
        Entry c = read_raw(ckey, deadline, what);
        std::int64_t next = counter_value(c, what);
        counter_at = ops.size();
        ops.push_back(
            op_cas(ckey, std::to_string(next + 1), 0, c.present ? c.modify_index : 0));
        actual = sequential_path(path, next);
      }
      const std::size_t create_at = ops.size();
      const std::string key = node_key(actual);
      std::string sid;
      if (flags & NodeFlag::ephemeral) {
        sid = session_.id();
        ops.push_back(op_check_absent(key));
        ops.push_back(op_lock(key, value, 1, sid));
      } else {
        ops.push_back(op_cas(key, value, 1, 0));
      }
      TxnAnswer t = txn(ops, deadline, what, sid);
      if (t.ok) return actual;
      if (check_parent && t.failed == 0) parent_failed(t, actual);
      if (t.failed == counter_at) continue;  // another sequential create got there first
      if (t.failed == create_at) throw verdicts_.exists(actual, words(t));
      unexpected(t, what);
    }
  }

  std::int64_t set(const std::string &path, const std::string &value) override {
    const std::string what = "set '" + show(path) + "'";
    auto deadline = new_deadline();
    const std::string key = node_key(path);
    auto serial = stripe(key);
    // The node as last seen: when still current, the set is one txn.
    std::optional<Entry> guess = seen_.find(key);
    for (int attempt = 0;;) {
      const bool guessed = guess.has_value();
      Entry e = guessed ? std::move(*guess) : read_node(path, deadline, what);
      guess.reset();
      if (e.present) {
        TxnAnswer t =
            txn(json::array({op_cas(key, value, e.version + 1, e.modify_index)}),
                deadline, what);
        if (t.ok) return e.version + 1;
      } else {
        json ops = json::array();
        const bool check_parent = needs_parent(path);
        if (check_parent) ops.push_back(op_check_persistent(node_key(parent_path(path))));
        ops.push_back(op_cas(key, value, 1, 0));
        TxnAnswer t = txn(ops, deadline, what);
        if (t.ok) return 1;
        if (check_parent && t.failed == 0) parent_failed(t, path);
        // Created by someone else in between: replace it.
      }
      // Changed since the read (or the guess): read it again; a guess that missed
      // is no race lost, so no pause.
      if (!guessed) pause(attempt++, deadline, what);
    }
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected) override {
    const std::string what = "cas on '" + show(path) + "'";
    auto deadline = new_deadline();
    const std::string key = node_key(path);
    if (expected == 0) {
      json ops = json::array();
      const bool check_parent = needs_parent(path);
      if (check_parent) ops.push_back(op_check_persistent(node_key(parent_path(path))));
      ops.push_back(op_cas(key, value, 1, 0));
      TxnAnswer t = txn(ops, deadline, what);
      if (t.ok) return 1;
      if (check_parent && t.failed == 0) parent_failed(t, path);
      throw verdicts_.cas_mismatch(path, 0, found_version(path, deadline), words(t));
    }
    auto serial = stripe(key);
    // Seen at the expected version: try it at once; a mismatch is only ever reported
    // from a read (the guess may be stale).
    std::optional<Entry> guess = seen_.find(key);
    if (guess && !(guess->present && guess->version == expected)) guess.reset();
    for (int attempt = 0;;) {
      const bool guessed = guess.has_value();
      Entry e = guessed ? std::move(*guess) : read_node(path, deadline, what);
      guess.reset();
      std::int64_t found = e.present ? e.version : 0;
      if (found != expected) throw verdicts_.cas_mismatch(path, expected, found);
      TxnAnswer t = txn(json::array({op_cas(key, value, expected + 1, e.modify_index)}),
                        deadline, what);
      if (t.ok) return expected + 1;
      if (!guessed) pause(attempt++, deadline, what);
    }
  }

  Node get(const std::string &path, const WatchPtr &watch) override {
    const std::string what = "get '" + show(path) + "'";
    Response r = http_.call(key_read(path, consistency_, options_.operation_timeout_ms));
    Entry e = parse_key_read(r, what, closed_);
    seen_.remember(node_key(path), e);
    if (!e.present) throw verdicts_.no_node("get", path);
    if (watch) hub_.add_key(watch, e, r.index);
    return Node{std::move(e.value), e.version};
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    const std::string what = "exists '" + show(path) + "'";
    Response r = http_.call(key_read(path, consistency_, options_.operation_timeout_ms));
    Entry e = parse_key_read(r, what, closed_);
    seen_.remember(node_key(path), e);
    if (watch) hub_.add_key(watch, e, r.index);
    return e.present ? e.version : 0;
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    const std::string what = "list '" + show(path) + "'";
    const int timeout = options_.operation_timeout_ms;
    if (!watch && path != "/") {
      // One request when there are children: a key has children only while it
      // exists (every write keeps parents atomically), so a non-empty listing
      // answers alone; an empty one needs the node's own read (absent or empty).
      Response listing = http_.call(children_read(path, consistency_, timeout));
      std::vector<std::string> names = parse_children_read(listing, path, what, closed_);
      if (!names.empty()) return child_paths(path, names);
    }
    std::vector<Request> reads{children_read(path, consistency_, timeout)};
    if (path != "/") reads.push_back(key_read(path, consistency_, timeout));
    std::vector<Response> rs = http_.call_all(std::move(reads));
    std::vector<std::string> names = parse_children_read(rs[0], path, what, closed_);
    Entry node = path != "/" ? parse_key_read(rs[1], what, closed_) : Entry();
    if (path != root_ && !node.present) throw verdicts_.no_node("list", path);
    if (watch) {
      std::uint64_t index = rs[0].index;
      if (rs.size() > 1) index = std::min(index, rs[1].index);
      hub_.add_children(watch, node, std::set<std::string>(names.begin(), names.end()),
                        index);
    }
    return child_paths(path, names);
  }

  static std::vector<std::string> child_paths(const std::string &path,
                                              const std::vector<std::string> &names) {
    std::vector<std::string> out;
    out.reserve(names.size());
    for (const auto &name : names) out.push_back(child_path(path, name));
    return out;
  }

  void erase(const std::string &path, std::int64_t expected) override {
    const std::string what = "erase '" + show(path) + "'";
    auto deadline = new_deadline();
    const std::string key = node_key(path);
    if (expected == 0) {
      // One round trip: `get` fails the transaction if the node is absent.
      TxnAnswer t = txn(json::array({kv_op("get", key), kv_op("delete", key),
                                     kv_op("delete-tree", key + "/")}),
                        deadline, what);
      if (t.ok) return;
      if (t.failed == 0) throw verdicts_.no_node("erase", path);
      unexpected(t, what);
    }
    auto serial = stripe(key);
    std::optional<Entry> guess = seen_.find(key);  // as for cas
    if (guess && !(guess->present && guess->version == expected)) guess.reset();
    for (int attempt = 0;;) {
      const bool guessed = guess.has_value();
      Entry e = guessed ? std::move(*guess) : read_node(path, deadline, what);
      guess.reset();
      if (!e.present) throw verdicts_.no_node("erase", path);
      if (e.version != expected)
        throw verdicts_.erase_mismatch(path, expected, e.version);
      TxnAnswer t = txn(json::array({op_delete_cas(key, e.modify_index),
                                     kv_op("delete-tree", key + "/")}),
                        deadline, what);
      if (t.ok) return;
      if (!guessed) pause(attempt++, deadline, what);
    }
  }

  std::vector<OpResult> commit(const Txn &txn) override;
  class TxnPlanner;
  std::vector<std::string> txn_keys(const Txn &txn) const;
  std::vector<std::unique_lock<std::mutex>> lock_stripes(
      const std::vector<std::string> &keys);

  void watch_persistent(const std::string &path, const WatchPtr &watch) override {
    const std::string what = "watch '" + show(path) + "'";
    const int timeout = options_.operation_timeout_ms;
    std::vector<Request> reads{subtree_read(path, "", timeout)};
    if (path != "/") reads.push_back(key_read(path, "", timeout));
    std::vector<Response> rs = http_.call_all(std::move(reads));
    std::map<std::string, Entry> nodes;
    for (auto &e : parse_subtree_read(rs[0], what, closed_)) {
      auto p = path_of(e.key);
      if (p && path_covers(path, *p)) nodes[*p] = std::move(e);
    }
    std::uint64_t index = rs[0].index;
    if (rs.size() > 1) {
      Entry node = parse_key_read(rs[1], what, closed_);
      if (node.present) nodes[path] = std::move(node);
      index = std::min(index, rs[1].index);
    }
    for (auto &entry : nodes) entry.second.value.clear();  // only versions are kept
    hub_.add_tree(watch, std::move(nodes), index);
  }

  void unwatch(const WatchPtr &watch) override { hub_.remove(watch); }

  // ---- Native asynchronous forms (offkv_*_async) ----
  //
  // Each call is a chain of requests on the HTTP thread's multi loop: a completion
  // parses its answer and either finishes the call or sends the next request (a
  // conflict's read, a retry after a pause timer). Nothing blocks: no client-side
  // stripe lock (the core orders calls on related keys; a sync write racing one only
  // costs a refused compare-and-set), and a write declines (the core then runs the
  // blocking form) while the client has watches, whose settling waits.

  bool start_get(const std::string &path, const WatchPtr &watch,
                 Completion<Node> done) override {
    if (watch) return false;
    auto op = track<Node>("get", std::move(done));
    if (!op) return true;
    const std::string what = "get '" + show(path) + "'";
    send(op, key_read(path, consistency_, options_.operation_timeout_ms), new_deadline(),
         [this, op, path, what](Response &&r) {
           Entry e = parse_key_read(r, what, closed_);
           seen_.remember(node_key(path), e);
           if (!e.present) throw verdicts_.no_node("get", path);
           complete(op, Node{std::move(e.value), e.version});
         });
    return true;
  }

  bool start_exists(const std::string &path, const WatchPtr &watch,
                    Completion<std::int64_t> done) override {
    if (watch) return false;
    auto op = track<std::int64_t>("exists", std::move(done));
    if (!op) return true;
    const std::string what = "exists '" + show(path) + "'";
    send(op, key_read(path, consistency_, options_.operation_timeout_ms), new_deadline(),
         [this, op, path, what](Response &&r) {
           Entry e = parse_key_read(r, what, closed_);
           seen_.remember(node_key(path), e);
           complete(op, e.present ? e.version : std::int64_t{0});
         });
    return true;
  }

  bool start_children(const std::string &path, const WatchPtr &watch,
                      Completion<std::vector<std::string>> done) override {
    if (watch) return false;
    auto op = track<std::vector<std::string>>("children", std::move(done));
    if (!op) return true;
    // The listing and the node's own read in parallel, as children() does.
    struct Answers {
      std::mutex mutex;
      int left = 0;
      Response listing, node;
    };
    auto answers = std::make_shared<Answers>();
    answers->left = path != "/" ? 2 : 1;
    const std::string what = "list '" + show(path) + "'";
    const int timeout = options_.operation_timeout_ms;
    auto arrived = [this, op, answers, path, what](Response &&r, bool listing) {
      {
        std::lock_guard<std::mutex> lock(answers->mutex);
        (listing ? answers->listing : answers->node) = std::move(r);
        if (--answers->left > 0) return;
      }
      std::vector<std::string> names =
          parse_children_read(answers->listing, path, what, closed_);
      Entry node = path != "/" ? parse_key_read(answers->node, what, closed_) : Entry();
      if (path != root_ && !node.present) throw verdicts_.no_node("list", path);
      std::vector<std::string> out;
      out.reserve(names.size());
      for (const auto &name : names) out.push_back(child_path(path, name));
      complete(op, std::move(out));
    };
    auto deadline = new_deadline();
    send(op, children_read(path, consistency_, timeout), deadline,
         [arrived](Response &&r) { arrived(std::move(r), true); });
    if (path != "/")
      send(op, key_read(path, consistency_, timeout), deadline,
           [arrived](Response &&r) { arrived(std::move(r), false); });
    return true;
  }

  bool start_create(const std::string &path, const std::string &value, int flags,
                    Completion<std::string> done) override {
    // Sequential creates keep the counter's stripe lock: blocking form.
    if ((flags & NodeFlag::sequential) || !hub_.idle()) return false;
    auto op = track<std::string>("create", std::move(done));
    if (!op) return true;
    guarded(op, [&] {
      const std::string what = "create '" + show(path) + "'";
      const bool check_parent = needs_parent(path);
      const std::string key = node_key(path);
      json ops = json::array();
      if (check_parent) ops.push_back(op_check_persistent(node_key(parent_path(path))));
      const std::size_t create_at = ops.size();  // refused there: the node exists
      std::string sid;
      if (flags & NodeFlag::ephemeral) {
        sid = session_.id();
        ops.push_back(op_check_absent(key));
        ops.push_back(op_lock(key, value, 1, sid));
      } else {
        ops.push_back(op_cas(key, value, 1, 0));
      }
      auto deadline = new_deadline();
      send(op, txn_request(ops, left_ms(deadline, what)), deadline,
           [this, op, ops, path, what, sid, check_parent, create_at](Response &&r) {
             TxnAnswer t = txn_answer(r, ops, what, sid, false);
             if (t.ok) return complete(op, std::string(path));
             if (check_parent && t.failed == 0) parent_failed(t, path);
             if (t.failed == create_at) throw verdicts_.exists(path, words(t));
             unexpected(t, what);
           });
    });
    return true;
  }

  bool start_set(const std::string &path, const std::string &value,
                 Completion<std::int64_t> done) override {
    if (!hub_.idle()) return false;
    auto op = track<std::int64_t>("set", std::move(done));
    if (!op) return true;
    auto w = std::make_shared<Write>(path, "set '" + show(path) + "'", new_deadline());
    w->value = value;
    set_step(op, w, seen_.find(w->key));
    return true;
  }

  bool start_cas(const std::string &path, const std::string &value, std::int64_t expected,
                 Completion<std::int64_t> done) override {
    if (!hub_.idle()) return false;
    auto op = track<std::int64_t>("cas", std::move(done));
    if (!op) return true;
    auto w = std::make_shared<Write>(path, "cas on '" + show(path) + "'", new_deadline());
    w->value = value;
    w->expected = expected;
    if (expected == 0) {
      cas_absent(op, w);
      return true;
    }
    std::optional<Entry> guess = seen_.find(w->key);
    if (guess && !(guess->present && guess->version == expected)) guess.reset();
    cas_step(op, w, std::move(guess));
    return true;
  }

  bool start_erase(const std::string &path, std::int64_t expected,
                   Completion<bool> done) override {
    if (!hub_.idle()) return false;
    auto op = track<bool>("erase", std::move(done));
    if (!op) return true;
    auto w = std::make_shared<Write>(path, "erase '" + show(path) + "'", new_deadline());
    w->expected = expected;
    if (expected == 0) {
      guarded(op, [&] {
        const json ops = json::array({kv_op("get", w->key), kv_op("delete", w->key),
                                      kv_op("delete-tree", w->key + "/")});
        send(op, txn_request(ops, left_ms(w->deadline, w->what)), w->deadline,
             [this, op, w, ops](Response &&r) {
               TxnAnswer t = txn_answer(r, ops, w->what, std::string(), false);
               if (t.ok) return complete(op, true);
               if (t.failed == 0) throw verdicts_.no_node("erase", w->path);
               unexpected(t, w->what);
             });
      });
      return true;
    }
    std::optional<Entry> guess = seen_.find(w->key);
    if (guess && !(guess->present && guess->version == expected)) guess.reset();
    erase_step(op, w, std::move(guess));
    return true;
  }

 private:
  // One started call: completes exactly once, by its chain or by close().
  struct AsyncCall {
    virtual ~AsyncCall() = default;
    virtual void fail(std::exception_ptr error) = 0;
    std::uint64_t id = 0;
  };
  template <typename T>
  struct Async : AsyncCall {
    Completion<T> done;
    std::atomic<bool> finished{false};
    void finish(std::exception_ptr error, T value) {
      if (finished.exchange(true)) return;
      Completion<T> d = std::move(done);
      try {
        d(error, std::move(value));
      } catch (...) {
        // The core's completion never takes the HTTP thread down.
      }
    }
    void fail(std::exception_ptr error) override { finish(error, T{}); }
  };
  template <typename T>
  using AsyncPtr = std::shared_ptr<Async<T>>;

  // Registers a call; null when the client is closed (done was called with ECLOSED).
  // name: for the debug log, which shows the native path was taken.
  template <typename T>
  AsyncPtr<T> track(const char *name, Completion<T> done) {
    if (log::enabled(log::Debug))
      log::write(log::Debug, "consul", std::string("native asynchronous ") + name);
    auto op = std::make_shared<Async<T>>();
    op->done = std::move(done);
    {
      std::lock_guard<std::mutex> lock(async_mutex_);
      op->id = ++async_next_;
      async_calls_.emplace(op->id, op);
    }
    if (closed_) {
      complete_error(op,
                     std::make_exception_ptr(Error(Err::eclosed, "client is closed")));
      return nullptr;
    }
    return op;
  }
  void untrack(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(async_mutex_);
    async_calls_.erase(id);
  }
  template <typename T>
  void complete(const AsyncPtr<T> &op, T value) {
    untrack(op->id);
    op->finish(nullptr, std::move(value));
  }
  void complete_error(const std::shared_ptr<AsyncCall> &op, std::exception_ptr error) {
    untrack(op->id);
    op->fail(error);
  }
  // Runs a step of a call; whatever it throws completes the call with it.
  void guarded(const std::shared_ptr<AsyncCall> &op, const std::function<void()> &step) {
    try {
      step();
    } catch (...) {
      complete_error(op, std::current_exception());
    }
  }

  // Sends rq for a call; on_answer runs on the HTTP thread (guarded). A request the
  // agent did not take is sent again after a pause until the deadline, as call() does
  // for the blocking forms.
  void send(const std::shared_ptr<AsyncCall> &op, Request rq, Clock::time_point deadline,
            std::function<void(Response &&)> on_answer) {
    if (stats()) ++stats()->requests;
    Request copy = rq;
    std::uint64_t id = http_.submit(std::move(rq), [this, op, copy, deadline,
                                                    on_answer](Response &&r) mutable {
      const int pause_ms = 50;
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
              .count();
      if (copy.wait_for_agent && not_taken(r) && !closed_ && left > pause_ms) {
        copy.timeout_ms = static_cast<int>(left - pause_ms);
        std::uint64_t timer =
            http_.after(pause_ms, [this, op, copy, deadline, on_answer] {
              send(op, copy, deadline, on_answer);
            });
        if (timer != 0) return;
      }
      guarded(op, [&] { on_answer(std::move(r)); });
    });
    if (id == 0) {  // the client is closing
      Response aborted;
      aborted.aborted = true;
      guarded(op, [&] { on_answer(std::move(aborted)); });
    }
  }

  // The next attempt of a write after a pause (ETIMEOUT past the deadline).
  void retry_later(const std::shared_ptr<AsyncCall> &op, int &attempt,
                   Clock::time_point deadline, const std::string &what,
                   std::function<void()> next) {
    auto ms = pause_length(attempt++, deadline, what);
    std::uint64_t timer = http_.after(static_cast<int>(ms.count()),
                                      [this, op, next] { guarded(op, next); });
    if (timer == 0) throw Error(Err::eclosed, "client is closed");
  }

  // A single-key write in flight.
  struct Write {
    Write(const std::string &p, std::string w, Clock::time_point d)
        : path(p), key(node_key(p)), what(std::move(w)), deadline(d) {}
    const std::string path, key, what;
    const Clock::time_point deadline;
    std::string value;
    std::int64_t expected = 0;
    int attempt = 0;
  };
  using WritePtr = std::shared_ptr<Write>;

  // Reads the node for a write, then continues with what it found.
  void read_then(const std::shared_ptr<AsyncCall> &op, const WritePtr &w,
                 std::function<void(Entry)> next) {
    send(op, kv_read(w->key, "", left_ms(w->deadline, w->what)), w->deadline,
         [this, w, next](Response &&r) {
           Entry e = parse_key_read(r, w->what, closed_);
           seen_.remember(w->key, e);
           next(std::move(e));
         });
  }

  // set: from the guess (one txn when current) or a read, as set() does.
  void set_step(const AsyncPtr<std::int64_t> &op, const WritePtr &w,
                std::optional<Entry> guess) {
    guarded(op, [&] {
      if (!guess) {
        read_then(op, w,
                  [this, op, w](Entry e) { set_write(op, w, std::move(e), false); });
        return;
      }
      set_write(op, w, std::move(*guess), true);
    });
  }
  void set_write(const AsyncPtr<std::int64_t> &op, const WritePtr &w, Entry e,
                 bool guessed) {
    json ops = json::array();
    const bool check_parent = !e.present && needs_parent(w->path);
    if (check_parent) ops.push_back(op_check_persistent(node_key(parent_path(w->path))));
    const std::int64_t version = e.present ? e.version + 1 : 1;
    ops.push_back(op_cas(w->key, w->value, version, e.present ? e.modify_index : 0));
    send(op, txn_request(ops, left_ms(w->deadline, w->what)), w->deadline,
         [this, op, w, ops, version, check_parent, guessed](Response &&r) {
           TxnAnswer t = txn_answer(r, ops, w->what, std::string(), false);
           if (t.ok) return complete(op, version);
           if (check_parent && t.failed == 0) parent_failed(t, w->path);
           // Changed since the read (or the guess): read it again.
           if (guessed) return set_step(op, w, std::nullopt);
           retry_later(op, w->attempt, w->deadline, w->what,
                       [this, op, w] { set_step(op, w, std::nullopt); });
         });
  }

  // cas(0): one txn; a refusal is reported with the version found by a read.
  void cas_absent(const AsyncPtr<std::int64_t> &op, const WritePtr &w) {
    guarded(op, [&] {
      json ops = json::array();
      const bool check_parent = needs_parent(w->path);
      if (check_parent)
        ops.push_back(op_check_persistent(node_key(parent_path(w->path))));
      ops.push_back(op_cas(w->key, w->value, 1, 0));
      send(op, txn_request(ops, left_ms(w->deadline, w->what)), w->deadline,
           [this, op, w, ops, check_parent](Response &&r) {
             TxnAnswer t = txn_answer(r, ops, w->what, std::string(), false);
             if (t.ok) return complete(op, std::int64_t{1});
             if (check_parent && t.failed == 0) parent_failed(t, w->path);
             const std::string store_words = words(t);
             auto report = [this, op, w, store_words](std::int64_t found) {
               complete_error(op, std::make_exception_ptr(verdicts_.cas_mismatch(
                                      w->path, 0, found, store_words)));
             };
             send(op, kv_read(w->key, "", std::max(1, remaining_ms(w->deadline))),
                  w->deadline, [this, w, report](Response &&r2) {
                    std::int64_t found = kVersionUnknown;
                    try {
                      Entry e = parse_key_read(r2, w->what, closed_);
                      found = e.present ? e.version : 0;
                    } catch (const Error &) {
                    }
                    report(found);
                  });
           });
    });
  }

  // cas(v > 0): from the guess at v or a read, as cas() does.
  void cas_step(const AsyncPtr<std::int64_t> &op, const WritePtr &w,
                std::optional<Entry> guess) {
    guarded(op, [&] {
      if (!guess) {
        read_then(op, w,
                  [this, op, w](Entry e) { cas_write(op, w, std::move(e), false); });
        return;
      }
      cas_write(op, w, std::move(*guess), true);
    });
  }
  void cas_write(const AsyncPtr<std::int64_t> &op, const WritePtr &w, Entry e,
                 bool guessed) {
    std::int64_t found = e.present ? e.version : 0;
    if (found != w->expected) throw verdicts_.cas_mismatch(w->path, w->expected, found);
    const json ops =
        json::array({op_cas(w->key, w->value, w->expected + 1, e.modify_index)});
    send(op, txn_request(ops, left_ms(w->deadline, w->what)), w->deadline,
         [this, op, w, ops, guessed](Response &&r) {
           TxnAnswer t = txn_answer(r, ops, w->what, std::string(), false);
           if (t.ok) return complete(op, w->expected + 1);
           if (guessed) return cas_step(op, w, std::nullopt);
           retry_later(op, w->attempt, w->deadline, w->what,
                       [this, op, w] { cas_step(op, w, std::nullopt); });
         });
  }

  // erase(v > 0): from the guess at v or a read, as erase() does.
  void erase_step(const AsyncPtr<bool> &op, const WritePtr &w,
                  std::optional<Entry> guess) {
    guarded(op, [&] {
      if (!guess) {
        read_then(op, w,
                  [this, op, w](Entry e) { erase_write(op, w, std::move(e), false); });
        return;
      }
      erase_write(op, w, std::move(*guess), true);
    });
  }
  void erase_write(const AsyncPtr<bool> &op, const WritePtr &w, Entry e, bool guessed) {
    if (!e.present) throw verdicts_.no_node("erase", w->path);
    if (e.version != w->expected)
      throw verdicts_.erase_mismatch(w->path, w->expected, e.version);
    const json ops = json::array(
        {op_delete_cas(w->key, e.modify_index), kv_op("delete-tree", w->key + "/")});
    send(op, txn_request(ops, left_ms(w->deadline, w->what)), w->deadline,
         [this, op, w, ops, guessed](Response &&r) {
           TxnAnswer t = txn_answer(r, ops, w->what, std::string(), false);
           if (t.ok) return complete(op, true);
           if (guessed) return erase_step(op, w, std::nullopt);
           retry_later(op, w->attempt, w->deadline, w->what,
                       [this, op, w] { erase_step(op, w, std::nullopt); });
         });
  }

  int remaining_ms(Clock::time_point deadline) const {
    return static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
            .count());
  }

  // close(): every call still registered (its timer or request dropped by the stopped
  // HTTP thread) completes with ECLOSED.
  void complete_abandoned() {
    std::map<std::uint64_t, std::shared_ptr<AsyncCall>> left;
    {
      std::lock_guard<std::mutex> lock(async_mutex_);
      left.swap(async_calls_);
    }
    for (auto &entry : left)
      entry.second->fail(
          std::make_exception_ptr(Error(Err::eclosed, "client is closed")));
  }

  std::mutex async_mutex_;
  std::uint64_t async_next_ = 0;
  std::map<std::uint64_t, std::shared_ptr<AsyncCall>> async_calls_;

 public:
  void close() override {
    if (closed_.exchange(true)) return;
    http_.set_cut(false);  // closing ends the session at once, even when cut
    // Changes made before the close reach the watches before their ENDED.
    hub_.flush(std::min(options_.operation_timeout_ms, 2000));
    hub_.stop();
    session_.close();  // destroys the session: our ephemerals vanish now
    http_.stop();
    complete_abandoned();
  }

  // Test kit: the transport refuses to send; a renewal right away notices it (a
  // failed renewal: SUSPENDED) or, when the cut is lifted, that all is well again.
  void testkit_cut(bool cut) override {
    if (closed_) fail(Err::eclosed, "client is closed");
    http_.set_cut(cut);
    session_.check_now();
  }
  void testkit_expire() override {
    if (closed_) fail(Err::eclosed, "client is closed");
    session_.testkit_expire();
  }

 private:
  using Deadline = Clock::time_point;

  Deadline new_deadline() const {
    return Clock::now() + std::chrono::milliseconds(options_.operation_timeout_ms);
  }

  int left_ms(Deadline deadline, const std::string &what) const {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw Error(Err::etimeout, "consul: cannot " + what + ": no answer within " +
                                     std::to_string(options_.operation_timeout_ms) +
                                     " ms (operation_timeout_ms)");
    return static_cast<int>(left.count());
  }

  std::string show(const std::string &path) const { return verdicts_.key(path); }

  // Keys directly under the client's root need no parent.
  bool needs_parent(const std::string &path) const {
    std::string parent = parent_path(path);
    return !(parent == root_ || parent == "/");
  }

  Entry read_raw(const std::string &key, Deadline deadline, const std::string &what) {
    // Pre-reads of writes: Consul's default mode (the leader answers); the txn's
    // guard rejects anything stale.
    Response r = http_.call(kv_read(key, "", left_ms(deadline, what)));
    Entry e = parse_key_read(r, what, closed_);
    seen_.remember(key, e);
    return e;
  }
  Entry read_node(const std::string &path, Deadline deadline, const std::string &what) {
    return read_raw(node_key(path), deadline, what);
  }

  std::int64_t counter_value(const Entry &c, const std::string &what) {
    if (!c.present) return 0;
    std::int64_t v = 0;
    if (c.value.empty() || c.value.size() > 18) bad_counter(c, what);
    for (char ch : c.value) {
      if (ch < '0' || ch > '9') bad_counter(c, what);
      v = v * 10 + (ch - '0');
    }
    return v;
  }
  [[noreturn]] void bad_counter(const Entry &c, const std::string &what) {
    throw Error(Err::eservice, "consul: cannot " + what + ": the sequential counter '" +
                                   c.key + "' does not hold a number");
  }

  // For messages only: the node's version now ("another version" if unreadable).
  // The version now there (0: absent), for a message; kVersionUnknown if unreadable.
  std::int64_t found_version(const std::string &path, Deadline deadline) {
    try {
      Entry e = read_node(path, deadline, "read '" + show(path) + "'");
      return e.present ? e.version : 0;
    } catch (const Error &) {
      return kVersionUnknown;
    }
  }

  // One /v1/txn. A 409 is an answer (the first failing op); anything but 200/409
  // throws: a write whose outcome is unknown (timeout, connection lost, leadership
  // change) is reported, never retried.
  TxnAnswer txn(const json &ops, Deadline deadline, const std::string &what,
                const std::string &session = std::string(), bool read_only = false) {
    Response r = http_.call(txn_request(ops, left_ms(deadline, what), read_only));
    TxnAnswer t = txn_answer(r, ops, what, session, read_only);
    if (t.ok && !read_only) settle_watches(ops, t.results);
    return t;
  }
  static Request txn_request(const json &ops, int timeout_ms, bool read_only = false) {
    Request rq;
    rq.method = "PUT";
    rq.target = read_only ? "/v1/txn?consistent" : "/v1/txn";
    rq.body = ops.dump();
    rq.timeout_ms = timeout_ms;
    return rq;
  }
  // The answer of a /v1/txn (see txn), without the wait for the client's watches.
  TxnAnswer txn_answer(const Response &r, const json &ops, const std::string &what,
                       const std::string &session, bool read_only) {
    if (r.curl == CURLE_OK && !r.aborted && (r.status == 200 || r.status == 409)) {
      TxnAnswer t = parse_txn_answer(r, ops.size(), what);
      if (t.ok) {
        if (!read_only) learn(ops, t.results);
        return t;
      }
      forget_failed(ops, t.failed);
      if (t.what.find("Permission denied") != std::string::npos ||
          t.what.find("ACL not found") != std::string::npos)
        throw Error(Err::eauth,
                    "consul: cannot " + what + ": the ACL token may not" + words(t));
      if (!session.empty() && t.what.find("invalid session") != std::string::npos) {
        if (closed_) throw Error(Err::eclosed, "client is closed");
        session_.invalidated(session,
                             "consul: session " + session + " expired (" + t.what + ")");
        throw Error(Err::esession,
                    "consul: cannot " + what +
                        ": the session expired; a new one is being created" + words(t));
      }
      return t;
    }
    if (r.status == 413)
      throw Error(Err::etoobig, "consul: cannot " + what +
                                    ": the agent refused the transaction as too large "
                                    "(limits.txn_max_req_len)" +
                                    consul_words(r));
    fail_response(r, what, closed_);
  }

  void learn(const json &ops, const json &results) {
    try {
      seen_.learn(ops, results);
    } catch (const std::exception &) {
      // Not our shape: the write stands; later writes read first.
      seen_.forget_below("offkv/n");
    }
  }
  // The op that refused held a stale guess (or the store moved on): not a guess any
  // more.
  void forget_failed(const json &ops, std::size_t failed) {
    try {
      seen_.forget(ops.at(failed).at("KV").at("Key").get<std::string>());
    } catch (const std::exception &) {
    }
  }

  // After a write: this client's watches see it before the caller writes again.
  void settle_watches(const json &ops, const json &results) {
    std::vector<std::string> keys;
    bool indexed = false;  // set, cas and lock return the entry at the txn's index
    try {
      for (const auto &op : ops) {
        const json &kv = op.at("KV");
        std::string verb = kv.at("Verb").get<std::string>();
        bool writes_value = verb == "set" || verb == "cas" || verb == "lock";
        indexed = indexed || writes_value;
        if (writes_value || verb.compare(0, 6, "delete") == 0)
          keys.push_back(kv.at("Key").get<std::string>());
      }
      std::uint64_t index = 0;
      if (indexed)
        for (const auto &result : results)
          if (result.contains("KV"))
            index = std::max(index, result["KV"].value("ModifyIndex", std::uint64_t{0}));
      hub_.settle(index, keys, std::min(options_.operation_timeout_ms, kSettleMs));
    } catch (const std::exception &) {
      // Not our shape: the write stands; only its watch events may be folded.
    }
  }

  static std::string words(const TxnAnswer &t) {
    return t.what.empty() ? std::string() : " [consul: " + t.what + "]";
  }

  // The parent guard failed: Consul's words say whether the parent is there.
  [[noreturn]] void parent_failed(const TxnAnswer &t, const std::string &path) {
    if (t.what.find("failed session check") != std::string::npos)
      throw verdicts_.ephemeral_parent(path, words(t));
    throw verdicts_.no_parent(path, words(t));
  }

  [[noreturn]] void unexpected(const TxnAnswer &t, const std::string &what) {
    throw Error(Err::eservice,
                "consul: cannot " + what + ": unexpected refusal" + words(t));
  }

  // Before the next optimistic attempt: a random pause growing to kMaxPauseMs;
  // ETIMEOUT once the deadline would pass (nothing was written).
  void pause(int attempt, Deadline deadline, const std::string &what) {
    std::this_thread::sleep_for(pause_length(attempt, deadline, what));
  }
  // The pause before the next attempt; ETIMEOUT if it would pass the deadline.
  std::chrono::milliseconds pause_length(int attempt, Deadline deadline,
                                         const std::string &what) {
    count_retry();
    thread_local std::minstd_rand rng(std::random_device{}());
    int cap = std::min(kMaxPauseMs, 1 << std::min(attempt, 6));
    auto ms = std::chrono::milliseconds(
        1 + static_cast<int>(rng() % static_cast<unsigned>(cap)));
    if (Clock::now() + ms >= deadline)
      throw Error(Err::etimeout, "consul: cannot " + what +
                                     ": the data kept changing for " +
                                     std::to_string(options_.operation_timeout_ms) +
                                     " ms (operation_timeout_ms); nothing was written");
    return ms;
  }

  // Writes of one key from this client's threads go one at a time (they would only
  // make each other's compare-and-set fail).
  std::unique_lock<std::mutex> stripe(const std::string &key) {
    return std::unique_lock<std::mutex>(
        stripes_[std::hash<std::string>{}(key) % kStripes]);
  }

  const std::string prefix_;
  const Verdicts verdicts_{prefix_};
  const std::string root_;
  const Options options_;
  const std::string consistency_;
  std::atomic<bool> closed_{false};
  std::array<std::mutex, kStripes> stripes_;
  SeenEntries seen_;
  Http http_;  // declared first among the parts: the others use it
  Session session_;
  WatchHub hub_;
};

// ---- Transactions ----
//
// 1. Pre-read (one round, requests in parallel) every key the transaction depends on:
//    checked keys, op keys, parents of creates and sets, counters of sequential
//    creates.
// 2. Evaluate the whole transaction locally on that snapshot, exactly as mem:// does
//    (earlier ops are seen by later ones), giving the first failing item or the list
//    of writes.
// 3. One /v1/txn: a guard per pre-read key (check-index / check-not-exists; counters
//    are compare-and-set), then the writes. A failing guard means the snapshot went
//    stale: nothing was written, read again. When step 2 found a failure, the guards
//    alone are sent: if they pass, the snapshot was one consistent state and the
//    failing index is exact.
// A transaction planned on a snapshot of every key it touches: each step is judged by
// the core on the snapshot as earlier steps left it (an overlay), and turns into
// Consul txn ops. The snapshot's keys are then guarded in the same txn, so a plan made
// on a stale snapshot fails its guards and is made again.
class ConsulBackend::TxnPlanner {
 public:
  TxnPlanner(ConsulBackend &backend, const std::map<std::string, Entry> &snapshot,
             std::string sid, const std::string &what)
      : b_(backend), sid_(std::move(sid)), what_(what) {
    for (const auto &entry : snapshot) {
      overlay_[entry.first] = {entry.second.present, entry.second.version,
                               !entry.second.session.empty(), true};
      if (entry.first.compare(0, 7, "offkv/s") == 0)
        counters_[entry.first] = b_.counter_value(entry.second, what);
    }
  }

  // Judges and translates every check and op, up to the first failure.
  void plan(const Txn &txn) {
    const std::size_t nchecks = txn.checks.size();
    results_.resize(txn.ops.size());
    for (std::size_t i = 0; i < nchecks && !failed(); ++i)
      refused(i, b_.verdicts_.judge_check(txn.checks[i], facts(txn.checks[i].path)));
    for (std::size_t j = 0; j < txn.ops.size() && !failed(); ++j) {
      const TxnOp &op = txn.ops[j];
      OpResult &out = results_[j];
      out.path = op.path;
      switch (op.kind) {
        case TxnOpKind::Create:
          create(nchecks + j, op, out);
          break;
        case TxnOpKind::Set:
          set(nchecks + j, op, out);
          break;
        case TxnOpKind::Erase:
          erase(nchecks + j, op, out);
          break;
        case TxnOpKind::Check:
          Verdicts::check_among_ops();
      }
    }
  }

  // The guards of the snapshot, in key order: each key as read (a counter this plan
  // advances is written with its own guard instead).
  json guards(const std::vector<std::string> &keys,
              const std::map<std::string, Entry> &snapshot) const {
    json ops = json::array();
    for (const auto &k : keys) {
      const Entry &e = snapshot.at(k);
      auto c = counters_.find(k);
      if (!failed() && c != counters_.end() && c->second != b_.counter_value(e, what_))
        ops.push_back(
            op_cas(k, std::to_string(c->second), 0, e.present ? e.modify_index : 0));
      else
        ops.push_back(op_guard(e, k));
    }
    return ops;
  }

  bool failed() const { return failure_.has_value(); }
  const std::optional<TxnFailed> &failure() const { return failure_; }
  json &writes() { return writes_; }
  const std::vector<OpResult> &results() const { return results_; }
  // A create whose key was never read is guarded by a check-not-exists write: if
  // Consul refuses the write at `at`, that create failed with EEXIST.
  struct AbsentCheck {
    std::size_t at;     // index in writes()
    std::size_t index;  // the user's item
    std::string path;   // the key it guards
  };
  const std::vector<AbsentCheck> &absent_checks() const { return absent_checks_; }

 private:
  struct State {
    bool present = false;
    std::int64_t version = 0;
    bool ephemeral = false;
    bool known = true;  // false: a sequential key never read (guarded in the txn)
  };

  State lookup(const std::string &key) const {
    auto it = overlay_.find(key);
    if (it != overlay_.end()) return it->second;
    for (const auto &p : erased_)
      if (key.compare(0, p.size(), p) == 0) return State{};
    State unknown;
    unknown.known = false;
    return unknown;
  }
  NodeFacts facts(const std::string &path) const {
    State s = lookup(node_key(path));
    return {s.present, s.version, s.ephemeral};
  }
  bool refused(std::size_t index, const std::optional<Error> &verdict) {
    if (verdict) failure_.emplace(index, verdict->code(), verdict->what());
    return verdict.has_value();
  }
  bool parent_ok(std::size_t index, const std::string &path) {
    return !b_.needs_parent(path) ||
           !refused(index, b_.verdicts_.judge_parent(path, facts(parent_path(path))));
  }

  void create(std::size_t index, const TxnOp &op, OpResult &out) {
    if (!parent_ok(index, op.path)) return;
    std::string actual = op.path;
    if (op.flags & NodeFlag::sequential)
      actual = sequential_path(op.path, counters_[counter_key(parent_path(op.path))]++);
    const std::string key = node_key(actual);
    State s = lookup(key);
    if (s.present) {
      refused(index, b_.verdicts_.exists(actual));
      return;
    }
    if (!s.known) {
      absent_checks_.push_back({writes_.size(), index, actual});
      writes_.push_back(op_check_absent(key));
    }
    bool eph = (op.flags & NodeFlag::ephemeral) != 0;
    writes_.push_back(eph ? op_lock(key, op.value, 1, sid_) : op_set(key, op.value, 1));
    overlay_[key] = {true, 1, eph, true};
    out.path = actual;
    out.version = 1;
  }

  void set(std::size_t index, const TxnOp &op, OpResult &out) {
    const std::string key = node_key(op.path);
    State s = lookup(key);
    if (s.present) {
      writes_.push_back(op_set(key, op.value, s.version + 1));  // keeps the session
      overlay_[key] = {true, s.version + 1, s.ephemeral, true};
      out.version = s.version + 1;
      return;
    }
    if (!parent_ok(index, op.path)) return;
    writes_.push_back(op_set(key, op.value, 1));
    overlay_[key] = {true, 1, false, true};
    out.version = 1;
  }

  void erase(std::size_t index, const TxnOp &op, OpResult &out) {
    if (refused(index, b_.verdicts_.judge_erase(op.path, op.version, facts(op.path))))
      return;
    const std::string key = node_key(op.path);
    const std::string below = key + "/";
    writes_.push_back(kv_op("delete", key));
    writes_.push_back(kv_op("delete-tree", below));
    overlay_[key] = State{};
    for (auto &entry : overlay_)
      if (entry.first.compare(0, below.size(), below) == 0) entry.second = State{};
    erased_.push_back(below);
    out.version = 0;
  }

  ConsulBackend &b_;
  const std::string sid_;
  const std::string &what_;
  std::map<std::string, State> overlay_;
  std::vector<std::string> erased_;               // children prefixes erased so far
  std::map<std::string, std::int64_t> counters_;  // counter key -> next number
  json writes_ = json::array();
  std::vector<AbsentCheck> absent_checks_;
  std::vector<OpResult> results_;
  std::optional<TxnFailed> failure_;
};

// The keys a transaction pre-reads, in a fixed order: its nodes, the parents of what
// it may create, and the counters of its sequential creates.
std::vector<std::string> ConsulBackend::txn_keys(const Txn &txn) const {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  auto want = [&](const std::string &k) {
    if (seen.insert(k).second) keys.push_back(k);
  };
  for (const auto &c : txn.checks) want(node_key(c.path));
  for (const auto &op : txn.ops) {
    bool sequential = op.kind == TxnOpKind::Create && (op.flags & NodeFlag::sequential);
    if (!sequential) want(node_key(op.path));
    if ((op.kind == TxnOpKind::Create || op.kind == TxnOpKind::Set) &&
        needs_parent(op.path))
      want(node_key(parent_path(op.path)));
    if (sequential) want(counter_key(parent_path(op.path)));
  }
  return keys;
}

// This client's writes to the same keys go one at a time (taken in ascending stripe
// order, so two transactions never deadlock).
std::vector<std::unique_lock<std::mutex>> ConsulBackend::lock_stripes(
    const std::vector<std::string> &keys) {
  std::vector<std::size_t> stripes;
  for (const auto &k : keys) stripes.push_back(std::hash<std::string>{}(k) % kStripes);
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> serial;
  for (auto s : stripes) serial.emplace_back(stripes_[s]);
  return serial;
}

std::vector<OpResult> ConsulBackend::commit(const Txn &txn_in) {
  const std::string what = "commit a transaction";
  if (txn_in.checks.empty() && txn_in.ops.empty()) return {};
  auto deadline = new_deadline();
  bool ephemeral = false;
  for (const auto &op : txn_in.ops)
    if (op.kind == TxnOpKind::Create && (op.flags & NodeFlag::ephemeral))
      ephemeral = true;
  const std::vector<std::string> keys = txn_keys(txn_in);
  auto serial = lock_stripes(keys);

  for (int attempt = 0, round = 0;; ++round) {
    // 1. The snapshot: the first round takes each node key as this client last saw
    //    it (its guard checks that), the keys never seen are read, all at once.
    std::map<std::string, Entry> snapshot;
    bool guessed = false;
    std::vector<std::string> unread;
    for (const auto &k : keys) {
      std::optional<Entry> seen = round == 0 ? seen_.find(k) : std::nullopt;
      if (seen) {
        snapshot[k] = std::move(*seen);
        guessed = true;
      } else {
        unread.push_back(k);
      }
    }
    std::vector<Request> reads;
    for (const auto &k : unread) reads.push_back(kv_read(k, "", left_ms(deadline, what)));
    std::vector<Response> answers = http_.call_all(std::move(reads));
    for (std::size_t i = 0; i < unread.size(); ++i) {
      Entry e = parse_key_read(answers[i], what, closed_);
      seen_.remember(unread[i], e);
      snapshot[unread[i]] = std::move(e);
    }
    // A stale snapshot is read again; after a guess that missed, without a pause.
    auto again = [&] {
      if (!guessed) pause(attempt++, deadline, what);
    };

    // 2. The plan on it, judged by the core.
    const std::string sid = ephemeral ? session_.id() : std::string();
    TxnPlanner planner(*this, snapshot, sid, what);
    planner.plan(txn_in);

    // 3. Guards (the snapshot), then the writes. A failure the plan found is only
    //    reported once the guards confirm the snapshot was one state.
    json ops = planner.guards(keys, snapshot);
    const std::size_t nguards = ops.size();
    if (planner.failed()) {
      TxnAnswer t = this->txn(ops, deadline, what, std::string(), true);
      if (t.ok) throw *planner.failure();
      again();  // the snapshot was not one state: read again
      continue;
    }
    for (auto &w : planner.writes()) ops.push_back(std::move(w));
    TxnAnswer t = this->txn(ops, deadline, what, sid);
    if (t.ok) return planner.results();
    if (t.failed < nguards) {  // stale snapshot
      again();
      continue;
    }
    for (const auto &m : planner.absent_checks())
      if (t.failed == nguards + m.at)
        throw TxnFailed(m.index, Err::eexist, verdicts_.exists(m.path, words(t)).what());
    unexpected(t, what);
  }
}

}  // namespace

std::unique_ptr<Backend> make_consul_backend(const Endpoint &endpoint,
                                             const Options &options) {
  return std::make_unique<ConsulBackend>(endpoint, options);
}

}  // namespace offkv
