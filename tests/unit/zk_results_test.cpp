// ZooKeeper results (core/zk/zk_errors.*, and the pure result reading of
// core/zk/zk_backend.hpp that the fuzz target drives): every C client code -> offkv
// code, the words appended to messages, which op of a multi failed by itself, and the
// results of a multi that succeeded.
#include <catch2/catch.hpp>

#include <zookeeper/zookeeper.h>

#include <deque>
#include <string>
#include <vector>

#include "offkv.h"
#include "unit.hpp"
#include "zk/zk_backend.hpp"
#include "zk/zk_errors.hpp"

using offkv_unit::failure_of;

TEST_CASE("zk results: node and version codes") {
  CHECK(offkv::zk::map_error(ZOK) == OFFKV_OK);
  CHECK(offkv::zk::map_error(ZNONODE) == OFFKV_ENOENT);
  CHECK(offkv::zk::map_error(ZNODEEXISTS) == OFFKV_EEXIST);
  CHECK(offkv::zk::map_error(ZBADVERSION) == OFFKV_EVERSION);
  CHECK(offkv::zk::map_error(ZNOCHILDRENFOREPHEMERALS) == OFFKV_EEPHEMERAL);
  CHECK(offkv::zk::map_error(ZNOTEMPTY) == OFFKV_ENOTEMPTY);
  CHECK(offkv::zk::map_error(ZBADARGUMENTS) == OFFKV_EINVAL);
}

TEST_CASE("zk results: connection, session and auth codes") {
  CHECK(offkv::zk::map_error(ZCONNECTIONLOSS) == OFFKV_ECONNLOSS);
  CHECK(offkv::zk::map_error(ZOPERATIONTIMEOUT) == OFFKV_ETIMEOUT);
  for (int zrc : std::vector<int>{ZSESSIONEXPIRED, ZSESSIONMOVED, ZINVALIDSTATE})
    CHECK(offkv::zk::map_error(zrc) == OFFKV_ESESSION);
  for (int zrc :
       std::vector<int>{ZNOAUTH, ZAUTHFAILED, ZINVALIDACL, ZSESSIONCLOSEDREQUIRESASLAUTH})
    CHECK(offkv::zk::map_error(zrc) == OFFKV_EAUTH);
  CHECK(offkv::zk::map_error(ZCLOSING) == OFFKV_ECLOSED);
  CHECK(offkv::zk::map_error(ZSSLCONNECTIONERROR) == OFFKV_ETLS);
  CHECK(offkv::zk::map_error(ZMARSHALLINGERROR) == OFFKV_ENOMEM);
}

TEST_CASE("zk results: API misuse is EINTERNAL, the rest and unknown codes ESERVICE") {
  CHECK(offkv::zk::map_error(ZAPIERROR) == OFFKV_EINTERNAL);
  CHECK(offkv::zk::map_error(ZINVALIDCALLBACK) == OFFKV_EINTERNAL);
  for (int zrc : std::vector<int>{ZSYSTEMERROR, ZRUNTIMEINCONSISTENCY, ZDATAINCONSISTENCY,
                                  ZUNIMPLEMENTED, ZNOTREADONLY, ZTHROTTLEDOP, ZNOWATCHER,
                                  12345, -12345}) {
    INFO("zrc " << zrc);
    CHECK(offkv::zk::map_error(zrc) == OFFKV_ESERVICE);
  }
}

TEST_CASE("zk results: zk_words quotes the C client's text and the number") {
  CHECK(offkv::zk::zk_words(ZNONODE) == " [zookeeper: no node (-101)]");
  CHECK(offkv::zk::zk_words(ZCONNECTIONLOSS) == " [zookeeper: connection loss (-4)]");
  CHECK(offkv::zk::zk_words(ZOK) == std::string(" [zookeeper: ") + zerror(ZOK) + " (0)]");
}

TEST_CASE("zk results: fail_zk throws the mapped code with the words appended") {
  auto f = failure_of([] { offkv::zk::fail_zk(ZNODEEXISTS, "zk: cannot create '/a'"); });
  CHECK(f.code == OFFKV_EEXIST);
  CHECK(f.message == "zk: cannot create '/a' [zookeeper: node exists (-110)]");
}

TEST_CASE("zk results: first_failure skips ops rolled back for another's failure") {
  auto results = [](std::vector<int> codes) {
    std::vector<zoo_op_result_t> out(codes.size());
    for (std::size_t i = 0; i < codes.size(); ++i) {
      out[i] = zoo_op_result_t{};
      out[i].err = codes[i];
    }
    return out;
  };
  CHECK(offkv::zk::first_failure(results({})) == -1);
  CHECK(offkv::zk::first_failure(results({ZOK, ZOK})) == -1);
  CHECK(offkv::zk::first_failure(
            results({ZRUNTIMEINCONSISTENCY, ZBADVERSION, ZRUNTIMEINCONSISTENCY})) == 1);
  CHECK(offkv::zk::first_failure(results({ZOK, ZOK, ZNONODE, ZNODEEXISTS})) == 2);
  CHECK(offkv::zk::first_failure(results({ZRUNTIMEINCONSISTENCY})) == -1);
}

TEST_CASE("zk results: multi_results reads created paths and set versions") {
  using offkv::zk::RawOp;
  using offkv::zk::RawRole;
  offkv::Txn txn;
  offkv::TxnOp check;
  check.kind = offkv::TxnOpKind::Check;
  check.path = "/p/c";
  txn.checks.push_back(check);
  const offkv::TxnOpKind kinds[] = {offkv::TxnOpKind::Create, offkv::TxnOpKind::Set,
                                    offkv::TxnOpKind::Set, offkv::TxnOpKind::Erase};
  const char *paths[] = {"/p/q/n-", "/p/s", "/p/t", "/p/e"};
  for (int i = 0; i < 4; ++i) {
    offkv::TxnOp op;
    op.kind = kinds[i];
    op.path = paths[i];
    txn.ops.push_back(op);
  }
  // The multi: the check, a sequential create, a set of an existing node (version 4),
  // a set that created its node, and an erase of a node with one child.
  std::vector<RawOp> raws = {
      {0, RawRole::Check, "/p/c"},        {1, RawRole::Create, "/p/q/n-"},
      {2, RawRole::SetUpdate, "/p/s"},    {3, RawRole::SetCreate, "/p/t"},
      {4, RawRole::EraseInner, "/p/e/x"}, {4, RawRole::EraseTop, "/p/e"}};
  std::deque<std::vector<char>> buffers;
  std::string created = "/p/q/n-0000000007";
  buffers.emplace_back(created.begin(), created.end());
  buffers.back().resize(created.size() + 32, '\0');
  auto out = offkv::zk::multi_results(txn, raws, buffers, {0, 4, 0, 0});
  REQUIRE(out.size() == 4);
  CHECK(out[0].path == created);
  CHECK(out[0].version == 1);
  CHECK(out[1].path == "/p/s");
  CHECK(out[1].version == 5);
  CHECK(out[2].path == "/p/t");
  CHECK(out[2].version == 1);
  CHECK(out[3].path == "/p/e");
  CHECK(out[3].version == 0);
}
