// What the extern "C" facade files (offkv.cpp, recipes.cpp) share: the client handle,
// the per-thread error message, guarded() that turns every exception into a code, and
// the argument and buffer helpers. Internal: never installed.
#pragma once

#include <algorithm>
#include <cstddef>
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

// ---- Sized structs (offkv.h "Structs and ABI") ----

// The size each caller-allocated output struct had in offkv 0.1, the first version
// with a size field: the end of its last 0.1 field. Callers' sizes below it are
// refused. Never change these: they are part of the ABI.
template <typename T>
constexpr std::size_t v1_size();
template <>
constexpr std::size_t v1_size<offkv_member>() {
  return offsetof(offkv_member, payload) + sizeof(offkv_buf);
}
template <>
constexpr std::size_t v1_size<offkv_members>() {
  return offsetof(offkv_members, count) + sizeof(std::size_t);
}
template <>
constexpr std::size_t v1_size<offkv_txn_result>() {
  return offsetof(offkv_txn_result, failed_code) + sizeof(int);
}
template <>
constexpr std::size_t v1_size<offkv_stats>() {
  return offsetof(offkv_stats, count) + sizeof(std::size_t);
}

// Non-null with a size at least its 0.1 size.
template <typename T>
bool sized_usable(const T *out) {
  return out && out->size >= v1_size<T>();
}

// Refuses a NULL or uninitialised (size too small) output struct.
template <typename T>
void sized_arg(const T *out, const char *what, const char *init_macro) {
  need(out, what);
  if (out->size < v1_size<T>())
    invalid((std::string(what) + " has size " + std::to_string(out->size) +
             ", less than its smallest valid size " + std::to_string(v1_size<T>()) +
             "; initialise it with " + init_macro)
                .c_str());
}

// Zeroes every byte of the caller's struct after `size`, up to its `size` (which may
// be more or less than ours). Does nothing to a struct sized_usable refuses.
template <typename T>
void clear_sized(T *out) {
  if (!sized_usable(out)) return;
  auto *bytes = reinterpret_cast<unsigned char *>(out);
  std::memset(bytes + sizeof(out->size), 0, out->size - sizeof(out->size));
}

// Stores `full` (ours, every field set) into the caller's struct: the bytes that fit
// in the caller's `size`, zero beyond our own struct, nothing past `size`. An owned
// field added after 0.1 must be freed by the caller of store_sized when it does not
// fit; every 0.1 field always fits.
template <typename T>
void store_sized(T *out, const T &full) {
  std::size_t caller = out->size;
  std::size_t copied = std::min(caller, sizeof(T));
  auto *bytes = reinterpret_cast<unsigned char *>(out);
  std::memcpy(bytes + sizeof(out->size),
              reinterpret_cast<const unsigned char *>(&full) + sizeof(full.size),
              copied - sizeof(full.size));
  if (caller > copied) std::memset(bytes + copied, 0, caller - copied);
}

// A library-allocated struct: zeroed, with size = ours.
template <typename T>
T *new_sized() {
  auto *out = static_cast<T *>(std::calloc(1, sizeof(T)));
  if (!out) throw std::bad_alloc();
  out->size = sizeof(T);
  return out;
}

// A C event view over a core event; valid while the core event lives.
inline offkv_event c_event(const offkv::Event &e) {
  offkv_event out{};
  out.size = sizeof(offkv_event);
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

// One library-allocated offkv_op_result per op, owned by result
// (offkv_txn_result_free). result was checked by sized_arg and cleared.
inline void fill_txn_result(offkv_txn_result *result,
                            const std::vector<offkv::OpResult> &ops) {
  offkv_txn_result full{};
  full.size = sizeof(full);
  full.ops = static_cast<offkv_op_result **>(
      std::calloc(ops.size() + 1, sizeof(offkv_op_result *)));
  if (!full.ops) throw std::bad_alloc();
  try {
    for (size_t i = 0; i < ops.size(); ++i) {
      offkv_op_result *op = new_sized<offkv_op_result>();
      full.ops[i] = op;
      full.count = i + 1;
      op->version = ops[i].version;
      op->key = copy_string(ops[i].path);
    }
  } catch (...) {
    offkv_txn_result_free(&full);
    throw;
  }
  store_sized(result, full);
}

}  // namespace capi
}  // namespace offkv
