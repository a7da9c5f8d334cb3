// offkv-zkd: ZooKeeper's client protocol served over any offkv backend (docs/zkd.md).
// One ZooKeeper session is one offkv::Client (its own backend session); the Stat
// fields offkv does not keep (zxids, times, cversion, ACLs) are kept here, in memory.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client.hpp"
#include "jute.hpp"
// zkd speaks in the public numbers (OFFKV_E*, OFFKV_EVENT_*), equal to the core's.
#include "offkv.h"

namespace zkd {

// Operation codes (ZooDefs.OpCode).
namespace op {
constexpr int notification = 0, create = 1, remove = 2, exists = 3, get_data = 4,
              set_data = 5, get_acl = 6, set_acl = 7, get_children = 8, sync = 9,
              ping = 11, get_children2 = 12, check = 13, multi = 14, create2 = 15,
              reconfig = 16, check_watches = 17, remove_watches = 18,
              create_container = 19, delete_container = 20, create_ttl = 21,
              multi_read = 22, auth = 100, set_watches = 101, sasl = 102,
              get_ephemerals = 103, get_all_children_number = 104, set_watches2 = 105,
              add_watch = 106, whoami = 107, create_session = -10, close_session = -11,
              error = -1;
}

// Error codes (KeeperException.Code).
namespace err {
constexpr int ok = 0, system_error = -1, runtime_inconsistency = -2, connection_loss = -4,
              marshalling = -5, unimplemented = -6, operation_timeout = -7,
              bad_arguments = -8, no_node = -101, no_auth = -102, bad_version = -103,
              no_children_for_ephemerals = -108, node_exists = -110, not_empty = -111,
              session_expired = -112, invalid_acl = -114, auth_failed = -115,
              no_watcher = -121, reconfig_disabled = -123;
}

// Watch event types (Watcher.Event.EventType) and the SyncConnected state.
namespace ev {
constexpr int created = 1, deleted = 2, data_changed = 3, children_changed = 4;
constexpr int sync_connected = 3;
}  // namespace ev

constexpr int kNotificationXid = -1, kPingXid = -2, kAuthXid = -4, kSetWatchesXid = -8;

struct ZkError {
  int code;
  std::string message;
};
[[noreturn]] void zk_fail(int code, std::string message = {});
int map_offkv_error(int offkv_code);

std::int64_t now_ms();

// What zkd knows of a node beyond offkv's value and version.
struct Meta {
  std::int64_t version = 0;  // offkv version this was computed for
  std::int64_t czxid = 0, mzxid = 0, ctime = 0, mtime = 0, pzxid = 0;
  std::int32_t cversion = 0, aversion = 0;
  std::int64_t owner = 0;
  std::uint64_t children_hash = 0;
  bool hash_known = false;
  std::vector<Acl> acl;  // empty: world:anyone, all permissions
};

// Node metadata of the whole server, and the zxid counter (one per zkd process,
// monotonic across restarts: it starts from the wall clock in microseconds).
class MetaStore {
 public:
  MetaStore();
  std::int64_t next_zxid() { return ++zxid_; }
  std::int64_t last_zxid() const { return zxid_.load(); }
  // The node is at offkv version `version`: returns its metadata, assigning zxids to a
  // version not seen before (a lower one means the node was created anew).
  Meta observe(const std::string &path, std::int64_t version);
  // The node's children are `children`: a set different from the last one seen counts
  // as a child change (cversion, pzxid), unless zkd made the change itself.
  Meta observe_children(const std::string &path,
                        const std::vector<std::string> &children);
  void created(const std::string &path, std::int64_t owner, std::int64_t zxid,
               std::vector<Acl> acl);
  void changed(const std::string &path, std::int64_t version, std::int64_t zxid);
  void erased(const std::string &path, std::int64_t zxid);
  // set_acl: checks the ACL version, stores the list, returns the new metadata.
  Meta set_acl(const std::string &path, std::int64_t version, std::int32_t expected,
               std::vector<Acl> acl);
  Meta get(const std::string &path);
  std::vector<std::string> owned_by(std::int64_t session);
  std::size_t size();

 private:
  void child_changed(const std::string &parent, std::int64_t zxid);
  std::mutex mutex_;
  std::unordered_map<std::string, Meta> nodes_;
  std::atomic<std::int64_t> zxid_;
};

class Server;
class Conn;
class OracleSession;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Server *server = nullptr;
  std::int64_t id = 0;
  std::string passwd;
  int timeout_ms = 0;
  std::shared_ptr<offkv::Client> client;
  std::unique_ptr<OracleSession> oracle;

  std::mutex mutex;
  std::shared_ptr<Conn> conn;  // the connection serving the session now
  std::chrono::steady_clock::time_point last_heard;
  // Last ping zkd sent the oracle's twin session: zkd keeps the twin alive itself, so
  // the twin ends when zkd ends the session, never earlier by ZooKeeper's own timer.
  std::chrono::steady_clock::time_point oracle_pinged;
  bool expired = false;
  std::deque<std::string> pending;  // events told while no connection was attached
  // While a request is handled, its events wait for its reply: a client registers a
  // watch when the reply comes, and drops an event for a watch it does not know yet.
  bool in_request = false;
  std::deque<std::string> deferred;
  std::set<std::pair<std::string, int>> told_while_away;  // (path, kind) of those
  // One-shot watches per path, each with the state its read saw (data: the offkv
  // version, 0 = absent; children: a hash of the names).
  struct Armed {
    offkv::WatchPtr watch;
    std::uint64_t seen = 0;
  };
  std::map<std::string, std::vector<Armed>> data_watches, child_watches;
  struct Persistent {
    offkv::WatchPtr watch;
    bool recursive = false;
  };
  std::map<std::string, Persistent> persistent;
  std::vector<std::pair<std::string, std::string>> auth;  // (scheme, id)
  std::uint64_t listener = 0;
  std::int64_t recent_events = 0;

  void touch();
  // Sends a notification now, or keeps it for the next connection.
  void notify(int type, const std::string &path, int kind);
  void cancel_watches();
};

// One client connection; its requests are handled in order by its own worker thread.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Server *server, int fd) : server_(server), fd_(fd) {}
  ~Conn();
  void run();                             // reader; starts the worker
  bool send(const std::string &payload);  // one framed packet; false once dead
  void shutdown();
  bool dead() const { return dead_; }
  std::shared_ptr<Session> session;

 private:
  bool read_full(char *buf, std::size_t n);
  void worker();
  void four_letter(const std::string &word);
  bool handshake(const std::string &payload);
  Server *server_;
  int fd_;
  std::atomic<bool> dead_{false};
  std::mutex write_mutex_;
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::string> queue_;
  bool queue_closed_ = false;
  std::thread worker_;
};

struct Config {
  std::string listen = "127.0.0.1:2181";
  std::string url;
  std::string oracle;      // "" or zk://host:port
  std::string oracle_log;  // "" = stderr only
  std::string port_file;
  int min_session_timeout = 4000;
  int max_session_timeout = 40000;
  bool verbose = false;
};

class Server {
 public:
  explicit Server(Config config);
  int run();  // never returns unless the listener fails
  MetaStore meta;
  const Config config;

  std::shared_ptr<Session> new_session(int timeout_ms);
  std::shared_ptr<Session> find_session(std::int64_t id);
  void expire(const std::shared_ptr<Session> &session, const std::string &why);
  void close_session(const std::shared_ptr<Session> &session);
  // Handles one request (everything but ping and the connect request); returns the
  // reply payload, or "" for none.
  std::string handle(const std::shared_ptr<Session> &session, const std::string &packet,
                     bool *close_after);
  std::string srvr_text();
  void close_all();         // SIGTERM: every session ends, its ephemerals go
  std::mutex oracle_mutex;  // oracle mode: one request at a time, in both stores

  std::atomic<std::uint64_t> received{0}, sent{0}, connections{0};

 private:
  void reaper();
  std::mutex sessions_mutex_;
  std::unordered_map<std::int64_t, std::shared_ptr<Session>> sessions_;
};

// The request handlers (ops.cpp). `r` is positioned after the request header.
std::string handle_request(Server &server, Session &session, int xid, int type, Reader &r,
                           bool *close_after);
std::string reply_header(int xid, std::int64_t zxid, int error);

// Oracle mode (oracle.cpp): a twin session on a real ZooKeeper.
class OracleSession {
 public:
  static std::unique_ptr<OracleSession> open(Server &server, const std::string &url,
                                             int timeout_ms, std::int64_t zkd_session);
  ~OracleSession();
  void ping();
  // Sends the request (paths translated) and compares ZooKeeper's reply with ours.
  void check(int type, const std::string &request, const std::string &our_reply);
  // The watch events zkd told this session; compared when the session ends.
  void told(int type, const std::string &path);
  void finish();  // compares the events and closes the twin session

  struct Impl;
  std::unique_ptr<Impl> impl;
};
void oracle_log(const std::string &line);

}  // namespace zkd
