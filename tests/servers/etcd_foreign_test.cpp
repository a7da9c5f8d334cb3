// Data another client of the same etcd wrote where offkv keeps its nodes (through
// etcd's JSON gateway, as any etcd client could): an alternate slot whose offset would
// overflow offkv's version is OFFKV_ESERVICE naming the key, before anything is
// written, and a watch ignores it; nothing stored changes.
#include <catch2/catch.hpp>

#include <string>

#include "etcd_test_util.hpp"
#include "shell.hpp"

namespace {

// http://host:port of the member behind etcd://host:port.
std::string http_base() {
  std::string url = etcdtest::server_url();
  return "http://" + url.substr(std::string("etcd://").size());
}

// printf(1) escapes of offkv's etcd key for the node at full_path in an alternate slot
// with the given tag (docs/etcd-notes.md: "offkv/n" enc(P) 0x00 0x01 tag).
std::string alt_slot_escaped(const std::string &full_path, const std::string &tag) {
  std::string out = "offkv/n";
  for (char ch : full_path) out += ch == '/' ? std::string("\\001") : std::string(1, ch);
  return out + "\\000\\001" + tag;
}

std::string gateway(const std::string &verb, const std::string &escaped_key,
                    const std::string &value) {
  return servertest::run("k=$(printf '" + escaped_key + "' | base64 -w0); v=$(printf '" +
                         value + "' | base64 -w0); curl -sf -X POST '" + http_base() +
                         "/v3/kv/" + verb +
                         "' -d \"{\\\"key\\\":\\\"$k\\\",\\\"value\\\":\\\"$v\\\"}\"");
}

}  // namespace

TEST_CASE("an alternate slot whose offset would overflow the version is ESERVICE",
          "[etcd][foreign]") {
  std::string prefix = etcdtest::unique_prefix("foreign");
  offkv_client *c = nullptr;
  REQUIRE(offkv_open((etcdtest::server_url() + prefix).c_str(), nullptr, &c) == OFFKV_OK);
  offkv_watch *w = nullptr;
  std::int64_t v = -1;
  REQUIRE(offkv_watch_persistent(c, "/", nullptr, nullptr, &w) == OFFKV_OK);
  for (const char *tag :
       {"9223372036854775807:r", "99999999999999999999:c", "-5:r", "x"}) {
    INFO("slot tag " << tag);
    std::string key = alt_slot_escaped(prefix + "/a", tag);
    gateway("put", key, "theirs");
    std::string before = gateway("range", key, "");
    offkv_buf value{nullptr, 0};
    CHECK(offkv_get(c, "/a", &value, &v) == OFFKV_ESERVICE);
    CHECK(std::string(offkv_last_error()).find("/a") != std::string::npos);
    CHECK(offkv_exists(c, "/a", &v) == OFFKV_ESERVICE);
    CHECK(offkv_set(c, "/a", "mine", 4, &v) == OFFKV_ESERVICE);
    CHECK(offkv_cas(c, "/a", "mine", 4, 1, &v) == OFFKV_ESERVICE);
    CHECK(offkv_erase(c, "/a", 0) == OFFKV_ESERVICE);
    std::string after = gateway("range", key, "");
    // The same entry (revision headers aside): nothing was written or erased.
    CHECK(after.substr(after.find("\"kvs\"")) == before.substr(before.find("\"kvs\"")));
    gateway("deleterange", key, "");
  }
  // The persistent watch saw none of it: no event, no overflowed version.
  offkv_event *ev = nullptr;
  CHECK(offkv_watch_wait(w, 300, &ev) == OFFKV_ETIMEOUT);
  offkv_watch_free(w);
  offkv_close(c);
  offkv_client_free(c);
}
