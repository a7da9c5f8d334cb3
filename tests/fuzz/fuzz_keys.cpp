// Every key-taking entry point of the C API on mem://, with arbitrary bytes as keys,
// values, flags and versions: each call returns one of the OFFKV_E* codes (never
// EINTERNAL, with a message when it fails), hands out only well-formed results, and
// every asynchronous call completes exactly once. The store is emptied after each
// input (and found empty), so inputs do not depend on each other.
#include <fuzzer/FuzzedDataProvider.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "key.hpp"

namespace {

offkv_client *client = nullptr;
// A value one byte above the limit (its first OFFKV_MAX_VALUE_SIZE bytes: the limit).
std::vector<char> big(OFFKV_MAX_VALUE_SIZE + 1, 'v');

// Handles handed out during one input, freed at its end.
std::mutex handles_mutex;
std::vector<offkv_watch *> watches;

// Asynchronous calls in flight.
std::mutex pending_mutex;
std::condition_variable pending_done;
int pending = 0;

void check_key_out(const char *key, const char *call) {
  FUZZ_CHECK(key != nullptr, "%s: no key", call);
  try {
    offkv::validate_key(key);
  } catch (const offkv::Error &e) {
    FUZZ_CHECK(false, "%s handed out an invalid key: %s", call, e.what());
  }
}

void check_children(const char *const *items, size_t count, const char *call) {
  for (size_t i = 0; i < count; ++i) {
    check_key_out(items[i], call);
    if (i > 0)
      FUZZ_CHECK(std::strcmp(items[i - 1], items[i]) < 0, "%s: children not sorted",
                 call);
  }
}

void on_event(const offkv_event *e, void *) {
  FUZZ_CHECK(e->type >= OFFKV_EVENT_CREATED && e->type <= OFFKV_EVENT_SESSION,
             "event type %d", e->type);
  if (e->type != OFFKV_EVENT_SESSION) FUZZ_CHECK(e->key != nullptr, "event without key");
}

void on_recipe(const offkv_recipe_event *e, void *) {
  FUZZ_CHECK(e->type >= OFFKV_EVENT_LEADER && e->type <= OFFKV_EVENT_MEMBERS,
             "recipe event type %d", e->type);
}

void on_done(const offkv_completion *c, void *) {
  // The completion carries its own message (offkv_last_error is the event thread's).
  FUZZ_CHECK(c->error >= 0 && c->error < OFFKV_ERROR_COUNT &&
                 c->error != OFFKV_EINTERNAL && c->error != OFFKV_ENOMEM,
             "completion code %d", c->error);
  FUZZ_CHECK(c->message != nullptr && (c->error == OFFKV_OK || c->message[0] != '\0'),
             "completion %s without message", offkv_error_name(c->error));
  if (c->error == OFFKV_OK) {
    if (c->key) check_key_out(c->key, "create_async");
    if (c->value) FUZZ_CHECK(c->value[c->value_len] == '\0', "value not terminated");
    check_children(c->children, c->child_count, "children_async");
  }
  if (c->watch) {
    std::lock_guard<std::mutex> lock(handles_mutex);
    watches.push_back(c->watch);
  }
  std::lock_guard<std::mutex> lock(pending_mutex);
  --pending;
  pending_done.notify_all();
}

// An asynchronous call: accepted (done will run once) or refused (never).
void async(int rc, const char *call) {
  fuzz_code(rc, call);
  if (rc != OFFKV_OK) return;
  std::lock_guard<std::mutex> lock(pending_mutex);
  ++pending;
}

struct Input {
  FuzzedDataProvider in;
  std::vector<std::string> made;  // keys created by this input
  std::string key_storage, value_storage;

  Input(const uint8_t *data, size_t size) : in(data, size) {}

  // A key: raw bytes, a near-valid path, a known key, or one at a length limit.
  const char *key() {
    switch (in.ConsumeIntegralInRange(0, 6)) {
      case 0:
        return nullptr;
      case 1:
        key_storage = in.ConsumeRandomLengthString(64);
        break;
      case 2:
        key_storage = "/" + in.ConsumeRandomLengthString(32);
        break;
      case 3: {
        static const char *const kKnown[] = {"/a", "/a/b",       "/a/b/c",       "/b",
                                             "/",  "/zookeeper", "/zookeeper/x", "/a/."};
        key_storage = kKnown[in.ConsumeIntegralInRange<size_t>(0, 7)];
        break;
      }
      case 4:
        key_storage = made.empty()
                          ? std::string("/a")
                          : made[in.ConsumeIntegralInRange<size_t>(0, made.size() - 1)];
        if (in.ConsumeBool()) key_storage += "/" + in.ConsumeRandomLengthString(8);
        break;
      case 5: {  // segment length 254..256, or full length 4095..4097
        size_t n = in.ConsumeIntegralInRange<size_t>(244, 256);
        key_storage = "/" + std::string(n, 's');
        if (in.ConsumeBool()) {
          std::string seg = "/" + std::string(200, 'k');
          key_storage.clear();
          size_t total = in.ConsumeIntegralInRange<size_t>(4086, 4098);
          while (key_storage.size() + seg.size() <= total) key_storage += seg;
          if (key_storage.size() < total)
            key_storage += "/" + std::string(total - key_storage.size() - 1, 'z');
        }
        break;
      }
      default:  // a valid-looking key with one odd segment (UTF-8, controls, ...)
        key_storage = "/a/" + in.ConsumeRandomLengthString(12);
        break;
    }
    return key_storage.c_str();
  }

  // A value and its length: bytes, empty, the limit, above it, or NULL.
  const void *value(size_t &len) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
      case 0:
        len = 0;
        return nullptr;
      case 1:
        len = in.ConsumeIntegralInRange<size_t>(1, 3);
        return nullptr;  // NULL with a length: EINVAL
      case 2:
        len = OFFKV_MAX_VALUE_SIZE;
        return big.data();
      case 3:
        len = OFFKV_MAX_VALUE_SIZE + 1;
        return big.data();
      default:
        value_storage = in.ConsumeRandomLengthString(32);
        len = value_storage.size();
        return value_storage.data();
    }
  }

  int64_t version() {
    static const int64_t kVersions[] = {0,  1,         2,         3,        -1,
                                        -2, INT32_MAX, INT64_MAX, INT64_MIN};
    return kVersions[in.ConsumeIntegralInRange<size_t>(0, 8)];
  }
  int flags() {
    return in.ConsumeBool() ? in.ConsumeIntegralInRange(0, 3) : in.ConsumeIntegral<int>();
  }
  const char *label() {
    if (in.ConsumeBool()) return nullptr;
    key_storage = in.ConsumeBool() ? "json.info" : in.ConsumeRandomLengthString(16);
    return key_storage.c_str();
  }

  void remember(const char *k) {
    if (k) made.emplace_back(k);
  }

  void watch_out(offkv_watch *w) {
    if (!w) return;
    std::lock_guard<std::mutex> lock(handles_mutex);
    watches.push_back(w);
  }

  void txn() {
    offkv_txn *t = nullptr;
    fuzz_code(offkv_txn_new(&t), "offkv_txn_new");
    size_t n = in.ConsumeIntegralInRange<size_t>(0, 18), added = 0;
    for (size_t i = 0; i < n; ++i) {
      int rc = 0;
      size_t len = 0;
      switch (in.ConsumeIntegralInRange(0, 3)) {
        case 0:
          rc = offkv_txn_check(t, key(), version());
          break;
        case 1: {
          const char *k = key();
          std::string kept = k ? k : "";
          const void *v = value(len);
          rc = offkv_txn_create(t, k ? kept.c_str() : nullptr, v, len, flags());
          break;
        }
        case 2: {
          const char *k = key();
          std::string kept = k ? k : "";
          const void *v = value(len);
          rc = offkv_txn_set(t, k ? kept.c_str() : nullptr, v, len);
          break;
        }
        default:
          rc = offkv_txn_erase(t, key(), version());
      }
      if (fuzz_code(rc, "offkv_txn_*") == OFFKV_OK) ++added;
    }
    if (in.ConsumeBool()) {
      async(offkv_commit_async(client, t, on_done, nullptr), "offkv_commit_async");
    } else {
      offkv_txn_result r = OFFKV_TXN_RESULT_INIT;
      int rc = fuzz_code(offkv_commit(client, t, &r), "offkv_commit");
      if (rc == OFFKV_ETXN) {
        FUZZ_CHECK(r.failed_index < added, "failed_index %zu of %zu", r.failed_index,
                   added);
        FUZZ_CHECK(r.failed_code > OFFKV_OK && r.failed_code < OFFKV_ERROR_COUNT &&
                       r.failed_code != OFFKV_ETXN,
                   "failed_code %d", r.failed_code);
      }
      if (rc == OFFKV_OK) {
        for (size_t i = 0; i < r.count; ++i) {
          check_key_out(r.ops[i]->key, "offkv_commit");
          remember(r.ops[i]->key);
        }
      }
      offkv_txn_result_free(&r);
    }
    offkv_txn_free(t);
  }

  void recipe() {
    size_t len = 0;
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0: {
        offkv_election *e = nullptr;
        const char *group = key();
        std::string g = group ? group : "";
        const char *l = label();
        std::string lab = l ? l : "";
        const void *v = value(len);
        int rc =
            fuzz_code(offkv_election_contend_labeled(
                          client, group ? g.c_str() : nullptr, l ? lab.c_str() : nullptr,
                          v, len, in.ConsumeBool() ? on_recipe : nullptr, nullptr, &e),
                      "offkv_election_contend_labeled");
        if (rc == OFFKV_OK) {
          int leader = 0;
          fuzz_code(offkv_election_is_leader(e, &leader), "offkv_election_is_leader");
          fuzz_code(offkv_election_withdraw(e), "offkv_election_withdraw");
        }
        offkv_election_free(e);
        break;
      }
      case 1: {
        offkv_detector *d = nullptr;
        const char *group = key();
        std::string g = group ? group : "";
        const char *l = label();
        int rc =
            fuzz_code(offkv_detector_open_labeled(client, group ? g.c_str() : nullptr, l,
                                                  on_recipe, nullptr, &d),
                      "offkv_detector_open_labeled");
        if (rc == OFFKV_OK) {
          offkv_member m = OFFKV_MEMBER_INIT;
          if (fuzz_code(offkv_detector_leader(d, &m), "offkv_detector_leader") ==
              OFFKV_OK)
            offkv_member_free(&m);
          // previous_key is any string: compared, never parsed.
          if (fuzz_code(offkv_detector_wait(d, key(), 0, &m), "offkv_detector_wait") ==
              OFFKV_OK)
            offkv_member_free(&m);
        }
        offkv_detector_free(d);
        break;
      }
      case 2: {
        offkv_group *g = nullptr;
        const char *group = key();
        std::string gk = group ? group : "";
        const char *l = label();
        int rc = fuzz_code(offkv_group_open_labeled(client, group ? gk.c_str() : nullptr,
                                                    l, nullptr, nullptr, &g),
                           "offkv_group_open_labeled");
        if (rc == OFFKV_OK) {
          const void *v = value(len);
          if (fuzz_code(offkv_group_join(g, v, len), "offkv_group_join") == OFFKV_OK) {
            v = value(len);
            fuzz_code(offkv_group_update(g, v, len), "offkv_group_update");
          }
          offkv_members ms = OFFKV_MEMBERS_INIT;
          if (fuzz_code(offkv_group_members(g, &ms), "offkv_group_members") == OFFKV_OK)
            offkv_members_free(&ms);
          fuzz_code(offkv_group_close(g), "offkv_group_close");
        }
        offkv_group_free(g);
        break;
      }
      default: {
        offkv_lock *lk = nullptr;
        int rc = fuzz_code(offkv_lock_new(client, key(), &lk), "offkv_lock_new");
        if (rc == OFFKV_OK &&
            fuzz_code(offkv_lock_acquire(lk, 0), "offkv_lock_acquire") == OFFKV_OK)
          fuzz_code(offkv_lock_release(lk), "offkv_lock_release");
        offkv_lock_free(lk);
      }
    }
  }

  void one() {
    size_t len = 0;
    const bool cb = in.ConsumeBool();
    switch (in.ConsumeIntegralInRange(0, 23)) {
      case 0: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        char *created = nullptr;
        bool want = in.ConsumeBool();
        int rc = fuzz_code(offkv_create(client, k ? kept.c_str() : nullptr, v, len,
                                        flags(), want ? &created : nullptr),
                           "offkv_create");
        if (rc == OFFKV_OK && want) {
          check_key_out(created, "offkv_create");
          remember(created);
        }
        offkv_string_free(created);
        break;
      }
      case 1: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        int64_t version = -7;
        int rc = fuzz_code(
            offkv_set(client, k ? kept.c_str() : nullptr, v, len, &version), "offkv_set");
        FUZZ_CHECK(rc == OFFKV_OK ? version >= 1 : version == 0, "set version %lld",
                   static_cast<long long>(version));
        break;
      }
      case 2: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        int64_t version = -7;
        int rc = fuzz_code(offkv_cas(client, k ? kept.c_str() : nullptr, v, len,
                                     this->version(), &version),
                           "offkv_cas");
        FUZZ_CHECK(rc == OFFKV_OK ? version >= 1 : version == 0, "cas version");
        break;
      }
      case 3: {
        offkv_buf buf;
        int64_t version = -7;
        int rc = fuzz_code(offkv_get(client, key(), cb ? &buf : nullptr, &version),
                           "offkv_get");
        if (rc == OFFKV_OK) {
          FUZZ_CHECK(version >= 1, "get version");
          if (cb) {
            FUZZ_CHECK(buf.len <= OFFKV_MAX_VALUE_SIZE && buf.data[buf.len] == '\0',
                       "get value");
            offkv_buf_free(&buf);
          }
        }
        break;
      }
      case 4: {
        int64_t version = -7;
        fuzz_code(offkv_exists(client, key(), cb ? &version : nullptr), "offkv_exists");
        break;
      }
      case 5: {
        offkv_strings kids;
        int rc = fuzz_code(offkv_children(client, key(), cb ? &kids : nullptr),
                           "offkv_children");
        if (rc == OFFKV_OK) {
          check_children(kids.items, kids.count, "offkv_children");
          offkv_strings_free(&kids);
        }
        break;
      }
      case 6:
        fuzz_code(offkv_erase(client, key(), version()), "offkv_erase");
        break;
      case 7: {
        offkv_buf buf;
        int64_t version = 0;
        offkv_watch *w = nullptr;
        // No callback and no handle: EINVAL. A callback alone would stay registered
        // until the key changes, so a handle is always asked for otherwise.
        bool none = in.ConsumeProbability<float>() < 0.05f;
        int rc = fuzz_code(
            offkv_get_watch(client, key(), &buf, &version, cb ? on_event : nullptr,
                            nullptr, none ? nullptr : &w),
            "offkv_get_watch");
        if (rc == OFFKV_OK) offkv_buf_free(&buf);
        watch_out(w);
        break;
      }
      case 8: {
        int64_t version = 0;
        offkv_watch *w = nullptr;
        bool none = in.ConsumeProbability<float>() < 0.05f;
        fuzz_code(offkv_exists_watch(client, key(), &version, cb ? on_event : nullptr,
                                     nullptr, none ? nullptr : &w),
                  "offkv_exists_watch");
        watch_out(w);
        break;
      }
      case 9: {
        offkv_strings kids;
        offkv_watch *w = nullptr;
        bool none = in.ConsumeProbability<float>() < 0.05f;
        int rc =
            fuzz_code(offkv_children_watch(client, key(), &kids, cb ? on_event : nullptr,
                                           nullptr, none ? nullptr : &w),
                      "offkv_children_watch");
        if (rc == OFFKV_OK) {
          check_children(kids.items, kids.count, "offkv_children_watch");
          offkv_strings_free(&kids);
        }
        watch_out(w);
        break;
      }
      case 10: {
        offkv_watch *w = nullptr;
        bool none = in.ConsumeProbability<float>() < 0.05f;
        fuzz_code(offkv_watch_persistent(client, key(), cb ? on_event : nullptr, nullptr,
                                         none ? nullptr : &w),
                  "offkv_watch_persistent");
        watch_out(w);
        break;
      }
      case 11:
        txn();
        break;
      case 12: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        async(offkv_create_async(client, k ? kept.c_str() : nullptr, v, len, flags(),
                                 on_done, nullptr),
              "offkv_create_async");
        break;
      }
      case 13: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        async(
            offkv_set_async(client, k ? kept.c_str() : nullptr, v, len, on_done, nullptr),
            "offkv_set_async");
        break;
      }
      case 14: {
        const char *k = key();
        std::string kept = k ? k : "";
        const void *v = value(len);
        async(offkv_cas_async(client, k ? kept.c_str() : nullptr, v, len, version(),
                              cb ? on_done : nullptr, nullptr),
              "offkv_cas_async");
        break;
      }
      case 15:
        async(offkv_get_async(client, key(), on_done, nullptr), "offkv_get_async");
        break;
      case 16:
        async(offkv_exists_async(client, key(), on_done, nullptr), "offkv_exists_async");
        break;
      case 17:
        async(offkv_children_async(client, key(), on_done, nullptr),
              "offkv_children_async");
        break;
      case 18:
        async(offkv_erase_async(client, key(), version(), on_done, nullptr),
              "offkv_erase_async");
        break;
      case 19:
        async(offkv_get_watch_async(client, key(), cb ? on_event : nullptr, nullptr, 1,
                                    on_done, nullptr),
              "offkv_get_watch_async");
        break;
      case 20:
        async(offkv_exists_watch_async(client, key(), cb ? on_event : nullptr, nullptr, 1,
                                       on_done, nullptr),
              "offkv_exists_watch_async");
        break;
      case 21:
        async(offkv_children_watch_async(client, key(), cb ? on_event : nullptr, nullptr,
                                         1, on_done, nullptr),
              "offkv_children_watch_async");
        break;
      case 22:
        recipe();
        break;
      default:
        fuzz_code(offkv_testkit_end_watches(client, in.ConsumeIntegralInRange(-1, 20)),
                  "offkv_testkit_end_watches");
    }
  }
};

// Waits for the input's asynchronous calls, frees its handles and empties the store.
void finish() {
  {
    std::unique_lock<std::mutex> lock(pending_mutex);
    bool done = pending_done.wait_for(lock, std::chrono::seconds(20),
                                      [] { return pending == 0; });
    FUZZ_CHECK(done, "%d asynchronous calls never completed", pending);
  }
  std::vector<offkv_watch *> handles;
  {
    std::lock_guard<std::mutex> lock(handles_mutex);
    handles.swap(watches);
  }
  for (auto *w : handles) offkv_watch_free(w);
  offkv_strings kids;
  fuzz_code(offkv_children(client, "/", &kids), "offkv_children(/)");
  for (size_t i = 0; i < kids.count; ++i)
    fuzz_code(offkv_erase(client, kids.items[i], 0), "offkv_erase (cleanup)");
  offkv_strings_free(&kids);
  fuzz_code(offkv_children(client, "/", &kids), "offkv_children(/)");
  FUZZ_CHECK(kids.count == 0, "the store is not empty after erasing every child of /");
  offkv_strings_free(&kids);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!client)
    FUZZ_CHECK(offkv_open("mem://fuzz_keys", nullptr, &client) == OFFKV_OK, "open: %s",
               offkv_last_error());
  Input input(data, size);
  for (int i = 0; i < 48 && input.in.remaining_bytes() > 0; ++i) input.one();
  finish();
  return 0;
}
