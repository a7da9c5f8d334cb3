// SPEC §3 (and the prefix of §1): create, set, cas, get, exists, children; versions;
// parents; prefixes as chroots.
#include "conformance.hpp"

using namespace conf;

TEST_CASE("create makes a node at version 1 and returns its key", "[nodes]") {
  Env env;
  char *actual = nullptr;
  REQUIRE_OK(offkv_create(env.c(), "/n", "value", 5, 0, &actual));
  REQUIRE(actual != nullptr);
  CHECK(std::string(actual) == "/n");
  offkv_string_free(actual);
  auto node = read(env.c(), "/n");
  REQUIRE(node);
  CHECK(node->value == "value");
  CHECK(node->version == 1);
  CHECK(version_of(env.c(), "/n") == 1);
  // created_key may be NULL.
  REQUIRE_OK(offkv_create(env.c(), "/m", "v", 1, 0, nullptr));
  CHECK(version_of(env.c(), "/m") == 1);
}

TEST_CASE("create of an existing key is EEXIST and changes nothing", "[nodes]") {
  Env env;
  create(env.c(), "/n", "first");
  set(env.c(), "/n", "second");
  char *actual = nullptr;
  for (int flags : {0, OFFKV_EPHEMERAL}) {
    REQUIRE_CODE(offkv_create(env.c(), "/n", "third", 5, flags, &actual), OFFKV_EEXIST);
    CHECK(actual == nullptr);
    CHECK(contains(offkv_last_error(), "/n"));
  }
  auto node = read(env.c(), "/n");
  REQUIRE(node);
  CHECK(node->value == "second");
  CHECK(node->version == 2);
}

TEST_CASE("create without its parent is ENOENT naming the missing parent", "[nodes]") {
  Env env;
  create(env.c(), "/a", "");
  for (int flags : {0, OFFKV_EPHEMERAL, OFFKV_SEQUENTIAL}) {
    INFO("flags " << flags);
    REQUIRE_CODE(offkv_create(env.c(), "/a/b/c", "v", 1, flags, nullptr), OFFKV_ENOENT);
    CHECK(contains(offkv_last_error(), "/a/b"));
    REQUIRE_CODE(offkv_create(env.c(), "/x/y", "v", 1, flags, nullptr), OFFKV_ENOENT);
    CHECK(contains(offkv_last_error(), "/x"));
  }
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/a"});
  CHECK(children(env.c(), "/a").empty());
}

TEST_CASE("keys directly under the client root need no parent", "[nodes]") {
  Env env;
  create(env.c(), "/top", "t");
  CHECK(set(env.c(), "/top2", "t") == 1);
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/top3", "t", 1, 0, &version));
  CHECK(version == 1);
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/top", "/top2", "/top3"});
}

TEST_CASE("create refuses unknown flags and creates nothing", "[nodes]") {
  Env env;
  for (int flags : {4, 8, 0x100, -1, OFFKV_EPHEMERAL | 16}) {
    INFO("flags " << flags);
    char *actual = nullptr;
    CHECK_CODE(offkv_create(env.c(), "/f", "v", 1, flags, &actual), OFFKV_EINVAL);
    CHECK(actual == nullptr);
  }
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("set creates an absent node at version 1", "[nodes]") {
  Env env;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_set(env.c(), "/s", "v", 1, &version));
  CHECK(version == 1);
  auto node = read(env.c(), "/s");
  REQUIRE(node);
  CHECK(node->value == "v");
  CHECK(node->version == 1);
}

TEST_CASE("set replaces the value and increments the version", "[nodes]") {
  Env env;
  create(env.c(), "/s", "v1");
  for (int i = 2; i <= 6; ++i) {
    std::string value = "v" + std::to_string(i);
    CHECK(set(env.c(), "/s", value) == i);
    auto node = read(env.c(), "/s");
    REQUIRE(node);
    CHECK(node->value == value);
    CHECK(node->version == i);
  }
  // Setting the same value again is still a change.
  CHECK(set(env.c(), "/s", "v6") == 7);
}

TEST_CASE("set without its parent is ENOENT naming the missing parent", "[nodes]") {
  Env env;
  std::int64_t version = 5;
  REQUIRE_CODE(offkv_set(env.c(), "/no/such", "v", 1, &version), OFFKV_ENOENT);
  CHECK(version == 0);
  CHECK(contains(offkv_last_error(), "/no"));
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("set accepts NULL for the new version", "[nodes]") {
  Env env;
  REQUIRE_OK(offkv_set(env.c(), "/s", "a", 1, nullptr));
  REQUIRE_OK(offkv_set(env.c(), "/s", "b", 1, nullptr));
  CHECK(value_of(env.c(), "/s") == "b");
  CHECK(version_of(env.c(), "/s") == 2);
}

TEST_CASE("cas with expected 0 creates only if absent", "[nodes][cas]") {
  Env env;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/c", "first", 5, 0, &version));
  CHECK(version == 1);
  CHECK(value_of(env.c(), "/c") == "first");
}

TEST_CASE("cas with expected 0 on an existing node is EVERSION and writes nothing",
          "[nodes][cas]") {
  Env env;
  create(env.c(), "/c", "first");
  std::int64_t version = 9;
  REQUIRE_CODE(offkv_cas(env.c(), "/c", "second", 6, 0, &version), OFFKV_EVERSION);
  CHECK(version == 0);
  CHECK(contains(offkv_last_error(), "/c"));
  auto node = read(env.c(), "/c");
  REQUIRE(node);
  CHECK(node->value == "first");
  CHECK(node->version == 1);
}

TEST_CASE("cas with the current version replaces and increments", "[nodes][cas]") {
  Env env;
  create(env.c(), "/c", "0");
  for (std::int64_t v = 1; v <= 5; ++v) {
    std::int64_t version = 0;
    std::string value = std::to_string(v);
    REQUIRE_OK(offkv_cas(env.c(), "/c", value.data(), value.size(), v, &version));
    CHECK(version == v + 1);
  }
  auto node = read(env.c(), "/c");
  REQUIRE(node);
  CHECK(node->value == "5");
  CHECK(node->version == 6);
}

TEST_CASE("cas with a wrong version is EVERSION and writes nothing", "[nodes][cas]") {
  Env env;
  create(env.c(), "/c", "a");
  set(env.c(), "/c", "b");
  set(env.c(), "/c", "c");  // version 3
  for (std::int64_t wrong :
       {INT64_C(1), INT64_C(2), INT64_C(4), INT64_C(100), INT64_C(1) << 40}) {
    INFO("expected " << wrong);
    std::int64_t version = 7;
    CHECK_CODE(offkv_cas(env.c(), "/c", "x", 1, wrong, &version), OFFKV_EVERSION);
    CHECK(version == 0);
  }
  auto node = read(env.c(), "/c");
  REQUIRE(node);
  CHECK(node->value == "c");
  CHECK(node->version == 3);
}

TEST_CASE("cas with a version on an absent node is EVERSION and creates nothing",
          "[nodes][cas]") {
  Env env;
  std::int64_t version = 0;
  CHECK_CODE(offkv_cas(env.c(), "/absent", "x", 1, 1, &version), OFFKV_EVERSION);
  CHECK(version_of(env.c(), "/absent") == 0);
  create(env.c(), "/gone", "x");
  REQUIRE_OK(offkv_erase(env.c(), "/gone", 0));
  CHECK_CODE(offkv_cas(env.c(), "/gone", "x", 1, 1, &version), OFFKV_EVERSION);
  CHECK(version_of(env.c(), "/gone") == 0);
}

TEST_CASE("cas with expected 0 needs the parent", "[nodes][cas]") {
  Env env;
  std::int64_t version = 0;
  CHECK_CODE(offkv_cas(env.c(), "/no/child", "x", 1, 0, &version), OFFKV_ENOENT);
  CHECK(contains(offkv_last_error(), "/no"));
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("cas with a negative expected version is EINVAL", "[nodes][cas]") {
  Env env;
  create(env.c(), "/c", "a");
  std::int64_t version = 0;
  CHECK_CODE(offkv_cas(env.c(), "/c", "x", 1, -1, &version), OFFKV_EINVAL);
  CHECK_CODE(offkv_cas(env.c(), "/c", "x", 1, INT64_MIN, &version), OFFKV_EINVAL);
  CHECK(value_of(env.c(), "/c") == "a");
  CHECK(version_of(env.c(), "/c") == 1);
}

TEST_CASE("versions restart at 1 after erase and create", "[nodes][versions]") {
  Env env;
  create(env.c(), "/v", "1");
  CHECK(set(env.c(), "/v", "2") == 2);
  CHECK(set(env.c(), "/v", "3") == 3);
  REQUIRE_OK(offkv_erase(env.c(), "/v", 3));
  CHECK(version_of(env.c(), "/v") == 0);
  create(env.c(), "/v", "again");
  CHECK(version_of(env.c(), "/v") == 1);
  CHECK(set(env.c(), "/v", "x") == 2);
  // Recreated by set and by cas(0) too.
  REQUIRE_OK(offkv_erase(env.c(), "/v", 0));
  CHECK(set(env.c(), "/v", "by set") == 1);
  REQUIRE_OK(offkv_erase(env.c(), "/v", 0));
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/v", "by cas", 6, 0, &version));
  CHECK(version == 1);
}

TEST_CASE("a mixed sequence of writes gives the documented versions",
          "[nodes][versions]") {
  Env env;
  std::int64_t v = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/k", "a", 1, 0, &v));
  CHECK(v == 1);
  REQUIRE_OK(offkv_set(env.c(), "/k", "b", 1, &v));
  CHECK(v == 2);
  REQUIRE_OK(offkv_cas(env.c(), "/k", "c", 1, 2, &v));
  CHECK(v == 3);
  CHECK_CODE(offkv_cas(env.c(), "/k", "d", 1, 2, &v), OFFKV_EVERSION);
  REQUIRE_OK(offkv_set(env.c(), "/k", "e", 1, &v));
  CHECK(v == 4);
  Txn txn;
  txn.check("/k", 4).set("/k", "f");
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 1);
  CHECK(result.ops[0].version == 5);
  CHECK(version_of(env.c(), "/k") == 5);
  CHECK_CODE(offkv_erase(env.c(), "/k", 4), OFFKV_EVERSION);
  REQUIRE_OK(offkv_erase(env.c(), "/k", 5));
  CHECK(version_of(env.c(), "/k") == 0);
}

TEST_CASE("exists reports the version or 0 without failing", "[nodes]") {
  Env env;
  std::int64_t version = 42;
  REQUIRE_OK(offkv_exists(env.c(), "/e", &version));
  CHECK(version == 0);
  create(env.c(), "/e", "");
  REQUIRE_OK(offkv_exists(env.c(), "/e", &version));
  CHECK(version == 1);
  set(env.c(), "/e", "x");
  REQUIRE_OK(offkv_exists(env.c(), "/e", &version));
  CHECK(version == 2);
  // Under an absent parent: still just 0.
  REQUIRE_OK(offkv_exists(env.c(), "/none/deeper/still", &version));
  CHECK(version == 0);
}

TEST_CASE("get of an absent node is ENOENT naming the key", "[nodes]") {
  Env env;
  offkv_buf buf{nullptr, 0};
  std::int64_t version = 3;
  REQUIRE_CODE(offkv_get(env.c(), "/missing-key", &buf, &version), OFFKV_ENOENT);
  CHECK(buf.data == nullptr);
  CHECK(buf.len == 0);
  CHECK(version == 0);
  CHECK(contains(offkv_last_error(), "/missing-key"));
  REQUIRE_CODE(offkv_get(env.c(), "/missing/deeper", &buf, &version), OFFKV_ENOENT);
}

TEST_CASE("children are the direct children as full keys", "[nodes][children]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/a", "");
  create(env.c(), "/p/b", "");
  create(env.c(), "/p/a/grandchild", "");
  create(env.c(), "/p/a/grandchild/deeper", "");
  create(env.c(), "/sibling", "");
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/a", "/p/b"});
  CHECK(children(env.c(), "/p/a") == std::vector<std::string>{"/p/a/grandchild"});
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/p", "/sibling"});
}

TEST_CASE("children are sorted bytewise", "[nodes][children]") {
  Env env;
  create(env.c(), "/p", "");
  const std::vector<std::string> names = {"b",
                                          "B",
                                          "a",
                                          "A",
                                          "aa",
                                          "a-b",
                                          "a_b",
                                          "a.b",
                                          "Z",
                                          "z",
                                          "0",
                                          "9",
                                          "10",
                                          "1",
                                          "_",
                                          "-",
                                          "~",
                                          " x",
                                          "\xc3\xa9",      // é
                                          "\xe6\x97\xa5",  // 日
                                          "\xc3\x89",      // É
                                          "\xce\xa9",      // Ω
                                          "e",
                                          "f"};
  std::vector<std::string> keys;
  // Created in a scrambled order.
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string &name = names[(i * 7) % names.size()];
    create(env.c(), "/p/" + name, "");
    keys.push_back("/p/" + name);
  }
  REQUIRE(bytewise_sorted(keys).size() == names.size());
  auto listed = children(env.c(), "/p");
  CHECK(listed == bytewise_sorted(keys));
  // Spot checks of the byte order: upper case before lower case, ASCII before UTF-8.
  auto pos = [&](const std::string &k) {
    return std::find(listed.begin(), listed.end(), "/p/" + k) - listed.begin();
  };
  CHECK(pos("B") < pos("a"));
  CHECK(pos("z") < pos("\xc3\x89"));
  CHECK(pos("\xc3\x89") < pos("\xc3\xa9"));
  CHECK(pos("\xce\xa9") < pos("\xe6\x97\xa5"));
  CHECK(pos("1") < pos("10"));
  CHECK(pos("10") < pos("9"));
}

TEST_CASE("children of a leaf is an empty list", "[nodes][children]") {
  Env env;
  create(env.c(), "/leaf", "value");
  offkv_strings list{nullptr, 7};
  REQUIRE_OK(offkv_children(env.c(), "/leaf", &list));
  CHECK(list.count == 0);
  offkv_strings_free(&list);
}

TEST_CASE("children of an absent node is ENOENT", "[nodes][children]") {
  Env env;
  offkv_strings list{nullptr, 0};
  REQUIRE_CODE(offkv_children(env.c(), "/absent", &list), OFFKV_ENOENT);
  CHECK(list.items == nullptr);
  CHECK(list.count == 0);
  CHECK(contains(offkv_last_error(), "/absent"));
  create(env.c(), "/gone", "");
  REQUIRE_OK(offkv_erase(env.c(), "/gone", 0));
  CHECK_CODE(offkv_children(env.c(), "/gone", &list), OFFKV_ENOENT);
}

TEST_CASE("children lists hundreds of children", "[nodes][children]") {
  Env env;
  create(env.c(), "/many", "");
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    std::string key = "/many/c" + std::to_string(i);
    keys.push_back(key);
  }
  // Half by create, half by one transaction per 15.
  for (int i = 0; i < 150; ++i) create(env.c(), keys[i], "");
  for (int i = 150; i < 300; i += 15) {
    Txn txn;
    for (int j = i; j < i + 15; ++j) txn.create(keys[j], "");
    REQUIRE_OK(commit(env.c(), txn).rc);
  }
  CHECK(children(env.c(), "/many") == bytewise_sorted(keys));
}

TEST_CASE("child changes do not change the parent's version or value", "[nodes]") {
  Env env;
  create(env.c(), "/p", "parent");
  create(env.c(), "/p/c", "");
  set(env.c(), "/p/c", "x");
  create(env.c(), "/p/d", "");
  REQUIRE_OK(offkv_erase(env.c(), "/p/d", 0));
  auto node = read(env.c(), "/p");
  REQUIRE(node);
  CHECK(node->value == "parent");
  CHECK(node->version == 1);
  // And the parent's own writes leave the children alone.
  CHECK(set(env.c(), "/p", "changed") == 2);
  CHECK(version_of(env.c(), "/p/c") == 2);
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/c"});
}

TEST_CASE("a node may have both a value and children", "[nodes]") {
  Env env;
  create(env.c(), "/p", "payload");
  create(env.c(), "/p/c", "child payload");
  CHECK(value_of(env.c(), "/p") == "payload");
  CHECK(value_of(env.c(), "/p/c") == "child payload");
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/c"});
}

TEST_CASE("create under an erased parent is ENOENT", "[nodes]") {
  Env env;
  create(env.c(), "/p", "");
  REQUIRE_OK(offkv_erase(env.c(), "/p", 0));
  CHECK_CODE(offkv_create(env.c(), "/p/c", "", 0, 0, nullptr), OFFKV_ENOENT);
  CHECK_CODE(offkv_set(env.c(), "/p/c", "", 0, nullptr), OFFKV_ENOENT);
  CHECK(version_of(env.c(), "/p") == 0);
}

TEST_CASE("two clients on the same root share one tree", "[nodes][prefix]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/shared", "from main");
  CHECK(value_of(other, "/shared") == "from main");
  CHECK(set(other, "/shared", "from other") == 2);
  auto node = read(env.c(), "/shared");
  REQUIRE(node);
  CHECK(node->value == "from other");
  CHECK(node->version == 2);
  CHECK(children(other, "/") == std::vector<std::string>{"/shared"});
}

TEST_CASE("clients with different prefixes never see each other's keys",
          "[nodes][prefix]") {
  Env env;
  offkv_client *a = env.open_at("/tenant-a");
  offkv_client *b = env.open_at("/tenant-b");
  create(a, "/k", "a's");
  create(a, "/k/child", "a's child");
  create(a, "/only-a", "");
  CHECK(version_of(b, "/k") == 0);
  CHECK(version_of(b, "/only-a") == 0);
  create(b, "/k", "b's");
  CHECK(children(a, "/") == std::vector<std::string>{"/k", "/only-a"});
  CHECK(children(b, "/") == std::vector<std::string>{"/k"});
  CHECK(value_of(a, "/k") == "a's");
  CHECK(value_of(b, "/k") == "b's");
  REQUIRE_OK(offkv_erase(b, "/k", 0));
  CHECK(value_of(a, "/k") == "a's");
  CHECK(value_of(a, "/k/child") == "a's child");
  CHECK(version_of(b, "/k") == 0);
  // A prefix that is a string prefix of the other is still a different tree.
  offkv_client *ab = env.open_at("/tenant-ab");
  create(ab, "/k", "ab's");
  CHECK(value_of(a, "/k") == "a's");
  CHECK(children(ab, "/") == std::vector<std::string>{"/k"});
}

TEST_CASE("a nested prefix is a window on the parent client's subtree",
          "[nodes][prefix]") {
  Env env;
  create(env.c(), "/sub", "");
  offkv_client *nested = env.open_at("/sub");
  create(nested, "/k", "through the window");
  CHECK(value_of(env.c(), "/sub/k") == "through the window");
  CHECK(set(env.c(), "/sub/k", "from outside") == 2);
  auto node = read(nested, "/k");
  REQUIRE(node);
  CHECK(node->value == "from outside");
  CHECK(node->version == 2);
  CHECK(children(nested, "/") == std::vector<std::string>{"/k"});
  CHECK(children(env.c(), "/sub") == std::vector<std::string>{"/sub/k"});
}
