#include "etcd_errors.hpp"

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace etcd {

namespace {

bool says(const grpc::Status &status, const char *text) {
  return status.error_message().find(text) != std::string::npos;
}

const char *code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "?";
  }
}

bool tls_failure(const grpc::Status &status) {
  return says(status, "SSL") || says(status, "ssl") || says(status, "TLS") ||
         says(status, "handshake") || says(status, "certificate");
}

}  // namespace

int map_status(const grpc::Status &status) noexcept {
  using C = grpc::StatusCode;
  switch (status.error_code()) {
    case C::OK:
      return Err::ok;
    case C::DEADLINE_EXCEEDED:
      return Err::etimeout;
    case C::UNAVAILABLE:
      // "etcdserver: no leader", "leader changed", "request timed out", a member
      // down: the request may or may not have been applied.
      if (tls_failure(status)) return Err::etls;
      return Err::econnloss;
    case C::CANCELLED:
      return Err::econnloss;
    case C::UNAUTHENTICATED:
    case C::PERMISSION_DENIED:
      return Err::eauth;
    case C::INVALID_ARGUMENT:
      if (says(status, "user name or password") || says(status, "auth"))
        return Err::eauth;
      if (says(status, "too large") || says(status, "too many operations"))
        return Err::etoobig;
      return Err::einval;
    case C::FAILED_PRECONDITION:
      if (says(status, "auth") || says(status, "token") || says(status, "user"))
        return Err::eauth;
      return Err::eservice;
    case C::RESOURCE_EXHAUSTED:
      // gRPC's message size limit, or etcd's "database space exceeded".
      if (says(status, "larger than max") || says(status, "too large"))
        return Err::etoobig;
      return Err::eservice;
    case C::NOT_FOUND:
      if (says(status, "lease")) return Err::esession;
      return Err::eservice;
    case C::UNKNOWN:
      if (tls_failure(status)) return Err::etls;
      return Err::eservice;
    default:
      return Err::eservice;
  }
}

std::string etcd_words(const grpc::Status &status) {
  return std::string(" [etcd: ") + code_name(status.error_code()) + ": " +
         status.error_message() + "]";
}

bool token_expired(const grpc::Status &status) noexcept {
  if (status.error_code() != grpc::StatusCode::UNAUTHENTICATED &&
      status.error_code() != grpc::StatusCode::INVALID_ARGUMENT &&
      status.error_code() != grpc::StatusCode::FAILED_PRECONDITION)
    return false;
  return says(status, "invalid auth token") || says(status, "token is expired") ||
         says(status, "auth: revision in header is old");
}

void fail_status(const grpc::Status &status, const std::string &what) {
  throw Error(map_status(status), what + etcd_words(status));
}

}  // namespace etcd
}  // namespace offkv
