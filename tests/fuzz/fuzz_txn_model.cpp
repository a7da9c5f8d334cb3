// Random operations and transactions on mem://, two clients (two sessions) sharing one
// store, checked against a small model of the contract written here (docs/contract.md
// §3, §6): versions (1 at creation, +1 per write), ENOENT / EEXIST / EVERSION /
// EEPHEMERAL, subtree erase (never ENOTEMPTY), sequential names from a per-parent
// counter, ephemerals gone when their session closes, and transactions all-or-nothing
// with the exact failing index and code (checks counted first). Any disagreement
// aborts. Each input runs under a fresh prefix and leaves the store as it found it.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "key.hpp"

namespace {

struct MNode {
  std::int64_t version = 0;
  int owner = 0;  // 0 persistent, else the client (1, 2) whose session holds it
  std::string value;
};

struct Failure {
  int code;
};

// The contract, on client keys. Every mutation either completes or throws Failure
// having changed nothing that the caller keeps (the caller works on a copy).
struct Model {
  std::map<std::string, MNode> nodes;
  std::map<std::string, std::int64_t> counters;  // parent -> next sequential number

  const MNode *find(const std::string &k) const {
    auto it = nodes.find(k);
    return it == nodes.end() ? nullptr : &it->second;
  }

  void check_parent(const std::string &k) const {
    std::string parent = offkv::parent_path(k);
    if (parent == "/") return;
    const MNode *p = find(parent);
    if (!p) throw Failure{OFFKV_ENOENT};
    if (p->owner) throw Failure{OFFKV_EEPHEMERAL};
  }

  std::string create(const std::string &k, const std::string &v, int flags, int owner) {
    check_parent(k);
    std::string actual = k;
    if (flags & OFFKV_SEQUENTIAL)
      actual = offkv::sequential_path(k, counters[offkv::parent_path(k)]++);
    if (find(actual)) throw Failure{OFFKV_EEXIST};
    nodes[actual] = MNode{1, (flags & OFFKV_EPHEMERAL) ? owner : 0, v};
    return actual;
  }

  std::int64_t set(const std::string &k, const std::string &v, int owner) {
    auto it = nodes.find(k);
    if (it == nodes.end()) {
      create(k, v, 0, owner);
      return 1;
    }
    it->second.value = v;
    return ++it->second.version;
  }

  std::int64_t cas(const std::string &k, const std::string &v, std::int64_t expected,
                   int owner) {
    const MNode *n = find(k);
    if (expected == 0) {
      if (n) throw Failure{OFFKV_EVERSION};
      create(k, v, 0, owner);
      return 1;
    }
    if (!n || n->version != expected) throw Failure{OFFKV_EVERSION};
    return set(k, v, owner);
  }

  void erase(const std::string &k, std::int64_t expected) {
    const MNode *n = find(k);
    if (!n) throw Failure{OFFKV_ENOENT};
    if (expected != 0 && n->version != expected) throw Failure{OFFKV_EVERSION};
    for (auto it = nodes.begin(); it != nodes.end();)
      it = offkv::path_covers(k, it->first) ? nodes.erase(it) : std::next(it);
  }

  void check(const std::string &k, std::int64_t version) const {
    const MNode *n = find(k);
    std::int64_t actual = n ? n->version : 0;
    bool ok = version == OFFKV_ANY_VERSION ? actual != 0 : actual == version;
    if (ok) return;
    throw Failure{(version != 0 && actual == 0) ? OFFKV_ENOENT
                  : version == 0                ? OFFKV_EEXIST
                                                : OFFKV_EVERSION};
  }

  std::vector<std::string> children(const std::string &k) const {
    if (k != "/" && !find(k)) throw Failure{OFFKV_ENOENT};
    std::vector<std::string> out;
    for (const auto &e : nodes)
      if (offkv::parent_path(e.first) == k) out.push_back(e.first);
    return out;  // std::map: sorted bytewise, as offkv_children
  }

  void session_closed(int owner) {
    for (auto it = nodes.begin(); it != nodes.end();)
      it = it->second.owner == owner ? nodes.erase(it) : std::next(it);
  }
};

struct Item {
  int kind;  // 0 check, 1 create, 2 set, 3 erase
  std::string key, value;
  std::int64_t version = 0;
  int flags = 0;
};

unsigned long long round_number = 0;

class Run {
 public:
  Run(const uint8_t *data, size_t size) : in_(data, size) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "/m%012llu", ++round_number);
    url_ = std::string("mem://fuzz_txn_model") + prefix;
    open(1);
    open(2);
  }

  ~Run() {
    // Persistent nodes stay in the process-wide store: erase them, then end both
    // sessions.
    offkv_strings kids;
    expect(offkv_children(clients_[1], "/", &kids), OFFKV_OK, "cleanup children");
    for (size_t i = 0; i < kids.count; ++i)
      expect(offkv_erase(clients_[1], kids.items[i], 0), OFFKV_OK, "cleanup erase");
    offkv_strings_free(&kids);
    offkv_client_free(clients_[1]);
    offkv_client_free(clients_[2]);
  }

  void go() {
    for (int step = 0; step < 64 && in_.remaining_bytes() > 0; ++step) {
      int who = in_.ConsumeBool() ? 1 : 2;
      switch (in_.ConsumeIntegralInRange(0, 9)) {
        case 0:
          do_create(who);
          break;
        case 1:
          do_set(who);
          break;
        case 2:
          do_cas(who);
          break;
        case 3:
          do_erase(who);
          break;
        case 4:
          do_get(who);
          break;
        case 5:
          do_children(who);
          break;
        case 6:
          reopen(who);
          break;
        default:
          do_commit(who);
      }
    }
    compare_all();
  }

 private:
  void open(int who) {
    offkv_client *c = nullptr;
    int rc = offkv_open(url_.c_str(), nullptr, &c);
    FUZZ_CHECK(rc == OFFKV_OK, "open %s: %s", url_.c_str(), offkv_last_error());
    clients_[who] = c;
  }

  void reopen(int who) {
    offkv_client_free(clients_[who]);
    model_.session_closed(who);
    open(who);
  }

  static void expect(int rc, int want, const char *what) {
    FUZZ_CHECK(rc == want, "%s: got %s, the model says %s (%s)", what,
               offkv_error_name(rc), offkv_error_name(want), offkv_last_error());
  }

  std::string key() {
    static const char *const kTree[] = {"/a",     "/b",     "/c",     "/a/a",  "/a/b",
                                        "/a/c",   "/b/a",   "/b/b",   "/c/a",  "/a/a/a",
                                        "/a/a/b", "/a/b/a", "/b/a/a", "/c/a/a"};
    constexpr size_t kTreeSize = sizeof kTree / sizeof kTree[0];
    size_t i = in_.ConsumeIntegralInRange<size_t>(0, kTreeSize + made_.size() - 1);
    std::string k = i < kTreeSize ? kTree[i] : made_[i - kTreeSize];
    if (in_.ConsumeProbability<float>() < 0.1f) k += "/s";  // below a sequential one
    return k;
  }
  std::string value() { return in_.ConsumeRandomLengthString(8); }
  // Versions near the key's actual one, so that matches and mismatches both happen.
  std::int64_t version_for(const std::string &k, bool any_allowed) {
    const MNode *n = model_.find(k);
    std::int64_t actual = n ? n->version : 0;
    switch (in_.ConsumeIntegralInRange(0, 5)) {
      case 0:
        return 0;
      case 1:
      case 2:
        return actual;
      case 3:
        return actual + 1;
      case 4:
        return any_allowed ? OFFKV_ANY_VERSION : actual;
      default:
        return in_.ConsumeIntegralInRange<std::int64_t>(1, 4);
    }
  }
  int flags() { return in_.ConsumeIntegralInRange(0, 3); }

  void learn(const std::string &k) {
    if (made_.size() < 64) made_.push_back(k);
  }

  void do_create(int who) {
    std::string k = key(), v = value();
    int f = flags();
    char *created = nullptr;
    Model next = model_;
    int want = OFFKV_OK;
    std::string actual;
    try {
      actual = next.create(k, v, f, who);
    } catch (const Failure &e) {
      want = e.code;
    }
    int rc = offkv_create(clients_[who], k.c_str(), v.data(), v.size(), f, &created);
    expect(rc, want, ("create " + k).c_str());
    if (rc == OFFKV_OK) {
      FUZZ_CHECK(actual == created, "create %s: created %s, the model says %s", k.c_str(),
                 created, actual.c_str());
      model_ = std::move(next);
      if (f & OFFKV_SEQUENTIAL) learn(actual);
    }
    offkv_string_free(created);
  }

  void do_set(int who) {
    std::string k = key(), v = value();
    Model next = model_;
    int want = OFFKV_OK;
    std::int64_t version = 0, got = 0;
    try {
      version = next.set(k, v, who);
    } catch (const Failure &e) {
      want = e.code;
    }
    expect(offkv_set(clients_[who], k.c_str(), v.data(), v.size(), &got), want,
           ("set " + k).c_str());
    FUZZ_CHECK(got == version, "set %s: version %" PRId64 ", the model says %" PRId64,
               k.c_str(), got, version);
    if (want == OFFKV_OK) model_ = std::move(next);
  }

  void do_cas(int who) {
    std::string k = key(), v = value();
    std::int64_t expected = version_for(k, false);
    Model next = model_;
    int want = OFFKV_OK;
    std::int64_t version = 0, got = 0;
    try {
      version = next.cas(k, v, expected, who);
    } catch (const Failure &e) {
      want = e.code;
    }
    expect(offkv_cas(clients_[who], k.c_str(), v.data(), v.size(), expected, &got), want,
           ("cas " + k).c_str());
    FUZZ_CHECK(got == version, "cas %s: version %" PRId64 ", the model says %" PRId64,
               k.c_str(), got, version);
    if (want == OFFKV_OK) model_ = std::move(next);
  }

  void do_erase(int who) {
    std::string k = key();
    std::int64_t expected = version_for(k, false);
    Model next = model_;
    int want = OFFKV_OK;
    try {
      next.erase(k, expected);
    } catch (const Failure &e) {
      want = e.code;
    }
    expect(offkv_erase(clients_[who], k.c_str(), expected), want, ("erase " + k).c_str());
    if (want == OFFKV_OK) model_ = std::move(next);
  }

  void do_get(int who) {
    std::string k = key();
    const MNode *n = model_.find(k);
    offkv_buf buf;
    std::int64_t version = 0;
    expect(offkv_get(clients_[who], k.c_str(), &buf, &version),
           n ? OFFKV_OK : OFFKV_ENOENT, ("get " + k).c_str());
    if (n) {
      FUZZ_CHECK(version == n->version && std::string(buf.data, buf.len) == n->value,
                 "get %s: version %" PRId64 ", the model says %" PRId64, k.c_str(),
                 version, n->version);
      offkv_buf_free(&buf);
    }
    std::int64_t exists = -1;
    expect(offkv_exists(clients_[who], k.c_str(), &exists), OFFKV_OK, "exists");
    FUZZ_CHECK(exists == (n ? n->version : 0), "exists %s: %" PRId64, k.c_str(), exists);
  }

  void do_children(int who) {
    std::string k = in_.ConsumeBool() ? std::string("/") : key();
    std::vector<std::string> want;
    int code = OFFKV_OK;
    try {
      want = model_.children(k);
    } catch (const Failure &e) {
      code = e.code;
    }
    offkv_strings kids;
    expect(offkv_children(clients_[who], k.c_str(), &kids), code,
           ("children " + k).c_str());
    if (code != OFFKV_OK) return;
    std::vector<std::string> got(kids.items, kids.items + kids.count);
    offkv_strings_free(&kids);
    FUZZ_CHECK(got == want, "children %s: %zu children, the model says %zu", k.c_str(),
               got.size(), want.size());
  }

  void do_commit(int who) {
    // Up to one above the limit (ETOOBIG); sometimes an invalid version (EINVAL).
    size_t n = in_.ConsumeIntegralInRange<size_t>(0, OFFKV_MAX_TXN_OPS + 1);
    std::vector<Item> checks, ops;
    bool invalid = false;
    Model next = model_;  // the keys' versions as seen by version_for: the model's
    for (size_t i = 0; i < n; ++i) {
      Item it;
      it.kind = in_.ConsumeIntegralInRange(0, 3);
      it.key = key();
      if (it.kind == 0) {
        it.version = version_for(it.key, true);
        if (in_.ConsumeProbability<float>() < 0.02f) it.version = -2, invalid = true;
        checks.push_back(it);
      } else {
        it.value = value();
        it.flags = it.kind == 1 ? flags() : 0;
        if (it.kind == 3) it.version = version_for(it.key, false);
        ops.push_back(it);
      }
    }
    offkv_txn *t = nullptr;
    expect(offkv_txn_new(&t), OFFKV_OK, "txn_new");
    // Added in an order mixing checks and ops: offkv keeps checks first anyway.
    size_t ci = 0, oi = 0;
    while (ci < checks.size() || oi < ops.size()) {
      bool take_check = ci < checks.size() && (oi == ops.size() || in_.ConsumeBool());
      const Item &it = take_check ? checks[ci++] : ops[oi++];
      int rc = OFFKV_OK;
      switch (it.kind) {
        case 0:
          rc = offkv_txn_check(t, it.key.c_str(), it.version);
          break;
        case 1:
          rc = offkv_txn_create(t, it.key.c_str(), it.value.data(), it.value.size(),
                                it.flags);
          break;
        case 2:
          rc = offkv_txn_set(t, it.key.c_str(), it.value.data(), it.value.size());
          break;
        default:
          rc = offkv_txn_erase(t, it.key.c_str(), it.version);
      }
      expect(rc, OFFKV_OK, "txn_add");
    }

    int want = OFFKV_OK;
    size_t failed_index = 0;
    int failed_code = 0;
    std::vector<std::pair<std::int64_t, std::string>> results;
    if (checks.size() + ops.size() > OFFKV_MAX_TXN_OPS) {
      want = OFFKV_ETOOBIG;
    } else if (invalid) {
      want = OFFKV_EINVAL;
    } else {
      size_t index = 0;
      try {
        for (const auto &c : checks) {
          next.check(c.key, c.version);
          ++index;
        }
        for (const auto &op : ops) {
          switch (op.kind) {
            case 1:
              results.emplace_back(1, next.create(op.key, op.value, op.flags, who));
              break;
            case 2:
              results.emplace_back(next.set(op.key, op.value, who), op.key);
              break;
            default:
              next.erase(op.key, op.version);
              results.emplace_back(0, op.key);
          }
          ++index;
        }
      } catch (const Failure &e) {
        want = OFFKV_ETXN;
        failed_index = index;
        failed_code = e.code;
      }
    }

    offkv_txn_result r = OFFKV_TXN_RESULT_INIT;
    int rc = offkv_commit(clients_[who], t, &r);
    offkv_txn_free(t);
    expect(rc, want, "commit");
    if (rc == OFFKV_ETXN)
      FUZZ_CHECK(r.failed_index == failed_index && r.failed_code == failed_code,
                 "commit failed at %zu with %s, the model says %zu with %s (%s)",
                 r.failed_index, offkv_error_name(r.failed_code), failed_index,
                 offkv_error_name(failed_code), offkv_last_error());
    if (rc == OFFKV_OK) {
      FUZZ_CHECK(r.count == results.size(), "commit: %zu results for %zu ops", r.count,
                 results.size());
      for (size_t i = 0; i < r.count; ++i) {
        FUZZ_CHECK(
            r.ops[i]->version == results[i].first && results[i].second == r.ops[i]->key,
            "commit op %zu: %" PRId64 " %s, the model says %" PRId64 " %s", i,
            r.ops[i]->version, r.ops[i]->key, results[i].first,
            results[i].second.c_str());
        if (ops[i].kind == 1 && (ops[i].flags & OFFKV_SEQUENTIAL))
          learn(results[i].second);
      }
      model_ = std::move(next);
    }
    offkv_txn_result_free(&r);
    if (rc != OFFKV_OK) compare_all();  // nothing of a failed commit may show
  }

  // The whole store as either client sees it, against the model.
  void compare_all() {
    std::vector<std::string> seen;
    walk("/", seen);
    std::vector<std::string> want;
    for (const auto &e : model_.nodes) want.push_back(e.first);
    std::sort(seen.begin(), seen.end());
    FUZZ_CHECK(seen == want, "the store holds %zu nodes, the model %zu", seen.size(),
               want.size());
  }

  void walk(const std::string &k, std::vector<std::string> &out) {
    offkv_strings kids;
    expect(offkv_children(clients_[1], k.c_str(), &kids), OFFKV_OK, "walk");
    std::vector<std::string> names(kids.items, kids.items + kids.count);
    offkv_strings_free(&kids);
    for (const auto &c : names) {
      const MNode *n = model_.find(c);
      FUZZ_CHECK(n != nullptr, "the store holds %s, the model does not", c.c_str());
      offkv_buf buf;
      std::int64_t version = 0;
      expect(offkv_get(clients_[2], c.c_str(), &buf, &version), OFFKV_OK, "walk get");
      FUZZ_CHECK(version == n->version && std::string(buf.data, buf.len) == n->value,
                 "%s: version %" PRId64 ", the model says %" PRId64, c.c_str(), version,
                 n->version);
      offkv_buf_free(&buf);
      out.push_back(c);
      walk(c, out);
    }
  }

  FuzzedDataProvider in_;
  std::string url_;
  offkv_client *clients_[3] = {nullptr, nullptr, nullptr};
  Model model_;
  std::vector<std::string> made_;  // sequential keys created, usable as keys
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Run run(data, size);
  run.go();
  return 0;
}
