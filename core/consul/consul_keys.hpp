// How offkv's tree is laid out in Consul's KV store (docs/consul-notes.md), and the
// small encodings the HTTP API needs (base64 values, escaped URLs, JSON entries).
//
//   node    N(P) = "offkv/n" enc(P)      value = P's value, Flags = P's version,
//                                        Session = the owner of an ephemeral P
//   counter S(P) = "offkv/s" enc(P)      P's next sequential number (decimal text)
//
// enc keeps '/' and printable ASCII and writes '%' and every other byte as %XX: the
// agent refuses URLs with characters Go deems unprintable (NBSP, U+200B, ...), and
// offkv keys may hold them. So
//   - the direct children of P are ONE listing: keys of "N(P)/" up to the next '/'
//     (GET /v1/kv/N(P)/?keys&separator=/), never the subtree;
//   - P's subtree is N(P) plus the prefix "N(P)/": "/a" never matches "/ab";
//   - the counters live apart, so an erased and re-created parent keeps counting.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consul_http.hpp"

namespace offkv {
namespace consul {

std::string enc_path(std::string_view path);  // "/a/b" -> "/a/b" (escaped); "/" -> ""
std::string node_key(std::string_view path);
std::string children_prefix(std::string_view path);  // node_key(path) + "/"
std::string counter_key(std::string_view parent);
// The offkv path of a node key ("offkv/n/a/b" -> "/a/b"); nullopt for anything else
// (a folder key ending in '/', the bare "offkv/n", a malformed escape).
std::optional<std::string> path_of(std::string_view consul_key);
// One child name of a listing of children_prefix(P): "N(P)/c" -> "c"; nullopt for
// folder keys ("N(P)/c/") and anything malformed.
std::optional<std::string> child_name(std::string_view consul_key,
                                      std::string_view prefix);

// For the URL path: every byte but unreserved characters and '/' as %XX.
std::string url_escape(std::string_view consul_key);
std::string base64_encode(std::string_view bytes);
bool base64_decode(std::string_view text, std::string &out);

// A KV entry as offkv sees it.
struct Entry {
  bool present = false;
  std::string key;
  std::string value;
  std::int64_t version = 0;  // Flags (at least 1 for an entry offkv did not write)
  std::uint64_t create_index = 0, modify_index = 0;
  std::string session;  // non-empty: ephemeral, owned by this Consul session
};

// Parses one entry object of /v1/kv or of txn results; throws std::runtime_error.
Entry parse_entry(const nlohmann::json &j);

// ---- The reads both the backend and the watches make ----
// consistency: "" (Consul's default: the leader answers), "consistent" or "stale".

// GET /v1/kv/N(P): the node or an absent Entry; Response::index is the read's index.
Request key_read(std::string_view path, const std::string &consistency, int timeout_ms);
// The same for any Consul key (the counters).
Request kv_read(const std::string &consul_key, const std::string &consistency,
                int timeout_ms);
// 200 -> the entry, 404 -> absent; anything else throws (fail_response).
Entry parse_key_read(const Response &r, const std::string &what, bool closed);

// GET /v1/kv/N(P)/?keys&separator=/: the direct children, never the subtree.
Request children_read(std::string_view path, const std::string &consistency,
                      int timeout_ms);
// The child names (unsorted); 404 = none.
std::vector<std::string> parse_children_read(const Response &r, std::string_view path,
                                             const std::string &what, bool closed);

// GET /v1/kv/N(P)/?recurse: every node strictly below P (values included).
Request subtree_read(std::string_view path, const std::string &consistency,
                     int timeout_ms);
std::vector<Entry> parse_subtree_read(const Response &r, const std::string &what,
                                      bool closed);

// ---- /v1/txn answers ----

struct TxnAnswer {
  bool ok = false;
  std::size_t failed = 0;  // first failing Consul op
  std::string what;        // Consul's words for it
  nlohmann::json results;  // 200: the Results array ([] for null)
};

// A 200 or 409 answer of a /v1/txn of nops operations: the results, or the first
// failing operation and Consul's words for it. Throws ESERVICE for anything else
// (not JSON, not a transaction answer, an OpIndex that is not one of the ops).
TxnAnswer parse_txn_answer(const Response &r, std::size_t nops, const std::string &what);

}  // namespace consul
}  // namespace offkv
