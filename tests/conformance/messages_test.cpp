// Every backend words each failure the same way: the core writes the words from what
// the store reported (core/verdict.*), and a backend only appends the store's own
// words after them. Messages name the client's keys, never the store's paths.
#include "conformance.hpp"

using namespace conf;

namespace {

// offkv_last_error() of the last call, which must begin with `words` (a backend may
// append the store's own words after them).
void expect_words(const std::string &words) {
  const std::string error = offkv_last_error();
  INFO("offkv_last_error(): \"" << error << "\"");
  CHECK(error.compare(0, words.size(), words) == 0);
}

}  // namespace

TEST_CASE("create failures are worded the same on every backend", "[messages]") {
  Env env;
  create(env.c(), "/k", "v");
  char *created = nullptr;
  CHECK_CODE(offkv_create(env.c(), "/k", "x", 1, 0, &created), OFFKV_EEXIST);
  expect_words("'/k' already exists");
  CHECK_CODE(offkv_create(env.c(), "/no/child", "x", 1, 0, &created), OFFKV_ENOENT);
  expect_words("cannot create '/no/child': parent '/no' does not exist");
  create(env.c(), "/eph", "", OFFKV_EPHEMERAL);
  CHECK_CODE(offkv_create(env.c(), "/eph/child", "x", 1, 0, &created), OFFKV_EEPHEMERAL);
  expect_words("cannot create '/eph/child': parent '/eph' is ephemeral");
  CHECK(created == nullptr);
}

TEST_CASE("cas failures name the expected and the found version on every backend",
          "[messages]") {
  Env env;
  create(env.c(), "/k", "v");
  set(env.c(), "/k", "w");  // version 2
  std::int64_t version = 0;
  CHECK_CODE(offkv_cas(env.c(), "/k", "x", 1, 1, &version), OFFKV_EVERSION);
  expect_words("cas on '/k': expected version 1, found version 2");
  CHECK_CODE(offkv_cas(env.c(), "/k", "x", 1, 0, &version), OFFKV_EVERSION);
  expect_words("cas on '/k': expected no node, found version 2");
  CHECK_CODE(offkv_cas(env.c(), "/absent", "x", 1, 3, &version), OFFKV_EVERSION);
  expect_words("cas on '/absent': expected version 3, found no node");
  CHECK(value_of(env.c(), "/k") == "w");
}

TEST_CASE("erase, get and list failures are worded the same on every backend",
          "[messages]") {
  Env env;
  create(env.c(), "/k", "v");
  CHECK_CODE(offkv_erase(env.c(), "/k", 5), OFFKV_EVERSION);
  expect_words("erase of '/k': expected version 5, found version 1");
  CHECK_CODE(offkv_erase(env.c(), "/absent", 0), OFFKV_ENOENT);
  expect_words("cannot erase '/absent': no such node");
  offkv_buf value{};
  std::int64_t version = 0;
  CHECK_CODE(offkv_get(env.c(), "/absent", &value, &version), OFFKV_ENOENT);
  expect_words("cannot get '/absent': no such node");
  offkv_strings names{};
  CHECK_CODE(offkv_children(env.c(), "/absent", &names), OFFKV_ENOENT);
  expect_words("cannot list '/absent': no such node");
  CHECK(version_of(env.c(), "/k") == 1);
}

TEST_CASE("a failed transaction check or op is worded the same on every backend",
          "[messages][txn]") {
  Env env;
  create(env.c(), "/k", "v");
  {
    Txn txn;
    txn.check("/k", 7).set("/other", "x");
    Commit result = commit(env.c(), txn);
    CHECK(code_name(result.failed_code) == "OFFKV_EVERSION");
    INFO(result.error);
    CHECK(contains(result.error, "check on '/k': expected version 7, found version 1"));
  }
  {
    Txn txn;
    txn.check("/absent", OFFKV_ANY_VERSION);
    Commit result = commit(env.c(), txn);
    CHECK(code_name(result.failed_code) == "OFFKV_ENOENT");
    INFO(result.error);
    CHECK(contains(result.error,
                   "check on '/absent': expected any version, found no node"));
  }
  {
    Txn txn;
    txn.check("/k", 0);
    Commit result = commit(env.c(), txn);
    CHECK(code_name(result.failed_code) == "OFFKV_EEXIST");
    INFO(result.error);
    CHECK(contains(result.error, "check on '/k': expected no node, found version 1"));
  }
  {
    Txn txn;
    txn.set("/other", "x").erase("/k", 4);
    Commit result = commit(env.c(), txn);
    CHECK(result.failed_index == 1);
    CHECK(code_name(result.failed_code) == "OFFKV_EVERSION");
    INFO(result.error);
    CHECK(contains(result.error, "erase of '/k': expected version 4, found version 1"));
  }
  {
    Txn txn;
    txn.create("/k", "again");
    Commit result = commit(env.c(), txn);
    CHECK(code_name(result.failed_code) == "OFFKV_EEXIST");
    INFO(result.error);
    CHECK(contains(result.error, "'/k' already exists"));
  }
  CHECK(version_of(env.c(), "/other") == 0);
}
