// zk://host:port[,host:port...][/prefix] — the ZooKeeper backend (C client 3.8).
#pragma once

#include <memory>

#include "../backend.hpp"

namespace offkv {

std::unique_ptr<Backend> make_zk_backend(const Endpoint &endpoint,
                                         const Options &options);

}  // namespace offkv
