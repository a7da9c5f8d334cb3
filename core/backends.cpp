// Scheme -> backend. A backend compiled out is a clear EUNSUPPORTED, never a crash.
#include <cstring>
#include <string>

#include "backend.hpp"
#include "codes.hpp"
#include "error.hpp"
#include "mem/mem_backend.hpp"
#include "url.hpp"
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

using Factory = std::unique_ptr<Backend> (*)(const Endpoint &, const Options &);

#ifdef OFFKV_WITH_ZK
constexpr Factory kZk = make_zk_backend;
#else
constexpr Factory kZk = nullptr;
#endif
#ifdef OFFKV_WITH_ETCD
constexpr Factory kEtcd = make_etcd_backend;
#else
constexpr Factory kEtcd = nullptr;
#endif
#ifdef OFFKV_WITH_CONSUL
constexpr Factory kConsul = make_consul_backend;
#else
constexpr Factory kConsul = nullptr;
#endif

// Every scheme offkv knows, in one place: URL parsing, offkv_has_backend,
// offkv_backends (and through it the CLI's help and the bindings) read this table.
// A fifth backend is one row here (and its folder).
struct SchemeDef {
  const char *scheme;
  const char *backend;  // its backend's name (offkv_has_backend, offkv_backends)
  bool tls;
  const char *build_option;  // the CMake option that compiles it in
  Factory make;              // nullptr when compiled out
};

const SchemeDef kSchemes[] = {
    {"mem", "mem", false, "(always built)", make_mem_backend},
    {"zk", "zk", false, "OFFKV_WITH_ZK", kZk},
    {"etcd", "etcd", false, "OFFKV_WITH_ETCD", kEtcd},
    {"etcds", "etcd", true, "OFFKV_WITH_ETCD", kEtcd},
    {"consul", "consul", false, "OFFKV_WITH_CONSUL", kConsul},
    {"consuls", "consul", true, "OFFKV_WITH_CONSUL", kConsul},
};

const SchemeDef *find_scheme(const std::string &scheme) {
  for (const SchemeDef &def : kSchemes)
    if (scheme == def.scheme) return &def;
  return nullptr;
}

}  // namespace

bool known_scheme(const std::string &scheme, bool *tls) {
  const SchemeDef *def = find_scheme(scheme);
  if (def && tls) *tls = def->tls;
  return def != nullptr;
}

std::string scheme_names() {
  std::string out;
  const std::size_t count = sizeof kSchemes / sizeof kSchemes[0];
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += i + 1 == count ? " or " : ", ";
    out += kSchemes[i].scheme;
  }
  return out;
}

const char *compiled_backends() {
  // Built once: the names of the backends compiled in, each once, in table order.
  static const std::string list = [] {
    std::string out;
    for (const SchemeDef &def : kSchemes) {
      if (!def.make) continue;
      std::string name = def.backend;
      if (("," + out + ",").find("," + name + ",") != std::string::npos) continue;
      out += (out.empty() ? "" : ",") + name;
    }
    return out;
  }();
  return list.c_str();
}

void Backend::testkit_cut(bool) {
  fail(Err::eunsupported, "this backend has no test kit hook to cut its connection");
}

void Backend::testkit_expire() {
  fail(Err::eunsupported, "this backend has no test kit hook to expire its session");
}

// No native asynchronous forms unless a backend has them: the core runs the blocking
// forms on its worker threads.
bool Backend::start_create(const std::string &, const std::string &, int,
                           Completion<std::string>) {
  return false;
}
bool Backend::start_set(const std::string &, const std::string &,
                        Completion<std::int64_t>) {
  return false;
}
bool Backend::start_cas(const std::string &, const std::string &, std::int64_t,
                        Completion<std::int64_t>) {
  return false;
}
bool Backend::start_get(const std::string &, const WatchPtr &, Completion<Node>) {
  return false;
}
bool Backend::start_exists(const std::string &, const WatchPtr &,
                           Completion<std::int64_t>) {
  return false;
}
bool Backend::start_children(const std::string &, const WatchPtr &,
                             Completion<std::vector<std::string>>) {
  return false;
}
bool Backend::start_erase(const std::string &, std::int64_t, Completion<bool>) {
  return false;
}
bool Backend::start_commit(const Txn &, Completion<std::vector<OpResult>>) {
  return false;
}

std::unique_ptr<Backend> make_backend(const Endpoint &endpoint, const Options &options) {
  const std::string &s = endpoint.scheme;
  if (!options.zk_acl.empty() && s != "zk")
    fail(Err::einval, "option zk_acl applies to zk:// only, not " + s + "://");
  const SchemeDef *def = find_scheme(s);
  if (!def) fail(Err::einval, "unknown scheme '" + s + "'");
  if (!def->make)
    fail(Err::eunsupported,
         "offkv was built without the " + s + " backend (" + def->build_option + "=OFF)");
  return def->make(endpoint, options);
}

bool has_backend(const char *scheme) {
  if (!scheme) return false;
  for (const SchemeDef &def : kSchemes)
    if (def.make &&
        (std::strcmp(scheme, def.scheme) == 0 || std::strcmp(scheme, def.backend) == 0))
      return true;
  return false;
}

}  // namespace offkv
