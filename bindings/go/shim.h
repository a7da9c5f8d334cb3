/*
 * C side of the Go binding: thin wrappers over capi/offkv.h, nothing else.
 *
 * Each goffkv_* wrapper makes exactly one offkv_* call and, when it fails, copies
 * offkv_last_error() into *detail (malloc'd, freed by Go with free()) before
 * returning. offkv_last_error() is per OS thread and a goroutine may change threads
 * between two cgo calls, so the message must be read inside the same C call.
 *
 * Callback state crosses as a runtime/cgo.Handle (an integer, never a Go pointer):
 * the wrappers cast it to the void *user of the C API and install goffkv_event_cb
 * (watches, sessions) or goffkv_recipe_cb (recipes), which both hand the event to
 * the exported Go function goffkvEvent, or goffkv_completion_cb (asynchronous calls),
 * which hands the completion to the exported Go function goffkvComplete.
 */
#ifndef GOFFKV_SHIM_H
#define GOFFKV_SHIM_H

#include <offkv.h>
#include <stdint.h>
#include <stdlib.h>

int goffkv_options_init(offkv_options *opts, char **detail);
int goffkv_options_set(offkv_options *opts, const char *name, const char *value,
                       char **detail);
int goffkv_open(const char *url, const offkv_options *opts, uintptr_t session,
                offkv_client **client, char **detail);
int goffkv_close(offkv_client *client, char **detail);
int goffkv_get_session_state(offkv_client *client, int *state, char **detail);

int goffkv_create(offkv_client *client, const char *key, const void *value,
                  size_t value_len, int flags, char **created_key, char **detail);
int goffkv_set(offkv_client *client, const char *key, const void *value,
               size_t value_len, int64_t *new_version, char **detail);
int goffkv_cas(offkv_client *client, const char *key, const void *value,
               size_t value_len, int64_t expected_version, int64_t *new_version,
               char **detail);
int goffkv_get(offkv_client *client, const char *key, offkv_buf *value,
               int64_t *version, char **detail);
int goffkv_exists(offkv_client *client, const char *key, int64_t *version,
                  char **detail);
int goffkv_children(offkv_client *client, const char *key, offkv_strings *children,
                    char **detail);
int goffkv_erase(offkv_client *client, const char *key, int64_t expected_version,
                 char **detail);

int goffkv_get_watch(offkv_client *client, const char *key, offkv_buf *value,
                     int64_t *version, uintptr_t handle, offkv_watch **watch,
                     char **detail);
int goffkv_exists_watch(offkv_client *client, const char *key, int64_t *version,
                        uintptr_t handle, offkv_watch **watch, char **detail);
int goffkv_children_watch(offkv_client *client, const char *key,
                          offkv_strings *children, uintptr_t handle,
                          offkv_watch **watch, char **detail);
int goffkv_watch_persistent(offkv_client *client, const char *key, uintptr_t handle,
                            offkv_watch **watch, char **detail);
int goffkv_watch_cancel(offkv_watch *watch, char **detail);

int goffkv_txn_new(offkv_txn **txn, char **detail);
int goffkv_txn_check(offkv_txn *txn, const char *key, int64_t version, char **detail);
int goffkv_txn_create(offkv_txn *txn, const char *key, const void *value,
                      size_t value_len, int flags, char **detail);
int goffkv_txn_set(offkv_txn *txn, const char *key, const void *value,
                   size_t value_len, char **detail);
int goffkv_txn_erase(offkv_txn *txn, const char *key, int64_t expected_version,
                     char **detail);
int goffkv_commit(offkv_client *client, const offkv_txn *txn, offkv_txn_result *result,
                  char **detail);


/* ---- Asynchronous calls ----
 *
 * `call` is the cgo.Handle of the Go side's waiting call: the completion (on the
 * client's event thread) goes with it to the exported Go function goffkvComplete.
 * When the library refuses the call at once (rc != 0, *detail set as above) the
 * completion never runs. The watch-arming forms register goffkv_event_cb with the
 * watch's handle and keep the watch handle (it arrives in the completion). */
int goffkv_create_async(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int flags, uintptr_t call, char **detail);
int goffkv_set_async(offkv_client *client, const char *key, const void *value,
                     size_t value_len, uintptr_t call, char **detail);
int goffkv_cas_async(offkv_client *client, const char *key, const void *value,
                     size_t value_len, int64_t expected_version, uintptr_t call,
                     char **detail);
int goffkv_get_async(offkv_client *client, const char *key, uintptr_t call,
                     char **detail);
int goffkv_exists_async(offkv_client *client, const char *key, uintptr_t call,
                        char **detail);
int goffkv_children_async(offkv_client *client, const char *key, uintptr_t call,
                          char **detail);
int goffkv_erase_async(offkv_client *client, const char *key, int64_t expected_version,
                       uintptr_t call, char **detail);
int goffkv_commit_async(offkv_client *client, const offkv_txn *txn, uintptr_t call,
                        char **detail);
int goffkv_get_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                           uintptr_t call, char **detail);
int goffkv_exists_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                              uintptr_t call, char **detail);
int goffkv_children_watch_async(offkv_client *client, const char *key, uintptr_t watch,
                                uintptr_t call, char **detail);

/* ---- Recipes ---- */

/* label NULL: offkv's member names; else Mesos' layout (the *_labeled functions). */
int goffkv_election_contend(offkv_client *client, const char *group, const char *label,
                            const void *payload, size_t payload_len, uintptr_t handle,
                            offkv_election **election, char **detail);
int goffkv_election_is_leader(offkv_election *election, int *is_leader, char **detail);
int goffkv_election_wait(offkv_election *election, int leader, int timeout_ms,
                         char **detail);
int goffkv_election_member(offkv_election *election, offkv_member *member,
                           char **detail);
int goffkv_election_withdraw(offkv_election *election, char **detail);

int goffkv_detector_open(offkv_client *client, const char *group, const char *label,
                         uintptr_t handle, offkv_detector **detector, char **detail);
int goffkv_detector_leader(offkv_detector *detector, offkv_member *leader,
                           char **detail);
int goffkv_detector_wait(offkv_detector *detector, const char *previous_key,
                         int timeout_ms, offkv_member *leader, char **detail);
int goffkv_detector_close(offkv_detector *detector, char **detail);

int goffkv_group_open(offkv_client *client, const char *group, const char *label,
                      uintptr_t handle, offkv_group **group_handle, char **detail);
int goffkv_group_join(offkv_group *group, const void *payload, size_t payload_len,
                      char **detail);
int goffkv_group_update(offkv_group *group, const void *payload, size_t payload_len,
                        char **detail);
int goffkv_group_leave(offkv_group *group, char **detail);
int goffkv_group_self(offkv_group *group, offkv_member *self, char **detail);
int goffkv_group_members(offkv_group *group, offkv_members *members, char **detail);
int goffkv_group_close(offkv_group *group, char **detail);

int goffkv_lock_new(offkv_client *client, const char *key, offkv_lock **lock,
                    char **detail);
int goffkv_lock_acquire(offkv_lock *lock, int timeout_ms, char **detail);
int goffkv_lock_release(offkv_lock *lock, char **detail);
int goffkv_lock_is_held(offkv_lock *lock, int *held, char **detail);
int goffkv_lock_member(offkv_lock *lock, offkv_member *member, char **detail);

/* ---- Logs, counters, test kit ---- */

/* on != 0: installs goffkv_log_cb, which hands every line to the exported Go function
 * goffkvLog (the Go side holds the LogFunc); on == 0: turns logging off. */
int goffkv_set_log_callback(int on, int max_level, char **detail);
int goffkv_get_stats(offkv_client *client, offkv_stats *stats, char **detail);
int goffkv_testkit_end_watches(offkv_client *client, int error, char **detail);
int goffkv_testkit_suspend(offkv_client *client, char **detail);
int goffkv_testkit_resume(offkv_client *client, char **detail);
int goffkv_testkit_expire(offkv_client *client, char **detail);

#endif /* GOFFKV_SHIM_H */
