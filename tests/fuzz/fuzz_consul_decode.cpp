// Consul answers as the Consul backend decodes them (core/consul/): KV reads of a key,
// of children (?keys&separator=/) and of a subtree (?recurse), /v1/txn answers, and
// the watches' change diffing (diff_node, diff_children, diff_tree) fed with decoded
// entries; plus the key and value encodings. Whatever the agent sends, decoding gives
// facts or an offkv::Error with a code of the contract; the diff of a state against
// itself is empty, and events name paths inside the watched subtree.
//
// Input: byte 0 picks the function, bytes 1..4 are parameters (HTTP status, X-Consul-
// Index, which path), the rest is the HTTP body (make_seeds.sh writes such files from
// answers of a real agent).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "consul/consul_http.hpp"
#include "consul/consul_keys.hpp"
#include "consul/consul_watches.hpp"
#include "error.hpp"
#include "fuzz_check.hpp"
#include "key.hpp"

namespace {

using namespace offkv;
using namespace offkv::consul;

const char *const kPaths[] = {"/", "/a", "/a/b", "/svc", "/a/b0000000001"};
constexpr unsigned kNumPaths = sizeof kPaths / sizeof kPaths[0];
const long kStatus[] = {200, 200, 200, 404, 409, 500, 403, 413, 400, 503};

template <typename Fn>
bool decoded(Fn fn, const char *what) {
  try {
    fn();
    return true;
  } catch (const Error &e) {
    FUZZ_CHECK(e.code() > OFFKV_OK && e.code() < OFFKV_ERROR_COUNT &&
                   e.code() != OFFKV_EINTERNAL && e.code() != OFFKV_ETXN,
               "%s threw %s: %s", what, offkv_error_name(e.code()), e.what());
    FUZZ_CHECK(e.what()[0] != '\0', "%s: no message", what);
    return false;
  }
}

void check_changes(const std::vector<Change> &changes, const std::string &path) {
  for (const auto &c : changes) {
    FUZZ_CHECK(c.type >= OFFKV_EVENT_CREATED && c.type <= OFFKV_EVENT_CHILDREN,
               "event type %d", c.type);
    FUZZ_CHECK(path_covers(path, c.path), "event on %s below %s", c.path.c_str(),
               path.c_str());
    if (c.type == OFFKV_EVENT_CREATED || c.type == OFFKV_EVENT_CHANGED)
      FUZZ_CHECK(c.version >= 1 && c.version <= kMaxVersion, "version %lld",
                 static_cast<long long>(c.version));
  }
}

Known known_of(const Entry &e) { return {e.create_index, e.modify_index, e.version}; }

void key_read(const Response &r, const std::string &path) {
  Entry e;
  if (!decoded([&] { e = parse_key_read(r, "get", false); }, "parse_key_read")) return;
  if (e.present) FUZZ_CHECK(e.version >= 1 && e.version <= kMaxVersion, "entry version");
  // A watch armed on this state sees nothing in the same state; one armed on an
  // absent node sees its creation.
  FUZZ_CHECK(diff_node(path, e.present, known_of(e), e, r.index).empty(),
             "diff of a node against itself");
  auto created = diff_node(path, false, Known{}, e, r.index);
  FUZZ_CHECK(created.size() == (e.present ? 1u : 0u), "creation seen %zu times",
             created.size());
  check_changes(created, path);
  check_changes(diff_node(path, true, Known{1, 1, 1}, e, r.index), path);
}

void children_read(const Response &r, const std::string &path) {
  std::vector<std::string> names;
  if (!decoded([&] { names = parse_children_read(r, path, "list", false); },
               "parse_children_read"))
    return;
  for (const auto &n : names)
    FUZZ_CHECK(!n.empty() && n.find('/') == std::string::npos, "child name '%s'",
               n.c_str());
  Entry node;
  node.present = true;
  node.create_index = 1;
  std::set<std::string> set(names.begin(), names.end());
  FUZZ_CHECK(diff_children(path, true, known_of(node), set, node, r.index, names, r.index)
                 .empty(),
             "diff of children against themselves");
  check_changes(diff_children(path, true, known_of(node), {}, node, r.index, names, 1),
                path);
}

void subtree_read(const Response &r, const std::string &path) {
  std::vector<Entry> entries;
  if (!decoded([&] { entries = parse_subtree_read(r, "watch", false); },
               "parse_subtree_read"))
    return;
  Entry none;
  std::map<std::string, Known> known;
  auto first = diff_tree(path, known, none, r.index, entries, r.index);
  check_changes(first, path);
  // Every node now known was reported created; the same state again: nothing.
  std::size_t created = 0;
  for (const auto &c : first) created += c.type == OFFKV_EVENT_CREATED;
  FUZZ_CHECK(created == known.size(), "%zu created for %zu nodes", created, known.size());
  FUZZ_CHECK(diff_tree(path, known, none, r.index, entries, r.index).empty(),
             "diff of a subtree against itself");
  // Everything gone: one DELETED per node.
  std::size_t nodes = known.size();
  auto gone = diff_tree(path, known, none, r.index + 1, {}, r.index + 1);
  FUZZ_CHECK(gone.size() == nodes && known.empty(), "%zu deleted for %zu nodes",
             gone.size(), nodes);
}

void txn_answer(const Response &r, std::size_t nops) {
  TxnAnswer t;
  if (!decoded([&] { t = parse_txn_answer(r, nops, "commit"); }, "parse_txn_answer"))
    return;
  if (t.ok) {
    FUZZ_CHECK(r.status == 200 && t.results.is_array(), "results");
  } else {
    FUZZ_CHECK(r.status == 409 && t.failed < nops, "failed op %zu of %zu", t.failed,
               nops);
  }
}

void encodings(const std::string &bytes) {
  std::string back;
  FUZZ_CHECK(base64_decode(base64_encode(bytes), back) && back == bytes, "base64");
  base64_decode(bytes, back);
  auto p = path_of(bytes);
  if (p) FUZZ_CHECK(!p->empty() && (*p)[0] == '/', "path_of gave '%s'", p->c_str());
  child_name(bytes, "offkv/n/a/");
  // A path of segments without '/': its node key decodes back to it.
  std::string path = "/";
  for (char c : bytes) path += c == '/' || c == '\0' ? 'x' : c;
  if (path.size() > 1) {
    auto again = path_of(node_key(path));
    FUZZ_CHECK(again && *again == path, "node_key/path_of round trip");
    auto name = child_name(node_key(path), children_prefix("/"));
    FUZZ_CHECK(name && *name == path.substr(1), "child_name round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  Response r;
  r.status = kStatus[data[1] % (sizeof kStatus / sizeof kStatus[0])];
  r.index = data[2];
  const std::string path = kPaths[data[3] % kNumPaths];
  r.body.assign(reinterpret_cast<const char *>(data + 5), size - 5);
  switch (data[0] % 5) {
    case 0:
      if (path != "/") key_read(r, path);
      break;
    case 1:
      children_read(r, path);
      break;
    case 2:
      subtree_read(r, path);
      break;
    case 3:
      r.status = data[1] & 1 ? 409 : 200;
      txn_answer(r, data[4] % 8);
      break;
    default:
      encodings(r.body);
  }
  return 0;
}
