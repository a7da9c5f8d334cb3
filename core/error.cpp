#include "error.hpp"

namespace offkv {

namespace {
struct ErrorInfo {
  const char *name;
  const char *text;
};

// Indexed by offkv_error; keep in the order of the enum in offkv.h.
constexpr ErrorInfo kErrors[Err::count] = {
    {"OFFKV_OK", "success"},
    {"OFFKV_EINVAL", "invalid argument, key or URL"},
    {"OFFKV_ENOENT", "no such node"},
    {"OFFKV_EEXIST", "node already exists"},
    {"OFFKV_EVERSION", "version mismatch"},
    {"OFFKV_EEPHEMERAL", "ephemeral nodes cannot have children"},
    {"OFFKV_ENOTEMPTY", "node has children"},
    {"OFFKV_ETOOBIG", "value, key or transaction too large"},
    {"OFFKV_ETXN", "transaction failed"},
    {"OFFKV_ECONNLOSS", "connection lost"},
    {"OFFKV_ESESSION", "session expired"},
    {"OFFKV_ETIMEOUT", "timed out"},
    {"OFFKV_EAUTH", "authentication or permission failure"},
    {"OFFKV_ETLS", "TLS failure"},
    {"OFFKV_ECLOSED", "client or watch closed"},
    {"OFFKV_EUNSUPPORTED", "not supported"},
    {"OFFKV_ESERVICE", "unexpected answer from the backend"},
    {"OFFKV_ENOMEM", "out of memory"},
    {"OFFKV_EINTERNAL", "internal error"},
};
}  // namespace

void fail(int code, const std::string &message) { throw Error(code, message); }

const char *error_text(int code) noexcept {
  if (code < 0 || code >= Err::count) return "unknown error code";
  return kErrors[code].text;
}

const char *error_name(int code) noexcept {
  if (code < 0 || code >= Err::count) return "OFFKV_UNKNOWN";
  return kErrors[code].name;
}

}  // namespace offkv
