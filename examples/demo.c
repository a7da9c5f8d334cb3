/*
 * offkv-demo: a tour of the offkv C API on the in-process store mem://demo, with two
 * clients in one process and no server.
 *
 * Client B leaves watches; client A makes changes; B's watch callbacks (which run on
 * B's event thread) print what B saw. To keep the output in a fixed order the main
 * thread holds `out.lock` while it acts and prints, and then waits on `out.seen` until
 * B's callbacks have printed their lines.
 *
 * Exit status 0 on success; 1, with a message on stderr, on any unexpected result.
 */
#define _POSIX_C_SOURCE 200809L

#include <offkv.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Output in a fixed order ---- */

static struct {
  pthread_mutex_t lock; /* held by main while acting; taken by callbacks to print */
  pthread_cond_t seen_changed;
  int seen; /* events B's callbacks have printed */
} out = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void die(const char *what, const char *why) {
  fprintf(stderr, "offkv-demo: %s: %s\n", what, why);
  exit(1);
}

/* Any call that should succeed goes through must(). */
static void must(int rc, const char *what) {
  char why[1024];
  if (rc == OFFKV_OK) return;
  snprintf(why, sizeof why, "%s (%s): %s", offkv_error_name(rc), offkv_strerror(rc),
           offkv_last_error());
  die(what, why);
}

static const char *event_name(int type) {
  switch (type) {
    case OFFKV_EVENT_CREATED:
      return "CREATED";
    case OFFKV_EVENT_DELETED:
      return "DELETED";
    case OFFKV_EVENT_CHANGED:
      return "CHANGED";
    case OFFKV_EVENT_CHILDREN:
      return "CHILDREN";
    case OFFKV_EVENT_ENDED:
      return "ENDED";
    default:
      return "SESSION";
  }
}

/* B's watch callback, on B's event thread. event->key is valid only during the call. */
static void b_sees(const offkv_event *event, void *user) {
  pthread_mutex_lock(&out.lock);
  printf("%s sees: %s %s version=%" PRId64 "\n", (const char *)user,
         event_name(event->type), event->key, event->version);
  fflush(stdout);
  out.seen++;
  pthread_cond_signal(&out.seen_changed);
  pthread_mutex_unlock(&out.lock);
}

/* Called by main with out.lock held: waits (up to 5 s) until B has seen `total`. */
static void wait_until_b_has_seen(int total) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  while (out.seen < total)
    if (pthread_cond_timedwait(&out.seen_changed, &out.lock, &deadline) != 0)
      die("waiting for B's watch", "no event within 5 s");
}

static void print_children(const char *who, offkv_strings *children) {
  size_t i;
  printf("%s lists /members:", who);
  if (children->count == 0) printf(" (no children)");
  for (i = 0; i < children->count; i++) printf(" %s", children->items[i]);
  printf("\n");
}

int main(void) {
  offkv_client *a = NULL, *b = NULL;
  offkv_watch *config_watch = NULL, *members_watch = NULL, *member_watch = NULL;
  offkv_strings children = {NULL, 0};
  offkv_buf value = {NULL, 0};
  offkv_txn *txn = NULL;
  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  char *member = NULL;
  int64_t version = 0;
  int rc;
  size_t i;

  printf("Two clients, A and B, open the in-process store mem://demo.\n");
  printf("(mem:// needs no server; clients of one process share a store by name.)\n");
  must(offkv_open("mem://demo", NULL, &a), "open A");
  must(offkv_open("mem://demo", NULL, &b), "open B");

  pthread_mutex_lock(&out.lock);

  /* ---- 1. B leaves watches ---- */
  must(offkv_create(a, "/members", NULL, 0, 0, NULL), "A creates /members");
  printf("\nA creates /members, a plain node to hold group members.\n");
  must(offkv_exists_watch(b, "/config", &version, b_sees, "B", &config_watch),
       "B watches /config");
  printf("B asks whether /config exists: version %" PRId64
         " means no. B leaves a watch on it.\n",
         version);
  must(offkv_children_watch(b, "/members", &children, b_sees, "B", &members_watch),
       "B watches /members");
  print_children("B", &children);
  offkv_strings_free(&children);
  printf("B leaves a children watch on /members.\n");

  /* ---- 2. A creates and sets /config; B's one-shot watches fire ---- */
  printf("\nA creates /config = \"color=red\".\n");
  must(offkv_create(a, "/config", "color=red", 9, 0, NULL), "A creates /config");
  wait_until_b_has_seen(1);
  offkv_watch_free(config_watch); /* fired: a one-shot watch fires once */
  must(offkv_get_watch(b, "/config", &value, &version, b_sees, "B", &config_watch),
       "B reads /config");
  printf("B reads /config = \"%s\" at version %" PRId64
         " and leaves a watch on its value.\n",
         value.data, version);
  offkv_buf_free(&value);

  must(offkv_set(a, "/config", "color=blue", 10, &version), "A sets /config");
  printf("A sets /config = \"color=blue\": now version %" PRId64 ".\n", version);
  wait_until_b_has_seen(2);
  offkv_watch_free(config_watch);
  config_watch = NULL;
  printf(
      "B's watch on /config has fired and is gone: B hears of no later change\n"
      "unless it reads again with a watch.\n");

  /* ---- 3. A joins the group with an ephemeral, sequential member ---- */
  must(offkv_create(a, "/members/m-", "10.0.0.1:5050", 13,
                    OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL, &member),
       "A creates its member");
  printf("\nA joins the group: an ephemeral, sequential node under /members.\n");
  printf("The library names it %s (10 digits from a counter per parent).\n", member);
  wait_until_b_has_seen(3);
  offkv_watch_free(members_watch);
  must(offkv_children_watch(b, "/members", &children, b_sees, "B", &members_watch),
       "B lists /members again");
  print_children("B", &children);
  offkv_strings_free(&children);
  must(offkv_exists_watch(b, member, &version, b_sees, "B", &member_watch),
       "B watches the member");
  printf("B watches /members again, and %s itself (version %" PRId64 ").\n", member,
         version);

  /* ---- 4. Compare-and-set ---- */
  printf("\nA tries cas /config expecting version 1:\n");
  rc = offkv_cas(a, "/config", "color=green", 11, 1, &version);
  if (rc != OFFKV_EVERSION) die("cas at version 1", "expected OFFKV_EVERSION");
  printf("  %s (%s): %s\n", offkv_error_name(rc), offkv_strerror(rc), offkv_last_error());
  must(offkv_cas(a, "/config", "color=green", 11, 2, &version), "cas at version 2");
  printf("A tries cas /config expecting version 2: ok, now version %" PRId64 ".\n",
         version);

  /* ---- 5. Transactions: all or nothing ---- */
  printf(
      "\nA commits a transaction: check /config is at version 3; set /config;\n"
      "create /config (it exists).\n");
  must(offkv_txn_new(&txn), "new txn");
  must(offkv_txn_check(txn, "/config", 3), "txn check");
  must(offkv_txn_set(txn, "/config", "color=black", 11), "txn set");
  must(offkv_txn_create(txn, "/config", NULL, 0, 0), "txn create");
  rc = offkv_commit(a, txn, &result);
  if (rc != OFFKV_ETXN) die("failing transaction", "expected OFFKV_ETXN");
  printf("  %s: item %zu failed with %s (checks count first, then ops): %s\n",
         offkv_error_name(rc), result.failed_index, offkv_error_name(result.failed_code),
         offkv_last_error());
  offkv_txn_result_free(&result);
  offkv_txn_free(txn);
  must(offkv_exists(a, "/config", &version), "exists /config");
  printf("  Nothing was applied: /config is still at version %" PRId64 ".\n", version);

  must(offkv_txn_new(&txn), "new txn");
  must(offkv_txn_check(txn, "/config", 3), "txn check");
  must(offkv_txn_set(txn, "/config", "color=black", 11), "txn set");
  must(offkv_txn_create(txn, "/jobs", NULL, 0, 0), "txn create");
  must(offkv_commit(a, txn, &result), "commit");
  printf("A commits: check /config at version 3; set /config; create /jobs:\n");
  for (i = 0; i < result.count; i++)
    printf("  op %zu: %s now at version %" PRId64 "\n", i, result.ops[i]->key,
           result.ops[i]->version);
  offkv_txn_result_free(&result);
  offkv_txn_free(txn);

  /* ---- 6. A leaves: its session ends, its ephemeral node goes ---- */
  printf("\nA closes its client: its session ends and its ephemeral member vanishes.\n");
  must(offkv_close(a), "close A");
  wait_until_b_has_seen(5);
  must(offkv_children(b, "/members", &children), "B lists /members");
  print_children("B", &children);
  offkv_strings_free(&children);

  pthread_mutex_unlock(&out.lock);

  /* Watch handles first (they have fired; freeing cancels nothing that could run),
   * then clients. Every buffer came from the library and went back to it. */
  offkv_watch_free(members_watch);
  offkv_watch_free(member_watch);
  offkv_string_free(member);
  offkv_client_free(a);
  offkv_client_free(b);
  printf("\nDone.\n");
  return 0;
}
