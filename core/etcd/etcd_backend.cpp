#include "etcd_backend.hpp"

#include <array>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "../error.hpp"
#include "../key.hpp"
#include "../verdict.hpp"
#include "codes.hpp"
#include "etcd_conn.hpp"
#include "etcd_errors.hpp"
#include "etcd_keys.hpp"
#include "etcd_txn.hpp"
#include "etcd_watches.hpp"

namespace offkv {
namespace etcd {

KeyState state_of(const v3::RangeResponse &r) {
  KeyState s;
  if (r.kvs_size() == 0) return s;
  const auto &kv = r.kvs(0);
  s.exists = true;
  s.etcd_version = kv.version();
  s.lease = kv.lease();
  s.mod = kv.mod_revision();
  s.key = kv.key();
  s.value = kv.value();
  KeyInfo info = classify(kv.key());
  s.offset = info.offset;
  s.alt = info.alt;
  std::int64_t version = 0;
  if (info.kind == KeyKind::Node && !node_version(info, s.etcd_version, version))
    offkv::fail(Err::eservice, "etcd: the node '" + info.path +
                                   "' has a version out of offkv's range (etcd version " +
                                   std::to_string(s.etcd_version) +
                                   " in a slot that is not offkv's): foreign or "
                                   "damaged data, left as it is");
  return s;
}

CounterState counter_of(const KeyState &s) {
  CounterState c;
  if (!s.exists) return c;
  c.exists = true;
  c.mod = s.mod;
  // offkv writes the next number in decimal; anything else (a sign, text, a number
  // whose successor overflows) is foreign or damaged: refuse it rather than number
  // nodes from it.
  bool ok = !s.value.empty() && s.value.size() <= 18;
  for (char ch : s.value) ok = ok && ch >= '0' && ch <= '9';
  if (!ok)
    offkv::fail(Err::eservice, "etcd: a sequential counter holds '" +
                                   s.value.substr(0, 40) +
                                   "', not a number offkv wrote: foreign or damaged "
                                   "data, left as it is");
  c.next = std::strtoll(s.value.c_str(), nullptr, 10);
  return c;
}

const v3::ResponseOp &response_at(const v3::TxnResponse &r, int i,
                                  v3::ResponseOp::ResponseCase kind) {
  // One response per op of the branch that ran: fewer, or another kind, is not an
  // answer to what offkv sent (and protobuf does not check the index).
  if (i < 0 || i >= r.responses_size() || r.responses(i).response_case() != kind)
    offkv::fail(Err::eservice, "etcd: unexpected transaction answer (" +
                                   std::to_string(r.responses_size()) +
                                   " responses; response " + std::to_string(i) +
                                   " is missing or " + "not of the kind asked for)");
  return r.responses(i);
}

const v3::RangeResponse &range_at(const v3::TxnResponse &r, int i) {
  return response_at(r, i, v3::ResponseOp::kResponseRange).response_range();
}

Snapshot snapshot_of(const v3::TxnResponse &resp, const std::set<std::string> &paths,
                     const std::set<std::string> &counters) {
  Snapshot snap;
  int i = 0;
  for (const auto &p : paths) {
    KeyState s = state_of(range_at(resp, i++));
    snap.nodes[p] = NodeState{s.exists, s.version(), s.lease, s.key, s.etcd_version};
  }
  for (const auto &c : counters)
    snap.counters[c] = counter_of(state_of(range_at(resp, i++)));
  return snap;
}

std::vector<std::string> children_of(const v3::RangeResponse &resp,
                                     const std::string &path, std::int64_t &version,
                                     bool &found) {
  std::vector<std::string> out;
  for (const auto &kv : resp.kvs()) {
    KeyInfo info = classify(kv.key());
    // Only path's own slots and child entries: a key outside the range asked for is
    // not an answer about path (and its "path" may not even start with '/').
    if (info.kind == KeyKind::Node && info.path == path) {
      found = true;
      if (!node_version(info, kv.version(), version)) version = 0;
    }
    if (info.kind == KeyKind::Child && parent_path(info.path) == path &&
        info.path.size() > path.size() + (path == "/" ? 0 : 1))
      out.push_back(std::move(info.path));
  }
  return out;
}

}  // namespace etcd

namespace {

using namespace etcd;
using v3::Compare;

// A guarded Txn that lost a race is planned again, until the operation deadline.
// Past a few tries, a short random pause spreads contending clients apart.
bool again(int attempt, Clock::time_point deadline) {
  if (attempt == 0) return true;
  if (Clock::now() >= deadline) return false;
  if (attempt > 2) {
    thread_local std::minstd_rand rng(std::random_device{}());
    int cap = std::min(attempt * 2, 50);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (cap + 1)));
  }
  return Clock::now() < deadline;
}

void read_slots(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
                const std::string &path) {
  Range r = slot_range(path);
  auto *req = ops->Add()->mutable_request_range();
  req->set_key(r.key);
  req->set_range_end(r.end);
  req->set_keys_only(true);
}

void absent(v3::TxnRequest &t, const std::string &path) {
  Range r = slot_range(path);
  add_compare(t, r.key, Compare::VERSION, Compare::EQUAL, 0, r.end);
}

class EtcdBackend : public Backend {
 public:
  EtcdBackend(const Endpoint &endpoint, const Options &options)
      : prefix_(endpoint.prefix),
        root_(prefix_.empty() ? "/" : prefix_),
        conn_(endpoint, options),
        watches_(conn_, prefix_) {}

  ~EtcdBackend() override { close(); }

  void start(SessionListener listener) override {
    conn_.start([this, listener](int state, const std::string &message) {
      // The core ends every watch on LOST; stop their etcd watchers first.
      if (state == SessionState::lost) watches_.drop_all();
      listener(state, message);
    });
  }

  std::string create(const std::string &path, const std::string &value,
                     int flags) override {
    std::string what = "create '" + show(path) + "'";
    auto deadline = conn_.deadline();
    std::int64_t lease = (flags & NodeFlag::ephemeral) ? conn_.lease(what) : 0;
    bool sequential = flags & NodeFlag::sequential;
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    // This client's sequential creates under one parent take turns: they would only
    // make each other's counter compare fail.
    std::unique_lock<std::mutex> turn;
    if (sequential)
      turn = std::unique_lock<std::mutex>(
          sequence_locks_[std::hash<std::string>()(parent) % sequence_locks_.size()]);
    for (int attempt = 0; next_attempt(attempt, deadline); ++attempt) {
      CounterState counter = sequential ? cached_counter(parent) : CounterState{};
      std::string actual = sequential ? sequential_path(path, counter.next) : path;
      v3::TxnRequest t;
      absent(t, actual);
      if (check_parent) guard_parent(t, parent);
      if (sequential) guard_counter(t, parent, counter);
      add_put(t.mutable_success(), node_key(actual), value, lease);
      add_put(t.mutable_success(), child_key(actual), std::string(), lease);
      if (sequential)
        add_put(t.mutable_success(), counter_key(parent),
                std::to_string(counter.next + 1), 0);
      read_slots(t.mutable_failure(), actual);
      if (check_parent) read_slots(t.mutable_failure(), parent);
      if (sequential) add_read(t.mutable_failure(), counter_key(parent), false);
      auto resp = run(t, deadline, what);
      if (resp.succeeded()) {
        if (sequential)
          remember_counter(parent, {true, counter.next + 1, resp.header().revision()});
        wrote(resp, actual);
        return actual;
      }
      int i = 0;
      KeyState target = state_of(range_at(resp, i++));
      if (check_parent) parent_ok(state_of(range_at(resp, i++)), path);
      if (sequential) {
        CounterState now = counter_of(state_of(range_at(resp, i++)));
        remember_counter(parent, now);
        if (now.exists != counter.exists || now.mod != counter.mod) continue;
      }
      if (target.exists) throw verdicts_.exists(actual);
    }
    kept_changing(what);
  }

  std::int64_t set(const std::string &path, const std::string &value) override {
    std::string what = "set '" + show(path) + "'";
    auto deadline = conn_.deadline();
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    KeyState where;  // where the node was seen last; not seen: the usual slot
    for (int attempt = 0; next_attempt(attempt, deadline); ++attempt) {
      v3::TxnRequest t;
      if (where.exists && where.alt) {
        add_compare(t, where.key, Compare::VERSION, Compare::GREATER, 0);
        add_put(t.mutable_success(), where.key, value, 0, true, true);
        read_slots(t.mutable_failure(), path);
        auto resp = run(t, deadline, what);
        if (resp.succeeded()) {
          wrote(resp, path);
          return response_at(resp, 0, v3::ResponseOp::kResponsePut)
                     .response_put()
                     .prev_kv()
                     .version() +
                 1 + where.offset;
        }
        where = state_of(range_at(resp, 0));
        continue;
      }
      // Replace if present (keeping its lease); else, in the same round trip, create.
      add_compare(t, node_key(path), Compare::VERSION, Compare::GREATER, 0);
      add_put(t.mutable_success(), node_key(path), value, 0, true, true);
      auto &inner = *t.add_failure()->mutable_request_txn();
      absent(inner, path);
      if (check_parent) guard_parent(inner, parent);
      add_put(inner.mutable_success(), node_key(path), value, 0);
      add_put(inner.mutable_success(), child_key(path), std::string(), 0);
      read_slots(inner.mutable_failure(), path);
      if (check_parent) read_slots(inner.mutable_failure(), parent);
      auto resp = run(t, deadline, what);
      if (resp.succeeded()) {
        wrote(resp, path);
        return response_at(resp, 0, v3::ResponseOp::kResponsePut)
                   .response_put()
                   .prev_kv()
                   .version() +
               1;
      }
      const auto &created =
          response_at(resp, 0, v3::ResponseOp::kResponseTxn).response_txn();
      if (created.succeeded()) {
        wrote(resp, path);
        return 1;
      }
      where = state_of(range_at(created, 0));
      if (!where.exists && check_parent) parent_ok(state_of(range_at(created, 1)), path);
      // Created by someone else in between, or in another slot: replace it.
    }
    kept_changing(what);
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected) override {
    std::string what = "cas on '" + show(path) + "'";
    auto deadline = conn_.deadline();
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    KeyState where;
    for (int attempt = 0; next_attempt(attempt, deadline); ++attempt) {
      v3::TxnRequest t;
      if (expected == 0) {
        absent(t, path);
        if (check_parent) guard_parent(t, parent);
        add_put(t.mutable_success(), node_key(path), value, 0);
        add_put(t.mutable_success(), child_key(path), std::string(), 0);
      } else {
        std::string key = where.alt ? where.key : node_key(path);
        std::int64_t etcd_version = expected - (where.alt ? where.offset : 0);
        if (etcd_version < 1)
          throw verdicts_.cas_mismatch(path, expected, where.version());
        add_compare(t, key, Compare::VERSION, Compare::EQUAL, etcd_version);
        add_put(t.mutable_success(), key, value, 0, true);
      }
      read_slots(t.mutable_failure(), path);
      if (expected == 0 && check_parent) read_slots(t.mutable_failure(), parent);
      auto resp = run(t, deadline, what);
      if (resp.succeeded()) {
        wrote(resp, path);
        return expected + 1;
      }
      KeyState s = state_of(range_at(resp, 0));
      if (expected == 0) {
        if (s.exists) throw verdicts_.cas_mismatch(path, 0, s.version());
        if (check_parent) parent_ok(state_of(range_at(resp, 1)), path);
        continue;
      }
      std::int64_t found = s.exists ? s.version() : 0;
      if (found != expected) throw verdicts_.cas_mismatch(path, expected, found);
      where = s;  // right version, another slot
    }
    kept_changing(what);
  }

  Node get(const std::string &path, const WatchPtr &watch) override {
    std::string what = "get '" + show(path) + "'";
    auto deadline = conn_.deadline();
    auto resp = read_node(path, false, deadline, what);
    KeyState s = state_of(resp);
    if (!s.exists) throw verdicts_.no_node("get", path);
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {s.version(), 0});
    return Node{s.value, s.version()};
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    std::string what = "check '" + show(path) + "'";
    auto deadline = conn_.deadline();
    auto resp = read_node(path, true, deadline, what);
    std::int64_t version = state_of(resp).version();
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {version, 0});
    return version;
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    std::string what = "list '" + show(path) + "'";
    Range r = children_range(path);
    v3::RangeRequest req;
    req.set_key(r.key);
    req.set_range_end(r.end);
    req.set_keys_only(true);
    auto deadline = conn_.deadline();
    auto resp = range(req, deadline, what);
    std::int64_t version = 0;  // the parent's (the root has no node)
    bool found = false;
    std::vector<std::string> out = children_of(resp, path, version, found);
    if (path == root_ || path == "/") found = true;
    if (!found) throw verdicts_.no_node("list", path);
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {version, out.size()});
    return out;
  }

  void erase(const std::string &path, std::int64_t expected) override {
    std::string what = "erase '" + show(path) + "'";
    auto deadline = conn_.deadline();
    KeyState where;
    for (int attempt = 0; next_attempt(attempt, deadline); ++attempt) {
      // The node and its whole subtree, atomically: one range delete.
      v3::TxnRequest t;
      std::string key = where.alt ? where.key : node_key(path);
      if (expected == 0)
        add_compare(t, key, Compare::VERSION, Compare::GREATER, 0);
      else
        add_compare(t, key, Compare::VERSION, Compare::EQUAL,
                    expected - (where.alt ? where.offset : 0));
      Range sub = subtree_range(path);
      add_delete(t.mutable_success(), sub.key, sub.end);
      add_delete(t.mutable_success(), child_key(path));
      read_slots(t.mutable_failure(), path);
      auto resp = run(t, deadline, what);
      if (resp.succeeded()) {
        wrote(resp, path, true);
        return;
      }
      KeyState s = state_of(range_at(resp, 0));
      if (auto failure = verdicts_.judge_erase(path, expected, {s.exists, s.version()}))
        throw *failure;
      where = s;
    }
    kept_changing(what);
  }

  std::vector<OpResult> commit(const Txn &txn) override {
    std::string what = "commit a transaction";
    auto deadline = conn_.deadline();
    std::int64_t lease = 0;
    std::set<std::string> paths, counters;
    for (const auto &c : txn.checks) paths.insert(c.path);
    for (const auto &op : txn.ops) {
      paths.insert(op.path);
      if (has_parent(op.path)) paths.insert(parent_path(op.path));
      if (op.kind == TxnOpKind::Create && (op.flags & NodeFlag::sequential))
        counters.insert(parent_path(op.path));
      if (op.kind == TxnOpKind::Create && (op.flags & NodeFlag::ephemeral) && lease == 0)
        lease = conn_.lease(what);
    }
    Snapshot snap = read_snapshot(paths, counters, deadline, what);
    for (int attempt = 0; next_attempt(attempt, deadline); ++attempt) {
      Plan plan = plan_txn(txn, snap, root_, prefix_, lease);
      paths.insert(plan.nodes.begin(), plan.nodes.end());
      counters.insert(plan.counters.begin(), plan.counters.end());
      if (plan.failed) {
        // Exact only if everything it looked at was read: else read and plan again.
        if (plan.guessed.empty()) throw TxnFailed(plan.index, plan.code, plan.message);
        snap = read_snapshot(paths, counters, deadline, what);
        continue;
      }
      auto &t = plan.request;
      for (const auto &p : paths) read_slots(t.mutable_failure(), p);
      for (const auto &c : counters) add_read(t.mutable_failure(), counter_key(c), false);
      auto resp = run(t, deadline, what);
      if (resp.succeeded()) {
        std::vector<Range> ranges;
        for (std::size_t i = 0; i < txn.ops.size(); ++i) {
          const std::string &p = plan.results[i].path;
          bool erase = txn.ops[i].kind == TxnOpKind::Erase;
          ranges.push_back(erase ? subtree_range(p) : slot_range(p));
          ranges.push_back({child_key(p), ""});
        }
        if (!ranges.empty()) watches_.wrote(resp.header().revision(), std::move(ranges));
        return plan.results;
      }
      snap = snapshot_of(resp, paths, counters);
    }
    kept_changing(what);
  }

  void watch_persistent(const std::string &path, const WatchPtr &watch) override {
    watches_.add(watch, path, 0, true, conn_.deadline());
  }

  void unwatch(const WatchPtr &watch) override { watches_.remove(watch); }

  void close() override {
    try {
      conn_.testkit_cut(false);  // closing ends the session at once, even when cut
    } catch (const Error &) {
    }
    watches_.close();
    conn_.close();
  }

  void testkit_cut(bool cut) override { conn_.testkit_cut(cut); }
  void testkit_expire() override { conn_.testkit_expire(); }

 private:
  std::string show(const std::string &path) const { return verdicts_.key(path); }

  bool has_parent(const std::string &path) const {
    std::string parent = parent_path(path);
    return parent != root_ && parent != "/";
  }

  // Tells the watches what this client changed (see Watches::wrote).
  void wrote(const v3::TxnResponse &resp, const std::string &path, bool subtree = false) {
    watches_.wrote(
        resp.header().revision(),
        {subtree ? subtree_range(path) : slot_range(path), {child_key(path), ""}});
  }

  // again(), counting each attempt after the first as a retry.
  bool next_attempt(int attempt, Clock::time_point deadline) {
    if (attempt > 0) count_retry();
    return again(attempt, deadline);
  }

  [[noreturn]] void kept_changing(const std::string &what) {
    fail(Err::etimeout, "etcd: cannot " + what +
                            ": the nodes it depends on kept changing until the operation "
                            "timeout (" +
                            std::to_string(conn_.operation_timeout_ms()) + " ms)");
  }

  // The parent exists and is not ephemeral: checked inside the same Txn as the write.
  static void guard_parent(v3::TxnRequest &t, const std::string &parent) {
    Range r = slot_range(parent);
    add_compare(t, r.key, Compare::VERSION, Compare::GREATER, 0, r.end);
    add_compare(t, r.key, Compare::LEASE, Compare::EQUAL, 0, r.end);
  }

  static void guard_counter(v3::TxnRequest &t, const std::string &parent,
                            const CounterState &c) {
    if (c.exists)
      add_compare(t, counter_key(parent), Compare::MOD, Compare::EQUAL, c.mod);
    else
      add_compare(t, counter_key(parent), Compare::VERSION, Compare::EQUAL, 0);
  }

  void parent_ok(const KeyState &p, const std::string &path) {
    if (auto failure = verdicts_.judge_parent(path, {p.exists, 0, p.lease != 0}))
      throw *failure;
  }

  CounterState cached_counter(const std::string &parent) {
    std::lock_guard<std::mutex> lock(counters_mutex_);
    auto it = counters_.find(parent);
    return it == counters_.end() ? CounterState{} : it->second;
  }

  void remember_counter(const std::string &parent, const CounterState &c) {
    std::lock_guard<std::mutex> lock(counters_mutex_);
    if (counters_.size() > 10000) counters_.clear();  // a cache, not a registry
    counters_[parent] = c;
  }

  v3::TxnResponse run(const v3::TxnRequest &req, Clock::time_point deadline,
                      const std::string &what, bool read_only = false) {
    v3::TxnResponse resp;
    grpc::Status st = conn_.unary(
        [&](grpc::ClientContext &ctx) {
          resp.Clear();
          return conn_.kv().Txn(&ctx, req, &resp);
        },
        deadline, read_only);
    if (!st.ok()) conn_.fail(st, what);
    return resp;
  }

  v3::RangeResponse range(v3::RangeRequest &req, Clock::time_point deadline,
                          const std::string &what) {
    req.set_serializable(conn_.serializable_reads());
    v3::RangeResponse resp;
    grpc::Status st = conn_.unary(
        [&](grpc::ClientContext &ctx) {
          resp.Clear();
          return conn_.kv().Range(&ctx, req, &resp);
        },
        deadline, true);
    if (!st.ok()) conn_.fail(st, what);
    return resp;
  }

  v3::RangeResponse read_node(const std::string &path, bool keys_only,
                              Clock::time_point deadline, const std::string &what) {
    Range r = slot_range(path);
    v3::RangeRequest req;
    req.set_key(r.key);
    req.set_range_end(r.end);
    req.set_keys_only(keys_only);
    return range(req, deadline, what);
  }

  // Every node and counter in one read-only Txn: one revision.
  Snapshot read_snapshot(const std::set<std::string> &paths,
                         const std::set<std::string> &counters,
                         Clock::time_point deadline, const std::string &what) {
    v3::TxnRequest t;
    for (const auto &p : paths) read_slots(t.mutable_success(), p);
    for (const auto &c : counters) add_read(t.mutable_success(), counter_key(c), false);
    return snapshot_of(run(t, deadline, what, true), paths, counters);
  }

  const std::string prefix_;
  const Verdicts verdicts_{prefix_};
  const std::string root_;
  Conn conn_;
  Watches watches_;
  std::array<std::mutex, 16> sequence_locks_;
  std::mutex counters_mutex_;
  std::unordered_map<std::string, CounterState> counters_;  // sequential counters seen
};

}  // namespace

std::unique_ptr<Backend> make_etcd_backend(const Endpoint &endpoint,
                                           const Options &options) {
  return std::make_unique<EtcdBackend>(endpoint, options);
}

}  // namespace offkv
