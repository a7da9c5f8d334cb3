// SPEC §2, values: binary-safe byte strings, possibly empty, with one uniform maximum
// size through every operation; above it ETOOBIG and nothing is written.
#include "conformance.hpp"

using namespace conf;

namespace {

const std::string kMax = pattern(OFFKV_MAX_VALUE_SIZE, 7);
const std::string kOver = pattern(OFFKV_MAX_VALUE_SIZE + 1, 8);

void expect_node(offkv_client *c, const std::string &key, const std::string &value,
                 std::int64_t version) {
  INFO("key " << key);
  auto node = read(c, key);
  REQUIRE(node.has_value());
  CHECK(node->version == version);
  CHECK(node->value.size() == value.size());
  CHECK(node->value == value);
}

}  // namespace

TEST_CASE("embedded NULs round-trip through create, set, cas and get", "[values]") {
  Env env;
  const std::string v1("\0a\0b\0", 5), v2("x\0\0\0y", 5), v3(std::string(3, '\0'));
  create(env.c(), "/n", v1);
  expect_node(env.c(), "/n", v1, 1);
  CHECK(set(env.c(), "/n", v2) == 2);
  expect_node(env.c(), "/n", v2, 2);
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/n", v3.data(), v3.size(), 2, &version));
  CHECK(version == 3);
  expect_node(env.c(), "/n", v3, 3);
}

TEST_CASE("every byte value round-trips", "[values]") {
  Env env;
  const std::string bytes = all_bytes(4);
  REQUIRE(bytes.size() == 1024);
  create(env.c(), "/created", bytes);
  set(env.c(), "/set", bytes);
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/cas", bytes.data(), bytes.size(), 0, &version));
  Txn txn;
  txn.create("/txn", bytes);
  REQUIRE_OK(commit(env.c(), txn).rc);
  for (const char *key : {"/created", "/set", "/cas", "/txn"})
    expect_node(env.c(), key, bytes, 1);
  // Reversed order, and a value made only of 0xff and 0x00.
  const std::string reversed(bytes.rbegin(), bytes.rend());
  CHECK(set(env.c(), "/created", reversed) == 2);
  expect_node(env.c(), "/created", reversed, 2);
  const std::string extremes = std::string(8, '\xff') + std::string(8, '\0');
  CHECK(set(env.c(), "/set", extremes) == 2);
  expect_node(env.c(), "/set", extremes, 2);
}

TEST_CASE("an empty value is stored and read back as empty", "[values]") {
  Env env;
  REQUIRE_OK(offkv_create(env.c(), "/null", nullptr, 0, 0, nullptr));
  REQUIRE_OK(offkv_create(env.c(), "/empty", "", 0, 0, nullptr));
  create(env.c(), "/later", "not empty");
  CHECK(set(env.c(), "/later", "") == 2);
  for (const char *key : {"/null", "/empty", "/later"}) {
    INFO("key " << key);
    offkv_buf buf{nullptr, 99};
    std::int64_t version = 0;
    REQUIRE_OK(offkv_get(env.c(), key, &buf, &version));
    CHECK(buf.len == 0);
    REQUIRE(buf.data != nullptr);  // data[len] is always 0
    CHECK(buf.data[0] == '\0');
    CHECK(version >= 1);
    offkv_buf_free(&buf);
  }
  Txn txn;
  txn.create("/txn-empty", "").set("/null", "");
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  expect_node(env.c(), "/txn-empty", "", 1);
  expect_node(env.c(), "/null", "", 2);
}

TEST_CASE("a returned value is NUL-terminated after its length", "[values]") {
  Env env;
  create(env.c(), "/v", "abc");
  offkv_buf buf{nullptr, 0};
  REQUIRE_OK(offkv_get(env.c(), "/v", &buf, nullptr));
  REQUIRE(buf.len == 3);
  CHECK(std::string(buf.data) == "abc");
  CHECK(buf.data[3] == '\0');
  offkv_buf_free(&buf);
  CHECK(buf.data == nullptr);
}

TEST_CASE("get accepts NULL for the value and for the version", "[values]") {
  Env env;
  create(env.c(), "/v", "abc");
  CHECK_OK(offkv_get(env.c(), "/v", nullptr, nullptr));
  std::int64_t version = 0;
  CHECK_OK(offkv_get(env.c(), "/v", nullptr, &version));
  CHECK(version == 1);
  offkv_buf buf{nullptr, 0};
  CHECK_OK(offkv_get(env.c(), "/v", &buf, nullptr));
  CHECK(str(buf) == "abc");
  offkv_buf_free(&buf);
  CHECK_CODE(offkv_get(env.c(), "/absent", nullptr, nullptr), OFFKV_ENOENT);
}

TEST_CASE("a value of exactly OFFKV_MAX_VALUE_SIZE works through create set and cas",
          "[values][limits]") {
  Env env;
  REQUIRE(kMax.size() == OFFKV_MAX_VALUE_SIZE);
  create(env.c(), "/create", kMax);
  expect_node(env.c(), "/create", kMax, 1);
  CHECK(set(env.c(), "/set", kMax) == 1);  // set creating
  expect_node(env.c(), "/set", kMax, 1);
  create(env.c(), "/replace", "small");
  CHECK(set(env.c(), "/replace", kMax) == 2);  // set replacing
  expect_node(env.c(), "/replace", kMax, 2);
  std::int64_t version = 0;
  REQUIRE_OK(offkv_cas(env.c(), "/cas0", kMax.data(), kMax.size(), 0, &version));
  CHECK(version == 1);
  REQUIRE_OK(offkv_cas(env.c(), "/create", kMax.data(), kMax.size(), 1, &version));
  CHECK(version == 2);
  expect_node(env.c(), "/cas0", kMax, 1);
  expect_node(env.c(), "/create", kMax, 2);
  // And back to something small: no trace of the large value remains.
  CHECK(set(env.c(), "/replace", "x") == 3);
  expect_node(env.c(), "/replace", "x", 3);
}

TEST_CASE("a value of exactly OFFKV_MAX_VALUE_SIZE works in a transaction",
          "[values][limits][txn]") {
  Env env;
  create(env.c(), "/existing", "small");
  Txn txn;
  txn.check("/existing", 1).create("/created", kMax).set("/existing", kMax);
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 2);
  CHECK(result.ops[0].version == 1);
  CHECK(result.ops[1].version == 2);
  expect_node(env.c(), "/created", kMax, 1);
  expect_node(env.c(), "/existing", kMax, 2);
}

TEST_CASE("the largest transaction carries maximum-size values",
          "[values][limits][txn]") {
  // Both limits at once: OFFKV_MAX_TXN_OPS ops, each with a maximum-size value.
  Env env;
  Txn txn;
  for (int i = 0; i < OFFKV_MAX_TXN_OPS; ++i)
    txn.create("/big" + std::to_string(i), pattern(OFFKV_MAX_VALUE_SIZE, 100 + i));
  auto result = commit(env.c(), txn);
  INFO(result.error);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == OFFKV_MAX_TXN_OPS);
  for (int i = 0; i < OFFKV_MAX_TXN_OPS; ++i)
    expect_node(env.c(), "/big" + std::to_string(i),
                pattern(OFFKV_MAX_VALUE_SIZE, 100 + i), 1);
}

TEST_CASE("one byte over the value limit is ETOOBIG for create and nothing is created",
          "[values][limits]") {
  Env env;
  create(env.c(), "/p", "");
  char *created = nullptr;
  for (int flags : {0, OFFKV_EPHEMERAL, OFFKV_SEQUENTIAL}) {
    INFO("flags " << flags);
    CHECK_CODE(
        offkv_create(env.c(), "/p/big", kOver.data(), kOver.size(), flags, &created),
        OFFKV_ETOOBIG);
    CHECK(created == nullptr);
    // The message gives the limit.
    CHECK(contains(offkv_last_error(), std::to_string(OFFKV_MAX_VALUE_SIZE)));
  }
  CHECK(children(env.c(), "/p").empty());
}

TEST_CASE("one byte over the value limit is ETOOBIG for set and nothing changes",
          "[values][limits]") {
  Env env;
  create(env.c(), "/existing", "original");
  std::int64_t version = 77;
  CHECK_CODE(offkv_set(env.c(), "/existing", kOver.data(), kOver.size(), &version),
             OFFKV_ETOOBIG);
  CHECK(version == 0);
  CHECK_CODE(offkv_set(env.c(), "/absent", kOver.data(), kOver.size(), &version),
             OFFKV_ETOOBIG);
  expect_node(env.c(), "/existing", "original", 1);
  CHECK(version_of(env.c(), "/absent") == 0);
  // Far above the limit too.
  const std::string huge(4 * OFFKV_MAX_VALUE_SIZE, 'h');
  CHECK_CODE(offkv_set(env.c(), "/existing", huge.data(), huge.size(), &version),
             OFFKV_ETOOBIG);
  expect_node(env.c(), "/existing", "original", 1);
}

TEST_CASE("one byte over the value limit is ETOOBIG for cas and nothing changes",
          "[values][limits]") {
  Env env;
  create(env.c(), "/existing", "original");
  std::int64_t version = 0;
  CHECK_CODE(offkv_cas(env.c(), "/existing", kOver.data(), kOver.size(), 1, &version),
             OFFKV_ETOOBIG);
  CHECK_CODE(offkv_cas(env.c(), "/absent", kOver.data(), kOver.size(), 0, &version),
             OFFKV_ETOOBIG);
  expect_node(env.c(), "/existing", "original", 1);
  CHECK(version_of(env.c(), "/absent") == 0);
}

TEST_CASE("one byte over the value limit in a transaction refuses all of it",
          "[values][limits][txn]") {
  Env env;
  create(env.c(), "/existing", "original");
  for (bool as_set : {false, true}) {
    INFO((as_set ? "oversize set" : "oversize create"));
    offkv_txn *txn = nullptr;
    REQUIRE_OK(offkv_txn_new(&txn));
    REQUIRE_OK(offkv_txn_create(txn, "/new", "n", 1, 0));
    REQUIRE_OK(offkv_txn_set(txn, "/existing", "changed", 7));
    int rc = as_set ? offkv_txn_set(txn, "/other", kOver.data(), kOver.size())
                    : offkv_txn_create(txn, "/other", kOver.data(), kOver.size(), 0);
    if (rc == OFFKV_OK) rc = offkv_commit(env.c(), txn, nullptr);
    CHECK(code_name(rc) == code_name(OFFKV_ETOOBIG));
    offkv_txn_free(txn);
    CHECK(version_of(env.c(), "/new") == 0);
    CHECK(version_of(env.c(), "/other") == 0);
    expect_node(env.c(), "/existing", "original", 1);
  }
}

TEST_CASE("get_watch reads the same value and version as get", "[values][watches]") {
  Env env;
  const std::string bytes = all_bytes(2);
  create(env.c(), "/v", bytes);
  set(env.c(), "/v", bytes + "x");
  offkv_buf buf{nullptr, 0};
  std::int64_t version = 0;
  Watch watch;
  REQUIRE_OK(
      offkv_get_watch(env.c(), "/v", &buf, &version, nullptr, nullptr, watch.out()));
  CHECK(str(buf) == bytes + "x");
  CHECK(version == 2);
  offkv_buf_free(&buf);
}
