// The asynchronous half of the facade (offkv_*_async). Each call checks what needs no
// I/O at once (the same checks, codes and words as the synchronous call), copies its
// arguments, and hands the client's ordinary operation to the client's async workers
// (core/async.hpp), natively when the backend has a native form (Backend::start_*);
// the completion is built from what the operation returned and run
// on the event thread. No exception leaves a function of this file.
#include <cstdint>
#include <exception>
#include <functional>
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
  offkv::WatchPtr armed;         // the watch a native read left (kept or handed out)
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

using OutcomePtr = std::shared_ptr<Outcome>;
using Deliver = offkv::AsyncRunner::Deliver;
using Finish = offkv::AsyncRunner::Finish;
// Ends a native call: what the backend threw (null on success; the result fields are
// already in the outcome) becomes the outcome's error.
using Settle = std::function<void(std::exception_ptr)>;

Deliver delivering(OutcomePtr o, offkv_completion_cb done, void *user) {
  return [o = std::move(o), done, user] { deliver(*o, done, user); };
}

// guarded(fn) for a native call, which may end on the caller's own thread inside an
// offkv_*_async call: its message goes to message, and the thread's offkv_last_error
// is left as it was (the call itself succeeded).
template <typename Fn>
int contained(Fn &&fn, std::string &message) noexcept {
  std::string callers;
  callers.swap(last_error);
  int code = guarded(std::forward<Fn>(fn));
  if (code != OFFKV_OK) message.swap(last_error);
  last_error.swap(callers);
  return code;
}

void set_error(Outcome &o, const std::exception_ptr &error) noexcept {
  o.error = contained(
      [&] {
        try {
          std::rethrow_exception(error);
        } catch (const offkv::TxnFailed &f) {
          o.failed_index = f.index();
          o.failed_code = f.reason();
          throw;
        }
      },
      o.message);
}

// Queues a call on the client (core/async.hpp): start(client, outcome, settle) is its
// native form (false if the backend has none for it), run(client, outcome) its
// blocking form; keys order it against other calls; what names it in a timeout.
// Throws if the call cannot be queued (then done never runs).
template <typename Run, typename Start>
void queue(offkv::Client &c, offkv_completion_cb done, void *user,
           std::vector<std::string> keys, const std::string &what, Run run, Start start) {
  need(reinterpret_cast<const void *>(done), "completion callback");
  std::shared_ptr<offkv::Client> impl = c.shared_from_this();
  offkv::AsyncRunner::Submission s;
  s.keys = std::move(keys);
  s.work = [impl, run = std::move(run), done, user]() -> Deliver {
    auto outcome = std::make_shared<Outcome>();
    int code = guarded([&] { run(*impl, *outcome); });
    if (code != OFFKV_OK) {
      outcome->error = code;
      outcome->message = last_error;
    }
    return delivering(outcome, done, user);
  };
  s.start = [impl, start = std::move(start), done, user](const Finish &finish) {
    auto outcome = std::make_shared<Outcome>();
    Settle settle = [impl, outcome, finish, done, user](std::exception_ptr error) {
      if (error) set_error(*outcome, error);
      if (finish(delivering(outcome, done, user))) return;
      // Too late (the call timed out): nobody hears of it, and what it armed must
      // not fire either.
      if (outcome->watch) {
        offkv_watch_free(outcome->watch);
      } else if (outcome->armed) {
        guarded([&] { impl->cancel(outcome->armed); });
      }
    };
    bool started = false;
    int code =
        contained([&] { started = start(*impl, outcome, settle); }, outcome->message);
    if (code == OFFKV_OK) return started;
    // The checks passed when the call was made; the client closed since.
    outcome->error = code;
    finish(delivering(outcome, done, user));
    return true;
  };
  s.closed = [done, user] { deliver_closed(done, user); };
  int timeout_ms = c.operation_timeout_ms();
  s.timed_out = [what, timeout_ms, done, user] {
    Outcome o;
    o.error = OFFKV_ETIMEOUT;
    try {
      o.message = what + ": no answer within " + std::to_string(timeout_ms) +
                  " ms (operation_timeout_ms); outcome unknown";
    } catch (...) {
    }
    deliver(o, done, user);
  };
  c.submit(std::move(s));
}

// A native completion that stores the value with fill(outcome, value) and settles.
template <typename T, typename Fill>
offkv::Completion<T> settling(OutcomePtr o, Settle settle, Fill fill) {
  return [o = std::move(o), settle = std::move(settle), fill](std::exception_ptr error,
                                                              T value) {
    if (!error) {
      try {
        fill(*o, std::move(value));
      } catch (...) {
        error = std::current_exception();
      }
    }
    settle(error);
  };
}

void fill_node(Outcome &o, offkv::Node node) {
  o.value = std::move(node.value);
  o.has_value = true;
  o.version = node.version;
}

// The watch-arming reads: the read (read(client, key, callback, &watch, outcome)) with
// the one-shot watch, the watch handed out if asked for; start(client, key, callback,
// completion) is its native form.
template <typename Read, typename Start>
int start_watched(offkv_client *client, const char *key, bool root_ok,
                  offkv_event_cb watch_cb, void *watch_user, int keep_handle,
                  offkv_completion_cb done, void *user, const char *op, Read read,
                  Start start) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    if (!watch_cb && !keep_handle)
      invalid("a watch needs a callback, a kept handle (keep_handle), or both");
    if (root_ok)
      c.validate_listed(k);  // children of the root can be listed and watched
    else
      c.validate(k);
    queue(
        c, done, user, {k}, std::string(op) + " '" + k + "'",
        [k, watch_cb, watch_user, keep_handle, read](offkv::Client &c, Outcome &o) {
          auto callback = c_callback(watch_cb, watch_user);
          offkv::WatchPtr w;
          read(c, k, callback ? &callback : nullptr, &w, o);
          if (keep_handle && w) o.watch = new offkv_watch{c.shared_from_this(), w};
        },
        [k, watch_cb, watch_user, keep_handle, start](
            offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          auto callback = c_callback(watch_cb, watch_user);
          std::weak_ptr<offkv::Client> weak = c.shared_from_this();
          // The watch is the caller's (a handle) or the client's to keep.
          auto keep = [weak, keep_handle](Outcome &o, const offkv::WatchPtr &w) {
            if (!w) return;
            o.armed = w;
            if (!keep_handle) return;
            if (auto self = weak.lock()) o.watch = new offkv_watch{self, w};
          };
          return start(c, k, callback ? &callback : nullptr, o, settle, keep);
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
    queue(
        c, done, user, {k}, "create '" + k + "'",
        [k, v, flags](offkv::Client &c, Outcome &o) {
          o.key = c.create(k, v, flags);
          o.has_key = true;
        },
        [k, v, flags](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          return c.start_create(
              k, v, flags,
              settling<std::string>(o, settle, [](Outcome &o, std::string key) {
                o.key = std::move(key);
                o.has_key = true;
              }));
        });
  });
}

OFFKV_API int offkv_set_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key)), v(value_arg(value, value_len));
    c.validate_write(k, v);
    queue(
        c, done, user, {k}, "set '" + k + "'",
        [k, v](offkv::Client &c, Outcome &o) { o.version = c.set(k, v); },
        [k, v](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          return c.start_set(
              k, v, settling<std::int64_t>(o, settle, [](Outcome &o, std::int64_t v) {
                o.version = v;
              }));
        });
  });
}

OFFKV_API int offkv_cas_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, int64_t expected_version,
                              offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key)), v(value_arg(value, value_len));
    c.validate_write(k, v);
    queue(
        c, done, user, {k}, "cas on '" + k + "'",
        [k, v, expected_version](offkv::Client &c, Outcome &o) {
          o.version = c.cas(k, v, expected_version);
        },
        [k, v, expected_version](offkv::Client &c, const OutcomePtr &o,
                                 const Settle &settle) {
          return c.start_cas(
              k, v, expected_version,
              settling<std::int64_t>(o, settle,
                                     [](Outcome &o, std::int64_t v) { o.version = v; }));
        });
  });
}

OFFKV_API int offkv_get_async(offkv_client *client, const char *key,
                              offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate(k);
    queue(
        c, done, user, {k}, "get '" + k + "'",
        [k](offkv::Client &c, Outcome &o) { fill_node(o, c.get(k, nullptr, nullptr)); },
        [k](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          return c.start_get(k, nullptr, false,
                             settling<offkv::Client::Watched<offkv::Node>>(
                                 o, settle, [](Outcome &o, auto r) {
                                   fill_node(o, std::move(r.value));
                                 }));
        });
  });
}

OFFKV_API int offkv_exists_async(offkv_client *client, const char *key,
                                 offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate(k);
    queue(
        c, done, user, {k}, "exists '" + k + "'",
        [k](offkv::Client &c, Outcome &o) { o.version = c.exists(k, nullptr, nullptr); },
        [k](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          return c.start_exists(
              k, nullptr, false,
              settling<offkv::Client::Watched<std::int64_t>>(
                  o, settle, [](Outcome &o, auto r) { o.version = r.value; }));
        });
  });
}

OFFKV_API int offkv_children_async(offkv_client *client, const char *key,
                                   offkv_completion_cb done, void *user) {
  return guarded([&] {
    auto &c = client_arg(client);
    std::string k(key_arg(key));
    c.validate_listed(k);  // the root can be listed
    queue(
        c, done, user, {k}, "list '" + k + "'",
        [k](offkv::Client &c, Outcome &o) {
          o.children = c.children(k, nullptr, nullptr);
        },
        [k](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          return c.start_children(
              k, nullptr, false,
              settling<offkv::Client::Watched<std::vector<std::string>>>(
                  o, settle,
                  [](Outcome &o, auto r) { o.children = std::move(r.value); }));
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
    queue(
        c, done, user, {k}, "erase '" + k + "'",
        [k, expected_version](offkv::Client &c, Outcome &) {
          c.erase(k, expected_version);
        },
        [k, expected_version](offkv::Client &c, const OutcomePtr &o,
                              const Settle &settle) {
          return c.start_erase(k, expected_version,
                               settling<bool>(o, settle, [](Outcome &, bool) {}));
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
    queue(
        c, done, user, keys, "transaction",
        [copy = txn->txn](offkv::Client &c, Outcome &o) {
          o.is_txn = true;
          try {
            o.ops = c.commit(copy);
          } catch (const offkv::TxnFailed &f) {
            o.failed_index = f.index();
            o.failed_code = f.reason();
            throw;
          }
        },
        [copy = txn->txn](offkv::Client &c, const OutcomePtr &o, const Settle &settle) {
          o->is_txn = true;
          return c.start_commit(
              copy, settling<std::vector<offkv::OpResult>>(
                        o, settle, [](Outcome &o, auto ops) { o.ops = std::move(ops); }));
        });
  });
}

OFFKV_API int offkv_get_watch_async(offkv_client *client, const char *key,
                                    offkv_event_cb watch_cb, void *watch_user,
                                    int keep_handle, offkv_completion_cb done,
                                    void *user) {
  return start_watched(
      client, key, false, watch_cb, watch_user, keep_handle, done, user, "get",
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) { fill_node(o, c.get(k, cb, w)); },
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         const OutcomePtr &o, const Settle &settle, auto keep) {
        return c.start_get(k, cb, true,
                           settling<offkv::Client::Watched<offkv::Node>>(
                               o, settle, [keep](Outcome &o, auto r) {
                                 fill_node(o, std::move(r.value));
                                 keep(o, r.watch);
                               }));
      });
}

OFFKV_API int offkv_exists_watch_async(offkv_client *client, const char *key,
                                       offkv_event_cb watch_cb, void *watch_user,
                                       int keep_handle, offkv_completion_cb done,
                                       void *user) {
  return start_watched(
      client, key, false, watch_cb, watch_user, keep_handle, done, user, "exists",
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) { o.version = c.exists(k, cb, w); },
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         const OutcomePtr &o, const Settle &settle, auto keep) {
        return c.start_exists(k, cb, true,
                              settling<offkv::Client::Watched<std::int64_t>>(
                                  o, settle, [keep](Outcome &o, auto r) {
                                    o.version = r.value;
                                    keep(o, r.watch);
                                  }));
      });
}

OFFKV_API int offkv_children_watch_async(offkv_client *client, const char *key,
                                         offkv_event_cb watch_cb, void *watch_user,
                                         int keep_handle, offkv_completion_cb done,
                                         void *user) {
  return start_watched(
      client, key, true, watch_cb, watch_user, keep_handle, done, user, "list",
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         offkv::WatchPtr *w, Outcome &o) { o.children = c.children(k, cb, w); },
      [](offkv::Client &c, const std::string &k, const offkv::EventCallback *cb,
         const OutcomePtr &o, const Settle &settle, auto keep) {
        return c.start_children(
            k, cb, true,
            settling<offkv::Client::Watched<std::vector<std::string>>>(
                o, settle, [keep](Outcome &o, auto r) {
                  o.children = std::move(r.value);
                  keep(o, r.watch);
                }));
      });
}

}  // extern "C"
