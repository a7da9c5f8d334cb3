#include "url.hpp"

#include <cctype>
#include <cstdlib>

#include "codes.hpp"
#include "error.hpp"
#include "key.hpp"

namespace offkv {

namespace {

[[noreturn]] void bad_url(const std::string &url, const std::string &why) {
  fail(Err::einval, "invalid URL '" + url + "': " + why);
}

std::string percent_decode(const std::string &url, const std::string &in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
        bad_url(url, "bad percent escape");
      out += static_cast<char>(std::strtol(in.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// A value the option does not accept; the table's `accepts` says what it does.
struct BadValue {};

std::int32_t milliseconds(const std::string &value) {
  if (value.empty() || value.size() > 9) throw BadValue{};
  for (char c : value)
    if (!std::isdigit(static_cast<unsigned char>(c))) throw BadValue{};
  return static_cast<std::int32_t>(std::strtol(value.c_str(), nullptr, 10));
}

// Every option, in one place: the URL query, offkv_options_set and the docs' list all
// come from this table. Adding an option is adding a row (and its field in Options).
struct OptionDef {
  const char *name;
  const char *alias;    // a second accepted name, or nullptr
  const char *accepts;  // what a value may be: "NAME must be <accepts>"
  const char *doc;
  void (*apply)(Options &, const std::string &value);  // throws BadValue
};

const OptionDef kOptions[] = {
    {"session_timeout_ms", nullptr, "milliseconds",
     "how long a silent client's session survives, in [2000, 60000]",
     [](Options &o, const std::string &v) { o.session_timeout_ms = milliseconds(v); }},
    {"connect_timeout_ms", nullptr, "milliseconds",
     "how long open tries to reach the store",
     [](Options &o, const std::string &v) { o.connect_timeout_ms = milliseconds(v); }},
    {"operation_timeout_ms", nullptr, "milliseconds", "the longest any operation waits",
     [](Options &o, const std::string &v) { o.operation_timeout_ms = milliseconds(v); }},
    {"tls_ca_file", nullptr, "a file path", "PEM file of trusted CAs",
     [](Options &o, const std::string &v) { o.tls_ca_file = v; }},
    {"tls_cert_file", nullptr, "a file path", "PEM client certificate",
     [](Options &o, const std::string &v) { o.tls_cert_file = v; }},
    {"tls_key_file", nullptr, "a file path", "PEM client key",
     [](Options &o, const std::string &v) { o.tls_key_file = v; }},
    {"username", "user", "a user name", "etcd user, ZooKeeper digest user",
     [](Options &o, const std::string &v) { o.username = v; }},
    {"password", nullptr, "a password", "etcd password, ZooKeeper digest password",
     [](Options &o, const std::string &v) { o.password = v; }},
    {"token", nullptr, "a token", "Consul ACL token",
     [](Options &o, const std::string &v) { o.token = v; }},
    {"read_consistency", nullptr, "linearizable or serializable",
     "serializable may read a stale replica",
     [](Options &o, const std::string &v) {
       if (v == "linearizable")
         o.read_consistency = ReadMode::linearizable;
       else if (v == "serializable")
         o.read_consistency = ReadMode::serializable;
       else
         throw BadValue{};
     }},
    {"zk_acl", nullptr, "creator or open", "zk:// only: the ACL of created nodes",
     [](Options &o, const std::string &v) {
       if (v != "creator" && v != "open") throw BadValue{};
       o.zk_acl = v;
     }},
};

const OptionDef *find_option(const std::string &name) {
  for (const OptionDef &def : kOptions)
    if (name == def.name || (def.alias && name == def.alias)) return &def;
  return nullptr;
}

// Applies one option; returns why it was refused, "" if it was not.
std::string apply_option(Options &o, const std::string &name, const std::string &value) {
  const OptionDef *def = find_option(name);
  if (!def) return "unknown option '" + name + "' (known: " + option_names() + ")";
  try {
    def->apply(o, value);
  } catch (const BadValue &) {
    return name + " must be " + def->accepts;
  }
  return "";
}

void apply_query(const std::string &url, const std::string &query, Options &o) {
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    std::string pair =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    start = amp == std::string::npos ? query.size() + 1 : amp + 1;
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    if (eq == std::string::npos) bad_url(url, "option '" + pair + "' has no value");
    std::string name = pair.substr(0, eq);
    std::string why = apply_option(o, name, percent_decode(url, pair.substr(eq + 1)));
    if (!why.empty()) bad_url(url, why);
  }
}

void check_host(const std::string &url, const std::string &host) {
  std::size_t colon = host.rfind(':');
  if (host.empty()) bad_url(url, "empty host");
  if (colon == std::string::npos || colon == 0)
    bad_url(url, "host '" + host + "' needs host:port");
  std::string name = host.substr(0, colon), port = host.substr(colon + 1);
  if (name.front() == '[' ? name.back() != ']' : name.find(':') != std::string::npos)
    bad_url(url, "IPv6 host '" + name + "' must be in brackets");
  if (port.empty() || port.size() > 5) bad_url(url, "bad port in '" + host + "'");
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      bad_url(url, "bad port in '" + host + "'");
  long n = std::strtol(port.c_str(), nullptr, 10);
  if (n < 1 || n > 65535) bad_url(url, "port out of range in '" + host + "'");
  for (char c : name)
    if (std::isspace(static_cast<unsigned char>(c)) || c == '@')
      bad_url(url, "bad host '" + name + "'");
}

}  // namespace

std::string option_names() {
  std::string out;
  for (const OptionDef &def : kOptions) {
    if (!out.empty()) out += ", ";
    out += def.name;
  }
  return out;
}

std::string option_canonical_name(const std::string &name) {
  const OptionDef *def = find_option(name);
  return def ? def->name : "";
}

void set_option(Options &options, const std::string &name, const std::string &value) {
  std::string why = apply_option(options, name, value);
  if (!why.empty()) fail(Err::einval, "option " + why);
  // Range checks too, on this option alone (the others keep their defaults).
  Options alone;
  apply_option(alone, name, value);
  try {
    validate_options(alone);
  } catch (const Error &e) {
    fail(Err::einval, "option " + name + ": " + e.what());
  }
}

void validate_options(const Options &o) {
  if (o.session_timeout_ms < Limit::session_timeout_min_ms ||
      o.session_timeout_ms > Limit::session_timeout_max_ms)
    fail(Err::einval, "session timeout " + std::to_string(o.session_timeout_ms) +
                          " ms is outside [" +
                          std::to_string(Limit::session_timeout_min_ms) + ", " +
                          std::to_string(Limit::session_timeout_max_ms) + "]");
  if (o.connect_timeout_ms <= 0) fail(Err::einval, "connect timeout must be > 0");
  if (o.operation_timeout_ms <= 0) fail(Err::einval, "operation timeout must be > 0");
  if (o.read_consistency != ReadMode::linearizable &&
      o.read_consistency != ReadMode::serializable)
    fail(Err::einval, "unknown read consistency " + std::to_string(o.read_consistency));
}

Endpoint parse_url(const std::string &url, Options &options) {
  Endpoint ep;
  std::size_t sep = url.find("://");
  if (sep == std::string::npos) bad_url(url, "expected scheme://...");
  ep.scheme = url.substr(0, sep);
  if (!known_scheme(ep.scheme, &ep.tls))
    bad_url(url, "unknown scheme '" + ep.scheme + "' (expected " + scheme_names() + ")");

  std::string rest = url.substr(sep + 3);
  std::size_t qmark = rest.find('?');
  if (qmark != std::string::npos) {
    apply_query(url, rest.substr(qmark + 1), options);
    rest.resize(qmark);
  }
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    ep.prefix = percent_decode(url, rest.substr(slash));
    if (ep.prefix == "/") ep.prefix.clear();
    validate_prefix(ep.prefix);
  }

  if (ep.scheme == "mem") {
    if (authority.empty()) bad_url(url, "mem:// needs a store name: mem://NAME");
    for (char c : authority)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' &&
          c != '.')
        bad_url(url, "store name may hold only letters, digits, '-', '_' and '.'");
    ep.hosts.push_back(authority);
  } else {
    std::size_t start = 0;
    while (true) {
      std::size_t comma = authority.find(',', start);
      std::string host = authority.substr(
          start, comma == std::string::npos ? std::string::npos : comma - start);
      check_host(url, host);
      ep.hosts.push_back(host);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if ((ep.scheme == "consul" || ep.scheme == "consuls") && ep.hosts.size() != 1)
      bad_url(url, "consul:// takes exactly one agent address");
  }
  validate_options(options);
  return ep;
}

}  // namespace offkv
