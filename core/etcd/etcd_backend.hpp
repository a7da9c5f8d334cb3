// etcd://host:port[,host:port...][/prefix] and etcds:// (TLS) — the etcd v3 backend
// (gRPC + Protobuf, stubs generated at build time from core/etcd/proto).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "../backend.hpp"
#include "etcd_txn.hpp"

namespace offkv {

std::unique_ptr<Backend> make_etcd_backend(const Endpoint &endpoint,
                                           const Options &options);

namespace etcd {

// The pure part of reading etcd's answers, apart from the connection (the fuzz target
// tests/fuzz/fuzz_etcd_decode.cpp drives it with arbitrary responses).

// One key as read: a node's slot, or a counter.
struct KeyState {
  bool exists = false;
  std::int64_t etcd_version = 0, lease = 0, mod = 0, offset = 0;
  bool alt = false;  // in an alternate slot
  std::string key, value;
  std::int64_t version() const { return exists ? etcd_version + offset : 0; }
};

// The first key of a range read: a node's slot (or a counter). Throws ESERVICE for a
// node whose version is out of offkv's range.
KeyState state_of(const v3::RangeResponse &r);
// A sequential counter as read.
CounterState counter_of(const KeyState &s);
// The i-th response of a Txn, of the given kind; ESERVICE if it is missing or of
// another kind.
const v3::ResponseOp &response_at(const v3::TxnResponse &r, int i,
                                  v3::ResponseOp::ResponseCase kind);
// The i-th response of a Txn, as a range read (ESERVICE as response_at).
const v3::RangeResponse &range_at(const v3::TxnResponse &r, int i);
// The snapshot a read-only Txn of the slots of `paths`, then of the counters of
// `counters` (in set order), answered.
Snapshot snapshot_of(const v3::TxnResponse &resp, const std::set<std::string> &paths,
                     const std::set<std::string> &counters);
// The child paths of path from a read of its children range; found = path's slot was
// among the keys, version = its offkv version (0 if out of range). Keys that are not
// about path are ignored.
std::vector<std::string> children_of(const v3::RangeResponse &resp,
                                     const std::string &path, std::int64_t &version,
                                     bool &found);

}  // namespace etcd
}  // namespace offkv
