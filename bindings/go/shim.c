// C side of the Go binding; see shim.h. No logic: one offkv_* call per wrapper.
#include "shim.h"

#include <string.h>

#include "_cgo_export.h"

// Copies the calling thread's detail message when rc is an error. In the same C call
// as the operation: a goroutine may run on another OS thread by its next cgo call.
static int with_detail(int rc, char **detail) {
  *detail = rc != OFFKV_OK ? offkv_last_error_copy() : NULL;
  return rc;
}

// The two C callbacks: both forward to the one exported Go trampoline (events.go).
static void goffkv_event_cb(const offkv_event *event, void *user) {
  goffkvEvent((offkv_event *)event, NULL, (uintptr_t)user);
}

static void goffkv_recipe_cb(const offkv_recipe_event *event, void *user) {
  goffkvEvent(NULL, (offkv_recipe_event *)event, (uintptr_t)user);
}

static void goffkv_completion_cb(const offkv_completion *completion, void *user) {
  goffkvComplete((offkv_completion *)completion, (uintptr_t)user);
}

int goffkv_options_init(offkv_options *opts, char **detail) {
  return with_detail(offkv_options_init(opts, OFFKV_OPTIONS_VERSION), detail);
}

int goffkv_options_set(offkv_options *opts, const char *name, const char *value,
                       char **detail) {
  return with_detail(offkv_options_set(opts, name, value), detail);
}

int goffkv_open(const char *url, const offkv_options *opts, uintptr_t session,
                offkv_client **client, char **detail) {
  // A C copy: the callback and the handle never sit in Go memory.
  offkv_options o = *opts;
  o.session_callback = goffkv_event_cb;
  o.session_user = (void *)session;
  return with_detail(offkv_open(url, &o, client), detail);
}

int goffkv_close(offkv_client *client, char **detail) {
  return with_detail(offkv_close(client), detail);
}

int goffkv_get_session_state(offkv_client *client, int *state, char **detail) {
  return with_detail(offkv_get_session_state(client, state), detail);
}

int goffkv_create(offkv_client *client, const char *key, const void *value,
                  size_t value_len, int flags, char **created_key, char **detail) {
  return with_detail(offkv_create(client, key, value, value_len, flags, created_key),
                     detail);
}

int goffkv_set(offkv_client *client, const char *key, const void *value,
               size_t value_len, int64_t *new_version, char **detail) {
  return with_detail(offkv_set(client, key, value, value_len, new_version), detail);
}

int goffkv_cas(offkv_client *client, const char *key, const void *value,
               size_t value_len, int64_t expected_version, int64_t *new_version,
               char **detail) {
  return with_detail(
      offkv_cas(client, key, value, value_len, expected_version, new_version), detail);
}

int goffkv_get(offkv_client *client, const char *key, offkv_buf *value,
               int64_t *version, char **detail) {
  return with_detail(offkv_get(client, key, value, version), detail);
}

int goffkv_exists(offkv_client *client, const char *key, int64_t *version,
                  char **detail) {
  return with_detail(offkv_exists(client, key, version), detail);
}

int goffkv_children(offkv_client *client, const char *key, offkv_strings *children,
                    char **detail) {
  return with_detail(offkv_children(client, key, children), detail);
}

int goffkv_erase(offkv_client *client, const char *key, int64_t expected_version,
                 char **detail) {
  return with_detail(offkv_erase(client, key, expected_version), detail);
}

int goffkv_get_watch(offkv_client *client, const char *key, offkv_buf *value,
                     int64_t *version, uintptr_t handle, offkv_watch **watch,
                     char **detail) {
  return with_detail(offkv_get_watch(client, key, value, version, goffkv_event_cb,
                                     (void *)handle, watch),
                     detail);
}

int goffkv_exists_watch(offkv_client *client, const char *key, int64_t *version,
                        uintptr_t handle, offkv_watch **watch, char **detail) {
  return with_detail(offkv_exists_watch(client, key, version, goffkv_event_cb,
                                        (void *)handle, watch),
                     detail);
}

int goffkv_children_watch(offkv_client *client, const char *key,
                          offkv_strings *children, uintptr_t handle,
                          offkv_watch **watch, char **detail) {
  return with_detail(offkv_children_watch(client, key, children, goffkv_event_cb,
                                          (void *)handle, watch),
                     detail);
}

int goffkv_watch_persistent(offkv_client *client, const char *key, uintptr_t handle,
                            offkv_watch **watch, char **detail) {
  return with_detail(
      offkv_watch_persistent(client, key, goffkv_event_cb, (void *)handle, watch),
      detail);
}

int goffkv_watch_cancel(offkv_watch *watch, char **detail) {
  return with_detail(offkv_watch_cancel(watch), detail);
}

int goffkv_txn_new(offkv_txn **txn, char **detail) {
  return with_detail(offkv_txn_new(txn), detail);
}

int goffkv_txn_check(offkv_txn *txn, const char *key, int64_t version, char **detail) {
  return with_detail(offkv_txn_check(txn, key, version), detail);
}

int goffkv_txn_create(offkv_txn *txn, const char *key, const void *value,
                      size_t value_len, int flags, char **detail) {
  return with_detail(offkv_txn_create(txn, key, value, value_len, flags), detail);
}

int goffkv_txn_set(offkv_txn *txn, const char *key, const void *value,
                   size_t value_len, char **detail) {
  return with_detail(offkv_txn_set(txn, key, value, value_len), detail);
}

int goffkv_txn_erase(offkv_txn *txn, const char *key, int64_t expected_version,
                     char **detail) {
  return with_detail(offkv_txn_erase(txn, key, expected_version), detail);
}

int goffkv_commit(offkv_client *client, const offkv_txn *txn, offkv_txn_result *result,
                  char **detail) {
  return with_detail(offkv_commit(client, txn, result), detail);
}

// ---- Asynchronous calls ----

int goffkv_create_async(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int flags, uintptr_t call, char **detail) {
  return with_detail(offkv_create_async(client, key, value, value_len, flags,
                                        goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_set_async(offkv_client *client, const char *key, const void *value,
                     size_t value_len, uintptr_t call, char **detail) {
  return with_detail(offkv_set_async(client, key, value, value_len, goffkv_completion_cb,
                                     (void *)call),
                     detail);
}

int goffkv_cas_async(offkv_client *client, const char *key, const void *value,
                     size_t value_len, int64_t expected_version, uintptr_t call,
                     char **detail) {
  return with_detail(offkv_cas_async(client, key, value, value_len, expected_version,
                                     goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_get_async(offkv_client *client, const char *key, uintptr_t call,
                     char **detail) {
  return with_detail(offkv_get_async(client, key, goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_exists_async(offkv_client *client, const char *key, uintptr_t call,
                        char **detail) {
  return with_detail(offkv_exists_async(client, key, goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_children_async(offkv_client *client, const char *key, uintptr_t call,
                          char **detail) {
  return with_detail(
      offkv_children_async(client, key, goffkv_completion_cb, (void *)call), detail);
}

int goffkv_erase_async(offkv_client *client, const char *key, int64_t expected_version,
                       uintptr_t call, char **detail) {
  return with_detail(offkv_erase_async(client, key, expected_version,
                                       goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_commit_async(offkv_client *client, const offkv_txn *txn, uintptr_t call,
                        char **detail) {
  return with_detail(offkv_commit_async(client, txn, goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_get_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                           uintptr_t call, char **detail) {
  return with_detail(offkv_get_watch_async(client, key, goffkv_event_cb, (void *)watch, 1,
                                           goffkv_completion_cb, (void *)call),
                     detail);
}

int goffkv_exists_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                              uintptr_t call, char **detail) {
  return with_detail(offkv_exists_watch_async(client, key, goffkv_event_cb,
                                              (void *)watch, 1, goffkv_completion_cb,
                                              (void *)call),
                     detail);
}

int goffkv_children_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                                uintptr_t call, char **detail) {
  return with_detail(offkv_children_watch_async(client, key, goffkv_event_cb,
                                                (void *)watch, 1, goffkv_completion_cb,
                                                (void *)call),
                     detail);
}

// ---- Recipes ----

int goffkv_election_contend(offkv_client *client, const char *group, const char *label,
                            const void *payload, size_t payload_len, uintptr_t handle,
                            offkv_election **election, char **detail) {
  return with_detail(offkv_election_contend_labeled(client, group, label, payload,
                                                    payload_len, goffkv_recipe_cb,
                                                    (void *)handle, election),
                     detail);
}

int goffkv_election_is_leader(offkv_election *election, int *is_leader, char **detail) {
  return with_detail(offkv_election_is_leader(election, is_leader), detail);
}

int goffkv_election_wait(offkv_election *election, int leader, int timeout_ms,
                         char **detail) {
  return with_detail(offkv_election_wait(election, leader, timeout_ms), detail);
}

int goffkv_election_member(offkv_election *election, offkv_member *member,
                           char **detail) {
  return with_detail(offkv_election_member(election, member), detail);
}

int goffkv_election_withdraw(offkv_election *election, char **detail) {
  return with_detail(offkv_election_withdraw(election), detail);
}

int goffkv_detector_open(offkv_client *client, const char *group, const char *label,
                         uintptr_t handle, offkv_detector **detector, char **detail) {
  return with_detail(offkv_detector_open_labeled(client, group, label, goffkv_recipe_cb,
                                                 (void *)handle, detector),
                     detail);
}

int goffkv_detector_leader(offkv_detector *detector, offkv_member *leader,
                           char **detail) {
  return with_detail(offkv_detector_leader(detector, leader), detail);
}

int goffkv_detector_wait(offkv_detector *detector, const char *previous_key,
                         int timeout_ms, offkv_member *leader, char **detail) {
  return with_detail(offkv_detector_wait(detector, previous_key, timeout_ms, leader),
                     detail);
}

int goffkv_detector_close(offkv_detector *detector, char **detail) {
  return with_detail(offkv_detector_close(detector), detail);
}

int goffkv_group_open(offkv_client *client, const char *group, const char *label,
                      uintptr_t handle, offkv_group **group_handle, char **detail) {
  return with_detail(offkv_group_open_labeled(client, group, label, goffkv_recipe_cb,
                                              (void *)handle, group_handle),
                     detail);
}

int goffkv_group_join(offkv_group *group, const void *payload, size_t payload_len,
                      char **detail) {
  return with_detail(offkv_group_join(group, payload, payload_len), detail);
}

int goffkv_group_update(offkv_group *group, const void *payload, size_t payload_len,
                        char **detail) {
  return with_detail(offkv_group_update(group, payload, payload_len), detail);
}

int goffkv_group_leave(offkv_group *group, char **detail) {
  return with_detail(offkv_group_leave(group), detail);
}

int goffkv_group_self(offkv_group *group, offkv_member *self, char **detail) {
  return with_detail(offkv_group_self(group, self), detail);
}

int goffkv_group_members(offkv_group *group, offkv_members *members, char **detail) {
  return with_detail(offkv_group_members(group, members), detail);
}

int goffkv_group_close(offkv_group *group, char **detail) {
  return with_detail(offkv_group_close(group), detail);
}

int goffkv_lock_new(offkv_client *client, const char *key, offkv_lock **lock,
                    char **detail) {
  return with_detail(offkv_lock_new(client, key, lock), detail);
}

int goffkv_lock_acquire(offkv_lock *lock, int timeout_ms, char **detail) {
  return with_detail(offkv_lock_acquire(lock, timeout_ms), detail);
}

int goffkv_lock_release(offkv_lock *lock, char **detail) {
  return with_detail(offkv_lock_release(lock), detail);
}

int goffkv_lock_is_held(offkv_lock *lock, int *held, char **detail) {
  return with_detail(offkv_lock_is_held(lock, held), detail);
}

int goffkv_lock_member(offkv_lock *lock, offkv_member *member, char **detail) {
  return with_detail(offkv_lock_member(lock, member), detail);
}

// ---- Logs, counters, test kit ----

// The process-wide log callback: any thread, Go's or not (cgo binds a C thread to
// the runtime for the call). The Go function keeps the LogFunc; user is unused.
static void goffkv_log_cb(int level, const char *component, const char *message,
                          void *user) {
  (void)user;
  goffkvLog(level, (char *)component, (char *)message);
}

int goffkv_set_log_callback(int on, int max_level, char **detail) {
  return with_detail(offkv_set_log_callback(on ? goffkv_log_cb : NULL, NULL, max_level),
                     detail);
}

int goffkv_get_stats(offkv_client *client, offkv_stats *stats, char **detail) {
  return with_detail(offkv_get_stats(client, stats), detail);
}

int goffkv_testkit_end_watches(offkv_client *client, int error, char **detail) {
  return with_detail(offkv_testkit_end_watches(client, error), detail);
}

int goffkv_testkit_suspend(offkv_client *client, char **detail) {
  return with_detail(offkv_testkit_suspend(client), detail);
}

int goffkv_testkit_resume(offkv_client *client, char **detail) {
  return with_detail(offkv_testkit_resume(client), detail);
}

int goffkv_testkit_expire(offkv_client *client, char **detail) {
  return with_detail(offkv_testkit_expire(client), detail);
}
