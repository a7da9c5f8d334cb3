// offkv transactions on etcd: one offkv commit = one etcd Txn.
//
// The commit is planned on a snapshot (every key the transaction depends on, read at
// one revision): the ops are simulated in order exactly as mem:// applies them, which
// gives the exact index and reason of the first failing check or op. A plan that
// succeeds becomes one etcd Txn whose compares assert every fact the simulation used
// (each node's presence, version, and for parents their lease; each sequential
// counter's revision) and whose success branch holds the net writes. Its failure
// branch reads the same keys again, so a Txn that lost a race hands back a fresh
// snapshot at one revision: the plan is redone on it (bounded), and a failure found
// there is exact again.
//
// etcd allows one write per key in a Txn. A node that the transaction writes more
// than once (create then set, set twice, erase then create again) is written once,
// to a fresh alternate slot whose version offset gives it the version the other
// backends give it (etcd_keys.hpp); range deletes are split around the keys the
// same Txn puts.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../model.hpp"
#include "offkv/etcd/v3/rpc.pb.h"

namespace offkv {
namespace etcd {

struct NodeState {
  bool exists = false;
  std::int64_t version = 0;  // offkv's: the slot's etcd version + its offset
  std::int64_t lease = 0;
  std::string key;                // the slot it lives in
  std::int64_t etcd_version = 0;  // of that key
};

struct CounterState {
  bool exists = false;
  std::int64_t next = 0;  // the next sequential number
  std::int64_t mod = 0;   // the counter key's mod_revision
};

// Keys read at one revision; a node or counter missing here was not read.
struct Snapshot {
  std::map<std::string, NodeState> nodes;
  std::map<std::string, CounterState> counters;  // by parent path
};

struct Plan {
  std::set<std::string> nodes;     // consulted: guarded, read again on failure
  std::set<std::string> counters;  // parents whose counter was consulted
  std::set<std::string> guessed;   // consulted but not in the snapshot (taken as absent)
  bool failed = false;
  std::size_t index = 0;  // checks first, then ops
  int code = 0;
  std::string message;
  v3::TxnRequest request;  // compares and success ops
  std::vector<OpResult> results;
};

// root: the client's root ("/" or the prefix); prefix: for messages; lease: for
// ephemeral creates.
Plan plan_txn(const Txn &txn, const Snapshot &snapshot, const std::string &root,
              const std::string &prefix, std::int64_t lease);

// Shared by the single operations too.
void add_compare(v3::TxnRequest &t, const std::string &key,
                 v3::Compare::CompareTarget target, v3::Compare::CompareResult result,
                 std::int64_t value, const std::string &range_end = std::string());
void add_put(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
             const std::string &key, const std::string &value, std::int64_t lease,
             bool keep_lease = false, bool prev_kv = false);
void add_delete(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
                const std::string &key, const std::string &end = std::string());
void add_read(google::protobuf::RepeatedPtrField<v3::RequestOp> *ops,
              const std::string &key, bool keys_only = true);

}  // namespace etcd
}  // namespace offkv
