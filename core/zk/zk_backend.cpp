#include "zk_backend.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <set>

#include "../error.hpp"
#include "../key.hpp"
#include "../verdict.hpp"
#include "codes.hpp"
#include "zk_conn.hpp"
#include "zk_errors.hpp"
#include "zk_watches.hpp"

namespace offkv {

namespace {

using namespace zk;

constexpr int kSetAttempts = 16;    // set: setData / create races
constexpr int kEraseAttempts = 16;  // erase: the subtree changed underneath
constexpr int kTxnAttempts = 16;    // commit: a pre-read went stale

std::int64_t version_of(const struct Stat &stat) {
  return std::int64_t(stat.version) + 1;
}

// ZooKeeper versions are 32-bit; an offkv version above that can never match.
bool fits(std::int64_t version) {
  return version >= 1 && version <= std::int64_t(INT_MAX) + 1;
}

std::string child_path(const std::string &parent, const std::string &name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

class ZkBackend : public Backend {
 public:
  ZkBackend(const Endpoint &endpoint, const Options &options)
      : prefix_(endpoint.prefix),
        root_(prefix_.empty() ? "/" : prefix_),
        linearizable_(options.read_consistency == ReadMode::linearizable),
        acl_(created_acl(options)),
        conn_(endpoint.hosts, options) {
    // The ZooKeeper C client offkv builds against (Debian's libzookeeper-mt) has no
    // TLS; never ignore TLS settings silently.
    if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
        !options.tls_key_file.empty())
      fail(Err::eunsupported,
           "zk: TLS options were given, but the ZooKeeper C client offkv uses has no "
           "TLS support; connect over plain zk:// without tls_* options");
  }

  ~ZkBackend() override { close(); }

  void start(SessionListener listener) override {
    conn_.start(std::move(listener));
    ensure_prefix();
  }

  // Writes: the operation, then settle() so that this client's persistent watches
  // have reported what the write caused before it returns (as on mem://).
  std::string create(const std::string &path, const std::string &value,
                     int flags) override {
    auto deadline = conn_.deadline();
    std::string created = create_op(path, value, flags, deadline);
    conn_.settle(deadline);
    return created;
  }

  std::int64_t set(const std::string &path, const std::string &value) override {
    auto deadline = conn_.deadline();
    std::int64_t version = set_op(path, value, deadline);
    conn_.settle(deadline);
    return version;
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected) override {
    auto deadline = conn_.deadline();
    std::int64_t version = cas_op(path, value, expected, deadline);
    conn_.settle(deadline);
    return version;
  }

  void erase(const std::string &path, std::int64_t expected) override {
    auto deadline = conn_.deadline();
    erase_op(path, expected, deadline);
    conn_.settle(deadline);
  }

  std::vector<OpResult> commit(const Txn &txn) override {
    auto deadline = conn_.deadline();
    std::vector<OpResult> results = commit_op(txn, deadline);
    conn_.settle(deadline);
    return results;
  }

  std::string create_op(const std::string &path, const std::string &value, int flags,
                        Clock::time_point deadline) {
    CallPtr call = issue_create(path, value, create_mode(flags),
                                "create '" + show(path) + "'", deadline);
    int rc = conn_.wait(call, deadline, "create '" + show(path) + "'");
    if (rc != ZOK) create_failed(rc, path);
    return call->created;
  }

  std::int64_t set_op(const std::string &path, const std::string &value,
                      Clock::time_point deadline) {
    std::string what = "set '" + show(path) + "'";
    for (int attempt = 0; attempt < kSetAttempts; ++attempt) {
      if (attempt > 0) count_retry();
      CallPtr call = issue_set(path, value, -1, what, deadline);
      int rc = conn_.wait(call, deadline, what);
      if (rc == ZOK) return version_of(call->stat);
      if (rc != ZNONODE) fail_zk(rc, "zk: cannot " + what);
      call = issue_create(path, value, 0, what, deadline);
      rc = conn_.wait(call, deadline, what);
      if (rc == ZOK) return 1;
      if (rc != ZNODEEXISTS) create_failed(rc, path);
      // Created by someone else in between: replace it.
    }
    fail(Err::eservice, "zk: cannot " + what + ": the node kept being created and " +
                            "erased concurrently");
  }

  std::int64_t cas_op(const std::string &path, const std::string &value,
                      std::int64_t expected, Clock::time_point deadline) {
    std::string what = "cas on '" + show(path) + "'";
    if (expected == 0) {
      CallPtr call = issue_create(path, value, 0, what, deadline);
      int rc = conn_.wait(call, deadline, what);
      if (rc == ZOK) return 1;
      if (rc == ZNODEEXISTS)
        throw verdicts_.cas_mismatch(path, 0, found_version(path, deadline),
                                     zk_words(rc));
      create_failed(rc, path);
    }
    // Beyond ZooKeeper's 32-bit versions: no node there can have it.
    if (!fits(expected))
      throw verdicts_.cas_mismatch(path, expected, found_version(path, deadline));
    CallPtr call = issue_set(path, value, static_cast<int>(expected - 1), what, deadline);
    int rc = conn_.wait(call, deadline, what);
    if (rc == ZOK) return version_of(call->stat);
    if (rc == ZBADVERSION)
      throw verdicts_.cas_mismatch(path, expected, found_version(path, deadline),
                                   zk_words(rc));
    if (rc == ZNONODE) throw verdicts_.cas_mismatch(path, expected, 0, zk_words(rc));
    fail_zk(rc, "zk: " + what);
  }

  Node get(const std::string &path, const WatchPtr &watch) override {
    auto deadline = conn_.deadline();
    CallPtr call =
        conn_.submit(get_request(path, watch), "get '" + show(path) + "'", deadline);
    return get_result(*call, conn_.wait(call, deadline, "get '" + show(path) + "'"),
                      path);
  }

  Conn::Issue get_request(const std::string &path, const WatchPtr &watch) {
    return [this, &path, &watch](zhandle_t *zh, const GenerationPtr &gen, Call &c,
                                 const void *data) {
      sync_first(zh);
      if (!watch) return zoo_aget(zh, path.c_str(), 0, call_data_done, data);
      OneShotContext *ctx = oneshot(gen, watch, WatchKind::Data, path, c, false);
      return zoo_awget(zh, path.c_str(), oneshot_watcher, ctx, call_data_done, data);
    };
  }

  Node get_result(Call &call, int rc, const std::string &path) {
    if (rc == ZNONODE) throw verdicts_.no_node("get", path, zk_words(rc));
    if (rc != ZOK) fail_zk(rc, "zk: cannot get '" + show(path) + "'");
    return Node{call.value, version_of(call.stat)};
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    auto deadline = conn_.deadline();
    CallPtr call = conn_.submit(exists_request(path, watch),
                                "exists '" + show(path) + "'", deadline);
    return exists_result(*call, conn_.wait(call, deadline, "exists '" + show(path) + "'"),
                         path);
  }

  Conn::Issue exists_request(const std::string &path, const WatchPtr &watch) {
    return [this, &path, &watch](zhandle_t *zh, const GenerationPtr &gen, Call &c,
                                 const void *data) {
      sync_first(zh);
      if (!watch) return zoo_aexists(zh, path.c_str(), 0, call_stat_done, data);
      OneShotContext *ctx = oneshot(gen, watch, WatchKind::Exists, path, c, true);
      return zoo_awexists(zh, path.c_str(), oneshot_watcher, ctx, call_stat_done, data);
    };
  }

  std::int64_t exists_result(Call &call, int rc, const std::string &path) {
    if (rc == ZNONODE) return 0;
    if (rc != ZOK) fail_zk(rc, "zk: cannot exists '" + show(path) + "'");
    return version_of(call.stat);
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    auto deadline = conn_.deadline();
    CallPtr call = conn_.submit(children_request(path, watch),
                                "list '" + show(path) + "'", deadline);
    return children_result(*call, conn_.wait(call, deadline, "list '" + show(path) + "'"),
                           path);
  }

  Conn::Issue children_request(const std::string &path, const WatchPtr &watch) {
    return [this, &path, &watch](zhandle_t *zh, const GenerationPtr &gen, Call &c,
                                 const void *data) {
      sync_first(zh);
      if (!watch)
        return zoo_aget_children2(zh, path.c_str(), 0, call_strings_stat_done, data);
      OneShotContext *ctx = oneshot(gen, watch, WatchKind::Children, path, c, false);
      return zoo_awget_children2(zh, path.c_str(), oneshot_watcher, ctx,
                                 call_strings_stat_done, data);
    };
  }

  std::vector<std::string> children_result(Call &call, int rc, const std::string &path) {
    if (rc == ZNONODE) {
      if (path == root_) return {};  // the root always exists for offkv
      throw verdicts_.no_node("list", path, zk_words(rc));
    }
    if (rc != ZOK) fail_zk(rc, "zk: cannot list '" + show(path) + "'");
    std::vector<std::string> out;
    for (const auto &name : call.strings) {
      if (path == "/" && name == "zookeeper") continue;  // ZooKeeper's own tree
      out.push_back(child_path(path, name));
    }
    return out;
  }

  // ---- Native asynchronous forms (Backend::start_*) ----
  // One request each, issued without waiting (Conn::try_submit) and finished from its
  // completion; a step that needs another request issues it from there. Declined
  // (false) when not connected right now (the blocking form waits for the connection
  // within its deadline) and, for writes, while a persistent watch must settle.

  bool start_get(const std::string &path, const WatchPtr &watch,
                 Completion<Node> done) override {
    return issue_native(get_request(path, watch), [this, path, done](Call &c, int rc) {
      complete(done, [&] { return get_result(c, rc, path); });
    });
  }

  bool start_exists(const std::string &path, const WatchPtr &watch,
                    Completion<std::int64_t> done) override {
    return issue_native(exists_request(path, watch), [this, path, done](Call &c, int rc) {
      complete(done, [&] { return exists_result(c, rc, path); });
    });
  }

  bool start_children(const std::string &path, const WatchPtr &watch,
                      Completion<std::vector<std::string>> done) override {
    return issue_native(children_request(path, watch),
                        [this, path, done](Call &c, int rc) {
                          complete(done, [&] { return children_result(c, rc, path); });
                        });
  }

  bool start_create(const std::string &path, const std::string &value, int flags,
                    Completion<std::string> done) override {
    if (conn_.writes_settle()) return false;
    return issue_native(create_request(path, value, create_mode(flags)),
                        [this, path, done](Call &c, int rc) {
                          complete(done, [&] {
                            if (rc != ZOK) create_failed(rc, path);
                            return c.created;
                          });
                        });
  }

  bool start_set(const std::string &path, const std::string &value,
                 Completion<std::int64_t> done) override {
    if (conn_.writes_settle()) return false;
    return set_step(path, value, 0, done);
  }

  bool start_cas(const std::string &path, const std::string &value, std::int64_t expected,
                 Completion<std::int64_t> done) override {
    if (conn_.writes_settle() || (expected != 0 && !fits(expected))) return false;
    if (expected == 0)
      return issue_native(create_request(path, value, 0),
                          [this, path, done](Call &, int rc) {
                            if (rc != ZNODEEXISTS)
                              return complete(done, [&]() -> std::int64_t {
                                if (rc != ZOK) create_failed(rc, path);
                                return 1;
                              });
                            mismatch_after(rc, path, 0, done);
                          });
    return issue_native(set_request(path, value, static_cast<int>(expected - 1)),
                        [this, path, expected, done](Call &c, int rc) {
                          if (rc == ZBADVERSION)
                            return mismatch_after(rc, path, expected, done);
                          complete(done, [&] {
                            if (rc == ZNONODE)
                              throw verdicts_.cas_mismatch(path, expected, 0,
                                                           zk_words(rc));
                            if (rc != ZOK) fail_zk(rc, "zk: cas on '" + show(path) + "'");
                            return version_of(c.stat);
                          });
                        });
  }

  void erase_op(const std::string &path, std::int64_t expected,
                Clock::time_point deadline) {
    std::string what = "erase '" + show(path) + "'";
    if (expected != 0 && !fits(expected))
      throw verdicts_.erase_mismatch(path, expected, found_version(path, deadline));
    int top_version = expected == 0 ? -1 : static_cast<int>(expected - 1);
    // A leaf (the common case) goes in one round trip.
    CallPtr call = conn_.submit(
        [&](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
          return zoo_adelete(zh, path.c_str(), top_version, call_void_done, data);
        },
        what, deadline);
    int rc = conn_.wait(call, deadline, what);
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0) count_retry();
      if (rc == ZOK) return;
      if (rc == ZNONODE) throw verdicts_.no_node("erase", path, zk_words(rc));
      if (rc == ZBADVERSION)
        throw verdicts_.erase_mismatch(path, expected, found_version(path, deadline),
                                       zk_words(rc));
      if (rc != ZNOTEMPTY && rc != ZRUNTIMEINCONSISTENCY)
        fail_zk(rc, "zk: cannot " + what);
      if (attempt >= kEraseAttempts)
        throw Error(Err::enotempty,
                    "zk: cannot " + what + ": its subtree kept changing (" +
                        std::to_string(kEraseAttempts) + " attempts)" + zk_words(rc));
      // The whole subtree, deepest first, in one multi; the top keeps the version
      // check. NOTEMPTY / NONODE on an inner node: it changed underneath, again.
      std::vector<std::string> nodes;
      rc = list_subtree(path, deadline, what, nodes);
      if (rc != ZOK) continue;
      auto multi =
          std::make_shared<std::vector<std::string>>(nodes.rbegin(), nodes.rend());
      call = conn_.submit(
          [&](zhandle_t *zh, const GenerationPtr &, Call &c, const void *data) {
            c.ops.resize(multi->size());
            c.results.resize(multi->size());
            for (std::size_t i = 0; i < multi->size(); ++i)
              zoo_delete_op_init(&c.ops[i], (*multi)[i].c_str(),
                                 (*multi)[i] == path ? top_version : -1);
            return zoo_amulti(zh, static_cast<int>(c.ops.size()), c.ops.data(),
                              c.results.data(), call_void_done, data);
          },
          what, deadline);
      rc = conn_.wait(call, deadline, what);
      if (rc == ZOK) return;
      int failed = first_failure(call->results);
      if (failed < 0) fail_zk(rc, "zk: cannot " + what);
      rc = call->results[failed].err;
      if ((*multi)[failed] != path && (rc == ZNONODE || rc == ZNOTEMPTY)) rc = ZNOTEMPTY;
    }
  }

  // A transaction as one ZooKeeper multi, planned from pre-reads: (1) pre-read what
  // the multi cannot express, (2) judge the checks the multi cannot carry, (3) plan
  // the raw ops, (4) send the multi, (5) word a failure. A stale pre-read (the store
  // changed between the reads and the multi) plans again.
  std::vector<OpResult> commit_op(const Txn &txn, Clock::time_point deadline) {
    const std::string what = "commit a transaction";
    if (txn.checks.empty() && txn.ops.empty()) return {};
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0) count_retry();
      const bool last_try = attempt + 1 >= kTxnAttempts;
      TxnPreRead pre = pre_read(txn, deadline, what);
      if (pre.stale && !last_try) continue;
      if (pre.local_checks) judge_local_checks(txn, pre.state);
      auto raws = std::make_shared<std::vector<RawOp>>(plan_multi(txn, pre));
      if (raws->empty()) return std::vector<OpResult>(txn.ops.size());  // 0-checks only
      std::vector<std::int64_t> set_base(txn.ops.size(), 0);
      CallPtr call = submit_multi(txn, raws, pre.state, set_base, deadline, what);
      int rc = conn_.wait(call, deadline, what);
      if (rc == ZOK) return multi_results(txn, *raws, call->buffers, set_base);
      if (replan_after_failure(txn, *raws, *call, rc, last_try, deadline, what)) continue;
    }
  }

  // What a transaction's multi is planned from.
  struct TxnPreRead {
    // Some check is one zoo_check_op cannot express (0 = absent, or a version above
    // ZooKeeper's 32 bits): every check is then judged on the pre-read.
    bool local_checks = false;
    std::map<std::string, std::int64_t> state;  // path -> version, 0 = absent
    std::map<std::string, std::vector<std::string>> subtrees;  // erased paths' nodes
    // Listed parents' cversions: a sequential create under a parent this transaction
    // erases gets a name known in advance, so the erase can include it.
    std::map<std::string, std::int32_t> cversions;
    bool stale = false;  // a subtree changed while it was listed
  };

  // 1. Pre-reads, pipelined: local checks read every check's node (to report the
  //    first failing one), sets read the version they will replace, erases list their
  //    subtree.
  TxnPreRead pre_read(const Txn &txn, Clock::time_point deadline,
                      const std::string &what) {
    TxnPreRead pre;
    for (const auto &c : txn.checks)
      if (c.version == 0 || (c.version > 0 && !fits(c.version))) pre.local_checks = true;
    std::map<std::string, CallPtr> reads;
    auto read = [&](const std::string &p) {
      if (reads.count(p)) return;
      bool first = reads.empty();
      reads[p] = conn_.submit(
          [&](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
            if (first) sync_first(zh);  // the 0-checks judge from these reads
            return zoo_aexists(zh, p.c_str(), 0, call_stat_done, data);
          },
          what, deadline);
    };
    if (pre.local_checks)
      for (const auto &c : txn.checks) read(c.path);
    for (const auto &op : txn.ops)
      if (op.kind == TxnOpKind::Set) read(op.path);
    for (auto &entry : reads) {
      int rc = conn_.wait(entry.second, deadline, what);
      if (rc == ZOK)
        pre.state[entry.first] = version_of(entry.second->stat);
      else if (rc == ZNONODE)
        pre.state[entry.first] = 0;
      else
        fail_zk(rc, "zk: cannot " + what);
    }
    for (const auto &op : txn.ops) {
      if (op.kind != TxnOpKind::Erase || pre.subtrees.count(op.path)) continue;
      std::vector<std::string> nodes;
      int rc = list_subtree(op.path, deadline, what, nodes, nullptr, &pre.cversions);
      if (rc == ZNOTEMPTY) pre.stale = true;
      pre.subtrees[op.path] = rc == ZOK ? nodes : std::vector<std::string>{};
    }
    return pre;
  }

  // 2. Every check judged on the pre-read (the multi then carries none of them).
  void judge_local_checks(const Txn &txn, std::map<std::string, std::int64_t> &state) {
    for (std::size_t i = 0; i < txn.checks.size(); ++i) {
      const TxnOp &c = txn.checks[i];
      std::int64_t actual = state[c.path];
      if (auto failure = verdicts_.judge_check(c, {actual != 0, actual}))
        throw TxnFailed(i, failure->code(), failure->what());
    }
  }

  // 3. The raw multi, with what earlier ops of this transaction did.
  std::vector<RawOp> plan_multi(const Txn &txn, TxnPreRead &pre) {
    const std::size_t nchecks = txn.checks.size();
    std::vector<RawOp> raws;
    std::map<std::string, std::int64_t> overlay = pre.state;
    std::set<std::string> created;  // creates of this transaction with a known name
    std::map<std::string, std::int32_t> &cversions = pre.cversions;
    // Every child created or erased under a parent bumps its cversion (the next
    // sequential suffix); a parent erased and created again starts at 0.
    auto bump = [&](const std::string &child) {
      auto it = cversions.find(parent_path(child));
      if (it != cversions.end()) ++it->second;
    };
    for (std::size_t i = 0; i < nchecks; ++i) {
      const TxnOp &c = txn.checks[i];
      if (c.version == 0 || (c.version > 0 && !fits(c.version))) continue;  // local
      raws.push_back({i, RawRole::Check, c.path});
    }
    for (std::size_t j = 0; j < txn.ops.size(); ++j) {
      const TxnOp &op = txn.ops[j];
      const std::size_t index = nchecks + j;
      switch (op.kind) {
        case TxnOpKind::Create: {
          raws.push_back({index, RawRole::Create, op.path});
          std::string name = op.path;
          auto parent = cversions.find(parent_path(op.path));
          if (op.flags & NodeFlag::sequential) {
            // ZooKeeper's suffix: the parent's cversion, 10 digits (a wrong guess,
            // after a concurrent change, fails the multi and the plan is redone).
            if (parent == cversions.end()) break;
            char suffix[16];
            std::snprintf(suffix, sizeof suffix, "%010d", parent->second);
            name += suffix;
          }
          bump(op.path);
          overlay[name] = 1;
          created.insert(name);
          break;
        }
        case TxnOpKind::Set: {
          std::int64_t cur = overlay.count(op.path) ? overlay[op.path] : 0;
          if (cur > 0) {
            raws.push_back({index, RawRole::SetUpdate, op.path});
            overlay[op.path] = cur + 1;
          } else {
            raws.push_back({index, RawRole::SetCreate, op.path});
            overlay[op.path] = 1;
            created.insert(op.path);
            bump(op.path);
          }
          break;
        }
        case TxnOpKind::Erase: {
          std::vector<std::string> nodes;
          for (const auto &n : pre.subtrees[op.path])
            if (!(overlay.count(n) && overlay[n] == 0) && n != op.path)
              nodes.push_back(n);
          for (const auto &n : created)
            if (n != op.path && path_covers(op.path, n) && overlay[n] > 0 &&
                std::find(nodes.begin(), nodes.end(), n) == nodes.end())
              nodes.push_back(n);
          sort_preorder(nodes);
          for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
            raws.push_back({index, RawRole::EraseInner, *it});
            overlay[*it] = 0;
            bump(*it);
            cversions.erase(*it);
          }
          raws.push_back({index, RawRole::EraseTop, op.path});
          overlay[op.path] = 0;
          bump(op.path);
          if (cversions.count(op.path)) cversions[op.path] = 0;
          break;
        }
        case TxnOpKind::Check:
          Verdicts::check_among_ops();
      }
    }
    return raws;
  }

  // 4. The multi itself. set_base receives the version each SetUpdate replaces.
  CallPtr submit_multi(const Txn &txn, const std::shared_ptr<std::vector<RawOp>> &raws,
                       const std::map<std::string, std::int64_t> &state,
                       std::vector<std::int64_t> &set_base, Clock::time_point deadline,
                       const std::string &what) {
    const std::size_t nchecks = txn.checks.size();
    return conn_.submit(
        [&txn, raws, &state, &set_base, nchecks, this](
            zhandle_t *zh, const GenerationPtr &, Call &c, const void *data) {
          std::map<std::string, std::int64_t> ov = state;
          c.ops.resize(raws->size());
          c.results.resize(raws->size());
          for (std::size_t k = 0; k < raws->size(); ++k) {
            const RawOp &r = (*raws)[k];
            zoo_op_t *o = &c.ops[k];
            switch (r.role) {
              case RawRole::Check: {
                const TxnOp &chk = txn.checks[r.index];
                zoo_check_op_init(
                    o, r.path.c_str(),
                    chk.version == kAnyVersion ? -1 : static_cast<int>(chk.version - 1));
                break;
              }
              case RawRole::Create: {
                const TxnOp &op = txn.ops[r.index - nchecks];
                int mode = ((op.flags & NodeFlag::ephemeral) ? ZOO_EPHEMERAL : 0) |
                           ((op.flags & NodeFlag::sequential) ? ZOO_SEQUENCE : 0);
                c.buffers.emplace_back(r.path.size() + 32, '\0');
                zoo_create_op_init(o, r.path.c_str(), op.value.data(),
                                   static_cast<int>(op.value.size()), acl_, mode,
                                   c.buffers.back().data(),
                                   static_cast<int>(c.buffers.back().size()));
                if (!(op.flags & NodeFlag::sequential)) ov[r.path] = 1;
                break;
              }
              case RawRole::SetUpdate: {
                const TxnOp &op = txn.ops[r.index - nchecks];
                std::int64_t cur = ov[r.path];
                set_base[r.index - nchecks] = cur;
                c.stats.emplace_back();
                zoo_set_op_init(o, r.path.c_str(), op.value.data(),
                                static_cast<int>(op.value.size()),
                                static_cast<int>(cur - 1), &c.stats.back());
                ov[r.path] = cur + 1;
                break;
              }
              case RawRole::SetCreate: {
                const TxnOp &op = txn.ops[r.index - nchecks];
                zoo_create_op_init(o, r.path.c_str(), op.value.data(),
                                   static_cast<int>(op.value.size()), acl_, 0, nullptr,
                                   0);
                ov[r.path] = 1;
                break;
              }
              case RawRole::EraseTop: {
                const TxnOp &op = txn.ops[r.index - nchecks];
                zoo_delete_op_init(
                    o, r.path.c_str(),
                    op.version == 0 ? -1 : static_cast<int>(op.version - 1));
                ov[r.path] = 0;
                break;
              }
              case RawRole::EraseInner:
                zoo_delete_op_init(o, r.path.c_str(), -1);
                ov[r.path] = 0;
                break;
            }
          }
          return zoo_amulti(zh, static_cast<int>(c.ops.size()), c.ops.data(),
                            c.results.data(), call_void_done, data);
        },
        what, deadline);
  }

  // 5. The multi failed with rc: true to plan again (a race with another client),
  //    else throws the failure, worded by the core.
  bool replan_after_failure(const Txn &txn, const std::vector<RawOp> &raws,
                            const Call &call, int rc, bool last_try,
                            Clock::time_point deadline, const std::string &what) {
    int failed = first_failure(call.results);
    if (failed < 0) fail_zk(rc, "zk: cannot " + what);
    const RawOp &refused = raws[failed];
    const int err = call.results[failed].err;
    MultiFailure f = multi_failure(txn, refused, err, prefix_);
    if (f.retry && !last_try) return true;
    if (err == ZBADVERSION && refused.role == RawRole::Check) {
      // ZooKeeper does not say which version it found: read it for the message.
      std::int64_t found = found_version(refused.path, deadline);
      f.message =
          verdicts_.check_failed(txn.checks[f.index], found, zk_words(err)).what();
    } else if (err == ZBADVERSION && refused.role == RawRole::EraseTop) {
      std::int64_t found = found_version(refused.path, deadline);
      const TxnOp &erase = txn.ops[f.index - txn.checks.size()];
      f.message =
          verdicts_.erase_mismatch(refused.path, erase.version, found, zk_words(err))
              .what();
    }
    throw TxnFailed(f.index, f.code, f.message);
  }

  void watch_persistent(const std::string &path, const WatchPtr &watch) override {
    std::string what = "watch '" + show(path) + "'";
    auto deadline = conn_.deadline();
    // Shared with the handle: if the session expires or the client closes during the
    // walk, the handle drops its reference and tells the context (retired), while
    // this caller still holds its own.
    auto ctx = std::make_shared<PersistentContext>();
    ctx->watch = watch;
    ctx->root = path;
    conn_.with_handle(
        [&](zhandle_t *zh, const GenerationPtr &gen) {
          gen->adopt(ctx);
          persistent_start(zh, ctx.get());
        },
        what, deadline);
    std::unique_lock<std::mutex> lock(ctx->mutex);
    if (!ctx->walked.wait_until(lock, deadline,
                                [&] { return ctx->pending == 0 || ctx->error != 0; })) {
      ctx->cancelled = true;
      fail(Err::etimeout, "zk: cannot " + what + ": ZooKeeper did not answer within " +
                              std::to_string(conn_.operation_timeout_ms()) +
                              " ms (operation_timeout_ms)");
    }
    if (ctx->error) {
      int rc = conn_.closing_code(ctx->error);
      ctx->cancelled = true;
      lock.unlock();
      fail_zk(rc, "zk: cannot " + what);
    }
  }

  void unwatch(const WatchPtr &watch) override { conn_.unwatch(watch); }

  void close() override { conn_.close(); }

  void testkit_cut(bool cut) override { conn_.testkit_cut(cut); }
  void testkit_expire() override { conn_.testkit_expire(); }

 private:
  std::string show(const std::string &path) const { return verdicts_.key(path); }

  // ZooKeeper serves a read from the server the client is connected to, which may lag
  // the leader. For linearizable reads a sync goes first on the same connection: the
  // server answers the read only after it caught up with the leader as of the sync
  // (requests of one session are processed in order). Pipelined: no extra round
  // trip for the client; the sync's own answer is not needed (a failure of the
  // connection fails the read after it too).
  void sync_first(zhandle_t *zh) {
    if (linearizable_) zoo_async(zh, "/", sync_done, nullptr);
  }
  static void sync_done(int, const char *, const void *) {}

  OneShotContext *oneshot(const GenerationPtr &gen, const WatchPtr &watch, WatchKind kind,
                          const std::string &path, Call &call, bool absent_registers) {
    auto owned = std::make_shared<OneShotContext>();
    owned->watch = watch;
    owned->kind = kind;
    owned->path = path;
    auto *ctx = static_cast<OneShotContext *>(gen->adopt(std::move(owned)));
    Generation *g = gen.get();
    // Runs on the completion thread before any event of this watch can.
    call.on_complete = [ctx, g, absent_registers](Call &c, bool abandoned) {
      bool registered = c.rc == ZOK || (c.rc == ZNONODE && absent_registers);
      if (!registered) {
        g->release(ctx);  // no watch was left
        return;
      }
      if (c.rc == ZOK && c.has_stat) ctx->version = version_of(c.stat);
      // The caller timed out and was told the read failed: no watch may reach it.
      // The context stays until the server's watch fires or the handle closes.
      if (abandoned) ctx->cancelled = true;
    };
    return ctx;
  }

  CallPtr issue_create(const std::string &path, const std::string &value, int mode,
                       const std::string &what, Clock::time_point deadline) {
    return conn_.submit(create_request(path, value, mode), what, deadline);
  }

  CallPtr issue_set(const std::string &path, const std::string &value, int version,
                    const std::string &what, Clock::time_point deadline) {
    return conn_.submit(set_request(path, value, version), what, deadline);
  }

  Conn::Issue create_request(const std::string &path, const std::string &value,
                             int mode) {
    return [this, &path, &value, mode](zhandle_t *zh, const GenerationPtr &, Call &,
                                       const void *data) {
      return zoo_acreate(zh, path.c_str(), value.data(), static_cast<int>(value.size()),
                         acl_, mode, call_string_done, data);
    };
  }

  static Conn::Issue set_request(const std::string &path, const std::string &value,
                                 int version) {
    return [&path, &value, version](zhandle_t *zh, const GenerationPtr &, Call &,
                                    const void *data) {
      return zoo_aset(zh, path.c_str(), value.data(), static_cast<int>(value.size()),
                      version, call_stat_done, data);
    };
  }

  static int create_mode(int flags) {
    return ((flags & NodeFlag::ephemeral) ? ZOO_EPHEMERAL : 0) |
           ((flags & NodeFlag::sequential) ? ZOO_SEQUENCE : 0);
  }

  // Issues a request natively; then(call, code) runs with the code as wait() gives it.
  // False when it could not be sent (not connected right now).
  bool issue_native(const Conn::Issue &issue, std::function<void(Call &, int)> then) {
    auto call = std::make_shared<Call>();
    call->then = [this, then = std::move(then)](Call &c) {
      then(c, conn_.closing_code(c.rc));
    };
    return conn_.try_submit(issue, call);
  }

  // A step of a native call issued from a completion: when it cannot be sent, the
  // call ends with what the blocking form says when the connection is gone.
  template <typename T>
  void issue_next(const Conn::Issue &issue, std::function<void(Call &, int)> then,
                  const Completion<T> &done, const std::string &what) {
    if (issue_native(issue, std::move(then))) return;
    complete(done, [&]() -> T { not_sent(what); });
  }

  // Why a later step of a native call could not be sent.
  [[noreturn]] void not_sent(const std::string &what) {
    if (conn_.closed()) fail(Err::eclosed, "zk: " + what + ": client is closed");
    fail(Err::econnloss, "zk: " + what + ": the connection to ZooKeeper was lost");
  }

  // done with what fn returns, or with what it throws.
  template <typename T, typename Fn>
  static void complete(const Completion<T> &done, Fn &&fn) {
    T value{};
    try {
      value = fn();
    } catch (...) {
      done(std::current_exception(), T{});
      return;
    }
    done(nullptr, std::move(value));
  }

  // set: setData of any version, or create when absent; a race with a concurrent
  // create or erase goes round again (kSetAttempts, as set_op).
  bool set_step(const std::string &path, const std::string &value, int attempt,
                const Completion<std::int64_t> &done) {
    std::string what = "set '" + show(path) + "'";
    auto on_set = [this, path, value, attempt, done, what](Call &c, int rc) {
      if (rc != ZNONODE)
        return complete(done, [&] {
          if (rc != ZOK) fail_zk(rc, "zk: cannot " + what);
          return version_of(c.stat);
        });
      issue_next(
          create_request(path, value, 0),
          [this, path, value, attempt, done, what](Call &, int rc) {
            if (rc != ZNODEEXISTS)
              return complete(done, [&]() -> std::int64_t {
                if (rc != ZOK) create_failed(rc, path);
                return 1;
              });
            // Created by someone else in between: replace it.
            count_retry();
            if (attempt + 1 < kSetAttempts) {
              if (!set_step(path, value, attempt + 1, done))
                complete(done, [&]() -> std::int64_t { not_sent(what); });
              return;
            }
            complete(done, [&]() -> std::int64_t {
              fail(Err::eservice, "zk: cannot " + what +
                                      ": the node kept being created and erased "
                                      "concurrently");
            });
          },
          done, what);
    };
    return issue_native(set_request(path, value, -1), on_set);
  }

  // A cas refused by the store (rc): reads the version found there for the message
  // (as found_version), then ends the call with the mismatch.
  void mismatch_after(int rc, const std::string &path, std::int64_t expected,
                      const Completion<std::int64_t> &done) {
    auto refuse = [this, rc, path, expected, done](std::int64_t found) {
      complete(done, [&]() -> std::int64_t {
        throw verdicts_.cas_mismatch(path, expected, found, zk_words(rc));
      });
    };
    bool sent = issue_native(
        [&path](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
          return zoo_aexists(zh, path.c_str(), 0, call_stat_done, data);
        },
        [refuse](Call &c, int found_rc) {
          refuse(found_rc == ZNONODE ? 0
                 : found_rc == ZOK   ? version_of(c.stat)
                                     : kVersionUnknown);
        });
    if (!sent) refuse(kVersionUnknown);
  }

  [[noreturn]] void create_failed(int rc, const std::string &path) {
    if (rc == ZNONODE) throw verdicts_.no_parent(path, zk_words(rc));
    if (rc == ZNODEEXISTS) throw verdicts_.exists(path, zk_words(rc));
    if (rc == ZNOCHILDRENFOREPHEMERALS)
      throw verdicts_.ephemeral_parent(path, zk_words(rc));
    fail_zk(rc, "zk: cannot create '" + show(path) + "'");
  }

  // For messages only: the node's current version, read now (within the caller's
  // deadline; "another version" if it cannot be read in time).
  std::int64_t found_version(const std::string &path, Clock::time_point deadline) {
    try {
      CallPtr call = conn_.submit(
          [&](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
            return zoo_aexists(zh, path.c_str(), 0, call_stat_done, data);
          },
          "read the version of '" + show(path) + "'", deadline);
      int rc = conn_.wait(call, deadline, "read the version of '" + show(path) + "'");
      if (rc == ZNONODE) return 0;
      if (rc == ZOK) return version_of(call->stat);
    } catch (const Error &) {
    }
    return kVersionUnknown;
  }

  // Lists path and everything below it in pre-order (sorted children), one pipelined
  // round trip per level. ZNONODE if path itself is absent; ZNOTEMPTY if a node
  // vanished while listing (the caller retries).
 public:
  // cversions (when given) gets each listed node's cversion: the next sequential
  // suffix ZooKeeper will give under it.
  int list_subtree(const std::string &path, Clock::time_point deadline,
                   const std::string &what, std::vector<std::string> &out,
                   std::int64_t *top_version = nullptr,
                   std::map<std::string, std::int32_t> *cversions = nullptr) {
    out.clear();
    std::vector<std::string> level{path};
    while (!level.empty()) {
      std::vector<CallPtr> calls;
      for (const auto &p : level)
        calls.push_back(conn_.submit(
            [&](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
              return zoo_aget_children2(zh, p.c_str(), 0, call_strings_stat_done, data);
            },
            what, deadline));
      std::vector<std::string> next;
      for (std::size_t i = 0; i < calls.size(); ++i) {
        int rc = conn_.wait(calls[i], deadline, what);
        if (rc == ZNONODE) return level[i] == path ? ZNONODE : ZNOTEMPTY;
        if (rc != ZOK) fail_zk(rc, "zk: cannot " + what);
        if (level[i] == path && top_version) *top_version = version_of(calls[i]->stat);
        if (cversions) (*cversions)[level[i]] = calls[i]->stat.cversion;
        out.push_back(level[i]);
        for (const auto &name : calls[i]->strings) {
          if (level[i] == "/" && name == "zookeeper") continue;
          next.push_back(child_path(level[i], name));
        }
      }
      level.swap(next);
    }
    sort_preorder(out);
    return ZOK;
  }

  Conn &conn() { return conn_; }

 private:
  void ensure_prefix() {
    if (prefix_.empty()) return;
    std::vector<std::string> ancestors;
    for (std::size_t i = 1; i <= prefix_.size(); ++i)
      if (i == prefix_.size() || prefix_[i] == '/')
        ancestors.push_back(prefix_.substr(0, i));
    auto deadline = conn_.deadline();
    std::vector<CallPtr> calls;
    for (const auto &a : ancestors)
      calls.push_back(
          issue_create(a, std::string(), 0, "create the prefix '" + a + "'", deadline));
    int bad = ZOK;
    for (auto &c : calls) {
      int rc = conn_.wait(c, deadline, "create the prefix '" + prefix_ + "'");
      if (rc != ZOK && rc != ZNODEEXISTS) bad = rc;
    }
    if (bad != ZOK) {
      // Perhaps not allowed to create an ancestor that exists anyway.
      CallPtr call = conn_.submit(
          [&](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
            return zoo_aexists(zh, prefix_.c_str(), 0, call_stat_done, data);
          },
          "check the prefix", deadline);
      if (conn_.wait(call, deadline, "check the prefix") != ZOK)
        fail_zk(bad, "zk: cannot create the prefix '" + prefix_ + "'");
    }
  }

  // With digest credentials, created nodes are the creator's alone (the "auth"
  // scheme: every identity of the session, i.e. digest:user); zk_acl=open keeps
  // them open to anyone, as without credentials.
  static const ACL_vector *created_acl(const Options &options) {
    if (options.zk_acl == "creator" && options.username.empty())
      fail(Err::einval, "zk: zk_acl=creator needs a digest user (username, password)");
    if (options.username.empty() || options.zk_acl == "open") return &ZOO_OPEN_ACL_UNSAFE;
    return &ZOO_CREATOR_ALL_ACL;
  }

  const std::string prefix_;
  const Verdicts verdicts_{prefix_};
  const std::string root_;
  const bool linearizable_;      // reads see every committed write (sync first)
  const ACL_vector *const acl_;  // of every node created
  Conn conn_;
};

}  // namespace

namespace zk {

int first_failure(const std::vector<zoo_op_result_t> &results) {
  for (std::size_t i = 0; i < results.size(); ++i)
    if (results[i].err != ZOK && results[i].err != ZRUNTIMEINCONSISTENCY)
      return static_cast<int>(i);
  return -1;
}

std::vector<OpResult> multi_results(const Txn &txn, const std::vector<RawOp> &raws,
                                    const std::deque<std::vector<char>> &buffers,
                                    const std::vector<std::int64_t> &set_base) {
  const std::size_t nchecks = txn.checks.size();
  std::vector<OpResult> results(txn.ops.size());
  std::size_t buffer = 0;
  for (const RawOp &r : raws) {
    if (r.index < nchecks) continue;
    OpResult &out = results[r.index - nchecks];
    out.path = txn.ops[r.index - nchecks].path;
    switch (r.role) {
      case RawRole::Create:
        out.path = std::string(buffers[buffer++].data());
        out.version = 1;
        break;
      case RawRole::SetUpdate:
        out.version = set_base[r.index - nchecks] + 1;
        break;
      case RawRole::SetCreate:
        out.version = 1;
        break;
      default:
        out.version = 0;
    }
  }
  return results;
}

MultiFailure multi_failure(const Txn &txn, const RawOp &r, int err,
                           const std::string &prefix) {
  const std::size_t nchecks = txn.checks.size();
  const TxnOp &item =
      r.index < nchecks ? txn.checks[r.index] : txn.ops[r.index - nchecks];
  const Verdicts verdicts(prefix);
  std::string key = "'" + verdicts.key(r.path) + "'";
  MultiFailure f;
  f.index = r.index;
  f.code = map_error(err);
  std::string message;
  switch (r.role) {
    case RawRole::Check:
      message = verdicts.check_failed(item, err == ZNONODE ? 0 : kVersionUnknown).what();
      break;
    case RawRole::Create:
    case RawRole::SetCreate:
      if (r.role == RawRole::SetCreate && err == ZNODEEXISTS) f.retry = true;
      if (err == ZNONODE)
        message = verdicts.no_parent(r.path).what();
      else if (err == ZNODEEXISTS)
        message = verdicts.exists(r.path).what();
      else if (err == ZNOCHILDRENFOREPHEMERALS)
        message = verdicts.ephemeral_parent(r.path).what();
      else
        message = "cannot create " + key;
      break;
    case RawRole::SetUpdate:
      f.retry = err == ZBADVERSION || err == ZNONODE;
      message = "cannot set " + key;
      break;
    case RawRole::EraseTop:
      f.retry = err == ZNOTEMPTY;
      message =
          err == ZNONODE ? verdicts.no_node("erase", r.path).what()
          : err == ZBADVERSION
              ? verdicts.erase_mismatch(r.path, item.version, kVersionUnknown).what()
              : "cannot erase " + key;
      break;
    case RawRole::EraseInner:
      f.retry = err == ZNONODE || err == ZNOTEMPTY;
      message = "cannot erase " + key + ": its subtree changed";
      break;
  }
  f.message = message + zk_words(err);
  return f;
}

}  // namespace zk

std::unique_ptr<Backend> make_zk_backend(const Endpoint &endpoint,
                                         const Options &options) {
  return std::make_unique<ZkBackend>(endpoint, options);
}

}  // namespace offkv
