// offkv.h must compile as C++17 (-Wall -Wextra -Werror -pedantic) with C linkage.
#include <offkv.h>

#include <cstdio>
#include <type_traits>

static_assert(std::is_same<decltype(&offkv_open),
                           int (*)(const char *, const offkv_options *,
                                   offkv_client **)>::value,
              "offkv_open signature");
static_assert(std::is_standard_layout<offkv_options>::value, "C layout");
static_assert(std::is_trivially_copyable<offkv_event>::value, "C layout");
static_assert(OFFKV_ERROR_COUNT == OFFKV_EINTERNAL + 1, "error count");

int main() {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  if (opts.version != OFFKV_OPTIONS_VERSION || opts.session_callback != nullptr) {
    std::fprintf(stderr, "OFFKV_OPTIONS_INIT wrong in C++\n");
    return 1;
  }
  offkv_client *client = nullptr;
  if (offkv_open("mem://header-cxx", &opts, &client) != OFFKV_OK || !client) {
    std::fprintf(stderr, "open failed: %s\n", offkv_last_error());
    return 1;
  }
  offkv_client_free(client);
  std::printf("offkv.h OK as C++17\n");
  return 0;
}
