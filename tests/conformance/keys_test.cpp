// SPEC §2, keys: the validity table, limits, the reserved /zookeeper tree, and
// validation in the core before any I/O.
#include "conformance.hpp"

using namespace conf;

namespace {

void no_op_cb(const offkv_event *, void *) {}

// A transaction item refused with `code`, either when added or at commit; either way
// nothing is applied.
void txn_item_refused(offkv_client *c, const std::function<int(offkv_txn *)> &add,
                      int code) {
  offkv_txn *txn = nullptr;
  REQUIRE_OK(offkv_txn_new(&txn));
  int rc = add(txn);
  if (rc == OFFKV_OK) {
    offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
    rc = offkv_commit(c, txn, &result);
    offkv_txn_result_free(&result);
  }
  INFO("transaction item -> " << code_name(rc) << " \"" << offkv_last_error() << "\"");
  CHECK(code_name(rc) == code_name(code));
  offkv_txn_free(txn);
}

// Every key-taking call refuses `key` with `code`, and no watch is left behind.
// with_root_reads: also children, children_watch and watch_persistent (which accept
// the root "/").
void refused_everywhere(offkv_client *c, const std::string &key, int code,
                        bool with_root_reads = true) {
  INFO("key '" << key << "'");
  const char *k = key.c_str();
  char *created = nullptr;
  CHECK_CODE(offkv_create(c, k, "v", 1, 0, &created), code);
  CHECK(created == nullptr);
  CHECK_CODE(offkv_create(c, k, "v", 1, OFFKV_SEQUENTIAL, &created), code);
  CHECK_CODE(offkv_create(c, k, "v", 1, OFFKV_EPHEMERAL, &created), code);
  std::int64_t version = 0;
  CHECK_CODE(offkv_set(c, k, "v", 1, &version), code);
  CHECK_CODE(offkv_cas(c, k, "v", 1, 0, &version), code);
  CHECK_CODE(offkv_cas(c, k, "v", 1, 1, &version), code);
  offkv_buf buf{nullptr, 0};
  CHECK_CODE(offkv_get(c, k, &buf, &version), code);
  CHECK(buf.data == nullptr);
  CHECK_CODE(offkv_exists(c, k, &version), code);
  CHECK_CODE(offkv_erase(c, k, 0), code);
  offkv_watch *w = nullptr;
  CHECK_CODE(offkv_get_watch(c, k, &buf, &version, no_op_cb, nullptr, &w), code);
  CHECK(w == nullptr);
  CHECK_CODE(offkv_exists_watch(c, k, &version, nullptr, nullptr, &w), code);
  CHECK(w == nullptr);
  if (with_root_reads) {
    offkv_strings list{nullptr, 0};
    CHECK_CODE(offkv_children(c, k, &list), code);
    CHECK_CODE(offkv_children_watch(c, k, &list, nullptr, nullptr, &w), code);
    CHECK(w == nullptr);
    CHECK_CODE(offkv_watch_persistent(c, k, nullptr, nullptr, &w), code);
    CHECK(w == nullptr);
  }
  txn_item_refused(
      c, [&](offkv_txn *t) { return offkv_txn_check(t, k, 1); }, code);
  txn_item_refused(
      c, [&](offkv_txn *t) { return offkv_txn_check(t, k, 0); }, code);
  txn_item_refused(
      c, [&](offkv_txn *t) { return offkv_txn_create(t, k, "v", 1, 0); }, code);
  txn_item_refused(
      c, [&](offkv_txn *t) { return offkv_txn_set(t, k, "v", 1); }, code);
  txn_item_refused(
      c, [&](offkv_txn *t) { return offkv_txn_erase(t, k, 0); }, code);
}

// The key works through every operation: create, get, set, children, erase.
void works_everywhere(offkv_client *c, const std::string &key) {
  INFO("key '" << key << "'");
  create(c, key, "value of " + key);
  CHECK(value_of(c, key) == "value of " + key);
  CHECK(set(c, key, "again") == 2);
  CHECK(version_of(c, key) == 2);
  CHECK(children(c, key).empty());
  REQUIRE_OK(offkv_erase(c, key.c_str(), 2));
  CHECK(version_of(c, key) == 0);
}

// A valid key of exactly `total` bytes under the client's root (of root_size bytes),
// built from segments of at most 255 bytes; returns its ancestors and the key.
std::vector<std::string> chain_of_length(std::size_t total) {
  std::vector<std::string> keys;
  std::string key;
  while (key.size() < total) {
    std::size_t room = total - key.size() - 1;  // minus the '/'
    std::size_t len = std::min<std::size_t>(200, room);
    // Never leave a tail that cannot hold "/x".
    if (room > 200 && room - 200 < 2) len = 150;
    key += "/" + std::string(len, static_cast<char>('a' + keys.size() % 26));
    keys.push_back(key);
  }
  return keys;
}

}  // namespace

TEST_CASE("an empty key is refused", "[keys]") {
  Env env;
  refused_everywhere(env.c(), "", OFFKV_EINVAL);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("a key must start with a slash", "[keys]") {
  Env env;
  for (const char *key : {"a", "a/b", " /a", "zookeeper"})
    refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("the root is not a key for writes, get, exists and erase", "[keys]") {
  Env env;
  create(env.c(), "/kept", "v");
  refused_everywhere(env.c(), "/", OFFKV_EINVAL, false);
  // In particular erase("/") must not wipe the client's tree.
  CHECK(value_of(env.c(), "/kept") == "v");
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/kept"});
}

TEST_CASE("children and watches of the root are allowed", "[keys]") {
  Env env;
  CHECK(children(env.c(), "/").empty());
  Recorder &one_shot = env.recorder();
  Recorder &persistent = env.recorder();
  offkv_strings list{nullptr, 0};
  Watch children_watch, persistent_watch;
  REQUIRE_OK(offkv_children_watch(env.c(), "/", &list, &Recorder::callback, &one_shot,
                                  children_watch.out()));
  CHECK(list.count == 0);
  offkv_strings_free(&list);
  REQUIRE_OK(offkv_watch_persistent(env.c(), "/", &Recorder::callback, &persistent,
                                    persistent_watch.out()));
  create(env.c(), "/top", "v");
  auto ev = one_shot.next();
  REQUIRE(ev);
  CHECK(type_name(ev->type) == "CHILDREN");
  CHECK(ev->key == "/");
  ev = persistent.next();
  REQUIRE(ev);
  CHECK(type_name(ev->type) == "CREATED");
  CHECK(ev->key == "/top");
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/top"});
}

TEST_CASE("a double slash is refused", "[keys]") {
  Env env;
  create(env.c(), "/a", "v");
  for (const char *key : {"//", "//a", "/a//b", "/a//", "///a"})
    refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(children(env.c(), "/a").empty());
}

TEST_CASE("a trailing slash is refused", "[keys]") {
  Env env;
  create(env.c(), "/a", "v");
  create(env.c(), "/a/b", "v");
  for (const char *key : {"/a/", "/a/b/", "/new/"})
    refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(version_of(env.c(), "/a") == 1);
  CHECK(version_of(env.c(), "/a/b") == 1);
}

TEST_CASE("dot and dot-dot segments are refused", "[keys]") {
  Env env;
  create(env.c(), "/a", "v");
  for (const char *key : {"/.", "/..", "/a/.", "/a/..", "/../a", "/a/./b", "/a/../a"})
    refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(children(env.c(), "/a").empty());
}

TEST_CASE("segments that merely contain dots are valid", "[keys]") {
  Env env;
  for (const char *key : {"/...", "/....", "/.a", "/a.", "/a..b", "/.hidden"})
    works_everywhere(env.c(), key);
}

TEST_CASE("every ASCII control character is refused in a key", "[keys]") {
  Env env;
  create(env.c(), "/p", "v");
  for (int ch = 0x01; ch < 0x20; ++ch) {
    std::string key = std::string("/p/a") + static_cast<char>(ch) + "b";
    refused_everywhere(env.c(), key, OFFKV_EINVAL);
    refused_everywhere(env.c(), std::string("/") + static_cast<char>(ch), OFFKV_EINVAL);
  }
  CHECK(children(env.c(), "/p").empty());
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/p"});
}

TEST_CASE("DEL 0x7F is refused in a key", "[keys]") {
  Env env;
  refused_everywhere(env.c(), "/a\x7f", OFFKV_EINVAL);
  refused_everywhere(env.c(), "/\x7f", OFFKV_EINVAL);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("a 255-byte segment is valid and a 256-byte segment is refused", "[keys]") {
  Env env;
  const std::string longest(OFFKV_MAX_SEGMENT_SIZE, 's');
  REQUIRE(longest.size() == 255);
  create(env.c(), "/p", "");
  works_everywhere(env.c(), "/" + longest);
  create(env.c(), "/p/" + longest, "child");
  create(env.c(), "/p/" + longest + "/" + longest, "grandchild");
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/" + longest});
  CHECK(value_of(env.c(), "/p/" + longest + "/" + longest) == "grandchild");
  refused_everywhere(env.c(), "/" + longest + "s", OFFKV_EINVAL);
  refused_everywhere(env.c(), "/p/" + longest + "s", OFFKV_EINVAL);
  CHECK(children(env.c(), "/p") == std::vector<std::string>{"/p/" + longest});
}

TEST_CASE("the segment limit counts bytes, not characters", "[keys]") {
  Env env;
  std::string euros;
  for (int i = 0; i < 85; ++i) euros += "\xe2\x82\xac";  // U+20AC, 3 bytes
  REQUIRE(euros.size() == 255);
  works_everywhere(env.c(), "/" + euros);
  refused_everywhere(env.c(), "/" + euros + "\xe2\x82\xac", OFFKV_EINVAL);
  refused_everywhere(env.c(), "/" + euros + "x", OFFKV_EINVAL);
}

TEST_CASE("a key of exactly OFFKV_MAX_KEY_SIZE bytes with its prefix works", "[keys]") {
  Env env;
  const std::size_t room = OFFKV_MAX_KEY_SIZE - env.root().size();
  auto chain = chain_of_length(room);
  const std::string &key = chain.back();
  REQUIRE(env.root().size() + key.size() == OFFKV_MAX_KEY_SIZE);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) create(env.c(), chain[i], "");
  CHECK(create(env.c(), key, "deep") == key);
  CHECK(value_of(env.c(), key) == "deep");
  CHECK(set(env.c(), key, "deeper") == 2);
  CHECK(children(env.c(), chain[chain.size() - 2]) == std::vector<std::string>{key});
  REQUIRE_OK(offkv_erase(env.c(), key.c_str(), 0));
  CHECK(version_of(env.c(), key) == 0);
}

TEST_CASE("one byte over OFFKV_MAX_KEY_SIZE with the prefix is ETOOBIG", "[keys]") {
  Env env;
  const std::size_t room = OFFKV_MAX_KEY_SIZE - env.root().size();
  auto chain = chain_of_length(room);
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) create(env.c(), chain[i], "");
  const std::string over = chain.back() + "x";
  // The key alone is under the limit: the prefix counts.
  REQUIRE(over.size() < OFFKV_MAX_KEY_SIZE);
  REQUIRE(env.root().size() + over.size() == OFFKV_MAX_KEY_SIZE + 1);
  refused_everywhere(env.c(), over, OFFKV_ETOOBIG);
  CHECK(children(env.c(), chain[chain.size() - 2]).empty());
}

TEST_CASE("a huge key is refused with ETOOBIG", "[keys]") {
  Env env;
  std::string key;
  while (key.size() < (1u << 20)) key += "/" + std::string(100, 'h');
  refused_everywhere(env.c(), key, OFFKV_ETOOBIG);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("malformed UTF-8 is refused in a key", "[keys]") {
  Env env;
  const std::vector<std::string> bad = {
      "/\x80",                  // lone continuation byte
      "/a\xbf",                 // continuation byte after ASCII
      "/\xc3",                  // truncated 2-byte sequence
      "/\xe2\x82",              // truncated 3-byte sequence
      "/\xf0\x9f\x98",          // truncated 4-byte sequence
      "/\xc3\x28",              // bad continuation
      "/\xc0\xaf",              // overlong '/'
      "/\xc1\xbf",              // overlong
      "/\xe0\x80\xaf",          // overlong 3-byte
      "/\xf0\x80\x80\xaf",      // overlong 4-byte
      "/\xed\xa0\x80",          // UTF-16 surrogate U+D800
      "/\xed\xbf\xbf",          // UTF-16 surrogate U+DFFF
      "/\xf4\x90\x80\x80",      // above U+10FFFF
      "/\xf8\x88\x80\x80\x80",  // 5-byte form
      "/\xfe",
      "/\xff",
      "/ok/\xff",
  };
  for (const auto &key : bad) refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("valid multi-byte UTF-8 keys round-trip", "[keys]") {
  Env env;
  const std::vector<std::string> good = {
      "/\xc3\xa9t\xc3\xa9",                     // été
      "/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",  // 日本語
      "/\xce\xa9",                              // Ω
      "/\xd0\x9f\xd1\x80\xd0\xb8",              // При
      "/\xef\xbf\xaf",                          // U+FFEF, the last allowed BMP point
      "/\xc2\xa0nbsp",                          // U+00A0
  };
  for (const auto &key : good) works_everywhere(env.c(), key);
  // No normalisation: precomposed and decomposed é are two keys.
  create(env.c(), "/\xc3\xa9", "nfc");
  create(env.c(), "/e\xcc\x81", "nfd");
  CHECK(value_of(env.c(), "/\xc3\xa9") == "nfc");
  CHECK(value_of(env.c(), "/e\xcc\x81") == "nfd");
  CHECK(children(env.c(), "/").size() == 2);
}

TEST_CASE("code points ZooKeeper cannot store are refused on every backend", "[keys]") {
  // One rule for every backend is ZooKeeper's (PathUtils.validatePath): C1 controls,
  // U+D800..U+F8FF and U+FFF0.. (every code point above U+FFFF is a surrogate pair
  // there) are refused, whatever the backend.
  Env env;
  const std::vector<std::string> refused = {
      "/\xc2\x80",          // U+0080 (C1)
      "/a\xc2\x85",         // U+0085 NEL (C1)
      "/\xc2\x9f",          // U+009F (C1)
      "/\xee\x80\x80",      // U+E000 private use
      "/\xef\xa3\xbf",      // U+F8FF private use
      "/\xef\xbf\xb0",      // U+FFF0
      "/\xef\xbf\xbd",      // U+FFFD
      "/\xef\xbf\xbf",      // U+FFFF
      "/\xf0\x9f\x98\x80",  // U+1F600
      "/\xf4\x8f\xbf\xbf",  // U+10FFFF
  };
  for (const auto &key : refused) refused_everywhere(env.c(), key, OFFKV_EINVAL);
  CHECK(children(env.c(), "/").empty());
}

TEST_CASE("printable ASCII punctuation in keys round-trips", "[keys]") {
  // Characters that mean something in URLs, HTTP paths, shells or regular
  // expressions are plain key bytes on every backend.
  Env env;
  const std::string specials = " !\"#$%&'()*+,-.:;<=>?@[\\]^_`{|}~";
  std::vector<std::string> keys;
  create(env.c(), "/p", "");
  for (char ch : specials) {
    std::string key = std::string("/p/k") + ch + "k";
    create(env.c(), key, std::string(1, ch));
    keys.push_back(key);
  }
  for (const char *seg :
       {"%2F", "%2e%2e", "a%20b", "?x=1&y=2", "#frag", "+", " ", "\\"}) {
    std::string key = std::string("/p/") + seg;
    create(env.c(), key, seg);
    keys.push_back(key);
  }
  CHECK(children(env.c(), "/p") == bytewise_sorted(keys));
  for (char ch : specials)
    CHECK(value_of(env.c(), std::string("/p/k") + ch + "k") == std::string(1, ch));
  // Never percent-decoded: "%2F" is three bytes, not a slash.
  CHECK(value_of(env.c(), "/p/%2F") == "%2F");
  CHECK(children(env.c(), "/p/%2F").empty());
}

TEST_CASE("keys differing only in case are distinct", "[keys]") {
  Env env;
  create(env.c(), "/key", "lower");
  create(env.c(), "/KEY", "upper");
  create(env.c(), "/Key", "mixed");
  CHECK(value_of(env.c(), "/key") == "lower");
  CHECK(value_of(env.c(), "/KEY") == "upper");
  CHECK(value_of(env.c(), "/Key") == "mixed");
  REQUIRE_OK(offkv_erase(env.c(), "/KEY", 0));
  CHECK(version_of(env.c(), "/key") == 1);
  CHECK(version_of(env.c(), "/Key") == 1);
  CHECK(version_of(env.c(), "/KEY") == 0);
}

TEST_CASE("the /zookeeper tree is reserved at the server root", "[keys]") {
  Env env;
  offkv_client *root = env.open_url(url_at(""));
  for (const char *key :
       {"/zookeeper", "/zookeeper/quota", "/zookeeper/config", "/zookeeper/x/y"})
    refused_everywhere(root, key, OFFKV_EINVAL);
  // Only the exact segment is reserved (read-only checks: nothing is written).
  for (const char *key : {"/zookeepers", "/zookeeper-x", "/Zookeeper", "/zoo"}) {
    INFO("key " << key);
    std::int64_t version = -1;
    CHECK_OK(offkv_exists(root, key, &version));
  }
}

TEST_CASE("a URL prefix inside /zookeeper is refused at open", "[keys]") {
  Env env;
  for (const char *prefix : {"/zookeeper", "/zookeeper/quota", "/zookeeper/x"}) {
    offkv_client *client = nullptr;
    const std::string url = url_at(prefix);
    INFO("url " << url);
    CHECK_CODE(offkv_open(url.c_str(), nullptr, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);
    offkv_client_free(client);
  }
}

TEST_CASE("under a prefix zookeeper is an ordinary segment", "[keys]") {
  // The reservation is about the full path: the case's root is not /zookeeper.
  Env env;
  create(env.c(), "/zookeeper", "mine");
  create(env.c(), "/zookeeper/quota", "also mine");
  create(env.c(), "/a", "");
  create(env.c(), "/a/zookeeper", "nested");
  CHECK(value_of(env.c(), "/zookeeper") == "mine");
  CHECK(children(env.c(), "/zookeeper") == std::vector<std::string>{"/zookeeper/quota"});
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/a", "/zookeeper"});
}

TEST_CASE("a listing of the server root never shows /zookeeper", "[keys]") {
  Env env;
  offkv_client *root = env.open_url(url_at(""));
  for (const auto &key : children(root, "/")) CHECK(key != "/zookeeper");
}

TEST_CASE("an invalid key is refused before any I/O and stores nothing", "[keys]") {
  Env env;
  create(env.c(), "/kept", "v");
  Recorder &spy = env.recorder();
  Watch watch;
  REQUIRE_OK(
      offkv_watch_persistent(env.c(), "/", &Recorder::callback, &spy, watch.out()));
  for (const char *key :
       {"", "x", "/", "/kept/", "//kept", "/kept/..", "/\x01", "/\xff", "/kept/\xc0\xaf"})
    refused_everywhere(env.c(), key, OFFKV_EINVAL, std::string(key) != "/");
  CHECK(spy.quiet());
  CHECK(spy.count() == 0);
  CHECK(children(env.c(), "/") == std::vector<std::string>{"/kept"});
  CHECK(children(env.c(), "/kept").empty());
  CHECK(version_of(env.c(), "/kept") == 1);
  // The spy is live: a real change is seen.
  create(env.c(), "/kept/child", "");
  auto ev = spy.next();
  REQUIRE(ev);
  CHECK(ev->key == "/kept/child");
}

TEST_CASE("an invalid key in a transaction refuses the whole transaction", "[keys]") {
  Env env;
  create(env.c(), "/a", "1");
  offkv_txn *txn = nullptr;
  REQUIRE_OK(offkv_txn_new(&txn));
  REQUIRE_OK(offkv_txn_check(txn, "/a", 1));
  REQUIRE_OK(offkv_txn_set(txn, "/a", "2", 1));
  REQUIRE_OK(offkv_txn_create(txn, "/b", "b", 1, 0));
  int rc = offkv_txn_create(txn, "/bad//key", "v", 1, 0);
  if (rc == OFFKV_OK) {
    offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
    rc = offkv_commit(env.c(), txn, &result);
    CHECK(result.count == 0);
    offkv_txn_result_free(&result);
  }
  CHECK(code_name(rc) == code_name(OFFKV_EINVAL));
  CHECK(contains(offkv_last_error(), "/bad//key"));
  offkv_txn_free(txn);
  CHECK(value_of(env.c(), "/a") == "1");
  CHECK(version_of(env.c(), "/a") == 1);
  CHECK(version_of(env.c(), "/b") == 0);
}

TEST_CASE("the error for an invalid key names the key", "[keys]") {
  Env env;
  for (const char *key : {"/named/../key", "/trailing/", "/double//slash"}) {
    std::int64_t version = 0;
    REQUIRE_CODE(offkv_exists(env.c(), key, &version), OFFKV_EINVAL);
    INFO("key " << key << " message " << offkv_last_error());
    CHECK(contains(offkv_last_error(), key));
  }
}
