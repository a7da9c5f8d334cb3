// The test kit's session faults (offkv_testkit_suspend / _resume / _expire,
// docs/c-api.md "Test kit"): the same cases on every backend. On mem:// the library
// decides; on ZooKeeper, etcd and Consul a client-side hook cuts the connection or
// ends the session at the server, and the backend's own state machine reacts.
#include "conformance.hpp"

using namespace conf;

namespace {

using Clock = std::chrono::steady_clock;

std::string state_name(int state) {
  switch (state) {
    case OFFKV_SESSION_CONNECTED:
      return "CONNECTED";
    case OFFKV_SESSION_SUSPENDED:
      return "SUSPENDED";
    case OFFKV_SESSION_LOST:
      return "LOST";
    case OFFKV_SESSION_CLOSED:
      return "CLOSED";
  }
  return "state " + std::to_string(state);
}

// The session states told to the recorder so far, as "CONNECTED SUSPENDED ...".
std::string states(const Recorder &rec) {
  std::string out;
  for (const Ev &ev : rec.events()) {
    if (ev.type != OFFKV_EVENT_SESSION) continue;
    out += (out.empty() ? "" : " ") + state_name(ev.session_state);
  }
  return out;
}

// Waits until the recorder has been told exactly `expected` (one of them).
bool told(const Recorder &rec, const std::vector<std::string> &expected,
          int timeout_ms = kEventMs) {
  bool ok = eventually(
      [&] {
        std::string now = states(rec);
        return std::find(expected.begin(), expected.end(), now) != expected.end();
      },
      timeout_ms);
  INFO("session states told: " << states(rec));
  CHECK(ok);
  return ok;
}

int session_state(offkv_client *c) {
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(c, &state));
  return state;
}

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
      .count();
}

// A client whose session outlives every pause of these cases (20 s) and whose
// operations give up after op_ms.
offkv_options kit_options(Recorder &rec, int op_ms = 1000, int session_ms = 20000) {
  offkv_options options = session_options(rec);
  options.session_timeout_ms = session_ms;
  options.operation_timeout_ms = op_ms;
  return options;
}

}  // namespace

TEST_CASE(
    "suspend: SUSPENDED, operations fail with ECONNLOSS after their timeout and "
    "change nothing; resume: CONNECTED in the same session, missed events come",
    "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec);
  offkv_client *c = env.open(&options);
  create(c, "/k", "before");
  create(c, "/e", "mine", OFFKV_EPHEMERAL);
  Watch watch;
  REQUIRE_OK(offkv_get_watch(c, "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE(told(rec, {"CONNECTED"}));

  REQUIRE_OK(offkv_testkit_suspend(c));
  CHECK(state_name(session_state(c)) == "SUSPENDED");
  REQUIRE(told(rec, {"CONNECTED SUSPENDED"}));
  CHECK_OK(offkv_testkit_suspend(c));  // again: nothing new

  // Operations wait for the connection up to the operation timeout, then ECONNLOSS.
  std::int64_t version = 0;
  auto start = Clock::now();
  CHECK_CODE(offkv_set(c, "/k", "during", 6, &version), OFFKV_ECONNLOSS);
  long long waited = ms_since(start);
  CHECK(waited >= 800);
  CHECK(waited < 1000 + 4000);
  CHECK_CODE(offkv_create(c, "/new", "x", 1, 0, nullptr), OFFKV_ECONNLOSS);
  offkv_buf buf{nullptr, 0};
  CHECK_CODE(offkv_get(c, "/k", &buf, &version), OFFKV_ECONNLOSS);
  CHECK(buf.data == nullptr);
  // The store is unchanged, and the session lives on (its ephemeral is there).
  CHECK(value_of(env.c(), "/k") == "before");
  CHECK(version_of(env.c(), "/new") == 0);
  CHECK(value_of(env.c(), "/e") == "mine");
  // A change by someone else does not reach the cut-off client...
  set(env.c(), "/k", "changed");
  CHECK(wait_code(watch, kQuietMs) == OFFKV_ETIMEOUT);

  REQUIRE_OK(offkv_testkit_resume(c));
  CHECK(state_name(session_state(c)) == "CONNECTED");
  REQUIRE(told(rec, {"CONNECTED SUSPENDED CONNECTED"}));
  // ... until it is back: the armed watch reports it then.
  Ev ev = wait_event(watch);
  CHECK(type_name(ev.type) == "CHANGED");
  CHECK(ev.key == "/k");
  // The same session: its ephemeral is still there, it works as before.
  CHECK(value_of(env.c(), "/e") == "mine");
  CHECK(set(c, "/k", "after") == 3);
  CHECK(value_of(env.c(), "/k") == "after");
  CHECK_OK(offkv_testkit_resume(c));  // not cut: nothing to do
  CHECK(rec.quiet());
}

TEST_CASE("an operation waiting while suspended goes on when the connection is back",
          "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec, 15000);
  offkv_client *c = env.open(&options);
  REQUIRE_OK(offkv_testkit_suspend(c));
  std::atomic<int> resumed{-1};
  Background resumer([&](const std::atomic<bool> &) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    resumed = offkv_testkit_resume(c);
  });
  auto start = Clock::now();
  std::int64_t version = 0;
  CHECK_OK(offkv_set(c, "/k", "v", 1, &version));
  CHECK(ms_since(start) >= 400);
  CHECK(version == 1);
  resumer.join();
  CHECK(code_name(resumed) == code_name(OFFKV_OK));
  CHECK(value_of(env.c(), "/k") == "v");
}

TEST_CASE(
    "expire: the ephemerals go for everyone, watches end, LOST then a new "
    "session CONNECTED",
    "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec, 10000);
  offkv_client *c = env.open(&options);
  create(c, "/k", "");
  create(c, "/e", "mine", OFFKV_EPHEMERAL);
  Watch own, other;
  REQUIRE_OK(offkv_get_watch(c, "/k", nullptr, nullptr, nullptr, nullptr, own.out()));
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/e", &version, nullptr, nullptr, other.out()));
  REQUIRE(version == 1);
  REQUIRE(told(rec, {"CONNECTED"}));

  REQUIRE_OK(offkv_testkit_expire(c));
  // When it returns, the store has ended the session: the ephemeral is gone for
  // another client, whose watch sees it go; and the client is on a new session.
  CHECK(version_of(env.c(), "/e") == 0);
  Ev deleted = wait_event(other);
  CHECK(type_name(deleted.type) == "DELETED");
  CHECK(deleted.key == "/e");
  CHECK(state_name(session_state(c)) == "CONNECTED");
  // ZooKeeper's server drops the expired session's connection first: SUSPENDED.
  REQUIRE(told(rec, {"CONNECTED LOST CONNECTED", "CONNECTED SUSPENDED LOST CONNECTED"}));
  Ev ended = wait_event(own);
  CHECK(type_name(ended.type) == "ENDED");
  CHECK(code_name(ended.error) == code_name(OFFKV_ESESSION));
  // The new session works, ephemerals included.
  create(c, "/e", "again", OFFKV_EPHEMERAL);
  CHECK(value_of(env.c(), "/e") == "again");
  REQUIRE_OK(offkv_close(c));
  CHECK(version_of(env.c(), "/e") == 0);
}

TEST_CASE(
    "suspended past the session timeout: LOST while cut off, a new session when "
    "resumed",
    "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec, 1000, OFFKV_SESSION_TIMEOUT_MIN_MS);
  offkv_client *c = env.open(&options);
  create(c, "/e", "mine", OFFKV_EPHEMERAL);
  Watch own;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(c, "/e", &version, nullptr, nullptr, own.out()));

  auto start = Clock::now();
  REQUIRE_OK(offkv_testkit_suspend(c));
  // The client declares LOST once the session timeout has passed since the cut, while
  // still cut off; the store expires the session, so the ephemeral goes.
  REQUIRE(
      told(rec, {"CONNECTED SUSPENDED LOST"}, OFFKV_SESSION_TIMEOUT_MIN_MS + kEventMs));
  // Not before the store could have expired it (etcd and Consul count from the last
  // renewal, up to a third of the timeout before the cut).
  CHECK(ms_since(start) >= OFFKV_SESSION_TIMEOUT_MIN_MS / 2);
  CHECK(state_name(session_state(c)) == "LOST");
  Ev ended = wait_event(own);
  CHECK(type_name(ended.type) == "ENDED");
  CHECK(code_name(ended.error) == code_name(OFFKV_ESESSION));
  CHECK(eventually([&] { return version_of(env.c(), "/e") == 0; }));
  // No session: an ephemeral cannot be created.
  CHECK_CODE(offkv_create(c, "/e2", "", 0, OFFKV_EPHEMERAL, nullptr), OFFKV_ESESSION);

  REQUIRE_OK(offkv_testkit_resume(c));
  CHECK(state_name(session_state(c)) == "CONNECTED");
  REQUIRE(told(rec, {"CONNECTED SUSPENDED LOST CONNECTED"}));
  create(c, "/e", "new session", OFFKV_EPHEMERAL);
  CHECK(value_of(env.c(), "/e") == "new session");
}

TEST_CASE(
    "expire while suspended: the ephemerals go at once, the client hears LOST "
    "when resumed",
    "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec, 10000);
  offkv_client *c = env.open(&options);
  create(c, "/e", "mine", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_testkit_suspend(c));
  REQUIRE_OK(offkv_testkit_expire(c));
  CHECK(version_of(env.c(), "/e") == 0);
  CHECK(state_name(session_state(c)) == "SUSPENDED");  // it cannot know yet
  CHECK(rec.wait_count(2));
  CHECK(states(rec) == "CONNECTED SUSPENDED");
  REQUIRE_OK(offkv_testkit_resume(c));
  CHECK(state_name(session_state(c)) == "CONNECTED");
  REQUIRE(told(rec, {"CONNECTED SUSPENDED LOST CONNECTED"}));
  create(c, "/e", "again", OFFKV_EPHEMERAL);
  CHECK(value_of(env.c(), "/e") == "again");
}

TEST_CASE("closing a suspended client still ends its session at once",
          "[testkit][sessions]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = kit_options(rec, 5000);
  offkv_client *c = env.open(&options);
  create(c, "/e", "mine", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_testkit_suspend(c));
  REQUIRE_OK(offkv_close(c));
  CHECK(version_of(env.c(), "/e") == 0);
  // (ZooKeeper reconnects for the close: CONNECTED may come first.)
  REQUIRE(
      told(rec, {"CONNECTED SUSPENDED CLOSED", "CONNECTED SUSPENDED CONNECTED CLOSED"}));
}

TEST_CASE("the test kit refuses a NULL or closed client", "[testkit][sessions]") {
  Env env;
  CHECK_CODE(offkv_testkit_suspend(nullptr), OFFKV_EINVAL);
  CHECK_CODE(offkv_testkit_resume(nullptr), OFFKV_EINVAL);
  CHECK_CODE(offkv_testkit_expire(nullptr), OFFKV_EINVAL);
  offkv_client *c = env.open();
  REQUIRE_OK(offkv_close(c));
  CHECK_CODE(offkv_testkit_suspend(c), OFFKV_ECLOSED);
  CHECK_CODE(offkv_testkit_resume(c), OFFKV_ECLOSED);
  CHECK_CODE(offkv_testkit_expire(c), OFFKV_ECLOSED);
}
