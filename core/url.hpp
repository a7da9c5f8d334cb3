// URL parsing: scheme://hosts/prefix?options (SPEC §1).
#pragma once

#include <string>

#include "model.hpp"

namespace offkv {

// Parses url; query parameters override fields of options. Throws Error(EINVAL) with
// the reason for anything malformed, unknown or out of range.
Endpoint parse_url(const std::string &url, Options &options);

// Sets one option by its URL query name (or alias), as the query would: throws
// Error(EINVAL) naming the option and the values it accepts (or, for an unknown
// name, every known one), and for a value out of range.
void set_option(Options &options, const std::string &name, const std::string &value);

// The table's name for name or its alias ("user" -> "username"); "" if unknown.
std::string option_canonical_name(const std::string &name);

// Every option name, comma-separated, in table order.
std::string option_names();

// The schemes (core/backends.cpp's one table). known_scheme: whether offkv knows
// scheme, compiled in or not, and (tls not null) whether it is the TLS variant.
bool known_scheme(const std::string &scheme, bool *tls);
// "mem, zk, etcd, etcds, consul or consuls", for messages.
std::string scheme_names();
// The backends compiled in, comma-separated, each once: "mem,zk,etcd,consul".
const char *compiled_backends();

// Checks ranges of options (timeouts, consistency); throws Error(EINVAL).
void validate_options(const Options &options);

}  // namespace offkv
