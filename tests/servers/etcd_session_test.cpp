// Sessions on etcd (one lease per client): close revokes the lease so ephemerals go
// at once; the layout keeps "/a" and "/ab" apart. A client frozen past its TTL is
// tested on every backend by freeze_test.cpp.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "etcd_test_util.hpp"

namespace {

offkv_client *open_client(const std::string &url, offkv_options *opts = nullptr) {
  offkv_options o = OFFKV_OPTIONS_INIT;
  if (!opts) opts = &o;
  offkv_client *c = nullptr;
  REQUIRE(offkv_open(url.c_str(), opts, &c) == OFFKV_OK);
  return c;
}

}  // namespace

TEST_CASE("close revokes the lease: the client's ephemerals vanish at once",
          "[etcd][session]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("close");
  offkv_client *a = open_client(url);
  offkv_client *b = open_client(url);
  REQUIRE(offkv_create(a, "/p", "", 0, 0, nullptr) == OFFKV_OK);
  REQUIRE(offkv_create(a, "/p/e", "", 0, OFFKV_EPHEMERAL, nullptr) == OFFKV_OK);
  offkv_watch *w = nullptr;
  std::int64_t v = 0;
  REQUIRE(offkv_exists_watch(b, "/p/e", &v, nullptr, nullptr, &w) == OFFKV_OK);
  REQUIRE(v == 1);
  REQUIRE(offkv_close(a) == OFFKV_OK);
  CHECK(offkv_exists(b, "/p/e", &v) == OFFKV_OK);
  CHECK(v == 0);  // no wait for a TTL
  offkv_event *ev = nullptr;
  REQUIRE(offkv_watch_wait(w, 5000, &ev) == OFFKV_OK);
  CHECK(ev->type == OFFKV_EVENT_DELETED);
  offkv_event_free(ev);
  offkv_watch_free(w);
  CHECK(offkv_exists(b, "/p", &v) == OFFKV_OK);
  CHECK(v == 1);
  offkv_client_free(a);
  offkv_close(b);
  offkv_client_free(b);
}

// gRPC's process-wide epoll set outlives every client; a forked child would share it
// with its parent and stall at random (issue 20). The child is refused at once,
// naming the cause; other backends still work there.
static int forked_child(const std::string &url) {
  auto start = std::chrono::steady_clock::now();
  offkv_client *c = nullptr;
  int rc = offkv_open(url.c_str(), nullptr, &c);
  auto took = std::chrono::steady_clock::now() - start;
  if (rc != OFFKV_EUNSUPPORTED) {
    std::fprintf(stderr, "forked child: etcd open gave %s: %s\n", offkv_error_name(rc),
                 offkv_last_error());
    return 1;
  }
  if (took > std::chrono::milliseconds(100)) return 2;
  if (!std::strstr(offkv_last_error(), "forked")) return 3;
  if (c != nullptr) return 4;
  if (offkv_open("mem://forked", nullptr, &c) != OFFKV_OK) return 5;
  if (offkv_create(c, "/k", "v", 1, 0, nullptr) != OFFKV_OK) return 6;
  offkv_close(c);
  offkv_client_free(c);
  return 0;
}

TEST_CASE("a child forked after the process used etcd:// is refused, never stalled",
          "[etcd][fork]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("fork");
  offkv_client *c = open_client(url);  // gRPC lives in this process from now on
  REQUIRE(offkv_close(c) == OFFKV_OK);
  offkv_client_free(c);
  std::fflush(nullptr);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(forked_child(url));
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("on etcd '/a' and '/ab' never meet: children, erase, watches",
          "[etcd][layout]") {
  std::string url = etcdtest::server_url() + etcdtest::unique_prefix("layout");
  offkv_client *c = open_client(url);
  for (const char *k : {"/a", "/a/x", "/a/x/y", "/ab", "/ab/x", "/a b", "/a!"})
    REQUIRE(offkv_create(c, k, "", 0, 0, nullptr) == OFFKV_OK);
  offkv_strings kids{};
  REQUIRE(offkv_children(c, "/a", &kids) == OFFKV_OK);
  REQUIRE(kids.count == 1);
  CHECK(std::string(kids.items[0]) == "/a/x");
  offkv_strings_free(&kids);
  offkv_watch *w = nullptr;
  REQUIRE(offkv_watch_persistent(c, "/a", nullptr, nullptr, &w) == OFFKV_OK);
  REQUIRE(offkv_set(c, "/ab/x", "1", 1, nullptr) == OFFKV_OK);
  REQUIRE(offkv_erase(c, "/a", 0) == OFFKV_OK);
  std::vector<std::string> deleted;
  for (int i = 0; i < 3; ++i) {
    offkv_event *ev = nullptr;
    REQUIRE(offkv_watch_wait(w, 5000, &ev) == OFFKV_OK);
    CHECK(ev->type == OFFKV_EVENT_DELETED);
    deleted.push_back(ev->key);
    offkv_event_free(ev);
  }
  CHECK(deleted == std::vector<std::string>{"/a/x/y", "/a/x", "/a"});  // deepest first
  offkv_event *ev = nullptr;
  CHECK(offkv_watch_wait(w, 300, &ev) == OFFKV_ETIMEOUT);  // nothing from /ab
  offkv_watch_free(w);
  std::int64_t v = 0;
  for (const char *k : {"/ab", "/ab/x", "/a b", "/a!"}) {
    REQUIRE(offkv_exists(c, k, &v) == OFFKV_OK);
    CHECK(v >= 1);
  }
  offkv_close(c);
  offkv_client_free(c);
}
