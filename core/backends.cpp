// Scheme -> backend. A backend compiled out is a clear EUNSUPPORTED, never a crash.
#include <cstring>

#include "backend.hpp"
#include "codes.hpp"
#include "error.hpp"
#include "mem/mem_backend.hpp"
#ifdef OFFKV_WITH_ZK
#include "zk/zk_backend.hpp"
#endif
#ifdef OFFKV_WITH_CONSUL
#include "consul/consul_backend.hpp"
#endif
#ifdef OFFKV_WITH_ETCD
#include "etcd/etcd_backend.hpp"
#endif

namespace offkv {

namespace {
[[noreturn]] void compiled_out(const std::string &scheme, const char *option) {
  fail(Err::eunsupported,
       "offkv was built without the " + scheme + " backend (" + option + "=OFF)");
}
}  // namespace

void Backend::testkit_cut(bool) {
  fail(Err::eunsupported, "this backend has no test kit hook to cut its connection");
}

void Backend::testkit_expire() {
  fail(Err::eunsupported, "this backend has no test kit hook to expire its session");
}

std::unique_ptr<Backend> make_backend(const Endpoint &endpoint, const Options &options) {
  const std::string &s = endpoint.scheme;
  if (!options.zk_acl.empty() && s != "zk")
    fail(Err::einval, "option zk_acl applies to zk:// only, not " + s + "://");
  if (s == "mem") return make_mem_backend(endpoint, options);
#ifdef OFFKV_WITH_ZK
  if (s == "zk") return make_zk_backend(endpoint, options);
#else
  if (s == "zk") compiled_out(s, "OFFKV_WITH_ZK");
#endif
#ifdef OFFKV_WITH_ETCD
  if (s == "etcd" || s == "etcds") return make_etcd_backend(endpoint, options);
#else
  if (s == "etcd" || s == "etcds") compiled_out(s, "OFFKV_WITH_ETCD");
#endif
#ifdef OFFKV_WITH_CONSUL
  if (s == "consul" || s == "consuls") return make_consul_backend(endpoint, options);
#else
  if (s == "consul" || s == "consuls") compiled_out(s, "OFFKV_WITH_CONSUL");
#endif
  fail(Err::einval, "unknown scheme '" + s + "'");
}

bool has_backend(const char *scheme) {
  if (!scheme) return false;
  if (std::strcmp(scheme, "mem") == 0) return true;
#ifdef OFFKV_WITH_ZK
  if (std::strcmp(scheme, "zk") == 0) return true;
#endif
#ifdef OFFKV_WITH_ETCD
  if (std::strcmp(scheme, "etcd") == 0 || std::strcmp(scheme, "etcds") == 0) return true;
#endif
#ifdef OFFKV_WITH_CONSUL
  if (std::strcmp(scheme, "consul") == 0 || std::strcmp(scheme, "consuls") == 0)
    return true;
#endif
  return false;
}

}  // namespace offkv
