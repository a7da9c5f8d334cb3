// The conformance harness: every case of the suite is written once against the C API
// (capi/offkv.h) and runs unchanged against every backend. The backend comes from the
// environment:
//
//   OFFKV_TEST_URL       the URL to test (mem://NAME, zk://host:port, ...), or
//   OFFKV_TEST_URL_FILE  a file whose first line is that URL (a server fixture writes it)
//
// No URL is a failure, never a skip. Each case works under its own unique key root (a
// prefix appended to the URL's path), so cases never see each other and ctest may run
// them in parallel against one shared server.
#pragma once

#include <offkv.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace conf {

// Upper bound for an event that must come (generous: remote servers, loaded CI).
constexpr int kEventMs = 10000;
// How long "nothing happens" is watched for.
constexpr int kQuietMs = 400;

// "OFFKV_ENOENT" for OFFKV_ENOENT: failures print names, not numbers.
std::string code_name(int code);

// Expects `call` to return `code`; on mismatch prints the call, the code's name and
// offkv_last_error(). A failure must leave a detail message, a success none.
#define CONF_EXPECT_CODE(assertion, call, code)                                         \
  do {                                                                                  \
    const int conf_rc_ = (call);                                                        \
    const std::string conf_error_ = offkv_last_error();                                 \
    INFO(#call << " -> " << conf::code_name(conf_rc_) << " \"" << conf_error_ << "\""); \
    assertion(conf::code_name(conf_rc_) == conf::code_name(code));                      \
    assertion((conf_rc_ == OFFKV_OK) == conf_error_.empty());                           \
  } while (0)

#define REQUIRE_OK(call) CONF_EXPECT_CODE(REQUIRE, call, OFFKV_OK)
#define CHECK_OK(call) CONF_EXPECT_CODE(CHECK, call, OFFKV_OK)
#define REQUIRE_CODE(call, code) CONF_EXPECT_CODE(REQUIRE, call, code)
#define CHECK_CODE(call, code) CONF_EXPECT_CODE(CHECK, call, code)

// Returns true if `text` contains `part` (for checks on offkv_last_error()).
bool contains(const std::string &text, const std::string &part);

// ---- The backend under test ----

// The URL split into its parts: scheme://authority[/prefix][?query].
struct ServerUrl {
  std::string url;        // as given
  std::string scheme;     // "mem", "zk", ...
  std::string authority;  // "NAME" for mem, "host:port,..." otherwise
  std::string prefix;     // "" or "/a/b"
  std::string query;      // "" or "a=b&c=d" (without '?')
};

// The URL from the environment; FAILs the current case loudly if there is none.
const ServerUrl &server();

// scheme://authority<prefix>?<query plus extra_query>. prefix is an absolute server
// path ("" = the server's root, ignoring the URL's own prefix).
std::string url_at(const std::string &prefix, const std::string &extra_query = "");

// A name no other case, process or run uses ("stem-<pid>-<random>-<n>").
std::string unique_name(const std::string &stem);

class Recorder;

// ---- One case's world ----

// Opens a main client under a unique root (the URL's prefix + "/offkv-conformance-…")
// and owns every client opened through it. The destructor closes them all and removes
// what the case left on the server.
class Env {
 public:
  Env();
  ~Env();
  Env(const Env &) = delete;
  Env &operator=(const Env &) = delete;

  // The main client, rooted at root().
  offkv_client *c() const { return main_; }
  // The absolute server path every key of this case lives under.
  const std::string &root() const { return root_; }
  // The URL of root() (plus extra_query).
  std::string url(const std::string &extra_query = "") const;

  // Another client (a second session) on the same root.
  offkv_client *open(const offkv_options *options = nullptr);
  // A client rooted at root() + sub ("/a/b").
  offkv_client *open_at(const std::string &sub, const offkv_options *options = nullptr);
  // A client on an explicit URL; REQUIREs success.
  offkv_client *open_url(const std::string &url, const offkv_options *options = nullptr);

  // A Recorder that outlives every client of this Env: closing a client delivers
  // ENDED and CLOSED callbacks, which must find their Recorder alive.
  Recorder &recorder();

  // An object (callback context) that outlives every client of this Env, for the same
  // reason.
  template <typename T>
  T &own() {
    auto object = std::make_shared<T>();
    owned_.push_back(object);
    return *object;
  }

 private:
  std::string root_;
  offkv_client *main_ = nullptr;
  std::vector<offkv_client *> clients_;
  std::vector<std::unique_ptr<Recorder>> recorders_;  // destroyed after clients_ close
  std::vector<std::shared_ptr<void>> owned_;          // likewise
};

// ---- Reading and writing through the C API ----

std::string str(const offkv_buf &buf);

struct NodeState {
  std::string value;
  std::int64_t version = 0;
};

// get(): nullopt if the node does not exist; any other failure fails the case.
std::optional<NodeState> read(offkv_client *c, const std::string &key);
// The node's version through exists() (0 = absent).
std::int64_t version_of(offkv_client *c, const std::string &key);
// The value through get(); REQUIREs the node to exist.
std::string value_of(offkv_client *c, const std::string &key);
// The client's counters (offkv_get_stats) by name.
std::map<std::string, std::uint64_t> counters_of(offkv_client *c);
// children(), REQUIREd to succeed.
std::vector<std::string> children(offkv_client *c, const std::string &key);
// create(), REQUIREd to succeed; returns the actual key.
std::string create(offkv_client *c, const std::string &key, const std::string &value = "",
                   int flags = 0);
// set(), REQUIREd to succeed; returns the new version.
std::int64_t set(offkv_client *c, const std::string &key, const std::string &value);

// Sorted bytewise (unsigned), as the contract orders children.
std::vector<std::string> bytewise_sorted(std::vector<std::string> keys);

// True if key ends in exactly 10 decimal digits appended to base.
bool is_sequential_of(const std::string &key, const std::string &base);
// The 10-digit counter of a sequential key.
long long sequence_number(const std::string &key);

// A value holding every byte 0..255, embedded NULs included, `repeat` times.
std::string all_bytes(std::size_t repeat = 1);
// A deterministic non-uniform value of exactly n bytes.
std::string pattern(std::size_t n, unsigned seed = 1);

// ---- Events ----

// A copy of an offkv_event that outlives the callback.
struct Ev {
  int type = 0;
  std::string key;
  bool has_key = false;
  std::int64_t version = 0;
  int session_state = 0;
  int error = 0;
  std::string message;
  std::thread::id thread;
};

Ev copy_event(const offkv_event &event);
std::string type_name(int event_type);

// Collects events from callbacks (thread-safe) and lets the case wait for them.
class Recorder {
 public:
  // The offkv_event_cb; pass the Recorder as `user`.
  static void callback(const offkv_event *event, void *user);

  // Runs inside the callback, after the event is recorded.
  void on_event(std::function<void(const Ev &)> hook);

  // The next event not yet taken, waiting up to timeout_ms; nullopt if none came.
  std::optional<Ev> next(int timeout_ms = kEventMs);
  // Waits until at least n events in total were recorded.
  bool wait_count(std::size_t n, int timeout_ms = kEventMs);
  // True if no event arrives within ms.
  bool quiet(int ms = kQuietMs);
  std::size_t count() const;
  std::vector<Ev> events() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Ev> events_;
  std::size_t taken_ = 0;
  std::function<void(const Ev &)> hook_;
};

// Owns an offkv_watch (freed at scope end).
struct Watch {
  offkv_watch *w = nullptr;
  Watch() = default;
  Watch(const Watch &) = delete;
  Watch &operator=(const Watch &) = delete;
  ~Watch() { offkv_watch_free(w); }
  offkv_watch **out() { return &w; }
  operator offkv_watch *() const { return w; }
};

// offkv_watch_wait, REQUIREd to return an event within timeout_ms.
Ev wait_event(offkv_watch *watch, int timeout_ms = kEventMs);
// offkv_watch_wait's code (the event, if any, is freed).
int wait_code(offkv_watch *watch, int timeout_ms);

// ---- Transactions ----

// Owns an offkv_txn; each add REQUIREs success.
class Txn {
 public:
  Txn();
  ~Txn();
  Txn(const Txn &) = delete;
  Txn &operator=(const Txn &) = delete;
  Txn &check(const std::string &key, std::int64_t version);
  Txn &create(const std::string &key, const std::string &value, int flags = 0);
  Txn &set(const std::string &key, const std::string &value);
  Txn &erase(const std::string &key, std::int64_t expected_version = 0);
  offkv_txn *get() const { return txn_; }

 private:
  offkv_txn *txn_ = nullptr;
};

struct OpOut {
  std::int64_t version;
  std::string key;
};

struct Commit {
  int rc = -1;
  std::string error;  // offkv_last_error()
  std::vector<OpOut> ops;
  std::size_t failed_index = 0;
  int failed_code = 0;
};

Commit commit(offkv_client *c, const Txn &txn);

// ---- Sessions ----

// Options whose session callback feeds `recorder`.
offkv_options session_options(Recorder &recorder);

// A thread that is always stopped and joined, even when an assertion unwinds the case
// (a joinable std::thread would terminate the process). fn polls `stop`.
class Background {
 public:
  explicit Background(std::function<void(const std::atomic<bool> &stop)> fn);
  ~Background();
  Background(const Background &) = delete;
  Background &operator=(const Background &) = delete;
  // Sets stop and joins (idempotent).
  void join();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Polls cond every 10 ms for up to timeout_ms (for state the API cannot wait on).
bool eventually(const std::function<bool()> &cond, int timeout_ms = kEventMs);

}  // namespace conf

// Catch prints these when a comparison fails.
namespace Catch {
template <>
struct StringMaker<conf::NodeState> {
  static std::string convert(const conf::NodeState &n) {
    return "{value " + StringMaker<std::string>::convert(n.value) + ", version " +
           std::to_string(n.version) + "}";
  }
};
}  // namespace Catch
