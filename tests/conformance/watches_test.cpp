// SPEC §5, one-shot watches: set atomically with get / exists / children, fire exactly
// once for the first change after the read, report what happened, never spuriously;
// delivered by callback on the client's event thread and/or by offkv_watch_wait;
// cancellable; ENDED when the client closes.
#include "conformance.hpp"

using namespace conf;

namespace {

void expect_event(const Ev &ev, const std::string &type, const std::string &key,
                  std::int64_t version) {
  INFO("event " << type_name(ev.type) << " '" << ev.key << "' v" << ev.version);
  CHECK(type_name(ev.type) == type);
  CHECK(ev.has_key);
  CHECK(ev.key == key);
  CHECK(ev.version == version);
  CHECK(ev.session_state == 0);
  CHECK(ev.error == 0);
}

}  // namespace

TEST_CASE("get_watch fires CHANGED exactly once for the first set", "[watches]") {
  Env env;
  create(env.c(), "/w", "1");
  Recorder &rec = env.recorder();
  Watch watch;
  offkv_buf buf{nullptr, 0};
  std::int64_t version = 0;
  REQUIRE_OK(offkv_get_watch(env.c(), "/w", &buf, &version, &Recorder::callback, &rec,
                             watch.out()));
  CHECK(str(buf) == "1");
  CHECK(version == 1);
  offkv_buf_free(&buf);
  set(env.c(), "/w", "2");
  set(env.c(), "/w", "3");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CHANGED", "/w", 2);
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
  expect_event(wait_event(watch), "CHANGED", "/w", 2);
}

TEST_CASE("get_watch fires DELETED when the node is erased", "[watches]") {
  Env env;
  create(env.c(), "/w", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/w", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE_OK(offkv_erase(env.c(), "/w", 0));
  expect_event(wait_event(watch), "DELETED", "/w", 0);
}

TEST_CASE("get_watch fires DELETED when the node goes with its parent's subtree",
          "[watches][erase]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/c", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/p/c", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE_OK(offkv_erase(env.c(), "/p", 0));
  expect_event(wait_event(watch), "DELETED", "/p/c", 0);
}

TEST_CASE("get_watch on an absent node is ENOENT and leaves no watch", "[watches]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_watch *watch = nullptr;
  REQUIRE_CODE(offkv_get_watch(env.c(), "/absent", nullptr, nullptr, &Recorder::callback,
                               &rec, &watch),
               OFFKV_ENOENT);
  CHECK(watch == nullptr);
  create(env.c(), "/absent", "");
  set(env.c(), "/absent", "x");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("children_watch on an absent node is ENOENT and leaves no watch", "[watches]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_watch *watch = nullptr;
  offkv_strings list{nullptr, 0};
  REQUIRE_CODE(
      offkv_children_watch(env.c(), "/absent", &list, &Recorder::callback, &rec, &watch),
      OFFKV_ENOENT);
  CHECK(watch == nullptr);
  create(env.c(), "/absent", "");
  create(env.c(), "/absent/child", "");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("exists_watch on an absent key fires CREATED on creation, not before",
          "[watches]") {
  Env env;
  Recorder &rec = env.recorder();
  Watch watch;
  std::int64_t version = 9;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/later", &version, &Recorder::callback, &rec,
                                watch.out()));
  CHECK(version == 0);
  CHECK(rec.quiet());
  CHECK(wait_code(watch, 0) == OFFKV_ETIMEOUT);
  create(env.c(), "/later", "now");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CREATED", "/later", 1);
  expect_event(wait_event(watch), "CREATED", "/later", 1);
}

TEST_CASE("exists_watch sees creation by set, cas and transaction", "[watches]") {
  Env env;
  Watch by_set, by_cas, by_txn;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/s", &version, nullptr, nullptr, by_set.out()));
  REQUIRE_OK(offkv_exists_watch(env.c(), "/c", &version, nullptr, nullptr, by_cas.out()));
  REQUIRE_OK(offkv_exists_watch(env.c(), "/t", &version, nullptr, nullptr, by_txn.out()));
  set(env.c(), "/s", "");
  REQUIRE_OK(offkv_cas(env.c(), "/c", "", 0, 0, nullptr));
  Txn txn;
  txn.create("/t", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  expect_event(wait_event(by_set), "CREATED", "/s", 1);
  expect_event(wait_event(by_cas), "CREATED", "/c", 1);
  expect_event(wait_event(by_txn), "CREATED", "/t", 1);
}

TEST_CASE("exists_watch on a present key fires CHANGED for a set", "[watches]") {
  Env env;
  create(env.c(), "/k", "a");
  set(env.c(), "/k", "b");
  Watch watch;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/k", &version, nullptr, nullptr, watch.out()));
  CHECK(version == 2);
  set(env.c(), "/k", "c");
  expect_event(wait_event(watch), "CHANGED", "/k", 3);
}

TEST_CASE("exists_watch on a present key fires DELETED for an erase", "[watches]") {
  Env env;
  create(env.c(), "/k", "a");
  Watch watch;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/k", &version, nullptr, nullptr, watch.out()));
  REQUIRE_OK(offkv_erase(env.c(), "/k", 1));
  expect_event(wait_event(watch), "DELETED", "/k", 0);
}

TEST_CASE("exists_watch fires once for a create quickly followed by an erase",
          "[watches]") {
  Env env;
  Recorder &rec = env.recorder();
  Watch watch;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/blip", &version, &Recorder::callback, &rec,
                                watch.out()));
  create(env.c(), "/blip", "");
  REQUIRE_OK(offkv_erase(env.c(), "/blip", 0));
  create(env.c(), "/blip", "");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CREATED", "/blip", 1);
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
}

TEST_CASE("children_watch fires CHILDREN when a child is added", "[watches][children]") {
  Env env;
  create(env.c(), "/p", "");
  Watch watch;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_children_watch(env.c(), "/p", &list, nullptr, nullptr, watch.out()));
  CHECK(list.count == 0);
  offkv_strings_free(&list);
  create(env.c(), "/p/c", "");
  expect_event(wait_event(watch), "CHILDREN", "/p", -1);
}

TEST_CASE("children_watch fires CHILDREN when a child is removed",
          "[watches][children]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/a", "");
  create(env.c(), "/p/b", "");
  Watch watch;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_children_watch(env.c(), "/p", &list, nullptr, nullptr, watch.out()));
  REQUIRE(list.count == 2);
  CHECK(std::string(list.items[0]) == "/p/a");
  CHECK(std::string(list.items[1]) == "/p/b");
  offkv_strings_free(&list);
  REQUIRE_OK(offkv_erase(env.c(), "/p/a", 0));
  expect_event(wait_event(watch), "CHILDREN", "/p", -1);
}

TEST_CASE("children_watch fires DELETED when the node itself is erased",
          "[watches][children]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/c", "");
  create(env.c(), "/p/c/g", "");
  Recorder &rec = env.recorder();
  Watch watch;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/p", &list, &Recorder::callback, &rec, watch.out()));
  offkv_strings_free(&list);
  REQUIRE_OK(offkv_erase(env.c(), "/p", 0));
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "DELETED", "/p", 0);
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
}

TEST_CASE("children_watch ignores grandchildren, child values and its own value",
          "[watches][children]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/c", "");
  Recorder &rec = env.recorder();
  Watch watch;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/p", &list, &Recorder::callback, &rec, watch.out()));
  offkv_strings_free(&list);
  create(env.c(), "/p/c/grandchild", "");
  set(env.c(), "/p/c", "child value");
  set(env.c(), "/p", "own value");
  REQUIRE_OK(offkv_erase(env.c(), "/p/c/grandchild", 0));
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  // Control: a real child change fires it.
  create(env.c(), "/p/d", "");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CHILDREN", "/p", -1);
}

TEST_CASE("get_watch and exists_watch ignore changes of children", "[watches]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/c", "");
  Recorder &rec = env.recorder();
  Watch get_watch, exists_watch;
  REQUIRE_OK(offkv_get_watch(env.c(), "/p", nullptr, nullptr, &Recorder::callback, &rec,
                             get_watch.out()));
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/p", &version, &Recorder::callback, &rec,
                                exists_watch.out()));
  create(env.c(), "/p/new", "");
  set(env.c(), "/p/c", "x");
  REQUIRE_OK(offkv_erase(env.c(), "/p/c", 0));
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("watches ignore siblings and keys sharing a name prefix", "[watches]") {
  Env env;
  create(env.c(), "/a", "");
  create(env.c(), "/ab", "");
  Recorder &rec = env.recorder();
  Watch w1, w2, w3;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_get_watch(env.c(), "/a", nullptr, nullptr, &Recorder::callback, &rec,
                             w1.out()));
  REQUIRE_OK(
      offkv_exists_watch(env.c(), "/a", &version, &Recorder::callback, &rec, w2.out()));
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/a", &list, &Recorder::callback, &rec, w3.out()));
  offkv_strings_free(&list);
  set(env.c(), "/ab", "x");
  create(env.c(), "/ab/c", "");
  create(env.c(), "/a0", "");
  REQUIRE_OK(offkv_erase(env.c(), "/ab", 0));
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("a watch never fires for a change made before its read", "[watches]") {
  Env env;
  create(env.c(), "/k", "1");
  set(env.c(), "/k", "2");
  create(env.c(), "/gone", "");
  REQUIRE_OK(offkv_erase(env.c(), "/gone", 0));
  Recorder &rec = env.recorder();
  Watch w1, w2, w3;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, &version, &Recorder::callback, &rec,
                             w1.out()));
  CHECK(version == 2);
  REQUIRE_OK(offkv_exists_watch(env.c(), "/gone", &version, &Recorder::callback, &rec,
                                w2.out()));
  CHECK(version == 0);
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/", &list, &Recorder::callback, &rec, w3.out()));
  offkv_strings_free(&list);
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  CHECK(wait_code(w1, 0) == OFFKV_ETIMEOUT);
}

TEST_CASE("a watch reports the first change after the state it read", "[watches]") {
  Env env;
  create(env.c(), "/k", "");
  set(env.c(), "/k", "");
  set(env.c(), "/k", "");  // version 3
  Recorder &rec = env.recorder();
  Watch watch;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, &version, &Recorder::callback, &rec,
                             watch.out()));
  REQUIRE(version == 3);
  for (int i = 0; i < 3; ++i) set(env.c(), "/k", std::to_string(i));
  REQUIRE_OK(offkv_erase(env.c(), "/k", 0));
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CHANGED", "/k", 4);
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
}

TEST_CASE("watches on a stable node do not fire spuriously", "[watches]") {
  Env env;
  create(env.c(), "/stable", "");
  create(env.c(), "/stable/c", "");
  Recorder &rec = env.recorder();
  Watch w1, w2, w3, w4;
  std::int64_t version = 0;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_get_watch(env.c(), "/stable", nullptr, nullptr, &Recorder::callback,
                             &rec, w1.out()));
  REQUIRE_OK(offkv_exists_watch(env.c(), "/stable", &version, &Recorder::callback, &rec,
                                w2.out()));
  REQUIRE_OK(offkv_children_watch(env.c(), "/stable", &list, &Recorder::callback, &rec,
                                  w3.out()));
  offkv_strings_free(&list);
  REQUIRE_OK(offkv_exists_watch(env.c(), "/never", &version, &Recorder::callback, &rec,
                                w4.out()));
  // Reads do not count as changes either.
  CHECK(value_of(env.c(), "/stable").empty());
  CHECK(children(env.c(), "/stable").size() == 1);
  CHECK(rec.quiet(2 * kQuietMs));
  CHECK(rec.count() == 0);
  for (offkv_watch *w : {w1.w, w2.w, w3.w, w4.w})
    CHECK(wait_code(w, 0) == OFFKV_ETIMEOUT);
}

TEST_CASE("a watch fires for a change made by another client", "[watches]") {
  Env env;
  offkv_client *writer = env.open();
  create(env.c(), "/k", "");
  create(env.c(), "/p", "");
  Watch data, kids, absent;
  std::int64_t version = 0;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, nullptr, nullptr, data.out()));
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_children_watch(env.c(), "/p", &list, nullptr, nullptr, kids.out()));
  offkv_strings_free(&list);
  REQUIRE_OK(
      offkv_exists_watch(env.c(), "/new", &version, nullptr, nullptr, absent.out()));
  set(writer, "/k", "from the writer");
  create(writer, "/p/c", "");
  create(writer, "/new", "");
  expect_event(wait_event(data), "CHANGED", "/k", 2);
  expect_event(wait_event(kids), "CHILDREN", "/p", -1);
  expect_event(wait_event(absent), "CREATED", "/new", 1);
}

TEST_CASE("watch callbacks run on the client's own event thread", "[watches][threads]") {
  Env env;
  Recorder &session = env.recorder();
  offkv_options options = session_options(session);
  offkv_client *c = env.open(&options);
  auto connected = session.next();
  REQUIRE(connected);
  create(c, "/k", "");
  Recorder &rec = env.recorder();
  Watch w1, w2;
  std::int64_t version = 0;
  REQUIRE_OK(
      offkv_get_watch(c, "/k", nullptr, nullptr, &Recorder::callback, &rec, w1.out()));
  REQUIRE_OK(
      offkv_exists_watch(c, "/other", &version, &Recorder::callback, &rec, w2.out()));
  set(c, "/k", "x");
  create(c, "/other", "");
  REQUIRE(rec.wait_count(2));
  auto events = rec.events();
  CHECK(events[0].thread != std::this_thread::get_id());
  CHECK(events[0].thread == events[1].thread);
  CHECK(events[0].thread == connected->thread);
}

TEST_CASE("a watch can be waited on without a callback", "[watches]") {
  Env env;
  create(env.c(), "/k", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE(watch.w != nullptr);
  CHECK(wait_code(watch, kQuietMs) == OFFKV_ETIMEOUT);
  // A waiter blocked before the change is woken by it.
  Background writer([&](const std::atomic<bool> &) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    offkv_set(env.c(), "/k", "x", 1, nullptr);
  });
  Ev ev = wait_event(watch);
  writer.join();
  expect_event(ev, "CHANGED", "/k", 2);
}

TEST_CASE("a fired one-shot watch returns its event on every wait", "[watches]") {
  Env env;
  create(env.c(), "/k", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  set(env.c(), "/k", "x");
  expect_event(wait_event(watch), "CHANGED", "/k", 2);
  set(env.c(), "/k", "y");
  expect_event(wait_event(watch, 0), "CHANGED", "/k", 2);
  expect_event(wait_event(watch, 0), "CHANGED", "/k", 2);
}

TEST_CASE("a watch with a callback and a handle delivers to both", "[watches]") {
  Env env;
  create(env.c(), "/k", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Recorder::callback, &rec,
                             watch.out()));
  REQUIRE_OK(offkv_erase(env.c(), "/k", 0));
  expect_event(wait_event(watch), "DELETED", "/k", 0);
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "DELETED", "/k", 0);
}

TEST_CASE("a watch with only a callback and no handle fires", "[watches]") {
  Env env;
  create(env.c(), "/k", "");
  create(env.c(), "/p", "");
  Recorder &rec = env.recorder();
  std::int64_t version = 0;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Recorder::callback, &rec,
                             nullptr));
  REQUIRE_OK(
      offkv_exists_watch(env.c(), "/e", &version, &Recorder::callback, &rec, nullptr));
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/p", &list, &Recorder::callback, &rec, nullptr));
  offkv_strings_free(&list);
  set(env.c(), "/k", "x");
  create(env.c(), "/e", "");
  create(env.c(), "/p/c", "");
  REQUIRE(rec.wait_count(3));
  auto events = rec.events();
  expect_event(events[0], "CHANGED", "/k", 2);
  expect_event(events[1], "CREATED", "/e", 1);
  expect_event(events[2], "CHILDREN", "/p", -1);
  CHECK(rec.quiet());
}

TEST_CASE("several watches on one key each fire once", "[watches]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/k", "");
  Recorder &rec = env.recorder();
  std::vector<std::unique_ptr<Watch>> watches;
  for (offkv_client *c : {env.c(), env.c(), other}) {
    watches.push_back(std::make_unique<Watch>());
    REQUIRE_OK(offkv_get_watch(c, "/k", nullptr, nullptr, &Recorder::callback, &rec,
                               watches.back()->out()));
    watches.push_back(std::make_unique<Watch>());
    std::int64_t version = 0;
    REQUIRE_OK(offkv_exists_watch(c, "/k", &version, &Recorder::callback, &rec,
                                  watches.back()->out()));
  }
  set(env.c(), "/k", "x");
  REQUIRE(rec.wait_count(6));
  for (const auto &ev : rec.events()) expect_event(ev, "CHANGED", "/k", 2);
  set(env.c(), "/k", "y");
  CHECK(rec.quiet());
  CHECK(rec.count() == 6);
}

TEST_CASE("watch events carry keys relative to the client's root", "[watches][prefix]") {
  Env env;
  offkv_client *nested = env.open_at("/deep/er");
  create(nested, "/k", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(nested, "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  set(nested, "/k", "x");
  Ev ev = wait_event(watch);
  expect_event(ev, "CHANGED", "/k", 2);
  CHECK(!contains(ev.key, env.root()));
}

TEST_CASE("watches stay inside their client's prefix", "[watches][prefix]") {
  Env env;
  offkv_client *a = env.open_at("/tenant-a");
  offkv_client *b = env.open_at("/tenant-b");
  Recorder &rec = env.recorder();
  Watch watch;
  std::int64_t version = 0;
  REQUIRE_OK(
      offkv_exists_watch(a, "/k", &version, &Recorder::callback, &rec, watch.out()));
  create(b, "/k", "b's");
  set(b, "/k", "b's again");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  create(a, "/k", "a's");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CREATED", "/k", 1);
}

TEST_CASE("watch callbacks come in the order the changes happened", "[watches][order]") {
  Env env;
  Recorder &rec = env.recorder();
  std::vector<std::unique_ptr<Watch>> watches;
  const int n = 8;
  for (int i = 0; i < n; ++i) create(env.c(), "/k" + std::to_string(i), "");
  // Armed in reverse order, changed in forward order.
  for (int i = n - 1; i >= 0; --i) {
    watches.push_back(std::make_unique<Watch>());
    REQUIRE_OK(offkv_get_watch(env.c(), ("/k" + std::to_string(i)).c_str(), nullptr,
                               nullptr, &Recorder::callback, &rec,
                               watches.back()->out()));
  }
  for (int i = 0; i < n; ++i) set(env.c(), "/k" + std::to_string(i), "x");
  REQUIRE(rec.wait_count(n));
  auto events = rec.events();
  for (int i = 0; i < n; ++i)
    expect_event(events[i], "CHANGED", "/k" + std::to_string(i), 2);
}

TEST_CASE("a watch callback may call offkv functions", "[watches][reentrancy]") {
  Env env;
  create(env.c(), "/trigger", "");
  create(env.c(), "/data", "payload");
  struct Outcome {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    int get_rc = -1, set_rc = -1, create_rc = -1, watch_rc = -1, children_rc = -1;
    std::string value;
  } out;
  Recorder &rearmed = env.recorder();
  struct Ctx {
    offkv_client *c;
    Outcome *out;
    Recorder *rearmed;
  } ctx{env.c(), &out, &rearmed};
  auto cb = [](const offkv_event *, void *user) {
    auto *x = static_cast<Ctx *>(user);
    offkv_buf buf{nullptr, 0};
    int get_rc = offkv_get(x->c, "/data", &buf, nullptr);
    std::string value = str(buf);
    offkv_buf_free(&buf);
    int set_rc = offkv_set(x->c, "/data", "from callback", 13, nullptr);
    int create_rc = offkv_create(x->c, "/made-in-callback", "", 0, 0, nullptr);
    std::int64_t version = 0;
    int watch_rc = offkv_exists_watch(x->c, "/second", &version, &Recorder::callback,
                                      x->rearmed, nullptr);
    offkv_strings list{nullptr, 0};
    int children_rc = offkv_children(x->c, "/", &list);
    offkv_strings_free(&list);
    std::lock_guard<std::mutex> lock(x->out->m);
    x->out->get_rc = get_rc;
    x->out->set_rc = set_rc;
    x->out->create_rc = create_rc;
    x->out->watch_rc = watch_rc;
    x->out->children_rc = children_rc;
    x->out->value = value;
    x->out->done = true;
    x->out->cv.notify_all();
  };
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/trigger", nullptr, nullptr, cb, &ctx, watch.out()));
  set(env.c(), "/trigger", "go");
  {
    std::unique_lock<std::mutex> lock(out.m);
    REQUIRE(out.cv.wait_for(lock, std::chrono::milliseconds(kEventMs),
                            [&] { return out.done; }));
  }
  CHECK(code_name(out.get_rc) == "OFFKV_OK");
  CHECK(code_name(out.set_rc) == "OFFKV_OK");
  CHECK(code_name(out.create_rc) == "OFFKV_OK");
  CHECK(code_name(out.watch_rc) == "OFFKV_OK");
  CHECK(code_name(out.children_rc) == "OFFKV_OK");
  CHECK(out.value == "payload");
  CHECK(value_of(env.c(), "/data") == "from callback");
  CHECK(version_of(env.c(), "/made-in-callback") == 1);
  // The watch armed inside the callback works.
  create(env.c(), "/second", "");
  auto ev = rearmed.next();
  REQUIRE(ev);
  expect_event(*ev, "CREATED", "/second", 1);
}

TEST_CASE("a callback that re-arms its watch follows every change",
          "[watches][reentrancy]") {
  Env env;
  create(env.c(), "/k", "");
  // Each callback arms the next watch (with itself) before the event is recorded, so
  // the next change is always watched.
  struct Chain {
    offkv_client *c = nullptr;
    Recorder rec;
    std::atomic<int> failures{0};
    static void callback(const offkv_event *event, void *user) {
      auto *self = static_cast<Chain *>(user);
      if (event->type == OFFKV_EVENT_CHANGED &&
          offkv_get_watch(self->c, "/k", nullptr, nullptr, &Chain::callback, self,
                          nullptr) != OFFKV_OK)
        ++self->failures;
      Recorder::callback(event, &self->rec);
    }
  };
  auto &chain = env.own<Chain>();
  chain.c = env.c();
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Chain::callback, &chain,
                             nullptr));
  for (int i = 2; i <= 6; ++i) {
    set(env.c(), "/k", std::to_string(i));
    auto ev = chain.rec.next();
    REQUIRE(ev);
    expect_event(*ev, "CHANGED", "/k", i);
  }
  CHECK(chain.failures == 0);
  // The last armed watch is still pending: closing the client ends it (and must do so
  // while `chain` is alive).
  REQUIRE_OK(offkv_close(env.c()));
  auto ended = chain.rec.next();
  REQUIRE(ended);
  CHECK(type_name(ended->type) == "ENDED");
}

TEST_CASE("after cancel returns the callback is never called", "[watches][cancel]") {
  Env env;
  create(env.c(), "/k", "");
  create(env.c(), "/p", "");
  Recorder &rec = env.recorder();
  Watch w1, w2, w3;
  std::int64_t version = 0;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Recorder::callback, &rec,
                             w1.out()));
  REQUIRE_OK(
      offkv_exists_watch(env.c(), "/e", &version, &Recorder::callback, &rec, w2.out()));
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/p", &list, &Recorder::callback, &rec, w3.out()));
  offkv_strings_free(&list);
  for (offkv_watch *w : {w1.w, w2.w, w3.w}) REQUIRE_OK(offkv_watch_cancel(w));
  set(env.c(), "/k", "x");
  create(env.c(), "/e", "");
  create(env.c(), "/p/c", "");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
  // Control: a watch armed now does fire, so the silence above means something.
  Watch control;
  REQUIRE_OK(offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Recorder::callback, &rec,
                             control.out()));
  set(env.c(), "/k", "y");
  auto ev = rec.next();
  REQUIRE(ev);
  expect_event(*ev, "CHANGED", "/k", 3);
}

TEST_CASE("waiting on a cancelled watch is ECLOSED and cancelling twice is fine",
          "[watches][cancel]") {
  Env env;
  create(env.c(), "/k", "");
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE_OK(offkv_watch_cancel(watch));
  CHECK_OK(offkv_watch_cancel(watch));
  offkv_event *event = nullptr;
  CHECK_CODE(offkv_watch_wait(watch, 0, &event), OFFKV_ECLOSED);
  CHECK(event == nullptr);
  set(env.c(), "/k", "x");
  CHECK_CODE(offkv_watch_wait(watch, kQuietMs, &event), OFFKV_ECLOSED);
  CHECK(event == nullptr);
  // A fired watch cancelled afterwards is closed too.
  Watch fired;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, nullptr, nullptr, fired.out()));
  set(env.c(), "/k", "y");
  expect_event(wait_event(fired), "CHANGED", "/k", 3);
  REQUIRE_OK(offkv_watch_cancel(fired));
  CHECK_CODE(offkv_watch_wait(fired, 0, &event), OFFKV_ECLOSED);
}

TEST_CASE("a cancel racing with a change never calls back after it returns",
          "[watches][cancel][threads]") {
  Env env;
  offkv_client *writer = env.open();
  create(env.c(), "/k", "");
  struct Guard {
    std::atomic<bool> cancelled{false};
    std::atomic<int> late{0}, calls{0};
    static void callback(const offkv_event *, void *user) {
      auto *g = static_cast<Guard *>(user);
      ++g->calls;
      if (g->cancelled) ++g->late;
      // Stay in the callback a little, widening the window for cancel to wait on it.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      if (g->cancelled) ++g->late;
    }
  };
  auto &guards = env.own<std::vector<std::unique_ptr<Guard>>>();
  for (int round = 0; round < 40; ++round) {
    guards.push_back(std::make_unique<Guard>());
    Guard &g = *guards.back();
    offkv_watch *w = nullptr;
    REQUIRE_OK(
        offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Guard::callback, &g, &w));
    Background t(
        [&](const std::atomic<bool> &) { offkv_set(writer, "/k", "x", 1, nullptr); });
    if (round % 2)
      std::this_thread::sleep_for(std::chrono::microseconds(200 * (round % 7)));
    CHECK_OK(offkv_watch_cancel(w));
    g.cancelled = true;
    t.join();
    offkv_watch_free(w);
  }
  // Give any (wrong) late callback the time to show up.
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  int late = 0, calls = 0;
  for (auto &g : guards) {
    late += g->late;
    calls += g->calls;
  }
  CHECK(late == 0);
  CHECK(calls <= 40);
}

TEST_CASE("a watch set while another client keeps writing is set and fires",
          "[watches][threads]") {
  // A change landing between the read and the watch's registration reaches the
  // backend's watch at once; setting the watch must still succeed and fire.
  Env env;
  offkv_client *writer = env.open();
  create(env.c(), "/hot", "");
  Background t([&](const std::atomic<bool> &stop) {
    while (!stop) offkv_set(writer, "/hot", "x", 1, nullptr);
  });
  int failures = 0;
  std::string first_failure;
  for (int round = 0; round < 100; ++round) {
    Watch watch;
    std::int64_t version = 0;
    int rc = round % 2 ? offkv_exists_watch(env.c(), "/hot", &version, nullptr, nullptr,
                                            watch.out())
                       : offkv_get_watch(env.c(), "/hot", nullptr, &version, nullptr,
                                         nullptr, watch.out());
    if (rc != OFFKV_OK) {
      if (failures++ == 0)
        first_failure = std::string(offkv_error_name(rc)) + ": " + offkv_last_error();
      continue;
    }
    Ev ev = wait_event(watch);
    CHECK(type_name(ev.type) == "CHANGED");
    CHECK(ev.version > version);
  }
  t.join();
  INFO("first failure: " << first_failure);
  CHECK(failures == 0);
}

TEST_CASE("a callback may cancel its own watch", "[watches][cancel][reentrancy]") {
  Env env;
  create(env.c(), "/p", "");
  struct Self {
    offkv_watch *w = nullptr;
    std::atomic<int> calls{0};
    std::atomic<int> cancel_rc{-1};
    static void callback(const offkv_event *, void *user) {
      auto *s = static_cast<Self *>(user);
      ++s->calls;
      s->cancel_rc = offkv_watch_cancel(s->w);
    }
  };
  auto &self = env.own<Self>();
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/p", &Self::callback, &self, &self.w));
  create(env.c(), "/p/a", "");
  REQUIRE(eventually([&] { return self.cancel_rc.load() != -1; }));
  CHECK(code_name(self.cancel_rc) == "OFFKV_OK");
  create(env.c(), "/p/b", "");
  set(env.c(), "/p", "x");
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  CHECK(self.calls == 1);
  CHECK(wait_code(self.w, 0) == OFFKV_ECLOSED);
  offkv_watch_free(self.w);
}

TEST_CASE("freeing an unfired watch cancels it", "[watches][cancel]") {
  Env env;
  create(env.c(), "/k", "");
  Recorder &rec = env.recorder();
  offkv_watch *w = nullptr;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/k", nullptr, nullptr, &Recorder::callback, &rec, &w));
  offkv_watch_free(w);
  set(env.c(), "/k", "x");
  REQUIRE_OK(offkv_close(env.c()));  // no ENDED either
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("pending watches get ENDED when the client closes", "[watches][sessions]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/k", "");
  create(c, "/p", "");
  Recorder &rec = env.recorder();
  Watch w_get, w_exists, w_absent, w_children, w_persistent;
  std::int64_t version = 0;
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_get_watch(c, "/k", nullptr, nullptr, &Recorder::callback, &rec, w_get.out()));
  REQUIRE_OK(
      offkv_exists_watch(c, "/k", &version, &Recorder::callback, &rec, w_exists.out()));
  REQUIRE_OK(offkv_exists_watch(c, "/absent", &version, &Recorder::callback, &rec,
                                w_absent.out()));
  REQUIRE_OK(
      offkv_children_watch(c, "/p", &list, &Recorder::callback, &rec, w_children.out()));
  offkv_strings_free(&list);
  REQUIRE_OK(offkv_watch_persistent(c, "/p", nullptr, nullptr, w_persistent.out()));
  REQUIRE_OK(offkv_close(c));
  REQUIRE(rec.wait_count(4));
  std::vector<std::string> keys;
  for (const auto &ev : rec.events()) {
    CHECK(type_name(ev.type) == "ENDED");
    CHECK(code_name(ev.error) == "OFFKV_ECLOSED");
    CHECK(ev.session_state == OFFKV_SESSION_CLOSED);
    CHECK(ev.version == -1);
    keys.push_back(ev.key);
  }
  CHECK(bytewise_sorted(keys) == std::vector<std::string>{"/absent", "/k", "/k", "/p"});
  CHECK(rec.quiet());
  CHECK(rec.count() == 4);  // exactly once each
  for (offkv_watch *w : {w_get.w, w_exists.w, w_absent.w, w_children.w, w_persistent.w}) {
    Ev ev = wait_event(w, 0);
    CHECK(type_name(ev.type) == "ENDED");
    CHECK(code_name(ev.error) == "OFFKV_ECLOSED");
  }
  // An ended persistent watch has nothing more to give.
  CHECK(wait_code(w_persistent, 0) == OFFKV_ECLOSED);
}

TEST_CASE("a one-shot watch that already fired is not ENDED by close",
          "[watches][sessions]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/k", "");
  Recorder &rec = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(c, "/k", nullptr, nullptr, &Recorder::callback, &rec, watch.out()));
  set(c, "/k", "x");
  REQUIRE(rec.wait_count(1));
  REQUIRE_OK(offkv_close(c));
  CHECK(rec.quiet());
  CHECK(rec.count() == 1);
  expect_event(wait_event(watch, 0), "CHANGED", "/k", 2);
}

TEST_CASE("a cancelled watch gets no ENDED at close", "[watches][cancel][sessions]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/k", "");
  Recorder &rec = env.recorder();
  Watch watch, control;
  REQUIRE_OK(
      offkv_get_watch(c, "/k", nullptr, nullptr, &Recorder::callback, &rec, watch.out()));
  REQUIRE_OK(offkv_get_watch(c, "/k", nullptr, nullptr, nullptr, nullptr, control.out()));
  REQUIRE_OK(offkv_watch_cancel(watch));
  REQUIRE_OK(offkv_close(c));
  CHECK(type_name(wait_event(control).type) == "ENDED");
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("watch handles outlive their client", "[watches][sessions]") {
  Env env;
  offkv_client *c = nullptr;
  REQUIRE_OK(offkv_open(env.url().c_str(), nullptr, &c));
  create(c, "/k", "");
  create(c, "/quiet", "");
  offkv_watch *pending = nullptr, *fired = nullptr;
  REQUIRE_OK(offkv_get_watch(c, "/quiet", nullptr, nullptr, nullptr, nullptr, &pending));
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(c, "/k", &version, nullptr, nullptr, &fired));
  set(c, "/k", "x");
  CHECK(type_name(wait_event(fired).type) == "CHANGED");
  offkv_client_free(c);
  CHECK(type_name(wait_event(pending, 0).type) == "ENDED");
  CHECK(type_name(wait_event(fired, 0).type) == "CHANGED");
  CHECK_OK(offkv_watch_cancel(pending));
  CHECK_CODE(offkv_watch_wait(pending, 0, nullptr), OFFKV_EINVAL);
  offkv_watch_free(pending);
  offkv_watch_free(fired);
}

TEST_CASE("the test kit ends every watch with the given error; the session stays",
          "[watches][testkit]") {
  Env env;
  create(env.c(), "/t", "");
  Watch one_shot, persistent;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/t", nullptr, nullptr, nullptr, nullptr, one_shot.out()));
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/t", nullptr, nullptr, persistent.out()));
  REQUIRE_OK(offkv_testkit_end_watches(env.c(), OFFKV_EAUTH));
  for (offkv_watch *w : {one_shot.w, persistent.w}) {
    Ev ev = wait_event(w);
    CHECK(type_name(ev.type) == "ENDED");
    CHECK(ev.error == OFFKV_EAUTH);
    CHECK(ev.session_state == OFFKV_SESSION_CONNECTED);
  }
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(env.c(), &state));
  CHECK(state == OFFKV_SESSION_CONNECTED);
  // The ended watches report nothing more; a new watch works.
  set(env.c(), "/t", "x");
  CHECK(wait_code(persistent.w, 300) == OFFKV_ECLOSED);
  Watch again;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/t", nullptr, nullptr, nullptr, nullptr, again.out()));
  set(env.c(), "/t", "y");
  CHECK(type_name(wait_event(again).type) == "CHANGED");

  CHECK_CODE(offkv_testkit_end_watches(env.c(), OFFKV_OK), OFFKV_EINVAL);
  CHECK_CODE(offkv_testkit_end_watches(env.c(), 99), OFFKV_EINVAL);
  CHECK_CODE(offkv_testkit_end_watches(nullptr, OFFKV_EAUTH), OFFKV_EINVAL);
  REQUIRE_OK(offkv_close(env.c()));
  CHECK_CODE(offkv_testkit_end_watches(env.c(), OFFKV_EAUTH), OFFKV_ECLOSED);
}
