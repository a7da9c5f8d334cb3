// etcds:// against a real etcd started by etcd.sh start-tls: TLS with a self-signed CA,
// client certificates required, auth enabled (alice: read-write on offkv's keys; bob:
// no permissions).
#include <catch2/catch.hpp>

#include <cstring>

#include "etcd_test_util.hpp"

namespace {

struct Tls {
  std::string dir = etcdtest::env("ETCD_TLS_DIR");
  std::string url = etcdtest::read_line(dir + "/url");
  std::string ca = dir + "/ca.pem", cert = dir + "/client.pem",
              key = dir + "/client-key.pem";
  std::string other_ca = dir + "/other-ca.pem";
};

offkv_options options(const Tls &t, const char *user, const char *password) {
  offkv_options o = OFFKV_OPTIONS_INIT;
  o.connect_timeout_ms = 5000;
  o.operation_timeout_ms = 5000;
  o.tls_ca_file = t.ca.c_str();
  o.tls_cert_file = t.cert.c_str();
  o.tls_key_file = t.key.c_str();
  o.username = user;
  o.password = password;
  return o;
}

bool says(const char *part) { return std::strstr(offkv_last_error(), part) != nullptr; }

}  // namespace

TEST_CASE("etcds:// with CA, client certificate and a user works end to end",
          "[etcd][tls][auth]") {
  Tls t;
  offkv_options o = options(t, "alice", "secret");
  offkv_client *c = nullptr;
  std::string url = t.url + etcdtest::unique_prefix("tls");
  REQUIRE(offkv_open(url.c_str(), &o, &c) == OFFKV_OK);
  REQUIRE(offkv_create(c, "/a", "1", 1, 0, nullptr) == OFFKV_OK);
  std::int64_t v = 0;
  REQUIRE(offkv_set(c, "/a", "22", 2, &v) == OFFKV_OK);
  CHECK(v == 2);
  offkv_watch *w = nullptr;
  offkv_buf buf{};
  REQUIRE(offkv_get_watch(c, "/a", &buf, &v, nullptr, nullptr, &w) == OFFKV_OK);
  CHECK(std::string(buf.data, buf.len) == "22");
  offkv_buf_free(&buf);
  char *seq = nullptr;
  REQUIRE(offkv_create(c, "/a/e-", "", 0, OFFKV_EPHEMERAL | OFFKV_SEQUENTIAL, &seq) ==
          OFFKV_OK);
  CHECK(std::string(seq) == "/a/e-0000000000");
  offkv_string_free(seq);
  REQUIRE(offkv_set(c, "/a", "333", 3, &v) == OFFKV_OK);
  offkv_event *ev = nullptr;
  REQUIRE(offkv_watch_wait(w, 10000, &ev) == OFFKV_OK);
  CHECK(ev->type == OFFKV_EVENT_CHANGED);
  CHECK(ev->version == 3);
  offkv_event_free(ev);
  offkv_watch_free(w);
  REQUIRE(offkv_erase(c, "/a", 0) == OFFKV_OK);
  REQUIRE(offkv_close(c) == OFFKV_OK);
  offkv_client_free(c);
}

TEST_CASE("a wrong password is EAUTH at open, with etcd's words", "[etcd][auth]") {
  Tls t;
  offkv_options o = options(t, "alice", "wrong");
  offkv_client *c = nullptr;
  CHECK(offkv_open(t.url.c_str(), &o, &c) == OFFKV_EAUTH);
  CHECK(c == nullptr);
  CHECK(says("alice"));
  CHECK(says("etcd"));
}

TEST_CASE("a user without permission gets EAUTH, nothing is written", "[etcd][auth]") {
  Tls t;
  offkv_options o = options(t, "bob", "bobpw");
  offkv_client *c = nullptr;
  int rc = offkv_open(t.url.c_str(), &o, &c);
  if (rc == OFFKV_OK) {
    CHECK(offkv_create(c, "/bob", "", 0, 0, nullptr) == OFFKV_EAUTH);
    CHECK(says("permission denied"));
    std::int64_t v = 0;
    CHECK(offkv_exists(c, "/bob", &v) == OFFKV_EAUTH);
    offkv_close(c);
    offkv_client_free(c);
  } else {
    CHECK(rc == OFFKV_EAUTH);
  }
}

TEST_CASE("no credentials on an etcd with auth is EAUTH", "[etcd][auth]") {
  Tls t;
  offkv_options o = options(t, nullptr, nullptr);
  offkv_client *c = nullptr;
  int rc = offkv_open(t.url.c_str(), &o, &c);
  if (rc == OFFKV_OK) {
    std::int64_t v = 0;
    CHECK(offkv_exists(c, "/x", &v) == OFFKV_EAUTH);
    offkv_close(c);
    offkv_client_free(c);
  } else {
    CHECK(rc == OFFKV_EAUTH);
  }
}

TEST_CASE("a server certificate from an unknown CA is ETLS", "[etcd][tls]") {
  Tls t;
  offkv_options o = options(t, "alice", "secret");
  o.tls_ca_file = t.other_ca.c_str();
  offkv_client *c = nullptr;
  CHECK(offkv_open(t.url.c_str(), &o, &c) == OFFKV_ETLS);
  CHECK(c == nullptr);
}

TEST_CASE("a missing client certificate is refused by the server", "[etcd][tls]") {
  Tls t;
  offkv_options o = options(t, "alice", "secret");
  o.tls_cert_file = nullptr;
  o.tls_key_file = nullptr;
  offkv_client *c = nullptr;
  int rc = offkv_open(t.url.c_str(), &o, &c);
  CHECK(rc != OFFKV_OK);
  CHECK((rc == OFFKV_ETLS || rc == OFFKV_ETIMEOUT || rc == OFFKV_ECONNLOSS));
  CHECK(c == nullptr);
}

TEST_CASE("an unreadable CA file is ETLS naming the file", "[etcd][tls]") {
  Tls t;
  offkv_options o = options(t, "alice", "secret");
  o.tls_ca_file = "/nonexistent/ca.pem";
  offkv_client *c = nullptr;
  CHECK(offkv_open(t.url.c_str(), &o, &c) == OFFKV_ETLS);
  CHECK(says("/nonexistent/ca.pem"));
}
