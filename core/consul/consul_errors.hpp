// Consul answers (HTTP status, body, libcurl code) -> offkv error codes, one place.
#pragma once

#include <string>

#include "consul_http.hpp"

namespace offkv {
namespace consul {

// The offkv code for an answer that is not a success (never Err::ok for one).
// closed: the client was closed meanwhile (an aborted request is then ECLOSED).
int map_error(const Response &r, bool closed) noexcept;

// " [consul: HTTP 500: No cluster leader]" or " [consul: curl: Connection refused]",
// appended to every message built from an answer.
std::string consul_words(const Response &r);

// Throws offkv::Error(map_error(r), what + consul_words(r)), adding a hint where the
// outcome of a write is unknown.
[[noreturn]] void fail_response(const Response &r, const std::string &what, bool closed);

// Throws Err::eservice for an answer that could not be understood.
[[noreturn]] void fail_malformed(const Response &r, const std::string &what,
                                 const std::string &why);

}  // namespace consul
}  // namespace offkv
