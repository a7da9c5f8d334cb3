// Reading etcd's answers (core/etcd/etcd_backend.hpp, etcd_watches.hpp: the pure
// parts the fuzz target drives): a key's state, sequential counters, children
// listings, one-shot watch events and resume revisions.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "etcd/etcd_backend.hpp"
#include "etcd/etcd_keys.hpp"
#include "etcd/etcd_watches.hpp"
#include "offkv.h"
#include "unit.hpp"

using namespace offkv::etcd;
using offkv_unit::failure_of;

namespace {

const std::string S1(1, '\x01');

void add_kv(v3::RangeResponse &r, const std::string &key, std::int64_t version,
            const std::string &value = "", std::int64_t mod = 0, std::int64_t lease = 0) {
  auto *kv = r.add_kvs();
  kv->set_key(key);
  kv->set_version(version);
  kv->set_value(value);
  kv->set_mod_revision(mod);
  kv->set_lease(lease);
}

void add_event(v3::WatchResponse &w, v3::Event::EventType type, const std::string &key,
               std::int64_t version, std::int64_t mod = 1) {
  auto *ev = w.add_events();
  ev->set_type(type);
  ev->mutable_kv()->set_key(key);
  ev->mutable_kv()->set_version(type == v3::Event::PUT ? version : 0);
  ev->mutable_kv()->set_mod_revision(mod);
}

struct Brief {
  int type;
  std::string path;
  std::int64_t version;
  bool operator==(const Brief &o) const {
    return type == o.type && path == o.path && version == o.version;
  }
};

std::ostream &operator<<(std::ostream &os, const Brief &b) {
  return os << "{" << b.type << ", " << b.path << ", " << b.version << "}";
}

std::vector<Brief> events_of(offkv::WatchKind kind, const std::string &path,
                             const v3::WatchResponse &w) {
  std::vector<Brief> out;
  for (const auto &e : watch_events(kind, path, w))
    out.push_back({e.type, e.path, e.version});
  return out;
}

using Briefs = std::vector<Brief>;

}  // namespace

TEST_CASE("etcd decode: state_of an empty read is an absent key") {
  v3::RangeResponse r;
  KeyState s = state_of(r);
  CHECK_FALSE(s.exists);
  CHECK(s.version() == 0);
}

TEST_CASE("etcd decode: state_of a node slot gives its fields and version") {
  v3::RangeResponse r;
  add_kv(r, node_key("/a"), 3, "value", 42, 7);
  KeyState s = state_of(r);
  CHECK(s.exists);
  CHECK(s.etcd_version == 3);
  CHECK(s.lease == 7);
  CHECK(s.mod == 42);
  CHECK(s.key == node_key("/a"));
  CHECK(s.value == "value");
  CHECK_FALSE(s.alt);
  CHECK(s.offset == 0);
  CHECK(s.version() == 3);
}

TEST_CASE("etcd decode: state_of an alternate slot adds its offset") {
  v3::RangeResponse r;
  add_kv(r, alt_slot_key("/a", 4, "b4"), 2);
  KeyState s = state_of(r);
  CHECK(s.alt);
  CHECK(s.offset == 4);
  CHECK(s.version() == 6);
}

TEST_CASE("etcd decode: state_of a node out of offkv's range is ESERVICE") {
  v3::RangeResponse r;
  add_kv(r, node_key("/a"), 0);
  auto f = failure_of([&] { state_of(r); });
  CHECK(f.code == OFFKV_ESERVICE);
  CHECK(
      f.message ==
      "etcd: the node '/a' has a version out of offkv's range (etcd version 0 in a slot "
      "that is not offkv's): foreign or damaged data, left as it is");
  v3::RangeResponse bad_tag;
  add_kv(bad_tag, node_key("/a/b") + S1 + "x:c", 1);
  CHECK(failure_of([&] { state_of(bad_tag); }).code == OFFKV_ESERVICE);
  v3::RangeResponse overflow;
  add_kv(overflow, alt_slot_key("/a", offkv::kMaxVersion, "c"), 5);
  CHECK(failure_of([&] { state_of(overflow); }).code == OFFKV_ESERVICE);
}

TEST_CASE("etcd decode: a counter key is read as it is, whatever its version") {
  v3::RangeResponse r;
  add_kv(r, counter_key("/q"), 9, "12", 30);
  KeyState s = state_of(r);
  CHECK(s.exists);
  CHECK(s.value == "12");
  CounterState c = counter_of(s);
  CHECK(c.exists);
  CHECK(c.next == 12);
  CHECK(c.mod == 30);
}

TEST_CASE("etcd decode: counter_of an absent counter starts nowhere") {
  CounterState c = counter_of(KeyState());
  CHECK_FALSE(c.exists);
  CHECK(c.next == 0);
  CHECK(c.mod == 0);
}

TEST_CASE("etcd decode: a counter that is not offkv's decimal is ESERVICE") {
  KeyState s;
  s.exists = true;
  s.value = "999999999999999999";  // 18 digits: the longest accepted
  CHECK(counter_of(s).next == 999999999999999999LL);
  for (const std::string &value :
       {std::string(""), std::string("-1"), std::string("+1"), std::string("abc"),
        std::string("1e3"), std::string(" 1"), std::string("9999999999999999999")}) {
    INFO("value '" << value << "'");
    s.value = value;
    auto f = failure_of([&] { counter_of(s); });
    CHECK(f.code == OFFKV_ESERVICE);
    CHECK(f.message == "etcd: a sequential counter holds '" + value +
                           "', not a number offkv wrote: foreign or damaged data, left "
                           "as it is");
  }
}

TEST_CASE("etcd decode: children_of lists direct child entries of the path only") {
  v3::RangeResponse r;
  add_kv(r, node_key("/a"), 2);
  add_kv(r, child_key("/a/b"), 1);
  add_kv(r, child_key("/a/c"), 1);
  add_kv(r, node_key("/a/b"), 1);     // a node, not an entry in /a's block
  add_kv(r, child_key("/a/b/x"), 1);  // a grandchild's entry
  add_kv(r, child_key("/x"), 1);      // another parent's entry
  std::int64_t version = -1;
  bool found = false;
  CHECK(children_of(r, "/a", version, found) == std::vector<std::string>{"/a/b", "/a/c"});
  CHECK(found);
  CHECK(version == 2);
}

TEST_CASE("etcd decode: children_of the root, and of a path whose slot is absent") {
  v3::RangeResponse r;
  add_kv(r, child_key("/x"), 1);
  add_kv(r, child_key("/y"), 1);
  std::int64_t version = 5;
  bool found = false;
  CHECK(children_of(r, "/", version, found) == std::vector<std::string>{"/x", "/y"});
  CHECK_FALSE(found);
  CHECK(version == 5);  // untouched: no slot was read
  v3::RangeResponse alt;
  add_kv(alt, alt_slot_key("/a", 3, "r"), 1);
  CHECK(children_of(alt, "/a", version, found).empty());
  CHECK(found);
  CHECK(version == 4);
}

TEST_CASE("etcd decode: a get/exists watch gets CREATED, CHANGED or DELETED") {
  v3::WatchResponse created, changed, deleted;
  add_event(created, v3::Event::PUT, node_key("/a"), 1);
  add_event(changed, v3::Event::PUT, node_key("/a"), 3);
  add_event(deleted, v3::Event::DELETE, node_key("/a"), 0);
  CHECK(events_of(offkv::WatchKind::Exists, "/a", created) ==
        Briefs{{OFFKV_EVENT_CREATED, "/a", 1}});
  CHECK(events_of(offkv::WatchKind::Data, "/a", changed) ==
        Briefs{{OFFKV_EVENT_CHANGED, "/a", 3}});
  CHECK(events_of(offkv::WatchKind::Data, "/a", deleted) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0}});
}

TEST_CASE("etcd decode: a one-shot watch takes the first event on its own path only") {
  v3::WatchResponse w;
  add_event(w, v3::Event::PUT, node_key("/b"), 2);     // another node
  add_event(w, v3::Event::PUT, child_key("/a/c"), 1);  // a child entry of /a
  add_event(w, v3::Event::PUT, node_key("/a"), 2);
  add_event(w, v3::Event::DELETE, node_key("/a"), 0);
  CHECK(events_of(offkv::WatchKind::Data, "/a", w) ==
        Briefs{{OFFKV_EVENT_CHANGED, "/a", 2}});
  CHECK(events_of(offkv::WatchKind::Data, "/zzz", w).empty());
}

TEST_CASE(
    "etcd decode: a children watch gets CHILDREN for an entry, DELETED for itself") {
  v3::WatchResponse added, value_changed, deleted, grandchild;
  add_event(added, v3::Event::PUT, child_key("/a/b"), 1);
  add_event(value_changed, v3::Event::PUT, node_key("/a"), 2);
  add_event(deleted, v3::Event::DELETE, node_key("/a"), 0);
  add_event(grandchild, v3::Event::PUT, child_key("/a/b/c"), 1);
  CHECK(events_of(offkv::WatchKind::Children, "/a", added) ==
        Briefs{{OFFKV_EVENT_CHILDREN, "/a", -1}});
  CHECK(events_of(offkv::WatchKind::Children, "/a", value_changed).empty());
  CHECK(events_of(offkv::WatchKind::Children, "/a", deleted) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0}});
  CHECK(events_of(offkv::WatchKind::Children, "/a", grandchild).empty());
  v3::WatchResponse root;
  add_event(root, v3::Event::DELETE, child_key("/top"), 0);
  CHECK(events_of(offkv::WatchKind::Children, "/", root) ==
        Briefs{{OFFKV_EVENT_CHILDREN, "/", -1}});
}

TEST_CASE("etcd decode: a node moved to an alternate slot is changed, not deleted") {
  // A transaction set /a (version 1) twice: the usual slot is deleted and the node
  // lives on in an alternate slot of offset 1 ("b1": changed from version 1).
  v3::WatchResponse w;
  add_event(w, v3::Event::DELETE, node_key("/a"), 0);
  add_event(w, v3::Event::PUT, alt_slot_key("/a", 2, "b1"), 1);
  CHECK(events_of(offkv::WatchKind::Data, "/a", w) ==
        Briefs{{OFFKV_EVENT_CHANGED, "/a", 2}});
}

TEST_CASE("etcd decode: a node created in a transaction's alternate slot is CREATED") {
  v3::WatchResponse w;
  add_event(w, v3::Event::PUT, alt_slot_key("/a", 1, "c"), 1);
  CHECK(events_of(offkv::WatchKind::Exists, "/a", w) ==
        Briefs{{OFFKV_EVENT_CREATED, "/a", 1}});
}

TEST_CASE("etcd decode: slots that are not offkv's bring no event") {
  v3::WatchResponse w;
  add_event(w, v3::Event::PUT, node_key("/a") + S1 + "junk", 1);
  add_event(w, v3::Event::PUT, alt_slot_key("/a", offkv::kMaxVersion, "c"), 3);
  add_event(w, v3::Event::PUT, counter_key("/a"), 4);
  CHECK(events_of(offkv::WatchKind::Data, "/a", w).empty());
  CHECK(events_of(offkv::WatchKind::Children, "/a", w).empty());
}

TEST_CASE("etcd decode: revision_after never overflows") {
  CHECK(revision_after(0) == 1);
  CHECK(revision_after(41) == 42);
  CHECK(revision_after(INT64_MAX - 1) == INT64_MAX);
  CHECK(revision_after(INT64_MAX) == INT64_MAX);
}

TEST_CASE("etcd decode: next_revision_after is past the latest event, never back") {
  v3::WatchResponse w;
  add_event(w, v3::Event::PUT, node_key("/a"), 2, 10);
  add_event(w, v3::Event::PUT, node_key("/b"), 1, 7);
  CHECK(next_revision_after(w, 0) == 11);
  CHECK(next_revision_after(w, 20) == 20);
  CHECK(next_revision_after(v3::WatchResponse(), 5) == 5);
  v3::WatchResponse top;
  add_event(top, v3::Event::PUT, node_key("/a"), 2, INT64_MAX);
  CHECK(next_revision_after(top, 3) == INT64_MAX);
}
