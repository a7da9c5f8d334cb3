#include "etcd_conn.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <grpc/support/log.h>

#include "../error.hpp"
#include "../log.hpp"
#include "codes.hpp"
#include "etcd_errors.hpp"

namespace offkv {
namespace etcd {

namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(100);

// gRPC keeps process-wide state from its first use until the process ends: one epoll
// set for every socket, and its own threads. A child forked after that inherits the
// epoll set and shares it with the parent, so whichever process polls first takes the
// other's socket events: the child's calls and lease keep-alives stall at random
// (issue 20: fdinfo of both processes lists the same registrations). gRPC cannot be
// used in such a child; etcd:// refuses it clearly instead of stalling.
std::atomic<bool> forked_after_grpc{false};

// gRPC's own lines (handshake failures, ...) go to offkv's log, not to stderr.
void grpc_log(gpr_log_func_args *args) {
  int level = args->severity == GPR_LOG_SEVERITY_ERROR  ? log::Error
              : args->severity == GPR_LOG_SEVERITY_INFO ? log::Info
                                                        : log::Debug;
  log::write(level, "grpc", args->message ? args->message : "");
}

void mark_grpc_used() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr, [] { forked_after_grpc.store(true); });
    gpr_set_log_function(grpc_log);
  });
}

void refuse_forked_child(const std::string &what) {
  if (forked_after_grpc.load(std::memory_order_relaxed))
    offkv::fail(Err::eunsupported,
                "etcd: " + what +
                    ": this process was forked from one that had already used etcd:// "
                    "(gRPC), and gRPC cannot work in such a child (it would share the "
                    "parent's socket polling); open etcd:// clients before forking only "
                    "in processes that exec, or in the parent");
}

// gRPC takes deadlines on the system clock only.
std::chrono::system_clock::time_point wall(Clock::time_point t) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t -
                                                                         Clock::now());
}

std::string read_file(const std::string &path, const char *what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    offkv::fail(Err::etls, std::string("etcd: cannot read ") + what + " '" + path + "'");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool is_ipv4(const std::string &host) {
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1;
}

// "host:port" -> host, port ("[::1]:2379" -> "::1", "2379").
void split_host(const std::string &hp, std::string &host, std::string &port) {
  std::size_t colon = hp.rfind(':');
  host = hp.substr(0, colon);
  port = hp.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
}

}  // namespace

Conn::Conn(const Endpoint &endpoint, Options options)
    : options_(std::move(options)), tls_(endpoint.tls) {
  // One gRPC target over every member: IP literals as they are, host names
  // resolved once here (pick_first fails over along the list).
  std::vector<std::string> v4, v6;
  for (const auto &hp : endpoint.hosts) {
    if (!hosts_.empty()) hosts_ += ',';
    hosts_ += hp;
    std::string host, port;
    split_host(hp, host, port);
    in6_addr a6{};
    if (is_ipv4(host)) {
      v4.push_back(host + ":" + port);
    } else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
      v6.push_back("[" + host + "]:" + port);
    } else {
      if (tls_name_.empty()) tls_name_ = host;
      addrinfo hints{}, *res = nullptr;
      hints.ai_socktype = SOCK_STREAM;
      if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res)
        offkv::fail(Err::econnloss, "etcd: cannot resolve host '" + host + "'");
      for (addrinfo *ai = res; ai; ai = ai->ai_next) {
        char buf[INET6_ADDRSTRLEN] = {0};
        if (ai->ai_family == AF_INET) {
          inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(ai->ai_addr)->sin_addr, buf,
                    sizeof buf);
          v4.push_back(std::string(buf) + ":" + port);
        } else if (ai->ai_family == AF_INET6) {
          inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(ai->ai_addr)->sin6_addr,
                    buf, sizeof buf);
          v6.push_back("[" + std::string(buf) + "]:" + port);
        }
      }
      freeaddrinfo(res);
    }
  }
  const auto &list = v4.empty() ? v6 : v4;
  target_ = v4.empty() ? "ipv6:" : "ipv4:";
  for (std::size_t i = 0; i < list.size(); ++i) target_ += (i ? "," : "") + list[i];
}

Conn::~Conn() { close(); }

bool Conn::serializable_reads() const {
  return options_.read_consistency == ReadMode::serializable;
}

Clock::time_point Conn::deadline() const {
  return Clock::now() + std::chrono::milliseconds(options_.operation_timeout_ms);
}

void Conn::open_channel() {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls_) {
    grpc::SslCredentialsOptions ssl;
    if (!options_.tls_ca_file.empty())
      ssl.pem_root_certs = read_file(options_.tls_ca_file, "tls_ca_file");
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      if (options_.tls_cert_file.empty() || options_.tls_key_file.empty())
        offkv::fail(
            Err::einval,
            "etcd: a client certificate needs both tls_cert_file and tls_key_file");
      ssl.pem_cert_chain = read_file(options_.tls_cert_file, "tls_cert_file");
      ssl.pem_private_key = read_file(options_.tls_key_file, "tls_key_file");
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    if (!options_.tls_ca_file.empty() || !options_.tls_cert_file.empty())
      offkv::fail(Err::einval,
                  "etcd: TLS files given for a plain etcd:// URL (use etcds://)");
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  // A transaction may carry Limit::max_txn_ops values of Limit::max_value_size.
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  // Fail over quickly to another member: gRPC's defaults back off up to 2 minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (tls_ && !tls_name_.empty()) args.SetSslTargetNameOverride(tls_name_);
  channel_ = grpc::CreateCustomChannel(target_, creds, args);
  kv_ = etcdserverpb::KV::NewStub(channel_);
  watch_ = etcdserverpb::Watch::NewStub(channel_);
  lease_stub_ = etcdserverpb::Lease::NewStub(channel_);
  auth_ = etcdserverpb::Auth::NewStub(channel_);
}

std::string Conn::token() {
  std::lock_guard<std::mutex> lock(token_mutex_);
  return token_;
}

void Conn::prepare(grpc::ClientContext &ctx, Clock::time_point deadline, bool wait) {
  if (deadline != Clock::time_point{}) ctx.set_deadline(wall(deadline));
  ctx.set_wait_for_ready(wait);
  std::string t = token();
  if (!t.empty()) ctx.AddMetadata("token", t);
  // Cut by the test kit: a call that waits for the connection waits for the cut to
  // be lifted; one that does not (or still cut at its deadline) never starts.
  if (!(wait ? wait_uncut(deadline) : wait_uncut(Clock::now()))) ctx.TryCancel();
}

void Conn::authenticate(Clock::time_point deadline) {
  if (options_.username.empty()) {
    if (!options_.token.empty()) {
      std::lock_guard<std::mutex> lock(token_mutex_);
      token_ = options_.token;  // a token obtained elsewhere
    }
    return;
  }
  v3::AuthenticateRequest req;
  req.set_name(options_.username);
  req.set_password(options_.password);
  v3::AuthenticateResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(wall(deadline));
  ctx.set_wait_for_ready(true);
  grpc::Status st = auth_->Authenticate(&ctx, req, &resp);
  if (!st.ok()) {
    if (st.error_message().find("authentication is not enabled") != std::string::npos)
      return;  // the server checks nothing: go on without a token
    int code = map_status(st);
    if (code == Err::einval || code == Err::eservice) code = Err::eauth;
    throw Error(code, "etcd: cannot authenticate as '" + options_.username + "' at " +
                          hosts_ + etcd_words(st));
  }
  std::lock_guard<std::mutex> lock(token_mutex_);
  token_ = resp.token();
}

bool Conn::refresh_token(Clock::time_point deadline) {
  if (options_.username.empty()) return false;
  try {
    authenticate(deadline);
    return true;
  } catch (const Error &) {
    return false;
  }
}

grpc::Status Conn::unary(const UnaryFn &fn, Clock::time_point deadline, bool idempotent) {
  refuse_forked_child("a client opened before fork() is unusable in the child");
  bool reauthenticated = false;
  for (;;) {
    if (closed_) return grpc::Status(grpc::StatusCode::CANCELLED, "client is closed");
    if (!wait_uncut(deadline))
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "not connected: the connection is cut (offkv_testkit_suspend); "
                          "not sent");
    grpc::ClientContext ctx;
    prepare(ctx, deadline);
    grpc::Status st = fn(ctx);
    if (st.ok()) return st;
    if (!reauthenticated && token_expired(st) && refresh_token(deadline)) {
      reauthenticated = true;
      continue;
    }
    if (idempotent && st.error_code() == grpc::StatusCode::UNAVAILABLE &&
        map_status(st) != Err::etls && Clock::now() + kRetryPause < deadline) {
      std::this_thread::sleep_for(kRetryPause);  // no leader yet, member going away
      continue;
    }
    return st;
  }
}

bool Conn::can_send_now() {
  if (closed_ || forked_after_grpc.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  return !cut_;
}

void Conn::prepare_async(grpc::ClientContext &ctx, Clock::time_point deadline) {
  ctx.set_deadline(wall(deadline));
  ctx.set_wait_for_ready(true);
  std::string t = token();
  if (!t.empty()) ctx.AddMetadata("token", t);
}

std::exception_ptr Conn::error_for(const grpc::Status &status, const std::string &what) {
  try {
    fail(status, what);
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;  // not reached: fail() always throws
}

void Conn::fail(const grpc::Status &status, const std::string &what) {
  if (closed_) offkv::fail(Err::eclosed, "etcd: " + what + ": client is closed");
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    std::string limit =
        std::to_string(options_.operation_timeout_ms) + " ms (operation_timeout_ms)";
    if (channel_->GetState(false) != GRPC_CHANNEL_READY)
      throw Error(Err::econnloss, "etcd: " + what + ": not connected to etcd at " +
                                      hosts_ + " within " + limit + etcd_words(status));
    throw Error(Err::etimeout, "etcd: " + what + ": etcd did not answer within " + limit +
                                   "; outcome unknown" + etcd_words(status));
  }
  fail_status(status, "etcd: cannot " + what);
}

grpc::Status Conn::grant(std::string &error) {
  auto deadline = this->deadline();
  v3::LeaseGrantRequest req;
  req.set_ttl((options_.session_timeout_ms + 999) / 1000);
  v3::LeaseGrantResponse resp;
  auto sent = Clock::now();
  grpc::Status st = unary(
      [&](grpc::ClientContext &ctx) { return lease_stub_->LeaseGrant(&ctx, req, &resp); },
      deadline, true);
  error.clear();
  if (!st.ok()) return st;
  if (!resp.error().empty() || resp.id() == 0) {
    error = "etcd refused a lease: " + resp.error();
    return st;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  lease_id_ = resp.id();
  ttl_s_ = resp.ttl();
  expires_ = sent + std::chrono::seconds(resp.ttl());
  return st;
}

void Conn::start(SessionListener listener) {
  listener_ = std::move(listener);
  refuse_forked_child("cannot connect to " + hosts_);
  mark_grpc_used();
  open_channel();
  auto connect_deadline =
      Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  if (!channel_->WaitForConnected(wall(connect_deadline))) {
    // Ask once more, only for the reason (TLS, refused, ...): a channel that failed
    // answers at once with its last error; one still connecting (a silent server)
    // must not hold open past its connect timeout.
    v3::RangeRequest req;
    req.set_key("offkv/");
    req.set_count_only(true);
    v3::RangeResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(wall(Clock::now() + std::chrono::milliseconds(20)));
    grpc::Status st = kv_->Range(&ctx, req, &resp);
    if (map_status(st) == Err::etls)
      throw Error(Err::etls,
                  "etcd: TLS handshake with " + hosts_ + " failed" + etcd_words(st));
    if (!st.ok() || !channel_->WaitForConnected(std::chrono::system_clock::now()))
      throw Error(Err::etimeout,
                  "etcd: could not connect to etcd at " + hosts_ + " within " +
                      std::to_string(options_.connect_timeout_ms) +
                      " ms (connect_timeout_ms)" + (st.ok() ? "" : etcd_words(st)));
  }
  authenticate(deadline());
  std::string error;
  grpc::Status st = grant(error);
  if (!st.ok()) fail(st, "grant the session lease at " + hosts_);
  if (!error.empty()) offkv::fail(Err::eservice, "etcd: " + error);
  std::int64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = SessionState::connected;
    id = lease_id_;
  }
  if (listener_)
    listener_(SessionState::connected,
              "connected to etcd at " + hosts_ + ", lease " + std::to_string(id));
  session_thread_ = std::thread([this] { run_session(); });
}

void Conn::report(int state, const std::string &message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || state_ == state) return;
    state_ = state;
  }
  if (listener_) listener_(state, message);
}

int Conn::session_state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

std::int64_t Conn::lease(const std::string &what) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) offkv::fail(Err::eclosed, "etcd: " + what + ": client is closed");
  if (lease_id_ == 0 || state_ == SessionState::lost)
    offkv::fail(Err::esession, "etcd: " + what +
                                   ": the session's lease expired; a new one is being "
                                   "granted");
  return lease_id_;
}

void Conn::run_session() {
  while (!closed_) {
    bool have_lease;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      have_lease = lease_id_ != 0;
    }
    if (!have_lease) {
      // CONNECTED comes from keep_alive_once, once etcd acknowledged a keep-alive of
      // the new lease: never for a lease the client cannot keep alive.
      std::string error;
      if (!grant(error).ok() || !error.empty()) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait_for(lock, std::chrono::milliseconds(500),
                          [&] { return closed_.load(); });
      }
      continue;
    }
    if (keep_alive_once()) continue;  // the stream broke; the lease may live on
    // The lease is gone (or surely expired): LOST, then a new lease.
    std::int64_t old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old = lease_id_;
      lease_id_ = 0;
    }
    if (closed_) break;
    report(SessionState::lost, "etcd lease " + std::to_string(old) + " expired");
    // If only we thought it expired, make it so (best effort, short).
    v3::LeaseRevokeRequest req;
    req.set_id(old);
    v3::LeaseRevokeResponse resp;
    grpc::ClientContext ctx;
    prepare(ctx, Clock::now() + std::chrono::seconds(1), false);
    lease_stub_->LeaseRevoke(&ctx, req, &resp);
  }
}

// One keep-alive stream. Returns true if it merely broke (connection lost; the
// session may still live), false if the lease is gone or surely expired.
// Long on purpose: one stream's whole life (send, wait, judge each answer against the
// TTL and report the session state) shares its timing variables; split, they would
// travel through every piece.
bool Conn::keep_alive_once() {
  grpc::ClientContext ctx;
  prepare(ctx, Clock::time_point{}, false);
  std::int64_t id, ttl_s;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return true;
    id = lease_id_;
    ttl_s = ttl_s_;
    stream_ctx_ = &ctx;
  }
  auto stream = lease_stub_->LeaseKeepAlive(&ctx);
  auto interval =
      std::chrono::milliseconds(std::max<std::int64_t>(ttl_s * 1000 / 3, 200));
  // A keep-alive unanswered for one interval (a third of the TTL) is SUSPENDED, so
  // that recipes hear it before the lease can run out. Two intervals was the very
  // instant the lease expires (the last acknowledged request went one interval before
  // the unanswered one): a client whose member stopped answering went from CONNECTED
  // straight to LOST, a leader with no warning (tests/faults, a paused etcd leader).
  auto overdue = std::max<Clock::duration>(interval, std::chrono::milliseconds(500));

  std::deque<Clock::time_point> pending;  // send times of unanswered requests
  bool reader_done = false, gone = false, acked = false;
  std::thread reader([&] {
    v3::LeaseKeepAliveResponse resp;
    while (stream->Read(&resp)) {
      std::lock_guard<std::mutex> lock(mutex_);
      Clock::time_point sent = Clock::now();
      if (!pending.empty()) {
        sent = pending.front();
        pending.pop_front();
      }
      if (resp.ttl() <= 0) {
        gone = true;
      } else {
        expires_ = std::max(expires_, sent + std::chrono::seconds(resp.ttl()));
        acked = true;
      }
      changed_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    reader_done = true;
    changed_.notify_all();
  });

  bool merely_broken = true;
  std::string why;
  auto next_send = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    auto now = Clock::now();
    if (closed_) break;
    if (gone) {
      merely_broken = false;
      break;
    }
    if (now >= expires_) {
      merely_broken = false;
      break;
    }
    if (reader_done) {
      why = "the keep-alive stream to etcd broke";
      break;
    }
    if (!pending.empty() && now - pending.front() > overdue) {
      why = "etcd did not answer a keep-alive in time";
      break;
    }
    if (send_now_) {  // test kit: expired; etcd says so on the next keep-alive
      send_now_ = false;
      next_send = now;
    }
    if (acked && state_ != SessionState::connected) {
      std::string message =
          (state_ == SessionState::lost ? "new etcd lease "
                                        : "reconnected to etcd; lease ") +
          std::to_string(id) + " kept alive";
      lock.unlock();
      report(SessionState::connected, message);
      lock.lock();
      continue;
    }
    if (now >= next_send) {
      pending.push_back(now);
      lock.unlock();
      v3::LeaseKeepAliveRequest req;
      req.set_id(id);
      bool ok = stream->Write(req);
      lock.lock();
      if (!ok) {
        why = "the keep-alive stream to etcd broke";
        break;
      }
      next_send = now + interval;
      continue;
    }
    auto wake = std::min(next_send, expires_);
    if (!pending.empty()) wake = std::min(wake, pending.front() + overdue);
    changed_.wait_until(lock, wake);
  }
  stream_ctx_ = nullptr;
  lock.unlock();
  ctx.TryCancel();
  reader.join();
  grpc::Status st = stream->Finish();
  if (closed_) return true;
  if (merely_broken) {
    if (token_expired(st)) refresh_token(deadline());
    report(SessionState::suspended, why + "; reconnecting (the lease may still live)" +
                                        (st.ok() ? "" : etcd_words(st)));
    std::unique_lock<std::mutex> relock(mutex_);
    changed_.wait_for(relock, std::chrono::milliseconds(200),
                      [&] { return closed_.load(); });
  }
  return merely_broken;
}

void Conn::close() {
  if (closed_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stream_ctx_) stream_ctx_->TryCancel();
  }
  changed_.notify_all();
  if (session_thread_.joinable()) session_thread_.join();
  std::int64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = lease_id_;
    lease_id_ = 0;
  }
  if (id != 0 && channel_) {
    // Ephemerals vanish now, not after the TTL.
    v3::LeaseRevokeRequest req;
    req.set_id(id);
    v3::LeaseRevokeResponse resp;
    grpc::ClientContext ctx;
    prepare(ctx, deadline(), true);
    lease_stub_->LeaseRevoke(&ctx, req, &resp);
  }
}

// ---- Test kit ----

bool Conn::wait_uncut(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto lifted = [&] { return !cut_ || closed_.load(); };
  if (deadline == Clock::time_point{})
    changed_.wait(lock, lifted);
  else
    changed_.wait_until(lock, deadline, lifted);
  return !cut_;
}

void Conn::track_stream(grpc::ClientContext *ctx) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.insert(ctx);
  if (cut_) ctx->TryCancel();
}

void Conn::untrack_stream(grpc::ClientContext *ctx) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.erase(ctx);
}

void Conn::testkit_cut(bool cut) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) offkv::fail(Err::eclosed, "client is closed");
    if (cut_ == cut) return;
    cut_ = cut;
    if (cut) {
      // What is open breaks, as when the connection goes: the keep-alive stream (the
      // session machinery says SUSPENDED) and the watch stream (re-opened, from where
      // it was, once the cut is lifted).
      if (stream_ctx_) stream_ctx_->TryCancel();
      for (auto *ctx : streams_) ctx->TryCancel();
    }
  }
  changed_.notify_all();
}

void Conn::testkit_expire() {
  std::int64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) offkv::fail(Err::eclosed, "client is closed");
    id = lease_id_;
    if (id == 0 || state_ == SessionState::lost) return;  // no session right now
  }
  // As an operator (or etcd itself at the TTL) would: not through the cut.
  v3::LeaseRevokeRequest req;
  req.set_id(id);
  v3::LeaseRevokeResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(wall(deadline()));
  ctx.set_wait_for_ready(true);
  std::string t = token();
  if (!t.empty()) ctx.AddMetadata("token", t);
  grpc::Status st = lease_stub_->LeaseRevoke(&ctx, req, &resp);
  if (!st.ok() && map_status(st) != Err::esession)  // NOT_FOUND: gone already
    fail(st, "revoke lease " + std::to_string(id) + " (testkit_expire)");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    send_now_ = true;
  }
  changed_.notify_all();
}

}  // namespace etcd
}  // namespace offkv
