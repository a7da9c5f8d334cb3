// Key rules (core/key.*, SPEC §2): what is a key, and the path helpers every backend
// builds on.
#include <catch2/catch.hpp>

#include <string>

#include "key.hpp"
#include "offkv.h"
#include "unit.hpp"

using offkv_unit::failure_of;

namespace {

// A valid key of exactly `size` bytes: segments of 255 bytes, the last one shorter.
std::string key_of_size(std::size_t size) {
  std::string key;
  while (key.size() < size) {
    std::size_t left = size - key.size() - 1;
    key += '/' + std::string(std::min<std::size_t>(left, 255), 'k');
  }
  return key;
}

void check_invalid(const std::string &key, const std::string &why) {
  INFO("key '" << key << "'");
  auto f = failure_of([&] { offkv::validate_key(key); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message.substr(f.message.find("': ") + 3) == why);
}

}  // namespace

TEST_CASE("key: ordinary keys are valid") {
  for (const char *key : {"/a", "/a/b/c", "/with space", "/a.b", "/...", "/-_~!$",
                          "/\xc3\xbc",                  // U+00FC, two bytes
                          "/\xe6\x97\xa5\xe6\x9c\xac",  // two CJK ideographs
                          "/\xef\xa4\x80",     // U+F900, just above the refused block
                          "/\xef\xbf\xaf"}) {  // U+FFEF, just below U+FFF0
    INFO("key '" << key << "'");
    CHECK_NOTHROW(offkv::validate_key(key));
  }
}

TEST_CASE("key: the empty key and a key without leading slash are refused") {
  auto f = failure_of([] { offkv::validate_key(""); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid key '': empty");
  f = failure_of([] { offkv::validate_key("a/b"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid key 'a/b': must start with '/'");
}

TEST_CASE("key: the root is not a key, but validate_key_or_root takes it") {
  auto f = failure_of([] { offkv::validate_key("/"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid key '/': the root '/' is not a key");
  CHECK_NOTHROW(offkv::validate_key_or_root("/"));
  CHECK_NOTHROW(offkv::validate_key_or_root("/a"));
  CHECK(failure_of([] { offkv::validate_key_or_root("//"); }).code == OFFKV_EINVAL);
}

TEST_CASE("key: empty segments ('//', trailing '/') are refused") {
  for (const char *key : {"/a/", "//a", "/a//b", "/a/b/"})
    check_invalid(key, "empty segment ('//' or trailing '/')");
}

TEST_CASE("key: '.' and '..' are not segments, longer dot names are") {
  for (const char *key : {"/.", "/..", "/a/./b", "/a/.."})
    check_invalid(key, "'.' and '..' are not segments");
  CHECK_NOTHROW(offkv::validate_key("/.a"));
  CHECK_NOTHROW(offkv::validate_key("/a/.../b"));
}

TEST_CASE("key: a segment holds at most 255 bytes") {
  CHECK_NOTHROW(offkv::validate_key("/" + std::string(255, 's')));
  CHECK_NOTHROW(offkv::validate_key("/a/" + std::string(255, 's') + "/b"));
  check_invalid("/" + std::string(256, 's'), "segment longer than 255 bytes");
  // Bytes, not characters: 128 two-byte characters are 256 bytes.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xc3\xbc";
  check_invalid("/" + wide, "segment longer than 255 bytes");
}

TEST_CASE("key: a key holds at most OFFKV_MAX_KEY_SIZE bytes, refused as ETOOBIG") {
  REQUIRE(OFFKV_MAX_KEY_SIZE == 4096);
  std::string longest = key_of_size(4096);
  REQUIRE(longest.size() == 4096);
  CHECK_NOTHROW(offkv::validate_key(longest));
  std::string too_long = key_of_size(4097);
  REQUIRE(too_long.size() == 4097);
  auto f = failure_of([&] { offkv::validate_key(too_long); });
  CHECK(f.code == OFFKV_ETOOBIG);
  // The message shows the first 200 bytes only.
  CHECK(f.message == "key longer than 4096 bytes: '" + too_long.substr(0, 200) + "...'");
}

TEST_CASE("key: ASCII and C1 control characters are refused, shown escaped") {
  auto f = failure_of([] { offkv::validate_key("/a\x01z"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid key '/a\\x01z': control character");
  f = failure_of([] { offkv::validate_key(std::string("/a\0z", 4)); });
  CHECK(f.message == "invalid key '/a\\x00z': control character");
  f = failure_of([] { offkv::validate_key("/tab\there"); });
  CHECK(f.message == "invalid key '/tab\\x09here': control character");
  f = failure_of([] { offkv::validate_key("/del\x7f"); });
  CHECK(f.message == "invalid key '/del\\x7f': control character");
  check_invalid("/c1\xc2\x85", "control character");    // U+0085 NEXT LINE
  check_invalid("/c1\xc2\x9f", "control character");    // U+009F
  CHECK_NOTHROW(offkv::validate_key("/nbsp\xc2\xa0"));  // U+00A0 is not a control
}

TEST_CASE("key: a backslash is allowed but escaped in messages") {
  CHECK_NOTHROW(offkv::validate_key("/a\\b"));
  auto f = failure_of([] { offkv::validate_key("/a\\b/"); });
  CHECK(f.message == "invalid key '/a\\x5cb/': empty segment ('//' or trailing '/')");
}

TEST_CASE("key: malformed UTF-8 is refused") {
  for (const char *key : {"/\x80",              // a lone continuation byte
                          "/\xc3",              // truncated two-byte sequence
                          "/\xe6\x97",          // truncated three-byte sequence
                          "/\xc0\xaf",          // overlong '/'
                          "/\xe0\x80\xaf",      // overlong, three bytes
                          "/\xed\xa0\x80",      // an encoded surrogate
                          "/\xf4\x90\x80\x80",  // above U+10FFFF
                          "/\xff",              // never in UTF-8
                          "/\xc3\x28"})         // bad continuation byte
    check_invalid(key, "not valid UTF-8");
}

TEST_CASE("key: private-use and U+FFF0 and above are refused (ZooKeeper's rule)") {
  const std::string why = "code point not allowed (U+D800-U+F8FF, U+FFF0 and above)";
  check_invalid("/\xee\x80\x80", why);      // U+E000
  check_invalid("/\xef\xa3\xbf", why);      // U+F8FF
  check_invalid("/\xef\xbf\xb0", why);      // U+FFF0
  check_invalid("/\xef\xbf\xbd", why);      // U+FFFD
  check_invalid("/\xf0\x9f\x98\x80", why);  // U+1F600, any four-byte character
}

TEST_CASE("key: validate_prefix takes '' and keys, refuses others as EINVAL") {
  CHECK_NOTHROW(offkv::validate_prefix(""));
  CHECK_NOTHROW(offkv::validate_prefix("/app"));
  CHECK_NOTHROW(offkv::validate_prefix("/app/env"));
  auto f = failure_of([] { offkv::validate_prefix("app"); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message == "invalid URL prefix: invalid key 'app': must start with '/'");
  f = failure_of([] { offkv::validate_prefix("/app/"); });
  CHECK(f.message ==
        "invalid URL prefix: invalid key '/app/': empty segment ('//' or trailing '/')");
  // Too long is ETOOBIG for a key, but a bad URL for a prefix.
  f = failure_of([] { offkv::validate_prefix(key_of_size(4097)); });
  CHECK(f.code == OFFKV_EINVAL);
  CHECK(f.message.rfind("invalid URL prefix: key longer than 4096 bytes: '", 0) == 0);
}

TEST_CASE("key: a prefix inside /zookeeper is refused, /zookeeperx is not") {
  for (const char *prefix : {"/zookeeper", "/zookeeper/quota"}) {
    auto f = failure_of([&] { offkv::validate_prefix(prefix); });
    CHECK(f.code == OFFKV_EINVAL);
    CHECK(f.message == std::string("invalid URL prefix '") + prefix +
                           "': /zookeeper is reserved (ZooKeeper's own tree)");
  }
  CHECK_NOTHROW(offkv::validate_prefix("/zookeeperx"));
  CHECK_NOTHROW(offkv::validate_prefix("/app/zookeeper"));
}

TEST_CASE("key: to_full_path joins the prefix and the key") {
  CHECK(offkv::to_full_path("", "/a") == "/a");
  CHECK(offkv::to_full_path("", "/") == "/");
  CHECK(offkv::to_full_path("/p", "/a/b") == "/p/a/b");
  CHECK(offkv::to_full_path("/p/q", "/") == "/p/q");
}

TEST_CASE("key: to_full_path enforces the length on prefix + key") {
  std::string key = key_of_size(4094);
  CHECK(offkv::to_full_path("/p", key).size() == 4096);
  std::string longer = key_of_size(4095);
  auto f = failure_of([&] { offkv::to_full_path("/p", longer); });
  CHECK(f.code == OFFKV_ETOOBIG);
  CHECK(f.message == "prefix + key longer than 4096 bytes: '" +
                         ("/p" + longer).substr(0, 200) + "...'");
}

TEST_CASE("key: to_full_path refuses ZooKeeper's own tree without a prefix") {
  for (const char *key : {"/zookeeper", "/zookeeper/config"}) {
    auto f = failure_of([&] { offkv::to_full_path("", key); });
    CHECK(f.code == OFFKV_EINVAL);
    CHECK(f.message == std::string("invalid key '") + key +
                           "': /zookeeper is reserved (ZooKeeper's own tree)");
  }
  CHECK(offkv::to_full_path("", "/zookeeperx") == "/zookeeperx");
  CHECK(offkv::to_full_path("/app", "/zookeeper") == "/app/zookeeper");
}

TEST_CASE("key: to_client_key strips the prefix, the prefix itself is the root") {
  CHECK(offkv::to_client_key("", "/a/b") == "/a/b");
  CHECK(offkv::to_client_key("", "/") == "/");
  CHECK(offkv::to_client_key("/p", "/p/a/b") == "/a/b");
  CHECK(offkv::to_client_key("/p", "/p") == "/");
  CHECK(offkv::to_client_key("/p/q", "/p/q/r") == "/r");
}

TEST_CASE("key: parent_path") {
  CHECK(offkv::parent_path("/a/b/c") == "/a/b");
  CHECK(offkv::parent_path("/a/b") == "/a");
  CHECK(offkv::parent_path("/a") == "/");
  CHECK(offkv::parent_path("/") == "/");
  CHECK(offkv::parent_path("/a.b/c.d") == "/a.b");
}

TEST_CASE("key: path_covers is ancestor-or-equal by whole segments") {
  CHECK(offkv::path_covers("/a", "/a"));
  CHECK(offkv::path_covers("/a", "/a/b"));
  CHECK(offkv::path_covers("/a", "/a/b/c"));
  CHECK(offkv::path_covers("/", "/anything/at/all"));
  CHECK(offkv::path_covers("/", "/"));
  CHECK_FALSE(offkv::path_covers("/a", "/ab"));
  CHECK_FALSE(offkv::path_covers("/a/b", "/a"));
  CHECK_FALSE(offkv::path_covers("/a", "/b/a"));
  CHECK_FALSE(offkv::path_covers("/a/b", "/a/bc/d"));
}

TEST_CASE("key: sequential_path appends ten zero-padded digits") {
  CHECK(offkv::sequential_path("/q/n-", 0) == "/q/n-0000000000");
  CHECK(offkv::sequential_path("/q/n-", 7) == "/q/n-0000000007");
  CHECK(offkv::sequential_path("/q/", 2147483647) == "/q/2147483647");
  CHECK(offkv::sequential_path("/q/", 9999999999LL) == "/q/9999999999");
  // Past ten digits the number simply grows (ZooKeeper's counter never gets there).
  CHECK(offkv::sequential_path("/q", 12345678901LL) == "/q12345678901");
}
