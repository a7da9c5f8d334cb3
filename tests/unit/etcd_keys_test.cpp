// offkv's layout on etcd's flat keyspace (core/etcd/etcd_keys.*): the exact bytes of
// node slots, alternate slots, child entries and counters, the ranges built on them,
// and classify() reading keys back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "etcd/etcd_keys.hpp"
#include "model.hpp"

using namespace offkv::etcd;

namespace {

// Separators spelled out: "\x01a" would be the single byte 0x1a.
const std::string S1(1, '\x01');
const std::string Z(1, '\0');
const std::string S2(1, '\x02');

bool in_range(const Range &r, const std::string &key) {
  return key >= r.key && key < r.end;
}

}  // namespace

TEST_CASE("etcd keys: enc turns every '/' into 0x01, the root into nothing") {
  CHECK(enc("/") == "");
  CHECK(enc("/a") == S1 + "a");
  CHECK(enc("/a/b") == S1 + "a" + S1 + "b");
  CHECK(enc("/a b/\xc3\xbc") == S1 + "a b" + S1 + "\xc3\xbc");
}

TEST_CASE("etcd keys: node, child and counter keys, byte for byte") {
  CHECK(node_key("/a/b") == "offkv/n" + S1 + "a" + S1 + "b" + Z);
  CHECK(node_key("/") == "offkv/n" + Z);
  CHECK(child_key("/a/b") == "offkv/n" + S1 + "a" + Z + "b");
  CHECK(child_key("/x") == "offkv/n" + Z + "x");
  CHECK(counter_key("/a") == "offkv/s" + S1 + "a");
  CHECK(counter_key("/") == "offkv/s");
}

TEST_CASE("etcd keys: an alternate slot is the node slot, 0x01, offset:how") {
  CHECK(alt_slot_key("/a", 2, "b3") == "offkv/n" + S1 + "a" + Z + S1 + "2:b3");
  CHECK(alt_slot_key("/a/b", 0, "c") == "offkv/n" + S1 + "a" + S1 + "b" + Z + S1 + "0:c");
  CHECK(alt_slot_key("/", 11, "r") == "offkv/n" + Z + S1 + "11:r");
}

TEST_CASE("etcd keys: slot, children and subtree ranges") {
  const std::string b = "offkv/n" + S1 + "a";
  Range slots = slot_range("/a");
  CHECK(slots.key == b + Z);
  CHECK(slots.end == b + Z + S2);
  Range children = children_range("/a");
  CHECK(children.key == b + Z);
  CHECK(children.end == b + S1);
  Range subtree = subtree_range("/a");
  CHECK(subtree.key == b + Z);
  CHECK(subtree.end == b + S2);
}

TEST_CASE("etcd keys: a slot range holds the node's slots only") {
  Range r = slot_range("/a");
  CHECK(in_range(r, node_key("/a")));
  CHECK(in_range(r, alt_slot_key("/a", 3, "c")));
  CHECK_FALSE(in_range(r, child_key("/a/b")));
  CHECK_FALSE(in_range(r, node_key("/a/b")));
  CHECK_FALSE(in_range(r, node_key("/ab")));
}

TEST_CASE("etcd keys: a children range holds the slots and child entries, no deeper") {
  Range r = children_range("/a");
  CHECK(in_range(r, node_key("/a")));
  CHECK(in_range(r, alt_slot_key("/a", 1, "r")));
  CHECK(in_range(r, child_key("/a/b")));
  CHECK(in_range(r, child_key("/a/\xef\xa4\x80")));  // a high name byte still inside
  CHECK_FALSE(in_range(r, node_key("/a/b")));
  CHECK_FALSE(in_range(r, child_key("/a/b/c")));
  CHECK_FALSE(in_range(r, node_key("/ab")));
  CHECK_FALSE(in_range(r, child_key("/ab")));
}

TEST_CASE("etcd keys: a subtree range holds everything below, never '/ab'") {
  Range r = subtree_range("/a");
  for (const std::string &key :
       {node_key("/a"), node_key("/a/b"), node_key("/a/b/c"), child_key("/a/b"),
        child_key("/a/b/c"), alt_slot_key("/a/b", 4, "b3")})
    CHECK(in_range(r, key));
  for (const std::string &key : {node_key("/ab"), node_key("/b"), node_key("/"),
                                 child_key("/a"), counter_key("/a"), node_key("/a ")})
    CHECK_FALSE(in_range(r, key));
  // The root's subtree is every node.
  CHECK(in_range(subtree_range("/"), node_key("/z/y")));
  CHECK_FALSE(in_range(subtree_range("/"), counter_key("/z")));
}

TEST_CASE("etcd keys: node keys sort in pre-order, children bytewise") {
  const std::vector<std::string> preorder = {"/a",  "/a/b", "/a/b/c", "/a/c",
                                             "/a-", "/ab",  "/b"};
  std::vector<std::string> keys;
  for (auto it = preorder.rbegin(); it != preorder.rend(); ++it)
    keys.push_back(node_key(*it));
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> sorted;
  for (const auto &k : keys) sorted.push_back(classify(k).path);
  CHECK(sorted == preorder);
}

TEST_CASE("etcd keys: classify reads a node slot back") {
  for (const char *path : {"/a", "/a/b/c", "/", "/a b"}) {
    INFO(path);
    KeyInfo info = classify(node_key(path));
    CHECK(info.kind == KeyKind::Node);
    CHECK(info.path == path);
    CHECK_FALSE(info.alt);
    CHECK_FALSE(info.bad);
    CHECK(info.offset == 0);
  }
}

TEST_CASE("etcd keys: classify reads a child entry back as the child's path") {
  KeyInfo info = classify(child_key("/a/b"));
  CHECK(info.kind == KeyKind::Child);
  CHECK(info.path == "/a/b");
  info = classify(child_key("/top"));
  CHECK(info.kind == KeyKind::Child);
  CHECK(info.path == "/top");
}

TEST_CASE("etcd keys: classify reads alternate slots: offset, how, from") {
  KeyInfo info = classify(alt_slot_key("/a/b", 5, "c"));
  CHECK(info.kind == KeyKind::Node);
  CHECK(info.path == "/a/b");
  CHECK(info.alt);
  CHECK_FALSE(info.bad);
  CHECK(info.offset == 5);
  CHECK(info.how == 'c');
  info = classify(alt_slot_key("/a", 0, "r"));
  CHECK(info.how == 'r');
  CHECK(info.offset == 0);
  info = classify(alt_slot_key("/a", 7, "b12"));
  CHECK(info.how == 'b');
  CHECK(info.from == 12);
  CHECK(info.offset == 7);
  CHECK_FALSE(info.bad);
  info = classify(alt_slot_key("/a", offkv::kMaxVersion, "c"));
  CHECK_FALSE(info.bad);
  CHECK(info.offset == offkv::kMaxVersion);
}

TEST_CASE("etcd keys: alternate slots with tags offkv never writes are bad") {
  const std::string slot = node_key("/a") + S1;
  for (const std::string &tag :
       {std::string("5"), std::string("x:c"), std::string("-1:c"), std::string("+1:c"),
        std::string("5:"), std::string(":c"), std::string("5:bx"), std::string("5:b"),
        std::string("5:b-1"), std::string("99999999999999999999:c"),
        std::to_string(INT64_MAX) + ":c", "1:b" + std::to_string(INT64_MAX)}) {
    INFO("tag " << tag);
    KeyInfo info = classify(slot + tag);
    CHECK(info.kind == KeyKind::Node);
    CHECK(info.path == "/a");
    CHECK(info.alt);
    CHECK(info.bad);
  }
}

TEST_CASE("etcd keys: counters and foreign keys classify as Other") {
  for (const std::string &key :
       {counter_key("/a"), counter_key("/"), std::string("foo"), std::string(""),
        std::string("offkv/n"), "offkv/n" + S1 + "a", "offkv/x" + S1 + "a" + Z}) {
    INFO("key " << key);
    CHECK(classify(key).kind == KeyKind::Other);
  }
}

TEST_CASE("etcd keys: node_version adds the slot's offset, within [1, kMaxVersion]") {
  std::int64_t version = -7;
  CHECK(node_version(classify(node_key("/a")), 3, version));
  CHECK(version == 3);
  CHECK(node_version(classify(alt_slot_key("/a", 4, "b4")), 1, version));
  CHECK(version == 5);
  CHECK(node_version(classify(alt_slot_key("/a", offkv::kMaxVersion - 1, "c")), 1,
                     version));
  CHECK(version == offkv::kMaxVersion);
}

TEST_CASE("etcd keys: node_version refuses bad slots, version 0 and overflow") {
  std::int64_t version = 0;
  CHECK_FALSE(node_version(classify(node_key("/a")), 0, version));
  CHECK_FALSE(node_version(classify(node_key("/a")), -1, version));
  CHECK_FALSE(node_version(classify(node_key("/a") + S1 + "x:c"), 1, version));
  CHECK_FALSE(
      node_version(classify(alt_slot_key("/a", offkv::kMaxVersion, "c")), 1, version));
  CHECK_FALSE(node_version(classify(alt_slot_key("/a", offkv::kMaxVersion, "c")),
                           INT64_MAX, version));
  CHECK_FALSE(node_version(classify(node_key("/a")), INT64_MAX, version));
}
