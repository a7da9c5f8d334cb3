// The AsyncRunner ordering rule (core/async.*): a call starts only after every
// earlier call on a related key (the same key, or one below the other) has finished;
// unrelated calls run side by side. Completions run on the event thread.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "async.hpp"
#include "event_loop.hpp"

namespace {

using namespace std::chrono_literals;
using Keys = std::vector<std::string>;

// A one-way flag a thread waits on.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// What happened, in order, from any thread.
class Log {
 public:
  void add(const std::string &entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(entry);
  }
  std::vector<std::string> entries() {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> entries_;
};

// Waits until every call submitted has finished (shutdown would drop the ones not
// started); false after 10 s.
bool wait_idle(const offkv::AsyncRunner &runner) {
  for (int i = 0; i < 10000 && runner.pending() != 0; ++i)
    std::this_thread::sleep_for(1ms);
  return runner.pending() == 0;
}

// Submits a call on first_keys that holds until released, then a call on
// second_keys; true if the second started while the first was still running, within
// patience: short where it must wait (it would start at once if it did not), long
// where it must not (a loaded machine may be slow to start a thread).
bool second_runs_alongside(const Keys &first_keys, const Keys &second_keys,
                           std::chrono::milliseconds patience) {
  auto loop = offkv::EventLoop::start();
  bool alongside = false;
  {
    offkv::AsyncRunner runner(loop, 4);
    Gate release, second_started;
    REQUIRE(runner.submit(
        first_keys,
        [&]() -> std::function<void()> {
          release.wait_for(10s);
          return nullptr;
        },
        nullptr));
    REQUIRE(runner.submit(
        second_keys,
        [&]() -> std::function<void()> {
          second_started.open();
          return nullptr;
        },
        nullptr));
    alongside = second_started.wait_for(patience);
    release.open();
    // The second always runs in the end.
    CHECK(second_started.wait_for(10s));
    CHECK(wait_idle(runner));
  }
  loop->stop();
  return alongside;
}

bool waits_for_first(const Keys &first_keys, const Keys &second_keys) {
  return !second_runs_alongside(first_keys, second_keys, 200ms);
}

bool runs_alongside(const Keys &first_keys, const Keys &second_keys) {
  return second_runs_alongside(first_keys, second_keys, 10s);
}

}  // namespace

TEST_CASE("async: a call on the same key waits for the earlier one") {
  CHECK(waits_for_first({"/a"}, {"/a"}));
}

TEST_CASE("async: a call below an earlier call's key waits for it") {
  CHECK(waits_for_first({"/a"}, {"/a/b/c"}));
}

TEST_CASE("async: a call above an earlier call's key waits for it") {
  CHECK(waits_for_first({"/a/b"}, {"/a"}));
}

TEST_CASE("async: any related key of a multi-key call makes it wait") {
  CHECK(waits_for_first({"/x", "/a"}, {"/a/b"}));
  CHECK(waits_for_first({"/q"}, {"/z", "/y", "/q/r"}));
}

TEST_CASE("async: the client root is related to every key") {
  // "/" is every key's ancestor: a listing of the root waits for a create below it.
  CHECK(waits_for_first({"/"}, {"/a"}));
  CHECK(waits_for_first({"/a/b"}, {"/"}));
}

TEST_CASE("async: calls on unrelated keys run side by side") {
  CHECK(runs_alongside({"/a"}, {"/b"}));
  CHECK(runs_alongside({"/a/b"}, {"/a/c"}));
}

TEST_CASE("async: '/a' and '/ab' are unrelated (whole segments)") {
  CHECK(runs_alongside({"/a"}, {"/ab"}));
  CHECK(runs_alongside({"/ab/c"}, {"/a"}));
}

TEST_CASE("async: a blocked call does not hold back later unrelated calls") {
  auto loop = offkv::EventLoop::start();
  {
    offkv::AsyncRunner runner(loop, 4);
    Gate release, third_ran;
    Log log;
    auto record = [&](std::string name, Gate *wait, Gate *signal) {
      return [&log, name, wait, signal]() -> std::function<void()> {
        if (wait) wait->wait_for(10s);
        log.add(name);
        if (signal) signal->open();
        return nullptr;
      };
    };
    runner.submit({"/a"}, record("a", &release, nullptr), nullptr);
    runner.submit({"/a/b"}, record("a/b", nullptr, nullptr), nullptr);
    runner.submit({"/c"}, record("c", nullptr, &third_ran), nullptr);
    CHECK(third_ran.wait_for(10s));
    CHECK(log.entries() == std::vector<std::string>{"c"});
    release.open();
    REQUIRE(wait_idle(runner));
    CHECK(log.entries() == std::vector<std::string>{"c", "a", "a/b"});
  }
  loop->stop();
}

TEST_CASE("async: completions of related calls run on the event thread in call order") {
  auto loop = offkv::EventLoop::start();
  Log log;
  bool all_on_event_thread = true;
  {
    offkv::AsyncRunner runner(loop, 4);
    for (int i = 0; i < 20; ++i) {
      std::string key = i % 2 ? "/k" : "/k/child";
      runner.submit(
          {key},
          [&, i]() -> std::function<void()> {
            // Later calls would overtake this one if they were not held back.
            std::this_thread::sleep_for(std::chrono::milliseconds(i % 3));
            return [&, i] {
              if (!loop->on_event_thread()) all_on_event_thread = false;
              log.add(std::to_string(i));
            };
          },
          nullptr);
    }
    REQUIRE(wait_idle(runner));
    runner.shutdown();
  }
  loop->stop();  // runs every completion posted before
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(std::to_string(i));
  CHECK(log.entries() == expected);
  CHECK(all_on_event_thread);
}

TEST_CASE("async: shutdown completes calls not started with their closed completion") {
  auto loop = offkv::EventLoop::start();
  Log log;
  {
    offkv::AsyncRunner runner(loop, 1);
    Gate release, first_running;
    runner.submit(
        {"/a"},
        [&]() -> std::function<void()> {
          first_running.open();
          release.wait_for(10s);
          return [&] { log.add("first done"); };
        },
        [&] { log.add("first closed"); });
    runner.submit(
        {"/b"},
        [&]() -> std::function<void()> { return [&] { log.add("second done"); }; },
        [&] { log.add("second closed"); });
    REQUIRE(first_running.wait_for(10s));
    CHECK(runner.pending() == 2);
    // Let the first finish only once shutdown has dropped the second.
    std::thread releaser([&] {
      while (runner.pending() != 1) std::this_thread::sleep_for(1ms);
      release.open();
    });
    runner.shutdown();  // waits for the running call
    releaser.join();
    CHECK(runner.pending() == 0);
    // Nothing is queued once shut down.
    CHECK_FALSE(runner.submit(
        {"/c"}, [&]() -> std::function<void()> { return [&] { log.add("third"); }; },
        [&] { log.add("third closed"); }));
    runner.shutdown();  // idempotent
  }
  loop->stop();
  // The second (never started, one worker busy) got its closed completion first.
  CHECK(log.entries() == std::vector<std::string>{"second closed", "first done"});
}

namespace {
// A native start that keeps the call's finish for the test to call later.
struct Parked {
  std::mutex mutex;
  std::vector<offkv::AsyncRunner::Finish> finishes;
  offkv::AsyncRunner::Start start() {
    return [this](const offkv::AsyncRunner::Finish &finish) {
      std::lock_guard<std::mutex> lock(mutex);
      finishes.push_back(finish);
      return true;
    };
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return finishes.size();
  }
  offkv::AsyncRunner::Finish take(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    return finishes.at(i);
  }
};
}  // namespace

TEST_CASE("async: a native call starts on the caller's thread and needs no worker") {
  auto loop = offkv::EventLoop::start();
  Log log;
  {
    offkv::AsyncRunner runner(loop, 4);
    Parked parked;
    std::thread::id started_on;
    for (int i = 0; i < 3; ++i) {
      offkv::AsyncRunner::Submission s;
      s.keys = {"/k" + std::to_string(i)};
      s.work = [&]() -> std::function<void()> { return [&] { log.add("blocking"); }; };
      s.start = [&, i](const offkv::AsyncRunner::Finish &finish) {
        started_on = std::this_thread::get_id();
        return parked.start()(finish);
      };
      REQUIRE(runner.submit(std::move(s)));
    }
    // All three are in flight at once, each started here, before any answer.
    CHECK(parked.count() == 3);
    CHECK(started_on == std::this_thread::get_id());
    CHECK(runner.native_started() == 3);
    for (int i = 2; i >= 0; --i)
      CHECK(parked.take(i)([&, i] { log.add("native " + std::to_string(i)); }));
    // A second answer for the same call is dropped.
    CHECK_FALSE(parked.take(0)([&] { log.add("twice"); }));
    CHECK(wait_idle(runner));
  }
  loop->stop();
  CHECK(log.entries() == std::vector<std::string>{"native 2", "native 1", "native 0"});
}

TEST_CASE("async: a native call on a related key starts once the earlier one ended") {
  auto loop = offkv::EventLoop::start();
  Log log;
  {
    offkv::AsyncRunner runner(loop, 2);
    Parked parked;
    for (const char *key : {"/a", "/a/b", "/c"}) {
      offkv::AsyncRunner::Submission s;
      s.keys = {key};
      s.work = [&]() -> std::function<void()> { return [&] { log.add("blocking"); }; };
      s.start = parked.start();
      REQUIRE(runner.submit(std::move(s)));
    }
    // /a and /c are in flight; /a/b waits for /a.
    CHECK(parked.count() == 2);
    CHECK(parked.take(0)([&] { log.add("/a"); }));
    for (int i = 0; i < 10000 && parked.count() < 3; ++i)
      std::this_thread::sleep_for(1ms);
    REQUIRE(parked.count() == 3);
    CHECK(parked.take(2)([&] { log.add("/a/b"); }));
    CHECK(parked.take(1)([&] { log.add("/c"); }));
    CHECK(wait_idle(runner));
  }
  loop->stop();
  CHECK(log.entries() == std::vector<std::string>{"/a", "/a/b", "/c"});
}

TEST_CASE("async: a declined native start runs the blocking form on a worker") {
  auto loop = offkv::EventLoop::start();
  Log log;
  {
    offkv::AsyncRunner runner(loop, 1);
    offkv::AsyncRunner::Submission s;
    s.keys = {"/a"};
    s.work = [&]() -> std::function<void()> { return [&] { log.add("blocking"); }; };
    s.start = [](const offkv::AsyncRunner::Finish &) { return false; };
    REQUIRE(runner.submit(std::move(s)));
    CHECK(wait_idle(runner));
    CHECK(runner.native_started() == 0);
  }
  loop->stop();
  CHECK(log.entries() == std::vector<std::string>{"blocking"});
}

TEST_CASE("async: a native call not answered in time ends with timed_out, once") {
  auto loop = offkv::EventLoop::start();
  Log log;
  offkv::AsyncRunner::Finish late;
  {
    offkv::AsyncRunner runner(loop, 1, 50ms);
    Parked parked;
    offkv::AsyncRunner::Submission s;
    s.keys = {"/a"};
    s.work = [&]() -> std::function<void()> { return [&] { log.add("blocking"); }; };
    s.start = parked.start();
    s.closed = [&] { log.add("closed"); };
    s.timed_out = [&] { log.add("timed out"); };
    REQUIRE(runner.submit(std::move(s)));
    CHECK(wait_idle(runner));  // the timer ended it
    late = parked.take(0);
    CHECK_FALSE(late([&] { log.add("late answer"); }));
    runner.shutdown();
  }
  // The runner is gone: a late answer still touches nothing but its call.
  CHECK_FALSE(late([&] { log.add("later answer"); }));
  loop->stop();
  CHECK(log.entries() == std::vector<std::string>{"timed out"});
}

TEST_CASE("async: shutdown waits for native calls in flight to be answered") {
  auto loop = offkv::EventLoop::start();
  Log log;
  {
    offkv::AsyncRunner runner(loop, 1);
    Parked parked;
    offkv::AsyncRunner::Submission s;
    s.keys = {"/a"};
    s.start = parked.start();
    s.closed = [&] { log.add("closed"); };
    REQUIRE(runner.submit(std::move(s)));
    std::thread answer([&] {
      std::this_thread::sleep_for(100ms);
      parked.take(0)([&] { log.add("answered"); });
    });
    runner.shutdown();
    CHECK(runner.pending() == 0);
    answer.join();
  }
  loop->stop();
  CHECK(log.entries() == std::vector<std::string>{"answered"});
}
