// SPEC §3, erase: the node and its whole subtree, atomically; versions checked, never
// a silent no-op; /a never touches /ab.
#include "conformance.hpp"

using namespace conf;

namespace {

// Creates a tree under `root`: `fanout` children per node, `depth` levels below root.
std::vector<std::string> make_tree(offkv_client *c, const std::string &root, int depth,
                                   int fanout) {
  std::vector<std::string> all{root};
  create(c, root, "root");
  std::vector<std::string> level{root};
  for (int d = 0; d < depth; ++d) {
    std::vector<std::string> next;
    for (const auto &parent : level)
      for (int i = 0; i < fanout; ++i) {
        std::string key = parent + "/n" + std::to_string(i);
        create(c, key, key);
        next.push_back(key);
        all.push_back(key);
      }
    level = next;
  }
  return all;
}

}  // namespace

TEST_CASE("erase removes a leaf", "[erase]") {
  Env env;
  create(env.c(), "/p", "");
  create(env.c(), "/p/leaf", "v");
  REQUIRE_OK(offkv_erase(env.c(), "/p/leaf", 0));
  CHECK(version_of(env.c(), "/p/leaf") == 0);
  CHECK_CODE(offkv_get(env.c(), "/p/leaf", nullptr, nullptr), OFFKV_ENOENT);
  CHECK(children(env.c(), "/p").empty());
  CHECK(version_of(env.c(), "/p") == 1);
}

TEST_CASE("erase of an absent node is ENOENT", "[erase]") {
  Env env;
  REQUIRE_CODE(offkv_erase(env.c(), "/absent", 0), OFFKV_ENOENT);
  CHECK(contains(offkv_last_error(), "/absent"));
  CHECK_CODE(offkv_erase(env.c(), "/absent", 3), OFFKV_ENOENT);
  CHECK_CODE(offkv_erase(env.c(), "/absent/deeper", 0), OFFKV_ENOENT);
  create(env.c(), "/once", "");
  REQUIRE_OK(offkv_erase(env.c(), "/once", 0));
  CHECK_CODE(offkv_erase(env.c(), "/once", 0), OFFKV_ENOENT);
}

TEST_CASE("erase with the current version removes the node", "[erase]") {
  Env env;
  create(env.c(), "/v", "");
  set(env.c(), "/v", "2");
  set(env.c(), "/v", "3");
  REQUIRE_OK(offkv_erase(env.c(), "/v", 3));
  CHECK(version_of(env.c(), "/v") == 0);
}

TEST_CASE("erase with a wrong version is EVERSION and removes nothing", "[erase]") {
  Env env;
  auto tree = make_tree(env.c(), "/t", 2, 2);
  set(env.c(), "/t", "v2");
  for (std::int64_t wrong : {1, 3, 99}) {
    INFO("expected " << wrong);
    REQUIRE_CODE(offkv_erase(env.c(), "/t", wrong), OFFKV_EVERSION);
    CHECK(contains(offkv_last_error(), "/t"));
  }
  CHECK(version_of(env.c(), "/t") == 2);
  for (const auto &key : tree) CHECK(version_of(env.c(), key) >= 1);
  CHECK(children(env.c(), "/t") == std::vector<std::string>{"/t/n0", "/t/n1"});
}

TEST_CASE("erase with version 0 is unconditional", "[erase]") {
  Env env;
  create(env.c(), "/u", "");
  for (int i = 0; i < 4; ++i) set(env.c(), "/u", std::to_string(i));
  REQUIRE_OK(offkv_erase(env.c(), "/u", 0));
  CHECK(version_of(env.c(), "/u") == 0);
}

TEST_CASE("erase with a negative version is EINVAL and removes nothing", "[erase]") {
  Env env;
  create(env.c(), "/n", "");
  CHECK_CODE(offkv_erase(env.c(), "/n", -1), OFFKV_EINVAL);
  CHECK_CODE(offkv_erase(env.c(), "/n", INT64_MIN), OFFKV_EINVAL);
  CHECK(version_of(env.c(), "/n") == 1);
}

TEST_CASE("erase removes the whole subtree", "[erase]") {
  Env env;
  create(env.c(), "/keep", "");
  auto tree = make_tree(env.c(), "/t", 3, 3);
  REQUIRE(tree.size() == 1 + 3 + 9 + 27);
  REQUIRE_OK(offkv_erase(env.c(), "/t", 1));
  for (const auto &key : tree) {
    INFO("key " << key);
    CHECK(version_of(env.c(), key) == 0);
  }
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/keep"});
  // The names are free again, as new nodes with no children.
  create(env.c(), "/t", "new");
  CHECK(version_of(env.c(), "/t") == 1);
  CHECK(children(env.c(), "/t").empty());
  create(env.c(), "/t/n0", "new child");
  CHECK(children(env.c(), "/t/n0").empty());
}

TEST_CASE("erase of a subtree is atomic for a concurrent reader", "[erase][atomic]") {
  // A reader looks at the deepest node first, then the subtree's root. If the erase
  // removed them one at a time (deepest first) the reader could see the leaf gone
  // while the root is still there.
  Env env;
  offkv_client *reader = env.open();
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    const std::string root = "/t" + std::to_string(round);
    auto tree = make_tree(env.c(), root, 4, 2);
    const std::string leaf = tree.back();
    std::atomic<int> torn{0}, reads{0}, failures{0};
    Background t([&](const std::atomic<bool> &stop) {
      while (!stop) {
        std::int64_t leaf_version = 0, root_version = 0;
        if (offkv_exists(reader, leaf.c_str(), &leaf_version) != OFFKV_OK ||
            offkv_exists(reader, root.c_str(), &root_version) != OFFKV_OK) {
          ++failures;
          continue;
        }
        ++reads;
        if (leaf_version == 0 && root_version != 0) ++torn;
        if (root_version == 0) break;
      }
    });
    // Let the reader get going before the erase.
    eventually([&] { return reads.load() >= 3; });
    REQUIRE_OK(offkv_erase(env.c(), root.c_str(), 0));
    t.join();
    CHECK(torn == 0);
    CHECK(failures == 0);
    CHECK(reads > 0);
    CHECK(version_of(reader, root) == 0);
    CHECK(version_of(reader, leaf) == 0);
  }
}

TEST_CASE("erasing /a never touches /ab or other keys sharing its name prefix",
          "[erase][prefix]") {
  Env env;
  for (const char *key :
       {"/a", "/a/x", "/ab", "/ab/x", "/a-b", "/a0", "/a.b", "/aa", "/aa/a"})
    create(env.c(), key, key);
  REQUIRE_OK(offkv_erase(env.c(), "/a", 0));
  CHECK(version_of(env.c(), "/a") == 0);
  CHECK(version_of(env.c(), "/a/x") == 0);
  for (const char *key : {"/ab", "/ab/x", "/a-b", "/a0", "/a.b", "/aa", "/aa/a"}) {
    INFO("key " << key);
    CHECK(value_of(env.c(), key) == key);
  }
  CHECK(children(env.c(), "/") ==
        std::vector<std::string>{"/a-b", "/a.b", "/a0", "/aa", "/ab"});
}

TEST_CASE("children never mix /a and /ab", "[erase][prefix][children]") {
  Env env;
  for (const char *key : {"/a", "/a/1", "/ab", "/ab/2", "/ab/3", "/abc"})
    create(env.c(), key, "");
  CHECK(children(env.c(), "/a") == std::vector<std::string>{"/a/1"});
  CHECK(children(env.c(), "/ab") == std::vector<std::string>{"/ab/2", "/ab/3"});
  CHECK(children(env.c(), "/abc").empty());
}

TEST_CASE("erase updates the parent's children", "[erase][children]") {
  Env env;
  create(env.c(), "/p", "");
  for (const char *key : {"/p/a", "/p/b", "/p/c"}) create(env.c(), key, "");
  REQUIRE_OK(offkv_erase(env.c(), "/p/b", 0));
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/a", "/p/c"});
  REQUIRE_OK(offkv_erase(env.c(), "/p/a", 1));
  REQUIRE_OK(offkv_erase(env.c(), "/p/c", 1));
  CHECK(children(env.c(), "/p").empty());
  CHECK(version_of(env.c(), "/p") == 1);
}

TEST_CASE("an erase is seen at once by another client", "[erase]") {
  Env env;
  offkv_client *other = env.open();
  auto tree = make_tree(env.c(), "/t", 2, 2);
  for (const auto &key : tree) CHECK(version_of(other, key) >= 1);
  REQUIRE_OK(offkv_erase(env.c(), "/t", 0));
  for (const auto &key : tree) CHECK(version_of(other, key) == 0);
  CHECK(children(other, "/").empty());
}

TEST_CASE("erase of a subtree also removes ephemeral descendants", "[erase][ephemeral]") {
  Env env;
  offkv_client *owner = env.open();
  create(env.c(), "/t", "");
  create(env.c(), "/t/p", "");
  create(owner, "/t/p/eph", "", OFFKV_EPHEMERAL);
  create(owner, "/t/eph", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_erase(env.c(), "/t", 0));
  CHECK(version_of(owner, "/t/p/eph") == 0);
  CHECK(version_of(owner, "/t/eph") == 0);
  CHECK(version_of(env.c(), "/t") == 0);
  // The owner's session is unaffected and can still write and close cleanly.
  create(owner, "/after", "", OFFKV_EPHEMERAL);
  REQUIRE_OK(offkv_close(owner));
  CHECK(version_of(env.c(), "/after") == 0);
}
