// The extern "C" facade: translates C arguments to the core and core exceptions to
// error codes. No exception ever leaves a function of this file.
#include "offkv.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "../core/backend.hpp"
#include "../core/client.hpp"
#include "../core/error.hpp"
#include "../core/log.hpp"
#include "../core/url.hpp"
#include "internal.hpp"

// The core has its own copies of the public numbers (core/codes.hpp), so that it never
// includes this header; these keep the two equal.
namespace {
using offkv::Err;
#define OFFKV_SAME(pub, core) static_assert((pub) == (core), #pub " differs from " #core)
OFFKV_SAME(OFFKV_OK, Err::ok);
OFFKV_SAME(OFFKV_EINVAL, Err::einval);
OFFKV_SAME(OFFKV_ENOENT, Err::enoent);
OFFKV_SAME(OFFKV_EEXIST, Err::eexist);
OFFKV_SAME(OFFKV_EVERSION, Err::eversion);
OFFKV_SAME(OFFKV_EEPHEMERAL, Err::eephemeral);
OFFKV_SAME(OFFKV_ENOTEMPTY, Err::enotempty);
OFFKV_SAME(OFFKV_ETOOBIG, Err::etoobig);
OFFKV_SAME(OFFKV_ETXN, Err::etxn);
OFFKV_SAME(OFFKV_ECONNLOSS, Err::econnloss);
OFFKV_SAME(OFFKV_ESESSION, Err::esession);
OFFKV_SAME(OFFKV_ETIMEOUT, Err::etimeout);
OFFKV_SAME(OFFKV_EAUTH, Err::eauth);
OFFKV_SAME(OFFKV_ETLS, Err::etls);
OFFKV_SAME(OFFKV_ECLOSED, Err::eclosed);
OFFKV_SAME(OFFKV_EUNSUPPORTED, Err::eunsupported);
OFFKV_SAME(OFFKV_ESERVICE, Err::eservice);
OFFKV_SAME(OFFKV_ENOMEM, Err::enomem);
OFFKV_SAME(OFFKV_EINTERNAL, Err::einternal);
OFFKV_SAME(OFFKV_ERROR_COUNT, Err::count);
OFFKV_SAME(OFFKV_EVENT_CREATED, offkv::EventType::created);
OFFKV_SAME(OFFKV_EVENT_DELETED, offkv::EventType::deleted);
OFFKV_SAME(OFFKV_EVENT_CHANGED, offkv::EventType::changed);
OFFKV_SAME(OFFKV_EVENT_CHILDREN, offkv::EventType::children);
OFFKV_SAME(OFFKV_EVENT_ENDED, offkv::EventType::ended);
OFFKV_SAME(OFFKV_EVENT_SESSION, offkv::EventType::session);
OFFKV_SAME(OFFKV_EVENT_LEADER, offkv::EventType::leader);
OFFKV_SAME(OFFKV_EVENT_NOT_LEADER, offkv::EventType::not_leader);
OFFKV_SAME(OFFKV_EVENT_DETECTED, offkv::EventType::detected);
OFFKV_SAME(OFFKV_EVENT_MEMBERS, offkv::EventType::members);
OFFKV_SAME(OFFKV_SESSION_CONNECTED, offkv::SessionState::connected);
OFFKV_SAME(OFFKV_SESSION_SUSPENDED, offkv::SessionState::suspended);
OFFKV_SAME(OFFKV_SESSION_LOST, offkv::SessionState::lost);
OFFKV_SAME(OFFKV_SESSION_CLOSED, offkv::SessionState::closed);
OFFKV_SAME(OFFKV_EPHEMERAL, offkv::NodeFlag::ephemeral);
OFFKV_SAME(OFFKV_SEQUENTIAL, offkv::NodeFlag::sequential);
OFFKV_SAME(OFFKV_READ_LINEARIZABLE, offkv::ReadMode::linearizable);
OFFKV_SAME(OFFKV_READ_SERIALIZABLE, offkv::ReadMode::serializable);
OFFKV_SAME(OFFKV_ANY_VERSION, offkv::kAnyVersion);
OFFKV_SAME(OFFKV_MAX_VALUE_SIZE, offkv::Limit::max_value_size);
OFFKV_SAME(OFFKV_MAX_KEY_SIZE, offkv::Limit::max_key_size);
OFFKV_SAME(OFFKV_MAX_SEGMENT_SIZE, offkv::Limit::max_segment_size);
OFFKV_SAME(OFFKV_MAX_TXN_OPS, offkv::Limit::max_txn_ops);
OFFKV_SAME(OFFKV_SESSION_TIMEOUT_DEFAULT_MS, offkv::Limit::session_timeout_default_ms);
OFFKV_SAME(OFFKV_SESSION_TIMEOUT_MIN_MS, offkv::Limit::session_timeout_min_ms);
OFFKV_SAME(OFFKV_SESSION_TIMEOUT_MAX_MS, offkv::Limit::session_timeout_max_ms);
#undef OFFKV_SAME
}  // namespace

using namespace offkv::capi;

namespace {

// Options set by name (offkv_options_set): library-owned copies, in the order they
// were set, one per option (setting it again replaces the value).
struct NamedOptions {
  std::vector<std::pair<std::string, std::string>> values;
};

NamedOptions *named_options(const offkv_options *o) {
  return o->version >= 2 ? static_cast<NamedOptions *>(o->named) : nullptr;
}

// The bytes offkv_options_init writes for a struct version: a version 1 struct (an
// older caller's) ends before `named`.
std::size_t options_size(unsigned int version) {
  return version >= 2 ? sizeof(offkv_options) : offsetof(offkv_options, named);
}

offkv::Options core_options(const offkv_options *o) {
  offkv::Options out;
  if (!o) return out;
  if (o->version < 1 || o->version > OFFKV_OPTIONS_VERSION)
    invalid("options.version must be set (use OFFKV_OPTIONS_INIT)");
  if (o->session_timeout_ms) out.session_timeout_ms = o->session_timeout_ms;
  if (o->connect_timeout_ms) out.connect_timeout_ms = o->connect_timeout_ms;
  if (o->operation_timeout_ms) out.operation_timeout_ms = o->operation_timeout_ms;
  if (o->tls_ca_file) out.tls_ca_file = o->tls_ca_file;
  if (o->tls_cert_file) out.tls_cert_file = o->tls_cert_file;
  if (o->tls_key_file) out.tls_key_file = o->tls_key_file;
  if (o->username) out.username = o->username;
  if (o->password) out.password = o->password;
  if (o->token) out.token = o->token;
  out.read_consistency = o->read_consistency;
  if (const NamedOptions *named = named_options(o))
    for (const auto &nv : named->values) offkv::set_option(out, nv.first, nv.second);
  return out;
}

// Shared tail of the three *_watch reads.
void hand_out_watch(offkv_client *c, offkv::WatchPtr w, offkv_watch **watch) {
  if (!watch) return;  // fire-and-forget: the library keeps it until it fires
  *watch = new offkv_watch{c->impl, std::move(w)};
}

void check_watch_args(offkv_event_cb cb, offkv_watch **watch) {
  if (!cb && !watch) invalid("a watch needs a callback, a watch handle, or both");
}

}  // namespace

extern "C" {

OFFKV_API const char *offkv_strerror(int code) { return offkv::error_text(code); }
OFFKV_API const char *offkv_error_name(int code) { return offkv::error_name(code); }
OFFKV_API const char *offkv_last_error(void) { return last_error.c_str(); }
OFFKV_API char *offkv_last_error_copy(void) {
  char *out = static_cast<char *>(std::malloc(last_error.size() + 1));
  if (out) std::memcpy(out, last_error.c_str(), last_error.size() + 1);
  return out;
}
OFFKV_API int offkv_version(void) { return OFFKV_VERSION_NUMBER; }
OFFKV_API const char *offkv_version_string(void) { return OFFKV_VERSION_STRING; }
OFFKV_API const char *offkv_event_type_name(int type) {
  // Indexed by the offkv_event_type number; the static_asserts above pin them.
  static const char *const names[] = {"UNKNOWN",    "CREATED",  "DELETED", "CHANGED",
                                      "CHILDREN",   "ENDED",    "SESSION", "LEADER",
                                      "NOT_LEADER", "DETECTED", "MEMBERS"};
  constexpr int count = sizeof names / sizeof names[0];
  static_assert(count == OFFKV_EVENT_MEMBERS + 1, "a name for every event type");
  return type > 0 && type < count ? names[type] : names[0];
}
OFFKV_API const char *offkv_session_state_name(int state) {
  static const char *const names[] = {"UNKNOWN", "CONNECTED", "SUSPENDED", "LOST",
                                      "CLOSED"};
  constexpr int count = sizeof names / sizeof names[0];
  static_assert(count == OFFKV_SESSION_CLOSED + 1, "a name for every session state");
  return state > 0 && state < count ? names[state] : names[0];
}
OFFKV_API int offkv_has_backend(const char *scheme) {
  return offkv::has_backend(scheme) ? 1 : 0;
}
OFFKV_API const char *offkv_backends(void) { return offkv::compiled_backends(); }

OFFKV_API void offkv_buf_free(offkv_buf *buf) {
  if (!buf) return;
  std::free(buf->data);
  buf->data = nullptr;
  buf->len = 0;
}

OFFKV_API void offkv_strings_free(offkv_strings *strings) {
  if (!strings) return;
  if (strings->items)
    for (size_t i = 0; i < strings->count; ++i) std::free(strings->items[i]);
  std::free(strings->items);
  strings->items = nullptr;
  strings->count = 0;
}

OFFKV_API void offkv_string_free(char *str) { std::free(str); }

OFFKV_API int offkv_options_init(offkv_options *opts, unsigned int version) {
  return guarded([&] {
    need(opts, "opts");
    if (version < 1 || version > OFFKV_OPTIONS_VERSION)
      invalid("unsupported options version");
    offkv_options init = OFFKV_OPTIONS_INIT;
    init.version = version;
    std::memcpy(opts, &init, options_size(version));
  });
}

OFFKV_API int offkv_options_set(offkv_options *opts, const char *name,
                                const char *value) {
  return guarded([&] {
    need(opts, "opts");
    need(name, "option name");
    need(value, "option value");
    if (opts->version < 2 || opts->version > OFFKV_OPTIONS_VERSION)
      invalid(
          "offkv_options_set needs options of version 2 or later (use "
          "OFFKV_OPTIONS_INIT)");
    offkv::Options check;
    offkv::set_option(check, name, value);  // throws EINVAL naming the option
    std::string canonical = offkv::option_canonical_name(name);
    auto *named = named_options(opts);
    if (!named) {
      opts->named = named = new NamedOptions();
    }
    for (auto &nv : named->values)
      if (nv.first == canonical) {
        nv.second = value;
        return;
      }
    named->values.emplace_back(canonical, value);
  });
}

OFFKV_API int offkv_options_reset(offkv_options *opts) {
  return guarded([&] {
    need(opts, "opts");
    unsigned int version = opts->version;
    if (version < 1 || version > OFFKV_OPTIONS_VERSION)
      invalid("unsupported options version (not initialised?)");
    delete named_options(opts);
    offkv_options init = OFFKV_OPTIONS_INIT;
    init.version = version;
    std::memcpy(opts, &init, options_size(version));
  });
}

OFFKV_API int offkv_open(const char *url, const offkv_options *opts,
                         offkv_client **client) {
  if (client) *client = nullptr;
  return guarded([&] {
    need(url, "url");
    need(client, "client out-parameter");
    offkv::Options options = core_options(opts);
    offkv::EventCallback session =
        opts ? c_callback(opts->session_callback, opts->session_user)
             : offkv::EventCallback();
    auto impl = offkv::Client::open(url, options, session);
    *client = new offkv_client{std::move(impl)};
  });
}

OFFKV_API int offkv_close(offkv_client *client) {
  return guarded([&] {
    need(client, "client");
    if (client->impl) client->impl->close();
  });
}

OFFKV_API void offkv_client_free(offkv_client *client) {
  if (!client) return;
  guarded([&] {
    if (client->impl) client->impl->close();
  });
  delete client;
}

OFFKV_API int offkv_get_session_state(offkv_client *client, int *state) {
  if (state) *state = 0;
  return guarded([&] {
    need(client, "client");
    need(state, "state out-parameter");
    *state = client->impl ? client->impl->session_state() : OFFKV_SESSION_CLOSED;
  });
}

OFFKV_API int offkv_set_log_callback(offkv_log_cb callback, void *user, int max_level) {
  return guarded([&] {
    if (max_level < OFFKV_LOG_ERROR || max_level > OFFKV_LOG_DEBUG)
      invalid("max_level must be OFFKV_LOG_ERROR (1) .. OFFKV_LOG_DEBUG (4)");
    offkv::log::set(callback, user, max_level);
  });
}

OFFKV_API int offkv_get_stats(offkv_client *client, offkv_stats *stats) {
  clear_sized(stats);
  return guarded([&] {
    need(client, "client");
    sized_arg(stats, "stats out-parameter", "OFFKV_STATS_INIT");
    if (!client->impl) offkv::fail(OFFKV_ECLOSED, "client is freed");
    auto counters = client->impl->stats().snapshot();
    // One block: the pointers (NULL-terminated), the items, then their names.
    std::size_t names = 0;
    for (const auto &c : counters) names += c.first.size() + 1;
    std::size_t pointers = (counters.size() + 1) * sizeof(offkv_stat *);
    std::size_t items = counters.size() * sizeof(offkv_stat);
    char *block = static_cast<char *>(std::calloc(1, pointers + items + names));
    if (!block) throw std::bad_alloc();
    auto **item_ptrs = reinterpret_cast<offkv_stat **>(block);
    auto *item = reinterpret_cast<offkv_stat *>(block + pointers);
    char *text = block + pointers + items;
    for (std::size_t i = 0; i < counters.size(); ++i, ++item) {
      std::memcpy(text, counters[i].first.c_str(), counters[i].first.size() + 1);
      item->size = sizeof(offkv_stat);
      item->name = text;
      item->value = counters[i].second;
      item_ptrs[i] = item;
      text += counters[i].first.size() + 1;
    }
    offkv_stats full{sizeof(offkv_stats), item_ptrs, counters.size()};
    store_sized(stats, full);
  });
}

OFFKV_API void offkv_stats_free(offkv_stats *stats) {
  if (!sized_usable(stats)) return;
  std::free(stats->items);
  clear_sized(stats);
}

OFFKV_API int offkv_testkit_end_watches(offkv_client *client, int error) {
  return guarded([&] {
    client_arg(client).end_watches_now(error, "ended by offkv_testkit_end_watches");
  });
}

OFFKV_API int offkv_testkit_suspend(offkv_client *client) {
  return guarded([&] { client_arg(client).testkit_suspend(); });
}

OFFKV_API int offkv_testkit_resume(offkv_client *client) {
  return guarded([&] { client_arg(client).testkit_resume(); });
}

OFFKV_API int offkv_testkit_expire(offkv_client *client) {
  return guarded([&] { client_arg(client).testkit_expire(); });
}

OFFKV_API int offkv_create(offkv_client *client, const char *key, const void *value,
                           size_t value_len, int flags, char **created_key) {
  if (created_key) *created_key = nullptr;
  return guarded([&] {
    auto &c = client_arg(client);
    std::string actual = c.create(key_arg(key), value_arg(value, value_len), flags);
    if (created_key) *created_key = copy_string(actual);
  });
}

OFFKV_API int offkv_set(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int64_t *new_version) {
  if (new_version) *new_version = 0;
  return guarded([&] {
    auto &c = client_arg(client);
    int64_t v = c.set(key_arg(key), value_arg(value, value_len));
    if (new_version) *new_version = v;
  });
}

OFFKV_API int offkv_cas(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int64_t expected_version,
                        int64_t *new_version) {
  if (new_version) *new_version = 0;
  return guarded([&] {
    auto &c = client_arg(client);
    int64_t v = c.cas(key_arg(key), value_arg(value, value_len), expected_version);
    if (new_version) *new_version = v;
  });
}

static int do_get(offkv_client *client, const char *key, offkv_buf *value,
                  int64_t *version, const offkv_event_cb *cb, void *user,
                  offkv_watch **watch) {
  if (value) *value = offkv_buf{nullptr, 0};
  if (version) *version = 0;
  if (watch) *watch = nullptr;
  return guarded([&] {
    auto &c = client_arg(client);
    std::string_view k = key_arg(key);
    offkv::Node node;
    if (cb) {
      check_watch_args(*cb, watch);
      auto callback = c_callback(*cb, user);
      offkv::WatchPtr w;
      node = c.get(k, callback ? &callback : nullptr, &w);
      hand_out_watch(client, std::move(w), watch);
    } else {
      node = c.get(k, nullptr, nullptr);
    }
    if (value) fill_buf(value, node.value);
    if (version) *version = node.version;
  });
}

OFFKV_API int offkv_get(offkv_client *client, const char *key, offkv_buf *value,
                        int64_t *version) {
  return do_get(client, key, value, version, nullptr, nullptr, nullptr);
}

OFFKV_API int offkv_get_watch(offkv_client *client, const char *key, offkv_buf *value,
                              int64_t *version, offkv_event_cb callback, void *user,
                              offkv_watch **watch) {
  return do_get(client, key, value, version, &callback, user, watch);
}

static int do_exists(offkv_client *client, const char *key, int64_t *version,
                     const offkv_event_cb *cb, void *user, offkv_watch **watch) {
  if (version) *version = 0;
  if (watch) *watch = nullptr;
  return guarded([&] {
    auto &c = client_arg(client);
    std::string_view k = key_arg(key);
    need(version, "version out-parameter");
    if (cb) {
      check_watch_args(*cb, watch);
      auto callback = c_callback(*cb, user);
      offkv::WatchPtr w;
      *version = c.exists(k, callback ? &callback : nullptr, &w);
      hand_out_watch(client, std::move(w), watch);
    } else {
      *version = c.exists(k, nullptr, nullptr);
    }
  });
}

OFFKV_API int offkv_exists(offkv_client *client, const char *key, int64_t *version) {
  return do_exists(client, key, version, nullptr, nullptr, nullptr);
}

OFFKV_API int offkv_exists_watch(offkv_client *client, const char *key, int64_t *version,
                                 offkv_event_cb callback, void *user,
                                 offkv_watch **watch) {
  return do_exists(client, key, version, &callback, user, watch);
}

static int do_children(offkv_client *client, const char *key, offkv_strings *children,
                       const offkv_event_cb *cb, void *user, offkv_watch **watch) {
  if (children) *children = offkv_strings{nullptr, 0};
  if (watch) *watch = nullptr;
  return guarded([&] {
    auto &c = client_arg(client);
    std::string_view k = key_arg(key);
    need(children, "children out-parameter");
    std::vector<std::string> items;
    offkv::WatchPtr w;
    if (cb) {
      check_watch_args(*cb, watch);
      auto callback = c_callback(*cb, user);
      items = c.children(k, callback ? &callback : nullptr, &w);
    } else {
      items = c.children(k, nullptr, nullptr);
    }
    fill_strings(children, items);
    if (w) hand_out_watch(client, std::move(w), watch);
  });
}

OFFKV_API int offkv_children(offkv_client *client, const char *key,
                             offkv_strings *children) {
  return do_children(client, key, children, nullptr, nullptr, nullptr);
}

OFFKV_API int offkv_children_watch(offkv_client *client, const char *key,
                                   offkv_strings *children, offkv_event_cb callback,
                                   void *user, offkv_watch **watch) {
  return do_children(client, key, children, &callback, user, watch);
}

OFFKV_API int offkv_erase(offkv_client *client, const char *key,
                          int64_t expected_version) {
  return guarded([&] { client_arg(client).erase(key_arg(key), expected_version); });
}

OFFKV_API int offkv_watch_persistent(offkv_client *client, const char *key,
                                     offkv_event_cb callback, void *user,
                                     offkv_watch **watch) {
  if (watch) *watch = nullptr;
  return guarded([&] {
    auto &c = client_arg(client);
    std::string_view k = key_arg(key);
    check_watch_args(callback, watch);
    auto w = c.watch_persistent(k, c_callback(callback, user));
    hand_out_watch(client, std::move(w), watch);
  });
}

OFFKV_API void offkv_event_free(offkv_event *event) {
  if (!event) return;
  std::free(const_cast<char *>(event->key));
  std::free(const_cast<char *>(event->message));
  std::free(event);
}

OFFKV_API int offkv_watch_wait(offkv_watch *watch, int timeout_ms, offkv_event **event) {
  if (event) *event = nullptr;
  return guarded([&] {
    need(watch, "watch");
    need(event, "event out-parameter");
    auto e = watch->impl->wait(timeout_ms);
    if (!e)
      offkv::fail(OFFKV_ETIMEOUT,
                  "no event within " + std::to_string(timeout_ms) + " ms");
    auto *out = new_sized<offkv_event>();
    *out = c_event(*e);
    out->key = nullptr;
    out->message = nullptr;
    try {
      if (e->type != OFFKV_EVENT_SESSION) out->key = copy_string(e->path);
      out->message = copy_string(e->message);
    } catch (...) {
      offkv_event_free(out);
      throw;
    }
    *event = out;
  });
}

OFFKV_API int offkv_watch_cancel(offkv_watch *watch) {
  return guarded([&] {
    need(watch, "watch");
    watch->client->cancel(watch->impl);
  });
}

OFFKV_API void offkv_watch_free(offkv_watch *watch) {
  if (!watch) return;
  guarded([&] { watch->client->cancel(watch->impl); });
  delete watch;
}

OFFKV_API int offkv_txn_new(offkv_txn **txn) {
  if (txn) *txn = nullptr;
  return guarded([&] {
    need(txn, "txn out-parameter");
    *txn = new offkv_txn();
  });
}

OFFKV_API void offkv_txn_free(offkv_txn *txn) { delete txn; }

static int add_op(offkv_txn *txn, offkv::TxnOpKind kind, const char *key,
                  const void *value, size_t len, int64_t version, int flags) {
  return guarded([&] {
    need(txn, "txn");
    offkv::TxnOp op;
    op.kind = kind;
    op.path = std::string(key_arg(key));
    op.value = std::string(value_arg(value, len));
    op.version = version;
    op.flags = flags;
    (kind == offkv::TxnOpKind::Check ? txn->txn.checks : txn->txn.ops).push_back(op);
  });
}

OFFKV_API int offkv_txn_check(offkv_txn *txn, const char *key, int64_t version) {
  return add_op(txn, offkv::TxnOpKind::Check, key, nullptr, 0, version, 0);
}
OFFKV_API int offkv_txn_create(offkv_txn *txn, const char *key, const void *value,
                               size_t value_len, int flags) {
  return add_op(txn, offkv::TxnOpKind::Create, key, value, value_len, 0, flags);
}
OFFKV_API int offkv_txn_set(offkv_txn *txn, const char *key, const void *value,
                            size_t value_len) {
  return add_op(txn, offkv::TxnOpKind::Set, key, value, value_len, 0, 0);
}
OFFKV_API int offkv_txn_erase(offkv_txn *txn, const char *key, int64_t expected_version) {
  return add_op(txn, offkv::TxnOpKind::Erase, key, nullptr, 0, expected_version, 0);
}

OFFKV_API void offkv_txn_result_free(offkv_txn_result *result) {
  if (!sized_usable(result)) return;
  if (result->ops)
    for (size_t i = 0; i < result->count; ++i) {
      if (!result->ops[i]) continue;
      std::free(result->ops[i]->key);
      std::free(result->ops[i]);
    }
  std::free(result->ops);
  clear_sized(result);
}

OFFKV_API int offkv_commit(offkv_client *client, const offkv_txn *txn,
                           offkv_txn_result *result) {
  clear_sized(result);
  return guarded([&] {
    if (result) sized_arg(result, "result", "OFFKV_TXN_RESULT_INIT");
    auto &c = client_arg(client);
    need(txn, "txn");
    std::vector<offkv::OpResult> ops;
    try {
      ops = c.commit(txn->txn);
    } catch (const offkv::TxnFailed &f) {
      if (result) {
        offkv_txn_result failed{};
        failed.size = sizeof(failed);
        failed.failed_index = f.index();
        failed.failed_code = f.reason();
        store_sized(result, failed);
      }
      throw;
    }
    if (result) fill_txn_result(result, ops);
  });
}

}  // extern "C"
