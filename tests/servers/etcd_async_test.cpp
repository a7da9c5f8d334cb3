// The etcd backend's native asynchronous forms (Backend::start_*), driven directly
// against a real etcd: which calls are native, that each completes exactly once with
// what the blocking form gives (results and errors), and that close() completes
// everything in flight.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend.hpp"
#include "codes.hpp"
#include "error.hpp"
#include "etcd_test_util.hpp"
#include "url.hpp"

using namespace offkv;

namespace {

std::unique_ptr<Backend> open_backend() {
  Options options;
  Endpoint endpoint = parse_url(etcdtest::server_url(), options);
  auto backend = make_backend(endpoint, options);
  backend->start([](int, const std::string &) {});
  return backend;
}

// A completion as a future: the value, or the offkv error code (and message).
template <typename T>
struct Outcome {
  int code = -1;
  std::string message;
  T value{};
};

template <typename T>
struct Waiter {
  std::promise<Outcome<T>> promise;
  std::atomic<int> calls{0};
  Completion<T> completion() {
    return [this](std::exception_ptr error, T value) {
      Outcome<T> out;
      out.code = Err::ok;
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const Error &e) {
          out.code = e.code();
          out.message = e.what();
        } catch (...) {
          out.code = Err::einternal;
        }
      }
      out.value = std::move(value);
      if (calls.fetch_add(1) == 0) promise.set_value(std::move(out));
    };
  }
  Outcome<T> get() {
    auto f = promise.get_future();
    REQUIRE(f.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    return f.get();
  }
};

}  // namespace

TEST_CASE("etcd native async forms complete with the blocking forms' results") {
  auto backend = open_backend();
  std::string base = etcdtest::unique_prefix("async");
  backend->create(base, "", 0);

  Waiter<std::string> created;
  REQUIRE(backend->start_create(base + "/k", "v1", 0, created.completion()));
  auto c = created.get();
  CHECK(c.code == Err::ok);
  CHECK(c.value == base + "/k");

  Waiter<std::int64_t> set;  // replaces: version 2
  REQUIRE(backend->start_set(base + "/k", "v2", set.completion()));
  auto s = set.get();
  CHECK(s.code == Err::ok);
  CHECK(s.value == 2);

  Waiter<std::int64_t> set_new;  // creates: version 1 (a second, planned request)
  REQUIRE(backend->start_set(base + "/n", "x", set_new.completion()));
  CHECK(set_new.get().value == 1);
  CHECK(backend->get(base + "/n", nullptr).value == "x");

  Waiter<std::int64_t> cas;
  REQUIRE(backend->start_cas(base + "/k", "v3", 2, cas.completion()));
  CHECK(cas.get().value == 3);

  Waiter<std::int64_t> cas_bad;
  REQUIRE(backend->start_cas(base + "/k", "v4", 2, cas_bad.completion()));
  auto cb = cas_bad.get();
  CHECK(cb.code == Err::eversion);
  CHECK(cb.message.find("found version 3") != std::string::npos);

  Waiter<Node> got;
  REQUIRE(backend->start_get(base + "/k", nullptr, got.completion()));
  auto g = got.get();
  CHECK(g.code == Err::ok);
  CHECK(g.value.value == "v3");
  CHECK(g.value.version == 3);

  Waiter<std::int64_t> exists, absent;
  REQUIRE(backend->start_exists(base + "/k", nullptr, exists.completion()));
  REQUIRE(backend->start_exists(base + "/none", nullptr, absent.completion()));
  CHECK(exists.get().value == 3);
  auto a = absent.get();
  CHECK(a.code == Err::ok);
  CHECK(a.value == 0);

  Waiter<std::vector<std::string>> kids;
  REQUIRE(backend->start_children(base, nullptr, kids.completion()));
  auto k = kids.get();
  CHECK(k.code == Err::ok);
  CHECK(k.value.size() == 2);

  // Errors as the blocking forms give them.
  Waiter<std::string> dup, orphan;
  REQUIRE(backend->start_create(base + "/k", "", 0, dup.completion()));
  REQUIRE(backend->start_create(base + "/no/child", "", 0, orphan.completion()));
  CHECK(dup.get().code == Err::eexist);
  CHECK(orphan.get().code == Err::enoent);
  Waiter<std::int64_t> set_orphan;
  REQUIRE(backend->start_set(base + "/no/child", "", set_orphan.completion()));
  CHECK(set_orphan.get().code == Err::enoent);
  backend->create(base + "/eph", "", NodeFlag::ephemeral);
  Waiter<std::int64_t> set_under_eph;
  REQUIRE(backend->start_set(base + "/eph/c", "", set_under_eph.completion()));
  CHECK(set_under_eph.get().code == Err::eephemeral);
  Waiter<Node> missing;
  REQUIRE(backend->start_get(base + "/none", nullptr, missing.completion()));
  CHECK(missing.get().code == Err::enoent);

  Waiter<bool> erased;
  REQUIRE(backend->start_erase(base, 0, erased.completion()));
  CHECK(erased.get().code == Err::ok);
  CHECK(backend->exists(base, nullptr) == 0);
  backend->close();
}

TEST_CASE("etcd async: what must wait is declined, not started") {
  auto backend = open_backend();
  std::string base = etcdtest::unique_prefix("async-decline");
  backend->create(base, "", 0);
  auto watch = std::make_shared<Watch>(WatchKind::Data, base, "", nullptr, nullptr);
  bool called = false;
  auto never = [&](std::exception_ptr, Node) { called = true; };
  CHECK_FALSE(backend->start_get(base, watch, never));
  CHECK_FALSE(
      backend->start_create(base + "/s-", "", NodeFlag::sequential,
                            [&](std::exception_ptr, std::string) { called = true; }));
  backend->close();
  // Closed: nothing starts.
  CHECK_FALSE(backend->start_get(base, nullptr, never));
  CHECK_FALSE(called);
}

TEST_CASE("etcd async: many in flight, close completes each exactly once") {
  auto backend = open_backend();
  std::string base = etcdtest::unique_prefix("async-many");
  backend->create(base, "", 0);
  constexpr int kCalls = 300;
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int> calls(kCalls, 0), codes(kCalls, -1);
  int started = 0;
  for (int i = 0; i < kCalls; ++i) {
    auto done = [&, i](std::exception_ptr error, std::int64_t) {
      int code = Err::ok;
      if (error) try {
          std::rethrow_exception(error);
        } catch (const Error &e) {
          code = e.code();
        }
      std::lock_guard<std::mutex> lock(mutex);
      ++calls[i];
      codes[i] = code;
      cv.notify_all();
    };
    if (backend->start_set(base + "/k" + std::to_string(i % 20), "v", done)) ++started;
  }
  CHECK(started == kCalls);
  backend->close();  // waits for every started call
  std::lock_guard<std::mutex> lock(mutex);
  int ok = 0, closed = 0;
  for (int i = 0; i < kCalls; ++i) {
    CHECK(calls[i] == 1);
    if (codes[i] == Err::ok) ++ok;
    if (codes[i] == Err::eclosed) ++closed;
  }
  CHECK(ok + closed == kCalls);
}
