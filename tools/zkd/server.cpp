// Connections, sessions and node metadata of offkv-zkd.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "error.hpp"
#include "zkd.hpp"

namespace zkd {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- MetaStore ----

MetaStore::MetaStore()
    : zxid_(std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count()) {}

Meta MetaStore::observe(const std::string &path, std::int64_t version) {
  std::lock_guard<std::mutex> lock(mutex_);
  Meta &m = nodes_[path];
  if (m.czxid == 0 || version < m.version) {
    if (m.czxid != 0) m = Meta{};  // created anew since
    m.czxid = m.mzxid = ++zxid_;
    m.ctime = m.mtime = now_ms();
    m.version = version;
  } else if (version > m.version) {
    m.mzxid = ++zxid_;
    m.mtime = now_ms();
    m.version = version;
  }
  return m;
}

Meta MetaStore::observe_children(const std::string &path,
                                 const std::vector<std::string> &children) {
  std::vector<std::string> sorted = children;
  std::sort(sorted.begin(), sorted.end());
  std::uint64_t h = 1469598103934665603ull;
  for (const auto &c : sorted) {
    for (unsigned char ch : c) h = (h ^ ch) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Meta &m = nodes_[path];
  if (!m.hash_known) {
    m.hash_known = true;
  } else if (m.children_hash != h) {
    ++m.cversion;
    m.pzxid = ++zxid_;
  }
  m.children_hash = h;
  return m;
}

void MetaStore::child_changed(const std::string &parent, std::int64_t zxid) {
  Meta &p = nodes_[parent];
  ++p.cversion;
  p.pzxid = zxid;
  p.hash_known = false;
}

static std::string parent_path(const std::string &path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

void MetaStore::created(const std::string &path, std::int64_t owner, std::int64_t zxid,
                        std::vector<Acl> acl) {
  std::lock_guard<std::mutex> lock(mutex_);
  Meta m;
  m.version = 1;
  m.czxid = m.mzxid = m.pzxid = zxid;
  m.ctime = m.mtime = now_ms();
  m.owner = owner;
  if (!(acl.size() == 1 && acl[0].scheme == "world" && acl[0].perms == 31))
    m.acl = std::move(acl);
  nodes_[path] = m;
  child_changed(parent_path(path), zxid);
}

void MetaStore::changed(const std::string &path, std::int64_t version,
                        std::int64_t zxid) {
  std::lock_guard<std::mutex> lock(mutex_);
  Meta &m = nodes_[path];
  if (m.czxid == 0) {
    m.czxid = zxid;
    m.ctime = now_ms();
  }
  m.version = version;
  m.mzxid = zxid;
  m.mtime = now_ms();
}

void MetaStore::erased(const std::string &path, std::int64_t zxid) {
  std::lock_guard<std::mutex> lock(mutex_);
  nodes_.erase(path);
  child_changed(parent_path(path), zxid);
}

Meta MetaStore::set_acl(const std::string &path, std::int64_t version,
                        std::int32_t expected, std::vector<Acl> acl) {
  std::lock_guard<std::mutex> lock(mutex_);
  Meta &m = nodes_[path];
  if (expected != -1 && expected != m.aversion) zk_fail(err::bad_version, path);
  ++m.aversion;
  m.version = version;
  if (acl.size() == 1 && acl[0].scheme == "world" && acl[0].perms == 31)
    m.acl.clear();
  else
    m.acl = std::move(acl);
  return m;
}

Meta MetaStore::get(const std::string &path) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = nodes_.find(path);
  return it == nodes_.end() ? Meta{} : it->second;
}

std::vector<std::string> MetaStore::owned_by(std::int64_t session) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (auto &kv : nodes_)
    if (kv.second.owner == session) out.push_back(kv.first);
  return out;
}

std::size_t MetaStore::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return nodes_.size();
}

// ---- Session ----

void Session::touch() {
  std::lock_guard<std::mutex> lock(mutex);
  last_heard = std::chrono::steady_clock::now();
}

void Session::notify(int type, const std::string &path, int kind) {
  Writer w;
  w.raw(reply_header(kNotificationXid, -1, 0))
      .i32(type)
      .i32(ev::sync_connected)
      .str(path);
  std::string packet = w.take();
  if (server->config.verbose)
    std::fprintf(stderr, "zkd: session 0x%llx event %d %s\n",
                 static_cast<unsigned long long>(id), type, path.c_str());
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (expired) return;
    ++recent_events;
    if (in_request) {
      deferred.push_back(packet);
    } else if (!(conn && conn->send(packet))) {
      pending.push_back(packet);
      if (kind < 2) told_while_away.insert({path, kind});
    }
  }
  if (oracle) oracle->told(type, path);
}

void Session::cancel_watches() {
  std::vector<offkv::WatchPtr> all;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto *m : {&data_watches, &child_watches})
      for (auto &kv : *m)
        for (auto &a : kv.second) all.push_back(a.watch);
    for (auto &w : persistent) all.push_back(w.second.watch);
    data_watches.clear();
    child_watches.clear();
    persistent.clear();
  }
  for (auto &w : all) w->cancel();
}

// ---- Conn ----

Conn::~Conn() {
  if (fd_ >= 0) ::close(fd_);
}

bool Conn::read_full(char *buf, std::size_t n) {
  while (n > 0) {
    ssize_t got = ::recv(fd_, buf, n, 0);
    if (got <= 0) {
      if (got < 0 && errno == EINTR) continue;
      return false;
    }
    buf += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

bool Conn::send(const std::string &payload) {
  if (dead_) return false;
  std::string frame;
  frame.reserve(payload.size() + 4);
  Writer w;
  w.i32(static_cast<std::int32_t>(payload.size()));
  frame = w.take() + payload;
  std::lock_guard<std::mutex> lock(write_mutex_);
  const char *p = frame.data();
  std::size_t n = frame.size();
  while (n > 0) {
    ssize_t put = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (put <= 0) {
      if (put < 0 && errno == EINTR) continue;
      dead_ = true;
      return false;
    }
    p += put;
    n -= static_cast<std::size_t>(put);
  }
  ++server_->sent;
  return true;
}

void Conn::shutdown() {
  dead_ = true;
  ::shutdown(fd_, SHUT_RDWR);
}

void Conn::four_letter(const std::string &word) {
  std::string out;
  if (word == "ruok")
    out = "imok";
  else if (word == "srvr")
    out = server_->srvr_text();
  else
    out = word + " is not executed because it is not in the whitelist.\n";
  std::lock_guard<std::mutex> lock(write_mutex_);
  ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
}

bool Conn::handshake(const std::string &payload) {
  Reader r(payload);
  r.i32();  // protocol version
  r.i64();  // last zxid seen
  int timeout = r.i32();
  std::int64_t id = r.i64();
  std::string passwd = r.buffer();
  auto respond = [&](int t, std::int64_t sid, const std::string &pw) {
    Writer w;
    w.i32(0).i32(t).i64(sid).buffer(pw).boolean(false);
    return send(w.take());
  };
  if (id == 0) {
    std::shared_ptr<Session> s;
    try {
      s = server_->new_session(timeout);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "zkd: cannot open a session on the backend: %s\n", e.what());
      return false;
    }
    std::lock_guard<std::mutex> lock(s->mutex);
    session = s;
    s->conn = shared_from_this();
    s->last_heard = std::chrono::steady_clock::now();
    return respond(s->timeout_ms, s->id, s->passwd);
  }
  auto s = server_->find_session(id);
  if (!s || s->passwd != passwd) {
    respond(0, 0, std::string(16, '\0'));
    return false;
  }
  std::shared_ptr<Conn> previous;
  std::lock_guard<std::mutex> lock(s->mutex);
  if (s->expired) {
    respond(0, 0, std::string(16, '\0'));
    return false;
  }
  previous = s->conn;
  session = s;
  s->conn = shared_from_this();
  s->last_heard = std::chrono::steady_clock::now();
  if (previous && previous.get() != this) previous->shutdown();
  if (!respond(s->timeout_ms, s->id, s->passwd)) return false;
  while (!s->pending.empty()) {
    if (!send(s->pending.front())) break;
    s->pending.pop_front();
  }
  return true;
}

void Conn::run() {
  ++server_->connections;
  char head[4];
  if (!read_full(head, 4)) return;
  std::string word(head, 4);
  static const char *const kWords[] = {"ruok", "srvr", "stat", "mntr", "conf", "cons",
                                       "crst", "dump", "envi", "gtmk", "isro", "srst",
                                       "stmk", "wchc", "wchp", "wchs", "dirs"};
  for (const char *w : kWords) {
    if (word == w) {
      four_letter(word);
      return;
    }
  }
  auto frame_len = [](const char *h) {
    Reader r(h, 4);
    return r.i32();
  };
  std::int32_t len = frame_len(head);
  if (len <= 0 || len > (16 << 20)) return;
  std::string payload(static_cast<std::size_t>(len), '\0');
  if (!read_full(&payload[0], payload.size())) return;
  try {
    if (!handshake(payload)) {
      shutdown();
      return;
    }
  } catch (const JuteError &) {
    return;
  }
  auto self = shared_from_this();
  worker_ = std::thread([self] { self->worker(); });
  for (;;) {
    if (!read_full(head, 4)) break;
    len = frame_len(head);
    if (len < 8 || len > (16 << 20)) break;
    payload.assign(static_cast<std::size_t>(len), '\0');
    if (!read_full(&payload[0], payload.size())) break;
    ++server_->received;
    session->touch();
    Reader r(payload);
    int xid = r.i32(), type = r.i32();
    if (type == op::ping) {
      send(reply_header(xid, server_->meta.last_zxid(), 0));
      if (session->oracle) session->oracle->ping();
      continue;
    }
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.push_back(std::move(payload));
    queue_cv_.notify_one();
  }
  dead_ = true;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_closed_ = true;
    queue_cv_.notify_one();
  }
  worker_.join();
  std::lock_guard<std::mutex> lock(session->mutex);
  if (session->conn.get() == this) {
    session->conn.reset();
    session->last_heard = std::chrono::steady_clock::now();
  }
}

void Conn::worker() {
  for (;;) {
    std::string packet;
    {
      std::unique_lock<std::mutex> lock(queue_mutex_);
      queue_cv_.wait(lock, [&] { return queue_closed_ || !queue_.empty(); });
      if (queue_.empty()) return;
      packet = std::move(queue_.front());
      queue_.pop_front();
    }
    bool close_after = false;
    {
      std::lock_guard<std::mutex> lock(session->mutex);
      session->in_request = true;
    }
    std::string reply = server_->handle(session, packet, &close_after);
    {
      // The reply first, then the events told while it was being made.
      std::lock_guard<std::mutex> lock(session->mutex);
      session->in_request = false;
      if (!reply.empty()) send(reply);
      for (auto &event : session->deferred)
        if (!(session->conn && session->conn->send(event)))
          session->pending.push_back(event);
      session->deferred.clear();
    }
    if (close_after) {
      shutdown();
      return;
    }
  }
}

// ---- Server ----

Server::Server(Config c) : config(std::move(c)) {}

std::shared_ptr<Session> Server::new_session(int timeout) {
  static std::mutex rng_mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  auto s = std::make_shared<Session>();
  s->server = this;
  s->timeout_ms =
      std::max(config.min_session_timeout, std::min(config.max_session_timeout, timeout));
  {
    std::lock_guard<std::mutex> lock(rng_mutex);
    do {
      s->id = static_cast<std::int64_t>(rng() & 0x7fffffffffffffffull);
    } while (s->id == 0);
    s->passwd.resize(16);
    for (auto &ch : s->passwd) ch = static_cast<char>(rng() & 0xff);
  }
  offkv::Options options;
  options.session_timeout_ms =
      std::max(OFFKV_SESSION_TIMEOUT_MIN_MS,
               std::min(OFFKV_SESSION_TIMEOUT_MAX_MS, s->timeout_ms));
  s->client = offkv::Client::open(config.url, options, nullptr);
  std::weak_ptr<Session> weak = s;
  s->listener =
      s->client->add_session_listener([this, weak](int state, const std::string &m) {
        if (state != OFFKV_SESSION_LOST) return;
        // The backend ended the session: so does ZooKeeper's (not on this thread: the
        // listener must not call the client).
        std::thread([this, weak, m] {
          if (auto s = weak.lock()) expire(s, "backend session lost: " + m);
        }).detach();
      });
  if (!config.oracle.empty())
    s->oracle = OracleSession::open(*this, config.oracle, s->timeout_ms, s->id);
  s->last_heard = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  sessions_[s->id] = s;
  if (config.verbose)
    std::fprintf(stderr, "zkd: session 0x%llx opened, timeout %d ms\n",
                 static_cast<unsigned long long>(s->id), s->timeout_ms);
  return s;
}

std::shared_ptr<Session> Server::find_session(std::int64_t id) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Server::expire(const std::shared_ptr<Session> &s, const std::string &why) {
  {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    auto it = sessions_.find(s->id);
    if (it == sessions_.end() || it->second != s) return;
    sessions_.erase(it);
  }
  std::shared_ptr<Conn> conn;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->expired = true;
    conn = std::move(s->conn);
  }
  if (config.verbose)
    std::fprintf(stderr, "zkd: session 0x%llx ends: %s\n",
                 static_cast<unsigned long long>(s->id), why.c_str());
  if (conn) conn->shutdown();
  // With an oracle, both stores lose the session's ephemerals between two requests
  // (requests hold oracle_mutex): another session never sees them gone on one side
  // only.
  std::unique_lock<std::mutex> oracle_lock(oracle_mutex, std::defer_lock);
  if (s->oracle) oracle_lock.lock();
  s->client->remove_session_listener(s->listener);
  s->cancel_watches();
  s->client->close();
  if (s->oracle) s->oracle->finish();
}

void Server::close_session(const std::shared_ptr<Session> &s) {
  {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    sessions_.erase(s->id);
  }
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->expired = true;
  }
  s->client->remove_session_listener(s->listener);
  s->cancel_watches();
  s->client->close();
}

std::string Server::handle(const std::shared_ptr<Session> &s, const std::string &packet,
                           bool *close_after) {
  std::unique_lock<std::mutex> oracle_lock(oracle_mutex, std::defer_lock);
  if (s->oracle) oracle_lock.lock();
  Reader r(packet);
  int xid = r.i32(), type = r.i32();
  std::string reply;
  if (type == op::auth) {
    try {
      r.i32();
      std::string scheme = r.str(), auth = r.buffer();
      int code = 0;
      if (scheme == "digest" && auth.find(':') != std::string::npos) {
        std::lock_guard<std::mutex> lock(s->mutex);
        s->auth.push_back({scheme, auth.substr(0, auth.find(':'))});
      } else {
        code = err::auth_failed;
      }
      reply = reply_header(kAuthXid, meta.last_zxid(), code);
    } catch (const JuteError &) {
      reply = reply_header(kAuthXid, meta.last_zxid(), err::marshalling);
    }
  } else {
    reply = handle_request(*this, *s, xid, type, r, close_after);
  }
  if (s->oracle) {
    s->oracle->check(type, packet, reply);
    if (*close_after) s->oracle->finish();
  }
  return reply;
}

std::string Server::srvr_text() {
  std::size_t n = 0;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    n = sessions_.size();
  }
  std::ostringstream out;
  out << "Zookeeper version: offkv-zkd " << OFFKV_VERSION_STRING
      << " (ZooKeeper client protocol 3.5-3.8) on "
      << config.url.substr(0, config.url.find(':')) << "://\n"
      << "Latency min/avg/max: 0/0.0/0\n"
      << "Received: " << received.load() << "\n"
      << "Sent: " << sent.load() << "\n"
      << "Connections: " << n << "\n"
      << "Outstanding: 0\n"
      << "Zxid: 0x" << std::hex << meta.last_zxid() << std::dec << "\n"
      << "Mode: standalone\n"
      << "Node count: " << meta.size() << "\n";
  return out.str();
}

void Server::reaper() {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::vector<std::shared_ptr<Session>> doomed;
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      for (auto &kv : sessions_) {
        Session &s = *kv.second;
        std::lock_guard<std::mutex> slock(s.mutex);
        if (now - s.last_heard > std::chrono::milliseconds(s.timeout_ms)) {
          doomed.push_back(kv.second);
        } else if (s.oracle &&
                   now - s.oracle_pinged > std::chrono::milliseconds(s.timeout_ms / 3)) {
          s.oracle->ping();
          s.oracle_pinged = now;
        }
      }
    }
    for (auto &s : doomed) expire(s, "session timeout");
  }
}

int Server::run() {
  std::string host = config.listen;
  int port = 2181;
  auto colon = host.rfind(':');
  if (colon != std::string::npos) {
    port = std::stoi(host.substr(colon + 1));
    host = host.substr(0, colon);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "zkd: --listen wants IPv4ADDRESS:PORT, not %s\n",
                 config.listen.c_str());
    return 2;
  }
  if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 128) != 0) {
    std::fprintf(stderr, "zkd: cannot listen on %s: %s\n", config.listen.c_str(),
                 std::strerror(errno));
    return 1;
  }
  socklen_t alen = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &alen);
  int bound = ntohs(addr.sin_port);
  std::printf("offkv-zkd listening on %s:%d, serving %s\n", host.c_str(), bound,
              config.url.c_str());
  std::fflush(stdout);
  if (!config.port_file.empty()) {
    std::string tmp = config.port_file + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::rename(tmp.c_str(), config.port_file.c_str());
  }
  std::thread([this] { reaper(); }).detach();
  for (;;) {
    int c = ::accept(fd, nullptr, nullptr);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE) continue;
      std::perror("zkd: accept");
      return 1;
    }
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto conn = std::make_shared<Conn>(this, c);
    std::thread([conn] { conn->run(); }).detach();
  }
}

void Server::close_all() {
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    for (auto &kv : sessions_) all.push_back(kv.second);
  }
  for (auto &s : all) expire(s, "server stopping");
}

}  // namespace zkd
