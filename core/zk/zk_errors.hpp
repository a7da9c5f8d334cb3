// ZooKeeper C client return codes -> offkv error codes, one place.
#pragma once

#include <string>

namespace offkv {
namespace zk {

// The offkv code for a ZooKeeper return code (ZOK -> Err::ok).
int map_error(int zrc) noexcept;

// " [zookeeper: <zerror text>]", appended to every message built from a ZK code.
std::string zk_words(int zrc);

// Throws offkv::Error(map_error(zrc), what + zk_words(zrc)).
[[noreturn]] void fail_zk(int zrc, const std::string &what);

}  // namespace zk
}  // namespace offkv
