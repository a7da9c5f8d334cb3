// zk://host:port[,host:port...][/prefix] — the ZooKeeper backend (C client 3.8).
#pragma once

#include <zookeeper/zookeeper.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "../backend.hpp"

namespace offkv {

std::unique_ptr<Backend> make_zk_backend(const Endpoint &endpoint,
                                         const Options &options);

namespace zk {

// The pure part of a commit's result handling, apart from the connection (the fuzz
// target tests/fuzz/fuzz_zk_results.cpp drives it with arbitrary results).

// One op of the zoo_multi a commit sends: the offkv item it stands for (checks first)
// and why it is there.
enum class RawRole { Check, Create, SetUpdate, SetCreate, EraseTop, EraseInner };
struct RawOp {
  std::size_t index;
  RawRole role;
  std::string path;  // full path
};

// The first result that failed by itself (not ZOK, nor ZRUNTIMEINCONSISTENCY: rolled
// back because another op failed); -1 if none did.
int first_failure(const std::vector<zoo_op_result_t> &results);

// One result per offkv op of a multi that succeeded: created keys from the create
// ops' buffers (in order), set versions from set_base (the version each SetUpdate
// replaced).
std::vector<OpResult> multi_results(const Txn &txn, const std::vector<RawOp> &raws,
                                    const std::deque<std::vector<char>> &buffers,
                                    const std::vector<std::int64_t> &set_base);

// What the multi failing at `failed` with err means: the offkv item, code and message,
// or a race worth planning again (retry).
struct MultiFailure {
  bool retry = false;
  std::size_t index = 0;
  int code = 0;
  std::string message;
};
MultiFailure multi_failure(const Txn &txn, const RawOp &failed, int err,
                           const std::string &prefix);

}  // namespace zk
}  // namespace offkv
