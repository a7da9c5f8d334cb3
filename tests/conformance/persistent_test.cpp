// SPEC §5, persistent watches: every change under a key (recursive), in order, with
// the changed key and its version, until cancelled; ENDED when the session ends.
#include "conformance.hpp"

using namespace conf;

namespace {

std::string describe(const Ev &ev) {
  return type_name(ev.type) + " " + ev.key + " v" + std::to_string(ev.version);
}

// The events of rec as "TYPE key vN" strings, after waiting for n of them.
std::vector<std::string> expect_n(Recorder &rec, std::size_t n) {
  bool got = rec.wait_count(n);
  std::vector<std::string> out;
  for (const auto &ev : rec.events()) out.push_back(describe(ev));
  INFO("events: " << Catch::StringMaker<std::vector<std::string>>::convert(out));
  REQUIRE(got);
  return out;
}

// The events of one key, in order.
std::vector<std::string> of_key(const std::vector<std::string> &events,
                                const std::string &key) {
  std::vector<std::string> out;
  for (const auto &e : events) {
    std::size_t space = e.find(' ');
    std::size_t last = e.rfind(' ');
    if (e.substr(space + 1, last - space - 1) == key) out.push_back(e);
  }
  return out;
}

// Takes up to n events from a watch without a callback, each within kEventMs; stops at
// the first that does not come (so a failure shows what did come).
std::vector<std::string> drain(offkv_watch *watch, std::size_t n) {
  std::vector<std::string> out;
  while (out.size() < n) {
    offkv_event *event = nullptr;
    if (offkv_watch_wait(watch, kEventMs, &event) != OFFKV_OK) break;
    out.push_back(describe(copy_event(*event)));
    offkv_event_free(event);
  }
  return out;
}

}  // namespace

TEST_CASE("a persistent watch reports every change of its key in order", "[persistent]") {
  Env env;
  Recorder &rec = env.recorder();
  Watch watch;
  // The key need not exist.
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/k", &Recorder::callback, &rec, watch.out()));
  create(env.c(), "/k", "1");
  set(env.c(), "/k", "2");
  set(env.c(), "/k", "3");
  REQUIRE_OK(offkv_erase(env.c(), "/k", 3));
  create(env.c(), "/k", "again");
  set(env.c(), "/k", "again 2");
  auto events = expect_n(rec, 6);
  CHECK(events == std::vector<std::string>{"CREATED /k v1", "CHANGED /k v2",
                                           "CHANGED /k v3", "DELETED /k v0",
                                           "CREATED /k v1", "CHANGED /k v2"});
  CHECK(rec.quiet());
}

TEST_CASE("a persistent watch reports a burst of sets one by one",
          "[persistent][order]") {
  Env env;
  create(env.c(), "/k", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/k", &Recorder::callback, &rec, watch.out()));
  const int n = 30;
  for (int i = 0; i < n; ++i) set(env.c(), "/k", std::to_string(i));
  auto events = expect_n(rec, n);
  REQUIRE(events.size() == static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) CHECK(events[i] == "CHANGED /k v" + std::to_string(i + 2));
  CHECK(rec.quiet());
}

TEST_CASE("a persistent watch covers its whole subtree at any depth", "[persistent]") {
  Env env;
  create(env.c(), "/w", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/w", &Recorder::callback, &rec, watch.out()));
  create(env.c(), "/w/a", "");
  create(env.c(), "/w/a/b", "");
  create(env.c(), "/w/a/b/c", "");
  set(env.c(), "/w/a/b/c", "deep");
  set(env.c(), "/w", "own value");
  REQUIRE_OK(offkv_erase(env.c(), "/w/a/b/c", 0));
  auto events = expect_n(rec, 6);
  CHECK(events == std::vector<std::string>{"CREATED /w/a v1", "CREATED /w/a/b v1",
                                           "CREATED /w/a/b/c v1", "CHANGED /w/a/b/c v2",
                                           "CHANGED /w v2", "DELETED /w/a/b/c v0"});
  // Only node events: no CHILDREN, no ENDED.
  CHECK(rec.quiet());
  CHECK(rec.count() == 6);
}

TEST_CASE("a persistent watch ignores keys outside its subtree", "[persistent][prefix]") {
  Env env;
  for (const char *key : {"/a", "/ab", "/a-b", "/b"}) create(env.c(), key, "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/a", &Recorder::callback, &rec, watch.out()));
  set(env.c(), "/ab", "x");
  create(env.c(), "/ab/c", "");
  set(env.c(), "/a-b", "x");
  create(env.c(), "/a0", "");
  REQUIRE_OK(offkv_erase(env.c(), "/b", 0));
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  // Control.
  create(env.c(), "/a/inside", "");
  auto ev = rec.next();
  REQUIRE(ev);
  CHECK(describe(*ev) == "CREATED /a/inside v1");
}

TEST_CASE("a persistent watch reports every node of an erased subtree",
          "[persistent][erase]") {
  Env env;
  create(env.c(), "/w", "");
  std::vector<std::string> subtree = {"/w/t", "/w/t/a", "/w/t/b", "/w/t/a/x", "/w/t/a/y"};
  for (const auto &key : subtree) create(env.c(), key, "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/w", &Recorder::callback, &rec, watch.out()));
  REQUIRE_OK(offkv_erase(env.c(), "/w/t", 0));
  expect_n(rec, subtree.size());
  std::vector<std::string> deleted;
  for (const auto &ev : rec.events()) {
    CHECK(type_name(ev.type) == "DELETED");
    CHECK(ev.version == 0);
    deleted.push_back(ev.key);
  }
  CHECK(bytewise_sorted(deleted) == bytewise_sorted(subtree));
  CHECK(rec.quiet());
  CHECK(rec.count() == subtree.size());
}

TEST_CASE("a persistent watch reports the changes of a transaction",
          "[persistent][txn]") {
  Env env;
  create(env.c(), "/w", "");
  create(env.c(), "/w/old", "");
  create(env.c(), "/w/gone", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/w", &Recorder::callback, &rec, watch.out()));
  Txn txn;
  txn.create("/w/new", "").set("/w/old", "x").erase("/w/gone").set("/w/new", "y");
  REQUIRE_OK(commit(env.c(), txn).rc);
  auto events = expect_n(rec, 4);
  // Within one key the order is exact; across keys of one transaction it may differ.
  CHECK(of_key(events, "/w/new") ==
        std::vector<std::string>{"CREATED /w/new v1", "CHANGED /w/new v2"});
  CHECK(of_key(events, "/w/old") == std::vector<std::string>{"CHANGED /w/old v2"});
  CHECK(of_key(events, "/w/gone") == std::vector<std::string>{"DELETED /w/gone v0"});
  CHECK(rec.quiet());
  CHECK(rec.count() == 4);
}

TEST_CASE("a persistent watch on the root sees the client's tree only",
          "[persistent][prefix]") {
  Env env;
  offkv_client *a = env.open_at("/tenant-a");
  offkv_client *b = env.open_at("/tenant-b");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(offkv_watch_persistent(a, "/", &Recorder::callback, &rec, watch.out()));
  create(b, "/x", "");
  create(b, "/x/y", "");
  set(b, "/x", "b");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  create(a, "/x", "");
  create(a, "/x/y", "");
  auto events = expect_n(rec, 2);
  CHECK(events == std::vector<std::string>{"CREATED /x v1", "CREATED /x/y v1"});
}

TEST_CASE("a persistent watch with a callback delivers only to the callback",
          "[persistent]") {
  Env env;
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/k", &Recorder::callback, &rec, watch.out()));
  create(env.c(), "/k", "");
  REQUIRE(rec.next());
  CHECK(wait_code(watch, kQuietMs) == OFFKV_ETIMEOUT);
}

TEST_CASE("a persistent watch without a callback queues its events for wait",
          "[persistent]") {
  Env env;
  Watch watch;
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/q", nullptr, nullptr, watch.out()));
  CHECK(wait_code(watch, 0) == OFFKV_ETIMEOUT);
  create(env.c(), "/q", "");
  create(env.c(), "/q/c", "");
  set(env.c(), "/q", "x");
  REQUIRE_OK(offkv_erase(env.c(), "/q", 0));
  auto events = drain(watch, 5);
  INFO("events: " << Catch::StringMaker<std::vector<std::string>>::convert(events));
  REQUIRE(events.size() == 5);
  // Separate operations come in order; the two deletions of one erase in any order.
  CHECK(std::vector<std::string>(events.begin(), events.begin() + 3) ==
        std::vector<std::string>{"CREATED /q v1", "CREATED /q/c v1", "CHANGED /q v2"});
  CHECK(bytewise_sorted({events[3], events[4]}) ==
        std::vector<std::string>{"DELETED /q v0", "DELETED /q/c v0"});
  CHECK(wait_code(watch, kQuietMs) == OFFKV_ETIMEOUT);
}

TEST_CASE("a cancelled persistent watch delivers nothing more", "[persistent][cancel]") {
  Env env;
  Recorder &rec = env.recorder();
  Watch with_callback, queued;
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/k", &Recorder::callback, &rec,
                                    with_callback.out()));
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/k", nullptr, nullptr, queued.out()));
  create(env.c(), "/k", "");
  REQUIRE(rec.next());
  CHECK(describe(wait_event(queued)) == "CREATED /k v1");
  REQUIRE_OK(offkv_watch_cancel(with_callback));
  REQUIRE_OK(offkv_watch_cancel(queued));
  set(env.c(), "/k", "x");
  create(env.c(), "/k/c", "");
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
  CHECK(wait_code(queued, 0) == OFFKV_ECLOSED);
  CHECK(wait_code(with_callback, 0) == OFFKV_ECLOSED);
}

TEST_CASE("cancelling a persistent watch under a stream of changes is final",
          "[persistent][cancel][threads]") {
  Env env;
  offkv_client *writer = env.open();
  create(env.c(), "/s", "");
  struct Guard {
    std::atomic<bool> cancelled{false};
    std::atomic<int> calls{0}, late{0};
    static void callback(const offkv_event *, void *user) {
      auto *g = static_cast<Guard *>(user);
      ++g->calls;
      if (g->cancelled) ++g->late;
    }
  };
  auto &guard = env.own<Guard>();
  offkv_watch *w = nullptr;
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/s", &Guard::callback, &guard, &w));
  Background t([&](const std::atomic<bool> &stop) {
    while (!stop) offkv_set(writer, "/s", "x", 1, nullptr);
  });
  REQUIRE(eventually([&] { return guard.calls.load() >= 5; }));
  CHECK_OK(offkv_watch_cancel(w));
  guard.cancelled = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  t.join();
  CHECK(guard.late == 0);
  offkv_watch_free(w);
}

TEST_CASE("overlapping persistent watches each see a change", "[persistent]") {
  Env env;
  create(env.c(), "/a", "");
  create(env.c(), "/a/b", "");
  Recorder &outer = env.recorder();
  Recorder &inner = env.recorder();
  Watch w1, w2;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/a", &Recorder::callback, &outer, w1.out()));
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/a/b", &Recorder::callback, &inner, w2.out()));
  set(env.c(), "/a/b", "x");
  set(env.c(), "/a", "y");
  CHECK(expect_n(outer, 2) ==
        std::vector<std::string>{"CHANGED /a/b v2", "CHANGED /a v2"});
  CHECK(expect_n(inner, 1) == std::vector<std::string>{"CHANGED /a/b v2"});
  CHECK(inner.quiet());
  CHECK(inner.count() == 1);
}

TEST_CASE("a persistent watch sees other clients' changes and ephemerals ending",
          "[persistent][ephemeral]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/g", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/g", &Recorder::callback, &rec, watch.out()));
  // Another session's changes: SPEC §5 lets a backend that cannot see every
  // intermediate change (ZooKeeper's re-armed emulation, Consul's blocking queries)
  // fold changes made in quick succession into the latest state. Each change here is
  // made once the previous one was reported, so every backend reports each of them.
  std::vector<std::string> seen;
  auto next = [&] {
    auto ev = rec.next();
    seen.push_back(ev ? describe(*ev) : "(nothing within the wait)");
    return seen.back();
  };
  create(other, "/g/member", "host:1", OFFKV_EPHEMERAL);
  REQUIRE(next() == "CREATED /g/member v1");
  set(other, "/g/member", "host:2");
  REQUIRE(next() == "CHANGED /g/member v2");
  REQUIRE_OK(offkv_close(other));  // the ephemeral ends with the session
  REQUIRE(next() == "DELETED /g/member v0");
  CHECK(rec.quiet());
}

TEST_CASE("a persistent watch ends with ENDED when its client closes",
          "[persistent][sessions]") {
  Env env;
  offkv_client *c = env.open();
  Recorder &rec = env.recorder();
  Watch with_callback, queued;
  REQUIRE_OK(
      offkv_watch_persistent(c, "/k", &Recorder::callback, &rec, with_callback.out()));
  REQUIRE_OK(offkv_watch_persistent(c, "/k", nullptr, nullptr, queued.out()));
  create(c, "/k", "");
  REQUIRE_OK(offkv_close(c));
  auto events = expect_n(rec, 2);
  CHECK(events[0] == "CREATED /k v1");
  auto ended = rec.events()[1];
  CHECK(type_name(ended.type) == "ENDED");
  CHECK(ended.key == "/k");
  CHECK(code_name(ended.error) == "OFFKV_ECLOSED");
  CHECK(ended.session_state == OFFKV_SESSION_CLOSED);
  // The queue is drained in order: the change, then ENDED, then closed.
  CHECK(drain(queued, 2) == std::vector<std::string>{"CREATED /k v1", "ENDED /k v-1"});
  CHECK(wait_code(queued, 0) == OFFKV_ECLOSED);
  CHECK(rec.quiet());
  CHECK(rec.count() == 2);
}
