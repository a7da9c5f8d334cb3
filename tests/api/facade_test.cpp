// The facade's shared helpers (issue 17): names of event types and session states,
// options set by name, the scheme list, the error copy. Each with its bad input.
#include <offkv.h>

#include <array>
#include <catch2/catch.hpp>
#include <climits>
#include <cstring>
#include <set>
#include <string>

namespace {

std::string str(const char *s) {
  REQUIRE(s != nullptr);
  return s;
}

}  // namespace

TEST_CASE("event type names", "[api][facade]") {
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CREATED)) == "CREATED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_DELETED)) == "DELETED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CHANGED)) == "CHANGED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CHILDREN)) == "CHILDREN");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_ENDED)) == "ENDED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_SESSION)) == "SESSION");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_LEADER)) == "LEADER");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_NOT_LEADER)) == "NOT_LEADER");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_DETECTED)) == "DETECTED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_MEMBERS)) == "MEMBERS");
  for (int bad : {0, -1, OFFKV_EVENT_MEMBERS + 1, 1000, INT_MIN, INT_MAX}) {
    INFO("type " << bad);
    CHECK(str(offkv_event_type_name(bad)) == "UNKNOWN");
  }
}

TEST_CASE("session state names", "[api][facade]") {
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_CONNECTED)) == "CONNECTED");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_SUSPENDED)) == "SUSPENDED");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_LOST)) == "LOST");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_CLOSED)) == "CLOSED");
  for (int bad : {0, -1, OFFKV_SESSION_CLOSED + 1, 1000, INT_MIN, INT_MAX}) {
    INFO("state " << bad);
    CHECK(str(offkv_session_state_name(bad)) == "UNKNOWN");
  }
}

namespace {

// Runs call; returns its code and offkv_last_error() right after it.
struct Outcome {
  int code;
  std::string message;
};
template <typename Call>
Outcome outcome(Call call) {
  int code = call();
  return {code, offkv_last_error()};
}

bool has(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("offkv_options_set: bad input", "[api][facade]") {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  CHECK(offkv_options_set(nullptr, "token", "t") == OFFKV_EINVAL);
  CHECK(offkv_options_set(&opts, nullptr, "t") == OFFKV_EINVAL);
  CHECK(has(offkv_last_error(), "name"));
  CHECK(offkv_options_set(&opts, "token", nullptr) == OFFKV_EINVAL);
  CHECK(has(offkv_last_error(), "value"));

  auto unknown = outcome([&] { return offkv_options_set(&opts, "nosuch", "1"); });
  CHECK(unknown.code == OFFKV_EINVAL);
  CHECK(has(unknown.message, "'nosuch'"));
  for (const char *known :
       {"session_timeout_ms", "connect_timeout_ms", "operation_timeout_ms", "tls_ca_file",
        "tls_cert_file", "tls_key_file", "username", "password", "token",
        "read_consistency", "zk_acl"})
    CHECK(has(unknown.message, known));
  CHECK(offkv_options_set(&opts, "", "1") == OFFKV_EINVAL);
  CHECK(offkv_options_set(&opts, "TOKEN", "t") == OFFKV_EINVAL);  // names are exact

  struct Bad {
    const char *name, *value, *says;
  };
  for (const Bad &bad :
       {Bad{"session_timeout_ms", "abc", "milliseconds"},
        Bad{"session_timeout_ms", "", "milliseconds"},
        Bad{"session_timeout_ms", "-5", "milliseconds"},
        Bad{"session_timeout_ms", "1234567890", "milliseconds"},
        Bad{"session_timeout_ms", "100", "2000"},
        Bad{"session_timeout_ms", "60001", "60000"},
        Bad{"connect_timeout_ms", "0", "connect timeout"},
        Bad{"operation_timeout_ms", "1.5", "milliseconds"},
        Bad{"read_consistency", "eventual", "linearizable or serializable"},
        Bad{"read_consistency", "", "linearizable or serializable"},
        Bad{"zk_acl", "world", "creator or open"}}) {
    auto o = outcome([&] { return offkv_options_set(&opts, bad.name, bad.value); });
    INFO(bad.name << "=" << bad.value << " -> " << o.message);
    CHECK(o.code == OFFKV_EINVAL);
    CHECK(has(o.message, bad.name));
    CHECK(has(o.message, bad.says));
  }
  CHECK(opts.named == nullptr);  // nothing refused was stored

  offkv_options v1;
  REQUIRE(offkv_options_init(&v1, 1) == OFFKV_OK);
  auto old = outcome([&] { return offkv_options_set(&v1, "token", "t"); });
  CHECK(old.code == OFFKV_EINVAL);
  CHECK(has(old.message, "version 2"));

  CHECK(offkv_options_reset(nullptr) == OFFKV_EINVAL);
  offkv_options zeroed;
  std::memset(&zeroed, 0, sizeof zeroed);
  CHECK(offkv_options_reset(&zeroed) == OFFKV_EINVAL);
  CHECK(offkv_options_reset(&opts) == OFFKV_OK);  // nothing stored: fine too
}

TEST_CASE("offkv_options_set: the options reach offkv_open", "[api][facade]") {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  {
    // The library keeps its own copies: the caller's strings may go at once.
    std::string name = "zk_acl", value = "open";
    REQUIRE(offkv_options_set(&opts, name.c_str(), value.c_str()) == OFFKV_OK);
    name.assign(name.size(), 'x');
    value.assign(value.size(), 'x');
  }
  CHECK(opts.named != nullptr);
  offkv_client *client = nullptr;
  auto acl = outcome([&] { return offkv_open("mem://facade-opts", &opts, &client); });
  CHECK(acl.code == OFFKV_EINVAL);  // zk_acl reached the core: it is zk:// only
  CHECK(has(acl.message, "zk_acl"));
  CHECK(client == nullptr);

  // Reset frees them and restores the defaults.
  REQUIRE(offkv_options_reset(&opts) == OFFKV_OK);
  CHECK(opts.named == nullptr);
  CHECK(opts.version == OFFKV_OPTIONS_VERSION);
  REQUIRE(offkv_open("mem://facade-opts", &opts, &client) == OFFKV_OK);
  offkv_client_free(client);
  client = nullptr;

  // By name wins over the struct's field; the URL's query wins over both.
  opts.session_timeout_ms = 100;  // out of range on its own
  CHECK(offkv_open("mem://facade-opts", &opts, &client) == OFFKV_EINVAL);
  REQUIRE(offkv_options_set(&opts, "session_timeout_ms", "100000") == OFFKV_EINVAL);
  REQUIRE(offkv_options_set(&opts, "session_timeout_ms", "3000") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "session_timeout_ms", "5000") ==
          OFFKV_OK);  // replaces
  REQUIRE(offkv_open("mem://facade-opts", &opts, &client) == OFFKV_OK);
  offkv_client_free(client);
  client = nullptr;
  auto url = outcome([&] {
    return offkv_open("mem://facade-opts?session_timeout_ms=100", &opts, &client);
  });
  CHECK(url.code == OFFKV_EINVAL);
  CHECK(has(url.message, "session timeout 100 ms"));

  // Every option by name, aliases included; string options keep any text.
  REQUIRE(offkv_options_set(&opts, "user", "alice") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "username", "bob") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "password", "") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "token", "t") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "read_consistency", "serializable") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "operation_timeout_ms", "2500") == OFFKV_OK);
  REQUIRE(offkv_options_set(&opts, "connect_timeout_ms", "2500") == OFFKV_OK);
  REQUIRE(offkv_open("mem://facade-opts", &opts, &client) == OFFKV_OK);
  offkv_client_free(client);
  CHECK(offkv_options_reset(&opts) == OFFKV_OK);
  CHECK(offkv_options_reset(&opts) == OFFKV_OK);  // twice is fine
}

TEST_CASE("offkv_options_init writes only the fields of its version", "[api][facade]") {
  offkv_options opts;
  std::memset(&opts, 0x7f, sizeof opts);
  REQUIRE(offkv_options_init(&opts, 1) == OFFKV_OK);
  CHECK(opts.version == 1);
  CHECK(opts.session_user == nullptr);
  void *untouched;
  std::memset(&untouched, 0x7f, sizeof untouched);
  CHECK(opts.named == untouched);  // past a version 1 struct's end: not written
  REQUIRE(offkv_options_init(&opts, 2) == OFFKV_OK);
  CHECK(opts.named == nullptr);
}

TEST_CASE("offkv_backends lists what offkv_has_backend says", "[api][facade]") {
  std::string list = str(offkv_backends());
  CHECK(list.rfind("mem", 0) == 0);  // mem is always in, first
  CHECK(str(offkv_backends()) == list);
  std::set<std::string> listed;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = list.find(',', start);
    std::string name =
        list.substr(start, comma == std::string::npos ? comma : comma - start);
    CHECK(offkv_has_backend(name.c_str()) == 1);
    CHECK(listed.insert(name).second);  // each once
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const char *backend : {"zk", "etcd", "consul"})
    CHECK(offkv_has_backend(backend) == static_cast<int>(listed.count(backend)));
  // The TLS schemes go with their backend.
  CHECK(offkv_has_backend("etcds") == offkv_has_backend("etcd"));
  CHECK(offkv_has_backend("consuls") == offkv_has_backend("consul"));
  CHECK(offkv_has_backend("mems") == 0);
}

TEST_CASE("an unknown scheme names the known ones", "[api][facade]") {
  offkv_client *client = nullptr;
  CHECK(offkv_open("redis://127.0.0.1:6379", nullptr, &client) == OFFKV_EINVAL);
  std::string message = offkv_last_error();
  CHECK(message.find("unknown scheme 'redis' (expected mem, zk, etcd, etcds, consul or "
                     "consuls)") != std::string::npos);
}

TEST_CASE("offkv_last_error_copy", "[api][facade]") {
  CHECK(offkv_get(nullptr, "/k", nullptr, nullptr) == OFFKV_EINVAL);
  std::string message = offkv_last_error();
  REQUIRE_FALSE(message.empty());
  char *copy = offkv_last_error_copy();
  REQUIRE(copy != nullptr);
  CHECK(message == copy);
  CHECK(offkv_last_error() == message);  // unchanged by the copy
  offkv_client *client = nullptr;
  REQUIRE(offkv_open("mem://facade-copy", nullptr, &client) == OFFKV_OK);
  CHECK(message == copy);  // outlives the next call, which cleared the message
  CHECK(std::string(offkv_last_error()).empty());
  offkv_string_free(copy);
  char *empty = offkv_last_error_copy();  // after a success: ""
  REQUIRE(empty != nullptr);
  CHECK(std::string(empty).empty());
  offkv_string_free(empty);
  offkv_client_free(client);
}
