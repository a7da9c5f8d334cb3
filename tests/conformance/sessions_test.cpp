// SPEC §4 (and §1 options): one session per client, its observable state and
// callback, and what a closed client does.
#include "conformance.hpp"

using namespace conf;

namespace {

void no_op_cb(const offkv_event *, void *) {}

}  // namespace

TEST_CASE("a new client's session is CONNECTED", "[sessions]") {
  Env env;
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(env.c(), &state));
  CHECK(state == OFFKV_SESSION_CONNECTED);
}

TEST_CASE("the session callback hears CONNECTED first and CLOSED last",
          "[sessions][threads]") {
  Env env;
  Recorder &rec = env.recorder();
  offkv_options options = session_options(rec);
  offkv_client *c = env.open(&options);
  auto first = rec.next();
  REQUIRE(first);
  CHECK(type_name(first->type) == "SESSION");
  CHECK(first->session_state == OFFKV_SESSION_CONNECTED);
  CHECK_FALSE(first->has_key);
  CHECK(first->thread != std::this_thread::get_id());
  create(c, "/k", "");  // an ordinary operation changes nothing
  CHECK(rec.quiet());
  REQUIRE_OK(offkv_close(c));
  auto last = rec.next();
  REQUIRE(last);
  CHECK(type_name(last->type) == "SESSION");
  CHECK(last->session_state == OFFKV_SESSION_CLOSED);
  CHECK(last->thread == first->thread);
  // Nothing follows CLOSED, not even after a second close.
  CHECK_OK(offkv_close(c));
  CHECK(rec.quiet());
  CHECK(rec.count() == 2);
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(c, &state));
  CHECK(state == OFFKV_SESSION_CLOSED);
}

TEST_CASE("a closed client refuses every operation with ECLOSED", "[sessions]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/k", "kept");
  create(c, "/p", "");
  REQUIRE_OK(offkv_close(c));
  CHECK_OK(offkv_close(c));  // twice is fine
  std::int64_t version = 0;
  char *actual = nullptr;
  offkv_buf buf{nullptr, 0};
  offkv_strings list{nullptr, 0};
  offkv_watch *w = nullptr;
  CHECK_CODE(offkv_create(c, "/new", "v", 1, 0, &actual), OFFKV_ECLOSED);
  CHECK(actual == nullptr);
  CHECK_CODE(offkv_create(c, "/new", "v", 1, OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL, &actual),
             OFFKV_ECLOSED);
  CHECK_CODE(offkv_set(c, "/k", "v", 1, &version), OFFKV_ECLOSED);
  CHECK_CODE(offkv_cas(c, "/k", "v", 1, 1, &version), OFFKV_ECLOSED);
  CHECK_CODE(offkv_get(c, "/k", &buf, &version), OFFKV_ECLOSED);
  CHECK(buf.data == nullptr);
  CHECK_CODE(offkv_exists(c, "/k", &version), OFFKV_ECLOSED);
  CHECK_CODE(offkv_children(c, "/", &list), OFFKV_ECLOSED);
  CHECK_CODE(offkv_children(c, "/p", &list), OFFKV_ECLOSED);
  CHECK_CODE(offkv_erase(c, "/k", 0), OFFKV_ECLOSED);
  CHECK_CODE(offkv_get_watch(c, "/k", &buf, &version, no_op_cb, nullptr, &w),
             OFFKV_ECLOSED);
  CHECK(w == nullptr);
  CHECK_CODE(offkv_exists_watch(c, "/k", &version, nullptr, nullptr, &w), OFFKV_ECLOSED);
  CHECK(w == nullptr);
  CHECK_CODE(offkv_children_watch(c, "/p", &list, nullptr, nullptr, &w), OFFKV_ECLOSED);
  CHECK(w == nullptr);
  CHECK_CODE(offkv_watch_persistent(c, "/", nullptr, nullptr, &w), OFFKV_ECLOSED);
  CHECK(w == nullptr);
  Txn txn;
  txn.check("/k", 1).set("/k", "changed");
  auto result = commit(c, txn);
  CHECK(code_name(result.rc) == "OFFKV_ECLOSED");
  CHECK(result.ops.empty());
  // Nothing was written.
  CHECK(value_of(env.c(), "/k") == "kept");
  CHECK(version_of(env.c(), "/k") == 1);
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/k", "/p"});
}

TEST_CASE("closing one client does not disturb another", "[sessions]") {
  Env env;
  offkv_client *a = env.open();
  offkv_client *b = env.open();
  create(b, "/k", "");
  Watch watch;
  REQUIRE_OK(offkv_get_watch(b, "/k", nullptr, nullptr, nullptr, nullptr, watch.out()));
  REQUIRE_OK(offkv_close(a));
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(b, &state));
  CHECK(state == OFFKV_SESSION_CONNECTED);
  CHECK(set(b, "/k", "x") == 2);
  Ev ev = wait_event(watch);
  CHECK(type_name(ev.type) == "CHANGED");
}

TEST_CASE("session options in the options struct are honoured at their bounds",
          "[sessions][options]") {
  Env env;
  for (int32_t timeout : {OFFKV_SESSION_TIMEOUT_MIN_MS, OFFKV_SESSION_TIMEOUT_DEFAULT_MS,
                          OFFKV_SESSION_TIMEOUT_MAX_MS}) {
    INFO("session_timeout_ms " << timeout);
    offkv_options options = OFFKV_OPTIONS_INIT;
    options.session_timeout_ms = timeout;
    options.operation_timeout_ms = 20000;
    options.connect_timeout_ms = 20000;
    offkv_client *c = env.open(&options);
    const std::string key = "/t" + std::to_string(timeout);
    create(c, key, "", OFFKV_EPHEMERAL);
    CHECK(version_of(env.c(), key) == 1);
    REQUIRE_OK(offkv_close(c));
    CHECK(version_of(env.c(), key) == 0);
  }
}

TEST_CASE("session options given as URL query parameters are accepted",
          "[sessions][options]") {
  Env env;
  offkv_client *c = env.open_url(env.url(
      "session_timeout_ms=5000&operation_timeout_ms=15000&connect_timeout_ms=15000"));
  create(c, "/q", "via query");
  CHECK(value_of(env.c(), "/q") == "via query");
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(c, &state));
  CHECK(state == OFFKV_SESSION_CONNECTED);
}

TEST_CASE("serializable reads still see the client's own writes", "[sessions][options]") {
  Env env;
  offkv_options options = OFFKV_OPTIONS_INIT;
  options.read_consistency = OFFKV_READ_SERIALIZABLE;
  offkv_client *c = env.open(&options);
  CHECK(set(c, "/r", "mine") == 1);
  // Reads from the writer's own session after its write returned.
  CHECK(eventually([&] { return version_of(c, "/r") == 1; }));
  CHECK(value_of(c, "/r") == "mine");
}

TEST_CASE("a callback may close its own client", "[sessions][reentrancy]") {
  Env env;
  offkv_client *c = env.open();
  create(c, "/trigger", "");
  create(c, "/eph", "", OFFKV_EPHEMERAL);
  struct Ctx {
    offkv_client *c = nullptr;
    std::atomic<int> close_rc{-1};
    static void callback(const offkv_event *, void *user) {
      auto *x = static_cast<Ctx *>(user);
      x->close_rc = offkv_close(x->c);
    }
  };
  auto &ctx = env.own<Ctx>();
  ctx.c = c;
  REQUIRE_OK(
      offkv_get_watch(c, "/trigger", nullptr, nullptr, &Ctx::callback, &ctx, nullptr));
  set(env.c(), "/trigger", "close");
  REQUIRE(eventually([&] { return ctx.close_rc.load() != -1; }));
  CHECK(code_name(ctx.close_rc) == "OFFKV_OK");
  int state = 0;
  REQUIRE_OK(offkv_get_session_state(c, &state));
  CHECK(state == OFFKV_SESSION_CLOSED);
  CHECK(version_of(env.c(), "/eph") == 0);
  std::int64_t version = 0;
  CHECK_CODE(offkv_exists(c, "/trigger", &version), OFFKV_ECLOSED);
}

TEST_CASE("each client has its own session", "[sessions][ephemeral]") {
  Env env;
  std::vector<offkv_client *> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(env.open());
    create(clients.back(), "/member" + std::to_string(i), "", OFFKV_EPHEMERAL);
  }
  CHECK(children(env.c(), "/").size() == 6);
  for (int i = 0; i < 6; i += 2) REQUIRE_OK(offkv_close(clients[i]));
  CHECK(children(env.c(), "/") ==
        std::vector<std::string>{"/member1", "/member3", "/member5"});
}
