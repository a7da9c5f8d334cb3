// Per-client counters (offkv_get_stats) and the log callback (offkv_set_log_callback),
// the same on every backend.
#include <map>
#include <mutex>
#include <tuple>

#include "conformance.hpp"

using namespace conf;

namespace {

struct LogLines {
  std::mutex mutex;
  std::vector<std::tuple<int, std::string, std::string>> lines;
  static void callback(int level, const char *component, const char *message,
                       void *user) {
    auto *self = static_cast<LogLines *>(user);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->lines.emplace_back(level, component, message);
  }
  bool has(const std::string &component, const std::string &text) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto &l : lines)
      if (std::get<1>(l) == component && std::get<2>(l).find(text) != std::string::npos)
        return true;
    return false;
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return lines.size();
  }
};

}  // namespace

TEST_CASE("a client counts its operations, errors, watches and session transitions",
          "[stats]") {
  Env env;
  offkv_client *c = env.open();
  auto before = counters_of(c);
  for (const char *name :
       {"ops.create", "ops.get", "ops.commit", "errors.ENOENT", "errors.EVERSION",
        "retries", "reconnects", "session.CONNECTED", "session.LOST", "watches.armed",
        "watches.fired"})
    CHECK(before.count(name) == 1);
  CHECK(before["session.CONNECTED"] == 1);
  CHECK(before["ops.get"] == 0);

  create(c, "/s", "1");
  offkv_buf b{nullptr, 0};
  REQUIRE_OK(offkv_get(c, "/s", &b, nullptr));
  offkv_buf_free(&b);
  CHECK_CODE(offkv_get(c, "/missing", &b, nullptr), OFFKV_ENOENT);
  CHECK_CODE(offkv_cas(c, "/s", "x", 1, 9, nullptr), OFFKV_EVERSION);
  Watch w;
  REQUIRE_OK(offkv_get_watch(c, "/s", nullptr, nullptr, nullptr, nullptr, w.out()));
  set(env.c(), "/s", "2");
  wait_event(w);

  auto after = counters_of(c);
  CHECK(after["ops.create"] == 1);
  CHECK(after["ops.get"] == 3);  // plain, missing, with a watch
  CHECK(after["ops.cas"] == 1);
  CHECK(after["errors.ENOENT"] == 1);
  CHECK(after["errors.EVERSION"] == 1);
  CHECK(after["watches.armed"] == 1);
  CHECK(after["watches.fired"] == 1);

  REQUIRE_OK(offkv_close(c));
  // Still readable after close (e.g. for a last report); CLOSED is counted.
  auto closed = counters_of(c);
  CHECK(closed["ops.get"] == 3);
  CHECK(closed["session.CLOSED"] == 1);
  CHECK_CODE(offkv_get_stats(c, nullptr), OFFKV_EINVAL);
  offkv_stats none = OFFKV_STATS_INIT;
  CHECK_CODE(offkv_get_stats(nullptr, &none), OFFKV_EINVAL);
  offkv_stats_free(nullptr);  // ignored
}

TEST_CASE("the log callback hears session transitions; off by default and when reset",
          "[stats][log]") {
  LogLines log;
  // Resets the callback however the case ends (log outlives it).
  struct Reset {
    ~Reset() { offkv_set_log_callback(nullptr, nullptr, OFFKV_LOG_ERROR); }
  } reset;
  Env env;
  CHECK_CODE(offkv_set_log_callback(LogLines::callback, &log, 0), OFFKV_EINVAL);
  CHECK_CODE(offkv_set_log_callback(LogLines::callback, &log, 5), OFFKV_EINVAL);
  REQUIRE_OK(offkv_set_log_callback(LogLines::callback, &log, OFFKV_LOG_INFO));
  offkv_client *c = env.open();
  std::string scheme = env.url().substr(0, env.url().find("://"));
  REQUIRE(eventually([&] { return log.has(scheme, "session CONNECTED"); }, 5000));
  REQUIRE_OK(offkv_close(c));
  REQUIRE(eventually([&] { return log.has(scheme, "session CLOSED"); }, 5000));
  REQUIRE_OK(offkv_set_log_callback(nullptr, nullptr, OFFKV_LOG_DEBUG));
  std::size_t seen = log.size();
  REQUIRE_OK(offkv_close(env.open()));
  CHECK(log.size() == seen);  // off: nothing more
}
