// Backend-neutral data model shared by the core and every backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace offkv {

struct Options {
  std::int32_t session_timeout_ms = 10000;
  std::int32_t connect_timeout_ms = 10000;
  std::int32_t operation_timeout_ms = 10000;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  std::string username, password, token;
  int read_consistency = 0;
  // zk:// only: the ACL of created nodes, "creator" (only the digest user: the
  // default with a username) or "open" (anyone); "" = the default.
  std::string zk_acl;
};

// One parsed URL: scheme://host:port,host:port/prefix?query (or mem://NAME/prefix).
struct Endpoint {
  std::string scheme;              // "mem", "zk", "etcd", "etcds", "consul", "consuls"
  std::vector<std::string> hosts;  // "host:port" each; for mem, one entry: the NAME
  std::string prefix;              // "" or "/a/b"
  bool tls = false;
};

struct Node {
  std::string value;
  std::int64_t version = 0;
};

// The largest version a stored node may have: one more set must still fit in an
// int64. A backend that reads a larger (or negative) version from the store reports
// the node as Err::eservice, naming the key (foreign or damaged data).
constexpr std::int64_t kMaxVersion = INT64_MAX - 1;

// Every event the core hands to users; paths are backend (full) paths inside the
// core and are turned into client keys at delivery.
struct Event {
  int type = 0;  // offkv_event_type
  std::string path;
  std::int64_t version = -1;
  int session_state = 0;
  int error = 0;
  std::string message;
};

enum class TxnOpKind { Check, Create, Set, Erase };

struct TxnOp {
  TxnOpKind kind = TxnOpKind::Check;
  std::string path;  // client key in an offkv_txn, full path once handed to a backend
  std::string value;
  std::int64_t version = 0;  // check: expected; erase: expected (0 = any)
  int flags = 0;             // create: NodeFlag::ephemeral | NodeFlag::sequential
};

// Checks come first, then ops, each in call order; failing indexes count the same way.
struct Txn {
  std::vector<TxnOp> checks;
  std::vector<TxnOp> ops;
};

struct OpResult {
  std::int64_t version = 0;
  std::string path;
};

}  // namespace offkv
