// etcd://host:port[,host:port...][/prefix] and etcds:// (TLS) — the etcd v3 backend
// (gRPC + Protobuf, stubs generated at build time from core/etcd/proto).
#pragma once

#include <memory>

#include "../backend.hpp"

namespace offkv {

std::unique_ptr<Backend> make_etcd_backend(const Endpoint &endpoint,
                                           const Options &options);

}  // namespace offkv
