// gRPC status (with etcd's own error text) -> offkv error codes, one place.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

namespace offkv {
namespace etcd {

// The offkv code for a failed gRPC call to etcd (OK -> Err::ok).
int map_status(const grpc::Status &status) noexcept;

// " [etcd: <gRPC code name>: <server's message>]", appended to every message built
// from a status.
std::string etcd_words(const grpc::Status &status);

// True for "etcdserver: invalid auth token" and friends: authenticate again, retry.
bool token_expired(const grpc::Status &status) noexcept;

// Throws offkv::Error(map_status(status), what + etcd_words(status)).
[[noreturn]] void fail_status(const grpc::Status &status, const std::string &what);

}  // namespace etcd
}  // namespace offkv
