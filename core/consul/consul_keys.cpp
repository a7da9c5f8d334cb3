#include "consul_keys.hpp"

#include <stdexcept>

#include "../error.hpp"
#include "consul_errors.hpp"

namespace offkv {
namespace consul {

using nlohmann::json;

namespace {

constexpr std::string_view kNodes = "offkv/n";
constexpr std::string_view kCounters = "offkv/s";
constexpr char kHex[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Undoes enc for one stretch without '/'; false if malformed.
bool decode(std::string_view in, std::string &out) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::string enc_path(std::string_view path) {
  if (path == "/") return std::string();
  std::string out;
  out.reserve(path.size());
  for (char ch : path) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '/' || (c >= 0x20 && c <= 0x7e && c != '%')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string node_key(std::string_view path) {
  return std::string(kNodes) + enc_path(path);
}

std::string children_prefix(std::string_view path) { return node_key(path) + "/"; }

std::string counter_key(std::string_view parent) {
  return std::string(kCounters) + enc_path(parent);
}

std::optional<std::string> path_of(std::string_view key) {
  if (key.substr(0, kNodes.size()) != kNodes) return std::nullopt;
  key.remove_prefix(kNodes.size());
  if (key.size() < 2 || key[0] != '/' || key.back() == '/') return std::nullopt;
  std::string out;
  if (!decode(key, out)) return std::nullopt;
  if (out.find("//") != std::string::npos) return std::nullopt;
  return out;
}

std::optional<std::string> child_name(std::string_view key, std::string_view prefix) {
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  key.remove_prefix(prefix.size());
  if (key.find('/') != std::string_view::npos) return std::nullopt;
  std::string out;
  if (!decode(key, out) || out.empty()) return std::nullopt;
  return out;
}

std::string url_escape(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 16);
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(in[i])) << 16) |
                      (std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8) |
                      std::uint32_t(static_cast<unsigned char>(in[i + 2]));
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    std::uint32_t v = std::uint32_t(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= std::uint32_t(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view in, std::string &out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  if (in.size() % 4 != 0) return false;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int a = value(in[i]), b = value(in[i + 1]);
    if (a < 0 || b < 0) return false;
    bool last = i + 4 == in.size();
    int c = (last && in[i + 2] == '=') ? -2 : value(in[i + 2]);
    int d = (last && in[i + 3] == '=') ? -2 : value(in[i + 3]);
    if (c == -1 || d == -1 || (c == -2 && d != -2)) return false;
    std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) |
                      (std::uint32_t(c < 0 ? 0 : c) << 6) | std::uint32_t(d < 0 ? 0 : d);
    out += static_cast<char>((v >> 16) & 255);
    if (c >= 0) out += static_cast<char>((v >> 8) & 255);
    if (d >= 0) out += static_cast<char>(v & 255);
  }
  return true;
}

static std::uint64_t unsigned_field(const nlohmann::json &j, const char *name,
                                    const std::string &key, bool required) {
  auto it = j.find(name);
  if (it == j.end()) {
    if (required)
      throw std::runtime_error(std::string("no ") + name + " for '" + key + "'");
    return 0;
  }
  // Only a JSON integer in [0, 2^64): no sign, fraction or exponent cast unchecked.
  if (!it->is_number_unsigned())
    throw std::runtime_error(std::string(name) + " of '" + key + "' is " + it->dump() +
                             ", not an unsigned integer");
  return it->get<std::uint64_t>();
}

Entry parse_entry(const nlohmann::json &j) {
  if (!j.is_object()) throw std::runtime_error("a KV entry is not an object");
  Entry e;
  e.present = true;
  auto key = j.find("Key");
  if (key == j.end() || !key->is_string())
    throw std::runtime_error("a KV entry has no Key string");
  e.key = key->get<std::string>();
  std::uint64_t flags = unsigned_field(j, "Flags", e.key, false);
  if (flags > static_cast<std::uint64_t>(kMaxVersion))
    throw std::runtime_error("the version (Flags) of '" + e.key + "' is " +
                             std::to_string(flags) + ", above " +
                             std::to_string(kMaxVersion));
  e.version = flags == 0 ? 1 : static_cast<std::int64_t>(flags);
  e.create_index = unsigned_field(j, "CreateIndex", e.key, true);
  e.modify_index = unsigned_field(j, "ModifyIndex", e.key, true);
  auto session = j.find("Session");
  if (session != j.end() && session->is_string()) e.session = session->get<std::string>();
  auto value = j.find("Value");
  if (value != j.end() && value->is_string() &&
      !base64_decode(value->get<std::string>(), e.value))
    throw std::runtime_error("the value of '" + e.key + "' is not base64");
  return e;
}

namespace {

std::string with_query(std::string target, const std::string &extra,
                       const std::string &consistency) {
  std::string query = extra;
  if (!consistency.empty()) query += (query.empty() ? "" : "&") + consistency;
  if (!query.empty()) target += "?" + query;
  return target;
}

nlohmann::json parse_body(const Response &r, const std::string &what) {
  try {
    return decode(r);
  } catch (const offkv::Error &) {
    throw;
  } catch (const std::exception &e) {
    fail_malformed(r, what, std::string("bad JSON: ") + e.what());
  }
}

}  // namespace

Request kv_read(const std::string &consul_key, const std::string &consistency,
                int timeout_ms) {
  Request rq;
  rq.target = with_query("/v1/kv/" + url_escape(consul_key), "", consistency);
  rq.timeout_ms = timeout_ms;
  return rq;
}

Request key_read(std::string_view path, const std::string &consistency, int timeout_ms) {
  return kv_read(node_key(path), consistency, timeout_ms);
}

Entry parse_key_read(const Response &r, const std::string &what, bool closed) {
  if (r.curl == CURLE_OK && !r.aborted && r.status == 404) return Entry();
  if (!r.ok()) fail_response(r, what, closed);
  nlohmann::json j = parse_body(r, what);
  try {
    if (!j.is_array() || j.size() != 1) throw std::runtime_error("expected one entry");
    return parse_entry(j[0]);
  } catch (const std::exception &e) {
    fail_malformed(r, what, e.what());
  }
}

Request children_read(std::string_view path, const std::string &consistency,
                      int timeout_ms) {
  Request rq;
  rq.target = with_query("/v1/kv/" + url_escape(children_prefix(path)),
                         "keys&separator=/", consistency);
  rq.timeout_ms = timeout_ms;
  return rq;
}

std::vector<std::string> parse_children_read(const Response &r, std::string_view path,
                                             const std::string &what, bool closed) {
  if (r.curl == CURLE_OK && !r.aborted && r.status == 404) return {};
  if (!r.ok()) fail_response(r, what, closed);
  nlohmann::json j = parse_body(r, what);
  std::vector<std::string> names;
  std::string prefix = children_prefix(path);
  try {
    if (!j.is_array()) throw std::runtime_error("the key list is not an array");
    for (const auto &k : j) {
      auto name = child_name(k.get<std::string>(), prefix);
      if (name) names.push_back(std::move(*name));
    }
  } catch (const std::exception &e) {
    fail_malformed(r, what, e.what());
  }
  return names;
}

Request subtree_read(std::string_view path, const std::string &consistency,
                     int timeout_ms) {
  Request rq;
  rq.target =
      with_query("/v1/kv/" + url_escape(children_prefix(path)), "recurse", consistency);
  rq.timeout_ms = timeout_ms;
  return rq;
}

std::vector<Entry> parse_subtree_read(const Response &r, const std::string &what,
                                      bool closed) {
  if (r.curl == CURLE_OK && !r.aborted && r.status == 404) return {};
  if (!r.ok()) fail_response(r, what, closed);
  nlohmann::json j = parse_body(r, what);
  std::vector<Entry> out;
  try {
    if (!j.is_array()) throw std::runtime_error("the entry list is not an array");
    for (const auto &e : j) out.push_back(parse_entry(e));
  } catch (const std::exception &e) {
    fail_malformed(r, what, e.what());
  }
  return out;
}

TxnAnswer parse_txn_answer(const Response &r, std::size_t nops, const std::string &what) {
  json j;
  try {
    j = decode(r);
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    fail_malformed(r, what, std::string("bad JSON: ") + e.what());
  }
  TxnAnswer t;
  // A 200 is an object with "Results" (an array, or null when no op returns an
  // entry); anything else is not Consul's answer and nothing is assumed from it.
  if (!j.is_object() || !j.contains(r.status == 200 ? "Results" : "Errors"))
    fail_malformed(r, what, "not a transaction answer");
  if (r.status == 200) {
    const json &results = j["Results"];
    if (!results.is_array() && !results.is_null())
      fail_malformed(r, what, "Results is not an array");
    t.ok = true;
    t.results = results.is_null() ? json::array() : results;
    return t;
  }
  try {
    std::size_t best = SIZE_MAX;
    for (const auto &err : j.at("Errors")) {
      const json &index = err.at("OpIndex");
      if (!index.is_number_unsigned() || index.get<std::uint64_t>() >= nops)
        throw std::runtime_error("OpIndex " + index.dump() + " is not an op's index");
      std::size_t at = index.get<std::size_t>();
      if (at < best) {
        best = at;
        auto said = err.find("What");
        t.what = said != err.end() && said->is_string() ? said->get<std::string>() : "";
      }
    }
    if (best == SIZE_MAX) throw std::runtime_error("a conflict without errors");
    t.failed = best;
  } catch (const std::exception &e) {
    fail_malformed(r, what, e.what());
  }
  return t;
}

}  // namespace consul
}  // namespace offkv
