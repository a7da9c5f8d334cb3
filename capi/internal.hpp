// What the extern "C" facade files (offkv.cpp, recipes.cpp) share: the client handle,
// the per-thread error message, guarded() that turns every exception into a code, and
// the argument and buffer helpers. Internal: never installed.
#pragma once

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "../core/client.hpp"
#include "../core/error.hpp"
#include "offkv.h"

struct offkv_client {
  std::shared_ptr<offkv::Client> impl;
};

struct offkv_watch {
  std::shared_ptr<offkv::Client> client;
  offkv::WatchPtr impl;
};

struct offkv_txn {
  offkv::Txn txn;
};

namespace offkv {
namespace capi {

inline thread_local std::string last_error;

inline int set_error(int code, const std::string &message) {
  last_error = message.empty() ? offkv::error_text(code) : message;
  return code;
}

// Runs fn, turning every exception into a code and the per-thread message.
template <typename Fn>
int guarded(Fn &&fn) noexcept {
  try {
    last_error.clear();
    fn();
    return OFFKV_OK;
  } catch (const offkv::Error &e) {
    return set_error(e.code(), e.what());
  } catch (const std::bad_alloc &) {
    return set_error(OFFKV_ENOMEM, "out of memory");
  } catch (const std::exception &e) {
    return set_error(OFFKV_EINTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return set_error(OFFKV_EINTERNAL, "internal error: unknown exception");
  }
}

[[noreturn]] inline void invalid(const char *what) {
  offkv::fail(OFFKV_EINVAL, std::string(what));
}

inline void need(const void *p, const char *what) {
  if (!p) invalid((std::string(what) + " is NULL").c_str());
}

inline std::string_view key_arg(const char *key) {
  need(key, "key");
  return key;
}

inline std::string_view value_arg(const void *value, size_t len) {
  if (!value && len) invalid("value is NULL but value_len is not 0");
  return value ? std::string_view(static_cast<const char *>(value), len)
               : std::string_view();
}

inline offkv::Client &client_arg(offkv_client *c) {
  need(c, "client");
  if (!c->impl) offkv::fail(OFFKV_ECLOSED, "client is closed");
  return *c->impl;
}

inline char *copy_string(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

inline void fill_buf(offkv_buf *buf, const std::string &s) {
  buf->data = copy_string(s);
  buf->len = s.size();
}

inline void fill_strings(offkv_strings *out, const std::vector<std::string> &items) {
  out->items = static_cast<char **>(std::calloc(items.size() + 1, sizeof(char *)));
  if (!out->items) throw std::bad_alloc();
  try {
    for (size_t i = 0; i < items.size(); ++i) {
      out->items[i] = copy_string(items[i]);
      out->count = i + 1;
    }
  } catch (...) {
    offkv_strings_free(out);
    throw;
  }
}

// A C event view over a core event; valid while the core event lives.
inline offkv_event c_event(const offkv::Event &e) {
  offkv_event out;
  out.type = e.type;
  out.key = e.type == OFFKV_EVENT_SESSION ? nullptr : e.path.c_str();
  out.version = e.version;
  out.session_state = e.session_state;
  out.error = e.error;
  out.message = e.message.c_str();
  return out;
}

inline offkv::EventCallback c_callback(offkv_event_cb cb, void *user) {
  if (!cb) return {};
  return [cb, user](const offkv::Event &e) {
    offkv_event view = c_event(e);
    cb(&view, user);
  };
}

// One offkv_op_result per op, owned by result (offkv_txn_result_free).
inline void fill_txn_result(offkv_txn_result *result,
                            const std::vector<offkv::OpResult> &ops) {
  result->ops = static_cast<offkv_op_result *>(
      std::calloc(ops.size() + 1, sizeof(offkv_op_result)));
  if (!result->ops) throw std::bad_alloc();
  try {
    for (size_t i = 0; i < ops.size(); ++i) {
      result->ops[i].version = ops[i].version;
      result->ops[i].key = copy_string(ops[i].path);
      result->count = i + 1;
    }
  } catch (...) {
    offkv_txn_result_free(result);
    throw;
  }
}

}  // namespace capi
}  // namespace offkv
