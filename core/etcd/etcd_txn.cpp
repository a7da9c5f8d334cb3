#include "etcd_txn.hpp"

#include <algorithm>

#include "../error.hpp"
#include "../key.hpp"
#include "../verdict.hpp"
#include "codes.hpp"
#include "etcd_keys.hpp"

namespace offkv {
namespace etcd {

using v3::Compare;

void add_compare(v3::TxnRequest &t, const std::string &key, Compare::CompareTarget target,
                 Compare::CompareResult result, std::int64_t value,
                 const std::string &range_end) {
  Compare *c = t.add_compare();
  c->set_key(key);
  if (!range_end.empty()) c->set_range_end(range_end);
  c->set_target(target);
  c->set_result(result);
  switch (target) {
    case Compare::VERSION:
      c->set_version(value);
      break;
    case Compare::CREATE:
      c->set_create_revision(value);
      break;
    case Compare::MOD:
      c->set_mod_revision(value);
      break;
    case Compare::LEASE:
      c->set_lease(value);
      break;
    default:
      break;
  }
}

void add_put(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
             const std::string &key, const std::string &value, std::int64_t lease,
             bool keep_lease, bool prev_kv) {
  auto *p = ops->Add()->mutable_request_put();
  p->set_key(key);
  p->set_value(value);
  if (keep_lease)
    p->set_ignore_lease(true);
  else
    p->set_lease(lease);
  p->set_prev_kv(prev_kv);
}

void add_delete(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
                const std::string &key, const std::string &end) {
  auto *d = ops->Add()->mutable_request_delete_range();
  d->set_key(key);
  d->set_range_end(end);
}

void add_read(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
              const std::string &key, bool keys_only) {
  auto *r = ops->Add()->mutable_request_range();
  r->set_key(key);
  r->set_keys_only(keys_only);
}

namespace {

// The core's verdict on a step, recorded in the plan (not thrown past it).
struct Failed {
  int code;
  std::string message;
};

void refuse(const std::optional<Error> &failure) {
  if (failure) throw Failed{failure->code(), failure->what()};
}

class Planner {
 public:
  Planner(const Snapshot &snap, const std::string &root, const std::string &prefix,
          std::int64_t lease)
      : snap_(snap), root_(root), verdicts_(prefix), lease_(lease) {}

  Plan run(const Txn &txn) {
    std::size_t index = 0;
    try {
      for (const auto &c : txn.checks) {
        check(c);
        ++index;
      }
      for (const auto &op : txn.ops) {
        OpResult r{0, op.path};
        switch (op.kind) {
          case TxnOpKind::Create:
            r.path = create(op.path, op.value, op.flags);
            r.version = 1;
            break;
          case TxnOpKind::Set:
            r.version = set(op.path, op.value);
            break;
          case TxnOpKind::Erase:
            erase(op.path, op.version);
            break;
          case TxnOpKind::Check:
            Verdicts::check_among_ops();
        }
        plan_.results.push_back(std::move(r));
        ++index;
      }
    } catch (const Failed &f) {
      plan_.failed = true;
      plan_.index = index;
      plan_.code = f.code;
      plan_.message = f.message;
      return std::move(plan_);
    }
    build();
    return std::move(plan_);
  }

 private:
  struct Cur {
    bool exists = false;
    std::int64_t version = 0;
    std::int64_t lease = 0;
    std::string value;
    bool erased = false;  // an erase in this transaction covered it
  };
  enum class StepKind { Node, Erase, Counter };
  struct Step {
    StepKind kind;
    std::string path;
  };

  NodeState initial(const std::string &path) const {
    auto it = snap_.nodes.find(path);
    return it == snap_.nodes.end() ? NodeState{} : it->second;
  }

  Cur &look(const std::string &path, bool as_parent) {
    if (as_parent) parents_.insert(path);
    auto it = cur_.find(path);
    if (it != cur_.end()) return it->second;
    Cur c;
    bool under_erase =
        std::any_of(erased_.begin(), erased_.end(),
                    [&](const std::string &e) { return path_covers(e, path); });
    if (under_erase) {
      c.erased = true;  // gone with the subtree, whatever it was
    } else {
      auto s = snap_.nodes.find(path);
      if (s == snap_.nodes.end()) {
        plan_.guessed.insert(path);
      } else {
        c.exists = s->second.exists;
        c.version = s->second.version;
        c.lease = s->second.lease;
      }
      plan_.nodes.insert(path);
    }
    return cur_.emplace(path, c).first->second;
  }

  std::int64_t &counter(const std::string &parent) {
    auto it = next_.find(parent);
    if (it != next_.end()) return it->second;
    plan_.counters.insert(parent);
    auto s = snap_.counters.find(parent);
    std::int64_t next =
        s == snap_.counters.end() || !s->second.exists ? 0 : s->second.next;
    return next_.emplace(parent, next).first->second;
  }

  void step(StepKind kind, const std::string &path) {
    if (kind == StepKind::Node && !stepped_nodes_.insert(path).second) return;
    if (kind == StepKind::Counter && !stepped_counters_.insert(path).second) return;
    steps_.push_back({kind, path});
  }

  static NodeFacts facts(const Cur &n) { return {n.exists, n.version, n.lease != 0}; }

  void check(const TxnOp &c) {
    refuse(verdicts_.judge_check(c, facts(look(c.path, false))));
  }

  void check_parent(const std::string &path) {
    std::string parent = parent_path(path);
    if (parent == root_ || parent == "/") return;
    refuse(verdicts_.judge_parent(path, facts(look(parent, true))));
  }

  std::string create(const std::string &path, const std::string &value, int flags) {
    check_parent(path);
    std::string actual = path;
    if (flags & NodeFlag::sequential) {
      std::string parent = parent_path(path);
      actual = sequential_path(path, counter(parent)++);
      step(StepKind::Counter, parent);
    }
    Cur &n = look(actual, false);
    if (n.exists) refuse(verdicts_.exists(actual));
    n.exists = true;
    n.version = 1;
    n.lease = (flags & NodeFlag::ephemeral) ? lease_ : 0;
    n.value = value;
    step(StepKind::Node, actual);
    return actual;
  }

  std::int64_t set(const std::string &path, const std::string &value) {
    Cur &n = look(path, false);
    if (!n.exists) {
      create(path, value, 0);
      return 1;
    }
    ++n.version;
    n.value = value;
    step(StepKind::Node, path);
    return n.version;
  }

  void erase(const std::string &path, std::int64_t expected) {
    refuse(verdicts_.judge_erase(path, expected, facts(look(path, false))));
    for (auto &entry : cur_)
      if (path_covers(path, entry.first)) {
        entry.second.exists = false;
        entry.second.erased = true;
      }
    erased_.push_back(path);
    step(StepKind::Erase, path);
  }

  struct Write {
    bool put;
    std::string key, end, value;  // delete: [key, end), end empty = the key
    std::int64_t lease = 0;
    bool keep_lease = false;
  };

  void put(std::vector<Write> &w, const std::string &key, const std::string &value,
           std::int64_t lease, bool keep_lease = false) {
    w.push_back({true, key, std::string(), value, lease, keep_lease});
  }
  void del(std::vector<Write> &w, const std::string &key, const std::string &end = {}) {
    w.push_back({false, key, end, std::string(), 0, false});
  }

  // Just over 80 lines: the guards, the writes and the failure reads of one Txn are
  // built together because each refers to the indexes of the others.
  void build() {
    auto &t = plan_.request;
    std::vector<Write> writes;
    std::set<std::string> lease_guarded = parents_;
    for (const auto &s : steps_) {
      switch (s.kind) {
        case StepKind::Node: {
          const Cur &c = cur_.at(s.path);
          if (!c.exists) break;  // erased again later in the transaction
          NodeState init = initial(s.path);
          if (!init.exists || c.erased) {
            // A new incarnation: version 1 in the usual slot, else an alternate slot.
            std::string key;
            if (!init.exists && c.version == 1) {
              key = node_key(s.path);
            } else {
              key = alt_slot_key(s.path, c.version - 1, init.exists ? "r" : "c");
              while (init.exists && key == init.key) key += '\'';
            }
            put(writes, key, c.value, c.lease);
            put(writes, child_key(s.path), std::string(), c.lease);
          } else if (c.version == init.version + 1) {
            put(writes, init.key, c.value, 0, true);  // etcd adds the one
          } else if (c.version > init.version + 1) {
            // Written more than once: move to a slot whose offset gives the version.
            del(writes, init.key);
            put(writes,
                alt_slot_key(s.path, c.version - 1, "b" + std::to_string(init.version)),
                c.value, init.lease);
            lease_guarded.insert(s.path);
          }
          break;
        }
        case StepKind::Erase: {
          Range r = subtree_range(s.path);
          del(writes, r.key, r.end);
          del(writes, child_key(s.path));
          break;
        }
        case StepKind::Counter:
          put(writes, counter_key(s.path), std::to_string(next_.at(s.path)), 0);
          break;
      }
    }
    // etcd refuses a key put and deleted in one Txn: deletes skip what is put.
    std::set<std::string> put_keys;
    for (const auto &w : writes)
      if (w.put) put_keys.insert(w.key);
    auto *ops = t.mutable_success();
    for (const auto &w : writes) {
      if (w.put) {
        add_put(ops, w.key, w.value, w.lease, w.keep_lease);
      } else if (w.end.empty()) {
        if (!put_keys.count(w.key)) add_delete(ops, w.key);
      } else {
        std::string from = w.key;
        for (auto it = put_keys.lower_bound(w.key); it != put_keys.end() && *it < w.end;
             ++it) {
          if (from < *it) add_delete(ops, from, *it);
          from = *it + '\0';  // the key right after
        }
        if (from < w.end) add_delete(ops, from, w.end);
      }
    }
    for (const auto &path : plan_.nodes) {
      NodeState s = initial(path);
      if (!s.exists) {
        Range r = slot_range(path);
        add_compare(t, r.key, Compare::VERSION, Compare::EQUAL, 0, r.end);
      } else {
        add_compare(t, s.key, Compare::VERSION, Compare::EQUAL, s.etcd_version);
        if (lease_guarded.count(path))
          add_compare(t, s.key, Compare::LEASE, Compare::EQUAL, s.lease);
      }
    }
    for (const auto &parent : plan_.counters) {
      auto it = snap_.counters.find(parent);
      if (it == snap_.counters.end() || !it->second.exists)
        add_compare(t, counter_key(parent), Compare::VERSION, Compare::EQUAL, 0);
      else
        add_compare(t, counter_key(parent), Compare::MOD, Compare::EQUAL, it->second.mod);
    }
  }

  const Snapshot &snap_;
  const std::string &root_;
  Verdicts verdicts_;
  const std::int64_t lease_;
  Plan plan_;
  std::map<std::string, Cur> cur_;
  std::vector<std::string> erased_;
  std::set<std::string> parents_;
  std::map<std::string, std::int64_t> next_;
  std::vector<Step> steps_;
  std::set<std::string> stepped_nodes_, stepped_counters_;
};

}  // namespace

Plan plan_txn(const Txn &txn, const Snapshot &snapshot, const std::string &root,
              const std::string &prefix, std::int64_t lease) {
  return Planner(snapshot, root, prefix, lease).run(txn);
}

}  // namespace etcd
}  // namespace offkv
