// URL parsing: scheme://hosts/prefix?options (SPEC §1).
#pragma once

#include <string>

#include "model.hpp"

namespace offkv {

// Parses url; query parameters override fields of options. Throws Error(EINVAL) with
// the reason for anything malformed, unknown or out of range.
Endpoint parse_url(const std::string &url, Options &options);

// Checks ranges of options (timeouts, consistency); throws Error(EINVAL).
void validate_options(const Options &options);

}  // namespace offkv
