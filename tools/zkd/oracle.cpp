// Cross-check mode (--oracle zk://HOST:PORT[/chroot]): every ZooKeeper session of zkd
// has a twin session on a real ZooKeeper; each request goes to both and every
// difference in the answers (error code, data, Stat versions, children, created paths,
// watch events) is logged as a DIVERGENCE (docs/zkd.md lists the expected ones).
// Requests are handled one at a time across all sessions in this mode, so both stores
// see the same order.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "zkd.hpp"

namespace zkd {

namespace {

std::mutex g_log_mutex;
std::unordered_map<std::string, std::string> g_to_oracle, g_from_oracle;  // seq names
std::set<std::string> g_containers;  // created as containers (zkd paths)

// The path, or one above it, was created as a container: ZooKeeper reaps those once
// empty, zkd never does (docs/zkd.md).
bool in_container(const std::string &path) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  for (std::string p = path; !p.empty() && p != "/"; p = p.substr(0, p.rfind('/')))
    if (g_containers.count(p)) return true;
  return false;
}

std::string hex(std::int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string printable(const std::string &s) {
  std::string out;
  for (unsigned char c : s.substr(0, 64)) out += (c >= 32 && c < 127) ? char(c) : '.';
  return s.size() > 64 ? out + "..." : out;
}

}  // namespace

std::string g_oracle_log_file;
std::atomic<long> g_compared{0}, g_divergences{0};

void oracle_log(const std::string &line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::fprintf(stderr, "zkd oracle: %s\n", line.c_str());
  if (!g_oracle_log_file.empty()) {
    std::ofstream out(g_oracle_log_file, std::ios::app);
    out << line << "\n";
  }
}

struct OracleSession::Impl {
  Server *server = nullptr;
  std::string chroot;
  int fd = -1;
  std::int64_t zk_session = 0, zkd_session = 0;
  std::thread reader;
  std::mutex mutex;
  std::condition_variable cv;
  std::map<int, std::string> replies;
  std::vector<std::pair<int, std::string>> ours, theirs;  // watch events
  bool closed = false;
  int next_xid = 1 << 30;  // zkd's own requests (the chroot's creation)

  std::mutex write_mutex;
  bool finished = false;
  bool send(const std::string &payload) {
    std::lock_guard<std::mutex> lock(write_mutex);
    Writer w;
    w.i32(static_cast<std::int32_t>(payload.size())).raw(payload);
    std::string f = w.take();
    return ::send(fd, f.data(), f.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(f.size());
  }
  bool read_full(char *p, std::size_t n) {
    while (n) {
      ssize_t got = ::recv(fd, p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }
  bool read_packet(std::string &out) {
    char h[4];
    if (!read_full(h, 4)) return false;
    Reader r(h, 4);
    std::int32_t len = r.i32();
    if (len < 0 || len > (64 << 20)) return false;
    out.assign(static_cast<std::size_t>(len), '\0');
    return read_full(&out[0], out.size());
  }
  void read_loop() {
    std::string p;
    while (read_packet(p)) {
      try {
        Reader r(p);
        int xid = r.i32();
        r.i64();
        r.i32();
        std::lock_guard<std::mutex> lock(mutex);
        if (xid == kNotificationXid) {
          int type = r.i32();
          r.i32();
          theirs.push_back({type, from_oracle(r.str())});
        } else if (xid != kPingXid) {
          replies[xid] = p;
          cv.notify_all();
        }
      } catch (const JuteError &) {
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    closed = true;
    cv.notify_all();
  }
  // One request, its reply (empty on a broken or silent oracle).
  std::string call(int xid, const std::string &payload) {
    if (!send(payload)) return {};
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(15), [&] { return closed || replies.count(xid); });
    auto it = replies.find(xid);
    if (it == replies.end()) return {};
    std::string out = std::move(it->second);
    replies.erase(it);
    return out;
  }

  std::string to_oracle(const std::string &path) {
    std::string p = path;
    {
      std::lock_guard<std::mutex> lock(g_log_mutex);
      // The longest mapped prefix (a sequential node or one below it).
      for (std::size_t end = p.size(); end > 1; end = p.rfind('/', end - 1)) {
        auto it = g_to_oracle.find(p.substr(0, end));
        if (it != g_to_oracle.end()) {
          p = it->second + p.substr(end);
          break;
        }
        if (end == 0 || p.rfind('/', end - 1) == std::string::npos) break;
      }
    }
    // ZooKeeper's own /zookeeper lies outside the chroot.
    if (chroot.empty() || p == "/zookeeper" || p.rfind("/zookeeper/", 0) == 0) return p;
    return p == "/" ? chroot : chroot + p;
  }
  std::string from_oracle(const std::string &path) {
    std::string p = path;
    if (!chroot.empty() && p.rfind(chroot, 0) == 0) {
      p = p.substr(chroot.size());
      if (p.empty()) p = "/";
    }
    std::lock_guard<std::mutex> lock(g_log_mutex);
    for (std::size_t end = p.size(); end > 1; end = p.rfind('/', end - 1)) {
      auto it = g_from_oracle.find(p.substr(0, end));
      if (it != g_from_oracle.end()) return it->second + p.substr(end);
      if (p.rfind('/', end - 1) == std::string::npos) break;
    }
    return p;
  }
  std::string name_from_oracle(const std::string &parent, const std::string &name) {
    std::string base = to_oracle(parent);
    std::string p = from_oracle((base == "/" ? "" : base) + "/" + name);
    return p.substr(p.rfind('/') + 1);
  }

  // Re-encodes a request with its paths in the oracle's namespace; "" = not sent.
  std::string translate(int type, const std::string &request) {
    Reader r(request);
    Writer w;
    int xid = r.i32();
    r.i32();
    w.i32(xid).i32(type);
    auto path = [&] { w.str(to_oracle(r.str())); };
    switch (type) {
      case op::create: case op::create2: case op::create_container: case op::create_ttl:
        path(); w.buffer(r.buffer()).acls(r.acls()).i32(r.i32());
        if (type == op::create_ttl) w.i64(r.i64());
        break;
      case op::remove: case op::check: path(); w.i32(r.i32()); break;
      case op::exists: case op::get_data: case op::get_children: case op::get_children2:
        path(); w.boolean(r.boolean()); break;
      case op::set_data: path(); w.buffer(r.buffer()).i32(r.i32()); break;
      case op::get_acl: case op::sync: case op::get_all_children_number:
      case op::get_ephemerals: path(); break;
      case op::set_acl: path(); w.acls(r.acls()).i32(r.i32()); break;
      case op::add_watch: case op::remove_watches: case op::check_watches:
        path(); w.i32(r.i32()); break;
      case op::auth: w.raw(request.substr(8)); break;
      case op::multi:
        for (;;) {
          int t = r.i32();
          bool done = r.boolean();
          int e = r.i32();
          w.i32(t).boolean(done).i32(e);
          if (done) break;
          switch (t) {
            case op::create: case op::create2: case op::create_container: case op::create_ttl:
              path(); w.buffer(r.buffer()).acls(r.acls()).i32(r.i32());
              if (t == op::create_ttl) w.i64(r.i64());
              break;
            case op::remove: case op::check: path(); w.i32(r.i32()); break;
            case op::set_data: path(); w.buffer(r.buffer()).i32(r.i32()); break;
            default: return {};
          }
        }
        break;
      case op::close_session: break;
      default: return {};  // setWatches: the twin never lost its connection
    }
    return w.take();
  }

  void diverge(const std::string &what) {
    ++g_divergences;
    oracle_log("DIVERGENCE session " + hex(zkd_session) + ": " + what);
  }

  void compare_stat(const std::string &ctx, const Stat &a, const Stat &b) {
    std::ostringstream d;
    if (a.version != b.version) d << " version " << a.version << "/" << b.version;
    if (a.cversion != b.cversion) d << " cversion " << a.cversion << "/" << b.cversion;
    if (a.aversion != b.aversion) d << " aversion " << a.aversion << "/" << b.aversion;
    if (a.data_length != b.data_length) d << " dataLength " << a.data_length << "/" << b.data_length;
    if (a.num_children != b.num_children) d << " numChildren " << a.num_children << "/" << b.num_children;
    bool a_eph = a.ephemeral_owner != 0, b_eph = b.ephemeral_owner != 0;
    if (a_eph != b_eph || (a_eph && (a.ephemeral_owner != zkd_session) != (b.ephemeral_owner != zk_session)))
      d << " ephemeralOwner " << hex(a.ephemeral_owner) << "/" << hex(b.ephemeral_owner);
    if (!d.str().empty()) diverge(ctx + " stat (zkd/zookeeper):" + d.str());
  }

  void compare_children(const std::string &ctx, const std::string &parent,
                        std::vector<std::string> a, std::vector<std::string> b) {
    for (auto &n : b) n = name_from_oracle(parent, n);
    // Containers ZooKeeper reaped and zkd keeps.
    a.erase(std::remove_if(a.begin(), a.end(), [&](const std::string &n) {
              return std::find(b.begin(), b.end(), n) == b.end() &&
                     in_container((parent == "/" ? "" : parent) + "/" + n);
            }),
            a.end());
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b) {
      std::string sa, sb;
      for (auto &n : a) sa += " " + n;
      for (auto &n : b) sb += " " + n;
      diverge(ctx + " children zkd [" + sa + " ] zookeeper [" + sb + " ]");
    }
  }

  void created(const std::string &ours_path, const std::string &their_raw, bool sequential,
               const std::string &ctx) {
    std::string theirs_path = their_raw;
    if (!chroot.empty() && theirs_path.rfind(chroot, 0) == 0) theirs_path = theirs_path.substr(chroot.size());
    if (ours_path == theirs_path) return;
    if (sequential) {
      // Sequence numbers differ by design (docs/zkd.md): remember the pair.
      std::lock_guard<std::mutex> lock(g_log_mutex);
      g_to_oracle[ours_path] = theirs_path;
      g_from_oracle[theirs_path] = ours_path;
      return;
    }
    diverge(ctx + " created " + ours_path + " / " + theirs_path);
  }

  void compare(int type, const std::string &request, const std::string &a, const std::string &b) {
    Reader ra(a), rb(b), rq(request);
    rq.i32();
    rq.i32();
    int xid = ra.i32();
    ra.i64();
    rb.i32();
    rb.i64();
    int ea = ra.i32(), eb = rb.i32();
    std::string path = (type == op::multi || type == op::auth || type == op::close_session) ? "" : rq.str();
    std::string ctx = "op " + std::to_string(type) + " " + path + " (xid " + std::to_string(xid) + ")";
    if (type == op::create_container && ea == 0) {
      std::lock_guard<std::mutex> lock(g_log_mutex);
      g_containers.insert(path);
    }
    if (ea != eb) {
      if (!path.empty() && in_container(path) &&
          ((ea == 0 && eb == err::no_node) || (ea == err::node_exists && eb == 0) ||
           (ea == err::not_empty && eb == 0))) {
        oracle_log("documented: " + ctx + " on a container ZooKeeper reaped: " +
                   std::to_string(ea) + "/" + std::to_string(eb));
        return;
      }
      diverge(ctx + " error " + std::to_string(ea) + "/" + std::to_string(eb));
      return;
    }
    if (ea != 0) return;
    switch (type) {
      case op::create: case op::create2: case op::create_container: {
        rq.buffer();
        rq.acls();
        int flags = rq.i32();
        created(ra.str(), rb.str(), (flags & 2) != 0, ctx);
        if (type != op::create) compare_stat(ctx, ra.stat(), rb.stat());
        break;
      }
      case op::exists: case op::set_data: case op::set_acl:
        compare_stat(ctx, ra.stat(), rb.stat());
        break;
      case op::get_data: {
        std::string da = ra.buffer(), db = rb.buffer();
        if (da != db) diverge(ctx + " data '" + printable(da) + "' / '" + printable(db) + "'");
        compare_stat(ctx, ra.stat(), rb.stat());
        break;
      }
      case op::get_children: case op::get_children2: {
        auto ca = ra.strings(), cb = rb.strings();
        // The chroot (the oracle's "/") lists no "zookeeper" child.
        bool root = path == "/" && !chroot.empty();
        if (root) cb.push_back("zookeeper");
        compare_children(ctx, path, ca, cb);
        if (type == op::get_children2) {
          Stat sa = ra.stat(), sb = rb.stat();
          if (root) {
            ++sb.num_children;
            sa.cversion = sb.cversion;  // the root's history differs
          }
          compare_stat(ctx, sa, sb);
        }
        break;
      }
      case op::get_acl:
        ra.acls();
        rb.acls();
        compare_stat(ctx, ra.stat(), rb.stat());
        break;
      case op::get_all_children_number:
        if (ra.i32() != rb.i32()) diverge(ctx + " count differs");
        break;
      case op::multi: {
        // The ops, to know which creates were sequential.
        std::vector<int> flags;
        for (;;) {
          int t = rq.i32();
          bool done = rq.boolean();
          rq.i32();
          if (done) break;
          int f = 0;
          if (t == op::create || t == op::create2 || t == op::create_container || t == op::create_ttl) {
            rq.str(); rq.buffer(); rq.acls(); f = rq.i32();
            if (t == op::create_ttl) rq.i64();
          } else if (t == op::set_data) {
            rq.str(); rq.buffer(); rq.i32();
          } else {
            rq.str(); rq.i32();
          }
          flags.push_back(f);
        }
        for (std::size_t k = 0;; ++k) {
          int ta = ra.i32(), tb = rb.i32();
          bool da = ra.boolean(), db = rb.boolean();
          int xa = ra.i32(), xb = rb.i32();
          if (da || db) {
            if (da != db) diverge(ctx + " result count");
            break;
          }
          std::string c = ctx + " op " + std::to_string(k);
          if (ta != tb || xa != xb) {
            diverge(c + " result " + std::to_string(ta) + ":" + std::to_string(xa) + " / " +
                    std::to_string(tb) + ":" + std::to_string(xb));
            return;
          }
          switch (ta) {
            case op::create: created(ra.str(), rb.str(), k < flags.size() && (flags[k] & 2), c); break;
            case op::create2:
              created(ra.str(), rb.str(), k < flags.size() && (flags[k] & 2), c);
              compare_stat(c, ra.stat(), rb.stat());
              break;
            case op::set_data: compare_stat(c, ra.stat(), rb.stat()); break;
            case op::error: ra.i32(); rb.i32(); break;
            default: break;
          }
        }
        break;
      }
      default: break;
    }
  }
};

std::unique_ptr<OracleSession> OracleSession::open(Server &server, const std::string &url,
                                                   int timeout_ms, std::int64_t zkd_session) {
  g_oracle_log_file = server.config.oracle_log;
  auto o = std::make_unique<OracleSession>();
  o->impl = std::make_unique<Impl>();
  Impl &m = *o->impl;
  m.server = &server;
  m.zkd_session = zkd_session;
  std::string rest = url.substr(5);  // after zk://
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    m.chroot = rest.substr(slash);
    rest = rest.substr(0, slash);
    if (m.chroot == "/") m.chroot.clear();
  }
  auto colon = rest.rfind(':');
  std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
    throw std::runtime_error("oracle: cannot resolve " + url);
  m.fd = ::socket(res->ai_family, SOCK_STREAM, 0);
  int rc = ::connect(m.fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) throw std::runtime_error("oracle: cannot connect to " + url);
  int one = 1;
  ::setsockopt(m.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Writer w;
  w.i32(0).i64(0).i32(timeout_ms).i64(0).buffer(std::string(16, '\0')).boolean(false);
  std::string answer;
  if (!m.send(w.take()) || !m.read_packet(answer)) throw std::runtime_error("oracle: no session");
  Reader r(answer);
  r.i32();
  r.i32();
  m.zk_session = r.i64();
  Impl *impl = o->impl.get();
  m.reader = std::thread([impl] { impl->read_loop(); });
  if (!m.chroot.empty()) {
    Writer c;
    int xid = m.next_xid++;
    c.i32(xid).i32(op::create).str(m.chroot).buffer("").acls({Acl{31, "world", "anyone"}}).i32(0);
    m.call(xid, c.take());
  }
  return o;
}

OracleSession::~OracleSession() {
  if (impl && impl->fd >= 0) {
    ::shutdown(impl->fd, SHUT_RDWR);
    if (impl->reader.joinable()) impl->reader.join();
    ::close(impl->fd);
  }
}

void OracleSession::ping() {
  Writer w;
  w.i32(kPingXid).i32(op::ping);
  impl->send(w.take());
}

void OracleSession::check(int type, const std::string &request, const std::string &our_reply) {
  if (our_reply.size() >= 16) {
    Reader r(our_reply);
    r.i32();
    r.i64();
    int e = r.i32();
    // Refused by design and listed in docs/zkd.md: the oracle is not asked, so both
    // stores stay alike.
    if (e == err::invalid_acl || e == err::unimplemented || e == err::reconfig_disabled) {
      oracle_log("documented: session " + hex(impl->zkd_session) + " op " + std::to_string(type) +
                 " answered " + std::to_string(e) + " by zkd, not sent to the oracle");
      return;
    }
  }
  std::string translated;
  try {
    translated = impl->translate(type, request);
  } catch (const JuteError &) {
    return;
  }
  if (translated.empty()) return;
  Reader r(request);
  int xid = r.i32();
  std::string theirs = impl->call(xid, translated);
  ++g_compared;
  if (theirs.empty()) {
    impl->diverge("op " + std::to_string(type) + ": no answer from the oracle");
    return;
  }
  try {
    impl->compare(type, request, our_reply, theirs);
  } catch (const JuteError &e) {
    impl->diverge("op " + std::to_string(type) + ": answers do not decode alike");
  }
}

void OracleSession::told(int type, const std::string &path) {
  std::lock_guard<std::mutex> lock(impl->mutex);
  impl->ours.push_back({type, path});
}

void OracleSession::finish() {
  Impl &m = *impl;
  bool closed = false;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.finished) return;
    m.finished = true;
    closed = m.closed;
  }
  // Late events of either side.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  if (!closed) {
    Writer w;
    int xid = m.next_xid++;
    w.i32(xid).i32(op::close_session);
    m.call(xid, w.take());
  }
  std::map<std::string, std::vector<int>> a, b;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    for (auto &e : m.ours) a[e.second].push_back(e.first);
    for (auto &e : m.theirs) b[e.second].push_back(e.first);
    m.closed = true;
  }
  auto show = [](const std::vector<int> &v) {
    std::string s;
    for (int t : v) s += " " + std::to_string(t);
    return s;
  };
  std::set<std::string> paths;
  for (auto &kv : a) paths.insert(kv.first);
  for (auto &kv : b) paths.insert(kv.first);
  for (auto &p : paths)
    if (a[p] != b[p]) m.diverge("watch events on " + p + ": zkd [" + show(a[p]) + " ] zookeeper [" + show(b[p]) + " ]");
  oracle_log("session " + hex(m.zkd_session) + " ended: " + std::to_string(g_compared.load()) +
             " requests compared so far, " + std::to_string(g_divergences.load()) + " divergences");
}

}  // namespace zkd
