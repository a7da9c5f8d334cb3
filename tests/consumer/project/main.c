/* Opens mem://consumer, sets and gets a key, checks the library version.
 * Built against an installed offkv both through find_package and pkg-config. */
#include <offkv.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                              \
  do {                                                                           \
    int rc_ = (call);                                                            \
    if (rc_ != OFFKV_OK) {                                                       \
      fprintf(stderr, "%s failed: %s (%s)\n", #call, offkv_error_name(rc_),      \
              offkv_last_error());                                               \
      return 1;                                                                  \
    }                                                                            \
  } while (0)

int main(void) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  offkv_client *client = NULL;
  offkv_buf value = {NULL, 0};
  int64_t version = 0;
  static const char payload[] = "hello from an installed offkv";

  if (offkv_version() != OFFKV_VERSION_NUMBER) {
    fprintf(stderr, "offkv_version() = %d, header says %d\n", offkv_version(),
            OFFKV_VERSION_NUMBER);
    return 1;
  }
  if (strcmp(offkv_version_string(), OFFKV_VERSION_STRING) != 0) {
    fprintf(stderr, "offkv_version_string() = %s, header says %s\n",
            offkv_version_string(), OFFKV_VERSION_STRING);
    return 1;
  }
  if (!offkv_has_backend("mem")) {
    fprintf(stderr, "mem backend missing\n");
    return 1;
  }

  CHECK(offkv_open("mem://consumer", &opts, &client));
  CHECK(offkv_set(client, "/greeting", payload, sizeof payload - 1, &version));
  if (version != 1) {
    fprintf(stderr, "set returned version %lld, expected 1\n", (long long)version);
    return 1;
  }
  CHECK(offkv_get(client, "/greeting", &value, &version));
  if (value.len != sizeof payload - 1 || memcmp(value.data, payload, value.len) != 0 ||
      version != 1) {
    fprintf(stderr, "get returned '%s' version %lld\n", value.data ? value.data : "",
            (long long)version);
    return 1;
  }
  offkv_buf_free(&value);
  CHECK(offkv_close(client));
  offkv_client_free(client);
  printf("consumer OK: offkv %s, mem://consumer round trip\n", offkv_version_string());
  return 0;
}
