// Writes from a client whose last view of a node went stale: another client changed,
// erased or re-created it in between. Backends may start a write from what the client
// last saw (consul:// sends a set or cas as one compare-and-set on the ModifyIndex it
// last saw); the outcome, versions and messages must be those of a fresh read.
#include <map>

#include "conformance.hpp"

using namespace conf;

namespace {

std::int64_t cas(offkv_client *c, const std::string &key, const std::string &value,
                 std::int64_t expected) {
  std::int64_t version = -1;
  REQUIRE_OK(offkv_cas(c, key.c_str(), value.data(), value.size(), expected, &version));
  return version;
}

}  // namespace

TEST_CASE("a set after another client's write gives the next version", "[stale]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/k", "1");
  CHECK(set(env.c(), "/k", "2") == 2);
  CHECK(set(other, "/k", "3") == 3);
  CHECK(set(env.c(), "/k", "4") == 4);  // its own view said 2
  CHECK(value_of(other, "/k") == "4");
  CHECK(set(env.c(), "/k", "5") == 5);
  CHECK(version_of(other, "/k") == 5);
}

TEST_CASE("a set after another client erased or re-created the node", "[stale]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/k", "a");
  CHECK(set(env.c(), "/k", "b") == 2);
  REQUIRE_OK(offkv_erase(other, "/k", 0));
  CHECK(set(env.c(), "/k", "c") == 1);  // created again
  CHECK(set(env.c(), "/k", "d") == 2);
  REQUIRE_OK(offkv_erase(other, "/k", 0));
  create(other, "/k", "e");
  CHECK(set(env.c(), "/k", "f") == 2);
  CHECK(value_of(other, "/k") == "f");
}

TEST_CASE("a set of a node whose parent another client erased is ENOENT", "[stale]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/p", "");
  create(env.c(), "/p/c", "");
  CHECK(set(env.c(), "/p/c", "1") == 2);
  REQUIRE_OK(offkv_erase(other, "/p", 0));
  CHECK_CODE(offkv_set(env.c(), "/p/c", "2", 1, nullptr), OFFKV_ENOENT);
  CHECK(contains(offkv_last_error(), "/p"));
  CHECK(version_of(other, "/p/c") == 0);
}

TEST_CASE("a cas after another client's write reports the version found", "[stale]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/k", "1");
  CHECK(cas(env.c(), "/k", "2", 1) == 2);
  CHECK(cas(other, "/k", "3", 2) == 3);
  std::int64_t version = -1;
  CHECK_CODE(offkv_cas(env.c(), "/k", "x", 1, 2, &version), OFFKV_EVERSION);
  CHECK(contains(offkv_last_error(), "found version 3"));
  CHECK(value_of(other, "/k") == "3");
  CHECK(cas(env.c(), "/k", "4", 3) == 4);
  // Erased and created again by the other client: version 1 again, a new node.
  REQUIRE_OK(offkv_erase(other, "/k", 0));
  create(other, "/k", "new");
  CHECK_CODE(offkv_cas(env.c(), "/k", "x", 1, 4, &version), OFFKV_EVERSION);
  CHECK(contains(offkv_last_error(), "found version 1"));
  CHECK(cas(env.c(), "/k", "5", 1) == 2);
  REQUIRE_OK(offkv_erase(other, "/k", 0));
  CHECK_CODE(offkv_cas(env.c(), "/k", "x", 1, 2, &version), OFFKV_EVERSION);
  CHECK(contains(offkv_last_error(), "found no node"));
}

TEST_CASE("an erase at a version after another client's write", "[stale]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/k", "1");
  CHECK(set(env.c(), "/k", "2") == 2);
  CHECK(set(other, "/k", "3") == 3);
  CHECK_CODE(offkv_erase(env.c(), "/k", 2), OFFKV_EVERSION);
  CHECK(contains(offkv_last_error(), "found version 3"));
  REQUIRE_OK(offkv_erase(env.c(), "/k", 3));
  CHECK(version_of(other, "/k") == 0);
}

TEST_CASE("a transaction after another client's writes sees the current state",
          "[stale][txn]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/a", "1");
  create(env.c(), "/b", "1");
  {
    Txn txn;
    txn.check("/a", 1).set("/b", "2");
    auto r = commit(env.c(), txn);
    REQUIRE_OK(r.rc);
    REQUIRE(r.ops.size() == 1);
    CHECK(r.ops[0].version == 2);
  }
  CHECK(set(other, "/a", "2") == 2);
  CHECK(set(other, "/b", "3") == 3);
  {
    Txn txn;
    txn.check("/a", 1).set("/b", "x");
    auto r = commit(env.c(), txn);
    CHECK(code_name(r.rc) == "OFFKV_ETXN");
    CHECK(r.failed_index == 0);
    CHECK(code_name(r.failed_code) == "OFFKV_EVERSION");
  }
  CHECK(value_of(other, "/b") == "3");
  {
    Txn txn;
    txn.check("/a", 2).set("/b", "4");
    auto r = commit(env.c(), txn);
    REQUIRE_OK(r.rc);
    REQUIRE(r.ops.size() == 1);
    CHECK(r.ops[0].version == 4);
  }
  // The parent of a create erased by the other client: ENOENT at that op.
  create(env.c(), "/p", "");
  CHECK(set(env.c(), "/p", "v") == 2);
  REQUIRE_OK(offkv_erase(other, "/p", 0));
  {
    Txn txn;
    txn.set("/b", "5").create("/p/c", "");
    auto r = commit(env.c(), txn);
    CHECK(code_name(r.rc) == "OFFKV_ETXN");
    CHECK(r.failed_index == 1);
    CHECK(code_name(r.failed_code) == "OFFKV_ENOENT");
  }
  CHECK(value_of(other, "/b") == "4");
}

TEST_CASE("consul: a write of a node the client saw last is one request",
          "[stale][cost]") {
  // The cost, measured by the requests counter (consul:// only counts them).
  if (server().scheme != "consul") {
    CHECK(counters_of(Env().c())["requests"] == 0);
    return;
  }
  Env env;
  create(env.c(), "/k", "1");
  create(env.c(), "/j", "1");
  auto requests = [&] { return counters_of(env.c())["requests"]; };
  auto before = requests();
  CHECK(set(env.c(), "/k", "2") == 2);
  CHECK(requests() - before == 1);
  before = requests();
  CHECK(cas(env.c(), "/k", "3", 2) == 3);
  CHECK(requests() - before == 1);
  before = requests();
  {
    Txn txn;
    txn.check("/j", 1).set("/k", "4");
    auto r = commit(env.c(), txn);
    REQUIRE_OK(r.rc);
  }
  CHECK(requests() - before == 1);
  before = requests();
  REQUIRE_OK(offkv_erase(env.c(), "/k", 4));
  CHECK(requests() - before == 1);
  // Changed by another client: one refused compare-and-set, a read, the write.
  offkv_client *other = env.open();
  CHECK(set(other, "/j", "2") == 2);
  before = requests();
  CHECK(set(env.c(), "/j", "3") == 3);
  CHECK(requests() - before == 3);
}
