// URL parsing and options (core/url.cpp), directly and through offkv_open: any string
// is either a valid endpoint (every part of which passes the rules again) or an
// OFFKV_EINVAL with a message; nothing else escapes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "error.hpp"
#include "fuzz_check.hpp"
#include "key.hpp"
#include "url.hpp"

namespace {

bool known_scheme(const std::string &s) {
  return s == "mem" || s == "zk" || s == "etcd" || s == "etcds" || s == "consul" ||
         s == "consuls";
}

// Parses with the core's own function and checks what came out.
bool parse(const std::string &url, offkv::Options &options, offkv::Endpoint &ep) {
  try {
    ep = offkv::parse_url(url, options);
  } catch (const offkv::Error &e) {
    FUZZ_CHECK(e.code() == OFFKV_EINVAL, "parse_url threw %s: %s",
               offkv_error_name(e.code()), e.what());
    FUZZ_CHECK(e.what()[0] != '\0', "parse_url threw without a message");
    return false;
  }
  FUZZ_CHECK(known_scheme(ep.scheme), "accepted scheme '%s'", ep.scheme.c_str());
  FUZZ_CHECK(ep.tls == (ep.scheme == "etcds" || ep.scheme == "consuls"), "tls flag");
  FUZZ_CHECK(!ep.hosts.empty(), "no host in '%s'", url.c_str());
  if (ep.scheme == "mem") FUZZ_CHECK(ep.hosts.size() == 1, "mem:// with many names");
  if (ep.scheme == "consul" || ep.scheme == "consuls")
    FUZZ_CHECK(ep.hosts.size() == 1, "consul:// with many agents");
  for (const auto &h : ep.hosts) {
    FUZZ_CHECK(!h.empty(), "empty host accepted in '%s'", url.c_str());
    FUZZ_CHECK(h.find_first_of(",/?") == std::string::npos, "host '%s'", h.c_str());
  }
  // The prefix is a key every backend takes (or none), outside /zookeeper.
  try {
    offkv::validate_prefix(ep.prefix);
  } catch (const offkv::Error &e) {
    FUZZ_CHECK(false, "accepted prefix is invalid: %s", e.what());
  }
  FUZZ_CHECK(ep.prefix != "/", "prefix '/' kept");
  try {
    offkv::validate_options(options);
  } catch (const offkv::Error &e) {
    FUZZ_CHECK(false, "accepted options are invalid: %s", e.what());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  // Options as a caller would set them, then the URL (its query overrides them).
  offkv_options opts = OFFKV_OPTIONS_INIT;
  bool with_opts = in.ConsumeBool();
  opts.session_timeout_ms = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : 0;
  opts.connect_timeout_ms = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : 0;
  opts.operation_timeout_ms = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : 0;
  opts.read_consistency = in.ConsumeIntegralInRange<int>(-1, 2);
  std::string url = in.ConsumeRemainingBytesAsString();

  offkv::Options base;  // what offkv_open makes of opts
  if (with_opts) {
    if (opts.session_timeout_ms) base.session_timeout_ms = opts.session_timeout_ms;
    if (opts.connect_timeout_ms) base.connect_timeout_ms = opts.connect_timeout_ms;
    if (opts.operation_timeout_ms) base.operation_timeout_ms = opts.operation_timeout_ms;
    base.read_consistency = opts.read_consistency;
  }
  offkv::Options core = base;
  offkv::Endpoint ep;
  bool ok = parse(url, core, ep);

  // The same through the C API, where the URL is a C string. Only where no server is
  // contacted: a URL refused before any I/O, or a mem:// store among a few names (every
  // name opened stays in the process for good).
  std::string c_url = url.substr(0, url.find('\0'));
  if (c_url != url) {
    core = base;
    ok = parse(c_url, core, ep);
  }
  if (ok && (ep.scheme != "mem" || ep.hosts[0].size() > 2)) return 0;
  offkv_client *client = nullptr;
  int rc = fuzz_code(offkv_open(c_url.c_str(), with_opts ? &opts : nullptr, &client),
                     "offkv_open");
  if (rc == OFFKV_OK) {
    FUZZ_CHECK(client != nullptr, "offkv_open OK without a client");
    int state = 0;
    fuzz_code(offkv_get_session_state(client, &state), "offkv_get_session_state");
    FUZZ_CHECK(state == OFFKV_SESSION_CONNECTED, "mem:// session state %d", state);
    offkv_client_free(client);
  } else {
    FUZZ_CHECK(client == nullptr, "failed offkv_open left a client");
    FUZZ_CHECK(rc == OFFKV_EINVAL, "offkv_open('%s') gave %s: %s", c_url.c_str(),
               offkv_error_name(rc), offkv_last_error());
  }
  return 0;
}
