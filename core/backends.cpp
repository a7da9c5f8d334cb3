// Scheme -> backend. A backend compiled out is a clear EUNSUPPORTED, never a crash.
#include <cstring>

#include "backend.hpp"
#include "error.hpp"
#include "mem/mem_backend.hpp"
#include "offkv.h"

namespace offkv {

namespace {
[[noreturn]] void compiled_out(const std::string &scheme, const char *option) {
  fail(OFFKV_EUNSUPPORTED,
       "offkv was built without the " + scheme + " backend (" + option + "=OFF)");
}
}  // namespace

std::unique_ptr<Backend> make_backend(const Endpoint &endpoint, const Options &options) {
  (void)options;
  const std::string &s = endpoint.scheme;
  if (s == "mem") return make_mem_backend(endpoint);
  if (s == "zk") compiled_out(s, "OFFKV_WITH_ZK");
  if (s == "etcd" || s == "etcds") compiled_out(s, "OFFKV_WITH_ETCD");
  if (s == "consul" || s == "consuls") compiled_out(s, "OFFKV_WITH_CONSUL");
  fail(OFFKV_EINVAL, "unknown scheme '" + s + "'");
}

bool has_backend(const char *scheme) {
  if (!scheme) return false;
  if (std::strcmp(scheme, "mem") == 0) return true;
  return false;
}

}  // namespace offkv
