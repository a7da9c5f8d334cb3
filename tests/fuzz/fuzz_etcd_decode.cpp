// etcd answers as the etcd backend decodes them (core/etcd/): Range, Txn and Watch
// responses parsed from the input with protobuf's ParseFromArray, then handed to the
// backend's own conversion code — key classification (etcd_keys), node slots and
// alternate slots (state_of, snapshot_of, children_of), a transaction planned on the
// decoded snapshot (plan_txn), watch event conversion (watch_events,
// next_revision_after) and the resync diff (missed_changes). Whatever the server sends,
// the result is a value or offkv::Error(OFFKV_ESERVICE); nothing else escapes, and
// events name paths inside the watched range.
//
// Input: byte 0 picks the message and the function, bytes 1..4 are parameters, the
// rest is the serialized protobuf message (make_seeds.sh writes such files).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "error.hpp"
#include "etcd/etcd_backend.hpp"
#include "etcd/etcd_keys.hpp"
#include "etcd/etcd_txn.hpp"
#include "etcd/etcd_watches.hpp"
#include "fuzz_check.hpp"
#include "key.hpp"

namespace {

using namespace offkv;
using namespace offkv::etcd;

const char *const kPaths[] = {"/a", "/a/b", "/a/b/c", "/b", "/a/b0000000001"};
constexpr unsigned kNumPaths = sizeof kPaths / sizeof kPaths[0];

// Runs fn; an offkv::Error must be ESERVICE (the server said something unexpected).
template <typename Fn>
bool decoded(Fn fn, const char *what) {
  try {
    fn();
    return true;
  } catch (const Error &e) {
    FUZZ_CHECK(e.code() == OFFKV_ESERVICE, "%s threw %s: %s", what,
               offkv_error_name(e.code()), e.what());
    return false;
  }
}

void check_events(const std::vector<Event> &events, WatchKind kind,
                  const std::string &path) {
  if (kind != WatchKind::Persistent)
    FUZZ_CHECK(events.size() <= 1, "one-shot fired twice");
  for (const auto &e : events) {
    FUZZ_CHECK(e.type >= OFFKV_EVENT_CREATED && e.type <= OFFKV_EVENT_CHILDREN,
               "event type %d", e.type);
    FUZZ_CHECK(path_covers(path, e.path), "event on %s for a watch on %s", e.path.c_str(),
               path.c_str());
    if (e.type == OFFKV_EVENT_CREATED || e.type == OFFKV_EVENT_CHANGED)
      FUZZ_CHECK(e.version >= 1 && e.version <= kMaxVersion, "version %lld",
                 static_cast<long long>(e.version));
  }
}

void range(const v3::RangeResponse &resp, const uint8_t *p) {
  const std::string path = kPaths[p[0] % kNumPaths];
  decoded(
      [&] {
        KeyState s = state_of(resp);
        if (s.exists) counter_of(s);
      },
      "state_of");
  std::int64_t version = 0;
  bool found = false;
  for (const auto &child : children_of(resp, path, version, found))
    FUZZ_CHECK(offkv::parent_path(child) == path && child.size() > path.size() + 1,
               "child path '%s' of %s", child.c_str(), path.c_str());
  Armed armed{static_cast<std::int64_t>(p[1] % 4), p[2] % 4u};
  std::int64_t since = p[3];
  for (auto kind :
       {WatchKind::Data, WatchKind::Exists, WatchKind::Children, WatchKind::Persistent})
    check_events(missed_changes(kind, path, armed, since, resp), kind, path);
}

void txn(const v3::TxnResponse &resp, const uint8_t *p) {
  // The keys the backend asked for, in the order it asked.
  std::set<std::string> paths, counters;
  for (unsigned i = 0; i < kNumPaths; ++i) {
    if (p[0] & (1u << i)) paths.insert(kPaths[i]);
    if (p[1] & (1u << i)) counters.insert(offkv::parent_path(kPaths[i]));
  }
  Snapshot snap;
  if (!decoded([&] { snap = snapshot_of(resp, paths, counters); }, "snapshot_of")) return;
  // A transaction planned on what was decoded.
  Txn t;
  for (unsigned i = 0; i < (p[2] & 7u); ++i) {
    TxnOp op;
    op.path = kPaths[(p[3] + i) % kNumPaths];
    unsigned kind = (p[2] >> 3) + i;
    op.kind = kind % 4 == 0   ? TxnOpKind::Check
              : kind % 4 == 1 ? TxnOpKind::Create
              : kind % 4 == 2 ? TxnOpKind::Set
                              : TxnOpKind::Erase;
    op.flags = static_cast<int>((p[3] >> 4) & 3u);
    op.version = op.kind == TxnOpKind::Check ? static_cast<std::int64_t>(i % 3) - 1 : 0;
    (op.kind == TxnOpKind::Check ? t.checks : t.ops).push_back(op);
  }
  Plan plan;
  if (!decoded([&] { plan = plan_txn(t, snap, "/", "", 7); }, "plan_txn")) return;
  if (plan.failed) {
    FUZZ_CHECK(plan.index < t.checks.size() + t.ops.size(), "failed index %zu",
               plan.index);
    FUZZ_CHECK(
        plan.code > OFFKV_OK && plan.code < OFFKV_ERROR_COUNT && plan.code != OFFKV_ETXN,
        "failed code %d", plan.code);
  } else {
    FUZZ_CHECK(plan.results.size() == t.ops.size(), "%zu results for %zu ops",
               plan.results.size(), t.ops.size());
    for (const auto &r : plan.results)
      if (r.version != 0)
        FUZZ_CHECK(r.version >= 1 && r.version <= kMaxVersion, "result version %lld",
                   static_cast<long long>(r.version));
  }
}

void watch(const v3::WatchResponse &resp, const uint8_t *p) {
  const std::string path = kPaths[p[0] % kNumPaths];
  for (auto kind :
       {WatchKind::Data, WatchKind::Exists, WatchKind::Children, WatchKind::Persistent})
    check_events(watch_events(kind, path, resp), kind, path);
  std::int64_t next = p[1];
  FUZZ_CHECK(next_revision_after(resp, next) >= next, "resume revision went back");
}

// Raw keys: classification never yields a path an offkv key could not be, and the
// layout's own keys classify back to what made them.
void keys(const uint8_t *data, size_t size) {
  std::string key(reinterpret_cast<const char *>(data), size);
  KeyInfo info = classify(key);
  std::int64_t version = 0;
  if (info.kind == KeyKind::Node && node_version(info, 1, version))
    FUZZ_CHECK(version >= 1 && version <= kMaxVersion, "node version");
  const std::string path = kPaths[size % kNumPaths];
  KeyInfo back = classify(node_key(path));
  FUZZ_CHECK(back.kind == KeyKind::Node && back.path == path && !back.alt, "node_key");
  back = classify(child_key(path));
  FUZZ_CHECK(back.kind == KeyKind::Child && back.path == path, "child_key");
  back = classify(alt_slot_key(path, static_cast<std::int64_t>(size), "b3"));
  FUZZ_CHECK(back.kind == KeyKind::Node && back.alt && !back.bad && back.how == 'b' &&
                 back.from == 3 && back.offset == static_cast<std::int64_t>(size),
             "alt_slot_key");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  google::protobuf::SetLogHandler(nullptr);  // "invalid UTF-8" lines, by the million
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  const uint8_t *params = data + 1;
  const uint8_t *body = data + 5;
  const int len = static_cast<int>(size - 5);
  switch (data[0] % 4) {
    case 0: {
      v3::RangeResponse r;
      if (r.ParseFromArray(body, len)) range(r, params);
      break;
    }
    case 1: {
      v3::TxnResponse r;
      if (r.ParseFromArray(body, len)) txn(r, params);
      break;
    }
    case 2: {
      v3::WatchResponse r;
      if (r.ParseFromArray(body, len)) watch(r, params);
      break;
    }
    default:
      keys(body, size - 5);
  }
  return 0;
}
