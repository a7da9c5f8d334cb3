// Watches, backend-neutral (core/watch.*): a one-shot fires once, a persistent watch
// queues in order, ENDED ends, cancel is final, event paths are client keys.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "offkv.h"
#include "unit.hpp"
#include "watch.hpp"

using offkv_unit::failure_of;

namespace {

offkv::Event event(int type, const std::string &path, std::int64_t version) {
  offkv::Event e;
  e.type = type;
  e.path = path;
  e.version = version;
  return e;
}

struct Fixture {
  std::shared_ptr<offkv::EventLoop> loop = offkv::EventLoop::start();
  ~Fixture() { loop->stop(); }
  offkv::WatchPtr make(offkv::WatchKind kind, const std::string &path,
                       offkv::EventCallback callback = nullptr,
                       std::shared_ptr<offkv::Stats> stats = nullptr) {
    return std::make_shared<offkv::Watch>(kind, path, "/p", loop, std::move(callback),
                                          std::move(stats));
  }
};

}  // namespace

TEST_CASE("watch: a one-shot watch takes its first event only") {
  Fixture f;
  auto w = f.make(offkv::WatchKind::Data, "/p/a");
  CHECK_FALSE(w->finished());
  CHECK(w->fire(event(OFFKV_EVENT_CHANGED, "/p/a", 2)));
  CHECK(w->finished());
  CHECK_FALSE(w->fire(event(OFFKV_EVENT_DELETED, "/p/a", 0)));
  auto got = w->wait(0);
  REQUIRE(got);
  CHECK(got->type == OFFKV_EVENT_CHANGED);
  CHECK(got->path == "/a");  // the prefix /p stripped
  CHECK(got->version == 2);
  // Waiting again gives the same one event.
  auto again = w->wait(0);
  REQUIRE(again);
  CHECK(again->type == OFFKV_EVENT_CHANGED);
}

TEST_CASE("watch: wait times out with nothing when nothing happened") {
  Fixture f;
  auto w = f.make(offkv::WatchKind::Exists, "/p/a");
  CHECK_FALSE(w->wait(0).has_value());
  CHECK_FALSE(w->wait(20).has_value());
  CHECK_FALSE(w->finished());
}

TEST_CASE("watch: the callback gets the event once, on the event thread") {
  Fixture f;
  std::mutex mutex;
  std::vector<offkv::Event> seen;
  std::atomic<bool> on_loop{true};
  auto stats = std::make_shared<offkv::Stats>();
  auto w = f.make(
      offkv::WatchKind::Children, "/p/dir",
      [&](const offkv::Event &e) {
        if (!f.loop->on_event_thread()) on_loop = false;
        std::lock_guard<std::mutex> lock(mutex);
        seen.push_back(e);
      },
      stats);
  CHECK(w->fire(event(OFFKV_EVENT_CHILDREN, "/p/dir", -1)));
  CHECK_FALSE(w->fire(event(OFFKV_EVENT_CHILDREN, "/p/dir", -1)));
  CHECK(stats->watches_fired == 1);
  f.loop->stop();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == OFFKV_EVENT_CHILDREN);
  CHECK(seen[0].path == "/dir");
  CHECK(on_loop);
}

TEST_CASE("watch: end gives ENDED with the reason; a fired one-shot ignores it") {
  Fixture f;
  auto w = f.make(offkv::WatchKind::Data, "/p/a/b");
  w->end(OFFKV_ESESSION, OFFKV_SESSION_LOST, "session expired");
  CHECK(w->finished());
  CHECK_FALSE(w->fire(event(OFFKV_EVENT_CHANGED, "/p/a/b", 2)));
  auto got = w->wait(0);
  REQUIRE(got);
  CHECK(got->type == OFFKV_EVENT_ENDED);
  CHECK(got->path == "/a/b");
  CHECK(got->error == OFFKV_ESESSION);
  CHECK(got->session_state == OFFKV_SESSION_LOST);
  CHECK(got->message == "session expired");

  auto fired = f.make(offkv::WatchKind::Data, "/p/c");
  CHECK(fired->fire(event(OFFKV_EVENT_DELETED, "/p/c", 0)));
  fired->end(OFFKV_ECLOSED, OFFKV_SESSION_CLOSED, "closed");
  got = fired->wait(0);
  REQUIRE(got);
  CHECK(got->type == OFFKV_EVENT_DELETED);
}

TEST_CASE("watch: a persistent watch queues every event in order until ended") {
  Fixture f;
  auto w = f.make(offkv::WatchKind::Persistent, "/p/t");
  CHECK(w->fire(event(OFFKV_EVENT_CREATED, "/p/t/x", 1)));
  CHECK(w->fire(event(OFFKV_EVENT_CHANGED, "/p/t/x", 2)));
  CHECK(w->fire(event(OFFKV_EVENT_DELETED, "/p/t", 0)));
  CHECK_FALSE(w->finished());
  w->end(OFFKV_ECLOSED, OFFKV_SESSION_CLOSED, "client closed");
  CHECK(w->finished());
  CHECK_FALSE(w->fire(event(OFFKV_EVENT_CREATED, "/p/t", 1)));
  std::vector<std::pair<int, std::string>> got;
  for (int i = 0; i < 4; ++i) {
    auto e = w->wait(0);
    REQUIRE(e);
    got.emplace_back(e->type, e->path);
  }
  CHECK(got == std::vector<std::pair<int, std::string>>{{OFFKV_EVENT_CREATED, "/t/x"},
                                                        {OFFKV_EVENT_CHANGED, "/t/x"},
                                                        {OFFKV_EVENT_DELETED, "/t"},
                                                        {OFFKV_EVENT_ENDED, "/t"}});
  // Drained and ended: waiting is an error, not a hang.
  auto failure = failure_of([&] { w->wait(1000); });
  CHECK(failure.code == OFFKV_ECLOSED);
  CHECK(failure.message == "watch on '/p/t' has ended");
}

TEST_CASE("watch: cancel is final: no event, no callback, wait fails") {
  Fixture f;
  std::atomic<int> calls{0};
  auto w =
      f.make(offkv::WatchKind::Exists, "/p/a", [&](const offkv::Event &) { ++calls; });
  CHECK(w->cancel());
  CHECK_FALSE(w->cancel());
  CHECK(w->finished());
  CHECK_FALSE(w->fire(event(OFFKV_EVENT_CREATED, "/p/a", 1)));
  w->end(OFFKV_ECLOSED, OFFKV_SESSION_CLOSED, "closed");
  auto failure = failure_of([&] { w->wait(0); });
  CHECK(failure.code == OFFKV_ECLOSED);
  CHECK(failure.message == "watch on '/p/a' was cancelled");
  f.loop->stop();
  CHECK(calls == 0);
}

TEST_CASE("watch: an event fired before cancel is not delivered after it") {
  Fixture f;
  std::mutex mutex;
  std::condition_variable cv;
  bool blocking = false, release = false;
  std::atomic<int> calls{0};
  // Hold the event thread so the fired event is still queued when cancel runs.
  f.loop->post([&] {
    std::unique_lock<std::mutex> lock(mutex);
    blocking = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return blocking; });
  }
  auto w = f.make(offkv::WatchKind::Data, "/p/a", [&](const offkv::Event &) { ++calls; });
  CHECK(w->fire(event(OFFKV_EVENT_CHANGED, "/p/a", 2)));
  CHECK(w->cancel());
  {
    std::lock_guard<std::mutex> lock(mutex);
    release = true;
    cv.notify_all();
  }
  f.loop->stop();
  CHECK(calls == 0);
}
