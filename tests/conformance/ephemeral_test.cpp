// SPEC §3 and §4, ephemeral nodes: they live as long as their client's session, end
// at once when it closes, stay ephemeral when set, and cannot have children.
#include "conformance.hpp"

using namespace conf;

TEST_CASE("an ephemeral node vanishes as soon as its client closes", "[ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/eph", "alive", OFFKV_EPHEMERAL);
  auto node = read(env.c(), "/eph");
  REQUIRE(node);
  CHECK(node->value == "alive");
  CHECK(node->version == 1);
  REQUIRE_OK(offkv_close(owner));
  // At once, not after a session timeout.
  CHECK(version_of(env.c(), "/eph") == 0);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("freeing a client without closing it also ends its session", "[ephemeral]") {
  Env env;
  offkv_client *owner = nullptr;
  REQUIRE_OK(offkv_open(env.url().c_str(), nullptr, &owner));
  create(owner, "/eph", "", OFFKV_EPHEMERAL);
  CHECK(version_of(env.c(), "/eph") == 1);
  offkv_client_free(owner);
  CHECK(version_of(env.c(), "/eph") == 0);
}

TEST_CASE("closing a client fires DELETED at another client's watch on its ephemeral",
          "[ephemeral][watches]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/eph", "", OFFKV_EPHEMERAL);
  Watch exists_watch, get_watch;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_exists_watch(env.c(), "/eph", &version, nullptr, nullptr,
                                exists_watch.out()));
  CHECK(version == 1);
  REQUIRE_OK(offkv_get_watch(env.c(), "/eph", nullptr, nullptr, nullptr, nullptr,
                             get_watch.out()));
  REQUIRE_OK(offkv_close(owner));
  for (offkv_watch *w : {exists_watch.w, get_watch.w}) {
    Ev ev = wait_event(w);
    CHECK(type_name(ev.type) == "DELETED");
    CHECK(ev.key == "/eph");
    CHECK(ev.version == 0);
  }
}

TEST_CASE("many ephemerals of one client all vanish when it closes", "[ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  std::vector<std::string> keys;
  for (int p = 0; p < 4; ++p) {
    std::string parent = "/p" + std::to_string(p);
    create(env.c(), parent, "");
    for (int i = 0; i < 5; ++i) {
      keys.push_back(parent + "/e" + std::to_string(i));
      create(owner, keys.back(), "", OFFKV_EPHEMERAL);
    }
  }
  Recorder &seen = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/", &Recorder::callback, &seen, watch.out()));
  REQUIRE_OK(offkv_close(owner));
  for (const auto &key : keys) CHECK(version_of(env.c(), key) == 0);
  REQUIRE(seen.wait_count(keys.size()));
  std::vector<std::string> deleted;
  for (const auto &ev : seen.events()) {
    CHECK(type_name(ev.type) == "DELETED");
    deleted.push_back(ev.key);
  }
  CHECK(bytewise_sorted(deleted) == bytewise_sorted(keys));
  CHECK(seen.quiet());
  // The persistent parents stay.
  CHECK(children(env.c(), "/").size() == 4);
}

TEST_CASE("an ephemeral node cannot have children", "[ephemeral]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/e", "", OFFKV_EPHEMERAL);
  for (offkv_client *c : {env.c(), other}) {
    INFO((c == env.c() ? "owner" : "other client"));
    for (int flags :
         {0, OFFKV_EPHEMERAL, OFFKV_SEQUENTIAL, OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL}) {
      INFO("flags " << flags);
      char *actual = nullptr;
      CHECK_CODE(offkv_create(c, "/e/child", "v", 1, flags, &actual), OFFKV_EEPHEMERAL);
      CHECK(actual == nullptr);
    }
    std::int64_t version = 0;
    CHECK_CODE(offkv_set(c, "/e/child", "v", 1, &version), OFFKV_EEPHEMERAL);
    CHECK_CODE(offkv_cas(c, "/e/child", "v", 1, 0, &version), OFFKV_EEPHEMERAL);
  }
  CHECK(children(env.c(), "/e").empty());
  CHECK(version_of(env.c(), "/e") == 1);
}

TEST_CASE("a transaction cannot give an ephemeral node a child", "[ephemeral][txn]") {
  Env env;
  create(env.c(), "/e", "", OFFKV_EPHEMERAL);
  create(env.c(), "/p", "");
  {
    INFO("existing ephemeral parent");
    Txn txn;
    txn.check("/p", 1).create("/p/ok", "").create("/e/child", "");
    auto result = commit(env.c(), txn);
    CHECK(code_name(result.rc) == code_name(OFFKV_ETXN));
    CHECK(result.failed_index == 2);
    CHECK(code_name(result.failed_code) == code_name(OFFKV_EEPHEMERAL));
    CHECK(result.ops.empty());
  }
  {
    INFO("ephemeral parent created by the same transaction");
    Txn txn;
    txn.create("/p/e2", "", OFFKV_EPHEMERAL).set("/p/e2/child", "");
    auto result = commit(env.c(), txn);
    CHECK(code_name(result.rc) == code_name(OFFKV_ETXN));
    CHECK(result.failed_index == 1);
    CHECK(code_name(result.failed_code) == code_name(OFFKV_EEPHEMERAL));
  }
  CHECK(children(env.c(), "/p").empty());
  CHECK(children(env.c(), "/e").empty());
}

TEST_CASE("set on an ephemeral node keeps it ephemeral", "[ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/e", "1", OFFKV_EPHEMERAL);
  CHECK(set(owner, "/e", "2") == 2);
  // A set by another client does not take it over or make it persistent either.
  CHECK(set(env.c(), "/e", "3") == 3);
  CHECK(value_of(env.c(), "/e") == "3");
  CHECK_CODE(offkv_create(env.c(), "/e/child", "", 0, 0, nullptr), OFFKV_EEPHEMERAL);
  REQUIRE_OK(offkv_close(owner));
  CHECK(version_of(env.c(), "/e") == 0);
}

TEST_CASE("cas on an ephemeral node keeps it ephemeral", "[ephemeral][cas]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/e", "1", OFFKV_EPHEMERAL);
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(owner, "/e", "2", 1, 1, &version));
  CHECK(version == 2);
  Txn txn;
  txn.check("/e", 2).set("/e", "3");
  REQUIRE_OK(commit(owner, txn).rc);
  CHECK(version_of(env.c(), "/e") == 3);
  REQUIRE_OK(offkv_close(owner));
  CHECK(version_of(env.c(), "/e") == 0);
}

TEST_CASE("persistent nodes of a closed client stay", "[ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/persistent", "stays");
  create(owner, "/persistent/child", "stays too");
  set(owner, "/by-set", "stays");
  create(owner, "/eph", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_close(owner));
  CHECK(value_of(env.c(), "/persistent") == "stays");
  CHECK(value_of(env.c(), "/persistent/child") == "stays too");
  CHECK(value_of(env.c(), "/by-set") == "stays");
  CHECK(version_of(env.c(), "/eph") == 0);
}

TEST_CASE("closing one client leaves other clients' ephemerals alone", "[ephemeral]") {
  Env env;
  offkv_client *a = env.open();
  offkv_client *b = env.open();
  create(a, "/a", "", OFFKV_EPHEMERAL);
  create(b, "/b", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_close(a));
  CHECK(version_of(env.c(), "/a") == 0);
  CHECK(version_of(env.c(), "/b") == 1);
  CHECK(version_of(b, "/b") == 1);
  REQUIRE_OK(offkv_close(b));
  CHECK(version_of(env.c(), "/b") == 0);
}

TEST_CASE("an ephemeral node is an ordinary node to every client while it lives",
          "[ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(env.c(), "/p", "");
  create(owner, "/p/e", "payload", OFFKV_EPHEMERAL);
  offkv_client *other = env.open();
  auto node = read(other, "/p/e");
  REQUIRE(node);
  CHECK(node->value == "payload");
  CHECK(node->version == 1);
  CHECK(children(other, "/p") == std::vector<std::string>{"/p/e"});
  CHECK(children(other, "/p/e").empty());
  CHECK(set(owner, "/p/e", "x") == 2);
  CHECK(version_of(other, "/p/e") == 2);
}

TEST_CASE("an ephemeral node may be erased by its owner or by another client",
          "[ephemeral][erase]") {
  Env env;
  offkv_client *owner = env.open();
  create(owner, "/mine", "", OFFKV_EPHEMERAL);
  create(owner, "/theirs", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_erase(owner, "/mine", 1));
  REQUIRE_OK(offkv_erase(env.c(), "/theirs", 1));
  CHECK(version_of(env.c(), "/mine") == 0);
  CHECK(version_of(env.c(), "/theirs") == 0);
  // The name can be reused, as a persistent node, and the owner's close leaves it.
  create(env.c(), "/mine", "persistent now");
  create(owner, "/again", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_close(owner));
  CHECK(value_of(env.c(), "/mine") == "persistent now");
  CHECK(version_of(env.c(), "/again") == 0);
}

TEST_CASE("an ephemeral created by a transaction vanishes at close", "[ephemeral][txn]") {
  Env env;
  offkv_client *owner = env.open();
  Txn txn;
  txn.create("/te", "e", OFFKV_EPHEMERAL).create("/tp", "p");
  REQUIRE_OK(commit(owner, txn).rc);
  CHECK(version_of(env.c(), "/te") == 1);
  CHECK_CODE(offkv_create(env.c(), "/te/child", "", 0, 0, nullptr), OFFKV_EEPHEMERAL);
  REQUIRE_OK(offkv_close(owner));
  CHECK(version_of(env.c(), "/te") == 0);
  CHECK(version_of(env.c(), "/tp") == 1);
}
