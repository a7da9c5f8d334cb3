#include "key.hpp"

#include <algorithm>
#include <cstdio>

#include "codes.hpp"
#include "error.hpp"

namespace offkv {

namespace {

std::string printable(std::string_view key) {
  // Keep the message readable even for hostile keys.
  std::string out;
  for (unsigned char c : key.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (key.size() > 200) out += "...";
  return out;
}

[[noreturn]] void invalid(std::string_view key, const char *why) {
  fail(Err::einval, "invalid key '" + printable(key) + "': " + why);
}

// Decodes one UTF-8 code point at s[i]; returns its length, or 0 if malformed
// (overlong, surrogate, out of range, truncated).
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t &cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

// Code points refused in a segment. Beyond ASCII controls this is ZooKeeper's own
// rule (PathUtils.validatePath works on UTF-16, so every code point above U+FFFF is a
// surrogate pair there): one rule for every backend means ZooKeeper's.
bool forbidden_code_point(std::uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
         cp >= 0xfff0;
}

void validate_segment(std::string_view key, std::string_view seg) {
  if (seg.empty()) invalid(key, "empty segment ('//' or trailing '/')");
  if (seg.size() > Limit::max_segment_size) invalid(key, "segment longer than 255 bytes");
  if (seg == "." || seg == "..") invalid(key, "'.' and '..' are not segments");
  for (std::size_t i = 0; i < seg.size();) {
    std::uint32_t cp = 0;
    std::size_t n = decode_utf8(seg, i, cp);
    if (n == 0) invalid(key, "not valid UTF-8");
    if (forbidden_code_point(cp))
      invalid(key, cp < 0x80 || (cp >= 0x7f && cp <= 0x9f)
                       ? "control character"
                       : "code point not allowed (U+D800-U+F8FF, U+FFF0 and above)");
    i += n;
  }
}

void validate_path(std::string_view key) {
  if (key.empty()) invalid(key, "empty");
  if (key[0] != '/') invalid(key, "must start with '/'");
  if (key.size() == 1) invalid(key, "the root '/' is not a key");
  std::size_t start = 1;
  while (true) {
    std::size_t slash = key.find('/', start);
    std::string_view seg = key.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    validate_segment(key, seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
}

}  // namespace

void validate_key(std::string_view key) {
  if (key.size() > Limit::max_key_size)
    fail(Err::etoobig, "key longer than " + std::to_string(Limit::max_key_size) +
                           " bytes: '" + printable(key) + "'");
  validate_path(key);
}

void validate_key_or_root(std::string_view key) {
  if (key == "/") return;
  validate_key(key);
}

void validate_prefix(std::string_view prefix) {
  if (prefix.empty()) return;
  try {
    validate_key(prefix);
  } catch (const Error &e) {
    fail(Err::einval, std::string("invalid URL prefix: ") + e.what());
  }
  // Every full path of such a client would be refused; refuse the client instead,
  // before a backend creates the prefix inside ZooKeeper's own tree.
  if (path_covers("/zookeeper", prefix))
    fail(Err::einval, "invalid URL prefix '" + printable(prefix) +
                          "': /zookeeper is reserved (ZooKeeper's own tree)");
}

std::string to_full_path(const std::string &prefix, std::string_view key) {
  std::string full = key == "/" ? (prefix.empty() ? std::string("/") : prefix)
                                : prefix + std::string(key);
  if (full.size() > Limit::max_key_size)
    fail(Err::etoobig, "prefix + key longer than " + std::to_string(Limit::max_key_size) +
                           " bytes: '" + printable(full) + "'");
  if (path_covers("/zookeeper", full))
    fail(Err::einval, "invalid key '" + printable(full) +
                          "': /zookeeper is reserved (ZooKeeper's own tree)");
  return full;
}

std::string to_client_key(const std::string &prefix, std::string_view full_path) {
  if (prefix.empty()) return std::string(full_path);
  if (full_path.size() == prefix.size()) return "/";
  return std::string(full_path.substr(prefix.size()));
}

std::string parent_path(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

bool path_covers(std::string_view ancestor, std::string_view path) {
  if (ancestor == "/") return true;
  if (path.size() < ancestor.size()) return false;
  if (path.compare(0, ancestor.size(), ancestor) != 0) return false;
  return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

std::string sequential_path(std::string_view path, std::int64_t counter) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%010lld", static_cast<long long>(counter));
  return std::string(path) + digits;
}

std::string preorder_key(std::string_view path) {
  std::string key(path);
  std::replace(key.begin(), key.end(), '/', '\x01');
  return key;
}

void sort_preorder(std::vector<std::string> &paths) {
  std::sort(paths.begin(), paths.end(), [](const std::string &a, const std::string &b) {
    return preorder_key(a) < preorder_key(b);
  });
}

}  // namespace offkv
