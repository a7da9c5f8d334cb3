// SPEC §6, transactions: checks (version > 0, 0 = absent, ANY = exists) then ops
// (create, set, erase), all or nothing; one result per op in order; on failure ETXN
// with the first failing index (checks first, then ops) and nothing applied.
#include "conformance.hpp"

using namespace conf;

namespace {

void expect_failed(const Commit &result, std::size_t index, int code) {
  INFO("commit -> " << code_name(result.rc) << " \"" << result.error << "\" failed_index "
                    << result.failed_index << " failed_code "
                    << code_name(result.failed_code));
  CHECK(code_name(result.rc) == "OFFKV_ETXN");
  CHECK(result.failed_index == index);
  CHECK(code_name(result.failed_code) == code_name(code));
  CHECK(result.ops.empty());
  CHECK_FALSE(result.error.empty());
}

}  // namespace

TEST_CASE("a transaction applies all its ops and returns one result per op in order",
          "[txn]") {
  Env env;
  create(env.c(), "/existing", "old");
  set(env.c(), "/existing", "older");  // version 2
  create(env.c(), "/doomed", "");
  Txn txn;
  txn.create("/created", "c")
      .set("/existing", "new")
      .set("/set-created", "s")
      .erase("/doomed", 1);
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 4);
  CHECK(result.ops[0].key == "/created");
  CHECK(result.ops[0].version == 1);
  CHECK(result.ops[1].key == "/existing");
  CHECK(result.ops[1].version == 3);
  CHECK(result.ops[2].key == "/set-created");
  CHECK(result.ops[2].version == 1);
  CHECK(result.ops[3].key == "/doomed");
  CHECK(result.ops[3].version == 0);
  CHECK(value_of(env.c(), "/created") == "c");
  CHECK(value_of(env.c(), "/existing") == "new");
  CHECK(value_of(env.c(), "/set-created") == "s");
  CHECK(version_of(env.c(), "/doomed") == 0);
}

TEST_CASE("a check with the exact version passes", "[txn][checks]") {
  Env env;
  create(env.c(), "/c", "");
  set(env.c(), "/c", "");
  Txn txn;
  txn.check("/c", 2).create("/done", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  CHECK(version_of(env.c(), "/done") == 1);
  CHECK(version_of(env.c(), "/c") == 2);  // a check changes nothing
}

TEST_CASE("a check with a wrong version fails with EVERSION and applies nothing",
          "[txn][checks]") {
  Env env;
  create(env.c(), "/c", "");
  set(env.c(), "/c", "");
  for (std::int64_t wrong : {1, 3}) {
    Txn txn;
    txn.check("/c", wrong).create("/never", "").set("/c", "changed");
    expect_failed(commit(env.c(), txn), 0, OFFKV_EVERSION);
  }
  CHECK(version_of(env.c(), "/never") == 0);
  CHECK(version_of(env.c(), "/c") == 2);
  CHECK(value_of(env.c(), "/c").empty());
}

TEST_CASE("a check with a version fails with ENOENT when the node is absent",
          "[txn][checks]") {
  Env env;
  Txn txn;
  txn.check("/absent", 1).create("/never", "");
  expect_failed(commit(env.c(), txn), 0, OFFKV_ENOENT);
  CHECK(version_of(env.c(), "/never") == 0);
}

TEST_CASE("a check with version 0 passes when the node is absent", "[txn][checks]") {
  Env env;
  Txn txn;
  txn.check("/absent", 0).create("/done", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  CHECK(version_of(env.c(), "/done") == 1);
  CHECK(version_of(env.c(), "/absent") == 0);
}

TEST_CASE("a check with version 0 fails with EEXIST when the node exists",
          "[txn][checks]") {
  Env env;
  create(env.c(), "/present", "");
  Txn txn;
  txn.check("/present", 0).create("/never", "");
  expect_failed(commit(env.c(), txn), 0, OFFKV_EEXIST);
  CHECK(version_of(env.c(), "/never") == 0);
}

TEST_CASE("a check with OFFKV_ANY_VERSION passes whatever the version", "[txn][checks]") {
  Env env;
  create(env.c(), "/a", "");
  create(env.c(), "/b", "");
  for (int i = 0; i < 4; ++i) set(env.c(), "/b", std::to_string(i));
  Txn txn;
  txn.check("/a", OFFKV_ANY_VERSION).check("/b", OFFKV_ANY_VERSION).create("/done", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  CHECK(version_of(env.c(), "/done") == 1);
}

TEST_CASE("a check with OFFKV_ANY_VERSION fails with ENOENT when the node is absent",
          "[txn][checks]") {
  Env env;
  create(env.c(), "/a", "");
  Txn txn;
  txn.check("/a", OFFKV_ANY_VERSION)
      .check("/absent", OFFKV_ANY_VERSION)
      .create("/never", "");
  expect_failed(commit(env.c(), txn), 1, OFFKV_ENOENT);
  CHECK(version_of(env.c(), "/never") == 0);
}

TEST_CASE("the failing index counts checks first, then ops", "[txn]") {
  Env env;
  create(env.c(), "/a", "");
  create(env.c(), "/b", "");
  Txn txn;
  txn.check("/a", 1)
      .check("/b", OFFKV_ANY_VERSION)
      .create("/fresh", "")  // index 2: fine
      .create("/a", "")      // index 3: EEXIST
      .set("/b", "never");   // index 4
  expect_failed(commit(env.c(), txn), 3, OFFKV_EEXIST);
  CHECK(version_of(env.c(), "/fresh") == 0);
  CHECK(version_of(env.c(), "/b") == 1);
}

TEST_CASE("the first failing item is the one reported", "[txn]") {
  Env env;
  create(env.c(), "/a", "");
  Txn txn;
  txn.check("/a", 1)
      .check("/a", 5)       // index 1: EVERSION
      .check("/absent", 1)  // index 2 would fail too
      .create("/a", "");    // index 3 would fail too
  expect_failed(commit(env.c(), txn), 1, OFFKV_EVERSION);
}

TEST_CASE("a transaction failing on its last op leaves no trace", "[txn][atomic]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/x", "x");
  create(env.c(), "/p/y", "y");
  create(env.c(), "/p/y/sub", "");
  create(env.c(), "/exists", "");
  Recorder &rec = env.recorder();
  Watch spy, data;
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/", &Recorder::callback, &rec, spy.out()));
  REQUIRE_OK(offkv_get_watch(env.c(), "/p/x", nullptr, nullptr, &Recorder::callback, &rec,
                             data.out()));
  Txn txn;
  txn.create("/p/new", "n")
      .create("/p/seq-", "s", OFFKV_SEQUENTIAL)
      .set("/p/x", "changed")
      .erase("/p/y", 1)
      .create("/exists", "");  // fails
  expect_failed(commit(env.c(), txn), 4, OFFKV_EEXIST);
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/x", "/p/y"});
  CHECK(value_of(env.c(), "/p/x") == "x");
  CHECK(version_of(env.c(), "/p/x") == 1);
  CHECK(version_of(env.c(), "/p/y/sub") == 1);
  CHECK(rec.quiet());
  CHECK(rec.count() == 0);
}

TEST_CASE("a transaction create without its parent fails with ENOENT", "[txn]") {
  Env env;
  Txn txn;
  txn.create("/ok", "").create("/missing/child", "");
  auto result = commit(env.c(), txn);
  expect_failed(result, 1, OFFKV_ENOENT);
  CHECK(contains(result.error, "/missing"));
  CHECK(version_of(env.c(), "/ok") == 0);
}

TEST_CASE("a transaction set creates an absent node and replaces an existing one",
          "[txn]") {
  Env env;
  create(env.c(), "/old", "1");
  Txn txn;
  txn.set("/old", "2").set("/new", "1");
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 2);
  CHECK(result.ops[0].version == 2);
  CHECK(result.ops[1].version == 1);
  CHECK(value_of(env.c(), "/old") == "2");
  CHECK(value_of(env.c(), "/new") == "1");
}

TEST_CASE("a transaction erase checks its version", "[txn][erase]") {
  Env env;
  create(env.c(), "/e", "");
  set(env.c(), "/e", "");
  {
    Txn txn;
    txn.create("/never", "").erase("/e", 1);
    expect_failed(commit(env.c(), txn), 1, OFFKV_EVERSION);
    CHECK(version_of(env.c(), "/e") == 2);
  }
  {
    Txn txn;
    txn.erase("/absent", 0);
    expect_failed(commit(env.c(), txn), 0, OFFKV_ENOENT);
  }
  {
    Txn txn;
    txn.erase("/e", 2);
    REQUIRE_OK(commit(env.c(), txn).rc);
    CHECK(version_of(env.c(), "/e") == 0);
  }
  CHECK(version_of(env.c(), "/never") == 0);
}

TEST_CASE("a transaction erase removes the whole subtree", "[txn][erase]") {
  Env env;
  for (const char *key : {"/t", "/t/a", "/t/a/b", "/t/c", "/tt"})
    create(env.c(), key, "");
  Txn txn;
  txn.erase("/t", 1).create("/t2", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  for (const char *key : {"/t", "/t/a", "/t/a/b", "/t/c"})
    CHECK(version_of(env.c(), key) == 0);
  CHECK(version_of(env.c(), "/tt") == 1);
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/t2", "/tt"});
}

TEST_CASE("ops in a transaction see the effects of the earlier ops", "[txn]") {
  Env env;
  create(env.c(), "/old", "");
  Txn txn;
  txn.create("/p", "1")
      .create("/p/c", "")
      .set("/p", "2")
      .set("/p", "3")
      .erase("/old", 1)
      .create("/old", "reborn");
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 6);
  std::vector<std::int64_t> versions;
  for (const auto &op : result.ops) versions.push_back(op.version);
  CHECK(versions == std::vector<std::int64_t>{1, 1, 2, 3, 0, 1});
  auto node = read(env.c(), "/p");
  REQUIRE(node);
  CHECK(node->value == "3");
  CHECK(node->version == 3);
  CHECK(value_of(env.c(), "/old") == "reborn");
  CHECK(version_of(env.c(), "/old") == 1);
}

TEST_CASE("an empty transaction commits with no results", "[txn]") {
  Env env;
  Txn txn;
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  CHECK(result.ops.empty());
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("a transaction of checks only commits with no results", "[txn][checks]") {
  Env env;
  create(env.c(), "/a", "");
  Txn txn;
  txn.check("/a", 1).check("/b", 0).check("/a", OFFKV_ANY_VERSION);
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  CHECK(result.ops.empty());
  CHECK(version_of(env.c(), "/a") == 1);
}

TEST_CASE("OFFKV_MAX_TXN_OPS checks and ops are accepted", "[txn][limits]") {
  Env env;
  const int checks = OFFKV_MAX_TXN_OPS / 2, ops = OFFKV_MAX_TXN_OPS - checks;
  for (int i = 0; i < checks; ++i) create(env.c(), "/c" + std::to_string(i), "");
  Txn txn;
  for (int i = 0; i < checks; ++i) txn.check("/c" + std::to_string(i), 1);
  for (int i = 0; i < ops; ++i) txn.create("/o" + std::to_string(i), "");
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  CHECK(result.ops.size() == static_cast<std::size_t>(ops));
  // And all ops, no checks.
  Txn all_ops;
  for (int i = 0; i < OFFKV_MAX_TXN_OPS; ++i)
    all_ops.set("/o" + std::to_string(i % ops), "");
  result = commit(env.c(), all_ops);
  REQUIRE_OK(result.rc);
  CHECK(result.ops.size() == OFFKV_MAX_TXN_OPS);
}

TEST_CASE("one item over OFFKV_MAX_TXN_OPS is refused and applies nothing",
          "[txn][limits]") {
  Env env;
  create(env.c(), "/c", "");
  for (int checks : {0, 1, OFFKV_MAX_TXN_OPS}) {
    INFO(checks << " checks");
    offkv_txn *txn = nullptr;
    REQUIRE_OK(offkv_txn_new(&txn));
    int rc = OFFKV_OK;
    for (int i = 0; i < checks && rc == OFFKV_OK; ++i) rc = offkv_txn_check(txn, "/c", 1);
    for (int i = checks; i <= OFFKV_MAX_TXN_OPS && rc == OFFKV_OK; ++i)
      rc = offkv_txn_create(txn, ("/o" + std::to_string(i)).c_str(), "", 0, 0);
    if (rc == OFFKV_OK) rc = offkv_commit(env.c(), txn, nullptr);
    const std::string message = offkv_last_error();
    INFO(message);
    CHECK(code_name(rc) == code_name(OFFKV_ETOOBIG));
    CHECK(contains(message, std::to_string(OFFKV_MAX_TXN_OPS)));
    offkv_txn_free(txn);
  }
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/c"});
}

TEST_CASE("commit accepts a NULL result", "[txn]") {
  Env env;
  offkv_txn *txn = nullptr;
  REQUIRE_OK(offkv_txn_new(&txn));
  REQUIRE_OK(offkv_txn_create(txn, "/n", "v", 1, 0));
  CHECK_OK(offkv_commit(env.c(), txn, nullptr));
  CHECK(value_of(env.c(), "/n") == "v");
  CHECK_CODE(offkv_commit(env.c(), txn, nullptr), OFFKV_ETXN);  // now it exists
  offkv_txn_free(txn);
}

TEST_CASE("a transaction object can be committed again", "[txn]") {
  Env env;
  Txn txn;
  txn.check("/gate", 0).create("/made", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  expect_failed(commit(env.c(), txn), 1, OFFKV_EEXIST);
  create(env.c(), "/gate", "");
  expect_failed(commit(env.c(), txn), 0, OFFKV_EEXIST);
  REQUIRE_OK(offkv_erase(env.c(), "/gate", 0));
  REQUIRE_OK(offkv_erase(env.c(), "/made", 0));
  REQUIRE_OK(commit(env.c(), txn).rc);
  CHECK(version_of(env.c(), "/made") == 1);
}

TEST_CASE("a committed transaction fires the watches of what it changed",
          "[txn][watches]") {
  Env env;
  create(env.c(), "/changed", "");
  create(env.c(), "/erased", "");
  create(env.c(), "/parent", "");
  Watch changed, created, erased, kids;
  std::int64_t version = 0;
  REQUIRE_OK(offkv_get_watch(env.c(), "/changed", nullptr, nullptr, nullptr, nullptr,
                             changed.out()));
  REQUIRE_OK(
      offkv_exists_watch(env.c(), "/created", &version, nullptr, nullptr, created.out()));
  REQUIRE_OK(offkv_get_watch(env.c(), "/erased", nullptr, nullptr, nullptr, nullptr,
                             erased.out()));
  offkv_strings list{nullptr, 0};
  REQUIRE_OK(
      offkv_children_watch(env.c(), "/parent", &list, nullptr, nullptr, kids.out()));
  offkv_strings_free(&list);
  Txn txn;
  txn.set("/changed", "x")
      .create("/created", "")
      .erase("/erased")
      .create("/parent/c", "");
  REQUIRE_OK(commit(env.c(), txn).rc);
  Ev ev = wait_event(changed);
  CHECK(type_name(ev.type) == "CHANGED");
  CHECK(ev.version == 2);
  ev = wait_event(created);
  CHECK(type_name(ev.type) == "CREATED");
  CHECK(ev.version == 1);
  CHECK(type_name(wait_event(erased).type) == "DELETED");
  CHECK(type_name(wait_event(kids).type) == "CHILDREN");
}

TEST_CASE("checks and sets make a compare-and-set over several keys", "[txn][checks]") {
  Env env;
  offkv_client *other = env.open();
  create(env.c(), "/a", "a1");
  create(env.c(), "/b", "b1");
  Txn txn;
  txn.check("/a", 1).check("/b", 1).set("/a", "a2").set("/b", "b2");
  // Someone else moves /b first: the whole update is refused.
  set(other, "/b", "theirs");
  expect_failed(commit(env.c(), txn), 1, OFFKV_EVERSION);
  CHECK(value_of(env.c(), "/a") == "a1");
  CHECK(value_of(env.c(), "/b") == "theirs");
  Txn retry;
  retry.check("/a", 1).check("/b", 2).set("/a", "a2").set("/b", "b2");
  auto result = commit(env.c(), retry);
  REQUIRE_OK(result.rc);
  CHECK(result.ops[0].version == 2);
  CHECK(result.ops[1].version == 3);
}

TEST_CASE("a transaction is atomic for a concurrent reader", "[txn][atomic][threads]") {
  // The writer sets /a and /b to the same counter in one transaction, /a first. A
  // reader that reads /a and then /b must never find /b behind /a.
  Env env;
  offkv_client *reader = env.open();
  create(env.c(), "/a", "0");
  create(env.c(), "/b", "0");
  std::atomic<int> torn{0}, reads{0}, failures{0};
  Background t([&](const std::atomic<bool> &stop) {
    while (!stop) {
      offkv_buf a{nullptr, 0}, b{nullptr, 0};
      if (offkv_get(reader, "/a", &a, nullptr) != OFFKV_OK ||
          offkv_get(reader, "/b", &b, nullptr) != OFFKV_OK) {
        ++failures;
      } else {
        ++reads;
        if (std::stoi(str(b)) < std::stoi(str(a))) ++torn;
      }
      offkv_buf_free(&a);
      offkv_buf_free(&b);
    }
  });
  REQUIRE(eventually([&] { return reads.load() > 0; }));
  // At least 60 transactions, and on until the reader has overlapped 60 of them.
  const int reads_before = reads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int i = 0;
  while (++i <= 60 ||
         (reads - reads_before < 60 && std::chrono::steady_clock::now() < deadline)) {
    Txn txn;
    txn.set("/a", std::to_string(i)).set("/b", std::to_string(i));
    REQUIRE_OK(commit(env.c(), txn).rc);
  }
  t.join();
  CHECK(torn == 0);
  CHECK(failures == 0);
  CHECK(reads - reads_before >= 1);
  CHECK(value_of(env.c(), "/a") == std::to_string(i - 1));
  CHECK(value_of(env.c(), "/b") == std::to_string(i - 1));
}

TEST_CASE("a transaction may create sequential children and then erase their parent",
          "[txn][sequential]") {
  Env env;
  create(env.c(), "/p");
  create(env.c(), "/p/old");
  create(env.c(), "/p/s-", "", OFFKV_SEQUENTIAL);  // the counter is not at 0
  Txn txn;
  txn.create("/p/s-", "a", OFFKV_SEQUENTIAL)
      .create("/p/plain", "b")
      .create("/p/s-", "c", OFFKV_SEQUENTIAL)
      .erase("/p", 0);
  auto result = commit(env.c(), txn);
  REQUIRE_OK(result.rc);
  REQUIRE(result.ops.size() == 4);
  CHECK(is_sequential_of(result.ops[0].key, "/p/s-"));
  CHECK(is_sequential_of(result.ops[2].key, "/p/s-"));
  CHECK(sequence_number(result.ops[2].key) > sequence_number(result.ops[0].key));
  CHECK(version_of(env.c(), "/p") == 0);
  // The parent can be made again, with sequential children under it.
  create(env.c(), "/p");
  std::string again = create(env.c(), "/p/s-", "", OFFKV_SEQUENTIAL);
  CHECK(is_sequential_of(again, "/p/s-"));
}
