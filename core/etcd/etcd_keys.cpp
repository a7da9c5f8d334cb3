#include "etcd_keys.hpp"

#include <charconv>
#include <cstdlib>

#include "../model.hpp"

#include "../key.hpp"

namespace offkv {
namespace etcd {

namespace {
constexpr std::string_view kNodes = "offkv/n";
constexpr std::string_view kCounters = "offkv/s";

std::string decode(std::string_view encoded) {
  std::string out(encoded);
  for (auto &c : out)
    if (c == '\x01') c = '/';
  return out.empty() ? std::string("/") : out;
}

std::string base(std::string_view path) { return std::string(kNodes) + enc(path); }

// A decimal in [0, kMaxVersion] filling all of text.
bool parse_count(std::string_view text, std::int64_t &out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out >= 0 &&
         out <= kMaxVersion;
}
}  // namespace

std::string enc(std::string_view path) {
  if (path == "/") return std::string();
  std::string out(path);
  for (auto &c : out)
    if (c == '/') c = '\x01';
  return out;
}

std::string node_key(std::string_view path) { return base(path) + '\0'; }

std::string alt_slot_key(std::string_view path, std::int64_t offset,
                         const std::string &how) {
  std::string k = base(path);
  k += '\0';
  k += '\x01';
  k += std::to_string(offset) + ":" + how;
  return k;
}

std::string child_key(std::string_view path) {
  std::size_t slash = path.rfind('/');
  std::string k = base(parent_path(path));
  k += '\0';
  k += path.substr(slash + 1);
  return k;
}

std::string counter_key(std::string_view parent) {
  std::string k(kCounters);
  k += enc(parent);
  return k;
}

Range slot_range(std::string_view path) {
  std::string b = base(path);
  return {b + '\0', b + std::string("\0\x02", 2)};
}

Range children_range(std::string_view path) {
  std::string b = base(path);
  return {b + '\0', b + '\x01'};
}

Range subtree_range(std::string_view path) {
  std::string b = base(path);
  return {b + '\0', b + '\x02'};
}

KeyInfo classify(std::string_view key) {
  KeyInfo info;
  if (key.substr(0, kNodes.size()) != kNodes) return info;
  key.remove_prefix(kNodes.size());
  std::size_t zero = key.find('\0');
  if (zero == std::string_view::npos) return info;
  std::string parent = decode(key.substr(0, zero));
  std::string_view name = key.substr(zero + 1);
  if (name.empty() || name[0] == '\x01') {
    info.kind = KeyKind::Node;
    info.path = parent;
    if (!name.empty()) {
      info.alt = true;
      std::string_view tag = name.substr(1);
      std::size_t colon = tag.find(':');
      info.bad = colon == std::string_view::npos || colon + 1 >= tag.size() ||
                 !parse_count(tag.substr(0, colon), info.offset);
      if (!info.bad) {
        info.how = tag[colon + 1];
        if (info.how == 'b') info.bad = !parse_count(tag.substr(colon + 2), info.from);
      }
    }
    return info;
  }
  info.kind = KeyKind::Child;
  info.path = parent == "/" ? "/" + std::string(name) : parent + "/" + std::string(name);
  return info;
}

bool node_version(const KeyInfo &info, std::int64_t etcd_version, std::int64_t &version) {
  if (info.bad || etcd_version < 1) return false;
  return !__builtin_add_overflow(etcd_version, info.offset, &version) &&
         version <= kMaxVersion;
}

}  // namespace etcd
}  // namespace offkv
