/* offkv.h must compile as strict C99 (-std=c99 -Wall -Wextra -Werror -pedantic). */
#include <offkv.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  offkv_options init;
  offkv_buf buf = {NULL, 0};
  offkv_strings strings = {NULL, 0};
  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  offkv_event_cb cb = NULL;
  int failures = 0;

  memset(&init, 0xff, sizeof init);
  if (opts.version != OFFKV_OPTIONS_VERSION || opts.session_timeout_ms != 0 ||
      opts.tls_ca_file != NULL || opts.session_callback != NULL) {
    fprintf(stderr, "OFFKV_OPTIONS_INIT is not version + zeroes\n");
    ++failures;
  }
  if (offkv_options_init(&init, OFFKV_OPTIONS_VERSION) != OFFKV_OK ||
      init.version != opts.version || init.session_timeout_ms != 0 ||
      init.username != NULL || init.session_user != NULL) {
    fprintf(stderr, "offkv_options_init differs from OFFKV_OPTIONS_INIT\n");
    ++failures;
  }
  if (offkv_version() != OFFKV_VERSION_NUMBER) {
    fprintf(stderr, "offkv_version() %d != %d\n", offkv_version(), OFFKV_VERSION_NUMBER);
    ++failures;
  }
  (void)cb;
  offkv_buf_free(&buf);
  offkv_strings_free(&strings);
  offkv_txn_result_free(&result);
  if (failures == 0) printf("offkv.h OK as C99\n");
  return failures == 0 ? 0 : 1;
}
