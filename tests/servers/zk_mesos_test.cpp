// Mesos' layout on a real ZooKeeper server: Mesos-like masters are written here with
// the native ZooKeeper C client exactly as a Mesos master's zookeeper::Group writes its
// contender (an ephemeral sequential child "json.info_" of the group holding the
// MasterInfo as JSON; the group made first, persistent, with its parents), and read
// back as Mesos' detector reads them (every child "<label>_<int32>": label up to the
// first '_', the sequence the last '_' token; the lowest sequence leads). offkv's
// recipes with the member label "json.info" (OFFKV_MESOS_MASTER_LABEL) must follow
// them and be followed by them. A last case loses the reply of offkv's labeled create
// on purpose (a proxy cuts the connection after forwarding the request) and checks that
// offkv adopts the node it created instead of leaving an orphan.
#define CATCH_CONFIG_MAIN
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "offkv.h"
#include "zk_test_util.hpp"

namespace {

constexpr int kWaitMs = 30000;
constexpr const char *kLabel = OFFKV_MESOS_MASTER_LABEL;

std::string hosts_of(const std::string &url) {  // zk://h:p,h:p -> h:p,h:p
  return url.substr(std::strlen("zk://"));
}

std::string basename_of(const std::string &path) {
  return path.substr(path.rfind('/') + 1);
}

// A MasterInfo as Mesos' contender writes it (JSON::protobuf of the message).
std::string master_info(const std::string &id, int port) {
  return "{\"address\":{\"hostname\":\"localhost\",\"ip\":\"127.0.0.1\",\"port\":" +
         std::to_string(port) + "},\"hostname\":\"localhost\",\"id\":\"" + id +
         "\",\"ip\":16777343,\"pid\":\"master@127.0.0.1:" + std::to_string(port) +
         "\",\"port\":" + std::to_string(port) + ",\"version\":\"1.11.0\"}";
}

// One native ZooKeeper session, used the way Mesos' zookeeper::Group uses its own.
class Native {
 public:
  explicit Native(const std::string &hosts) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(hosts.c_str(), &Native::watcher, 10000, nullptr, this, 0);
    REQUIRE(zh_ != nullptr);
    std::unique_lock<std::mutex> lock(mutex_);
    REQUIRE(cv_.wait_for(lock, std::chrono::milliseconds(kWaitMs),
                         [this] { return connected_; }));
  }
  ~Native() { close(); }
  Native(const Native &) = delete;
  Native &operator=(const Native &) = delete;

  // Ends the session: its ephemeral nodes are gone when this returns.
  void close() {
    if (zh_) zookeeper_close(zh_);
    zh_ = nullptr;
  }

  // The group node and its parents, persistent and empty (Mesos creates its znode
  // with zk->create(znode, "", acl, 0, nullptr, recursive = true)).
  void create_group(const std::string &path) {
    for (std::size_t pos = 1; pos != std::string::npos;) {
      pos = path.find('/', pos + 1);
      std::string part = path.substr(0, pos);
      int rc = zoo_create(zh_, part.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
      REQUIRE((rc == ZOK || rc == ZNODEEXISTS));
    }
  }

  // A Mesos contender's join: GROUP/<label>_ + ZooKeeper's sequence, ephemeral,
  // holding data. Returns the created path.
  std::string join(const std::string &group, const std::string &label,
                   const std::string &data) {
    std::string path = group + "/" + label + "_";
    std::vector<char> created(path.size() + 64);
    int rc = zoo_create(zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                        &ZOO_OPEN_ACL_UNSAFE, ZOO_SEQUENCE | ZOO_EPHEMERAL,
                        created.data(), static_cast<int>(created.size()));
    REQUIRE(rc == ZOK);
    return created.data();
  }

  std::vector<std::string> children(const std::string &path) {
    String_vector kids{};
    REQUIRE(zoo_get_children(zh_, path.c_str(), 0, &kids) == ZOK);
    std::vector<std::string> out;
    for (int i = 0; i < kids.count; ++i) out.push_back(kids.data[i]);
    deallocate_String_vector(&kids);
    return out;
  }

  std::optional<std::string> get(const std::string &path) {
    std::vector<char> buf(1 << 20);
    int len = static_cast<int>(buf.size());
    int rc = zoo_get(zh_, path.c_str(), 0, buf.data(), &len, nullptr);
    if (rc == ZNONODE) return std::nullopt;
    REQUIRE(rc == ZOK);
    return std::string(buf.data(), len < 0 ? 0 : len);
  }

  // The parent's child version: the suffix ZooKeeper gives the next sequential child.
  int cversion(const std::string &path) {
    Stat stat{};
    REQUIRE(zoo_exists(zh_, path.c_str(), 0, &stat) == ZOK);
    return stat.cversion;
  }

 private:
  static void watcher(zhandle_t *, int type, int state, const char *, void *ctx) {
    auto *self = static_cast<Native *>(ctx);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->connected_ = true;
      self->cv_.notify_all();
    }
  }

  zhandle_t *zh_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool connected_ = false;
};

// What a stock Mesos master detector decides from a listing of the group: every child
// whose name's last '_'-separated token is an int32 is a member, its label the first
// token (when there are several); the member with the lowest sequence leads.
struct MesosView {
  std::string name;   // the leader's node name, "" = none
  std::string label;  // its label ("" = none)
  long sequence = -1;
};

MesosView mesos_leader(const std::vector<std::string> &children) {
  MesosView best;
  for (const auto &child : children) {
    std::vector<std::string> tokens;
    for (std::size_t start = 0; start <= child.size();) {
      std::size_t end = child.find('_', start);
      if (end == std::string::npos) end = child.size();
      if (end > start) tokens.push_back(child.substr(start, end - start));
      start = end + 1;
    }
    if (tokens.empty()) continue;
    const std::string &last = tokens.back();
    char *rest = nullptr;
    errno = 0;
    long value = std::strtol(last.c_str(), &rest, 10);
    if (last.empty() || *rest != '\0' || errno != 0 || value < INT32_MIN ||
        value > INT32_MAX)
      continue;  // "Found non-sequence node": skipped
    if (best.name.empty() || value < best.sequence) {
      best.name = child;
      best.label = tokens.size() > 1 ? tokens[0] : "";
      best.sequence = value;
    }
  }
  return best;
}

struct Member {
  std::string key;
  std::int64_t sequence = -1;
  std::string payload;
};

Member take(offkv_member &m) {
  Member out{m.key ? m.key : "", m.sequence,
             m.payload.data ? std::string(m.payload.data, m.payload.len) : ""};
  offkv_member_free(&m);
  return out;
}

std::optional<Member> election_member(offkv_election *e) {
  offkv_member m = OFFKV_MEMBER_INIT;
  int rc = offkv_election_member(e, &m);
  if (rc == OFFKV_ENOENT) return std::nullopt;
  REQUIRE(rc == OFFKV_OK);
  return take(m);
}

std::optional<Member> detector_leader(offkv_detector *d) {
  offkv_member m = OFFKV_MEMBER_INIT;
  int rc = offkv_detector_leader(d, &m);
  if (rc == OFFKV_ENOENT) return std::nullopt;
  REQUIRE(rc == OFFKV_OK);
  return take(m);
}

bool eventually(const std::function<bool()> &cond, int timeout_ms = kWaitMs) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

offkv_client *open_client(const std::string &url) {
  offkv_client *c = nullptr;
  int rc = offkv_open(url.c_str(), nullptr, &c);
  INFO(offkv_last_error());
  REQUIRE(rc == OFFKV_OK);
  return c;
}

// Everything one case needs: a private root on the server, the offkv URL of it, and
// the group path as the native client and offkv see it.
struct World {
  std::string server = zktest::server_url();
  std::string hosts = hosts_of(server);
  std::string prefix = zktest::unique_prefix("mesos");
  std::string url = server + prefix;  // offkv's keys live under prefix
  std::string group = "/mesos";       // offkv's key of the group
  std::string path = prefix + group;  // the native client's path of it
  std::vector<offkv_client *> clients;

  offkv_client *open() {
    clients.push_back(open_client(url));
    return clients.back();
  }
  ~World() {
    for (auto *c : clients) offkv_client_free(c);
  }
};

}  // namespace

TEST_CASE("an offkv detector labeled json.info reports a native Mesos master as leader",
          "[zk][mesos][detector]") {
  World w;
  Native admin(w.hosts);
  admin.create_group(w.path);
  // Nodes a Mesos master ignores come first: an offkv contender of offkv's own scheme
  // ("member-<token>-<seq>" has no int32 after a '_').
  offkv_election *plain = nullptr;
  REQUIRE(offkv_election_contend(w.open(), w.group.c_str(), "plain", 5, nullptr, nullptr,
                                 &plain) == OFFKV_OK);
  REQUIRE(offkv_election_wait(plain, 1, kWaitMs) == OFFKV_OK);

  Native master1(w.hosts), master2(w.hosts);
  const std::string info1 = master_info("master-1", 5050);
  const std::string info2 = master_info("master-2", 5051);
  std::string n1 = master1.join(w.path, kLabel, info1);
  CHECK(basename_of(n1).rfind("json.info_", 0) == 0);

  offkv_detector *d = nullptr;
  REQUIRE(offkv_detector_open_labeled(w.open(), w.group.c_str(), kLabel, nullptr, nullptr,
                                      &d) == OFFKV_OK);
  offkv_member m = OFFKV_MEMBER_INIT;
  REQUIRE(offkv_detector_wait(d, nullptr, kWaitMs, &m) == OFFKV_OK);
  Member leader = take(m);
  CHECK(leader.key == w.group + "/" + basename_of(n1));
  CHECK(leader.payload == info1);
  CHECK(leader.sequence == std::stol(basename_of(n1).substr(10)));
  // Mesos' own reading agrees.
  MesosView view = mesos_leader(admin.children(w.path));
  CHECK(view.name == basename_of(n1));
  CHECK(view.label == "json.info");

  // A second master, and a legacy one ("info_", protobuf payload) after it: the
  // first still leads; when its session ends, the second leads.
  std::string n2 = master2.join(w.path, kLabel, info2);
  Native legacy(w.hosts);
  legacy.join(w.path, "info", std::string("\x0a\x05proto", 7));
  CHECK(detector_leader(d)->key == leader.key);
  master1.close();
  REQUIRE(offkv_detector_wait(d, leader.key.c_str(), kWaitMs, &m) == OFFKV_OK);
  Member next = take(m);
  CHECK(next.key == w.group + "/" + basename_of(n2));
  CHECK(next.payload == info2);
  CHECK(mesos_leader(admin.children(w.path)).name == basename_of(n2));

  // The last json.info master goes: no leader for the labeled detector (the legacy
  // "info_" node and offkv's own member are not json.info members).
  master2.close();
  REQUIRE(offkv_detector_wait(d, next.key.c_str(), kWaitMs, &m) == OFFKV_ENOENT);
  CHECK(m.key == nullptr);

  offkv_detector_free(d);
  offkv_election_free(plain);
}

TEST_CASE("an offkv election labeled json.info contends in order with native masters",
          "[zk][mesos][election]") {
  World w;
  Native admin(w.hosts);
  admin.create_group(w.path);
  Native master1(w.hosts), master3(w.hosts);
  std::string n1 = master1.join(w.path, kLabel, master_info("master-1", 5050));

  const std::string info = master_info("offkv-2", 5052);
  offkv_election *e = nullptr;
  REQUIRE(offkv_election_contend_labeled(w.open(), w.group.c_str(), kLabel, info.data(),
                                         info.size(), nullptr, nullptr, &e) == OFFKV_OK);
  REQUIRE(eventually([&] { return election_member(e).has_value(); }));
  std::string n3 = master3.join(w.path, kLabel, master_info("master-3", 5053));
  Member me = *election_member(e);
  // Its node is named exactly as Mesos names a contender's, and holds the payload.
  std::string name = basename_of(me.key);
  REQUIRE(name.size() == std::strlen("json.info_") + 10);
  CHECK(name.rfind("json.info_", 0) == 0);
  CHECK(me.sequence == std::stol(name.substr(10)));
  CHECK(admin.get(w.path + "/" + name) == info);
  CHECK(std::stol(basename_of(n1).substr(10)) < me.sequence);
  CHECK(me.sequence < std::stol(basename_of(n3).substr(10)));

  // It follows the lower native master: not leader, and Mesos sees master 1 lead.
  CHECK(offkv_election_wait(e, 1, 1000) == OFFKV_ETIMEOUT);
  int leader = -1;
  REQUIRE(offkv_election_is_leader(e, &leader) == OFFKV_OK);
  CHECK(leader == 0);
  CHECK(mesos_leader(admin.children(w.path)).name == basename_of(n1));

  // Master 1's session ends: offkv's contender leads, and a Mesos detector reading the
  // group sees it: the lowest json.info_ child, its label json.info, its data the
  // MasterInfo JSON offkv wrote.
  master1.close();
  REQUIRE(offkv_election_wait(e, 1, kWaitMs) == OFFKV_OK);
  MesosView view = mesos_leader(admin.children(w.path));
  CHECK(view.name == name);
  CHECK(view.label == "json.info");
  CHECK(view.sequence == me.sequence);
  CHECK(admin.get(w.path + "/" + view.name) == info);

  // Withdrawn, it hands over to the later native master.
  REQUIRE(offkv_election_withdraw(e) == OFFKV_OK);
  CHECK(mesos_leader(admin.children(w.path)).name == basename_of(n3));
  CHECK_FALSE(admin.get(w.path + "/" + name).has_value());
  offkv_election_free(e);
}

TEST_CASE("an offkv group labeled json.info lists native members and is listed by them",
          "[zk][mesos][group]") {
  World w;
  Native admin(w.hosts);
  admin.create_group(w.path);
  Native master(w.hosts);
  std::string n = master.join(w.path, kLabel, master_info("master-1", 5050));
  offkv_group *g = nullptr;
  REQUIRE(offkv_group_open_labeled(w.open(), w.group.c_str(), kLabel, nullptr, nullptr,
                                   &g) == OFFKV_OK);
  const std::string info = master_info("offkv", 5051);
  REQUIRE(offkv_group_join(g, info.data(), info.size()) == OFFKV_OK);
  offkv_member self = OFFKV_MEMBER_INIT;
  REQUIRE(offkv_group_self(g, &self) == OFFKV_OK);
  Member me = take(self);
  offkv_members list = OFFKV_MEMBERS_INIT;
  REQUIRE(offkv_group_members(g, &list) == OFFKV_OK);
  REQUIRE(list.count == 2);
  CHECK(std::string(list.items[0]->key) == w.group + "/" + basename_of(n));
  CHECK(std::string(list.items[1]->key) == me.key);
  offkv_members_free(&list);
  // The native listing shows offkv's member as one of Mesos' own.
  auto kids = admin.children(w.path);
  CHECK(std::find(kids.begin(), kids.end(), basename_of(me.key)) != kids.end());
  CHECK(admin.get(w.path + "/" + basename_of(me.key)) == info);
  REQUIRE(offkv_group_leave(g) == OFFKV_OK);
  CHECK(admin.children(w.path) == std::vector<std::string>{basename_of(n)});
  offkv_group_free(g);
}

namespace {

// A TCP forwarder on 127.0.0.1 to the server that, once armed with a marker, forwards
// the next client request containing it, then drops whatever the server answers and
// cuts the connection: the request is applied, its reply is lost (an unknown
// outcome for the client). New connections are forwarded normally again.
class LossyProxy {
 public:
  explicit LossyProxy(int target_port) : target_port_(target_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
    REQUIRE(listen(listener_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~LossyProxy() {
    stop_ = true;
    shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    accept_thread_.join();
    for (auto &t : pipes_) t.join();
  }

  int port() const { return port_; }
  void arm(const std::string &marker) {
    std::lock_guard<std::mutex> lock(mutex_);
    marker_ = marker;
  }
  bool cut() const { return cut_; }

 private:
  void accept_loop() {
    for (;;) {
      int client = accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      if (stop_) {
        ::close(client);
        return;
      }
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(target_port_));
      if (connect(server, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      pipes_.emplace_back([this, client, server] { pipe(client, server); });
    }
  }

  void pipe(int client, int server) {
    std::vector<char> buf(1 << 16);
    bool drop_replies = false;
    auto cut_at = std::chrono::steady_clock::time_point::max();
    while (!stop_ && std::chrono::steady_clock::now() < cut_at) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (poll(fds, 2, 50) < 0) break;
      bool done = false;
      if (fds[0].revents) {
        ssize_t n = read(client, buf.data(), buf.size());
        if (n <= 0) break;
        if (!drop_replies) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!marker_.empty() &&
              std::search(buf.begin(), buf.begin() + n, marker_.begin(), marker_.end()) !=
                  buf.begin() + n) {
            marker_.clear();
            drop_replies = true;  // forward this request, lose its reply
            cut_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
          }
        }
        done = send(server, buf.data(), n, MSG_NOSIGNAL) != n;
      }
      if (!done && fds[1].revents) {
        ssize_t n = read(server, buf.data(), buf.size());
        if (n <= 0) break;
        if (!drop_replies) done = send(client, buf.data(), n, MSG_NOSIGNAL) != n;
      }
      if (done) break;
    }
    if (drop_replies) cut_ = true;
    ::close(client);
    ::close(server);
  }

  int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::mutex mutex_;
  std::string marker_;
  std::thread accept_thread_;
  std::vector<std::thread> pipes_;  // touched by the accept thread only, then joined
};

int port_of(const std::string &hosts) {  // the first "host:port"
  std::string first = hosts.substr(0, hosts.find(','));
  return std::stoi(first.substr(first.rfind(':') + 1));
}

}  // namespace

TEST_CASE("a labeled create whose reply is lost adopts its node by payload",
          "[zk][mesos][outcome]") {
  World w;
  Native admin(w.hosts);
  admin.create_group(w.path);
  Native master(w.hosts);
  master.join(w.path, kLabel, master_info("master-1", 5050));
  LossyProxy proxy(port_of(w.hosts));
  // Closed before the proxy goes.
  struct Closer {
    offkv_client *c;
    ~Closer() { offkv_client_free(c); }
  } closer{open_client("zk://127.0.0.1:" + std::to_string(proxy.port()) + w.prefix +
                       "?session_timeout_ms=10000")};
  offkv_client *c = closer.c;
  // The next json.info child gets ZooKeeper's counter as it is now: if offkv created
  // again instead of adopting the node of the lost reply, its sequence would be higher.
  const int expected = admin.cversion(w.path);
  auto own_nodes = [&](const std::string &payload) {
    std::vector<std::string> out;
    for (const auto &k : admin.children(w.path))
      if (k.rfind("json.info_", 0) == 0 && admin.get(w.path + "/" + k) == payload)
        out.push_back(k);
    return out;
  };

  SECTION("an election") {
    const std::string info = master_info("offkv-lost-reply-election", 5051);
    proxy.arm("offkv-lost-reply-election");
    offkv_election *e = nullptr;
    REQUIRE(offkv_election_contend_labeled(c, w.group.c_str(), kLabel, info.data(),
                                           info.size(), nullptr, nullptr,
                                           &e) == OFFKV_OK);
    REQUIRE(eventually([&] { return election_member(e).has_value(); }));
    CHECK(proxy.cut());
    Member me = *election_member(e);
    CHECK(me.sequence == expected);
    CHECK(own_nodes(info) == std::vector<std::string>{basename_of(me.key)});
    // It is a working contender: the master ahead of it leaves, it leads.
    master.close();
    REQUIRE(offkv_election_wait(e, 1, kWaitMs) == OFFKV_OK);
    CHECK(mesos_leader(admin.children(w.path)).name == basename_of(me.key));
    REQUIRE(offkv_election_withdraw(e) == OFFKV_OK);
    CHECK(own_nodes(info).empty());
    offkv_election_free(e);
  }
  SECTION("a group member") {
    const std::string info = master_info("offkv-lost-reply-group", 5052);
    offkv_group *g = nullptr;
    REQUIRE(offkv_group_open_labeled(c, w.group.c_str(), kLabel, nullptr, nullptr, &g) ==
            OFFKV_OK);
    proxy.arm("offkv-lost-reply-group");
    REQUIRE(offkv_group_join(g, info.data(), info.size()) == OFFKV_OK);
    Member me;
    REQUIRE(eventually([&] {
      offkv_member self = OFFKV_MEMBER_INIT;
      if (offkv_group_self(g, &self) != OFFKV_OK) return false;
      me = take(self);
      return true;
    }));
    CHECK(proxy.cut());
    CHECK(me.sequence == expected);
    CHECK(own_nodes(info) == std::vector<std::string>{basename_of(me.key)});
    REQUIRE(offkv_group_leave(g) == OFFKV_OK);
    CHECK(own_nodes(info).empty());
    offkv_group_free(g);
  }
}
