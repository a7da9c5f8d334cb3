// How offkv's tree is laid out on etcd's flat, sorted keyspace (docs/etcd-notes.md).
//
// A path P ("/a/b") is encoded as enc(P): every '/' becomes the byte 0x01 ("" for the
// root "/"). Segment bytes are >= 0x20 (core/key.cpp), so 0x00..0x02 never occur in a
// segment and work as separators that sort below every name byte. With
// B(P) = "offkv/n" enc(P):
//
//   node slot  B(P) 0x00                   P's value, version, lease (the usual slot)
//   alt slot   B(P) 0x00 0x01 <d>:<how>    P's data after a transaction wrote P more
//                                          than once (see below)
//   child      B(P) 0x00 <name>            one per child of P (empty value, the
//                                          child's lease)
//   counter    "offkv/s" enc(P)            P's next sequential number
//
// so that
//   - the direct children of P (and P's slot) are ONE range: [B(P) 0x00, B(P) 0x01);
//   - P and its whole subtree are ONE range: [B(P) 0x00, B(P) 0x02) — "/a" never
//     matches "/ab" because the byte after enc("/a") is 0x00 or 0x01, never a name byte;
//   - the keys of a subtree sort in pre-order with children in bytewise order;
//   - P's slots are ONE range: [B(P) 0x00, B(P) 0x00 0x02).
// A node lives in exactly one slot. Its version is the slot key's etcd version plus
// the slot's offset d (0 for the usual slot). etcd allows one write per key in a Txn,
// so a transaction that writes P twice (create then set, set twice, erase then create)
// moves P to a fresh alternate slot whose offset makes the version come out as on the
// other backends; <how> says what happened, for watchers: "c" created in that
// transaction, "r" erased and created again, "b<v>" changed from version v.
// The counters live apart so an erased and re-created parent keeps counting up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace offkv {
namespace etcd {

struct Range {
  std::string key, end;  // [key, end); end empty = the single key
};

std::string enc(std::string_view path);       // "/a/b" -> "\x01a\x01b", "/" -> ""
std::string node_key(std::string_view path);  // the usual slot
std::string alt_slot_key(std::string_view path, std::int64_t offset,
                         const std::string &how);
std::string child_key(std::string_view path);  // the entry in parent(path)'s block
std::string counter_key(std::string_view parent);
Range slot_range(std::string_view path);
Range children_range(std::string_view path);  // P's slots and every child entry
Range subtree_range(std::string_view path);   // P and everything below it

enum class KeyKind { Node, Child, Other };
struct KeyInfo {
  KeyKind kind = KeyKind::Other;
  std::string path;         // Node: the node; Child: the child's full path
  std::int64_t offset = 0;  // Node: version offset of the slot
  bool alt = false;         // Node: an alternate slot
  char how = 0;             // alt slot: 'c', 'r' or 'b'
  std::int64_t from = 0;    // alt slot 'b': the version it changed from
  // Node: the alt slot's tag is not one offkv writes (an offset or version that is not
  // a decimal in [0, kMaxVersion]): foreign or damaged data.
  bool bad = false;
};
KeyInfo classify(std::string_view key);
// The offkv version of a node whose slot has etcd version etcd_version: false if the
// slot is bad or the version leaves [1, kMaxVersion] (no signed overflow).
bool node_version(const KeyInfo &info, std::int64_t etcd_version, std::int64_t &version);

}  // namespace etcd
}  // namespace offkv
