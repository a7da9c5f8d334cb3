// ZooKeeper digest credentials from the options, against a node whose ACL only the
// digest user may use (made with a raw ZooKeeper handle).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <zookeeper/zookeeper.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "offkv.h"
#include "zk_test_util.hpp"

namespace {

std::string hosts_of(const std::string &url) {  // zk://h:p,h:p -> h:p,h:p
  return url.substr(std::strlen("zk://"));
}

std::mutex m;
std::condition_variable cv;
bool connected = false;

void watcher(zhandle_t *, int type, int state, const char *, void *) {
  if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
    std::lock_guard<std::mutex> lock(m);
    connected = true;
    cv.notify_all();
  }
}

// Creates `path` readable and writable only by digest user alice:secret.
void make_acl_node(const std::string &hosts, const std::string &path) {
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t *zh = zookeeper_init(hosts.c_str(), watcher, 10000, nullptr, nullptr, 0);
  REQUIRE(zh);
  {
    std::unique_lock<std::mutex> lock(m);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [] { return connected; }));
  }
  const char cred[] = "alice:secret";
  REQUIRE(zoo_add_auth(zh, "digest", cred, sizeof cred - 1, nullptr, nullptr) == ZOK);
  // CREATOR_ALL_ACL: the "auth" scheme becomes digest:alice:<hash> on the server.
  REQUIRE(zoo_create(zh, path.c_str(), "top", 3, &ZOO_CREATOR_ALL_ACL, 0, nullptr, 0) ==
          ZOK);
  zookeeper_close(zh);
}

offkv_client *open_as(const std::string &url, const char *user, const char *password) {
  offkv_options opts = OFFKV_OPTIONS_INIT;
  opts.username = user;
  opts.password = password;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), &opts, &c) == OFFKV_OK);
  return c;
}

}  // namespace

TEST_CASE("digest credentials open an ACL'd node; others get EAUTH", "[zk][auth]") {
  std::string server = zktest::server_url();
  std::string prefix = zktest::unique_prefix("auth");
  make_acl_node(hosts_of(server), prefix);
  std::string url = server + prefix;

  offkv_client *alice = open_as(url, "alice", "secret");
  REQUIRE(offkv_create(alice, "/child", "x", 1, 0, nullptr) == OFFKV_OK);
  offkv_strings kids{};
  REQUIRE(offkv_children(alice, "/", &kids) == OFFKV_OK);
  REQUIRE(kids.count == 1);
  CHECK(std::string(kids.items[0]) == "/child");
  offkv_strings_free(&kids);

  offkv_client *nobody = open_as(url, nullptr, nullptr);
  CHECK(offkv_children(nobody, "/", &kids) == OFFKV_EAUTH);
  CHECK(std::string(offkv_last_error()).find("zookeeper") != std::string::npos);
  CHECK(offkv_create(nobody, "/other", "", 0, 0, nullptr) == OFFKV_EAUTH);

  offkv_client *mallory = open_as(url, "alice", "wrong");
  CHECK(offkv_create(mallory, "/other", "", 0, 0, nullptr) == OFFKV_EAUTH);
  CHECK(offkv_children(mallory, "/", &kids) == OFFKV_EAUTH);

  // What alice creates is hers alone (the creator's ACL): credentials protect it.
  offkv_buf buf{};
  CHECK(offkv_get(nobody, "/child", &buf, nullptr) == OFFKV_EAUTH);
  CHECK(offkv_set(nobody, "/child", "y", 1, nullptr) == OFFKV_EAUTH);
  CHECK(offkv_get(mallory, "/child", &buf, nullptr) == OFFKV_EAUTH);
  offkv_client *alice_again = open_as(url, "alice", "secret");
  REQUIRE(offkv_get(alice_again, "/child", &buf, nullptr) == OFFKV_OK);
  CHECK(std::string(buf.data, buf.len) == "x");
  offkv_buf_free(&buf);
  REQUIRE(offkv_set(alice_again, "/child", "y", 1, nullptr) == OFFKV_OK);

  for (offkv_client *c : {alice, nobody, mallory, alice_again}) offkv_client_free(c);
}

TEST_CASE("zk_acl=open keeps created nodes open; the option is checked", "[zk][auth]") {
  std::string server = zktest::server_url();
  std::string prefix = zktest::unique_prefix("auth-open");
  make_acl_node(hosts_of(server), prefix);
  std::string url = server + prefix;

  offkv_client *alice = open_as(url + "?zk_acl=open", "alice", "secret");
  REQUIRE(offkv_create(alice, "/shared", "x", 1, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(alice, "/eph", "e", 1, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  offkv_client *nobody = open_as(url, nullptr, nullptr);
  offkv_buf buf{};
  CHECK(offkv_get(nobody, "/shared", &buf, nullptr) == OFFKV_OK);
  offkv_buf_free(&buf);
  CHECK(offkv_set(nobody, "/eph", "f", 1, nullptr) == OFFKV_OK);

  // Sequential and transactional creates get the same ACL as plain ones.
  offkv_client *bob = open_as(url, "alice", "secret");
  char *seq = nullptr;
  REQUIRE(offkv_create(bob, "/s-", "", 0, OFFKV_SEQUENTIAL, &seq) == OFFKV_OK);
  offkv_txn *txn = nullptr;
  REQUIRE(offkv_txn_new(&txn) == OFFKV_OK);
  REQUIRE(offkv_txn_create(txn, "/t", "", 0, 0) == OFFKV_OK);
  REQUIRE(offkv_commit(bob, txn, nullptr) == OFFKV_OK);
  offkv_txn_free(txn);
  CHECK(offkv_get(nobody, seq, &buf, nullptr) == OFFKV_EAUTH);
  CHECK(offkv_get(nobody, "/t", &buf, nullptr) == OFFKV_EAUTH);
  offkv_string_free(seq);

  offkv_client *bad = nullptr;
  offkv_options opts = OFFKV_OPTIONS_INIT;
  CHECK(offkv_open((url + "?zk_acl=closed").c_str(), &opts, &bad) == OFFKV_EINVAL);
  CHECK(offkv_open((url + "?zk_acl=creator").c_str(), &opts, &bad) == OFFKV_EINVAL);
  CHECK(std::string(offkv_last_error()).find("digest user") != std::string::npos);
  CHECK(offkv_open("mem://acl?zk_acl=open", &opts, &bad) == OFFKV_EINVAL);
  CHECK(bad == nullptr);
  for (offkv_client *c : {alice, nobody, bob}) offkv_client_free(c);
}
