/*
 * offkv: one ZooKeeper-like coordination model over ZooKeeper, etcd v3, Consul KV
 * and an embedded mem:// store.
 *
 * The one public header. Plain C99; every symbol is prefixed offkv_ / OFFKV_.
 *
 * Conventions (see docs/c-api.md):
 *  - Every function returns an int error code (OFFKV_OK == 0) and writes results
 *    through out-parameters. On error the out-parameters are left zeroed.
 *  - offkv_last_error() gives a per-thread detail message for the last failed call.
 *  - Every buffer the library hands out is freed by the matching offkv_*_free
 *    function; never by free() or delete.
 *  - A client handle may be used from many threads at once.
 *  - Callbacks run on the client's own event thread, never while the library holds an
 *    internal lock; a callback may call any offkv function.
 */
#ifndef OFFKV_H
#define OFFKV_H

#include <stddef.h>
#include <stdint.h>

#define OFFKV_VERSION_MAJOR 0
#define OFFKV_VERSION_MINOR 1
#define OFFKV_VERSION_PATCH 0
#define OFFKV_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with offkv_version(). */
#define OFFKV_VERSION_NUMBER                                                   \
  (OFFKV_VERSION_MAJOR * 10000 + OFFKV_VERSION_MINOR * 100 + OFFKV_VERSION_PATCH)

#if defined(_WIN32)
#if defined(OFFKV_BUILDING)
#define OFFKV_API __declspec(dllexport)
#else
#define OFFKV_API __declspec(dllimport)
#endif
#else
#define OFFKV_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Limits: the same on every backend (docs/semantics.md says why) ---- */

/* Largest value, in bytes, accepted by every operation on every backend. */
#define OFFKV_MAX_VALUE_SIZE (256 * 1024)
/* Largest full key (prefix + key), in bytes. */
#define OFFKV_MAX_KEY_SIZE 4096
/* Largest key segment, in bytes. */
#define OFFKV_MAX_SEGMENT_SIZE 255
/* Largest number of checks + ops in one transaction. */
#define OFFKV_MAX_TXN_OPS 16
/* Session timeout bounds and default, in milliseconds. */
#define OFFKV_SESSION_TIMEOUT_DEFAULT_MS 10000
#define OFFKV_SESSION_TIMEOUT_MIN_MS 2000
#define OFFKV_SESSION_TIMEOUT_MAX_MS 60000

/* ---- Errors ---- */

typedef enum offkv_error {
  OFFKV_OK = 0,
  OFFKV_EINVAL = 1,       /* bad argument, key or URL */
  OFFKV_ENOENT = 2,       /* no such node (or missing parent) */
  OFFKV_EEXIST = 3,       /* node already exists */
  OFFKV_EVERSION = 4,     /* version does not match */
  OFFKV_EEPHEMERAL = 5,   /* ephemeral nodes cannot have children */
  OFFKV_ENOTEMPTY = 6,    /* node has children */
  OFFKV_ETOOBIG = 7,      /* value, key or transaction above the limit */
  OFFKV_ETXN = 8,         /* transaction failed; see failed_index */
  OFFKV_ECONNLOSS = 9,    /* connection lost; outcome of the call unknown */
  OFFKV_ESESSION = 10,    /* session expired */
  OFFKV_ETIMEOUT = 11,    /* operation or wait timed out */
  OFFKV_EAUTH = 12,       /* authentication or permission failure */
  OFFKV_ETLS = 13,        /* TLS set-up or handshake failure */
  OFFKV_ECLOSED = 14,     /* the client or watch was closed */
  OFFKV_EUNSUPPORTED = 15, /* not supported (e.g. backend compiled out) */
  OFFKV_ESERVICE = 16,    /* the backend answered something unexpected */
  OFFKV_ENOMEM = 17,      /* out of memory */
  OFFKV_EINTERNAL = 18    /* a bug in offkv */
} offkv_error;

/* Number of codes; every code is in [0, OFFKV_ERROR_COUNT). */
#define OFFKV_ERROR_COUNT 19

/* Static text describing a code ("no such node"); never NULL. */
OFFKV_API const char *offkv_strerror(int code);
/* Static symbolic name of a code ("OFFKV_ENOENT"); never NULL. */
OFFKV_API const char *offkv_error_name(int code);
/* Detail message of the last failed call on this thread (names the key, the backend
 * and the server's own words). "" if the last call succeeded. Valid until the next
 * offkv call on this thread. */
OFFKV_API const char *offkv_last_error(void);

/* ---- Version ---- */

/* OFFKV_VERSION_NUMBER of the library actually loaded. */
OFFKV_API int offkv_version(void);
/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
OFFKV_API const char *offkv_version_string(void);
/* Non-zero if the named backend ("mem", "zk", "etcd", "consul") is compiled in. */
OFFKV_API int offkv_has_backend(const char *scheme);

/* ---- Handles and owned buffers ---- */

typedef struct offkv_client offkv_client;
typedef struct offkv_watch offkv_watch;
typedef struct offkv_txn offkv_txn;

/* A byte string owned by the library; data[len] is always 0 for convenience. */
typedef struct offkv_buf {
  char *data;
  size_t len;
} offkv_buf;
OFFKV_API void offkv_buf_free(offkv_buf *buf);

/* An array of NUL-terminated strings owned by the library. */
typedef struct offkv_strings {
  char **items;
  size_t count;
} offkv_strings;
OFFKV_API void offkv_strings_free(offkv_strings *strings);

/* Frees a string the library returned through a char ** out-parameter. */
OFFKV_API void offkv_string_free(char *str);

/* ---- Events (watches and session) ---- */

typedef enum offkv_event_type {
  OFFKV_EVENT_CREATED = 1,  /* the node was created */
  OFFKV_EVENT_DELETED = 2,  /* the node was erased */
  OFFKV_EVENT_CHANGED = 3,  /* the node's value was replaced */
  OFFKV_EVENT_CHILDREN = 4, /* a direct child was added or removed */
  OFFKV_EVENT_ENDED = 5,    /* the watch ended: session lost, client closed */
  OFFKV_EVENT_SESSION = 6   /* session state changed; see session_state */
} offkv_event_type;

typedef enum offkv_session_state {
  OFFKV_SESSION_CONNECTED = 1, /* session live, server reachable */
  OFFKV_SESSION_SUSPENDED = 2, /* connection lost; session may still live */
  OFFKV_SESSION_LOST = 3,      /* session expired: ephemerals and watches gone */
  OFFKV_SESSION_CLOSED = 4     /* offkv_close was called */
} offkv_session_state;

typedef struct offkv_event {
  int type;          /* offkv_event_type */
  const char *key;   /* the key that changed (relative to the client's root);
                        NULL for session events */
  int64_t version;   /* node version after the change, 0 if it no longer exists,
                        -1 if not known (CHILDREN, ENDED, SESSION) */
  int session_state; /* offkv_session_state for SESSION and ENDED events, else 0 */
  int error;         /* for ENDED: why (OFFKV_ECLOSED, OFFKV_ESESSION, ...) */
  const char *message; /* human-readable detail, may be "" */
} offkv_event;

/* Pointers inside the event are valid only during the call. */
typedef void (*offkv_event_cb)(const offkv_event *event, void *user);

/* ---- Options ---- */

typedef enum offkv_read_consistency {
  OFFKV_READ_LINEARIZABLE = 0, /* default: reads see every committed write */
  OFFKV_READ_SERIALIZABLE = 1  /* may read a stale local replica; cheaper */
} offkv_read_consistency;

#define OFFKV_OPTIONS_VERSION 1

/* Always initialise with OFFKV_OPTIONS_INIT or offkv_options_init(); zero or NULL
 * fields mean "default". Fields are only ever appended. */
typedef struct offkv_options {
  unsigned int version;          /* OFFKV_OPTIONS_VERSION */
  int32_t session_timeout_ms;    /* default OFFKV_SESSION_TIMEOUT_DEFAULT_MS */
  int32_t connect_timeout_ms;    /* default 10000 */
  int32_t operation_timeout_ms;  /* default 10000 */
  const char *tls_ca_file;       /* PEM file of trusted CAs */
  const char *tls_cert_file;     /* PEM client certificate */
  const char *tls_key_file;      /* PEM client key */
  const char *username;          /* etcd user, ZooKeeper digest user */
  const char *password;          /* etcd password, ZooKeeper digest password */
  const char *token;             /* Consul ACL token */
  int read_consistency;          /* offkv_read_consistency */
  /* Told every session state transition (type OFFKV_EVENT_SESSION), starting with
   * the first CONNECTED; called on the client's event thread. */
  offkv_event_cb session_callback;
  void *session_user;
} offkv_options;

#define OFFKV_OPTIONS_INIT                                                     \
  { OFFKV_OPTIONS_VERSION, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL }

/* Fills opts with defaults for the given struct version. */
OFFKV_API int offkv_options_init(offkv_options *opts, unsigned int version);

/* ---- Clients ---- */

/*
 * Opens a client. url is one of
 *   mem://NAME[/prefix]
 *   zk://host:port[,host:port...][/prefix]
 *   etcd://host:port[,...][/prefix]      etcds://...  (TLS)
 *   consul://host:port[/prefix]          consuls://... (TLS)
 * optionally followed by ?name=value&... with the option names of docs/c-api.md,
 * which override opts. opts may be NULL.
 */
OFFKV_API int offkv_open(const char *url, const offkv_options *opts,
                         offkv_client **client);
/* Ends the session at once (ephemerals vanish, watches get ENDED). The handle stays
 * valid for offkv_client_free; every other call on it returns OFFKV_ECLOSED.
 * Closing twice is OK. */
OFFKV_API int offkv_close(offkv_client *client);
/* Closes (if still open) and frees the handle. NULL is ignored. Must not be called
 * from one of this client's own callbacks. */
OFFKV_API void offkv_client_free(offkv_client *client);
/* Current session state (offkv_session_state). */
OFFKV_API int offkv_get_session_state(offkv_client *client, int *state);

/* ---- Nodes ---- */

#define OFFKV_EPHEMERAL 1
#define OFFKV_SEQUENTIAL 2
/* Transaction check: the node exists, whatever its version. */
#define OFFKV_ANY_VERSION (-1)

/* Creates key. With OFFKV_SEQUENTIAL the actual key (key + 10 digits) is written to
 * *created_key when it is not NULL (free with offkv_string_free). */
OFFKV_API int offkv_create(offkv_client *client, const char *key, const void *value,
                           size_t value_len, int flags, char **created_key);
/* Creates or replaces; *new_version (may be NULL) gets the resulting version. */
OFFKV_API int offkv_set(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int64_t *new_version);
/* expected_version 0: create only if absent; > 0: replace only at that version. */
OFFKV_API int offkv_cas(offkv_client *client, const char *key, const void *value,
                        size_t value_len, int64_t expected_version,
                        int64_t *new_version);
/* value and version may each be NULL. */
OFFKV_API int offkv_get(offkv_client *client, const char *key, offkv_buf *value,
                        int64_t *version);
/* *version = the node's version, or 0 if it does not exist (not an error). */
OFFKV_API int offkv_exists(offkv_client *client, const char *key, int64_t *version);
/* Direct children as full keys, sorted bytewise ascending. */
OFFKV_API int offkv_children(offkv_client *client, const char *key,
                             offkv_strings *children);
/* Removes key and its whole subtree atomically; expected_version 0 = any. */
OFFKV_API int offkv_erase(offkv_client *client, const char *key,
                          int64_t expected_version);

/* ---- Watches ---- */

/*
 * The *_watch forms do the read and leave a one-shot watch, atomically. The watch
 * fires once, for the first change after the state the read returned:
 *   get_watch:      CHANGED or DELETED
 *   exists_watch:   CREATED (if absent), CHANGED or DELETED (if present)
 *   children_watch: CHILDREN or DELETED
 *   any:            ENDED when the session is lost or the client closed
 * callback (may be NULL) is called once on the event thread. *watch (may be NULL if
 * a callback is given) receives a handle for offkv_watch_wait / offkv_watch_cancel,
 * freed with offkv_watch_free. If the read fails no watch is left.
 */
OFFKV_API int offkv_get_watch(offkv_client *client, const char *key, offkv_buf *value,
                              int64_t *version, offkv_event_cb callback, void *user,
                              offkv_watch **watch);
OFFKV_API int offkv_exists_watch(offkv_client *client, const char *key,
                                 int64_t *version, offkv_event_cb callback,
                                 void *user, offkv_watch **watch);
OFFKV_API int offkv_children_watch(offkv_client *client, const char *key,
                                   offkv_strings *children, offkv_event_cb callback,
                                   void *user, offkv_watch **watch);
/*
 * A persistent, recursive watch on key and every key below it (key need not exist):
 * CREATED / CHANGED / DELETED for each change, in order, with the changed key, until
 * cancelled; ENDED when the session ends. With no callback, events queue for
 * offkv_watch_wait; with a callback they go only to the callback.
 */
OFFKV_API int offkv_watch_persistent(offkv_client *client, const char *key,
                                     offkv_event_cb callback, void *user,
                                     offkv_watch **watch);

/* An event taken by offkv_watch_wait; free with offkv_event_free. */
OFFKV_API void offkv_event_free(offkv_event *event);

/*
 * Waits up to timeout_ms (< 0: forever) for the watch's next event. A one-shot watch
 * that has fired returns its event on every call. Returns OFFKV_ETIMEOUT if nothing
 * came, OFFKV_ECLOSED if the watch was cancelled.
 */
OFFKV_API int offkv_watch_wait(offkv_watch *watch, int timeout_ms,
                               offkv_event **event);
/* Cancels the watch. After it returns the callback is never called again (if called
 * from another thread while the callback runs, it waits for the callback to return).
 * Cancelling twice is OK. */
OFFKV_API int offkv_watch_cancel(offkv_watch *watch);
/* Cancels (if needed) and frees the handle. NULL is ignored. */
OFFKV_API void offkv_watch_free(offkv_watch *watch);

/* ---- Transactions ---- */

/* A transaction under construction; checks and ops are kept in call order. */
OFFKV_API int offkv_txn_new(offkv_txn **txn);
OFFKV_API void offkv_txn_free(offkv_txn *txn);
/* version > 0: exactly that version; 0: does not exist; OFFKV_ANY_VERSION: exists. */
OFFKV_API int offkv_txn_check(offkv_txn *txn, const char *key, int64_t version);
OFFKV_API int offkv_txn_create(offkv_txn *txn, const char *key, const void *value,
                               size_t value_len, int flags);
OFFKV_API int offkv_txn_set(offkv_txn *txn, const char *key, const void *value,
                            size_t value_len);
OFFKV_API int offkv_txn_erase(offkv_txn *txn, const char *key,
                              int64_t expected_version);

typedef struct offkv_op_result {
  int64_t version; /* version after the op (0 for erase) */
  char *key;       /* the key acted on; the actual key for sequential creates */
} offkv_op_result;

typedef struct offkv_txn_result {
  offkv_op_result *ops; /* one per op, in order, on success */
  size_t count;
  size_t failed_index;  /* on OFFKV_ETXN: first failing check or op, checks first */
  int failed_code;      /* on OFFKV_ETXN: why it failed (OFFKV_EVERSION, ...) */
} offkv_txn_result;
OFFKV_API void offkv_txn_result_free(offkv_txn_result *result);

/* Applies all checks and ops atomically, or nothing. result may be NULL. */
OFFKV_API int offkv_commit(offkv_client *client, const offkv_txn *txn,
                           offkv_txn_result *result);

#ifdef __cplusplus
}
#endif

#endif /* OFFKV_H */
