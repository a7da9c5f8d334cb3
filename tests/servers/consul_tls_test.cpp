// offkv on a Consul agent with HTTPS only (a self-signed CA made by consul.sh) and
// ACLs (default deny): consuls:// with the CA file and a token works; without the CA,
// over plain HTTP, without a token, with an unknown token or with a read-only token it
// fails with a clear code (ETLS, EAUTH) and the agent's own words.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "consul_test_util.hpp"
#include "offkv.h"

using namespace consultest;

namespace {

std::string dir() { return env("CONSUL_TLS_DIR"); }
std::string port() { return first_line(dir() + "/port"); }
std::string ca() { return dir() + "/ca.pem"; }
std::string token() { return first_line(dir() + "/token"); }
std::string read_token() { return first_line(dir() + "/read-token"); }

// consuls://127.0.0.1:PORT/<prefix>?<query>
std::string url(const std::string &scheme, const std::string &prefix,
                const std::string &query) {
  return scheme + "://127.0.0.1:" + port() + prefix + (query.empty() ? "" : "?" + query);
}

int open_code(const std::string &u, offkv_client **c,
              const offkv_options *opts = nullptr) {
  *c = nullptr;
  return offkv_open(u.c_str(), opts, c);
}

}  // namespace

TEST_CASE("consuls:// with the CA file and a token does everything",
          "[consul][tls][acl]") {
  // The fixture's URL is exactly that.
  std::string base = first_line(dir() + "/url");
  std::string q = base.substr(base.find('?'));
  std::string prefix = unique_prefix("tls");
  std::string u = url("consuls", prefix, q.substr(1));
  offkv_client *c = nullptr;
  REQUIRE(open_code(u, &c) == OFFKV_OK);
  CHECK(offkv_create(c, "/a", "1", 1, 0, nullptr) == OFFKV_OK);
  std::int64_t v = 0;
  CHECK(offkv_set(c, "/a", "2", 1, &v) == OFFKV_OK);
  CHECK(v == 2);
  CHECK(offkv_create(c, "/a/e", "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  offkv_strings list{nullptr, 0};
  REQUIRE(offkv_children(c, "/a", &list) == OFFKV_OK);
  REQUIRE(list.count == 1);
  CHECK(std::string(list.items[0]) == "/a/e");
  offkv_strings_free(&list);

  // A watch works through TLS and ACLs too (blocking queries carry the token).
  offkv_watch *w = nullptr;
  REQUIRE(offkv_exists_watch(c, "/b", &v, nullptr, nullptr, &w) == OFFKV_OK);
  offkv_client *other = nullptr;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  std::string t = token(), cafile = ca();
  opts.token = t.c_str();  // the token and CA through the options struct this time
  opts.tls_ca_file = cafile.c_str();
  REQUIRE(open_code(url("consuls", prefix, ""), &other, &opts) == OFFKV_OK);
  CHECK(offkv_create(other, "/b", "", 0, 0, nullptr) == OFFKV_OK);
  offkv_event *ev = nullptr;
  REQUIRE(offkv_watch_wait(w, 10000, &ev) == OFFKV_OK);
  CHECK(ev->type == OFFKV_EVENT_CREATED);
  offkv_event_free(ev);
  offkv_watch_free(w);

  // Closing ends the session at once: the ephemeral is gone for the other client.
  REQUIRE(offkv_close(c) == OFFKV_OK);
  CHECK(offkv_exists(other, "/a/e", &v) == OFFKV_OK);
  CHECK(v == 0);
  CHECK(offkv_erase(other, "/a", 0) == OFFKV_OK);
  CHECK(offkv_erase(other, "/b", 0) == OFFKV_OK);
  offkv_client_free(c);
  offkv_client_free(other);
}

TEST_CASE("a certificate nobody trusts is ETLS", "[consul][tls]") {
  offkv_client *c = nullptr;
  CHECK(open_code(url("consuls", "", "token=" + token()), &c) == OFFKV_ETLS);
  CHECK(c == nullptr);
  CHECK(std::string(offkv_last_error()).find("consul") != std::string::npos);
}

TEST_CASE("plain HTTP to the HTTPS port is ETLS", "[consul][tls]") {
  offkv_client *c = nullptr;
  CHECK(open_code(url("consul", "", "token=" + token()), &c) == OFFKV_ETLS);
  CHECK(c == nullptr);
}

TEST_CASE("a missing CA file is ETLS", "[consul][tls]") {
  offkv_client *c = nullptr;
  CHECK(open_code(
            url("consuls", "", "tls_ca_file=" + dir() + "/no-such.pem&token=" + token()),
            &c) == OFFKV_ETLS);
}

TEST_CASE("no token is EAUTH under a default-deny ACL", "[consul][acl]") {
  offkv_client *c = nullptr;
  int rc = open_code(url("consuls", "", "tls_ca_file=" + ca()), &c);
  INFO(offkv_last_error());
  CHECK(rc == OFFKV_EAUTH);
  CHECK(std::string(offkv_last_error()).find("Permission denied") != std::string::npos);
}

TEST_CASE("an unknown token is EAUTH", "[consul][acl]") {
  offkv_client *c = nullptr;
  int rc = open_code(
      url("consuls", "",
          "tls_ca_file=" + ca() + "&token=00000000-0000-4000-8000-000000000000"),
      &c);
  INFO(offkv_last_error());
  CHECK(rc == OFFKV_EAUTH);
}

TEST_CASE("a read-only token reads but cannot write", "[consul][acl]") {
  std::string prefix = unique_prefix("ro");
  offkv_client *writer = nullptr, *ro = nullptr;
  REQUIRE(open_code(url("consuls", prefix, "tls_ca_file=" + ca() + "&token=" + token()),
                    &writer) == OFFKV_OK);
  REQUIRE(offkv_create(writer, "/k", "v", 1, 0, nullptr) == OFFKV_OK);
  REQUIRE(
      open_code(url("consuls", prefix, "tls_ca_file=" + ca() + "&token=" + read_token()),
                &ro) == OFFKV_OK);
  offkv_buf buf{};
  std::int64_t v = 0;
  CHECK(offkv_get(ro, "/k", &buf, &v) == OFFKV_OK);
  CHECK(std::string(buf.data, buf.len) == "v");
  offkv_buf_free(&buf);
  int rc = offkv_set(ro, "/k", "w", 1, nullptr);
  INFO(offkv_last_error());
  CHECK(rc == OFFKV_EAUTH);
  CHECK(std::string(offkv_last_error()).find("Permission denied") != std::string::npos);
  CHECK(offkv_get(writer, "/k", &buf, &v) == OFFKV_OK);
  CHECK(std::string(buf.data, buf.len) == "v");  // nothing was written
  CHECK(v == 1);
  offkv_buf_free(&buf);
  CHECK(offkv_erase(writer, "/k", 0) == OFFKV_OK);
  offkv_client_free(ro);
  offkv_client_free(writer);
}
