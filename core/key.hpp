// Key rules (SPEC §2), in one place: every backend sees only keys that passed here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace offkv {

// Throws Error(EINVAL) naming the key and the broken rule. "/" is not a key.
void validate_key(std::string_view key);

// Like validate_key, but also accepts "/" (the client's root) for reads that list or
// watch the whole root.
void validate_key_or_root(std::string_view key);

// A URL prefix: "" (none) or a valid key. Throws Error(EINVAL).
void validate_prefix(std::string_view prefix);

// Joins a client prefix and a validated key (or "/") into the backend path, and
// enforces the total length and the reserved /zookeeper tree.
std::string to_full_path(const std::string &prefix, std::string_view key);

// The key as the client sees it: full path minus the prefix ("/" for the root).
std::string to_client_key(const std::string &prefix, std::string_view full_path);

// "/a/b" -> "/a"; "/a" -> "/".
std::string parent_path(std::string_view path);

// True if path is ancestor or equal: "/a" covers "/a" and "/a/b", never "/ab".
// The root "/" covers everything.
bool path_covers(std::string_view ancestor, std::string_view path);

// mem://'s order of a subtree, which every backend reports in: a pre-order walk with
// children sorted bytewise (deletions come in its reverse, deepest first).
// preorder_key(a) < preorder_key(b) iff a comes first ('/' sorts below every byte).
std::string preorder_key(std::string_view path);
void sort_preorder(std::vector<std::string> &paths);

// ZooKeeper's sequential form: path followed by the counter as 10 zero-padded digits.
std::string sequential_path(std::string_view path, std::int64_t counter);

}  // namespace offkv
