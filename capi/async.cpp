// The asynchronous half of the facade (offkv_*_async). Each call checks what needs no
// I/O at once (the same checks, codes and words as the synchronous call), copies its
// arguments, and hands the client's ordinary operation to the client's async workers
// (core/async.hpp); the completion is built from what the operation returned and run
// on the event thread. No exception leaves a function of this file.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"
#include "offkv.h"

using namespace offkv::capi;

namespace {

// What one call produced, kept until its completion runs.
struct Outcome {
  int error = OFFKV_OK;
  std::string message;
  std::int64_t version = 0;
  bool has_key = false;
  std::string key;
  bool has_value = false;
  std::string value;
  std::vector<std::string> children;
  bool is_txn = false;
  std::vector<offkv::OpResult> ops;
  std::size_t failed_index = 0;
  int failed_code = 0;
  offkv_watch *watch = nullptr;  // handed to the caller with the completion
};

// Runs done with a C view of the outcome. Called on the event thread.
void deliver(const Outcome &o, offkv_completion_cb done, void *user) noexcept {
  offkv_completion c{};
  c.size = sizeof(c);
  std::vector<const char *> kids;
  std::vector<offkv_op_result> ops;
  std::vector<offkv_op_result *> op_ptrs;
  offkv_txn_result txn{sizeof(offkv_txn_result), nullptr, 0, 0, 0};
  try {
    c.error = o.error;
    c.message = o.message.c_str();
    c.version = o.version;
    if (o.has_key) c.key = o.key.c_str();
    if (o.has_value) {
      c.value = o.value.c_str();
      c.value_len = o.value.size();
    }
    kids.reserve(o.children.size());
    for (const auto &k : o.children) kids.push_back(k.c_str());
    c.children = kids.data();
    c.child_count = kids.size();
    if (o.is_txn) {
      ops.reserve(o.ops.size());
      for (const auto &r : o.ops)
        ops.push_back(offkv_op_result{sizeof(offkv_op_result), r.version,
                                      const_cast<char *>(r.path.c_str())});
      op_ptrs.reserve(ops.size());
      for (auto &r : ops) op_ptrs.push_back(&r);
      txn.ops = op_ptrs.data();
      txn.count = ops.size();
      txn.failed_index = o.failed_index;
      txn.failed_code = o.failed_code;
      c.txn = &txn;
    }
    c.watch = o.watch;
  } catch (...) {
    if (o.watch) offkv_watch_free(o.watch);
    c = offkv_completion{};
    c.size = sizeof(c);
    c.error = OFFKV_ENOMEM;
    c.message = "out of memory delivering the completion";
  }
  done(&c, user);
}

void deliver_closed(offkv_completion_cb done, void *user) noexcept {
  Outcome o;
  o.error = OFFKV_ECLOSED;
  try {
    o.message = "client is closed";
  } catch (...) {
  }
  deliver(o, done, user);
}

// Queues run(client, outcome) on the client's workers; keys orders it against other
// calls (core/async.hpp). Throws if the call cannot be queued (then done never runs).
template <typename Run>
void queue(offkv::Client &c, offkv_completion_cb done, void *user,
           std::vector<std::string> keys, Run run) {
  need(reinterpret_cast<const void *>(done), "completion callback");
  std::shared_ptr<offkv::Client> impl = c.shared_from_this();
  c.submit(
      std::move(keys),
      [impl, run = std::move(run), done, user]() -> std::function<void()> {
        auto outcome = std::make_shared<Outcome>();
        int code = guarded([&] { run(*impl, *outcome); });
        if (code != OFFKV_OK) {
          outcome->error = code;
          outcome->message = last_error;
        }
        return [outcome, done, user] { deliver(*outcome, done, user); };
      },
      [done, user] { deliver_closed(done, user); });
}

// The watch-arming reads: the read (read(client, key, callback, &watch, outcome)) with
// the one-shot watch, the watch handed out if asked for.
template <typename Read>
int start_watched(offkv_client *client, const char *key, bool root_ok,
                  offkv_event_cb watch_cb, void *watch_user, int keep_handle,
                  offkv_completion_cb done, void *user, Read read) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    if (!watch_cb && !keep_handle)
      invalid("a watch needs a callback, a kept handle (keep_handle), or both");
    if (root_ok)
      c.validate_listed(k);  // children of the root can be listed and watched
    else
      c.validate(k);
    queue(c, done, user, {k},
          [k, watch_cb, watch_user, keep_handle, read](offkv::Client &c, Outcome &o) {
            auto callback = c_callback(watch_cb, watch_user);
            offkv::WatchPtr w;
            read(c, k, callback ? &callback : nullptr, &w, o);
            if (keep_handle && w) o.watch = new offkv_watch{c.shared_from_this(), w};
          });
  });
}

}  // namespace

extern "C" {

OFFKV_API int offkv_create_async(offkv_client *client, const char *key, const void *value,
                                 size_t value_len, int flags, offkv_completion_cb done,
                                 void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key)), v(value_arg(value, value_len));
    c.validate_write(k, v);
    queue(c, done, user, {k}, [k, v, flags](offkv::Client &c, Outcome &o) {
      o.key = c.create(k, v, flags);
      o.has_key = true;
    });
  });
}

OFFKV_API int offkv_set_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key)), v(value_arg(value, value_len));
    c.validate_write(k, v);
    queue(c, done, user, {k},
          [k, v](offkv::Client &c, Outcome &o) { o.version = c.set(k, v); });
  });
}

OFFKV_API int offkv_cas_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, int64_t expected_version,
                              offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key)), v(value_arg(value, value_len));
    c.validate_write(k, v);
    queue(c, done, user, {k}, [k, v, expected_version](offkv::Client &c, Outcome &o) {
      o.version = c.cas(k, v, expected_version);
    });
  });
}

OFFKV_API int offkv_get_async(offkv_client *client, const char *key,
                              offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate(k);
    queue(c, done, user, {k}, [k](offkv::Client &c, Outcome &o) {
      offkv::Node node = c.get(k, nullptr, nullptr);
      o.value = std::move(node.value);
      o.has_value = true;
      o.version = node.version;
    });
  });
}

OFFKV_API int offkv_exists_async(offkv_client *client, const char *key,
                                 offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate(k);
    queue(c, done, user, {k}, [k](offkv::Client &c, Outcome &o) {
      o.version = c.exists(k, nullptr, nullptr);
    });
  });
}

OFFKV_API int offkv_children_async(offkv_client *client, const char *key,
                                   offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate_listed(k);  // the root can be listed
    queue(c, done, user, {k}, [k](offkv::Client &c, Outcome &o) {
      o.children = c.children(k, nullptr, nullptr);
    });
  });
}

OFFKV_API int offkv_erase_async(offkv_client *client, const char *key,
                                int64_t expected_version, offkv_completion_cb done,
                                void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate(k);
    queue(c, done, user, {k}, [k, expected_version](offkv::Client &c, Outcome &) {
      c.erase(k, expected_version);
    });
  });
}

OFFKV_API int offkv_commit_async(offkv_client *client, const offkv_txn *txn,
                                 offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    need(txn, "txn");
    std::size_t total = txn->txn.checks.size() + txn->txn.ops.size();
    if (total > OFFKV_MAX_TXN_OPS)
      offkv::fail(OFFKV_ETOOBIG, "transaction has " + std::to_string(total) +
                                     " checks and ops; the limit is " +
                                     std::to_string(OFFKV_MAX_TXN_OPS));
    std::vector<std::string> keys;
    for (const auto &op : txn->txn.checks) keys.push_back(op.path);
    for (const auto &op : txn->txn.ops) keys.push_back(op.path);
    for (const auto &k : keys) c.validate(k);
    queue(c, done, user, keys, [copy = txn->txn](offkv::Client &c, Outcome &o) {
      o.is_txn = true;
      try {
        o.ops = c.commit(copy);
      } catch (const offkv::TxnFailed &f) {
        o.failed_index = f.index();
        o.failed_code = f.reason();
        throw;
      }
    });
  });
}

OFFKV_API int offkv_get_watch_async(offkv_client *client, const char *key,
                                    offkv_event_cb watch_cb, void *watch_user,
                                    int keep_handle, offkv_completion_cb done,
                                    void *user) {
  return start_watched(
      client, key, false, watch_cb, watch_user, keep_handle, done, user,
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) {
        offkv::Node node = c.get(k, cb, w);
        o.value = std::move(node.value);
        o.has_value = true;
        o.version = node.version;
      });
}

OFFKV_API int offkv_exists_watch_async(offkv_client *client, const char *key,
                                       offkv_event_cb watch_cb, void *watch_user,
                                       int keep_handle, offkv_completion_cb done,
                                       void *user) {
  return start_watched(
      client, key, false, watch_cb, watch_user, keep_handle, done, user,
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) { o.version = c.exists(k, cb, w); });
}

OFFKV_API int offkv_children_watch_async(offkv_client *client, const char *key,
                                         offkv_event_cb watch_cb, void *watch_user,
                                         int keep_handle, offkv_completion_cb done,
                                         void *user) {
  return start_watched(
      client, key, true, watch_cb, watch_user, keep_handle, done, user,
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) { o.children = c.children(k, cb, w); });
}

}  // extern "C"
