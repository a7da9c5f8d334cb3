// Jute, ZooKeeper's record encoding, as far as the client protocol needs it: big-endian
// int and long, one-byte boolean, length-prefixed buffers and strings (-1 = null),
// count-prefixed vectors. Every packet on the wire is a 4-byte length and a payload.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace zkd {

struct JuteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ZooKeeper's org.apache.zookeeper.data.Stat, field for field.
struct Stat {
  std::int64_t czxid = 0, mzxid = 0, ctime = 0, mtime = 0;
  std::int32_t version = 0, cversion = 0, aversion = 0;
  std::int64_t ephemeral_owner = 0;
  std::int32_t data_length = 0, num_children = 0;
  std::int64_t pzxid = 0;
};

struct Acl {
  std::int32_t perms = 0;
  std::string scheme, id;
};

class Reader {
 public:
  Reader(const char *data, std::size_t size) : p_(data), n_(size) {}
  explicit Reader(const std::string &s) : Reader(s.data(), s.size()) {}

  std::int32_t i32() {
    need(4);
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(p_[i_++]);
    return static_cast<std::int32_t>(v);
  }
  std::int64_t i64() {
    need(8);
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<unsigned char>(p_[i_++]);
    return static_cast<std::int64_t>(v);
  }
  bool boolean() {
    need(1);
    return p_[i_++] != 0;
  }
  // A buffer or ustring; null (-1) reads as "".
  std::string buffer() {
    std::int32_t len = i32();
    if (len < 0) return {};
    need(static_cast<std::size_t>(len));
    std::string out(p_ + i_, static_cast<std::size_t>(len));
    i_ += static_cast<std::size_t>(len);
    return out;
  }
  std::string str() { return buffer(); }
  std::vector<std::string> strings() {
    std::int32_t count = i32();
    std::vector<std::string> out;
    if (count < 0) return out;
    if (static_cast<std::size_t>(count) > remaining() / 4) throw JuteError("bad vector");
    for (std::int32_t k = 0; k < count; ++k) out.push_back(str());
    return out;
  }
  std::vector<Acl> acls() {
    std::int32_t count = i32();
    std::vector<Acl> out;
    if (count < 0) return out;
    if (static_cast<std::size_t>(count) > remaining() / 4) throw JuteError("bad vector");
    for (std::int32_t k = 0; k < count; ++k) {
      Acl a;
      a.perms = i32();
      a.scheme = str();
      a.id = str();
      out.push_back(std::move(a));
    }
    return out;
  }
  Stat stat() {
    Stat s;
    s.czxid = i64();
    s.mzxid = i64();
    s.ctime = i64();
    s.mtime = i64();
    s.version = i32();
    s.cversion = i32();
    s.aversion = i32();
    s.ephemeral_owner = i64();
    s.data_length = i32();
    s.num_children = i32();
    s.pzxid = i64();
    return s;
  }
  std::size_t remaining() const { return n_ - i_; }
  bool at_end() const { return i_ >= n_; }

 private:
  void need(std::size_t k) const {
    if (n_ - i_ < k) throw JuteError("packet too short");
  }
  const char *p_;
  std::size_t n_;
  std::size_t i_ = 0;
};

class Writer {
 public:
  Writer &i32(std::int32_t v) {
    for (int k = 3; k >= 0; --k) out_.push_back(static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * k)) & 0xff));
    return *this;
  }
  Writer &i64(std::int64_t v) {
    for (int k = 7; k >= 0; --k) out_.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * k)) & 0xff));
    return *this;
  }
  Writer &boolean(bool v) {
    out_.push_back(v ? 1 : 0);
    return *this;
  }
  Writer &buffer(const std::string &s) {
    i32(static_cast<std::int32_t>(s.size()));
    out_ += s;
    return *this;
  }
  Writer &str(const std::string &s) { return buffer(s); }
  Writer &strings(const std::vector<std::string> &v) {
    i32(static_cast<std::int32_t>(v.size()));
    for (const auto &s : v) str(s);
    return *this;
  }
  Writer &acls(const std::vector<Acl> &v) {
    i32(static_cast<std::int32_t>(v.size()));
    for (const auto &a : v) i32(a.perms).str(a.scheme).str(a.id);
    return *this;
  }
  Writer &stat(const Stat &s) {
    i64(s.czxid).i64(s.mzxid).i64(s.ctime).i64(s.mtime);
    i32(s.version).i32(s.cversion).i32(s.aversion);
    i64(s.ephemeral_owner).i32(s.data_length).i32(s.num_children).i64(s.pzxid);
    return *this;
  }
  Writer &raw(const std::string &s) {
    out_ += s;
    return *this;
  }
  const std::string &data() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace zkd
