// mem://NAME — the embedded store. Every client opened with the same NAME in one
// process shares one store for the life of the process.
#pragma once

#include <memory>
#include <string>

#include "../backend.hpp"

namespace offkv {

std::unique_ptr<Backend> make_mem_backend(const Endpoint &endpoint,
                                          const Options &options);

}  // namespace offkv
