/*
 * Sized structs (offkv.h "Structs and ABI"), played by an OLD caller: this file
 * declares its own copies of the caller-allocated output structs exactly as offkv 0.1
 * callers have them (V1_*), checks at compile time that the public header only
 * appended to them, and calls the library through them as an old binary would. Each
 * struct sits in a buffer whose bytes past the caller's `size` are guard bytes: they
 * must stay intact, whatever the call returns. Also: a caller that says its struct is
 * larger (a newer caller) gets the unknown tail zeroed, and NULL or a size below the
 * 0.1 size is OFFKV_EINVAL with nothing written.
 *
 * Strict C99, no test framework: prints each failure, exits 1 if any.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <offkv.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- The structs as offkv 0.1 callers compiled them ---- */

typedef struct V1_member {
  size_t size;
  char *key;
  int64_t sequence;
  int64_t version;
  offkv_buf payload;
} V1_member;

typedef struct V1_members {
  size_t size;
  offkv_member **items;
  size_t count;
} V1_members;

typedef struct V1_txn_result {
  size_t size;
  offkv_op_result **ops;
  size_t count;
  size_t failed_index;
  int failed_code;
} V1_txn_result;

typedef struct V1_stats {
  size_t size;
  offkv_stat **items;
  size_t count;
} V1_stats;

/* The end of a struct's last 0.1 field: the smallest size the library accepts. */
#define V1_END(type, last) (offsetof(type, last) + sizeof(((type *)0)->last))

/* C99 has no static_assert: a negative array size fails the build. */
#define SAME_FIELD(v1, pub, field)                                                 \
  typedef char                                                                     \
      same_##pub##_##field[(offsetof(v1, field) == offsetof(pub, field) &&         \
                            sizeof(((v1 *)0)->field) == sizeof(((pub *)0)->field)) \
                               ? 1                                                 \
                               : -1]

/* The public header may only append: every 0.1 field keeps its offset and size. */
SAME_FIELD(V1_member, offkv_member, size);
SAME_FIELD(V1_member, offkv_member, key);
SAME_FIELD(V1_member, offkv_member, sequence);
SAME_FIELD(V1_member, offkv_member, version);
SAME_FIELD(V1_member, offkv_member, payload);
SAME_FIELD(V1_members, offkv_members, size);
SAME_FIELD(V1_members, offkv_members, items);
SAME_FIELD(V1_members, offkv_members, count);
SAME_FIELD(V1_txn_result, offkv_txn_result, size);
SAME_FIELD(V1_txn_result, offkv_txn_result, ops);
SAME_FIELD(V1_txn_result, offkv_txn_result, count);
SAME_FIELD(V1_txn_result, offkv_txn_result, failed_index);
SAME_FIELD(V1_txn_result, offkv_txn_result, failed_code);
SAME_FIELD(V1_stats, offkv_stats, size);
SAME_FIELD(V1_stats, offkv_stats, items);
SAME_FIELD(V1_stats, offkv_stats, count);

/* ---- Guarded buffers ---- */

#define GUARD_BYTES 64
#define GUARD 0xA5
#define FILL 0x5A
#define BOX_BYTES 256

static int failures = 0;

#define EXPECT(cond)                                                                  \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: %s: FAILED: %s (last error: %s)\n", __FILE__, __LINE__, \
              current, #cond, offkv_last_error());                                    \
      ++failures;                                                                     \
    }                                                                                 \
  } while (0)

static const char *current = "";

/* Storage aligned for any of the structs, `size` bytes of struct followed by guard
 * bytes. The struct bytes start as FILL, so a zeroed byte was written by the library. */
typedef union Box {
  long double align_float;
  void *align_pointer;
  int64_t align_int;
  unsigned char bytes[BOX_BYTES];
} Box;

static void *box_init(Box *box, size_t size) {
  if (size > BOX_BYTES - GUARD_BYTES) abort(); /* a bug in this test */
  memset(box->bytes, FILL, size);
  memset(box->bytes + size, GUARD, BOX_BYTES - size);
  memcpy(box->bytes, &size, sizeof size);
  return box->bytes;
}

static int guard_intact(const Box *box, size_t size) {
  size_t i;
  for (i = size; i < BOX_BYTES; ++i)
    if (box->bytes[i] != GUARD) return 0;
  return 1;
}

/* Every byte in [from, to) is 0. */
static int zero_between(const Box *box, size_t from, size_t to) {
  size_t i;
  for (i = from; i < to; ++i)
    if (box->bytes[i] != 0) return 0;
  return 1;
}

/* Nothing written: every byte after the `size` field up to size is still FILL, and
 * the guard intact (from the end of the `size` field when size is smaller). */
static int untouched(const Box *box, size_t size) {
  size_t i;
  for (i = sizeof(size_t); i < size; ++i)
    if (box->bytes[i] != FILL) return 0;
  return guard_intact(box, size > sizeof(size_t) ? size : sizeof(size_t));
}

/* ---- The cases ---- */

/* The sizes an output struct is tried with: its exact 0.1 end (the library's own
 * struct may be longer, by padding now and by new fields later), the 0.1 sizeof,
 * and a newer caller's 24 extra bytes. */
static void sizes_for(size_t v1_end, size_t v1_sizeof, size_t out[3]) {
  out[0] = v1_end;
  out[1] = v1_sizeof;
  out[2] = v1_sizeof + 24;
}

typedef int (*member_getter)(void *handle, offkv_member *out);

static int get_election_member(void *h, offkv_member *m) {
  return offkv_election_member((offkv_election *)h, m);
}
static int get_detector_leader(void *h, offkv_member *m) {
  return offkv_detector_leader((offkv_detector *)h, m);
}
static int get_detector_wait(void *h, offkv_member *m) {
  return offkv_detector_wait((offkv_detector *)h, NULL, 5000, m);
}
static int get_group_self(void *h, offkv_member *m) {
  return offkv_group_self((offkv_group *)h, m);
}
static int get_lock_member(void *h, offkv_member *m) {
  return offkv_lock_member((offkv_lock *)h, m);
}

/* A member out-parameter as an old caller has it: filled within size, guard intact,
 * the newer caller's tail zeroed; then NULL and too-small sizes refused untouched. */
static void check_member_out(const char *name, member_getter get, void *handle,
                             const char *payload) {
  size_t sizes[3];
  size_t i;
  Box box;
  current = name;
  sizes_for(V1_END(V1_member, payload), sizeof(V1_member), sizes);
  for (i = 0; i < 3; ++i) {
    V1_member *m = (V1_member *)box_init(&box, sizes[i]);
    int rc = get(handle, (offkv_member *)m);
    EXPECT(rc == OFFKV_OK);
    EXPECT(guard_intact(&box, sizes[i]));
    EXPECT(m->size == sizes[i]);
    if (rc != OFFKV_OK) continue;
    EXPECT(m->key != NULL && strncmp(m->key, "/abi/", 5) == 0);
    EXPECT(m->sequence >= 0);
    EXPECT(m->version >= 1);
    EXPECT(m->payload.len == strlen(payload) &&
           memcmp(m->payload.data, payload, m->payload.len) == 0);
    if (sizes[i] > sizeof(offkv_member))
      EXPECT(zero_between(&box, sizeof(offkv_member), sizes[i]));
    offkv_member_free((offkv_member *)m);
    EXPECT(m->size == sizes[i] && m->key == NULL && m->payload.data == NULL);
    EXPECT(guard_intact(&box, sizes[i]));
  }
  {
    size_t bad[3];
    bad[0] = 0;
    bad[1] = sizeof(size_t);
    bad[2] = V1_END(V1_member, payload) - 1;
    for (i = 0; i < 3; ++i) {
      box_init(&box, bad[i]);
      EXPECT(get(handle, (offkv_member *)box.bytes) == OFFKV_EINVAL);
      EXPECT(untouched(&box, bad[i]));
      EXPECT(strstr(offkv_last_error(), "OFFKV_MEMBER_INIT") != NULL);
    }
  }
  EXPECT(get(handle, NULL) == OFFKV_EINVAL);
}

static int payload_is(const offkv_buf *b, const char *text) {
  return b->len == strlen(text) && memcmp(b->data, text, b->len) == 0;
}

/* Library-allocated structs: size set and covering every 0.1 field. */
static void on_recipe(const offkv_recipe_event *e, void *user) {
  size_t i;
  int *bad = (int *)user;
  if (!OFFKV_HAS_FIELD(offkv_recipe_event, e, message)) ++*bad;
  if (e->member && !OFFKV_HAS_FIELD(offkv_member, e->member, payload)) ++*bad;
  for (i = 0; i < e->member_count; ++i)
    if (!e->members[i] || !OFFKV_HAS_FIELD(offkv_member, e->members[i], payload)) ++*bad;
}

static void check_recipes(offkv_client *c) {
  offkv_election *election = NULL;
  offkv_detector *detector = NULL;
  offkv_group *group = NULL;
  offkv_lock *lock = NULL;
  int bad_events = 0;
  size_t sizes[3];
  size_t i;
  Box box;

  current = "recipes set-up";
  EXPECT(offkv_election_contend(c, "/abi/election", "leader-payload", 14, on_recipe,
                                &bad_events, &election) == OFFKV_OK);
  EXPECT(offkv_election_wait(election, 1, 5000) == OFFKV_OK);
  EXPECT(offkv_detector_open(c, "/abi/election", on_recipe, &bad_events, &detector) ==
         OFFKV_OK);
  EXPECT(offkv_group_open(c, "/abi/group", on_recipe, &bad_events, &group) == OFFKV_OK);
  EXPECT(offkv_group_join(group, "member-payload", 14) == OFFKV_OK);
  EXPECT(offkv_lock_new(c, "/abi/lock", &lock) == OFFKV_OK);
  EXPECT(offkv_lock_acquire(lock, 5000) == OFFKV_OK);

  check_member_out("offkv_election_member", get_election_member, election,
                   "leader-payload");
  check_member_out("offkv_detector_wait", get_detector_wait, detector, "leader-payload");
  check_member_out("offkv_detector_leader", get_detector_leader, detector,
                   "leader-payload");
  check_member_out("offkv_group_self", get_group_self, group, "member-payload");
  check_member_out("offkv_lock_member", get_lock_member, lock, "");

  current = "offkv_group_members";
  sizes_for(V1_END(V1_members, count), sizeof(V1_members), sizes);
  for (i = 0; i < 3; ++i) {
    V1_members *list = (V1_members *)box_init(&box, sizes[i]);
    EXPECT(offkv_group_members(group, (offkv_members *)list) == OFFKV_OK);
    EXPECT(guard_intact(&box, sizes[i]));
    EXPECT(list->count == 1);
    if (list->count == 1) {
      EXPECT(OFFKV_HAS_FIELD(offkv_member, list->items[0], payload));
      EXPECT(payload_is(&list->items[0]->payload, "member-payload"));
    }
    if (sizes[i] > sizeof(offkv_members))
      EXPECT(zero_between(&box, sizeof(offkv_members), sizes[i]));
    offkv_members_free((offkv_members *)list);
    EXPECT(list->items == NULL && list->count == 0 && list->size == sizes[i]);
    EXPECT(guard_intact(&box, sizes[i]));
  }
  box_init(&box, V1_END(V1_members, count) - 1);
  EXPECT(offkv_group_members(group, (offkv_members *)box.bytes) == OFFKV_EINVAL);
  EXPECT(untouched(&box, V1_END(V1_members, count) - 1));
  box_init(&box, 0);
  EXPECT(offkv_group_members(group, (offkv_members *)box.bytes) == OFFKV_EINVAL);
  EXPECT(offkv_group_members(group, NULL) == OFFKV_EINVAL);

  current = "recipe teardown";
  EXPECT(offkv_lock_release(lock) == OFFKV_OK);
  offkv_lock_free(lock);
  offkv_group_free(group);
  offkv_detector_free(detector);
  offkv_election_free(election);
  current = "recipe events";
  EXPECT(bad_events == 0);
}

/* A commit that succeeds and one that fails, through an old caller's result. */
static void check_commit(offkv_client *c) {
  size_t sizes[3];
  size_t i;
  Box box;
  offkv_txn *ok = NULL;
  offkv_txn *failing = NULL;
  current = "offkv_commit";
  EXPECT(offkv_txn_new(&ok) == OFFKV_OK);
  EXPECT(offkv_txn_set(ok, "/abi-txn", "v", 1) == OFFKV_OK);
  EXPECT(offkv_txn_new(&failing) == OFFKV_OK);
  EXPECT(offkv_txn_check(failing, "/abi-txn", 999) == OFFKV_OK);
  EXPECT(offkv_txn_erase(failing, "/abi-txn", 0) == OFFKV_OK);
  sizes_for(V1_END(V1_txn_result, failed_code), sizeof(V1_txn_result), sizes);
  for (i = 0; i < 3; ++i) {
    V1_txn_result *r = (V1_txn_result *)box_init(&box, sizes[i]);
    EXPECT(offkv_commit(c, ok, (offkv_txn_result *)r) == OFFKV_OK);
    EXPECT(guard_intact(&box, sizes[i]));
    EXPECT(r->count == 1 && r->failed_index == 0 && r->failed_code == 0);
    if (r->count == 1) {
      EXPECT(OFFKV_HAS_FIELD(offkv_op_result, r->ops[0], key));
      EXPECT(strcmp(r->ops[0]->key, "/abi-txn") == 0 && r->ops[0]->version >= 1);
    }
    if (sizes[i] > sizeof(offkv_txn_result))
      EXPECT(zero_between(&box, sizeof(offkv_txn_result), sizes[i]));
    offkv_txn_result_free((offkv_txn_result *)r);
    EXPECT(r->ops == NULL && r->count == 0 && r->size == sizes[i]);
    EXPECT(guard_intact(&box, sizes[i]));

    r = (V1_txn_result *)box_init(&box, sizes[i]);
    EXPECT(offkv_commit(c, failing, (offkv_txn_result *)r) == OFFKV_ETXN);
    EXPECT(guard_intact(&box, sizes[i]));
    EXPECT(r->ops == NULL && r->count == 0);
    EXPECT(r->failed_index == 0 && r->failed_code == OFFKV_EVERSION);
    if (sizes[i] > sizeof(offkv_txn_result))
      EXPECT(zero_between(&box, sizeof(offkv_txn_result), sizes[i]));
  }
  /* A bad size refuses the whole call: nothing runs, nothing is written. */
  box_init(&box, V1_END(V1_txn_result, failed_code) - 1);
  EXPECT(offkv_commit(c, failing, (offkv_txn_result *)box.bytes) == OFFKV_EINVAL);
  EXPECT(untouched(&box, V1_END(V1_txn_result, failed_code) - 1));
  EXPECT(strstr(offkv_last_error(), "OFFKV_TXN_RESULT_INIT") != NULL);
  {
    offkv_txn_result zeroed;
    int64_t before = 0, after = 0;
    memset(&zeroed, 0, sizeof zeroed);
    EXPECT(offkv_exists(c, "/abi-txn", &before) == OFFKV_OK);
    EXPECT(offkv_commit(c, ok, &zeroed) == OFFKV_EINVAL);
    EXPECT(offkv_exists(c, "/abi-txn", &after) == OFFKV_OK);
    EXPECT(before >= 1 && after == before); /* the refused commit did not run */
  }
  EXPECT(offkv_commit(c, ok, NULL) == OFFKV_OK); /* NULL result: allowed */
  offkv_txn_free(ok);
  offkv_txn_free(failing);
}

static void check_stats(offkv_client *c) {
  size_t sizes[3];
  size_t i, j;
  Box box;
  current = "offkv_get_stats";
  sizes_for(V1_END(V1_stats, count), sizeof(V1_stats), sizes);
  for (i = 0; i < 3; ++i) {
    V1_stats *s = (V1_stats *)box_init(&box, sizes[i]);
    int saw_get = 0;
    EXPECT(offkv_get_stats(c, (offkv_stats *)s) == OFFKV_OK);
    EXPECT(guard_intact(&box, sizes[i]));
    EXPECT(s->count > 0);
    for (j = 0; j < s->count; ++j) {
      EXPECT(OFFKV_HAS_FIELD(offkv_stat, s->items[j], value));
      if (strcmp(s->items[j]->name, "ops.exists") == 0 && s->items[j]->value >= 1)
        saw_get = 1;
    }
    EXPECT(saw_get);
    if (sizes[i] > sizeof(offkv_stats))
      EXPECT(zero_between(&box, sizeof(offkv_stats), sizes[i]));
    offkv_stats_free((offkv_stats *)s);
    EXPECT(s->items == NULL && s->count == 0 && s->size == sizes[i]);
    EXPECT(guard_intact(&box, sizes[i]));
  }
  box_init(&box, 0);
  EXPECT(offkv_get_stats(c, (offkv_stats *)box.bytes) == OFFKV_EINVAL);
  EXPECT(untouched(&box, 0));
  EXPECT(strstr(offkv_last_error(), "OFFKV_STATS_INIT") != NULL);
  EXPECT(offkv_get_stats(c, NULL) == OFFKV_EINVAL);
}

/* Frees ignore NULL and zero-sized (never initialised) structs. */
static void check_frees(void) {
  offkv_member m;
  offkv_members ms;
  offkv_txn_result r;
  offkv_stats s;
  current = "free functions";
  memset(&m, 0, sizeof m);
  memset(&ms, 0, sizeof ms);
  memset(&r, 0, sizeof r);
  memset(&s, 0, sizeof s);
  offkv_member_free(NULL);
  offkv_members_free(NULL);
  offkv_txn_result_free(NULL);
  offkv_stats_free(NULL);
  offkv_member_free(&m);
  offkv_members_free(&ms);
  offkv_txn_result_free(&r);
  offkv_stats_free(&s);
  {
    offkv_member mi = OFFKV_MEMBER_INIT;
    offkv_members msi = OFFKV_MEMBERS_INIT;
    offkv_txn_result ri = OFFKV_TXN_RESULT_INIT;
    offkv_stats si = OFFKV_STATS_INIT;
    EXPECT(mi.size == sizeof(offkv_member) && msi.size == sizeof(offkv_members) &&
           ri.size == sizeof(offkv_txn_result) && si.size == sizeof(offkv_stats));
    offkv_member_free(&mi);
    offkv_members_free(&msi);
    offkv_txn_result_free(&ri);
    offkv_stats_free(&si);
  }
}

/* Events from offkv_watch_wait and completions carry their size. */
static volatile int completion_ok = 0; /* set on the event thread */
static void on_done(const offkv_completion *done, void *user) {
  (void)user;
  completion_ok = OFFKV_HAS_FIELD(offkv_completion, done, watch) && done->txn &&
                          OFFKV_HAS_FIELD(offkv_txn_result, done->txn, failed_code) &&
                          done->txn->count == 1 &&
                          OFFKV_HAS_FIELD(offkv_op_result, done->txn->ops[0], key)
                      ? 1
                      : -1;
}

static void check_library_allocated(offkv_client *c) {
  offkv_watch *w = NULL;
  offkv_event *e = NULL;
  offkv_txn *txn = NULL;
  int64_t version = 0;
  int i;
  current = "offkv_watch_wait";
  EXPECT(offkv_exists_watch(c, "/abi-watched", &version, NULL, NULL, &w) == OFFKV_OK);
  EXPECT(offkv_create(c, "/abi-watched", "x", 1, 0, NULL) == OFFKV_OK);
  EXPECT(offkv_watch_wait(w, 5000, &e) == OFFKV_OK);
  if (e) {
    EXPECT(e->size == sizeof(offkv_event));
    EXPECT(OFFKV_HAS_FIELD(offkv_event, e, message));
    EXPECT(e->type == OFFKV_EVENT_CREATED);
  }
  offkv_event_free(e);
  offkv_watch_free(w);

  current = "offkv_commit_async";
  EXPECT(offkv_txn_new(&txn) == OFFKV_OK);
  EXPECT(offkv_txn_set(txn, "/abi-async", "v", 1) == OFFKV_OK);
  EXPECT(offkv_commit_async(c, txn, on_done, NULL) == OFFKV_OK);
  offkv_txn_free(txn);
  for (i = 0; i < 500 && completion_ok == 0; ++i) {
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, NULL);
  }
  EXPECT(completion_ok == 1);
}

int main(void) {
  offkv_client *c = NULL;
  int64_t version = 0;
  current = "offkv_open";
  if (offkv_open("mem://struct-abi-test", NULL, &c) != OFFKV_OK) {
    fprintf(stderr, "offkv_open: %s\n", offkv_last_error());
    return 1;
  }
  offkv_exists(c, "/abi", &version); /* counted as ops.exists for check_stats */
  check_recipes(c);
  check_commit(c);
  check_stats(c);
  check_frees();
  check_library_allocated(c);
  offkv_client_free(c);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("struct ABI: every case passed\n");
  return 0;
}
