// The asynchronous calls (offkv_*_async): each completes exactly once, on the
// client's event thread, with what the synchronous call returns; many are in flight
// at once; calls on one key complete in call order; errors found without I/O are
// returned at once (no callback); close with calls in flight completes each.
#include <map>
#include <set>

#include "conformance.hpp"

using namespace conf;

namespace {

// A copy of one completion.
struct Done {
  int error = -1;
  std::string message;
  std::int64_t version = 0;
  bool has_key = false;
  std::string key;
  bool has_value = false;
  std::string value;
  std::vector<std::string> children;
  bool has_txn = false;
  std::vector<std::pair<std::int64_t, std::string>> ops;
  std::size_t failed_index = 0;
  int failed_code = 0;
  offkv_watch *watch = nullptr;
  std::thread::id thread;
  std::string tag;  // what the case passed as user
};

// Collects completions; pass a Tag (which points back here) as user.
class Completions {
 public:
  struct Tag {
    Completions *owner;
    std::string name;
  };
  // A user pointer for one call; lives as long as this object.
  void *tag(const std::string &name) {
    std::lock_guard<std::mutex> lock(mutex_);
    tags_.push_back(std::make_unique<Tag>(Tag{this, name}));
    return tags_.back().get();
  }
  static void callback(const offkv_completion *c, void *user) {
    auto *tag = static_cast<Tag *>(user);
    Done d;
    d.error = c->error;
    d.message = c->message ? c->message : "(null)";
    d.version = c->version;
    d.has_key = c->key != nullptr;
    if (c->key) d.key = c->key;
    d.has_value = c->value != nullptr;
    if (c->value) d.value.assign(c->value, c->value_len);
    for (std::size_t i = 0; i < c->child_count; ++i) d.children.push_back(c->children[i]);
    d.has_txn = c->txn != nullptr;
    if (c->txn) {
      for (std::size_t i = 0; i < c->txn->count; ++i)
        d.ops.emplace_back(c->txn->ops[i]->version, c->txn->ops[i]->key);
      d.failed_index = c->txn->failed_index;
      d.failed_code = c->txn->failed_code;
    }
    d.watch = c->watch;
    d.thread = std::this_thread::get_id();
    d.tag = tag->name;
    Completions *self = tag->owner;
    std::function<void(const Done &)> hook;
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->done_.push_back(d);
      hook = self->hook_;
    }
    if (hook) hook(d);
    self->changed_.notify_all();
  }
  // Runs inside the completion callback, after it is recorded.
  void on_done(std::function<void(const Done &)> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    hook_ = std::move(hook);
  }
  bool wait_count(std::size_t n, int timeout_ms = kEventMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                             [&] { return done_.size() >= n; });
  }
  // The single completion of a call made alone.
  Done one() {
    REQUIRE(wait_count(1));
    std::lock_guard<std::mutex> lock(mutex_);
    REQUIRE(done_.size() == 1);
    Done d = done_.front();
    done_.clear();
    return d;
  }
  std::vector<Done> all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Done> done_;
  std::vector<std::unique_ptr<Tag>> tags_;
  std::function<void(const Done &)> hook_;
};

// done is evaluated once.
#define ASYNC_OK(done_expr)                                     \
  do {                                                          \
    const Done async_ok_ = (done_expr);                         \
    INFO(async_ok_.message);                                    \
    REQUIRE(code_name(async_ok_.error) == code_name(OFFKV_OK)); \
    CHECK(async_ok_.message.empty());                           \
  } while (0)

}  // namespace

TEST_CASE("async create, set, cas, get, exists, children, erase give the sync results",
          "[async]") {
  Env env;
  auto &done = env.own<Completions>();
  auto cb = Completions::callback;
  const std::string bytes = all_bytes();

  REQUIRE_OK(offkv_create_async(env.c(), "/p", bytes.data(), bytes.size(), 0, cb,
                                done.tag("create")));
  Done d = done.one();
  ASYNC_OK(d);
  CHECK(d.has_key);
  CHECK(d.key == "/p");
  CHECK(d.thread != std::this_thread::get_id());  // the event thread

  REQUIRE_OK(
      offkv_create_async(env.c(), "/p/s-", "", 0, OFFKV_SEQUENTIAL, cb, done.tag("seq")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(is_sequential_of(d.key, "/p/s-"));
  const std::string seq_key = d.key;

  REQUIRE_OK(offkv_create_async(env.c(), "/p", "", 0, 0, cb, done.tag("again")));
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_EEXIST));
  CHECK(contains(d.message, "/p"));

  REQUIRE_OK(offkv_set_async(env.c(), "/p", "two", 3, cb, done.tag("set")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.version == 2);

  REQUIRE_OK(offkv_cas_async(env.c(), "/p", "x", 1, 7, cb, done.tag("cas-bad")));
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_EVERSION));
  CHECK(value_of(env.c(), "/p") == "two");  // nothing written

  REQUIRE_OK(offkv_cas_async(env.c(), "/p", "three", 5, 2, cb, done.tag("cas")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.version == 3);

  REQUIRE_OK(offkv_set_async(env.c(), "/p", bytes.data(), bytes.size(), cb,
                             done.tag("set-bytes")));
  ASYNC_OK(done.one());
  REQUIRE_OK(offkv_get_async(env.c(), "/p", cb, done.tag("get")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.has_value);
  CHECK(d.value == bytes);
  CHECK(d.version == 4);

  REQUIRE_OK(offkv_get_async(env.c(), "/nothing", cb, done.tag("get-absent")));
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_ENOENT));
  CHECK(!d.has_value);

  REQUIRE_OK(offkv_exists_async(env.c(), "/p", cb, done.tag("exists")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.version == 4);
  REQUIRE_OK(offkv_exists_async(env.c(), "/nothing", cb, done.tag("exists-absent")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.version == 0);

  create(env.c(), "/p/b");
  create(env.c(), "/p/a");
  REQUIRE_OK(offkv_children_async(env.c(), "/p", cb, done.tag("children")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.children == bytewise_sorted({"/p/a", "/p/b", seq_key}));

  // The root lists like any parent (as offkv_children does).
  REQUIRE_OK(offkv_children_async(env.c(), "/", cb, done.tag("root")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.children == std::vector<std::string>{"/p"});
  REQUIRE_OK(offkv_children_watch_async(env.c(), "/", nullptr, nullptr, 1, cb,
                                        done.tag("root-watch")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.children == std::vector<std::string>{"/p"});
  offkv_watch_free(d.watch);

  REQUIRE_OK(offkv_erase_async(env.c(), "/p", 3, cb, done.tag("erase-bad")));
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_EVERSION));
  CHECK(version_of(env.c(), "/p") == 4);
  REQUIRE_OK(offkv_erase_async(env.c(), "/p", 4, cb, done.tag("erase")));
  ASYNC_OK(done.one());
  CHECK(version_of(env.c(), "/p") == 0);
  CHECK(version_of(env.c(), "/p/a") == 0);
  REQUIRE_OK(offkv_erase_async(env.c(), "/p", 0, cb, done.tag("erase-absent")));
  CHECK(code_name(done.one().error) == code_name(OFFKV_ENOENT));
}

TEST_CASE("async commit returns per-op results, or the failing index and nothing applied",
          "[async][txn]") {
  Env env;
  auto &done = env.own<Completions>();
  create(env.c(), "/a", "1");
  offkv_txn *txn = nullptr;
  REQUIRE_OK(offkv_txn_new(&txn));
  REQUIRE_OK(offkv_txn_check(txn, "/a", 1));
  REQUIRE_OK(offkv_txn_set(txn, "/a", "2", 1));
  REQUIRE_OK(offkv_txn_create(txn, "/b", "", 0, 0));
  REQUIRE_OK(offkv_commit_async(env.c(), txn, Completions::callback, done.tag("ok")));
  offkv_txn_free(txn);  // copied by the call
  Done d = done.one();
  ASYNC_OK(d);
  REQUIRE(d.has_txn);
  REQUIRE(d.ops.size() == 2);
  CHECK(d.ops[0] == std::make_pair(std::int64_t{2}, std::string("/a")));
  CHECK(d.ops[1] == std::make_pair(std::int64_t{1}, std::string("/b")));

  REQUIRE_OK(offkv_txn_new(&txn));
  REQUIRE_OK(offkv_txn_set(txn, "/a", "3", 1));
  REQUIRE_OK(offkv_txn_erase(txn, "/b", 9));
  REQUIRE_OK(offkv_commit_async(env.c(), txn, Completions::callback, done.tag("bad")));
  offkv_txn_free(txn);
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_ETXN));
  REQUIRE(d.has_txn);
  CHECK(d.failed_index == 1);
  CHECK(code_name(d.failed_code) == code_name(OFFKV_EVERSION));
  CHECK(d.ops.empty());
  CHECK(value_of(env.c(), "/a") == "2");
}

TEST_CASE("errors found without I/O are returned at once and the callback never runs",
          "[async][errors]") {
  Env env;
  auto &done = env.own<Completions>();
  auto cb = Completions::callback;
  CHECK_CODE(offkv_get_async(nullptr, "/a", cb, done.tag("x")), OFFKV_EINVAL);
  CHECK_CODE(offkv_get_async(env.c(), "/a", nullptr, nullptr), OFFKV_EINVAL);
  CHECK_CODE(offkv_get_async(env.c(), nullptr, cb, done.tag("x")), OFFKV_EINVAL);
  CHECK_CODE(offkv_set_async(env.c(), "a//b", "", 0, cb, done.tag("x")), OFFKV_EINVAL);
  std::string big(OFFKV_MAX_VALUE_SIZE + 1, 'x');
  CHECK_CODE(offkv_set_async(env.c(), "/big", big.data(), big.size(), cb, done.tag("x")),
             OFFKV_ETOOBIG);
  CHECK_CODE(offkv_set_async(env.c(), "/v", nullptr, 3, cb, done.tag("x")), OFFKV_EINVAL);
  offkv_txn *txn = nullptr;
  REQUIRE_OK(offkv_txn_new(&txn));
  for (int i = 0; i <= OFFKV_MAX_TXN_OPS; ++i)
    REQUIRE_OK(offkv_txn_create(txn, ("/t" + std::to_string(i)).c_str(), "", 0, 0));
  CHECK_CODE(offkv_commit_async(env.c(), txn, cb, done.tag("x")), OFFKV_ETOOBIG);
  offkv_txn_free(txn);
  CHECK_CODE(
      offkv_exists_watch_async(env.c(), "/w", nullptr, nullptr, 0, cb, done.tag("x")),
      OFFKV_EINVAL);
  CHECK(done.count() == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  CHECK(done.count() == 0);
  CHECK(version_of(env.c(), "/big") == 0);
  CHECK(version_of(env.c(), "/t0") == 0);
}

TEST_CASE("many async calls in flight: each completes once, one key's in call order",
          "[async][pipeline]") {
  Env env;
  auto &done = env.own<Completions>();
  const int keys = 16, per_key = 12;
  for (int i = 0; i < per_key; ++i)
    for (int k = 0; k < keys; ++k) {
      std::string key = "/k" + std::to_string(k);
      std::string value = std::to_string(i);
      REQUIRE_OK(offkv_set_async(env.c(), key.c_str(), value.data(), value.size(),
                                 Completions::callback, done.tag(key)));
    }
  REQUIRE(done.wait_count(keys * per_key));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto all = done.all();
  CHECK(all.size() == static_cast<std::size_t>(keys * per_key));  // exactly once each
  std::map<std::string, std::vector<std::int64_t>> versions;
  std::set<std::thread::id> threads;
  for (const auto &d : all) {
    INFO(d.tag << ": " << d.message);
    CHECK(d.error == OFFKV_OK);
    versions[d.tag].push_back(d.version);
    threads.insert(d.thread);
  }
  CHECK(threads.size() == 1);  // every completion on the one event thread
  std::vector<std::int64_t> expected;
  for (int i = 1; i <= per_key; ++i) expected.push_back(i);
  for (int k = 0; k < keys; ++k) {
    std::string key = "/k" + std::to_string(k);
    CHECK(versions[key] == expected);  // per key: completed in call order
    CHECK(value_of(env.c(), key) == std::to_string(per_key - 1));  // the last one won
  }
}

TEST_CASE("a create then a read of a key below it, both async, keep their order",
          "[async][pipeline]") {
  Env env;
  auto &done = env.own<Completions>();
  auto cb = Completions::callback;
  REQUIRE_OK(offkv_create_async(env.c(), "/parent", "", 0, 0, cb, done.tag("parent")));
  REQUIRE_OK(
      offkv_create_async(env.c(), "/parent/child", "c", 1, 0, cb, done.tag("child")));
  REQUIRE_OK(offkv_get_async(env.c(), "/parent/child", cb, done.tag("get")));
  REQUIRE_OK(offkv_erase_async(env.c(), "/parent", 0, cb, done.tag("erase")));
  REQUIRE_OK(offkv_exists_async(env.c(), "/parent/child", cb, done.tag("gone")));
  REQUIRE(done.wait_count(5));
  auto all = done.all();
  REQUIRE(all.size() == 5);
  std::vector<std::string> order;
  for (const auto &d : all) {
    INFO(d.tag << ": " << d.message);
    CHECK(d.error == OFFKV_OK);
    order.push_back(d.tag);
  }
  CHECK(order == std::vector<std::string>{"parent", "child", "get", "erase", "gone"});
  CHECK(all[2].value == "c");
  CHECK(all[4].version == 0);
}

TEST_CASE("close with async calls in flight completes every one of them exactly once",
          "[async][close]") {
  Env env;
  auto &done = env.own<Completions>();
  offkv_client *c = env.open();
  const int calls = 64;
  for (int i = 0; i < calls; ++i) {
    std::string key = "/c" + std::to_string(i % 8);
    REQUIRE_OK(
        offkv_set_async(c, key.c_str(), "v", 1, Completions::callback, done.tag(key)));
  }
  REQUIRE_OK(offkv_close(c));
  // Every completion ran before close returned.
  CHECK(done.count() == static_cast<std::size_t>(calls));
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  auto all = done.all();
  CHECK(all.size() == static_cast<std::size_t>(calls));
  for (const auto &d : all) {
    INFO(d.tag << ": " << code_name(d.error) << " " << d.message);
    CHECK((d.error == OFFKV_OK || d.error == OFFKV_ECLOSED));
  }
  CHECK_CODE(offkv_get_async(c, "/c0", Completions::callback, done.tag("late")),
             OFFKV_ECLOSED);
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  CHECK(done.count() == static_cast<std::size_t>(calls));
}

TEST_CASE("async watch-arming reads leave the watch atomically with the read",
          "[async][watch]") {
  Env env;
  auto &done = env.own<Completions>();
  auto &events = env.recorder();
  auto cb = Completions::callback;

  REQUIRE_OK(offkv_exists_watch_async(env.c(), "/w", nullptr, nullptr, 1, cb,
                                      done.tag("exists")));
  Done d = done.one();
  ASYNC_OK(d);
  CHECK(d.version == 0);
  REQUIRE(d.watch != nullptr);
  create(env.c(), "/w", "1");
  offkv_event *ev = nullptr;
  REQUIRE_OK(offkv_watch_wait(d.watch, kEventMs, &ev));
  CHECK(type_name(ev->type) == type_name(OFFKV_EVENT_CREATED));
  offkv_event_free(ev);
  offkv_watch_free(d.watch);

  REQUIRE_OK(offkv_get_watch_async(env.c(), "/w", Recorder::callback, &events, 0, cb,
                                   done.tag("get")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.value == "1");
  CHECK(d.watch == nullptr);  // kept by the library until it fires
  set(env.c(), "/w", "2");
  auto fired = events.next();
  REQUIRE(fired);
  CHECK(type_name(fired->type) == type_name(OFFKV_EVENT_CHANGED));

  create(env.c(), "/w/a");
  REQUIRE_OK(offkv_children_watch_async(env.c(), "/w", Recorder::callback, &events, 1, cb,
                                        done.tag("children")));
  d = done.one();
  ASYNC_OK(d);
  CHECK(d.children == std::vector<std::string>{"/w/a"});
  REQUIRE(d.watch != nullptr);
  create(env.c(), "/w/b");
  fired = events.next();
  REQUIRE(fired);
  CHECK(type_name(fired->type) == type_name(OFFKV_EVENT_CHILDREN));
  offkv_watch_free(d.watch);

  // A failed read leaves no watch.
  REQUIRE_OK(offkv_get_watch_async(env.c(), "/absent", Recorder::callback, &events, 1, cb,
                                   done.tag("absent")));
  d = done.one();
  CHECK(code_name(d.error) == code_name(OFFKV_ENOENT));
  CHECK(d.watch == nullptr);
  create(env.c(), "/absent");
  CHECK(events.quiet());
}

TEST_CASE("a completion may call offkv, including more async calls",
          "[async][callback]") {
  Env env;
  auto &done = env.own<Completions>();
  offkv_client *c = env.c();
  done.on_done([c, &done](const Done &d) {
    if (d.tag != "first") return;
    std::int64_t v = 0;
    offkv_exists(c, "/chain", &v);  // a sync call from the event thread
    std::string value = std::to_string(v);
    offkv_set_async(c, "/chain", value.data(), value.size(), Completions::callback,
                    done.tag("second"));
  });
  REQUIRE_OK(offkv_create_async(c, "/chain", "", 0, 0, Completions::callback,
                                done.tag("first")));
  REQUIRE(done.wait_count(2));
  auto all = done.all();
  REQUIRE(all.size() == 2);
  CHECK(all[1].tag == "second");
  CHECK(all[1].error == OFFKV_OK);
  CHECK(all[1].version == 2);
  CHECK(value_of(c, "/chain") == "1");
}

TEST_CASE("a completion may close its own client while other calls are in flight",
          "[async][close][callback]") {
  Env env;
  auto &done = env.own<Completions>();
  offkv_client *c = env.open();
  std::atomic<bool> closed_rc_ok{false};
  done.on_done([c, &closed_rc_ok](const Done &d) {
    if (d.tag == "closer") closed_rc_ok = offkv_close(c) == OFFKV_OK;
  });
  REQUIRE_OK(
      offkv_set_async(c, "/first", "v", 1, Completions::callback, done.tag("closer")));
  const int more = 40;
  int accepted = 0;
  for (int i = 0; i < more; ++i) {
    std::string key = "/k" + std::to_string(i % 4);
    int rc =
        offkv_set_async(c, key.c_str(), "v", 1, Completions::callback, done.tag("more"));
    if (rc == OFFKV_OK)
      ++accepted;
    else
      CHECK(code_name(rc) == code_name(OFFKV_ECLOSED));  // closed meanwhile
  }
  // Every accepted call completes exactly once: OK, or ECLOSED if it had not run.
  REQUIRE(done.wait_count(1 + accepted));
  std::this_thread::sleep_for(std::chrono::milliseconds(kQuietMs));
  auto all = done.all();
  CHECK(all.size() == static_cast<std::size_t>(1 + accepted));
  for (const auto &d : all) {
    INFO(d.tag << ": " << code_name(d.error) << " " << d.message);
    CHECK((d.error == OFFKV_OK || d.error == OFFKV_ECLOSED));
  }
  CHECK(closed_rc_ok.load());
  int state = 0;
  CHECK_OK(offkv_get_session_state(c, &state));
  CHECK(state == OFFKV_SESSION_CLOSED);
}

TEST_CASE("async reads and writes run natively: pipelined, no worker thread per call",
          "[async][native]") {
  Env env;
  auto &done = env.own<Completions>();
  REQUIRE_OK(offkv_create(env.c(), "/n", "", 0, 0, nullptr));
  const std::uint64_t native_before = counters_of(env.c()).at("async.native");
  const std::uint64_t workers_before = counters_of(env.c()).at("async.workers");
  const int n = 32;
  for (int i = 0; i < n; ++i) {
    std::string key = "/n/k" + std::to_string(i);
    REQUIRE_OK(offkv_create_async(env.c(), key.c_str(), "v", 1, 0, Completions::callback,
                                  done.tag("create")));
  }
  REQUIRE(done.wait_count(n));
  for (int i = 0; i < n; ++i) {
    std::string key = "/n/k" + std::to_string(i);
    REQUIRE_OK(offkv_set_async(env.c(), key.c_str(), "w", 1, Completions::callback,
                               done.tag("set")));
    REQUIRE_OK(
        offkv_get_async(env.c(), key.c_str(), Completions::callback, done.tag("get")));
    REQUIRE_OK(offkv_exists_async(env.c(), key.c_str(), Completions::callback,
                                  done.tag("exists")));
    REQUIRE_OK(offkv_cas_async(env.c(), key.c_str(), "x", 1, 2, Completions::callback,
                               done.tag("cas")));
  }
  REQUIRE_OK(
      offkv_children_async(env.c(), "/n", Completions::callback, done.tag("children")));
  const std::size_t total = n + 4 * n + 1;
  REQUIRE(done.wait_count(total));
  for (const auto &d : done.all()) {
    INFO(d.tag << ": " << d.message);
    CHECK(d.error == OFFKV_OK);
    if (d.tag == "get") CHECK(d.value == "w");  // the set before it on its key
    if (d.tag == "cas") CHECK(d.version == 3);
    if (d.tag == "children") CHECK(d.children.size() == static_cast<std::size_t>(n));
  }
  // Each ran on the backend's own asynchronous path (every backend has one for these
  // calls: docs/c-api.md), none on a worker thread.
  CHECK(counters_of(env.c()).at("async.native") - native_before == total);
  CHECK(counters_of(env.c()).at("async.workers") - workers_before == 0);
}
