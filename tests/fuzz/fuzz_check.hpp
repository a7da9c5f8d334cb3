// What every fuzz target shares: a check that stops the run with a message (libFuzzer
// keeps the input as a crash), and the rule every C API return must follow.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "offkv.h"

#define FUZZ_CHECK(cond, ...)                                                         \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                              \
      std::fprintf(stderr, "\n");                                                     \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

// A code from a C API call: one of OFFKV_E*, never "a bug in offkv", and a failure
// always comes with a message.
inline int fuzz_code(int code, const char *call) {
  FUZZ_CHECK(code >= 0 && code < OFFKV_ERROR_COUNT, "%s returned %d", call, code);
  FUZZ_CHECK(code != OFFKV_EINTERNAL && code != OFFKV_ENOMEM, "%s: %s: %s", call,
             offkv_error_name(code), offkv_last_error());
  FUZZ_CHECK(code == OFFKV_OK || offkv_last_error()[0] != '\0',
             "%s failed with %s but left no message", call, offkv_error_name(code));
  return code;
}
