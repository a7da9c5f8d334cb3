// SPEC §9: one client handle is safe to use from many threads at once, and the
// results stay consistent (no lost update, versions contiguous, one winner per race).
// Worker threads use only the C API and atomics; all assertions run on the case's
// own thread.
#include <mutex>
#include <set>

#include "conformance.hpp"

using namespace conf;

namespace {

constexpr int kThreads = 8;

// Runs fn(thread_index) on kThreads threads at once and joins them all.
void in_parallel(const std::function<void(int)> &fn) {
  std::atomic<int> ready{0};
  std::vector<std::unique_ptr<Background>> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.push_back(std::make_unique<Background>([&, t](const std::atomic<bool> &) {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      fn(t);
    }));
  for (auto &t : threads) t->join();
}

// Increments the decimal counter in key with get + cas until it succeeds; returns the
// version its cas produced (0 on an unexpected error).
std::int64_t increment(offkv_client *c, const std::string &key) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    offkv_buf buf{nullptr, 0};
    std::int64_t version = 0;
    if (offkv_get(c, key.c_str(), &buf, &version) != OFFKV_OK) return 0;
    std::string next = std::to_string(std::stoll(str(buf)) + 1);
    offkv_buf_free(&buf);
    std::int64_t new_version = 0;
    int rc = offkv_cas(c, key.c_str(), next.data(), next.size(), version, &new_version);
    if (rc == OFFKV_OK) return new_version;
    if (rc != OFFKV_EVERSION) return 0;
  }
  return 0;
}

}  // namespace

TEST_CASE("creates from many threads on one client all land", "[concurrency]") {
  Env env;
  create(env.c(), "/p", "");
  const int per_thread = 25;
  std::atomic<int> failures{0};
  in_parallel([&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      std::string key = "/p/t" + std::to_string(t) + "-" + std::to_string(i);
      if (offkv_create(env.c(), key.c_str(), key.data(), key.size(), 0, nullptr) !=
          OFFKV_OK)
        ++failures;
    }
  });
  CHECK(failures == 0);
  auto listed = children(env.c(), "/p");
  CHECK(listed.size() == kThreads * per_thread);
  CHECK(listed == bytewise_sorted(listed));
  for (const auto &key : listed) CHECK(value_of(env.c(), key) == key);
}

TEST_CASE("concurrent sets of one key get distinct consecutive versions",
          "[concurrency][versions]") {
  Env env;
  create(env.c(), "/k", "");
  const int per_thread = 15;
  std::mutex m;
  std::vector<std::int64_t> versions;
  std::atomic<int> failures{0};
  in_parallel([&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      std::int64_t v = 0;
      std::string value = std::to_string(t);
      if (offkv_set(env.c(), "/k", value.data(), value.size(), &v) != OFFKV_OK) {
        ++failures;
        continue;
      }
      std::lock_guard<std::mutex> lock(m);
      versions.push_back(v);
    }
  });
  CHECK(failures == 0);
  std::sort(versions.begin(), versions.end());
  std::vector<std::int64_t> expected;
  for (int v = 2; v <= 1 + kThreads * per_thread; ++v) expected.push_back(v);
  CHECK(versions == expected);
  CHECK(version_of(env.c(), "/k") == 1 + kThreads * per_thread);
}

TEST_CASE("cas loops from many threads never lose an update", "[concurrency][cas]") {
  Env env;
  create(env.c(), "/counter", "0");
  const int per_thread = 10;
  std::mutex m;
  std::vector<std::int64_t> versions;
  std::atomic<int> failures{0};
  in_parallel([&](int) {
    for (int i = 0; i < per_thread; ++i) {
      std::int64_t v = increment(env.c(), "/counter");
      if (v == 0) {
        ++failures;
        continue;
      }
      std::lock_guard<std::mutex> lock(m);
      versions.push_back(v);
    }
  });
  CHECK(failures == 0);
  CHECK(value_of(env.c(), "/counter") == std::to_string(kThreads * per_thread));
  std::sort(versions.begin(), versions.end());
  std::vector<std::int64_t> expected;
  for (int v = 2; v <= 1 + kThreads * per_thread; ++v) expected.push_back(v);
  CHECK(versions == expected);
}

TEST_CASE("cas loops from two clients never lose an update", "[concurrency][cas]") {
  Env env;
  offkv_client *clients[2] = {env.open(), env.open()};
  create(env.c(), "/counter", "0");
  const int per_thread = 8;
  std::atomic<int> failures{0};
  in_parallel([&](int t) {
    for (int i = 0; i < per_thread; ++i)
      if (increment(clients[t % 2], "/counter") == 0) ++failures;
  });
  CHECK(failures == 0);
  CHECK(value_of(env.c(), "/counter") == std::to_string(kThreads * per_thread));
  CHECK(version_of(env.c(), "/counter") == 1 + kThreads * per_thread);
}

TEST_CASE("checked transactions from many threads never lose an update",
          "[concurrency][txn]") {
  Env env;
  create(env.c(), "/a", "0");
  create(env.c(), "/b", "0");
  const int per_thread = 6;
  std::atomic<int> failures{0};
  in_parallel([&](int) {
    for (int i = 0; i < per_thread; ++i) {
      bool done = false;
      for (int attempt = 0; attempt < 10000 && !done; ++attempt) {
        offkv_buf buf{nullptr, 0};
        std::int64_t va = 0, vb = 0;
        if (offkv_get(env.c(), "/a", &buf, &va) != OFFKV_OK ||
            offkv_exists(env.c(), "/b", &vb) != OFFKV_OK)
          break;
        std::string next = std::to_string(std::stoll(str(buf)) + 1);
        offkv_buf_free(&buf);
        offkv_txn *txn = nullptr;
        offkv_txn_new(&txn);
        offkv_txn_check(txn, "/a", va);
        offkv_txn_check(txn, "/b", vb);
        offkv_txn_set(txn, "/a", next.data(), next.size());
        offkv_txn_set(txn, "/b", next.data(), next.size());
        int rc = offkv_commit(env.c(), txn, nullptr);
        offkv_txn_free(txn);
        if (rc == OFFKV_OK)
          done = true;
        else if (rc != OFFKV_ETXN)
          break;
      }
      if (!done) ++failures;
    }
  });
  CHECK(failures == 0);
  const std::string total = std::to_string(kThreads * per_thread);
  CHECK(value_of(env.c(), "/a") == total);
  CHECK(value_of(env.c(), "/b") == total);
  CHECK(version_of(env.c(), "/a") == 1 + kThreads * per_thread);
}

TEST_CASE("concurrent sequential creates get distinct increasing keys",
          "[concurrency][sequential]") {
  Env env;
  create(env.c(), "/q", "");
  const int per_thread = 12;
  std::vector<std::vector<std::string>> keys(kThreads);
  std::atomic<int> failures{0};
  in_parallel([&](int t) {
    for (int i = 0; i < per_thread; ++i) {
      char *actual = nullptr;
      if (offkv_create(env.c(), "/q/n-", "", 0, OFFKV_SEQUENTIAL, &actual) != OFFKV_OK) {
        ++failures;
        continue;
      }
      keys[t].push_back(actual);
      offkv_string_free(actual);
    }
  });
  CHECK(failures == 0);
  std::set<std::string> all;
  for (const auto &mine : keys) {
    for (std::size_t i = 0; i < mine.size(); ++i) {
      CHECK(is_sequential_of(mine[i], "/q/n-"));
      if (i > 0) CHECK(sequence_number(mine[i]) > sequence_number(mine[i - 1]));
      all.insert(mine[i]);
    }
  }
  CHECK(all.size() == kThreads * per_thread);
  auto listed = children(env.c(), "/q");
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == all);
}

TEST_CASE("racing creates of one key have exactly one winner", "[concurrency]") {
  Env env;
  for (int round = 0; round < 3; ++round) {
    const std::string key = "/race" + std::to_string(round);
    std::atomic<int> ok{0}, exists{0}, other{0};
    in_parallel([&](int t) {
      std::string value = std::to_string(t);
      int rc = round == 1 ? offkv_cas(env.c(), key.c_str(), value.data(), value.size(), 0,
                                      nullptr)
                          : offkv_create(env.c(), key.c_str(), value.data(), value.size(),
                                         0, nullptr);
      if (rc == OFFKV_OK)
        ++ok;
      else if (rc == (round == 1 ? OFFKV_EVERSION : OFFKV_EEXIST))
        ++exists;
      else
        ++other;
    });
    INFO("round " << round);
    CHECK(ok == 1);
    CHECK(exists == kThreads - 1);
    CHECK(other == 0);
    CHECK(version_of(env.c(), key) == 1);
  }
}

TEST_CASE("racing erases of one key have exactly one winner", "[concurrency][erase]") {
  Env env;
  create(env.c(), "/doomed", "");
  create(env.c(), "/doomed/child", "");
  std::atomic<int> ok{0}, absent{0}, other{0};
  in_parallel([&](int) {
    int rc = offkv_erase(env.c(), "/doomed", 0);
    if (rc == OFFKV_OK)
      ++ok;
    else if (rc == OFFKV_ENOENT)
      ++absent;
    else
      ++other;
  });
  CHECK(ok == 1);
  CHECK(absent == kThreads - 1);
  CHECK(other == 0);
  CHECK(version_of(env.c(), "/doomed") == 0);
}

TEST_CASE("watches armed from many threads each fire once", "[concurrency][watches]") {
  Env env;
  std::vector<std::unique_ptr<Watch>> watches;
  for (int t = 0; t < kThreads; ++t) {
    create(env.c(), "/w" + std::to_string(t), "");
    watches.push_back(std::make_unique<Watch>());
  }
  std::atomic<int> failures{0};
  in_parallel([&](int t) {
    std::string key = "/w" + std::to_string(t);
    if (offkv_get_watch(env.c(), key.c_str(), nullptr, nullptr, nullptr, nullptr,
                        watches[t]->out()) != OFFKV_OK ||
        offkv_set(env.c(), key.c_str(), "x", 1, nullptr) != OFFKV_OK)
      ++failures;
  });
  REQUIRE(failures == 0);
  for (int t = 0; t < kThreads; ++t) {
    Ev ev = wait_event(*watches[t]);
    CHECK(type_name(ev.type) == "CHANGED");
    CHECK(ev.key == "/w" + std::to_string(t));
    CHECK(ev.version == 2);
  }
}

TEST_CASE(
    "watches set from many threads on nodes just created fire only for their change",
    "[concurrency][watches]") {
  // Registrations come and go on different keys at once while nodes are created: a
  // backend that watches them together must not compare a watch with a state older
  // than its read (its node would look deleted) nor with a read of other keys.
  Env env;
  constexpr int kWorkers = 16, kRounds = 10;
  create(env.c(), "/r", "");
  std::atomic<int> wrong{0};
  std::mutex first_mutex;
  std::string first;
  auto work = [&](int t) {
    for (int round = 0; round < kRounds; ++round) {
      std::string key = "/r/w" + std::to_string(t) + "-" + std::to_string(round);
      offkv_watch *w = nullptr;
      offkv_event *ev = nullptr;
      std::string what;
      if (offkv_create(env.c(), key.c_str(), "", 0, 0, nullptr) != OFFKV_OK) {
        what = "create failed: " + std::string(offkv_last_error());
      } else if (offkv_get_watch(env.c(), key.c_str(), nullptr, nullptr, nullptr, nullptr,
                                 &w) != OFFKV_OK) {
        what = "get_watch failed: " + std::string(offkv_last_error());
      } else if (offkv_set(env.c(), key.c_str(), "x", 1, nullptr) != OFFKV_OK) {
        what = "set failed: " + std::string(offkv_last_error());
      } else if (offkv_watch_wait(w, kEventMs, &ev) != OFFKV_OK) {
        what = "no event: " + std::string(offkv_last_error());
      } else if (ev->type != OFFKV_EVENT_CHANGED || ev->version != 2) {
        what = type_name(ev->type) + " v" + std::to_string(ev->version);
      }
      offkv_event_free(ev);
      offkv_watch_free(w);
      if (!what.empty()) {
        std::lock_guard<std::mutex> lock(first_mutex);
        if (wrong++ == 0) first = key + ": " + what;
      }
    }
  };
  std::vector<std::unique_ptr<Background>> workers;
  for (int t = 0; t < kWorkers; ++t)
    workers.push_back(
        std::make_unique<Background>([&, t](const std::atomic<bool> &) { work(t); }));
  for (auto &w : workers) w->join();
  INFO("first wrong: " << first);
  CHECK(wrong == 0);
}

TEST_CASE("closing a client while other threads use it gives only clean errors",
          "[concurrency][sessions]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/k", "");
  std::atomic<int> ok{0}, closed{0}, other{0};
  std::atomic<int> last_other{0};
  std::vector<std::unique_ptr<Background>> workers;
  for (int t = 0; t < 4; ++t)
    workers.push_back(std::make_unique<Background>([&, t](const std::atomic<bool> &stop) {
      for (int i = 0; !stop; ++i) {
        int rc;
        std::int64_t version = 0;
        offkv_strings list{nullptr, 0};
        switch ((t + i) % 4) {
          case 0:
            rc = offkv_set(c, "/k", "x", 1, nullptr);
            break;
          case 1:
            rc = offkv_exists(c, "/k", &version);
            break;
          case 2:
            rc = offkv_children(c, "/", &list);
            offkv_strings_free(&list);
            break;
          default: {
            std::string key = "/e" + std::to_string(t) + "-" + std::to_string(i);
            rc = offkv_create(c, key.c_str(), "", 0, OFFKV_EPHEMERAL, nullptr);
          }
        }
        if (rc == OFFKV_OK) {
          ++ok;
        } else if (rc == OFFKV_ECLOSED) {
          if (++closed > 400) return;
        } else {
          ++other;
          last_other = rc;
        }
      }
    }));
  REQUIRE(eventually([&] { return ok.load() >= 40; }));
  REQUIRE_OK(offkv_close(c));
  REQUIRE(eventually([&] { return closed.load() > 400; }));
  for (auto &w : workers) w->join();
  INFO("unexpected code " << code_name(last_other));
  CHECK(other == 0);
  // Every ephemeral made before the close is gone with the session.
  for (const auto &key : children(env.c(), "/")) CHECK(key == "/k");
}
