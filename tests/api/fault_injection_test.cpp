// No exception crosses the C boundary: this executable replaces the global
// operator new (liboffkv.so takes it from libstdc++ through the PLT, so the
// executable's definition interposes) and makes the N-th allocation on this thread
// throw std::bad_alloc, for N = 0, 1, 2, ... until a whole sequence of API calls
// runs without reaching N. Every call must return OFFKV_OK, OFFKV_ENOMEM or a code
// that follows from an earlier failure; an escaping exception would terminate.
//
// Two modes: "once" fails only the N-th allocation; "sticky" fails it and every
// later one until the sequence's call returns (memory stays exhausted).
//
// A plain main(): no test framework allocating inside the injection window.
#include <offkv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace {

// Trivial thread_local state: no allocation or dynamic initialisation on access.
thread_local bool armed = false;
thread_local bool sticky = false;
thread_local bool tripped = false;
thread_local long countdown = 0;
thread_local long allocations = 0;
long injected_total = 0;

void *allocate(std::size_t size) {
  if (armed) {
    ++allocations;
    if (tripped && sticky) throw std::bad_alloc();
    if (countdown-- == 0) {
      tripped = true;
      ++injected_total;
      throw std::bad_alloc();
    }
  }
  if (size == 0) size = 1;
  if (void *p = std::malloc(size)) return p;
  throw std::bad_alloc();
}

}  // namespace

void *operator new(std::size_t size) { return allocate(size); }
void *operator new[](std::size_t size) { return allocate(size); }
void *operator new(std::size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { std::free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { std::free(p); }

namespace {

int failures = 0;
long enomem_returns = 0;

// Runs one API call inside the injection window. In sticky mode the window closes
// as soon as the call returns, so the checks below can allocate freely.
template <typename Fn>
int injected(Fn &&call) {
  armed = true;
  int rc = call();
  armed = false;
  if (sticky && tripped) countdown = -1;  // exhausted memory "comes back"
  return rc;
}

void report(const char *mode, long n, const char *what, int rc, const char *expected) {
  std::fprintf(stderr, "FAIL [%s N=%ld] %s returned %s (%s); expected %s\n", mode, n,
               what, offkv_error_name(rc), offkv_last_error(), expected);
  ++failures;
}

// rc must be OK, ENOMEM, or one of the extra codes allowed by earlier failures.
bool check(const char *mode, long n, const char *what, int rc, int allowed1 = -1,
           int allowed2 = -1) {
  if (rc == OFFKV_ENOMEM) {
    ++enomem_returns;
    if (std::strlen(offkv_last_error()) == 0) {
      report(mode, n, what, rc, "a non-empty offkv_last_error()");
      return false;
    }
    return false;
  }
  if (rc == OFFKV_OK) return true;
  if (rc == allowed1 || rc == allowed2) return false;
  std::string expected = "OFFKV_OK or OFFKV_ENOMEM";
  if (allowed1 >= 0) expected += std::string(" or ") + offkv_error_name(allowed1);
  if (allowed2 >= 0) expected += std::string(" or ") + offkv_error_name(allowed2);
  report(mode, n, what, rc, expected.c_str());
  return false;
}

// One pass of the sequence with the N-th allocation failing; returns the number
// of allocations the API calls made (to know when N went past the end).
long run_sequence(const char *mode, long n) {
  allocations = 0;
  tripped = false;
  countdown = n;
  char url[64];
  std::snprintf(url, sizeof url, "mem://fault-%s-%ld", mode, n);

  offkv_client *client = nullptr;
  int rc = injected([&] { return offkv_open(url, nullptr, &client); });
  bool open = check(mode, n, "offkv_open", rc);
  if (!open && client) report(mode, n, "offkv_open", rc, "no client on failure");

  // Without a client every call is EINVAL (NULL handle); that is consistent too.
  const int no_client = open ? -1 : OFFKV_EINVAL;
  rc = injected([&] { return offkv_create(client, "/a", "x", 1, 0, nullptr); });
  bool created = check(mode, n, "offkv_create", rc, no_client);

  int64_t version = 0;
  rc = injected([&] { return offkv_set(client, "/a", "yy", 2, &version); });
  bool set = check(mode, n, "offkv_set", rc, no_client);
  // 1, or 2 if the create wrote /a (even if it then ran out of memory).
  if (set && version != 1 && version != 2) report(mode, n, "offkv_set", rc, "version 1 or 2");
  (void)created;

  char *seq = nullptr;
  rc = injected(
      [&] { return offkv_create(client, "/s-", "z", 1, OFFKV_SEQUENTIAL, &seq); });
  if (check(mode, n, "offkv_create(SEQUENTIAL)", rc, no_client) &&
      (!seq || std::strncmp(seq, "/s-", 3) != 0))
    report(mode, n, "offkv_create(SEQUENTIAL)", rc, "the created key");
  offkv_string_free(seq);

  // /a may be absent if both writes ran out of memory.
  offkv_buf value{nullptr, 0};
  offkv_watch *watch = nullptr;
  rc = injected([&] {
    return offkv_get_watch(client, "/a", &value, &version, nullptr, nullptr, &watch);
  });
  if (check(mode, n, "offkv_get_watch", rc, no_client, OFFKV_ENOENT)) {
    if (!watch || !value.data) report(mode, n, "offkv_get_watch", rc, "value and watch");
  } else if (watch || value.data) {
    report(mode, n, "offkv_get_watch", rc, "zeroed out-parameters on failure");
  }
  offkv_buf_free(&value);

  offkv_strings children{nullptr, 0};
  rc = injected([&] { return offkv_children(client, "/", &children); });
  check(mode, n, "offkv_children", rc, no_client);
  offkv_strings_free(&children);

  offkv_txn *txn = nullptr;
  rc = injected([&] { return offkv_txn_new(&txn); });
  bool have_txn = check(mode, n, "offkv_txn_new", rc);
  const int no_txn = have_txn ? -1 : OFFKV_EINVAL;
  rc = injected([&] { return offkv_txn_check(txn, "/a", OFFKV_ANY_VERSION); });
  bool txn_ok = check(mode, n, "offkv_txn_check", rc, no_txn);
  rc = injected([&] { return offkv_txn_create(txn, "/a/b", "c", 1, 0); });
  txn_ok = check(mode, n, "offkv_txn_create", rc, no_txn) && txn_ok;
  rc = injected([&] { return offkv_txn_set(txn, "/a", "t", 1); });
  txn_ok = check(mode, n, "offkv_txn_set", rc, no_txn) && txn_ok;

  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  rc = injected([&] { return offkv_commit(client, txn, &result); });
  // ETXN: /a is missing (earlier ENOMEM) — the check fails.
  if (check(mode, n, "offkv_commit", rc, open ? (have_txn ? OFFKV_ETXN : OFFKV_EINVAL)
                                              : OFFKV_EINVAL) &&
      txn_ok && result.count != 2)
    report(mode, n, "offkv_commit", rc, "two op results");
  offkv_txn_result_free(&result);
  offkv_txn_free(txn);

  offkv_event *event = nullptr;
  if (watch) {
    rc = injected([&] { return offkv_watch_wait(watch, 0, &event); });
    // The txn's set may have fired it (OK), or not (ETIMEOUT).
    check(mode, n, "offkv_watch_wait", rc, OFFKV_ETIMEOUT);
    offkv_event_free(event);
    rc = injected([&] { return offkv_watch_cancel(watch); });
    check(mode, n, "offkv_watch_cancel", rc);
  }

  rc = injected([&] { return offkv_close(client); });
  check(mode, n, "offkv_close", rc, no_client);
  int state = 0;
  if (client) {
    rc = injected([&] { return offkv_get_session_state(client, &state); });
    check(mode, n, "offkv_get_session_state", rc);
  }

  // The void functions run injected too: they must not throw either.
  injected([&] {
    offkv_watch_free(watch);
    offkv_client_free(client);
    return 0;
  });
  return allocations;
}

}  // namespace

int main() {
  const long kMaxN = 5000;
  for (const char *mode : {"once", "sticky"}) {
    sticky = std::strcmp(mode, "sticky") == 0;
    long n = 0;
    long enomem_before = enomem_returns;
    long needed = 0;
    for (; n < kMaxN; ++n) {
      needed = run_sequence(mode, n);
      if (needed <= n) break;  // the N-th allocation was never reached: done
      if (failures > 20) break;
    }
    std::printf("%s: %ld injection points (sequence makes %ld allocations), "
                "%ld calls returned OFFKV_ENOMEM\n",
                mode, n, needed, enomem_returns - enomem_before);
    if (n >= kMaxN) {
      std::fprintf(stderr, "FAIL [%s] sequence never finished below N=%ld\n", mode, kMaxN);
      ++failures;
    }
    if (enomem_returns - enomem_before == 0) {
      std::fprintf(stderr, "FAIL [%s] no call returned OFFKV_ENOMEM: not injecting\n",
                   mode);
      ++failures;
    }
  }
  std::printf("injected %ld bad_alloc in total\n", injected_total);
  if (failures) {
    std::fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  std::printf("no exception crossed the C boundary\n");
  return 0;
}
