#include "etcd_backend.hpp"

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <exception>
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

// What an answer means for the operation: finished (result set), planned again after
// a lost race (a retry), or its next planned request (set: create after "absent").
enum class Step { finished, retry, next };

// One write as a sequence of attempts, shared by the blocking and the asynchronous
// forms: build() makes this attempt's Txn, answer() reads its response and throws the
// verdict.
template <typename T>
struct WriteOp {
  std::string what;
  std::function<void(v3::TxnRequest &)> build;
  std::function<Step(const v3::TxnResponse &, T &)> answer;
};

// One asynchronous call in flight: its request and response, the context of the
// current attempt, and how it ends.
template <typename T, typename Request, typename Response>
struct Pending {
  std::string what;
  Completion<T> done;
  Clock::time_point deadline;
  bool idempotent = false;  // a read: sent again on UNAVAILABLE, as the blocking form
  bool reauthenticated = false;
  int attempt = 0;
  Request request;
  Response response;
  std::shared_ptr<grpc::ClientContext> ctx;
  std::function<void(Request &)> build;  // each attempt's request
  std::function<Step(const Response &, T &)> answer;
};

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
    auto op = create_op(path, value, flags);
    // This client's sequential creates under one parent take turns: they would only
    // make each other's counter compare fail.
    std::unique_lock<std::mutex> turn;
    if (flags & NodeFlag::sequential)
      turn = std::unique_lock<std::mutex>(sequence_lock(parent_path(path)));
    return perform(*op);
  }

  std::int64_t set(const std::string &path, const std::string &value) override {
    return perform(*set_op(path, value));
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected) override {
    return perform(*cas_op(path, value, expected));
  }

  void erase(const std::string &path, std::int64_t expected) override {
    perform(*erase_op(path, expected));
  }

  Node get(const std::string &path, const WatchPtr &watch) override {
    std::string what = "get '" + show(path) + "'";
    auto deadline = conn_.deadline();
    auto resp = range(node_read(path, false), deadline, what);
    Node node = node_of(path, resp);
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {node.version, 0});
    return node;
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    std::string what = "check '" + show(path) + "'";
    auto deadline = conn_.deadline();
    auto resp = range(node_read(path, true), deadline, what);
    std::int64_t version = state_of(resp).version();
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {version, 0});
    return version;
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    std::string what = "list '" + show(path) + "'";
    auto deadline = conn_.deadline();
    auto resp = range(children_read(path), deadline, what);
    std::int64_t version = 0;
    std::vector<std::string> out = children_answer(path, resp, version);
    if (watch)
      watches_.add(watch, path, revision_after(resp.header().revision()), true, deadline,
                   {version, out.size()});
    return out;
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

  // ---- Native asynchronous forms (gRPC's callback API: no thread per call) ----
  // Declined (false) where the blocking form has to wait: a watch to register (etcd's
  // `created` is awaited), sequential creates (this client's take turns), and while
  // the connection is cut by the test kit, closed, or in a forked child.

  bool start_create(const std::string &path, const std::string &value, int flags,
                    Completion<std::string> done) override {
    if (flags & NodeFlag::sequential) return false;
    return start_write<std::string>([&] { return create_op(path, value, flags); },
                                    std::move(done));
  }

  bool start_set(const std::string &path, const std::string &value,
                 Completion<std::int64_t> done) override {
    return start_write<std::int64_t>([&] { return set_op(path, value); },
                                     std::move(done));
  }

  bool start_cas(const std::string &path, const std::string &value, std::int64_t expected,
                 Completion<std::int64_t> done) override {
    return start_write<std::int64_t>([&] { return cas_op(path, value, expected); },
                                     std::move(done));
  }

  bool start_erase(const std::string &path, std::int64_t expected,
                   Completion<bool> done) override {
    return start_write<bool>([&] { return erase_op(path, expected); }, std::move(done));
  }

  bool start_get(const std::string &path, const WatchPtr &watch,
                 Completion<Node> done) override {
    if (watch) return false;
    return start_read<Node>(
        "get '" + show(path) + "'", node_read(path, false),
        [this, path](const v3::RangeResponse &r, Node &out) {
          out = node_of(path, r);
          return Step::finished;
        },
        std::move(done));
  }

  bool start_exists(const std::string &path, const WatchPtr &watch,
                    Completion<std::int64_t> done) override {
    if (watch) return false;
    return start_read<std::int64_t>(
        "check '" + show(path) + "'", node_read(path, true),
        [](const v3::RangeResponse &r, std::int64_t &out) {
          out = state_of(r).version();
          return Step::finished;
        },
        std::move(done));
  }

  bool start_children(const std::string &path, const WatchPtr &watch,
                      Completion<std::vector<std::string>> done) override {
    if (watch) return false;
    return start_read<std::vector<std::string>>(
        "list '" + show(path) + "'", children_read(path),
        [this, path](const v3::RangeResponse &r, std::vector<std::string> &out) {
          std::int64_t version = 0;
          out = children_answer(path, r, version);
          return Step::finished;
        },
        std::move(done));
  }

  void close() override {
    try {
      conn_.testkit_cut(false);  // closing ends the session at once, even when cut
    } catch (const Error &) {
    }
    finish_async_calls();
    watches_.close();
    conn_.close();
  }

  void testkit_cut(bool cut) override { conn_.testkit_cut(cut); }
  void testkit_expire() override { conn_.testkit_expire(); }

 private:
  // ---- The operations, as attempts (WriteOp) or reads ----

  std::shared_ptr<WriteOp<std::string>> create_op(const std::string &path,
                                                  const std::string &value, int flags) {
    auto op = std::make_shared<WriteOp<std::string>>();
    op->what = "create '" + show(path) + "'";
    std::int64_t lease = (flags & NodeFlag::ephemeral) ? conn_.lease(op->what) : 0;
    bool sequential = flags & NodeFlag::sequential;
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    struct Attempt {
      CounterState counter;
      std::string actual;
    };
    auto now = std::make_shared<Attempt>();
    op->build = [=](v3::TxnRequest &t) {
      now->counter = sequential ? cached_counter(parent) : CounterState{};
      now->actual = sequential ? sequential_path(path, now->counter.next) : path;
      const std::string &actual = now->actual;
      absent(t, actual);
      if (check_parent) guard_parent(t, parent);
      if (sequential) guard_counter(t, parent, now->counter);
      add_put(t.mutable_success(), node_key(actual), value, lease);
      add_put(t.mutable_success(), child_key(actual), std::string(), lease);
      if (sequential)
        add_put(t.mutable_success(), counter_key(parent),
                std::to_string(now->counter.next + 1), 0);
      read_slots(t.mutable_failure(), actual);
      if (check_parent) read_slots(t.mutable_failure(), parent);
      if (sequential) add_read(t.mutable_failure(), counter_key(parent), false);
    };
    op->answer = [=](const v3::TxnResponse &resp, std::string &out) {
      const CounterState &counter = now->counter;
      if (resp.succeeded()) {
        if (sequential)
          remember_counter(parent, {true, counter.next + 1, resp.header().revision()});
        wrote(resp, now->actual);
        out = now->actual;
        return Step::finished;
      }
      int i = 0;
      KeyState target = state_of(range_at(resp, i++));
      if (check_parent) parent_ok(state_of(range_at(resp, i++)), path);
      if (sequential) {
        CounterState seen = counter_of(state_of(range_at(resp, i++)));
        remember_counter(parent, seen);
        if (seen.exists != counter.exists || seen.mod != counter.mod) return Step::retry;
      }
      if (target.exists) throw verdicts_.exists(now->actual);
      return Step::retry;
    };
    return op;
  }

  // The cheapest Txn first: replace the node where it is (one put, the value sent once,
  // the new version read back keys-only). Only when that finds no node does the next
  // attempt create it, with the parent checks; the failure branch already read what
  // that needs (the parent's slots), so a missing parent costs no extra round trip.
  std::shared_ptr<WriteOp<std::int64_t>> set_op(const std::string &path,
                                                const std::string &value) {
    auto op = std::make_shared<WriteOp<std::int64_t>>();
    op->what = "set '" + show(path) + "'";
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    struct Attempt {
      KeyState where;  // where the node was seen last; not seen: the usual slot
      bool create = false;
    };
    auto now = std::make_shared<Attempt>();
    op->build = [=](v3::TxnRequest &t) {
      if (now->create) {
        absent(t, path);
        if (check_parent) guard_parent(t, parent);
        add_put(t.mutable_success(), node_key(path), value, 0);
        add_put(t.mutable_success(), child_key(path), std::string(), 0);
      } else {
        std::string key = now->where.alt ? now->where.key : node_key(path);
        add_compare(t, key, Compare::VERSION, Compare::GREATER, 0);
        add_put(t.mutable_success(), key, value, 0, true);
        add_read(t.mutable_success(), key, true);
      }
      read_slots(t.mutable_failure(), path);
      if (check_parent) read_slots(t.mutable_failure(), parent);
    };
    op->answer = [=](const v3::TxnResponse &resp, std::int64_t &out) {
      if (resp.succeeded()) {
        wrote(resp, path);
        if (now->create) {
          out = 1;
        } else {
          const auto &read = range_at(resp, 1);
          if (read.kvs_size() != 1)
            offkv::fail(Err::eservice,
                        "etcd: unexpected transaction answer (the node written by set "
                        "was not read back)");
          out = read.kvs(0).version() + (now->where.alt ? now->where.offset : 0);
        }
        return Step::finished;
      }
      bool was_create = now->create;
      now->where = state_of(range_at(resp, 0));
      if (!now->where.exists && check_parent)
        parent_ok(state_of(range_at(resp, 1)), path);
      // Absent: create it next. Present (created in between, or in another slot):
      // replace it there.
      now->create = !now->where.exists;
      return now->create && !was_create ? Step::next : Step::retry;
    };
    return op;
  }

  std::shared_ptr<WriteOp<std::int64_t>> cas_op(const std::string &path,
                                                const std::string &value,
                                                std::int64_t expected) {
    auto op = std::make_shared<WriteOp<std::int64_t>>();
    op->what = "cas on '" + show(path) + "'";
    std::string parent = parent_path(path);
    bool check_parent = has_parent(path);
    auto where = std::make_shared<KeyState>();
    op->build = [=](v3::TxnRequest &t) {
      if (expected == 0) {
        absent(t, path);
        if (check_parent) guard_parent(t, parent);
        add_put(t.mutable_success(), node_key(path), value, 0);
        add_put(t.mutable_success(), child_key(path), std::string(), 0);
      } else {
        std::string key = where->alt ? where->key : node_key(path);
        std::int64_t etcd_version = expected - (where->alt ? where->offset : 0);
        if (etcd_version < 1)
          throw verdicts_.cas_mismatch(path, expected, where->version());
        add_compare(t, key, Compare::VERSION, Compare::EQUAL, etcd_version);
        add_put(t.mutable_success(), key, value, 0, true);
      }
      read_slots(t.mutable_failure(), path);
      if (expected == 0 && check_parent) read_slots(t.mutable_failure(), parent);
    };
    op->answer = [=](const v3::TxnResponse &resp, std::int64_t &out) {
      if (resp.succeeded()) {
        wrote(resp, path);
        out = expected + 1;
        return Step::finished;
      }
      KeyState s = state_of(range_at(resp, 0));
      if (expected == 0) {
        if (s.exists) throw verdicts_.cas_mismatch(path, 0, s.version());
        if (check_parent) parent_ok(state_of(range_at(resp, 1)), path);
        return Step::retry;
      }
      std::int64_t found = s.exists ? s.version() : 0;
      if (found != expected) throw verdicts_.cas_mismatch(path, expected, found);
      *where = s;  // right version, another slot
      return Step::retry;
    };
    return op;
  }

  std::shared_ptr<WriteOp<bool>> erase_op(const std::string &path,
                                          std::int64_t expected) {
    auto op = std::make_shared<WriteOp<bool>>();
    op->what = "erase '" + show(path) + "'";
    auto where = std::make_shared<KeyState>();
    op->build = [=](v3::TxnRequest &t) {
      // The node and its whole subtree, atomically: one range delete.
      std::string key = where->alt ? where->key : node_key(path);
      if (expected == 0)
        add_compare(t, key, Compare::VERSION, Compare::GREATER, 0);
      else
        add_compare(t, key, Compare::VERSION, Compare::EQUAL,
                    expected - (where->alt ? where->offset : 0));
      Range sub = subtree_range(path);
      add_delete(t.mutable_success(), sub.key, sub.end);
      add_delete(t.mutable_success(), child_key(path));
      read_slots(t.mutable_failure(), path);
    };
    op->answer = [=](const v3::TxnResponse &resp, bool &out) {
      if (resp.succeeded()) {
        wrote(resp, path, true);
        out = true;
        return Step::finished;
      }
      KeyState s = state_of(range_at(resp, 0));
      if (auto failure = verdicts_.judge_erase(path, expected, {s.exists, s.version()}))
        throw *failure;
      *where = s;
      return Step::retry;
    };
    return op;
  }

  v3::RangeRequest node_read(const std::string &path, bool keys_only) const {
    Range r = slot_range(path);
    v3::RangeRequest req;
    req.set_key(r.key);
    req.set_range_end(r.end);
    req.set_keys_only(keys_only);
    req.set_serializable(conn_.serializable_reads());
    return req;
  }

  Node node_of(const std::string &path, const v3::RangeResponse &resp) const {
    KeyState s = state_of(resp);
    if (!s.exists) throw verdicts_.no_node("get", path);
    return Node{s.value, s.version()};
  }

  v3::RangeRequest children_read(const std::string &path) const {
    Range r = children_range(path);
    v3::RangeRequest req;
    req.set_key(r.key);
    req.set_range_end(r.end);
    req.set_keys_only(true);
    req.set_serializable(conn_.serializable_reads());
    return req;
  }

  // version = the parent's (0 for the root, which has no node).
  std::vector<std::string> children_answer(const std::string &path,
                                           const v3::RangeResponse &resp,
                                           std::int64_t &version) const {
    bool found = false;
    std::vector<std::string> out = children_of(resp, path, version, found);
    if (path == root_ || path == "/") found = true;
    if (!found) throw verdicts_.no_node("list", path);
    return out;
  }

  // The blocking form of a write: attempts until finished or the operation deadline.
  template <typename T>
  T perform(WriteOp<T> &op) {
    auto deadline = conn_.deadline();
    for (int attempt = 0; next_attempt(attempt, deadline);) {
      v3::TxnRequest t;
      op.build(t);
      auto resp = run(t, deadline, op.what);
      T result{};
      Step step = op.answer(resp, result);
      if (step == Step::finished) return result;
      if (step == Step::retry) ++attempt;
    }
    kept_changing(op.what);
  }

  // ---- Asynchronous calls ----

  template <typename T>
  using PendingWrite = Pending<T, v3::TxnRequest, v3::TxnResponse>;
  template <typename T>
  using PendingRead = Pending<T, v3::RangeRequest, v3::RangeResponse>;

  template <typename T, typename MakeOp>
  bool start_write(MakeOp make, Completion<T> done) {
    if (!conn_.can_send_now()) return false;
    auto call = std::make_shared<PendingWrite<T>>();
    call->done = std::move(done);
    call->deadline = conn_.deadline();
    if (!begin_call()) return false;
    try {
      auto op = make();  // may throw (no lease now, a bad path): the completion says so
      call->what = op->what;
      call->build = op->build;
      call->answer = op->answer;
    } catch (...) {
      complete(call, std::current_exception(), T{});
      return true;
    }
    next_async_attempt(call);
    return true;
  }

  template <typename T>
  bool start_read(std::string what, v3::RangeRequest request,
                  std::function<Step(const v3::RangeResponse &, T &)> answer,
                  Completion<T> done) {
    if (!conn_.can_send_now()) return false;
    auto call = std::make_shared<PendingRead<T>>();
    call->what = std::move(what);
    call->done = std::move(done);
    call->deadline = conn_.deadline();
    call->idempotent = true;
    call->build = [request](v3::RangeRequest &r) { r = request; };
    call->answer = std::move(answer);
    if (!begin_call()) return false;
    next_async_attempt(call);
    return true;
  }

  // Builds and sends the next attempt (as again(), minus the pause: nothing waits here).
  template <typename T, typename Rq, typename Rs>
  void next_async_attempt(const std::shared_ptr<Pending<T, Rq, Rs>> &call) {
    try {
      if (call->attempt > 0) {
        count_retry();
        if (Clock::now() >= call->deadline) kept_changing(call->what);
      }
      call->request.Clear();
      call->build(call->request);
    } catch (...) {
      return complete(call, std::current_exception(), T{});
    }
    // A follow-up request while the test kit cuts the connection: the blocking form
    // would wait for the cut to be lifted; this one cannot wait, so it is not sent.
    if (!conn_.can_send_now())
      return complete(
          call,
          conn_.error_for(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "not connected: the connection is "
                                       "cut (offkv_testkit_suspend); not sent"),
                          call->what),
          T{});
    send(call);
  }

  void rpc(grpc::ClientContext *ctx, const v3::TxnRequest *req, v3::TxnResponse *resp,
           std::function<void(grpc::Status)> callback) {
    conn_.kv().async()->Txn(ctx, req, resp, std::move(callback));
  }
  void rpc(grpc::ClientContext *ctx, const v3::RangeRequest *req, v3::RangeResponse *resp,
           std::function<void(grpc::Status)> callback) {
    conn_.kv().async()->Range(ctx, req, resp, std::move(callback));
  }

  // Sends call->request once (a fresh context per send).
  template <typename T, typename Rq, typename Rs>
  void send(const std::shared_ptr<Pending<T, Rq, Rs>> &call) {
    call->response.Clear();
    auto ctx = std::make_shared<grpc::ClientContext>();
    conn_.prepare_async(*ctx, call->deadline);
    {
      std::lock_guard<std::mutex> lock(async_mutex_);
      if (async_closing_) ctx->TryCancel();  // closing: it ends as CANCELLED at once
      async_contexts_.insert(ctx);
    }
    call->ctx = ctx;
    rpc(ctx.get(), &call->request, &call->response,
        [this, call](grpc::Status status) { answered(call, std::move(status)); });
  }

  template <typename T, typename Rq, typename Rs>
  void answered(const std::shared_ptr<Pending<T, Rq, Rs>> &call, grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(async_mutex_);
      async_contexts_.erase(call->ctx);
    }
    if (!status.ok()) {
      if (closing())
        return complete(call,
                        std::make_exception_ptr(Error(
                            Err::eclosed, "etcd: " + call->what + ": client is closed")),
                        T{});
      bool retry_read = call->idempotent &&
                        status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                        map_status(status) != Err::etls &&
                        Clock::now() + std::chrono::milliseconds(100) < call->deadline;
      bool reauthenticate = !call->reauthenticated && token_expired(status);
      if (retry_read || reauthenticate) {
        // Rare paths that wait (a pause, or authenticating again): on a thread of
        // their own, never on gRPC's.
        call->reauthenticated = call->reauthenticated || reauthenticate;
        std::thread([this, call, status, reauthenticate] {
          bool go = reauthenticate ? conn_.refresh_token(call->deadline) : true;
          if (!reauthenticate)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          if (go && !closing() && conn_.can_send_now())
            send(call);
          else
            complete(call, conn_.error_for(status, call->what), T{});
        }).detach();
        return;
      }
      return complete(call, conn_.error_for(status, call->what), T{});
    }
    T result{};
    Step step;
    try {
      step = call->answer(call->response, result);
    } catch (...) {
      return complete(call, std::current_exception(), T{});
    }
    if (step == Step::finished) return complete(call, nullptr, std::move(result));
    if (step == Step::retry) ++call->attempt;
    if (closing())
      return complete(call,
                      std::make_exception_ptr(Error(
                          Err::eclosed, "etcd: " + call->what + ": client is closed")),
                      T{});
    next_async_attempt(call);
  }

  // Counts a started call; false once closing (then nothing is started).
  bool begin_call() {
    std::lock_guard<std::mutex> lock(async_mutex_);
    if (async_closing_) return false;
    ++async_calls_;
    return true;
  }

  template <typename T, typename Rq, typename Rs>
  void complete(const std::shared_ptr<Pending<T, Rq, Rs>> &call, std::exception_ptr error,
                T value) {
    auto done = std::move(call->done);
    call->build = nullptr;
    call->answer = nullptr;
    try {
      if (done) done(std::move(error), std::move(value));
    } catch (...) {
      // A completion that throws is the core's defect; it must not end gRPC's thread.
    }
    std::lock_guard<std::mutex> lock(async_mutex_);
    if (--async_calls_ == 0) async_idle_.notify_all();
  }

  bool closing() {
    std::lock_guard<std::mutex> lock(async_mutex_);
    return async_closing_;
  }

  // close(): what is in flight is cancelled and completes (ECLOSED, or the store's
  // answer if it came first); waits until every started call has completed.
  void finish_async_calls() {
    std::vector<std::shared_ptr<grpc::ClientContext>> cancel;
    std::unique_lock<std::mutex> lock(async_mutex_);
    async_closing_ = true;
    cancel.assign(async_contexts_.begin(), async_contexts_.end());
    lock.unlock();
    for (auto &ctx : cancel) ctx->TryCancel();
    lock.lock();
    async_idle_.wait(lock, [&] { return async_calls_ == 0; });
  }

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

  void parent_ok(const KeyState &p, const std::string &path) const {
    if (auto failure = verdicts_.judge_parent(path, {p.exists, 0, p.lease != 0}))
      throw *failure;
  }

  std::mutex &sequence_lock(const std::string &parent) {
    return sequence_locks_[std::hash<std::string>()(parent) % sequence_locks_.size()];
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

  v3::RangeResponse range(const v3::RangeRequest &req, Clock::time_point deadline,
                          const std::string &what) {
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

  std::mutex async_mutex_;  // guards the asynchronous calls' bookkeeping below
  std::condition_variable async_idle_;
  bool async_closing_ = false;
  int async_calls_ = 0;  // started and not yet completed
  std::set<std::shared_ptr<grpc::ClientContext>> async_contexts_;  // sent, unanswered
};

}  // namespace

std::unique_ptr<Backend> make_etcd_backend(const Endpoint &endpoint,
                                           const Options &options) {
  return std::make_unique<EtcdBackend>(endpoint, options);
}

}  // namespace offkv
