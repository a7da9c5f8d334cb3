// The core's own codes and limits. capi/offkv.h publishes the same numbers to users
// (offkv_error, offkv_event_type, ...); capi/codes_check.cpp static_asserts that they
// stay equal, so the core never needs the public header.
#pragma once

#include <cstdint>

namespace offkv {

// Error codes (offkv_error). Lower-case names: ENOENT and friends are errno macros.
struct Err {
  static constexpr int ok = 0;
  static constexpr int einval = 1;         // bad argument, key or URL
  static constexpr int enoent = 2;         // no such node (or missing parent)
  static constexpr int eexist = 3;         // node already exists
  static constexpr int eversion = 4;       // version does not match
  static constexpr int eephemeral = 5;     // ephemeral nodes cannot have children
  static constexpr int enotempty = 6;      // node has children
  static constexpr int etoobig = 7;        // value, key or transaction above the limit
  static constexpr int etxn = 8;           // transaction failed
  static constexpr int econnloss = 9;      // connection lost; outcome unknown
  static constexpr int esession = 10;      // session expired
  static constexpr int etimeout = 11;      // operation or wait timed out
  static constexpr int eauth = 12;         // authentication or permission failure
  static constexpr int etls = 13;          // TLS set-up or handshake failure
  static constexpr int eclosed = 14;       // the client or watch was closed
  static constexpr int eunsupported = 15;  // not supported
  static constexpr int eservice = 16;      // the backend answered something unexpected
  static constexpr int enomem = 17;        // out of memory
  static constexpr int einternal = 18;     // a bug in offkv
  static constexpr int count = 19;         // every code is in [0, count)
};

// Watch, session and recipe event types (offkv_event_type).
struct EventType {
  static constexpr int created = 1;
  static constexpr int deleted = 2;
  static constexpr int changed = 3;
  static constexpr int children = 4;
  static constexpr int ended = 5;
  static constexpr int session = 6;
  static constexpr int leader = 7;
  static constexpr int not_leader = 8;
  static constexpr int detected = 9;
  static constexpr int members = 10;
};

// Session states (offkv_session_state).
struct SessionState {
  static constexpr int connected = 1;
  static constexpr int suspended = 2;
  static constexpr int lost = 3;
  static constexpr int closed = 4;
};

// Node creation flags (NodeFlag::ephemeral, NodeFlag::sequential).
struct NodeFlag {
  static constexpr int ephemeral = 1;
  static constexpr int sequential = 2;
};

// Read consistency (offkv_read_consistency).
struct ReadMode {
  static constexpr int linearizable = 0;
  static constexpr int serializable = 1;
};

// Expected version meaning "exists, any version" (kAnyVersion).
constexpr std::int64_t kAnyVersion = -1;

// Limits, the same on every backend (docs/semantics.md says why).
struct Limit {
  static constexpr int max_value_size = 256 * 1024;
  static constexpr int max_key_size = 4096;
  static constexpr int max_segment_size = 255;
  static constexpr int max_txn_ops = 16;
  static constexpr int session_timeout_default_ms = 10000;
  static constexpr int session_timeout_min_ms = 2000;
  static constexpr int session_timeout_max_ms = 60000;
};

}  // namespace offkv
