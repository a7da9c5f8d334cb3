#include "members.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "../error.hpp"
#include "../key.hpp"
#include "codes.hpp"

namespace offkv {
namespace recipes {

namespace {

constexpr const char kPrefix[] = "member-";
constexpr std::size_t kPrefixLen = sizeof(kPrefix) - 1;
constexpr std::size_t kTokenLen = 16;
constexpr std::size_t kSeqLen = 10;
// Attempts (and pauses between them) for writes whose outcome was unknown.
constexpr int kAttempts = 4;
constexpr int kPauseMs = 200;

bool is_hex(const std::string &s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool is_digits(const std::string &s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void pause(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(kPauseMs * (attempt + 1)));
}

}  // namespace

std::string new_token() {
  static std::mutex mutex;
  static std::mt19937_64 rng([] {
    std::random_device rd;
    std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    return seed ^ static_cast<std::uint64_t>(
                      std::chrono::steady_clock::now().time_since_epoch().count());
  }());
  std::uint64_t value;
  {
    std::lock_guard<std::mutex> lock(mutex);
    value = rng();
  }
  char out[kTokenLen + 1];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(value));
  return out;
}

namespace {

std::string member_prefix(const std::string &group, const std::string &token) {
  return group + "/" + kPrefix + token + "-";
}

// Mesos' names: at most this many bytes of label fit in a key segment (255 bytes)
// before '_' and the 10 digits.
constexpr std::size_t kMaxLabel = 255 - 1 - kSeqLen;

void check_label(const std::string &label) {
  if (label.empty()) fail(Err::einval, "member label is empty (give none instead)");
  auto bad = [&](const std::string &why) {
    fail(Err::einval, "member label '" + label + "' " + why);
  };
  if (label.find('/') != std::string::npos)
    bad("contains '/' (a member's name is one key segment: <label>_<10 digits>)");
  if (label.find('_') != std::string::npos)
    bad("contains '_' (Mesos reads a member's name up to its first '_' as the label)");
  if (label.size() > kMaxLabel)
    bad("is " + std::to_string(label.size()) + " bytes; at most " +
        std::to_string(kMaxLabel) +
        " fit in a key segment before '_' and the 10-digit sequence");
  try {
    validate_key("/" + label + "_" + std::string(kSeqLen, '0'));
  } catch (const Error &e) {
    bad(std::string("cannot be part of a key: ") + e.what());
  }
}

}  // namespace

Naming::Naming(std::string label) : label_(std::move(label)) { check_label(label_); }

std::string Naming::prefix(const std::string &group, const std::string &token) const {
  return labeled() ? group + "/" + label_ + "_" : member_prefix(group, token);
}

std::string Naming::describe() const {
  return labeled() ? "'" + label_ + "' member" : "member";
}

void validate_group(Client &client, const std::string &group, const Naming &naming) {
  client.validate(group);
  try {
    client.validate(naming.prefix(group, std::string(kTokenLen, '0')) +
                    std::string(kSeqLen, '0'));
  } catch (const Error &e) {
    fail(e.code(), "group '" + group + "' is too long for its member keys: " + e.what());
  }
}

// The sequence of a member's suffix. Ten digits on every backend; on ZooKeeper the
// suffix is the parent's signed 32-bit cversion ("%010d"), which after 2^31 creations
// under one group turns negative: "-2147483648" (11 characters) up to "-000000001".
// Read as the unsigned 32-bit number ZooKeeper's counter then stands for (2^31 ..
// 2^32 - 1), so members keep their creation order across the wrap.
std::optional<std::int64_t> parse_sequence(const std::string &seq) {
  if (seq.size() == kSeqLen && is_digits(seq)) return std::stoll(seq);
  if ((seq.size() == kSeqLen || seq.size() == kSeqLen + 1) && seq[0] == '-' &&
      is_digits(seq.substr(1))) {
    std::int64_t negative = std::stoll(seq);
    if (negative >= std::int64_t{INT32_MIN} && negative < 0)
      return negative + (std::int64_t{1} << 32);
  }
  return std::nullopt;
}

std::optional<Member> parse_member(const std::string &key) {
  std::size_t slash = key.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  std::string name = key.substr(slash + 1);
  constexpr std::size_t kHead = kPrefixLen + kTokenLen + 1;
  if (name.size() != kHead + kSeqLen && name.size() != kHead + kSeqLen + 1)
    return std::nullopt;
  if (name.compare(0, kPrefixLen, kPrefix) != 0) return std::nullopt;
  std::string token = name.substr(kPrefixLen, kTokenLen);
  if (!is_hex(token) || name[kPrefixLen + kTokenLen] != '-') return std::nullopt;
  auto sequence = parse_sequence(name.substr(kHead));
  if (!sequence) return std::nullopt;
  Member m;
  m.key = key;
  m.token = token;
  m.sequence = *sequence;
  return m;
}

std::optional<Member> Naming::parse(const std::string &key) const {
  if (!labeled()) return parse_member(key);
  std::size_t slash = key.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  const std::size_t head = slash + 1 + label_.size() + 1;  // past "<label>_"
  if (key.size() <= head || key.compare(slash + 1, label_.size(), label_) != 0 ||
      key[head - 1] != '_')
    return std::nullopt;
  auto sequence = parse_sequence(key.substr(head));
  if (!sequence) return std::nullopt;
  Member m;
  m.key = key;
  m.sequence = *sequence;
  return m;
}

std::vector<Member> list_members(Client &client, const std::string &group,
                                 const Naming &naming, const EventCallback *callback,
                                 WatchPtr *watch_out) {
  std::vector<Member> out;
  for (const auto &key : client.children(group, callback, watch_out)) {
    if (auto m = naming.parse(key)) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const Member &a, const Member &b) {
    return a.sequence != b.sequence ? a.sequence < b.sequence : a.key < b.key;
  });
  return out;
}

int index_of(const std::vector<Member> &members, const std::string &key) {
  for (std::size_t i = 0; i < members.size(); ++i)
    if (members[i].key == key) return static_cast<int>(i);
  return -1;
}

void ensure_path(Client &client, const std::string &key) {
  if (client.exists(key, nullptr, nullptr) != 0) return;
  // Create from the top down; an existing ancestor is fine.
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = key.find('/', pos + 1);
    std::string part = key.substr(0, pos);
    try {
      client.create(part, "", 0);
    } catch (const Error &e) {
      if (e.code() != Err::eexist) throw;
    }
  }
}

bool outcome_unknown(int code) { return code == Err::econnloss || code == Err::etimeout; }

std::optional<Member> find_own(Client &client, const std::string &group,
                               const Naming &naming, const Claim &claim) {
  // With a label and no listing yet, no create of this claim was even tried.
  if (naming.labeled() && !claim.listed) return std::nullopt;
  std::optional<Member> found;
  for (auto &m : list_members(client, group, naming)) {
    if (!naming.labeled()) {
      if (m.token != claim.token) continue;
    } else {
      // Mesos' names carry no token: a node that was not there before our create,
      // holding exactly our payload.
      if (std::binary_search(claim.before.begin(), claim.before.end(), m.key)) continue;
      try {
        Node node = client.get(m.key, nullptr, nullptr);
        if (node.value != claim.payload) continue;
        m.payload = std::move(node.value);
        m.version = node.version;
      } catch (const Error &e) {
        if (e.code() != Err::enoent) throw;
        continue;  // gone meanwhile
      }
    }
    if (!found) {
      found = m;
    } else {
      erase_member(client, m.key);  // a duplicate from an earlier retry
    }
  }
  return found;
}

std::optional<Member> find_own_or_none(Client &client, const std::string &group,
                                       const Naming &naming, const Claim &claim) {
  try {
    return find_own(client, group, naming, claim);
  } catch (const Error &e) {
    if (e.code() != Err::enoent) throw;
    return std::nullopt;
  }
}

void check_payload(const std::string &what, const std::string &payload) {
  if (payload.size() > Limit::max_value_size)
    fail(Err::etoobig, what + " payload is " + std::to_string(payload.size()) +
                           " bytes; the limit is " +
                           std::to_string(Limit::max_value_size));
}

std::string create_member(Client &client, const std::string &group, const Naming &naming,
                          Claim &claim, const std::string &payload) {
  const std::string prefix = naming.prefix(group, claim.token);
  if (naming.labeled()) {
    if (!claim.listed) {
      // What was there before: find_own only considers labeled members not listed
      // here. Kept while a create of this claim is unresolved.
      claim.before.clear();
      try {
        for (auto &m : list_members(client, group, naming))
          claim.before.push_back(std::move(m.key));
      } catch (const Error &e) {
        if (e.code() != Err::enoent) throw;
      }
      std::sort(claim.before.begin(), claim.before.end());
      claim.listed = true;
    }
    claim.payload = payload;
  }
  for (int attempt = 0;; ++attempt) {
    try {
      return client.create(prefix, payload, NodeFlag::ephemeral | NodeFlag::sequential);
    } catch (const Error &e) {
      if (!outcome_unknown(e.code()) || attempt + 1 >= kAttempts) throw;
      // Did it happen? Look for our token before trying again.
      for (;; ++attempt) {
        pause(attempt);
        try {
          if (auto own = find_own_or_none(client, group, naming, claim)) return own->key;
          break;  // it did not: create again
        } catch (const Error &again) {
          if (!outcome_unknown(again.code()) || attempt + 1 >= kAttempts) throw e;
        }
      }
    }
  }
}

bool erase_member(Client &client, const std::string &key) {
  for (int attempt = 0;; ++attempt) {
    try {
      client.erase(key, 0);
      return true;
    } catch (const Error &e) {
      int code = e.code();
      if (code == Err::enoent || code == Err::eclosed || code == Err::esession)
        return false;
      if (!outcome_unknown(code) || attempt + 1 >= kAttempts) throw;
      pause(attempt);
    }
  }
}

}  // namespace recipes
}  // namespace offkv
