#include "verdict.hpp"

#include "codes.hpp"
#include "key.hpp"

namespace offkv {

namespace {
std::string describe_found(std::int64_t found) {
  if (found == 0) return "no node";
  if (found < 0) return "another version";
  return "version " + std::to_string(found);
}
}  // namespace

std::string Verdicts::key(const std::string &path) const {
  return to_client_key(prefix_, path);
}

Error Verdicts::no_parent(const std::string &path, const std::string &store_words) const {
  return Error(Err::enoent, "cannot create '" + key(path) + "': parent '" +
                                key(parent_path(path)) + "' does not exist" +
                                store_words);
}

Error Verdicts::ephemeral_parent(const std::string &path,
                                 const std::string &store_words) const {
  return Error(Err::eephemeral, "cannot create '" + key(path) + "': parent '" +
                                    key(parent_path(path)) + "' is ephemeral" +
                                    store_words);
}

Error Verdicts::exists(const std::string &path, const std::string &store_words) const {
  return Error(Err::eexist, "'" + key(path) + "' already exists" + store_words);
}

Error Verdicts::no_node(const char *verb, const std::string &path,
                        const std::string &store_words) const {
  return Error(Err::enoent, std::string("cannot ") + verb + " '" + key(path) +
                                "': no such node" + store_words);
}

Error Verdicts::cas_mismatch(const std::string &path, std::int64_t expected,
                             std::int64_t found, const std::string &store_words) const {
  std::string wanted =
      expected == 0 ? std::string("no node") : "version " + std::to_string(expected);
  return Error(Err::eversion, "cas on '" + key(path) + "': expected " + wanted +
                                  ", found " + describe_found(found) + store_words);
}

Error Verdicts::erase_mismatch(const std::string &path, std::int64_t expected,
                               std::int64_t found, const std::string &store_words) const {
  return Error(Err::eversion, "erase of '" + key(path) + "': expected version " +
                                  std::to_string(expected) + ", found " +
                                  describe_found(found) + store_words);
}

Error Verdicts::check_failed(const TxnOp &check, std::int64_t found,
                             const std::string &store_words) const {
  int code = check_code(check.version, found);
  if (code == Err::ok) code = Err::eversion;  // the store refused what looked fine
  std::string wanted = check.version == kAnyVersion ? std::string("any version")
                       : check.version == 0         ? std::string("no node")
                                            : "version " + std::to_string(check.version);
  return Error(code, "check on '" + key(check.path) + "': expected " + wanted +
                         ", found " + describe_found(found) + store_words);
}

int Verdicts::check_code(std::int64_t expected, std::int64_t found) {
  bool present = found != 0;
  if (expected == kAnyVersion) return present ? Err::ok : Err::enoent;
  if (expected == 0) return present ? Err::eexist : Err::ok;
  if (!present) return Err::enoent;
  return found == expected ? Err::ok : Err::eversion;
}

std::optional<Error> Verdicts::judge_check(const TxnOp &check,
                                           const NodeFacts &node) const {
  std::int64_t found = node.present ? node.version : 0;
  if (check_code(check.version, found) == Err::ok) return std::nullopt;
  return check_failed(check, found);
}

std::optional<Error> Verdicts::judge_parent(const std::string &path,
                                            const NodeFacts &parent) const {
  if (!parent.present) return no_parent(path);
  if (parent.ephemeral) return ephemeral_parent(path);
  return std::nullopt;
}

std::optional<Error> Verdicts::judge_erase(const std::string &path, std::int64_t expected,
                                           const NodeFacts &node) const {
  if (!node.present) return no_node("erase", path);
  if (expected != 0 && node.version != expected)
    return erase_mismatch(path, expected, node.version);
  return std::nullopt;
}

void Verdicts::check_among_ops() {
  fail(Err::einternal, "a check among a transaction's ops");
}

}  // namespace offkv
