// Bad input for every function of offkv.h: each gets the documented code, a
// non-empty offkv_last_error(), zeroed out-parameters, and stored data untouched.
#include <offkv.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string name_of(int rc) { return offkv_error_name(rc); }

// The call returns `code`; a failure leaves a detail message, a success none.
#define EXPECT_CODE(call, code)                                                    \
  do {                                                                             \
    int rc_ = (call);                                                              \
    std::string last_ = offkv_last_error();                                        \
    INFO(#call << " -> " << name_of(rc_) << " '" << last_ << "'");                \
    CHECK(name_of(rc_) == name_of(code));                                          \
    if (rc_ != OFFKV_OK)                                                           \
      CHECK_FALSE(last_.empty());                                                  \
    else                                                                           \
      CHECK(last_.empty());                                                        \
  } while (0)

// Recognisable junk to pre-fill out-parameters with.
template <typename T>
T *junk_ptr() {
  return reinterpret_cast<T *>(static_cast<uintptr_t>(0x5a5a5a5a));
}
constexpr int64_t kJunkVersion = 777;

std::string unique_store(const char *base) {
  static std::atomic<int> counter{0};
  return std::string("mem://") + base + "-" + std::to_string(++counter);
}

std::vector<std::string> children_of(offkv_client *c, const char *key) {
  offkv_strings s{nullptr, 0};
  REQUIRE(offkv_children(c, key, &s) == OFFKV_OK);
  std::vector<std::string> out(s.items, s.items + s.count);
  offkv_strings_free(&s);
  return out;
}

// A client on a fresh mem:// store seeded with /keep = "original" and
// /keep/child = "kid"; untouched() checks that nothing else was written.
struct Store {
  offkv_client *client = nullptr;
  std::string url;

  explicit Store(const char *name) : url(unique_store(name)) {
    REQUIRE(offkv_open(url.c_str(), nullptr, &client) == OFFKV_OK);
    REQUIRE(offkv_create(client, "/keep", "original", 8, 0, nullptr) == OFFKV_OK);
    REQUIRE(offkv_create(client, "/keep/child", "kid", 3, 0, nullptr) == OFFKV_OK);
  }
  ~Store() { offkv_client_free(client); }

  // Checked through a second client, so it works after `client` was closed.
  void untouched() const {
    offkv_client *other = nullptr;
    REQUIRE(offkv_open(url.c_str(), nullptr, &other) == OFFKV_OK);
    offkv_buf v{nullptr, 0};
    int64_t version = 0;
    REQUIRE(offkv_get(other, "/keep", &v, &version) == OFFKV_OK);
    CHECK(std::string(v.data, v.len) == "original");
    CHECK(version == 1);
    offkv_buf_free(&v);
    REQUIRE(offkv_get(other, "/keep/child", &v, &version) == OFFKV_OK);
    CHECK(std::string(v.data, v.len) == "kid");
    CHECK(version == 1);
    offkv_buf_free(&v);
    CHECK(children_of(other, "/") == std::vector<std::string>{"/keep"});
    CHECK(children_of(other, "/keep") == std::vector<std::string>{"/keep/child"});
    offkv_client_free(other);
  }
};

void no_cb(const offkv_event *, void *) {}

// Every client operation of the header, called with `key` (and a small value);
// each must return `code` with out-parameters zeroed.
void every_key_op(offkv_client *c, const char *key, int code, bool include_children) {
  char *created = junk_ptr<char>();
  EXPECT_CODE(offkv_create(c, key, "v", 1, 0, &created), code);
  CHECK(created == nullptr);
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_set(c, key, "v", 1, &version), code);
  CHECK(version == 0);
  version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, key, "v", 1, 0, &version), code);
  CHECK(version == 0);
  version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, key, "v", 1, 1, &version), code);
  CHECK(version == 0);
  offkv_buf buf{junk_ptr<char>(), 99};
  version = kJunkVersion;
  EXPECT_CODE(offkv_get(c, key, &buf, &version), code);
  CHECK(buf.data == nullptr);
  CHECK(buf.len == 0);
  CHECK(version == 0);
  version = kJunkVersion;
  EXPECT_CODE(offkv_exists(c, key, &version), code);
  CHECK(version == 0);
  EXPECT_CODE(offkv_erase(c, key, 0), code);
  offkv_watch *w = junk_ptr<offkv_watch>();
  buf = offkv_buf{junk_ptr<char>(), 99};
  version = kJunkVersion;
  EXPECT_CODE(offkv_get_watch(c, key, &buf, &version, no_cb, nullptr, &w), code);
  CHECK(w == nullptr);
  CHECK(buf.data == nullptr);
  CHECK(version == 0);
  w = junk_ptr<offkv_watch>();
  version = kJunkVersion;
  EXPECT_CODE(offkv_exists_watch(c, key, &version, nullptr, nullptr, &w), code);
  CHECK(w == nullptr);
  CHECK(version == 0);
  if (include_children) {
    offkv_strings s{junk_ptr<char *>(), 99};
    EXPECT_CODE(offkv_children(c, key, &s), code);
    CHECK(s.items == nullptr);
    CHECK(s.count == 0);
    s = offkv_strings{junk_ptr<char *>(), 99};
    w = junk_ptr<offkv_watch>();
    EXPECT_CODE(offkv_children_watch(c, key, &s, nullptr, nullptr, &w), code);
    CHECK(s.items == nullptr);
    CHECK(s.count == 0);
    CHECK(w == nullptr);
    w = junk_ptr<offkv_watch>();
    EXPECT_CODE(offkv_watch_persistent(c, key, no_cb, nullptr, &w), code);
    CHECK(w == nullptr);
  }
}

// A transaction built by `build` is refused with `code`, either when the item is
// added or at commit; nothing is applied and the result stays zeroed.
void txn_refused(offkv_client *c, const std::function<int(offkv_txn *)> &build,
                 int code) {
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  int rc = build(txn);
  if (rc != OFFKV_OK) {
    INFO("refused when added: " << name_of(rc) << " '" << offkv_last_error() << "'");
    CHECK(name_of(rc) == name_of(code));
    CHECK(std::strlen(offkv_last_error()) > 0);
  } else {
    offkv_txn_result result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99,
                          99};
    EXPECT_CODE(offkv_commit(c, txn, &result), code);
    CHECK(result.ops == nullptr);
    CHECK(result.count == 0);
    CHECK(result.failed_index == 0);
    CHECK(result.failed_code == 0);
  }
  offkv_txn_free(txn);
}

const char *const kExpectedNames[OFFKV_ERROR_COUNT] = {
    "OFFKV_OK",        "OFFKV_EINVAL",   "OFFKV_ENOENT",      "OFFKV_EEXIST",
    "OFFKV_EVERSION",  "OFFKV_EEPHEMERAL", "OFFKV_ENOTEMPTY", "OFFKV_ETOOBIG",
    "OFFKV_ETXN",      "OFFKV_ECONNLOSS", "OFFKV_ESESSION",    "OFFKV_ETIMEOUT",
    "OFFKV_EAUTH",     "OFFKV_ETLS",      "OFFKV_ECLOSED",     "OFFKV_EUNSUPPORTED",
    "OFFKV_ESERVICE",  "OFFKV_ENOMEM",    "OFFKV_EINTERNAL"};

}  // namespace

TEST_CASE("version and backends", "[api]") {
  CHECK(offkv_version() == OFFKV_VERSION_NUMBER);
  CHECK(std::string(offkv_version_string()) == OFFKV_VERSION_STRING);
  CHECK(OFFKV_VERSION_NUMBER == OFFKV_VERSION_MAJOR * 10000 + OFFKV_VERSION_MINOR * 100 +
                                    OFFKV_VERSION_PATCH);
  CHECK(offkv_has_backend("mem") == 1);
  CHECK(offkv_has_backend(nullptr) == 0);
  CHECK(offkv_has_backend("") == 0);
  CHECK(offkv_has_backend("nosuch") == 0);
  CHECK(offkv_has_backend("mem://") == 0);
}

TEST_CASE("every error code has a name and a text", "[api]") {
  std::set<std::string> names, texts;
  for (int code = 0; code < OFFKV_ERROR_COUNT; ++code) {
    INFO("code " << code);
    REQUIRE(offkv_error_name(code) != nullptr);
    REQUIRE(offkv_strerror(code) != nullptr);
    CHECK(std::string(offkv_error_name(code)) == kExpectedNames[code]);
    CHECK(std::strlen(offkv_strerror(code)) > 0);
    names.insert(offkv_error_name(code));
    texts.insert(offkv_strerror(code));
  }
  CHECK(names.size() == OFFKV_ERROR_COUNT);
  CHECK(texts.size() == OFFKV_ERROR_COUNT);
  for (int code : {-1, OFFKV_ERROR_COUNT, OFFKV_ERROR_COUNT + 1, 1000, INT_MIN, INT_MAX}) {
    INFO("out-of-range code " << code);
    REQUIRE(offkv_error_name(code) != nullptr);
    REQUIRE(offkv_strerror(code) != nullptr);
    CHECK(std::strlen(offkv_error_name(code)) > 0);
    CHECK(std::strlen(offkv_strerror(code)) > 0);
    CHECK(names.count(offkv_error_name(code)) == 0);
    CHECK(texts.count(offkv_strerror(code)) == 0);
  }
}

TEST_CASE("free functions accept NULL and zeroed structs", "[api]") {
  offkv_buf_free(nullptr);
  offkv_strings_free(nullptr);
  offkv_string_free(nullptr);
  offkv_client_free(nullptr);
  offkv_watch_free(nullptr);
  offkv_event_free(nullptr);
  offkv_txn_free(nullptr);
  offkv_txn_result_free(nullptr);

  offkv_buf buf{nullptr, 0};
  offkv_strings strings{nullptr, 0};
  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  offkv_buf_free(&buf);
  offkv_strings_free(&strings);
  offkv_txn_result_free(&result);
  offkv_buf_free(&buf);  // twice is fine too
  CHECK(buf.data == nullptr);
  CHECK(buf.len == 0);
  CHECK(strings.items == nullptr);
  CHECK(strings.count == 0);
  CHECK(result.ops == nullptr);
  CHECK(result.count == 0);

  // Freeing real buffers resets the struct, so a second free is harmless.
  Store store("free");
  REQUIRE(offkv_get(store.client, "/keep", &buf, nullptr) == OFFKV_OK);
  REQUIRE(offkv_children(store.client, "/", &strings) == OFFKV_OK);
  offkv_buf_free(&buf);
  offkv_strings_free(&strings);
  CHECK(buf.data == nullptr);
  CHECK(strings.items == nullptr);
  offkv_buf_free(&buf);
  offkv_strings_free(&strings);
  store.untouched();
}

TEST_CASE("offkv_options_init bad input", "[api]") {
  EXPECT_CODE(offkv_options_init(nullptr, OFFKV_OPTIONS_VERSION), OFFKV_EINVAL);
  offkv_options opts;
  EXPECT_CODE(offkv_options_init(&opts, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_options_init(&opts, OFFKV_OPTIONS_VERSION + 1), OFFKV_EINVAL);
  std::memset(&opts, 0x7f, sizeof opts);
  EXPECT_CODE(offkv_options_init(&opts, OFFKV_OPTIONS_VERSION), OFFKV_OK);
  CHECK(opts.version == OFFKV_OPTIONS_VERSION);
  CHECK(opts.session_timeout_ms == 0);
  CHECK(opts.tls_ca_file == nullptr);
  CHECK(opts.session_callback == nullptr);
  CHECK(opts.session_user == nullptr);
}

TEST_CASE("offkv_open bad input", "[api]") {
  Store store("open");
  offkv_client *client = junk_ptr<offkv_client>();
  EXPECT_CODE(offkv_open(nullptr, nullptr, &client), OFFKV_EINVAL);
  CHECK(client == nullptr);
  EXPECT_CODE(offkv_open(store.url.c_str(), nullptr, nullptr), OFFKV_EINVAL);

  SECTION("options") {
    offkv_options opts = OFFKV_OPTIONS_INIT;
    opts.version = 0;
    client = junk_ptr<offkv_client>();
    EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);
    opts.version = OFFKV_OPTIONS_VERSION + 1;
    EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);
    for (int32_t t : {OFFKV_SESSION_TIMEOUT_MIN_MS - 1, OFFKV_SESSION_TIMEOUT_MAX_MS + 1,
                      -1, INT32_MAX}) {
      INFO("session_timeout_ms " << t);
      opts = OFFKV_OPTIONS_INIT;
      opts.session_timeout_ms = t;
      client = junk_ptr<offkv_client>();
      EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
      CHECK(client == nullptr);
    }
    opts = OFFKV_OPTIONS_INIT;
    opts.connect_timeout_ms = -5;
    EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);
    opts = OFFKV_OPTIONS_INIT;
    opts.operation_timeout_ms = -5;
    EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);
    opts = OFFKV_OPTIONS_INIT;
    opts.read_consistency = 7;
    EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_EINVAL);
    CHECK(client == nullptr);

    // The bounds themselves are accepted.
    for (int32_t t : {OFFKV_SESSION_TIMEOUT_MIN_MS, OFFKV_SESSION_TIMEOUT_MAX_MS}) {
      opts = OFFKV_OPTIONS_INIT;
      opts.session_timeout_ms = t;
      EXPECT_CODE(offkv_open(store.url.c_str(), &opts, &client), OFFKV_OK);
      CHECK(client != nullptr);
      offkv_client_free(client);
      client = nullptr;
    }
  }

  SECTION("malformed URLs") {
    const std::string name = store.url.substr(6);  // after mem://
    const std::vector<std::string> urls = {
        "",
        "mem",
        "mem:",
        "mem:/" + name,
        "mem//" + name,
        name,
        "://" + name,
        "foo://" + name,
        "http://127.0.0.1:80",
        "mem://",
        "mem:///prefix",
        "mem://bad name",
        "mem://" + name + "?bogus=1",
        "mem://" + name + "?session_timeout_ms=1",
        "mem://" + name + "?session_timeout_ms=1999",
        "mem://" + name + "?session_timeout_ms=60001",
        "mem://" + name + "?session_timeout_ms=abc",
        "mem://" + name + "?session_timeout_ms",
        "mem://" + name + "?read_consistency=eventual",
        "mem://" + name + "/bad//prefix",
        "mem://" + name + "/trailing/",
        "mem://" + name + "/%zz",
        "zk://127.0.0.1",
        "zk://127.0.0.1:",
        "zk://127.0.0.1:0",
        "zk://127.0.0.1:65536",
        "zk://127.0.0.1:99999",
        "zk://127.0.0.1:12ab",
        "zk://:2181",
        "zk://",
        "etcd://127.0.0.1:2379,",
        "etcd://::1:2379",
        "consul://a:8500,b:8500",
    };
    for (const auto &url : urls) {
      INFO("url '" << url << "'");
      client = junk_ptr<offkv_client>();
      EXPECT_CODE(offkv_open(url.c_str(), nullptr, &client), OFFKV_EINVAL);
      CHECK(client == nullptr);
    }
  }

  SECTION("backends compiled out") {
    struct Backend {
      const char *scheme, *url;
    };
    int compiled_out = 0;
    for (auto b : {Backend{"zk", "zk://127.0.0.1:2181"},
                   Backend{"etcd", "etcd://127.0.0.1:2379"},
                   Backend{"consul", "consul://127.0.0.1:8500"}}) {
      if (offkv_has_backend(b.scheme)) continue;  // in this build; tested elsewhere
      ++compiled_out;
      INFO("url " << b.url);
      client = junk_ptr<offkv_client>();
      EXPECT_CODE(offkv_open(b.url, nullptr, &client), OFFKV_EUNSUPPORTED);
      CHECK(client == nullptr);
      CHECK(std::string(offkv_last_error()).find(b.scheme) != std::string::npos);
    }
    // etcd and consul have no backend yet; update when they land.
    CHECK(compiled_out + offkv_has_backend("zk") + offkv_has_backend("etcd") +
              offkv_has_backend("consul") ==
          3);
  }
  store.untouched();
}

TEST_CASE("NULL client handle", "[api]") {
  every_key_op(nullptr, "/keep", OFFKV_EINVAL, true);
  EXPECT_CODE(offkv_close(nullptr), OFFKV_EINVAL);
  int state = 42;
  EXPECT_CODE(offkv_get_session_state(nullptr, &state), OFFKV_EINVAL);
  CHECK(state == 0);
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_check(txn, "/keep", OFFKV_ANY_VERSION) == OFFKV_OK);
  offkv_txn_result result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99,
                          99};
  EXPECT_CODE(offkv_commit(nullptr, txn, &result), OFFKV_EINVAL);
  CHECK(result.ops == nullptr);
  CHECK(result.count == 0);
  offkv_txn_free(txn);
}

TEST_CASE("NULL required out-parameters", "[api]") {
  Store store("nullout");
  offkv_client *c = store.client;
  EXPECT_CODE(offkv_get_session_state(c, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_exists(c, "/keep", nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_children(c, "/keep", nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_new(nullptr), OFFKV_EINVAL);

  offkv_watch *w = junk_ptr<offkv_watch>();
  EXPECT_CODE(offkv_exists_watch(c, "/keep", nullptr, no_cb, nullptr, &w), OFFKV_EINVAL);
  CHECK(w == nullptr);
  w = junk_ptr<offkv_watch>();
  EXPECT_CODE(offkv_children_watch(c, "/keep", nullptr, no_cb, nullptr, &w),
              OFFKV_EINVAL);
  CHECK(w == nullptr);

  // A watch needs a callback or a handle.
  offkv_buf buf{junk_ptr<char>(), 9};
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_get_watch(c, "/keep", &buf, &version, nullptr, nullptr, nullptr),
              OFFKV_EINVAL);
  CHECK(buf.data == nullptr);
  CHECK(version == 0);
  version = kJunkVersion;
  EXPECT_CODE(offkv_exists_watch(c, "/keep", &version, nullptr, nullptr, nullptr),
              OFFKV_EINVAL);
  CHECK(version == 0);
  offkv_strings s{junk_ptr<char *>(), 9};
  EXPECT_CODE(offkv_children_watch(c, "/keep", &s, nullptr, nullptr, nullptr),
              OFFKV_EINVAL);
  CHECK(s.items == nullptr);
  CHECK(s.count == 0);
  EXPECT_CODE(offkv_watch_persistent(c, "/keep", nullptr, nullptr, nullptr),
              OFFKV_EINVAL);

  // Optional out-parameters really are optional.
  EXPECT_CODE(offkv_get(c, "/keep", nullptr, nullptr), OFFKV_OK);
  EXPECT_CODE(offkv_set(c, "/opt", "x", 1, nullptr), OFFKV_OK);
  EXPECT_CODE(offkv_cas(c, "/opt", "y", 1, 1, nullptr), OFFKV_OK);
  EXPECT_CODE(offkv_erase(c, "/opt", 2), OFFKV_OK);

  // A missing node zeroes the out-parameters too.
  buf = offkv_buf{junk_ptr<char>(), 9};
  version = kJunkVersion;
  EXPECT_CODE(offkv_get(c, "/missing", &buf, &version), OFFKV_ENOENT);
  CHECK(buf.data == nullptr);
  CHECK(buf.len == 0);
  CHECK(version == 0);
  s = offkv_strings{junk_ptr<char *>(), 9};
  EXPECT_CODE(offkv_children(c, "/missing", &s), OFFKV_ENOENT);
  CHECK(s.items == nullptr);
  CHECK(s.count == 0);
  store.untouched();
}

TEST_CASE("NULL key", "[api]") {
  Store store("nullkey");
  every_key_op(store.client, nullptr, OFFKV_EINVAL, true);
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  EXPECT_CODE(offkv_txn_check(txn, nullptr, 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_create(txn, nullptr, "v", 1, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_set(txn, nullptr, "v", 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_erase(txn, nullptr, 0), OFFKV_EINVAL);
  // Nothing was added: the empty transaction commits with no results.
  offkv_txn_result result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99,
                          99};
  EXPECT_CODE(offkv_commit(store.client, txn, &result), OFFKV_OK);
  CHECK(result.count == 0);
  offkv_txn_result_free(&result);
  offkv_txn_free(txn);
  store.untouched();
}

TEST_CASE("NULL value with a non-zero length", "[api]") {
  Store store("nullvalue");
  offkv_client *c = store.client;
  char *created = junk_ptr<char>();
  EXPECT_CODE(offkv_create(c, "/new", nullptr, 1, 0, &created), OFFKV_EINVAL);
  CHECK(created == nullptr);
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_set(c, "/keep", nullptr, 5, &version), OFFKV_EINVAL);
  CHECK(version == 0);
  version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, "/keep", nullptr, 5, 1, &version), OFFKV_EINVAL);
  CHECK(version == 0);
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  EXPECT_CODE(offkv_txn_create(txn, "/new", nullptr, 3, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_set(txn, "/keep", nullptr, 3), OFFKV_EINVAL);
  offkv_txn_free(txn);
  store.untouched();

  // NULL with length 0 is the empty value.
  EXPECT_CODE(offkv_create(c, "/empty", nullptr, 0, 0, nullptr), OFFKV_OK);
  offkv_buf buf{nullptr, 0};
  REQUIRE(offkv_get(c, "/empty", &buf, &version) == OFFKV_OK);
  CHECK(buf.len == 0);
  REQUIRE(buf.data != nullptr);
  CHECK(buf.data[0] == '\0');
  offkv_buf_free(&buf);
  REQUIRE(offkv_erase(c, "/empty", 0) == OFFKV_OK);
  store.untouched();
}

TEST_CASE("invalid keys", "[api]") {
  Store store("badkeys");
  const std::vector<std::string> invalid = {
      "",
      "keep",
      "/keep/",
      "//keep",
      "/keep//child",
      "/.",
      "/..",
      "/keep/../keep",
      "/keep/./child",
      std::string("/ke\x01p"),
      std::string("/ke\x7fp"),
      std::string("/ke\nep"),
      std::string("/\xff"),
      std::string("/\xc0\xaf"),        // overlong '/'
      std::string("/\xed\xa0\x80"),    // a UTF-16 surrogate
      std::string("/ab\xe2\x82"),      // truncated sequence
      "/zookeeper",
      "/zookeeper/quota",
      "/" + std::string(OFFKV_MAX_SEGMENT_SIZE + 1, 's'),
  };
  for (const auto &key : invalid) {
    INFO("key '" << key << "'");
    every_key_op(store.client, key.c_str(), OFFKV_EINVAL, true);
  }
  // The root is not a key, except for children and persistent watches.
  every_key_op(store.client, "/", OFFKV_EINVAL, false);

  // Longer than the whole-key limit, though every segment is fine.
  std::string longkey;
  while (longkey.size() <= OFFKV_MAX_KEY_SIZE) longkey += "/" + std::string(100, 'k');
  every_key_op(store.client, longkey.c_str(), OFFKV_ETOOBIG, true);

  // Keys that look odd but are valid stay valid (positive control).
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_exists(store.client, "/keep/chil", &version), OFFKV_OK);
  CHECK(version == 0);
  EXPECT_CODE(offkv_exists(store.client, "/keep/...", &version), OFFKV_OK);
  EXPECT_CODE(offkv_exists(store.client, "/zookeepers", &version), OFFKV_OK);
  EXPECT_CODE(offkv_exists(store.client, "/\xc3\xa9t\xc3\xa9", &version), OFFKV_OK);
  std::string longest_segment = "/" + std::string(OFFKV_MAX_SEGMENT_SIZE, 's');
  EXPECT_CODE(offkv_exists(store.client, longest_segment.c_str(), &version), OFFKV_OK);

  for (const auto &key : invalid) {
    INFO("txn key '" << key << "'");
    txn_refused(store.client, [&](offkv_txn *t) { return offkv_txn_check(t, key.c_str(), 1); },
                OFFKV_EINVAL);
    txn_refused(store.client,
                [&](offkv_txn *t) { return offkv_txn_create(t, key.c_str(), "v", 1, 0); },
                OFFKV_EINVAL);
    txn_refused(store.client,
                [&](offkv_txn *t) { return offkv_txn_set(t, key.c_str(), "v", 1); },
                OFFKV_EINVAL);
    txn_refused(store.client,
                [&](offkv_txn *t) { return offkv_txn_erase(t, key.c_str(), 0); },
                OFFKV_EINVAL);
  }
  store.untouched();
}

TEST_CASE("bad flags and versions", "[api]") {
  Store store("badargs");
  offkv_client *c = store.client;
  char *created = junk_ptr<char>();
  EXPECT_CODE(offkv_create(c, "/new", "v", 1, 4, &created), OFFKV_EINVAL);
  CHECK(created == nullptr);
  EXPECT_CODE(offkv_create(c, "/new", "v", 1, -1, &created), OFFKV_EINVAL);
  CHECK(created == nullptr);
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, "/keep", "v", 1, -1, &version), OFFKV_EINVAL);
  CHECK(version == 0);
  EXPECT_CODE(offkv_erase(c, "/keep", -1), OFFKV_EINVAL);
  // Wrong versions are refused, never silently ignored.
  version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, "/keep", "v", 1, 2, &version), OFFKV_EVERSION);
  CHECK(version == 0);
  EXPECT_CODE(offkv_cas(c, "/keep", "v", 1, 0, &version), OFFKV_EVERSION);
  EXPECT_CODE(offkv_erase(c, "/keep", 2), OFFKV_EVERSION);
  EXPECT_CODE(offkv_create(c, "/keep", "v", 1, 0, &created), OFFKV_EEXIST);
  CHECK(created == nullptr);
  EXPECT_CODE(offkv_create(c, "/no/parent", "v", 1, 0, &created), OFFKV_ENOENT);
  CHECK(std::string(offkv_last_error()).find("/no") != std::string::npos);
  txn_refused(c, [](offkv_txn *t) { return offkv_txn_create(t, "/new", "v", 1, 8); },
              OFFKV_EINVAL);
  txn_refused(c, [](offkv_txn *t) { return offkv_txn_check(t, "/keep", -2); },
              OFFKV_EINVAL);
  txn_refused(c, [](offkv_txn *t) { return offkv_txn_erase(t, "/keep", -1); },
              OFFKV_EINVAL);
  store.untouched();
}

TEST_CASE("oversize values", "[api]") {
  Store store("oversize");
  offkv_client *c = store.client;
  const std::string big(OFFKV_MAX_VALUE_SIZE + 1, 'b');
  const std::string max(OFFKV_MAX_VALUE_SIZE, 'm');
  char *created = junk_ptr<char>();
  EXPECT_CODE(offkv_create(c, "/big", big.data(), big.size(), 0, &created), OFFKV_ETOOBIG);
  CHECK(created == nullptr);
  int64_t version = kJunkVersion;
  EXPECT_CODE(offkv_set(c, "/keep", big.data(), big.size(), &version), OFFKV_ETOOBIG);
  CHECK(version == 0);
  EXPECT_CODE(offkv_set(c, "/big", big.data(), big.size(), &version), OFFKV_ETOOBIG);
  version = kJunkVersion;
  EXPECT_CODE(offkv_cas(c, "/keep", big.data(), big.size(), 1, &version), OFFKV_ETOOBIG);
  CHECK(version == 0);
  EXPECT_CODE(offkv_cas(c, "/big", big.data(), big.size(), 0, &version), OFFKV_ETOOBIG);
  txn_refused(c,
              [&](offkv_txn *t) {
                return offkv_txn_create(t, "/big", big.data(), big.size(), 0);
              },
              OFFKV_ETOOBIG);
  txn_refused(c,
              [&](offkv_txn *t) { return offkv_txn_set(t, "/keep", big.data(), big.size()); },
              OFFKV_ETOOBIG);
  // One item more than the transaction limit.
  txn_refused(c,
              [](offkv_txn *t) -> int {
                for (int i = 0; i <= OFFKV_MAX_TXN_OPS; ++i) {
                  std::string key = "/t" + std::to_string(i);
                  int rc = offkv_txn_create(t, key.c_str(), "v", 1, 0);
                  if (rc != OFFKV_OK) return rc;
                }
                return OFFKV_OK;
              },
              OFFKV_ETOOBIG);
  store.untouched();

  // Exactly the limit works (positive control).
  EXPECT_CODE(offkv_set(c, "/max", max.data(), max.size(), &version), OFFKV_OK);
  CHECK(version == 1);
  REQUIRE(offkv_erase(c, "/max", 0) == OFFKV_OK);
  store.untouched();
}

TEST_CASE("closed client", "[api]") {
  Store store("closed");
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(store.url.c_str(), nullptr, &c) == OFFKV_OK);
  offkv_watch *w = nullptr;
  int64_t version = 0;
  REQUIRE(offkv_exists_watch(c, "/keep", &version, nullptr, nullptr, &w) == OFFKV_OK);
  EXPECT_CODE(offkv_close(c), OFFKV_OK);
  EXPECT_CODE(offkv_close(c), OFFKV_OK);  // twice is fine

  for (const char *key : {"/keep", "/keep/child", "/new"}) {
    INFO("key " << key);
    every_key_op(c, key, OFFKV_ECLOSED, true);
  }
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_set(txn, "/keep", "new", 3) == OFFKV_OK);
  offkv_txn_result result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99,
                          99};
  EXPECT_CODE(offkv_commit(c, txn, &result), OFFKV_ECLOSED);
  CHECK(result.ops == nullptr);
  CHECK(result.count == 0);
  offkv_txn_free(txn);

  // The session state of a closed client is CLOSED.
  int state = 0;
  EXPECT_CODE(offkv_get_session_state(c, &state), OFFKV_OK);
  CHECK(state == OFFKV_SESSION_CLOSED);

  // The watch it left ended with ECLOSED.
  offkv_event *event = nullptr;
  EXPECT_CODE(offkv_watch_wait(w, 1000, &event), OFFKV_OK);
  REQUIRE(event != nullptr);
  CHECK(event->type == OFFKV_EVENT_ENDED);
  CHECK(event->error == OFFKV_ECLOSED);
  offkv_event_free(event);
  offkv_watch_free(w);
  offkv_client_free(c);
  store.untouched();
}

namespace {
struct Counter {
  std::atomic<int> calls{0};
};
void count_cb(const offkv_event *, void *user) { ++static_cast<Counter *>(user)->calls; }
}  // namespace

TEST_CASE("cancelled watch", "[api]") {
  Store store("cancel");
  offkv_client *c = store.client;
  REQUIRE(offkv_create(c, "/w", "1", 1, 0, nullptr) == OFFKV_OK);

  offkv_event *event = junk_ptr<offkv_event>();
  EXPECT_CODE(offkv_watch_wait(nullptr, 0, &event), OFFKV_EINVAL);
  CHECK(event == nullptr);
  EXPECT_CODE(offkv_watch_cancel(nullptr), OFFKV_EINVAL);

  Counter counter;
  offkv_watch *w = nullptr;
  REQUIRE(offkv_get_watch(c, "/w", nullptr, nullptr, count_cb, &counter, &w) == OFFKV_OK);
  REQUIRE(w != nullptr);
  EXPECT_CODE(offkv_watch_wait(w, 0, nullptr), OFFKV_EINVAL);
  event = junk_ptr<offkv_event>();
  EXPECT_CODE(offkv_watch_wait(w, 0, &event), OFFKV_ETIMEOUT);  // nothing happened yet
  CHECK(event == nullptr);

  EXPECT_CODE(offkv_watch_cancel(w), OFFKV_OK);
  EXPECT_CODE(offkv_watch_cancel(w), OFFKV_OK);  // twice is fine
  event = junk_ptr<offkv_event>();
  EXPECT_CODE(offkv_watch_wait(w, 0, &event), OFFKV_ECLOSED);
  CHECK(event == nullptr);
  REQUIRE(offkv_set(c, "/w", "2", 1, nullptr) == OFFKV_OK);
  event = junk_ptr<offkv_event>();
  EXPECT_CODE(offkv_watch_wait(w, 100, &event), OFFKV_ECLOSED);
  CHECK(event == nullptr);

  // A control watch left after the cancelled one does fire, so the silence above
  // means something.
  Counter control;
  offkv_watch *w2 = nullptr;
  REQUIRE(offkv_get_watch(c, "/w", nullptr, nullptr, count_cb, &control, &w2) == OFFKV_OK);
  REQUIRE(offkv_set(c, "/w", "3", 1, nullptr) == OFFKV_OK);
  REQUIRE(offkv_watch_wait(w2, 5000, &event) == OFFKV_OK);
  CHECK(event->type == OFFKV_EVENT_CHANGED);
  offkv_event_free(event);
  for (int i = 0; i < 500 && control.calls == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(control.calls == 1);
  CHECK(counter.calls == 0);
  offkv_watch_free(w2);
  offkv_watch_free(w);
  REQUIRE(offkv_erase(c, "/w", 0) == OFFKV_OK);
  store.untouched();
}

TEST_CASE("transaction bad input", "[api]") {
  Store store("txn");
  offkv_client *c = store.client;
  EXPECT_CODE(offkv_txn_check(nullptr, "/keep", 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_create(nullptr, "/new", "v", 1, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_set(nullptr, "/keep", "v", 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_txn_erase(nullptr, "/keep", 0), OFFKV_EINVAL);
  offkv_txn_result result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99,
                          99};
  EXPECT_CODE(offkv_commit(c, nullptr, &result), OFFKV_EINVAL);
  CHECK(result.ops == nullptr);
  CHECK(result.count == 0);

  // A failing check: ETXN, the index and the reason, nothing applied.
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_check(txn, "/keep", 1) == OFFKV_OK);
  REQUIRE(offkv_txn_check(txn, "/keep/child", 5) == OFFKV_OK);
  REQUIRE(offkv_txn_set(txn, "/keep", "changed", 7) == OFFKV_OK);
  REQUIRE(offkv_txn_create(txn, "/new", "v", 1, 0) == OFFKV_OK);
  result = offkv_txn_result{sizeof(offkv_txn_result), junk_ptr<offkv_op_result *>(), 99, 99, 99};
  EXPECT_CODE(offkv_commit(c, txn, &result), OFFKV_ETXN);
  CHECK(result.ops == nullptr);
  CHECK(result.count == 0);
  CHECK(result.failed_index == 1);
  CHECK(name_of(result.failed_code) == name_of(OFFKV_EVERSION));
  offkv_txn_result_free(&result);
  offkv_txn_free(txn);

  // A failing op (create of an existing node), counted after the checks.
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_check(txn, "/keep", OFFKV_ANY_VERSION) == OFFKV_OK);
  REQUIRE(offkv_txn_set(txn, "/keep", "changed", 7) == OFFKV_OK);
  REQUIRE(offkv_txn_create(txn, "/keep/child", "v", 1, 0) == OFFKV_OK);
  EXPECT_CODE(offkv_commit(c, txn, &result), OFFKV_ETXN);
  CHECK(result.failed_index == 2);
  CHECK(name_of(result.failed_code) == name_of(OFFKV_EEXIST));
  offkv_txn_free(txn);

  // result may be NULL, even on failure.
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_check(txn, "/missing", 1) == OFFKV_OK);
  EXPECT_CODE(offkv_commit(c, txn, nullptr), OFFKV_ETXN);
  offkv_txn_free(txn);
  store.untouched();
}

TEST_CASE("last error is per call and per thread", "[api]") {
  Store store("lasterror");
  REQUIRE(offkv_get(store.client, "/missing", nullptr, nullptr) == OFFKV_ENOENT);
  std::string message = offkv_last_error();
  CHECK(message.find("/missing") != std::string::npos);
  std::string other_thread = "unset";
  std::thread([&] { other_thread = offkv_last_error(); }).join();
  CHECK(other_thread.empty());
  CHECK(std::string(offkv_last_error()) == message);
  REQUIRE(offkv_get(store.client, "/keep", nullptr, nullptr) == OFFKV_OK);
  CHECK(std::string(offkv_last_error()).empty());
}

// ---- Recipes: election, detector, group, lock ----

namespace {

void recipe_no_cb(const offkv_recipe_event *, void *) {}

const offkv_member kJunkMember = {sizeof(offkv_member), junk_ptr<char>(), 77, 77,
                                  {junk_ptr<char>(), 99}};

bool zeroed(const offkv_member &m) {
  return m.key == nullptr && m.sequence == 0 && m.version == 0 &&
         m.payload.data == nullptr && m.payload.len == 0;
}

// Every function that opens a recipe handle on (client, key) returns `code`, leaves
// its out-parameter NULL and writes nothing.
void every_recipe_open(offkv_client *c, const char *key, int code) {
  offkv_election *e = junk_ptr<offkv_election>();
  EXPECT_CODE(offkv_election_contend(c, key, "p", 1, recipe_no_cb, nullptr, &e), code);
  CHECK(e == nullptr);
  offkv_detector *d = junk_ptr<offkv_detector>();
  EXPECT_CODE(offkv_detector_open(c, key, recipe_no_cb, nullptr, &d), code);
  CHECK(d == nullptr);
  offkv_group *g = junk_ptr<offkv_group>();
  EXPECT_CODE(offkv_group_open(c, key, recipe_no_cb, nullptr, &g), code);
  CHECK(g == nullptr);
  offkv_lock *l = junk_ptr<offkv_lock>();
  EXPECT_CODE(offkv_lock_new(c, key, &l), code);
  CHECK(l == nullptr);
}

}  // namespace

TEST_CASE("recipe free functions accept NULL and zeroed structs", "[api][recipes]") {
  offkv_election_free(nullptr);
  offkv_detector_free(nullptr);
  offkv_group_free(nullptr);
  offkv_lock_free(nullptr);
  offkv_member_free(nullptr);
  offkv_members_free(nullptr);
  offkv_member m = OFFKV_MEMBER_INIT;
  offkv_members list = OFFKV_MEMBERS_INIT;
  offkv_member_free(&m);
  offkv_members_free(&list);
  offkv_member_free(&m);
  offkv_members_free(&list);
  CHECK(zeroed(m));
  CHECK(list.items == nullptr);
  CHECK(list.count == 0);
}

TEST_CASE("recipes: NULL client, NULL key, invalid keys", "[api][recipes]") {
  Store store("recipekeys");
  every_recipe_open(nullptr, "/g", OFFKV_EINVAL);
  every_recipe_open(store.client, nullptr, OFFKV_EINVAL);
  const std::vector<std::string> invalid = {
      "",
      "g",
      "/g/",
      "//g",
      "/g//h",
      "/.",
      "/..",
      "/",
      "/zookeeper",
      "/zookeeper/x",
      std::string("/g\x01"),
      std::string("/\xff"),
      "/" + std::string(OFFKV_MAX_SEGMENT_SIZE + 1, 's')};
  for (const auto &key : invalid) {
    INFO("key '" << key << "'");
    every_recipe_open(store.client, key.c_str(), OFFKV_EINVAL);
  }
  std::string longkey;
  while (longkey.size() <= OFFKV_MAX_KEY_SIZE) longkey += "/" + std::string(100, 'k');
  every_recipe_open(store.client, longkey.c_str(), OFFKV_ETOOBIG);
  // A group whose own key fits but whose member keys would not.
  std::string almost;
  while (almost.size() + 101 <= OFFKV_MAX_KEY_SIZE - 10)
    almost += "/" + std::string(100, 'k');
  almost += "/" + std::string(OFFKV_MAX_KEY_SIZE - 10 - almost.size() - 1, 'k');
  REQUIRE(almost.size() < OFFKV_MAX_KEY_SIZE);
  every_recipe_open(store.client, almost.c_str(), OFFKV_ETOOBIG);
  store.untouched();
}

TEST_CASE("recipes: NULL out-parameters, bad payloads and bad arguments",
          "[api][recipes]") {
  Store store("recipeargs");
  offkv_client *c = store.client;
  EXPECT_CODE(offkv_election_contend(c, "/g", "p", 1, nullptr, nullptr, nullptr),
              OFFKV_EINVAL);
  EXPECT_CODE(offkv_detector_open(c, "/g", nullptr, nullptr, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_open(c, "/g", nullptr, nullptr, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_lock_new(c, "/g", nullptr), OFFKV_EINVAL);
  offkv_election *e = junk_ptr<offkv_election>();
  EXPECT_CODE(offkv_election_contend(c, "/g", nullptr, 3, nullptr, nullptr, &e),
              OFFKV_EINVAL);
  CHECK(e == nullptr);
  const std::string big(OFFKV_MAX_VALUE_SIZE + 1, 'b');
  e = junk_ptr<offkv_election>();
  EXPECT_CODE(
      offkv_election_contend(c, "/g", big.data(), big.size(), nullptr, nullptr, &e),
      OFFKV_ETOOBIG);
  CHECK(e == nullptr);
  store.untouched();

  offkv_group *g = nullptr;
  REQUIRE(offkv_group_open(c, "/g", nullptr, nullptr, &g) == OFFKV_OK);
  EXPECT_CODE(offkv_group_join(g, nullptr, 2), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_join(g, big.data(), big.size()), OFFKV_ETOOBIG);
  EXPECT_CODE(offkv_group_update(g, "x", 1), OFFKV_EINVAL);  // not joined
  EXPECT_CODE(offkv_group_leave(g), OFFKV_EINVAL);
  offkv_member m = kJunkMember;
  EXPECT_CODE(offkv_group_self(g, &m), OFFKV_ENOENT);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_group_self(g, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_members(g, nullptr), OFFKV_EINVAL);
  offkv_members list{sizeof(offkv_members), junk_ptr<offkv_member *>(), 99};
  EXPECT_CODE(offkv_group_members(g, &list), OFFKV_OK);  // no group: no members
  CHECK(list.count == 0);
  offkv_members_free(&list);
  store.untouched();
  EXPECT_CODE(offkv_group_join(g, nullptr, 0), OFFKV_OK);  // the empty payload is fine
  EXPECT_CODE(offkv_group_join(g, "x", 1), OFFKV_EINVAL);  // already joined
  EXPECT_CODE(offkv_group_update(g, nullptr, 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_update(g, big.data(), big.size()), OFFKV_ETOOBIG);
  EXPECT_CODE(offkv_group_close(g), OFFKV_OK);
  offkv_group_free(g);

  REQUIRE(offkv_election_contend(c, "/g", "p", 1, nullptr, nullptr, &e) == OFFKV_OK);
  EXPECT_CODE(offkv_election_is_leader(e, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_election_member(e, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_election_wait(e, 2, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_election_wait(e, -1, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_election_wait(e, 1, 10000), OFFKV_OK);
  offkv_election_free(e);

  offkv_detector *d = nullptr;
  REQUIRE(offkv_detector_open(c, "/g", nullptr, nullptr, &d) == OFFKV_OK);
  EXPECT_CODE(offkv_detector_leader(d, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_detector_wait(d, nullptr, 0, nullptr), OFFKV_EINVAL);
  m = kJunkMember;
  EXPECT_CODE(offkv_detector_leader(d, &m), OFFKV_ENOENT);  // the election withdrew
  CHECK(zeroed(m));
  m = kJunkMember;
  EXPECT_CODE(offkv_detector_wait(d, nullptr, 0, &m), OFFKV_ETIMEOUT);
  CHECK(zeroed(m));
  offkv_detector_free(d);

  offkv_lock *l = nullptr;
  REQUIRE(offkv_lock_new(c, "/g", &l) == OFFKV_OK);
  int held = 42;
  EXPECT_CODE(offkv_lock_is_held(l, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_lock_member(l, nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_lock_release(l), OFFKV_EINVAL);  // not held
  m = kJunkMember;
  EXPECT_CODE(offkv_lock_member(l, &m), OFFKV_ENOENT);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_lock_acquire(l, 10000), OFFKV_OK);
  EXPECT_CODE(offkv_lock_acquire(l, 0), OFFKV_EINVAL);  // not reentrant
  EXPECT_CODE(offkv_lock_is_held(l, &held), OFFKV_OK);
  CHECK(held == 1);
  offkv_lock_free(l);  // releases
  CHECK(children_of(c, "/g").empty());
}

TEST_CASE("recipes: NULL handles", "[api][recipes]") {
  int flag = 42;
  offkv_member m = kJunkMember;
  offkv_members list{sizeof(offkv_members), junk_ptr<offkv_member *>(), 99};
  EXPECT_CODE(offkv_election_is_leader(nullptr, &flag), OFFKV_EINVAL);
  CHECK(flag == 0);
  EXPECT_CODE(offkv_election_wait(nullptr, 1, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_election_member(nullptr, &m), OFFKV_EINVAL);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_election_withdraw(nullptr), OFFKV_EINVAL);
  m = kJunkMember;
  EXPECT_CODE(offkv_detector_leader(nullptr, &m), OFFKV_EINVAL);
  CHECK(zeroed(m));
  m = kJunkMember;
  EXPECT_CODE(offkv_detector_wait(nullptr, nullptr, 0, &m), OFFKV_EINVAL);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_detector_close(nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_join(nullptr, "p", 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_update(nullptr, "p", 1), OFFKV_EINVAL);
  EXPECT_CODE(offkv_group_leave(nullptr), OFFKV_EINVAL);
  m = kJunkMember;
  EXPECT_CODE(offkv_group_self(nullptr, &m), OFFKV_EINVAL);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_group_members(nullptr, &list), OFFKV_EINVAL);
  CHECK(list.items == nullptr);
  CHECK(list.count == 0);
  EXPECT_CODE(offkv_group_close(nullptr), OFFKV_EINVAL);
  EXPECT_CODE(offkv_lock_acquire(nullptr, 0), OFFKV_EINVAL);
  EXPECT_CODE(offkv_lock_release(nullptr), OFFKV_EINVAL);
  flag = 42;
  EXPECT_CODE(offkv_lock_is_held(nullptr, &flag), OFFKV_EINVAL);
  CHECK(flag == 0);
  m = kJunkMember;
  EXPECT_CODE(offkv_lock_member(nullptr, &m), OFFKV_EINVAL);
  CHECK(zeroed(m));
}

TEST_CASE("recipes on a closed client", "[api][recipes]") {
  Store store("recipeclosed");
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(store.url.c_str(), nullptr, &c) == OFFKV_OK);
  // Handles opened before the close.
  offkv_election *e = nullptr;
  offkv_detector *d = nullptr;
  offkv_group *g = nullptr;
  offkv_lock *l = nullptr;
  REQUIRE(offkv_election_contend(c, "/g", "p", 1, nullptr, nullptr, &e) == OFFKV_OK);
  REQUIRE(offkv_election_wait(e, 1, 10000) == OFFKV_OK);
  REQUIRE(offkv_detector_open(c, "/g", nullptr, nullptr, &d) == OFFKV_OK);
  REQUIRE(offkv_group_open(c, "/g", nullptr, nullptr, &g) == OFFKV_OK);
  REQUIRE(offkv_lock_new(c, "/l", &l) == OFFKV_OK);
  REQUIRE(offkv_close(c) == OFFKV_OK);

  // New handles: ECLOSED, for valid and invalid keys alike.
  every_recipe_open(c, "/g", OFFKV_ECLOSED);
  every_recipe_open(c, "/zookeeper", OFFKV_ECLOSED);

  int flag = 42;
  EXPECT_CODE(offkv_election_is_leader(e, &flag), OFFKV_OK);
  CHECK(flag == 0);  // closing ended its leadership
  EXPECT_CODE(offkv_election_wait(e, 1, 100), OFFKV_ECLOSED);
  offkv_member m = kJunkMember;
  offkv_members list{sizeof(offkv_members), junk_ptr<offkv_member *>(), 99};
  EXPECT_CODE(offkv_detector_wait(d, "/g/x", 100, &m), OFFKV_ECLOSED);
  CHECK(zeroed(m));
  EXPECT_CODE(offkv_group_join(g, "p", 1), OFFKV_ECLOSED);
  EXPECT_CODE(offkv_group_members(g, &list), OFFKV_ECLOSED);
  CHECK(list.items == nullptr);
  EXPECT_CODE(offkv_lock_acquire(l, 0), OFFKV_ECLOSED);
  EXPECT_CODE(offkv_lock_is_held(l, &flag), OFFKV_OK);
  CHECK(flag == 0);
  // Ending them is fine and idempotent.
  EXPECT_CODE(offkv_election_withdraw(e), OFFKV_OK);
  EXPECT_CODE(offkv_election_withdraw(e), OFFKV_OK);
  EXPECT_CODE(offkv_detector_close(d), OFFKV_OK);
  EXPECT_CODE(offkv_group_close(g), OFFKV_OK);
  EXPECT_CODE(offkv_group_close(g), OFFKV_OK);
  offkv_election_free(e);
  offkv_detector_free(d);
  offkv_group_free(g);
  offkv_lock_free(l);
  offkv_client_free(c);
  // The handles were freed after the client: fine too. The election left its
  // (persistent) group and nothing else; its member went with the session.
  CHECK(children_of(store.client, "/g").empty());
  REQUIRE(offkv_erase(store.client, "/g", 0) == OFFKV_OK);
  store.untouched();
}
