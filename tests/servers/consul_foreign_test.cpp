// Data another client of the same Consul wrote where offkv keeps its nodes: a version
// (Flags) out of offkv's range is reported as OFFKV_ESERVICE naming the key, never
// read as a negative version or overflowed by a set, and nothing stored changes.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "consul_test_util.hpp"

namespace {

std::string base_url() {
  return consultest::first_line(consultest::env("OFFKV_TEST_URL_FILE"));
}

// http://host:port of the agent behind consul://host:port.
std::string http_base() {
  std::string url = base_url();
  return "http://" + url.substr(std::string("consul://").size());
}

// Writes a raw KV entry as another Consul client would (offkv's layout: node keys are
// "offkv/n" + the node's full path).
void put_raw(const std::string &full_path, const std::string &flags,
             const std::string &value) {
  consultest::run("curl -sf -X PUT --data-binary '" + value + "' '" + http_base() +
                  "/v1/kv/offkv/n" + full_path + "?flags=" + flags + "' >/dev/null");
}

std::string raw_entry(const std::string &full_path) {
  return consultest::run("curl -sf '" + http_base() + "/v1/kv/offkv/n" + full_path + "'");
}

offkv_client *open_at(const std::string &prefix) {
  offkv_client *c = nullptr;
  REQUIRE(offkv_open((base_url() + prefix).c_str(), nullptr, &c) == OFFKV_OK);
  return c;
}

}  // namespace

TEST_CASE("a version (Flags) above offkv's range is ESERVICE naming the key",
          "[consul][foreign]") {
  std::string prefix = consultest::unique_prefix("foreign");
  offkv_client *c = open_at(prefix);
  for (const char *flags : {"18446744073709551615", "9223372036854775807"}) {
    INFO("Flags " << flags);
    put_raw(prefix + "/a", flags, "theirs");
    std::string before = raw_entry(prefix + "/a");
    std::int64_t v = -7;
    offkv_buf value{nullptr, 0};
    CHECK(offkv_get(c, "/a", &value, &v) == OFFKV_ESERVICE);
    CHECK(std::string(offkv_last_error()).find("/a") != std::string::npos);
    CHECK(std::string(offkv_last_error()).find(flags) != std::string::npos);
    CHECK(v == 0);
    CHECK(offkv_exists(c, "/a", &v) == OFFKV_ESERVICE);
    CHECK(offkv_set(c, "/a", "mine", 4, &v) == OFFKV_ESERVICE);
    CHECK(offkv_cas(c, "/a", "mine", 4, 5, &v) == OFFKV_ESERVICE);
    CHECK(raw_entry(prefix + "/a") == before);  // nothing written
  }
  offkv_close(c);
  offkv_client_free(c);
}

TEST_CASE("the largest version offkv accepts reads exactly; one set more still fits",
          "[consul][foreign]") {
  std::string prefix = consultest::unique_prefix("foreign-max");
  offkv_client *c = open_at(prefix);
  put_raw(prefix + "/a", "9223372036854775806", "theirs");  // INT64_MAX - 1
  std::int64_t v = 0;
  REQUIRE(offkv_exists(c, "/a", &v) == OFFKV_OK);
  CHECK(v == INT64_MAX - 1);
  REQUIRE(offkv_set(c, "/a", "mine", 4, &v) == OFFKV_OK);
  CHECK(v == INT64_MAX);
  CHECK(offkv_exists(c, "/a", &v) == OFFKV_ESERVICE);  // now out of range
  offkv_close(c);
  offkv_client_free(c);
}
