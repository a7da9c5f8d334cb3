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
 *
 * Structs and ABI (docs/c-api.md "Structs and ABI"): a struct only ever gains fields
 * at its end, so a program built against an older header keeps working with a newer
 * library (and the reverse, for the fields both know). For that:
 *  - Output structs the caller allocates (offkv_member, offkv_members,
 *    offkv_txn_result, offkv_stats) begin with `size_t size`, which the caller sets
 *    with the struct's OFFKV_<NAME>_INIT macro (= sizeof as the caller's header knows
 *    it) before every call. The library fills only the fields that lie within `size`,
 *    sets any bytes beyond its own version of the struct to 0 (so fields it does not
 *    know read as 0), and never writes past `size`. `size` is never changed. A NULL
 *    struct, or a `size` smaller than the struct had in offkv 0.1 (e.g. 0, when
 *    zero-initialised), is OFFKV_EINVAL.
 *  - Structs the library allocates or passes to a callback (offkv_event,
 *    offkv_completion, offkv_recipe_event, offkv_op_result, offkv_stat, the
 *    offkv_member items of an array and a completion's offkv_txn_result) also begin
 *    with `size_t size`, set by the library to the size it allocated. Only read them
 *    through the pointer you were given: never allocate them, copy them by sizeof, or
 *    index an array of them; the library hands out arrays of such structs as arrays
 *    of pointers. Read a field added after 0.1 only if
 *    OFFKV_HAS_FIELD(type, ptr, field) says the library has it.
 *  - Input structs (offkv_options) carry a `version` set by their _INIT macro.
 *  - offkv_buf and offkv_strings are final: two-word containers that never change.
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

/* Non-zero if *ptr, a struct of the given type that begins with `size_t size`, is
 * large enough to hold field (see "Structs and ABI" above). */
#define OFFKV_HAS_FIELD(type, ptr, field)                                      \
  ((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

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
/* A copy of offkv_last_error() that outlives later calls, for bindings that hand the
 * message to another thread or runtime: malloc'ed, freed with offkv_string_free.
 * NULL only if out of memory. Does not change offkv_last_error(). */
OFFKV_API char *offkv_last_error_copy(void);

/* ---- Version ---- */

/* OFFKV_VERSION_NUMBER of the library actually loaded. */
OFFKV_API int offkv_version(void);
/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
OFFKV_API const char *offkv_version_string(void);
/* Non-zero if the named backend ("mem", "zk", "etcd", "consul") or URL scheme
 * ("etcds", "consuls") is compiled in. */
OFFKV_API int offkv_has_backend(const char *scheme);
/* The backends compiled in, comma-separated, e.g. "mem,zk,etcd,consul" (mem always
 * first). Static text, never NULL. */
OFFKV_API const char *offkv_backends(void);

/* ---- Handles and owned buffers ---- */

typedef struct offkv_client offkv_client;
typedef struct offkv_watch offkv_watch;
typedef struct offkv_txn offkv_txn;

/* A byte string owned by the library; data[len] is always 0 for convenience. Final:
 * this layout never changes. */
typedef struct offkv_buf {
  char *data;
  size_t len;
} offkv_buf;
OFFKV_API void offkv_buf_free(offkv_buf *buf);

/* An array of NUL-terminated strings owned by the library. Final: this layout never
 * changes. */
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
  OFFKV_EVENT_SESSION = 6,  /* session state changed; see session_state */
  /* Recipe events (offkv_recipe_event, see "Recipes" below): */
  OFFKV_EVENT_LEADER = 7,     /* this contender became the leader */
  OFFKV_EVENT_NOT_LEADER = 8, /* this contender lost leadership; error says why */
  OFFKV_EVENT_DETECTED = 9,   /* a detector's view of the leader changed */
  OFFKV_EVENT_MEMBERS = 10    /* a group's membership (or a payload) changed */
} offkv_event_type;

typedef enum offkv_session_state {
  OFFKV_SESSION_CONNECTED = 1, /* session live, server reachable */
  OFFKV_SESSION_SUSPENDED = 2, /* connection lost; session may still live */
  OFFKV_SESSION_LOST = 3,      /* session expired: ephemerals and watches gone */
  OFFKV_SESSION_CLOSED = 4     /* offkv_close was called */
} offkv_session_state;

/* Allocated by the library (see "Structs and ABI"). */
typedef struct offkv_event {
  size_t size;       /* set by the library */
  int type;          /* offkv_event_type */
  const char *key;   /* the key that changed (relative to the client's root);
                        NULL for session events */
  int64_t version;   /* node version after the change, 0 if it no longer exists,
                        -1 if not known (CHILDREN, ENDED, SESSION) */
  int session_state; /* offkv_session_state for SESSION and ENDED events, else 0 */
  int error;         /* for ENDED: why (OFFKV_ECLOSED, OFFKV_ESESSION, ...) */
  const char *message; /* human-readable detail, may be "" */
} offkv_event;

/* Static name of an event type without its prefix ("CREATED", "NOT_LEADER", ...);
 * "UNKNOWN" for a number that is no offkv_event_type. Never NULL. */
OFFKV_API const char *offkv_event_type_name(int type);
/* Static name of a session state ("CONNECTED", "SUSPENDED", "LOST", "CLOSED");
 * "UNKNOWN" for any other number (0 included). Never NULL. */
OFFKV_API const char *offkv_session_state_name(int state);

/* Pointers inside the event are valid only during the call. */
typedef void (*offkv_event_cb)(const offkv_event *event, void *user);

/* ---- Options ---- */

typedef enum offkv_read_consistency {
  OFFKV_READ_LINEARIZABLE = 0, /* default: reads see every committed write */
  OFFKV_READ_SERIALIZABLE = 1  /* may read a stale local replica; cheaper */
} offkv_read_consistency;

#define OFFKV_OPTIONS_VERSION 2

/* Always initialise with OFFKV_OPTIONS_INIT or offkv_options_init(); zero or NULL
 * fields mean "default". Fields are only ever appended. The strings are the caller's
 * (copied by offkv_open); offkv_options_set keeps its own copies (see `named`). */
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
  /* Version 2: the options set by offkv_options_set, in storage the library owns;
   * NULL until then. Not to be touched: offkv_options_reset frees it. */
  void *named;
} offkv_options;

#define OFFKV_OPTIONS_INIT                                                     \
  { OFFKV_OPTIONS_VERSION, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, \
    NULL }

/* Fills opts with defaults for the given struct version (1: only the fields of
 * version 1 are written). It does not free what offkv_options_set stored: use
 * offkv_options_reset on a struct that may hold some. */
OFFKV_API int offkv_options_init(offkv_options *opts, unsigned int version);

/*
 * Sets one option by its URL query name, with the URL's value syntax: every name of
 * docs/c-api.md "Query parameters" ("session_timeout_ms", "connect_timeout_ms",
 * "operation_timeout_ms", "tls_ca_file", "tls_cert_file", "tls_key_file",
 * "username" (or "user"), "password", "token", "read_consistency", "zk_acl"), e.g.
 * offkv_options_set(&opts, "read_consistency", "serializable"). The value is checked
 * now: an unknown name, a bad value or one out of range is OFFKV_EINVAL, and
 * offkv_last_error() names the option and what it accepts (or every known name).
 * opts->version must be >= 2.
 *
 * Ownership: name and value are copied into storage the library owns (opts->named);
 * the caller's strings may be freed at once. offkv_open applies the options set this
 * way after the struct's fields (so they win over them) and before the URL's query
 * (which wins over both); setting a name again replaces its value. The struct's own
 * fields are not changed. A struct on which offkv_options_set succeeded must end
 * with offkv_options_reset, or the storage leaks. A copy of the struct (o2 = o1)
 * shares the storage: reset exactly one of the copies, and not use the others after.
 */
OFFKV_API int offkv_options_set(offkv_options *opts, const char *name,
                                const char *value);
/* Frees what offkv_options_set stored and fills opts with the defaults of its
 * version again (as offkv_options_init). NULL or an unknown version: OFFKV_EINVAL. */
OFFKV_API int offkv_options_reset(offkv_options *opts);

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

/* The outcome of one op; allocated by the library (see "Structs and ABI"). */
typedef struct offkv_op_result {
  size_t size;     /* set by the library */
  int64_t version; /* version after the op (0 for erase) */
  char *key;       /* the key acted on; the actual key for sequential creates */
} offkv_op_result;

/* Caller-allocated: initialise with OFFKV_TXN_RESULT_INIT before each call. */
typedef struct offkv_txn_result {
  size_t size;           /* sizeof(offkv_txn_result), set by the caller */
  offkv_op_result **ops; /* one per op, in order, on success */
  size_t count;
  size_t failed_index;   /* on OFFKV_ETXN: first failing check or op, checks first */
  int failed_code;       /* on OFFKV_ETXN: why it failed (OFFKV_EVERSION, ...) */
} offkv_txn_result;
#define OFFKV_TXN_RESULT_INIT { sizeof(offkv_txn_result), NULL, 0, 0, 0 }
/* Frees what offkv_commit put in result; result stays initialised for reuse. */
OFFKV_API void offkv_txn_result_free(offkv_txn_result *result);

/* Applies all checks and ops atomically, or nothing. result may be NULL; if given, it
 * must be initialised (OFFKV_TXN_RESULT_INIT), else OFFKV_EINVAL and nothing runs. */
OFFKV_API int offkv_commit(offkv_client *client, const offkv_txn *txn,
                           offkv_txn_result *result);


/* ---- Asynchronous calls ---- */

/*
 * Each offkv_<op>_async starts the same operation as offkv_<op> and returns at once;
 * many may be in flight on one client. The outcome goes to `done`, called exactly
 * once, on the client's event thread (like watch callbacks: no library lock held, it
 * may call any offkv function). The call itself returns OFFKV_OK when the operation
 * was accepted, or the error that needs no I/O to find (NULL arguments, an invalid
 * key, a value or transaction above the limits, a closed client) — and then `done` is
 * never called. Arguments are copied before the call returns (free the txn, reuse the
 * buffers at once).
 *
 * Order (docs/c-api.md): calls on related keys (the same key, or one below the other;
 * for commit, any of its keys) take effect and complete in the order they were made;
 * unrelated calls may complete in any order. offkv_close / offkv_client_free with
 * calls in flight complete every one of them before returning: those that had not
 * finished get OFFKV_ECLOSED.
 */

/* What an asynchronous call produced. Only the fields of its operation are set, the
 * others are zero; everything pointed to is valid only during the callback. Passed by
 * the library (see "Structs and ABI"). */
typedef struct offkv_completion {
  size_t size;         /* set by the library */
  int error;           /* OFFKV_OK or what the synchronous call would return */
  const char *message; /* its detail (offkv_last_error of the sync call); "" if OK */
  int64_t version;     /* set, cas: the new version; get, exists: the version (0 =
                          absent for exists) */
  const char *key;     /* create: the created key (the actual one if sequential) */
  const char *value;   /* get: the value (value[value_len] is 0) */
  size_t value_len;
  const char *const *children; /* children: sorted, as offkv_children */
  size_t child_count;
  /* commit: one result per op on success; failed_index / failed_code on OFFKV_ETXN */
  const offkv_txn_result *txn;
  /* *_watch_async with keep_handle != 0, on success: the watch, now owned by the
   * caller (offkv_watch_free), as the sync form's *watch */
  offkv_watch *watch;
} offkv_completion;

typedef void (*offkv_completion_cb)(const offkv_completion *completion, void *user);

OFFKV_API int offkv_create_async(offkv_client *client, const char *key,
                                 const void *value, size_t value_len, int flags,
                                 offkv_completion_cb done, void *user);
OFFKV_API int offkv_set_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, offkv_completion_cb done, void *user);
OFFKV_API int offkv_cas_async(offkv_client *client, const char *key, const void *value,
                              size_t value_len, int64_t expected_version,
                              offkv_completion_cb done, void *user);
OFFKV_API int offkv_get_async(offkv_client *client, const char *key,
                              offkv_completion_cb done, void *user);
OFFKV_API int offkv_exists_async(offkv_client *client, const char *key,
                                 offkv_completion_cb done, void *user);
OFFKV_API int offkv_children_async(offkv_client *client, const char *key,
                                   offkv_completion_cb done, void *user);
OFFKV_API int offkv_erase_async(offkv_client *client, const char *key,
                                int64_t expected_version, offkv_completion_cb done,
                                void *user);
OFFKV_API int offkv_commit_async(offkv_client *client, const offkv_txn *txn,
                                 offkv_completion_cb done, void *user);
/* The watch-arming reads: the read and the one-shot watch as in the sync forms
 * (watch_cb / watch_user get the watch's event). With keep_handle the completion
 * hands out the watch handle; without it watch_cb must be given and the library keeps
 * the watch until it fires. If the read fails no watch is left. */
OFFKV_API int offkv_get_watch_async(offkv_client *client, const char *key,
                                    offkv_event_cb watch_cb, void *watch_user,
                                    int keep_handle, offkv_completion_cb done,
                                    void *user);
OFFKV_API int offkv_exists_watch_async(offkv_client *client, const char *key,
                                       offkv_event_cb watch_cb, void *watch_user,
                                       int keep_handle, offkv_completion_cb done,
                                       void *user);
OFFKV_API int offkv_children_watch_async(offkv_client *client, const char *key,
                                         offkv_event_cb watch_cb, void *watch_user,
                                         int keep_handle, offkv_completion_cb done,
                                         void *user);

/* ======================================================================== */
/* ---- Recipes: leader election, leader detection, group membership, lock ---- */
/* ======================================================================== */

/*
 * Built once in the core on the operations above, so every backend has them; see
 * docs/recipes.md for how they work, what they guarantee and what they cannot.
 *
 * Every recipe works under a group key G (a persistent node, created with its missing
 * parents if needed). Each participant is one ephemeral sequential child
 *   G/member-<16 hex digits>-<10 digits>
 * holding its payload; the lowest sequence is the leader (or the lock holder). Other
 * children of G are ignored. The same G may be used by contenders (election), by
 * detectors and by group handles at once: a detector reports the lowest member.
 *
 * Mesos' layout (the *_labeled functions, docs/recipes.md "Mesos' layout"): with a
 * member label L, a member node is named exactly as Mesos' ZooKeeper group names it,
 *   G/L_<10 digits>      e.g. /mesos/json.info_0000000007
 * and an election, detector or group with label L takes only the children of that
 * form as members, ordered by sequence; it ignores the others (offkv's member-…
 * nodes included, as they ignore it). A label is non-empty, at most 244 bytes of
 * valid UTF-8 without control characters, '/' or '_' (Mesos reads a name up to its
 * first '_' as the label); otherwise OFFKV_EINVAL. A NULL label is offkv's own scheme:
 * the plain functions are the *_labeled ones with label NULL. Such names carry no
 * token, so after a create whose outcome is unknown a participant finds its node by
 * its payload: give the participants of a labeled group distinct payloads (Mesos'
 * MasterInfo carries the master's id).
 *
 * Handles are opaque, may be used from many threads, and hold a reference to their
 * client: free them before or after offkv_client_free, in any order (once the client
 * is closed, calls on them return OFFKV_ECLOSED). Callbacks run on the client's
 * event thread with no library lock held and may call any offkv function (the
 * handle's own close/free functions included); the event and everything it points
 * to are valid only during the call. After a handle's close or free function
 * returns, its callback is never called again.
 */

/* The label of a Mesos master's member nodes (MasterInfo as JSON): follow or join a
 * stock Mesos master group with it. */
#define OFFKV_MESOS_MASTER_LABEL "json.info"

typedef struct offkv_election offkv_election;
typedef struct offkv_detector offkv_detector;
typedef struct offkv_group offkv_group;
typedef struct offkv_lock offkv_lock;

/* One member of a group. As an out-parameter: caller-allocated, initialised with
 * OFFKV_MEMBER_INIT before each call, freed with offkv_member_free. In an
 * offkv_members or an offkv_recipe_event: allocated by the library, reached through
 * a pointer (see "Structs and ABI"). */
typedef struct offkv_member {
  size_t size;       /* sizeof(offkv_member): set by the caller or the library */
  char *key;         /* the member node, e.g. "/svc/member-3f…-0000000007" */
  int64_t sequence;  /* its sequence number: lower = joined earlier. Together with
                        the key, a fencing token (docs/recipes.md) */
  int64_t version;   /* the node's version when read (payload updates); -1 unknown */
  offkv_buf payload; /* the member's payload */
} offkv_member;
#define OFFKV_MEMBER_INIT { sizeof(offkv_member), NULL, 0, 0, { NULL, 0 } }
/* Frees what the library put in member; member stays initialised for reuse. */
OFFKV_API void offkv_member_free(offkv_member *member);

/* Members ordered by sequence (oldest first). Caller-allocated: initialise with
 * OFFKV_MEMBERS_INIT before each call; freed with offkv_members_free. */
typedef struct offkv_members {
  size_t size;            /* sizeof(offkv_members), set by the caller */
  offkv_member **items;   /* count pointers to library-allocated members */
  size_t count;
} offkv_members;
#define OFFKV_MEMBERS_INIT { sizeof(offkv_members), NULL, 0 }
OFFKV_API void offkv_members_free(offkv_members *members);

/* What a recipe callback is told; passed by the library (see "Structs and ABI"). */
typedef struct offkv_recipe_event {
  size_t size; /* set by the library */
  int type; /* OFFKV_EVENT_LEADER, _NOT_LEADER, _DETECTED or _MEMBERS */
  /* LEADER / NOT_LEADER: this contender's own member node.
   * DETECTED: the leader's member node, or NULL when there is no leader.
   * MEMBERS: NULL. */
  const offkv_member *member;
  const char *group;              /* the group key */
  const offkv_member *const *members; /* MEMBERS: every member, by sequence */
  size_t member_count;
  int session_state;              /* offkv_session_state when this was decided */
  /* Why, for losses: NOT_LEADER: OFFKV_ECONNLOSS (session SUSPENDED),
   * OFFKV_ESESSION (session LOST), OFFKV_ECLOSED (client closed), OFFKV_ENOENT (the
   * member node was erased by someone), OFFKV_OK (withdrawn). DETECTED / MEMBERS:
   * OFFKV_ESESSION when the view was dropped because the session was lost (it is
   * rebuilt once a new session is established), else OFFKV_OK. */
  int error;
  const char *message;            /* human-readable detail, may be "" */
} offkv_recipe_event;

typedef void (*offkv_recipe_cb)(const offkv_recipe_event *event, void *user);

/* ---- Leader election (contender) ---- */

/*
 * Joins the election for group with payload (e.g. "host:port"): creates this
 * contender's member node and returns at once; leadership is decided on the event
 * thread. A connection lost during the call (outcome unknown) is not an error: the
 * member is found again, or created, once the session is CONNECTED. callback (may be NULL) gets OFFKV_EVENT_LEADER when this contender becomes
 * leader and OFFKV_EVENT_NOT_LEADER when it stops being leader: its session is
 * SUSPENDED (it may come back as leader if the session survives), LOST, or the client
 * closed, its member node was erased, or it withdrew. The two strictly alternate,
 * LEADER first. Each contender watches only its predecessor (no herd effect).
 * After a LOST session the election re-contends by itself with a new member node
 * once a new session is established; withdraw to stop. A contender believes it leads
 * (offkv_election_is_leader) before it is told LEADER, and stops believing before it
 * is told NOT_LEADER.
 */
OFFKV_API int offkv_election_contend(offkv_client *client, const char *group,
                                     const void *payload, size_t payload_len,
                                     offkv_recipe_cb callback, void *user,
                                     offkv_election **election);
/* offkv_election_contend in Mesos' layout: the member node is group/<label>_<seq>,
 * and only members with this label contend (label NULL: offkv_election_contend). With
 * OFFKV_MESOS_MASTER_LABEL and a MasterInfo JSON payload, it contends alongside stock
 * Mesos masters. */
OFFKV_API int offkv_election_contend_labeled(offkv_client *client, const char *group,
                                             const char *label, const void *payload,
                                             size_t payload_len, offkv_recipe_cb callback,
                                             void *user, offkv_election **election);
/* *is_leader = 1 if this contender is the leader right now, else 0. */
OFFKV_API int offkv_election_is_leader(offkv_election *election, int *is_leader);
/* Waits up to timeout_ms (< 0: forever) until offkv_election_is_leader would give
 * `leader` (0 or 1). OFFKV_ETIMEOUT if it did not; OFFKV_ECLOSED when waiting for
 * leadership of an election that was withdrawn or whose client was closed. */
OFFKV_API int offkv_election_wait(offkv_election *election, int leader, int timeout_ms);
/* This contender's current member node (key, sequence, payload, version); OFFKV_ENOENT
 * while it has none (session lost, being re-created, withdrawn). */
OFFKV_API int offkv_election_member(offkv_election *election, offkv_member *member);
/* Leaves the election: if leader, NOT_LEADER (error OFFKV_OK) is delivered first
 * (nested, when called from this election's own callback), then the member node is
 * erased, so the next leader is elected only after this one was told. Final: no
 * callback after it returns. Twice is OK. An error means the node could not be erased
 * (it still goes when the session ends). */
OFFKV_API int offkv_election_withdraw(offkv_election *election);
/* Withdraws (if needed) and frees the handle. NULL is ignored. */
OFFKV_API void offkv_election_free(offkv_election *election);

/* ---- Leader detection (detector) ---- */

/*
 * Follows group's leader without contending: the member with the lowest sequence and
 * its payload. callback (may be NULL) gets OFFKV_EVENT_DETECTED for the first view
 * and on every change of it (a new leader, a changed payload, no leader). Costs one
 * children watch on the group and one data watch on the leader. The group need not
 * exist yet.
 */
OFFKV_API int offkv_detector_open(offkv_client *client, const char *group,
                                  offkv_recipe_cb callback, void *user,
                                  offkv_detector **detector);
/* offkv_detector_open in Mesos' layout: the leader is the member named
 * group/<label>_<seq> with the lowest sequence (label NULL: offkv_detector_open). With
 * OFFKV_MESOS_MASTER_LABEL it follows a stock Mesos master group. */
OFFKV_API int offkv_detector_open_labeled(offkv_client *client, const char *group,
                                          const char *label, offkv_recipe_cb callback,
                                          void *user, offkv_detector **detector);
/* The current leader; OFFKV_ENOENT if there is none (or none known yet). */
OFFKV_API int offkv_detector_leader(offkv_detector *detector, offkv_member *leader);
/* Waits up to timeout_ms (< 0: forever) until the detected leader's key differs from
 * previous_key (NULL: "no leader"), then returns it like offkv_detector_leader (so
 * OFFKV_ENOENT means the change was to "no leader"). OFFKV_ETIMEOUT if nothing
 * changed; OFFKV_ECLOSED once the detector or its client was closed. */
OFFKV_API int offkv_detector_wait(offkv_detector *detector, const char *previous_key,
                                  int timeout_ms, offkv_member *leader);
/* Stops detecting; no callback after it returns. Twice is OK. */
OFFKV_API int offkv_detector_close(offkv_detector *detector);
/* Closes (if needed) and frees the handle. NULL is ignored. */
OFFKV_API void offkv_detector_free(offkv_detector *detector);

/* ---- Group membership ---- */

/*
 * A handle on group: join it (at most one membership per handle), and/or observe it.
 * callback (may be NULL) gets OFFKV_EVENT_MEMBERS with the whole membership first,
 * then after every change: a member joined or left, or a payload changed. Observing
 * costs one children watch plus one data watch per member. The group need not exist.
 */
OFFKV_API int offkv_group_open(offkv_client *client, const char *group,
                               offkv_recipe_cb callback, void *user,
                               offkv_group **group_handle);
/* offkv_group_open in Mesos' layout: a join creates group/<label>_<seq>, and only
 * members with this label are listed and observed (label NULL: offkv_group_open). */
OFFKV_API int offkv_group_open_labeled(offkv_client *client, const char *group,
                                       const char *label, offkv_recipe_cb callback,
                                       void *user, offkv_group **group_handle);
/* Joins with payload. The membership lives as long as the session; after a LOST
 * session (or if someone erases the node) it is re-created by itself, with a new key.
 * A connection lost during the call is not an error (as for contend). OFFKV_EINVAL if
 * this handle is already a member. */
OFFKV_API int offkv_group_join(offkv_group *group, const void *payload,
                               size_t payload_len);
/* Replaces this handle's payload (atomically checked against its node). If the node
 * is missing right now it gets the new payload when it is re-created. OFFKV_EINVAL if
 * not joined. */
OFFKV_API int offkv_group_update(offkv_group *group, const void *payload,
                                 size_t payload_len);
/* Leaves the group (erases the member node). OFFKV_EINVAL if not joined. */
OFFKV_API int offkv_group_leave(offkv_group *group);
/* This handle's own membership; OFFKV_ENOENT if it has no member node right now. */
OFFKV_API int offkv_group_self(offkv_group *group, offkv_member *self);
/* Reads the membership now (1 + one read per member round trips); a group that does
 * not exist has no members. */
OFFKV_API int offkv_group_members(offkv_group *group, offkv_members *members);
/* Leaves (if joined) and stops observing; no callback after it returns. Twice is OK. */
OFFKV_API int offkv_group_close(offkv_group *group);
/* Closes (if needed) and frees the handle. NULL is ignored. */
OFFKV_API void offkv_group_free(offkv_group *group);

/* ---- Lock (mutex) ---- */

/*
 * A mutual-exclusion lock named by key (its members live under it). No I/O until
 * acquired. Not reentrant: a handle that holds the lock gets OFFKV_EINVAL from
 * another acquire; two handles (even of one client) exclude each other. The lock is
 * released by offkv_lock_release, offkv_lock_free, or when the holder's session ends.
 */
OFFKV_API int offkv_lock_new(offkv_client *client, const char *key, offkv_lock **lock);
/* Waits up to timeout_ms (< 0: forever, 0: try once) for the lock. OFFKV_ETIMEOUT if
 * it was not acquired (nothing is left behind); OFFKV_ESESSION / OFFKV_ECLOSED if the
 * session ended meanwhile; OFFKV_EINVAL if this handle holds it or is acquiring. */
OFFKV_API int offkv_lock_acquire(offkv_lock *lock, int timeout_ms);
/* Releases the lock. OFFKV_EINVAL if not held; OFFKV_ESESSION if it had already been
 * lost (session ended or node erased): the critical section was not protected. */
OFFKV_API int offkv_lock_release(offkv_lock *lock);
/* *held = 1 if this handle holds the lock and its session is CONNECTED, else 0. A
 * local belief: fence writes with the member node (docs/recipes.md). */
OFFKV_API int offkv_lock_is_held(offkv_lock *lock, int *held);
/* The holder's member node (for fencing); OFFKV_ENOENT if not held. */
OFFKV_API int offkv_lock_member(offkv_lock *lock, offkv_member *member);
/* Releases (if held) and frees the handle. NULL is ignored. */
OFFKV_API void offkv_lock_free(offkv_lock *lock);

/* ---- Logs and counters ---- */

#define OFFKV_LOG_ERROR 1
#define OFFKV_LOG_WARN 2
#define OFFKV_LOG_INFO 3
#define OFFKV_LOG_DEBUG 4
/* component: "zk", "etcd", "consul", "mem" (offkv's own lines, e.g. session
 * transitions), "zookeeper" (the ZooKeeper C client), "grpc" (gRPC). */
typedef void (*offkv_log_cb)(int level, const char *component, const char *message,
                             void *user);
/* Process-wide: passes log lines of level <= max_level to callback, from whatever
 * thread logs; the callback must be quick, thread-safe and must not call offkv.
 * NULL turns logging off (the default: offkv prints nothing, and gRPC's own lines are
 * not printed either once etcd:// is used). Returns after no call of the previous
 * callback runs any more. OFFKV_EINVAL if max_level is not 1..4. */
OFFKV_API int offkv_set_log_callback(offkv_log_cb callback, void *user, int max_level);

/* One counter of a client; allocated by the library (see "Structs and ABI"). */
typedef struct offkv_stat {
  size_t size;      /* set by the library */
  const char *name; /* "ops.get", "errors.ENOENT", "retries", "reconnects",
                       "session.LOST", "watches.armed", "watches.fired", ... */
  uint64_t value;
} offkv_stat;
/* Every counter of a client (counted since open). Caller-allocated: initialise with
 * OFFKV_STATS_INIT before each call; the items are owned by the library. */
typedef struct offkv_stats {
  size_t size;        /* sizeof(offkv_stats), set by the caller */
  offkv_stat **items; /* count pointers */
  size_t count;
} offkv_stats;
#define OFFKV_STATS_INIT { sizeof(offkv_stats), NULL, 0 }
/* Snapshot of the client's counters (docs/c-api.md lists the names; new names may
 * be added, none changes meaning). Works on a closed client too. */
OFFKV_API int offkv_get_stats(offkv_client *client, offkv_stats *stats);
OFFKV_API void offkv_stats_free(offkv_stats *stats);

/* ---- Test kit: failures on demand, for applications' own tests ---- */

/* Ends every watch of the client with OFFKV_EVENT_ENDED carrying error (an
 * OFFKV_E* code, e.g. OFFKV_EAUTH) while the session stays as it is: what a server
 * that cancels a watch does (etcd, on a permission change). Lets an application test
 * that it re-arms its watches. The recipes re-run their step, with backoff. */
OFFKV_API int offkv_testkit_end_watches(offkv_client *client, int error);

/*
 * Session faults on demand (docs/c-api.md "Test kit"), on every backend: mem:// in
 * the library itself; ZooKeeper, etcd and Consul through a hook on the client's side
 * of the connection, the session then going through the backend's own state machine
 * exactly as in a real outage. For an application's tests of its SUSPENDED / LOST
 * handling (OFFKV_EVENT_NOT_LEADER, OFFKV_ESESSION, ...), as Curator's KillSession.
 */

/* Cuts the client's connection: nothing more reaches the store (reconnecting fails
 * too) until offkv_testkit_resume. Returns once the session callback was told
 * SUSPENDED. Then, as after a real disconnection: operations wait up to
 * operation_timeout_ms for the connection and fail with OFFKV_ECONNLOSS (nothing
 * sent); watches stay armed; a leader is told NOT_LEADER (OFFKV_ECONNLOSS), a lock is
 * no longer held; and once the session timeout has passed since the cut the session
 * is LOST (its ephemerals gone, watches ENDED, operations OFFKV_ESESSION) while the
 * connection stays cut. Calling it again while cut is OFFKV_OK.
 * OFFKV_ETIMEOUT if SUSPENDED was not reported within the larger of
 * operation_timeout_ms and connect_timeout_ms (the cut stays). */
OFFKV_API int offkv_testkit_suspend(offkv_client *client);

/* Lifts the cut: the client reconnects. Returns once it is CONNECTED again: the same
 * session (watch events missed meanwhile are delivered, as after a real reconnect),
 * or, if the session was lost meanwhile (suspended past its timeout, or expired), a
 * new one after LOST. OFFKV_OK at once if the client was not cut. OFFKV_ETIMEOUT if
 * not CONNECTED within connect_timeout_ms + operation_timeout_ms (it still may be). */
OFFKV_API int offkv_testkit_resume(offkv_client *client);

/* Expires the client's session at the store, as a server does when it has not heard
 * from the client for the session timeout: when it returns, the session's ephemeral
 * nodes are gone for every client. A CONNECTED client then hears LOST (on ZooKeeper
 * possibly after SUSPENDED: the server drops the expired session's connection), its
 * watches get ENDED (OFFKV_ESESSION), its recipes react (NOT_LEADER with
 * OFFKV_ESESSION, ...), and it opens a new session by itself: this call returns once
 * it is CONNECTED again (OFFKV_ETIMEOUT if not within connect_timeout_ms +
 * operation_timeout_ms). A suspended client hears LOST when it reconnects; this call
 * returns at once then. Nothing to do (OFFKV_OK) while the session is LOST. */
OFFKV_API int offkv_testkit_expire(offkv_client *client);

#ifdef __cplusplus
}
#endif

#endif /* OFFKV_H */
