// The client's event thread (core/event_loop.*): callbacks in post order on one
// thread, drained by stop(), refused after it, never taken down by a callback.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "event_loop.hpp"

using namespace std::chrono_literals;

TEST_CASE("event loop: callbacks run in post order, on the event thread") {
  auto loop = offkv::EventLoop::start();
  std::vector<int> order;  // only the event thread writes it
  std::atomic<int> elsewhere{0};
  for (int i = 0; i < 200; ++i)
    REQUIRE(loop->post([&, i] {
      if (!loop->on_event_thread()) ++elsewhere;
      order.push_back(i);
    }));
  CHECK_FALSE(loop->on_event_thread());
  loop->stop();
  REQUIRE(order.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(order[i] == i);
  CHECK(elsewhere == 0);
}

TEST_CASE("event loop: stop runs everything queued before returning") {
  auto loop = offkv::EventLoop::start();
  std::atomic<int> ran{0};
  loop->post([&] {
    std::this_thread::sleep_for(50ms);
    ++ran;
  });
  for (int i = 0; i < 10; ++i) loop->post([&] { ++ran; });
  loop->stop();
  CHECK(ran == 11);
}

TEST_CASE("event loop: post after stop is refused and never runs") {
  auto loop = offkv::EventLoop::start();
  loop->stop();
  bool ran = false;
  CHECK_FALSE(loop->post([&] { ran = true; }));
  loop->stop();  // idempotent
  CHECK_FALSE(ran);
}

TEST_CASE("event loop: a throwing callback does not end the thread") {
  auto loop = offkv::EventLoop::start();
  bool after = false;
  loop->post([] { throw std::runtime_error("user callback failed"); });
  loop->post([] { throw 42; });
  loop->post([&] { after = true; });
  loop->stop();
  CHECK(after);
}

TEST_CASE("event loop: stop from a callback lets queued callbacks finish") {
  auto loop = offkv::EventLoop::start();
  std::mutex mutex;
  std::condition_variable cv;
  bool go = false, stopped_inside = false;
  std::atomic<bool> later_ran{false};
  loop->post([&] {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [&] { return go; });
  });
  loop->post([&, raw = loop.get()] {
    raw->stop();  // returns at once on the event thread
    std::lock_guard<std::mutex> lock(mutex);
    stopped_inside = true;
    cv.notify_all();
  });
  loop->post([&] { later_ran = true; });  // queued before the stop: still runs
  {
    std::unique_lock<std::mutex> lock(mutex);
    go = true;
    cv.notify_all();
    REQUIRE(cv.wait_for(lock, 10s, [&] { return stopped_inside; }));
  }
  CHECK_FALSE(loop->post([] {}));
  loop->stop();  // waits for the drain
  CHECK(later_ran);
}
