// One-shot watches on Consul, the pure comparison (core/consul/consul_watches.*):
// what a registration saw against the state an answer shows, and the one event (with
// its Consul index and phase) that difference makes.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "consul/consul_watches.hpp"
#include "offkv.h"

using namespace offkv::consul;

namespace {

// Phases, as the watches order the events of one wake-up.
constexpr int kGoneBeforeRecreate = 0, kCreated = 1, kChanged = 2, kGone = 3;

Entry entry(std::uint64_t create_index, std::uint64_t modify_index,
            std::int64_t version) {
  Entry e;
  e.present = true;
  e.key = "offkv/n/a";
  e.create_index = create_index;
  e.modify_index = modify_index;
  e.version = version;
  return e;
}

struct Brief {
  int type;
  std::string path;
  std::int64_t version;
  std::uint64_t index;
  int phase;
  bool operator==(const Brief &o) const {
    return type == o.type && path == o.path && version == o.version && index == o.index &&
           phase == o.phase;
  }
};

std::ostream &operator<<(std::ostream &os, const Brief &b) {
  return os << "{type " << b.type << ", " << b.path << ", v" << b.version << ", index "
            << b.index << ", phase " << b.phase << "}";
}

using Briefs = std::vector<Brief>;

Briefs brief(const std::vector<Change> &changes) {
  Briefs out;
  for (const auto &c : changes)
    out.push_back({c.type, c.path, c.version, c.index, c.phase});
  return out;
}

const Known kWas{10, 12, 2};  // created at 10, last changed at 12, version 2

}  // namespace

TEST_CASE("consul watches: diff_node: an unchanged node fires nothing") {
  CHECK(diff_node("/a", true, kWas, entry(10, 12, 2), 20).empty());
  CHECK(diff_node("/a", false, Known(), Entry(), 20).empty());
}

TEST_CASE("consul watches: diff_node: a set is CHANGED to the next version") {
  CHECK(brief(diff_node("/a", true, kWas, entry(10, 15, 3), 20)) ==
        Briefs{{OFFKV_EVENT_CHANGED, "/a", 3, 15, kChanged}});
  // Several sets folded into one answer: the first change is what fires.
  CHECK(brief(diff_node("/a", true, kWas, entry(10, 18, 5), 20)) ==
        Briefs{{OFFKV_EVENT_CHANGED, "/a", 3, 18, kChanged}});
}

TEST_CASE("consul watches: diff_node: a new index without a new version is no change") {
  // A session or lock change rewrites the entry (ModifyIndex) but not offkv's version.
  CHECK(diff_node("/a", true, kWas, entry(10, 16, 2), 20).empty());
}

TEST_CASE("consul watches: diff_node: a node gone is DELETED at the read's index") {
  CHECK(brief(diff_node("/a", true, kWas, Entry(), 20)) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0, 20, kGone}});
}

TEST_CASE("consul watches: diff_node: a node erased and created again is DELETED") {
  // A new incarnation (another CreateIndex): the delete sorts before the creation.
  CHECK(brief(diff_node("/a", true, kWas, entry(17, 17, 1), 20)) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0, 17, kGoneBeforeRecreate}});
}

TEST_CASE("consul watches: diff_node: an absent node that appears is CREATED") {
  CHECK(brief(diff_node("/a", false, Known(), entry(14, 16, 2), 20)) ==
        Briefs{{OFFKV_EVENT_CREATED, "/a", 1, 14, kCreated}});
}

TEST_CASE("consul watches: diff_children: the same names fire nothing, in any order") {
  const std::set<std::string> names{"x", "y"};
  CHECK(diff_children("/a", true, kWas, names, entry(10, 13, 2), 20, {"y", "x"}, 21)
            .empty());
  // The parent's own value changing is not a children event.
  CHECK(diff_children("/a", true, kWas, names, entry(10, 19, 3), 20, {"x", "y"}, 21)
            .empty());
}

TEST_CASE("consul watches: diff_children: a child added or removed is CHILDREN") {
  const std::set<std::string> names{"x", "y"};
  CHECK(brief(diff_children("/a", true, kWas, names, entry(10, 12, 2), 20,
                            {"x", "y", "z"}, 25)) ==
        Briefs{{OFFKV_EVENT_CHILDREN, "/a", -1, 25, kChanged}});
  CHECK(brief(diff_children("/a", true, kWas, names, entry(10, 12, 2), 20, {"y"}, 26)) ==
        Briefs{{OFFKV_EVENT_CHILDREN, "/a", -1, 26, kChanged}});
  // The root has no node of its own: only its names count.
  CHECK(brief(diff_children("/", false, Known(), {}, Entry(), 20, {"top"}, 27)) ==
        Briefs{{OFFKV_EVENT_CHILDREN, "/", -1, 27, kChanged}});
}

TEST_CASE("consul watches: diff_children: the parent gone is DELETED, not CHILDREN") {
  const std::set<std::string> names{"x"};
  CHECK(brief(diff_children("/a", true, kWas, names, Entry(), 30, {}, 31)) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0, 30, kGone}});
  CHECK(brief(diff_children("/a", true, kWas, names, entry(28, 28, 1), 30, {}, 31)) ==
        Briefs{{OFFKV_EVENT_DELETED, "/a", 0, 28, kGoneBeforeRecreate}});
}
