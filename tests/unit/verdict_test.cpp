// The core's verdicts on what a store reported (core/verdict.*), the version filling
// rule of persistent watches and the subtree order (core/watch.*, core/key.*): the
// rules every backend defers to.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codes.hpp"
#include "key.hpp"
#include "verdict.hpp"
#include "watch.hpp"

using offkv::Err;
using offkv::NodeFacts;
using offkv::TxnOp;
using offkv::Verdicts;

namespace {

TxnOp check_of(const std::string &path, std::int64_t version) {
  TxnOp op;
  op.path = path;
  op.version = version;
  return op;
}

}  // namespace

TEST_CASE("check_code: exact version, absent, any version", "[verdict]") {
  CHECK(Verdicts::check_code(3, 3) == Err::ok);
  CHECK(Verdicts::check_code(3, 4) == Err::eversion);
  CHECK(Verdicts::check_code(3, 0) == Err::enoent);
  CHECK(Verdicts::check_code(3, offkv::kVersionUnknown) == Err::eversion);
  CHECK(Verdicts::check_code(0, 0) == Err::ok);
  CHECK(Verdicts::check_code(0, 1) == Err::eexist);
  CHECK(Verdicts::check_code(offkv::kAnyVersion, 7) == Err::ok);
  CHECK(Verdicts::check_code(offkv::kAnyVersion, 0) == Err::enoent);
}

TEST_CASE("judge_check words the client key, the expected and the found version",
          "[verdict]") {
  Verdicts verdicts("/app");
  CHECK_FALSE(verdicts.judge_check(check_of("/app/k", 2), NodeFacts{true, 2, false}));
  auto failure = verdicts.judge_check(check_of("/app/k", 2), NodeFacts{true, 5, false});
  REQUIRE(failure);
  CHECK(failure->code() == Err::eversion);
  CHECK(std::string(failure->what()) ==
        "check on '/k': expected version 2, found version 5");
  failure = verdicts.judge_check(check_of("/app/k", 0), NodeFacts{true, 1, false});
  REQUIRE(failure);
  CHECK(failure->code() == Err::eexist);
  CHECK(std::string(failure->what()) ==
        "check on '/k': expected no node, found version 1");
  failure = verdicts.judge_check(check_of("/app/k", offkv::kAnyVersion), NodeFacts{});
  REQUIRE(failure);
  CHECK(failure->code() == Err::enoent);
  CHECK(std::string(failure->what()) ==
        "check on '/k': expected any version, found no node");
}

TEST_CASE("a check the store refused without saying what it found", "[verdict]") {
  Verdicts verdicts("");
  auto error =
      verdicts.check_failed(check_of("/k", 4), offkv::kVersionUnknown, " (zk: x)");
  CHECK(error.code() == Err::eversion);
  CHECK(std::string(error.what()) ==
        "check on '/k': expected version 4, found another version (zk: x)");
}

TEST_CASE("judge_parent: missing and ephemeral parents", "[verdict]") {
  Verdicts verdicts("/p");
  CHECK_FALSE(verdicts.judge_parent("/p/a/b", NodeFacts{true, 1, false}));
  auto missing = verdicts.judge_parent("/p/a/b", NodeFacts{});
  REQUIRE(missing);
  CHECK(missing->code() == Err::enoent);
  CHECK(std::string(missing->what()) ==
        "cannot create '/a/b': parent '/a' does not exist");
  auto ephemeral = verdicts.judge_parent("/p/a/b", NodeFacts{true, 1, true});
  REQUIRE(ephemeral);
  CHECK(ephemeral->code() == Err::eephemeral);
  CHECK(std::string(ephemeral->what()) ==
        "cannot create '/a/b': parent '/a' is ephemeral");
}

TEST_CASE("judge_erase: absent node, any version, wrong version", "[verdict]") {
  Verdicts verdicts("");
  CHECK_FALSE(verdicts.judge_erase("/k", 0, NodeFacts{true, 9, false}));
  CHECK_FALSE(verdicts.judge_erase("/k", 9, NodeFacts{true, 9, false}));
  auto absent = verdicts.judge_erase("/k", 0, NodeFacts{});
  REQUIRE(absent);
  CHECK(absent->code() == Err::enoent);
  CHECK(std::string(absent->what()) == "cannot erase '/k': no such node");
  auto wrong = verdicts.judge_erase("/k", 2, NodeFacts{true, 3, false});
  REQUIRE(wrong);
  CHECK(wrong->code() == Err::eversion);
  CHECK(std::string(wrong->what()) ==
        "erase of '/k': expected version 2, found version 3");
}

TEST_CASE("cas mismatches name both versions; store words come last", "[verdict]") {
  Verdicts verdicts("/root");
  auto error = verdicts.cas_mismatch("/root/k", 1, 2);
  CHECK(error.code() == Err::eversion);
  CHECK(std::string(error.what()) == "cas on '/k': expected version 1, found version 2");
  CHECK(std::string(verdicts.cas_mismatch("/root/k", 0, 3).what()) ==
        "cas on '/k': expected no node, found version 3");
  CHECK(std::string(verdicts.cas_mismatch("/root/k", 4, 0, " [consul: x]").what()) ==
        "cas on '/k': expected version 4, found no node [consul: x]");
}

TEST_CASE("exists, no_node and a check among ops", "[verdict]") {
  Verdicts verdicts("/r");
  CHECK(verdicts.exists("/r/a").code() == Err::eexist);
  CHECK(std::string(verdicts.exists("/r/a").what()) == "'/a' already exists");
  CHECK(std::string(verdicts.no_node("list", "/r").what()) ==
        "cannot list '/': no such node");
  try {
    Verdicts::check_among_ops();
    FAIL("check_among_ops returned");
  } catch (const offkv::Error &e) {
    CHECK(e.code() == Err::einternal);
  }
}

TEST_CASE("persistent watches fill every skipped version up to the bound", "[verdict]") {
  CHECK(offkv::first_version_to_report(3, 4) == 4);
  CHECK(offkv::first_version_to_report(3, 10) == 4);
  CHECK(offkv::first_version_to_report(1, 1 + offkv::kMaxFilledVersions) == 2);
  // Above the bound: not offkv's writes, only the latest is reported.
  CHECK(offkv::first_version_to_report(1, 2 + offkv::kMaxFilledVersions) ==
        2 + offkv::kMaxFilledVersions);
  CHECK(offkv::kMaxFilledVersions == 10000);
}

TEST_CASE("subtree order: pre-order with children sorted bytewise", "[verdict]") {
  std::vector<std::string> paths{"/a/b", "/a-x", "/a", "/a/b/c", "/a/a", "/b"};
  offkv::sort_preorder(paths);
  CHECK(paths == std::vector<std::string>{"/a", "/a/a", "/a/b", "/a/b/c", "/a-x", "/b"});
  CHECK(offkv::preorder_key("/a/b") < offkv::preorder_key("/a-b"));
}
