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

  // The child was created with an open ACL, readable by all.
  offkv_buf buf{};
  CHECK(offkv_get(nobody, "/child", &buf, nullptr) == OFFKV_OK);
  offkv_buf_free(&buf);

  for (offkv_client *c : {alice, nobody, mallory}) offkv_client_free(c);
}
