// What the core concludes from what a store said. Backends report facts — what a read
// saw of a node, which guard or op the store refused, the version found after a
// mismatch — and ask here for the verdict and its words, so that every backend fails
// the same way with the same message. Paths are full store paths; messages name the
// client's keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "error.hpp"
#include "model.hpp"

namespace offkv {

// A node's version as a store reported it: > 0 present at that version, 0 absent,
// kVersionUnknown present at a version the store did not say (or could not be read).
constexpr std::int64_t kVersionUnknown = -2;

// What a backend read of one node, or what earlier ops of a transaction left there.
struct NodeFacts {
  bool present = false;
  std::int64_t version = 0;  // when present
  bool ephemeral = false;    // when present
};

class Verdicts {
 public:
  explicit Verdicts(std::string prefix) : prefix_(std::move(prefix)) {}

  // The client key of a full path, for messages.
  std::string key(const std::string &path) const;

  // Each failure with its code and words; `store_words` (the store's own words, e.g.
  // " (zk: node exists)") is appended as given.
  Error no_parent(const std::string &path, const std::string &store_words = "") const;
  Error ephemeral_parent(const std::string &path,
                         const std::string &store_words = "") const;
  Error exists(const std::string &path, const std::string &store_words = "") const;
  // "cannot <verb> 'key': no such node" (verb: "get", "list", "erase").
  Error no_node(const char *verb, const std::string &path,
                const std::string &store_words = "") const;
  // A cas whose expected version (0: no node) did not match `found` (a version as
  // above).
  Error cas_mismatch(const std::string &path, std::int64_t expected, std::int64_t found,
                     const std::string &store_words = "") const;
  // An erase whose expected version did not match `found`.
  Error erase_mismatch(const std::string &path, std::int64_t expected, std::int64_t found,
                       const std::string &store_words = "") const;
  // A transaction check on check.path that found `found`.
  Error check_failed(const TxnOp &check, std::int64_t found,
                     const std::string &store_words = "") const;

  // Verdicts on facts: nothing when the step may go on, else its failure.
  // A check (version > 0: exactly; 0: absent; kAnyVersion: present).
  std::optional<Error> judge_check(const TxnOp &check, const NodeFacts &node) const;
  // A node about to be created at `path` under a parent seen as `parent`.
  std::optional<Error> judge_parent(const std::string &path,
                                    const NodeFacts &parent) const;
  // An erase expecting `expected` (0: any) of a node seen as `node`.
  std::optional<Error> judge_erase(const std::string &path, std::int64_t expected,
                                   const NodeFacts &node) const;

  // A check among a transaction's ops: the core never hands one over.
  [[noreturn]] static void check_among_ops();

  // The error code a failed check gets: ENOENT (wanted a node, none), EEXIST (wanted
  // none, one is there) or EVERSION. Err::ok when `found` satisfies it.
  static int check_code(std::int64_t expected, std::int64_t found);

 private:
  std::string prefix_;
};

}  // namespace offkv
