// SPEC §3, sequential nodes: ZooKeeper's form (10 zero-padded digits from a counter
// per parent that only increases) and the actual key returned. Only the form and the
// strict increase are contractual: ZooKeeper's counter also counts other child
// creations and deletions, so no starting value or step is asserted.
#include "conformance.hpp"

using namespace conf;

namespace {

std::vector<std::string> chain_of_length(std::size_t total) {
  std::vector<std::string> keys;
  std::string key;
  while (key.size() < total) {
    std::size_t room = total - key.size() - 1;
    std::size_t len = std::min<std::size_t>(200, room);
    if (room > 200 && room - 200 < 2) len = 150;
    key += "/" + std::string(len, static_cast<char>('a' + keys.size() % 26));
    keys.push_back(key);
  }
  return keys;
}

}  // namespace

TEST_CASE("a sequential create returns the key with a 10-digit suffix", "[sequential]") {
  Env env;
  create(env.c(), "/q", "");
  const std::string key = create(env.c(), "/q/item-", "payload", OFFKV_SEQUENTIAL);
  INFO("created " << key);
  CHECK(is_sequential_of(key, "/q/item-"));
  auto node = read(env.c(), key);
  REQUIRE(node);
  CHECK(node->value == "payload");
  CHECK(node->version == 1);
  CHECK(children(env.c(), "/q") == std::vector<std::string>{key});
  // The base name itself was not created.
  CHECK(version_of(env.c(), "/q/item-") == 0);
}

TEST_CASE("sequential numbers strictly increase within a parent", "[sequential]") {
  Env env;
  create(env.c(), "/q", "");
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(create(env.c(), "/q/n-", std::to_string(i), OFFKV_SEQUENTIAL));
    CHECK(is_sequential_of(keys.back(), "/q/n-"));
    if (i > 0) CHECK(sequence_number(keys[i]) > sequence_number(keys[i - 1]));
  }
  // Zero padding makes the bytewise order the creation order.
  CHECK(children(env.c(), "/q") == keys);
  for (int i = 0; i < 20; ++i) CHECK(value_of(env.c(), keys[i]) == std::to_string(i));
}

TEST_CASE("sequential counters of different parents are independent", "[sequential]") {
  Env env;
  create(env.c(), "/p1", "");
  create(env.c(), "/p2", "");
  std::vector<std::string> one, two;
  for (int i = 0; i < 5; ++i) {
    one.push_back(create(env.c(), "/p1/x-", "", OFFKV_SEQUENTIAL));
    two.push_back(create(env.c(), "/p2/x-", "", OFFKV_SEQUENTIAL));
    two.push_back(create(env.c(), "/p2/x-", "", OFFKV_SEQUENTIAL));
  }
  for (const auto &k : one) CHECK(is_sequential_of(k, "/p1/x-"));
  for (const auto &k : two) CHECK(is_sequential_of(k, "/p2/x-"));
  for (std::size_t i = 1; i < one.size(); ++i)
    CHECK(sequence_number(one[i]) > sequence_number(one[i - 1]));
  for (std::size_t i = 1; i < two.size(); ++i)
    CHECK(sequence_number(two[i]) > sequence_number(two[i - 1]));
  CHECK(children(env.c(), "/p1") == one);
  CHECK(children(env.c(), "/p2") == two);
}

TEST_CASE("sequential creates with different names share their parent's counter",
          "[sequential]") {
  Env env;
  create(env.c(), "/p", "");
  const std::string a1 = create(env.c(), "/p/a-", "", OFFKV_SEQUENTIAL);
  const std::string b1 = create(env.c(), "/p/b-", "", OFFKV_SEQUENTIAL);
  const std::string a2 = create(env.c(), "/p/a-", "", OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(a1, "/p/a-"));
  CHECK(is_sequential_of(b1, "/p/b-"));
  CHECK(is_sequential_of(a2, "/p/a-"));
  CHECK(sequence_number(b1) > sequence_number(a1));
  CHECK(sequence_number(a2) > sequence_number(b1));
}

TEST_CASE("sequential numbers never go back after an erase", "[sequential]") {
  Env env;
  create(env.c(), "/p", "");
  const std::string first = create(env.c(), "/p/s-", "", OFFKV_SEQUENTIAL);
  const std::string second = create(env.c(), "/p/s-", "", OFFKV_SEQUENTIAL);
  REQUIRE_OK(offkv_erase(env.c(), second.c_str(), 0));
  REQUIRE_OK(offkv_erase(env.c(), first.c_str(), 0));
  const std::string third = create(env.c(), "/p/s-", "", OFFKV_SEQUENTIAL);
  CHECK(sequence_number(third) > sequence_number(second));
  CHECK(third != first);
  CHECK(third != second);
}

TEST_CASE("a sequential create directly under the root works", "[sequential]") {
  Env env;
  const std::string a = create(env.c(), "/top-", "", OFFKV_SEQUENTIAL);
  const std::string b = create(env.c(), "/top-", "", OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(a, "/top-"));
  CHECK(is_sequential_of(b, "/top-"));
  CHECK(sequence_number(b) > sequence_number(a));
  CHECK(children(env.c(), "/") == std::vector<std::string>{a, b});
}

TEST_CASE("a sequential create needs its parent", "[sequential]") {
  Env env;
  char *actual = nullptr;
  REQUIRE_CODE(offkv_create(env.c(), "/none/s-", "", 0, OFFKV_SEQUENTIAL, &actual),
               OFFKV_ENOENT);
  CHECK(actual == nullptr);
  CHECK(contains(offkv_last_error(), "/none"));
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("a sequential create with no created_key still creates the node",
          "[sequential]") {
  Env env;
  create(env.c(), "/p", "");
  REQUIRE_OK(offkv_create(env.c(), "/p/s-", "v", 1, OFFKV_SEQUENTIAL, nullptr));
  auto listed = children(env.c(), "/p");
  REQUIRE(listed.size() == 1);
  CHECK(is_sequential_of(listed[0], "/p/s-"));
  CHECK(value_of(env.c(), listed[0]) == "v");
}

TEST_CASE("the sequential suffix must fit the 255-byte segment limit",
          "[sequential][keys]") {
  Env env;
  create(env.c(), "/p", "");
  const std::string fits = "/p/" + std::string(OFFKV_MAX_SEGMENT_SIZE - 10, 'f');
  const std::string key = create(env.c(), fits, "", OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(key, fits));
  CHECK(key.size() - 3 == OFFKV_MAX_SEGMENT_SIZE);
  const std::string too_long = "/p/" + std::string(OFFKV_MAX_SEGMENT_SIZE - 9, 'f');
  char *actual = nullptr;
  CHECK_CODE(offkv_create(env.c(), too_long.c_str(), "", 0, OFFKV_SEQUENTIAL, &actual),
             OFFKV_EINVAL);
  CHECK(actual == nullptr);
  CHECK(children(env.c(), "/p") == std::vector<std::string>{key});
}

TEST_CASE("the sequential suffix must fit the key size limit", "[sequential][keys]") {
  Env env;
  // Ancestors, then a base name that leaves exactly 10 bytes (fits) or 9 (does not).
  auto chain = chain_of_length(OFFKV_MAX_KEY_SIZE - env.root().size() - 10);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) create(env.c(), chain[i], "");
  const std::string fits = chain.back();
  REQUIRE(env.root().size() + fits.size() + 10 == OFFKV_MAX_KEY_SIZE);
  const std::string key = create(env.c(), fits, "", OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(key, fits));
  const std::string over = fits + "x";
  char *actual = nullptr;
  CHECK_CODE(offkv_create(env.c(), over.c_str(), "", 0, OFFKV_SEQUENTIAL, &actual),
             OFFKV_ETOOBIG);
  CHECK(actual == nullptr);
  CHECK(children(env.c(), chain[chain.size() - 2]) == std::vector<std::string>{key});
}

TEST_CASE("ephemeral and sequential combine", "[sequential][ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(env.c(), "/election", "");
  const std::string a =
      create(owner, "/election/m-", "host-a", OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL);
  const std::string b =
      create(owner, "/election/m-", "host-b", OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(a, "/election/m-"));
  CHECK(is_sequential_of(b, "/election/m-"));
  CHECK(sequence_number(b) > sequence_number(a));
  CHECK(value_of(env.c(), a) == "host-a");
  CHECK_CODE(offkv_create(env.c(), (a + "/child").c_str(), "", 0, 0, nullptr),
             OFFKV_EEPHEMERAL);
  CHECK(children(env.c(), "/election") == std::vector<std::string>{a, b});
  REQUIRE_OK(offkv_close(owner));
  CHECK(children(env.c(), "/election").empty());
}

TEST_CASE("sequential creates in a transaction return their actual keys",
          "[sequential][txn]") {
  Env env;
  create(env.c(), "/q", "");
  Txn txn;
  txn.create("/q/t-", "one", OFFKV_SEQUENTIAL)
      .create("/q/plain", "p")
      .create("/q/t-", "two", OFFKV_SEQUENTIAL);
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 3);
  CHECK(is_sequential_of(result.ops[0].key, "/q/t-"));
  CHECK(result.ops[1].key == "/q/plain");
  CHECK(is_sequential_of(result.ops[2].key, "/q/t-"));
  CHECK(sequence_number(result.ops[2].key) > sequence_number(result.ops[0].key));
  for (const auto &op : result.ops) CHECK(op.version == 1);
  CHECK(value_of(env.c(), result.ops[0].key) == "one");
  CHECK(value_of(env.c(), result.ops[2].key) == "two");
  // Sequential creates after the transaction keep increasing.
  const std::string later = create(env.c(), "/q/t-", "", OFFKV_SEQUENTIAL);
  CHECK(sequence_number(later) > sequence_number(result.ops[2].key));
}
