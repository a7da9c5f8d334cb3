// ZooKeeper result mapping: every return code the C client may hand back
// (core/zk/zk_errors.cpp), and the results of a transaction's zoo_multi as the
// ZooKeeper backend reads them (zk::first_failure, zk::multi_failure,
// zk::multi_results in core/zk/zk_backend.cpp), with arbitrary per-op error codes and
// created-path buffers. Codes stay in offkv's set, OK only for ZOK; a failure names
// the offkv item the failing op stands for; successes give one result per op.
#include <fuzzer/FuzzedDataProvider.h>

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "zk/zk_backend.hpp"
#include "zk/zk_errors.hpp"

namespace {

const int kCodes[] = {ZOK,
                      ZNONODE,
                      ZNODEEXISTS,
                      ZBADVERSION,
                      ZNOTEMPTY,
                      ZNOCHILDRENFOREPHEMERALS,
                      ZRUNTIMEINCONSISTENCY,
                      ZCONNECTIONLOSS,
                      ZSESSIONEXPIRED,
                      ZNOAUTH,
                      ZOPERATIONTIMEOUT,
                      ZMARSHALLINGERROR,
                      ZBADARGUMENTS,
                      ZINVALIDSTATE,
                      ZCLOSING,
                      ZAPIERROR,
                      ZSYSTEMERROR};

int zk_code(FuzzedDataProvider &in) {
  if (in.ConsumeProbability<float>() < 0.1f) return in.ConsumeIntegral<int>();
  return in.PickValueInArray(kCodes);
}

void check_single(int zrc) {
  int code = offkv::zk::map_error(zrc);
  FUZZ_CHECK(code >= 0 && code < OFFKV_ERROR_COUNT, "map_error(%d) = %d", zrc, code);
  FUZZ_CHECK((code == OFFKV_OK) == (zrc == ZOK), "map_error(%d) = %s", zrc,
             offkv_error_name(code));
  FUZZ_CHECK(code != OFFKV_ETXN, "a single ZooKeeper code became ETXN");
  std::string words = offkv::zk::zk_words(zrc);
  FUZZ_CHECK(words.find(std::to_string(zrc)) != std::string::npos, "%s", words.c_str());
  if (zrc == ZOK) return;
  try {
    offkv::zk::fail_zk(zrc, "zk: cannot fuzz");
    FUZZ_CHECK(false, "fail_zk(%d) returned", zrc);
  } catch (const offkv::Error &e) {
    FUZZ_CHECK(e.code() == code, "fail_zk threw %s", offkv_error_name(e.code()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using offkv::zk::RawOp;
  using offkv::zk::RawRole;
  FuzzedDataProvider in(data, size);
  check_single(in.ConsumeIntegral<int>());

  // A transaction as the backend gets it: full paths under the client's prefix.
  const std::string prefix = in.ConsumeBool() ? std::string() : std::string("/pre");
  static const char *const kKeys[] = {"/a", "/a/b", "/a/b/c", "/b", "/c/d"};
  offkv::Txn txn;
  size_t nchecks = in.ConsumeIntegralInRange<size_t>(0, 4);
  size_t nops = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < nchecks; ++i) {
    offkv::TxnOp c;
    c.kind = offkv::TxnOpKind::Check;
    c.path = prefix + in.PickValueInArray(kKeys);
    c.version = in.ConsumeIntegralInRange<int64_t>(-1, 3);
    txn.checks.push_back(c);
  }
  // The multi the backend would send: each op with its role.
  std::vector<RawOp> raws;
  for (size_t i = 0; i < nchecks; ++i)
    if (txn.checks[i].version != 0)
      raws.push_back({i, RawRole::Check, txn.checks[i].path});
  std::vector<int64_t> set_base(nops, 0);
  for (size_t j = 0; j < nops; ++j) {
    offkv::TxnOp op;
    op.path = prefix + in.PickValueInArray(kKeys);
    size_t index = nchecks + j;
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0:
        op.kind = offkv::TxnOpKind::Create;
        op.flags = in.ConsumeIntegralInRange(0, 3);
        raws.push_back({index, RawRole::Create, op.path});
        break;
      case 1:
        op.kind = offkv::TxnOpKind::Set;
        set_base[j] = in.ConsumeIntegralInRange<int64_t>(1, INT32_MAX);
        raws.push_back({index, RawRole::SetUpdate, op.path});
        break;
      case 2:
        op.kind = offkv::TxnOpKind::Set;
        raws.push_back({index, RawRole::SetCreate, op.path});
        break;
      default:
        op.kind = offkv::TxnOpKind::Erase;
        op.version = in.ConsumeIntegralInRange<int64_t>(0, 3);
        for (size_t k = in.ConsumeIntegralInRange<size_t>(0, 2); k > 0; --k)
          raws.push_back(
              {index, RawRole::EraseInner, op.path + "/x" + std::to_string(k)});
        raws.push_back({index, RawRole::EraseTop, op.path});
    }
    txn.ops.push_back(op);
  }

  // What ZooKeeper answered, op by op.
  std::vector<zoo_op_result_t> results(raws.size());
  int expected_failure = -1;
  for (size_t k = 0; k < raws.size(); ++k) {
    results[k] = zoo_op_result_t{};
    results[k].err = zk_code(in);
    if (expected_failure < 0 && results[k].err != ZOK &&
        results[k].err != ZRUNTIMEINCONSISTENCY)
      expected_failure = static_cast<int>(k);
  }
  int failed = offkv::zk::first_failure(results);
  FUZZ_CHECK(failed == expected_failure, "first_failure %d, expected %d", failed,
             expected_failure);
  if (failed >= 0) {
    const RawOp &raw = raws[static_cast<size_t>(failed)];
    int err = results[static_cast<size_t>(failed)].err;
    auto f = offkv::zk::multi_failure(txn, raw, err, prefix);
    FUZZ_CHECK(f.index == raw.index && f.index < nchecks + nops, "failure index %zu",
               f.index);
    FUZZ_CHECK(f.code == offkv::zk::map_error(err) && f.code != OFFKV_OK,
               "failure code %s for %d", offkv_error_name(f.code), err);
    std::string key = raw.path.substr(prefix.size());
    FUZZ_CHECK(f.message.find("'" + key) != std::string::npos,
               "the message does not name %s: %s", key.c_str(), f.message.c_str());
    // Only a race (the plan's pre-read went stale) is planned again.
    bool race =
        (raw.role == RawRole::SetCreate && err == ZNODEEXISTS) ||
        (raw.role == RawRole::SetUpdate && (err == ZBADVERSION || err == ZNONODE)) ||
        (raw.role == RawRole::EraseTop && err == ZNOTEMPTY) ||
        (raw.role == RawRole::EraseInner && (err == ZNONODE || err == ZNOTEMPTY));
    FUZZ_CHECK(f.retry == race, "retry %d for role %d err %d", f.retry,
               static_cast<int>(raw.role), err);
    return 0;
  }

  // A multi that succeeded: the created paths come back in the create ops' buffers
  // (zero-filled, path + 32 bytes; the C client writes at most size - 1 bytes).
  std::deque<std::vector<char>> buffers;
  std::vector<std::string> created;
  for (const auto &r : raws) {
    if (r.role != RawRole::Create) continue;
    std::vector<char> b(r.path.size() + 32, '\0');
    std::string text = in.ConsumeBool() ? r.path + "0000000007"
                                        : in.ConsumeRandomLengthString(b.size() + 8);
    text = text.substr(0, std::min(text.size(), b.size() - 1));
    std::copy(text.begin(), text.end(), b.begin());
    created.push_back(std::string(b.data()));
    buffers.push_back(std::move(b));
  }
  auto out = offkv::zk::multi_results(txn, raws, buffers, set_base);
  FUZZ_CHECK(out.size() == nops, "%zu results for %zu ops", out.size(), nops);
  size_t c = 0;
  for (size_t j = 0; j < nops; ++j) {
    const auto &op = txn.ops[j];
    if (op.kind == offkv::TxnOpKind::Create) {
      FUZZ_CHECK(out[j].version == 1 && out[j].path == created[c++], "create result");
    } else if (op.kind == offkv::TxnOpKind::Erase) {
      FUZZ_CHECK(out[j].version == 0 && out[j].path == op.path, "erase result");
    } else {
      FUZZ_CHECK(
          out[j].version == (set_base[j] ? set_base[j] + 1 : 1) && out[j].path == op.path,
          "set result %lld", static_cast<long long>(out[j].version));
    }
  }
  return 0;
}
