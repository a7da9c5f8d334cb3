// consul://host:port[/prefix] (consuls:// = TLS) — the Consul KV backend (HTTP API
// through libcurl, JSON through nlohmann/json).
#pragma once

#include <memory>

#include "../backend.hpp"

namespace offkv {

std::unique_ptr<Backend> make_consul_backend(const Endpoint &endpoint,
                                             const Options &options);

}  // namespace offkv
