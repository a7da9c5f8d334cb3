#include "zk_conn.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../error.hpp"
#include "../log.hpp"
#include "codes.hpp"
#include "zk_errors.hpp"

namespace offkv {
namespace zk {

// ---- Generation ----

WatchContext *Generation::adopt(WatchContextPtr ctx) {
  std::lock_guard<std::mutex> lock(mutex);
  WatchContext *raw = ctx.get();
  raw->gen = this;
  contexts.emplace(raw, std::move(ctx));
  return raw;
}

void Generation::release(WatchContext *ctx) {
  WatchContextPtr doomed;  // freed (if last) outside the lock
  std::lock_guard<std::mutex> lock(mutex);
  auto it = contexts.find(ctx);
  if (it == contexts.end()) return;
  doomed = std::move(it->second);
  contexts.erase(it);
}

void Generation::cancel(const WatchPtr &watch) {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto &entry : contexts)
    if (entry.second->watch == watch) entry.second->cancelled = true;
}

std::vector<WatchContextPtr> Generation::snapshot(bool settling_only) {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<WatchContextPtr> out;
  for (auto &entry : contexts)
    if (!settling_only || entry.second->settles) out.push_back(entry.second);
  return out;
}

// ---- Call and its completions ----

void Call::finish(int zrc) {
  rc = zrc;
  bool gave_up;
  {
    // Either the waiter gave up first (abandoned), or from here on it waits for
    // `done` (completing): what on_complete decides is what the caller is told.
    std::lock_guard<std::mutex> lock(mutex);
    gave_up = abandoned;
    completing = true;
  }
  if (on_complete) on_complete(*this, gave_up);
  {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
  }
  cv.notify_all();
  if (then) {
    auto continuation = std::move(then);
    continuation(*this);
  }
}

namespace {
CallPtr take(const void *data) {
  std::unique_ptr<CallHolder> holder(static_cast<CallHolder *>(const_cast<void *>(data)));
  {
    std::lock_guard<std::mutex> lock(holder->gen->mutex);
    holder->gen->calls.erase(holder.get());
  }
  return std::move(holder->call);
}
}  // namespace

void call_void_done(int rc, const void *data) { take(data)->finish(rc); }

void call_stat_done(int rc, const struct Stat *stat, const void *data) {
  CallPtr call = take(data);
  if (stat) {
    call->stat = *stat;
    call->has_stat = true;
  }
  call->finish(rc);
}

void call_data_done(int rc, const char *value, int len, const struct Stat *stat,
                    const void *data) {
  CallPtr call = take(data);
  if (value && len > 0) call->value.assign(value, static_cast<std::size_t>(len));
  if (stat) {
    call->stat = *stat;
    call->has_stat = true;
  }
  call->finish(rc);
}

void call_strings_stat_done(int rc, const struct String_vector *strings,
                            const struct Stat *stat, const void *data) {
  CallPtr call = take(data);
  if (strings)
    for (int i = 0; i < strings->count; ++i) call->strings.emplace_back(strings->data[i]);
  if (stat) {
    call->stat = *stat;
    call->has_stat = true;
  }
  call->finish(rc);
}

void call_string_done(int rc, const char *value, const void *data) {
  CallPtr call = take(data);
  if (value) call->created = value;
  call->finish(rc);
}

// ---- Conn ----

namespace {

std::string join_hosts(const std::vector<std::string> &hosts) {
  std::string out;
  for (const auto &h : hosts) {
    if (!out.empty()) out += ',';
    out += h;
  }
  return out;
}

// The C client's lines go to offkv's log at their own level (ZOO_ERROR@... and so
// on); OFFKV_ZK_LOG=1 also prints them on stderr, for debugging.
void zk_log(const char *message) {
  static const bool to_stderr = [] {
    const char *env = std::getenv("OFFKV_ZK_LOG");
    return env && *env && std::strcmp(env, "0") != 0;
  }();
  if (to_stderr) std::fprintf(stderr, "offkv zk: %s\n", message);
  const char *m = message;
  int level = std::strstr(m, "ZOO_ERROR@")  ? log::Error
              : std::strstr(m, "ZOO_WARN@") ? log::Warn
              : std::strstr(m, "ZOO_INFO@") ? log::Info
                                            : log::Debug;
  log::write(level, "zookeeper", message);
}

void auth_done(int, const void *) {}

}  // namespace

void session_watcher(zhandle_t *zh, int type, int state, const char *, void *context) {
  if (type != ZOO_SESSION_EVENT || !context) return;
  auto *gen = static_cast<Generation *>(context);
  gen->conn->on_session_event(gen, zh, state);
}

Conn::Conn(std::vector<std::string> hosts, Options options)
    : hosts_(join_hosts(hosts)), options_(std::move(options)) {}

Conn::~Conn() { close(); }

void Conn::open_generation(std::unique_lock<std::mutex> &lock) {
  auto gen = std::make_shared<Generation>();
  gen->conn = this;
  // The C client may report the new session from its own thread as soon as this
  // returns; that report waits for mutex_ (held here) and finds gen_ == gen.
  gen->zh = zookeeper_init2(servers(), session_watcher, options_.session_timeout_ms,
                            nullptr, gen.get(), 0, zk_log);
  if (!gen->zh) {
    int err = errno;
    fail(
        err == EINVAL ? Err::einval : Err::eservice,
        "zk: cannot open a ZooKeeper handle for '" + hosts_ + "': " + std::strerror(err));
  }
  if (!options_.username.empty()) {
    std::string cred = options_.username + ":" + options_.password;
    // Queued before every request; the C client re-sends it on every reconnect.
    int rc = zoo_add_auth(gen->zh, "digest", cred.data(), static_cast<int>(cred.size()),
                          auth_done, nullptr);
    if (rc != ZOK) {
      gen->retired = true;
      zhandle_t *zh = gen->zh;
      gen->zh = nullptr;
      lock.unlock();  // its completion thread may be waiting for mutex_
      zookeeper_close(zh);
      lock.lock();
      fail_zk(rc,
              "zk: cannot add digest credentials for user '" + options_.username + "'");
    }
  }
  gen_ = gen;
}

void Conn::start(SessionListener listener) {
  listener_ = std::move(listener);
  const auto connect_deadline =
      Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  open_generation(lock);
  bool connected = changed_.wait_until(lock, connect_deadline, [&] {
    return state_ == SessionState::connected || closed_;
  });
  if (!connected || closed_) {
    lock.unlock();
    close();
    fail(Err::etimeout, "zk: could not connect to ZooKeeper at '" + hosts_ + "' within " +
                            std::to_string(options_.connect_timeout_ms) +
                            " ms (connect_timeout_ms)");
  }
  lock.unlock();
  verify_server(connect_deadline);
  supervisor_ = std::thread([this] { supervise(); });
}

// The handshake alone proves little: bytes that are no protocol can parse as one (a
// session with any id and timeout). One request, answered within the connect
// timeout, shows the peer speaks ZooKeeper.
void Conn::verify_server(Clock::time_point deadline) {
  std::string what = "open: a first request to ZooKeeper at '" + hosts_ + "'";
  try {
    CallPtr call = submit(
        [](zhandle_t *zh, const GenerationPtr &, Call &, const void *data) {
          return zoo_aexists(zh, "/", 0, call_stat_done, data);
        },
        what, deadline);
    int rc = wait(call, deadline, what);
    if (rc == ZOK || rc == ZNONODE) return;
    fail(Err::eservice, "zk: the server at '" + hosts_ +
                            "' did not answer a first request as ZooKeeper does (" +
                            zerror(rc) + ", code " + std::to_string(rc) + ")");
  } catch (const Error &e) {
    close();
    if (e.code() == Err::eservice) throw;
    fail(Err::etimeout, "zk: the server at '" + hosts_ +
                            "' did not answer as ZooKeeper within " +
                            std::to_string(options_.connect_timeout_ms) +
                            " ms (connect_timeout_ms): " + e.what());
  }
}

void Conn::on_session_event(Generation *gen, zhandle_t *zh, int zstate) {
  int report = 0;
  bool resync = false;
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || gen->retired || gen != gen_.get()) return;
    if (zstate == ZOO_CONNECTED_STATE || zstate == ZOO_READONLY_STATE) {
      report = SessionState::connected;
      resync = state_ == SessionState::suspended;
      const clientid_t *id = zoo_client_id(zh);
      char sid[32];
      std::snprintf(sid, sizeof sid, "0x%llx",
                    id ? static_cast<unsigned long long>(id->client_id) : 0ULL);
      message = std::string("connected to ZooKeeper, session ") + sid;
      // The server bounds the timeout by its min/maxSessionTimeout (2x / 20x tickTime
      // by default): say so when it is not what the options asked for.
      int negotiated = zoo_recv_timeout(zh);
      session_timeout_ms_ = negotiated;
      message += ", session timeout " + std::to_string(negotiated) + " ms";
      if (negotiated != options_.session_timeout_ms)
        message += " (asked " + std::to_string(options_.session_timeout_ms) +
                   " ms; bounded by the server's min/maxSessionTimeout)";
    } else if (zstate == ZOO_CONNECTING_STATE || zstate == ZOO_ASSOCIATING_STATE ||
               zstate == ZOO_NOTCONNECTED_STATE) {
      if (state_ != SessionState::connected) return;
      report = SessionState::suspended;
      suspended_since_ = Clock::now();
      message = "connection to ZooKeeper lost; reconnecting (session may still live)";
    } else if (zstate == ZOO_EXPIRED_SESSION_STATE || zstate == ZOO_AUTH_FAILED_STATE) {
      report = SessionState::lost;
      message = zstate == ZOO_EXPIRED_SESSION_STATE
                    ? "ZooKeeper session expired"
                    : "ZooKeeper authentication failed; session closed";
      gen->retired = true;
      replace_ = true;
    } else {
      return;
    }
    if (report != state_) {
      state_ = report;
    } else {
      report = 0;  // nothing new to tell (the supervisor may still have work)
    }
  }
  changed_.notify_all();
  if (report == 0) return;
  // Requests that watch contexts lost with the connection are issued again now; the
  // C client itself re-registers every watch it holds (setWatches).
  if (resync)
    for (auto &ctx : gen->snapshot()) ctx->reconnected(zh);
  if (listener_) listener_(report, message);
}

void Conn::supervise() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    while (!closed_ && !replace_) {
      if (state_ != SessionState::suspended || session_timeout_ms_ <= 0) {
        changed_.wait(lock);
        continue;
      }
      // Cut off from every server: after the session timeout the servers have
      // expired the session (or will, before the client could reach one), so it is
      // LOST now, as Curator does, not whenever a server is reachable again.
      auto until = suspended_since_ + std::chrono::milliseconds(session_timeout_ms_);
      if (Clock::now() < until) {
        changed_.wait_until(lock, until);
        continue;
      }
      std::string message = "no ZooKeeper server reached within the session timeout (" +
                            std::to_string(session_timeout_ms_) +
                            " ms): session presumed expired; opening a new one";
      if (gen_) gen_->retired = true;
      replace_ = true;
      state_ = SessionState::lost;
      lock.unlock();
      changed_.notify_all();
      if (listener_) listener_(SessionState::lost, message);
      lock.lock();
    }
    if (closed_) return;
    replace_ = false;
    GenerationPtr old = std::move(gen_);
    lock.unlock();
    if (old) retire(old, ZSESSIONEXPIRED);
    lock.lock();
    while (!gen_) {
      if (closed_) return;
      try {
        open_generation(lock);  // its watcher reports CONNECTED when the session is up
      } catch (const Error &) {
        changed_.wait_for(lock, std::chrono::seconds(1), [&] { return closed_; });
      }
    }
  }
}

void Conn::drain(const GenerationPtr &gen) {
  // zookeeper_close sends closeSession, then waits up to 1.5 s for the socket to
  // become readable, taking that for the server's answer. Replies to requests still
  // in flight (other threads of this client) would end that wait before the server
  // has closed the session, and another client could still see our ephemerals for a
  // moment. So first one round trip: once it is answered, every earlier reply has
  // been read, and what the close waits for is its own answer.
  if (zoo_state(gen->zh) != ZOO_CONNECTED_STATE) return;  // no closeSession anyway
  auto call = std::make_shared<Call>();
  auto *holder = new CallHolder{call, gen.get()};
  {
    std::lock_guard<std::mutex> lock(gen->mutex);
    gen->calls.insert(holder);
  }
  if (zoo_aexists(gen->zh, "/", 0, call_stat_done, holder) != ZOK) {
    take(holder);
    return;
  }
  auto until = Clock::now() +
               std::chrono::milliseconds(std::min(options_.operation_timeout_ms, 3000));
  std::unique_lock<std::mutex> lock(call->mutex);
  call->cv.wait_until(lock, until, [&] { return call->done; });
}

void Conn::retire(const GenerationPtr &gen, int zrc) {
  gen->retired = true;
  {
    std::unique_lock<std::shared_mutex> use(gen->use);  // no new requests from here
    if (gen->zh && zrc == ZCLOSING) drain(gen);
    // Sends closeSession and waits (briefly) for the answer: ephemerals are gone on
    // return. Joins the C client's threads: no callback runs after this.
    if (gen->zh) zookeeper_close(gen->zh);
    gen->zh = nullptr;
  }
  std::unordered_set<CallHolder *> calls;
  std::unordered_map<WatchContext *, WatchContextPtr> contexts;
  {
    std::lock_guard<std::mutex> lock(gen->mutex);
    calls.swap(gen->calls);
    contexts.swap(gen->contexts);
  }
  // Requests the C client dropped without calling their completion.
  for (CallHolder *holder : calls) {
    std::unique_ptr<CallHolder> owned(holder);
    owned->call->finish(zrc);
  }
  for (auto &entry : contexts) entry.second->retired(zrc);
}

void Conn::close() {
  GenerationPtr gen;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_) return;
    if (cut_) {
      // Cut by the test kit: reconnect first (briefly), so that closing still ends
      // the session at once instead of leaving it to time out.
      cut_ = false;
      point_handle();
      changed_.wait_for(
          lock, std::chrono::milliseconds(std::min(options_.operation_timeout_ms, 5000)),
          [&] { return state_ != SessionState::suspended; });
    }
    closed_ = true;
    gen = std::move(gen_);
  }
  changed_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  if (gen) retire(gen, ZCLOSING);
}

bool Conn::closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

int Conn::closing_code(int zrc) {
  if (zrc == ZCLOSING && !closed()) return ZSESSIONEXPIRED;
  return zrc;
}

Clock::time_point Conn::deadline() const {
  return Clock::now() + std::chrono::milliseconds(options_.operation_timeout_ms);
}

void Conn::with_handle(const WithHandle &fn, const std::string &what,
                       Clock::time_point deadline) {
  GenerationPtr gen;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // SUSPENDED: the connection may come back within the call's time.
    changed_.wait_until(lock, deadline,
                        [&] { return closed_ || state_ != SessionState::suspended; });
    if (closed_) fail(Err::eclosed, "zk: " + what + ": client is closed");
    if (state_ == SessionState::lost || !gen_)
      fail(Err::esession,
           "zk: " + what + ": the ZooKeeper session expired; a new one is being opened");
    if (state_ == SessionState::suspended)
      fail(Err::econnloss, "zk: " + what + ": not connected to ZooKeeper within " +
                               std::to_string(options_.operation_timeout_ms) +
                               " ms (operation_timeout_ms); not sent");
    gen = gen_;
  }
  // Never wait for a handle being closed (that can take seconds): it is gone.
  std::shared_lock<std::shared_mutex> use(gen->use, std::defer_lock);
  while (!use.try_lock()) {
    if (gen->retired) break;
    std::this_thread::yield();
  }
  if (!use.owns_lock() || !gen->zh || gen->retired) {
    if (closed()) fail(Err::eclosed, "zk: " + what + ": client is closed");
    fail(Err::esession, "zk: " + what + ": the ZooKeeper session ended");
  }
  fn(gen->zh, gen);
}

CallPtr Conn::submit(const Issue &issue, const std::string &what,
                     Clock::time_point deadline) {
  auto call = std::make_shared<Call>();
  with_handle(
      [&](zhandle_t *zh, const GenerationPtr &gen) {
        auto *holder = new CallHolder{call, gen.get()};
        {
          std::lock_guard<std::mutex> lock(gen->mutex);
          gen->calls.insert(holder);
        }
        int rc = issue(zh, gen, *call, holder);
        if (rc != ZOK) {
          // Not queued: the C client will never call the completion.
          take(holder);
          call->finish(rc);
        }
      },
      what, deadline);
  return call;
}

bool Conn::try_submit(const Issue &issue, const CallPtr &call) {
  GenerationPtr gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || state_ != SessionState::connected || !gen_) return false;
    gen = gen_;
  }
  std::shared_lock<std::shared_mutex> use(gen->use, std::try_to_lock);
  if (!use.owns_lock() || !gen->zh || gen->retired) return false;
  auto *holder = new CallHolder{call, gen.get()};
  {
    std::lock_guard<std::mutex> lock(gen->mutex);
    gen->calls.insert(holder);
  }
  int rc = issue(gen->zh, gen, *call, holder);
  if (rc != ZOK) {
    // Not queued: the C client will never call the completion.
    take(holder);
    use.unlock();
    call->finish(rc);
  }
  return true;
}

bool Conn::writes_settle() {
  GenerationPtr gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gen = gen_;
  }
  return gen && !gen->snapshot(true).empty();
}

int Conn::wait(const CallPtr &call, Clock::time_point deadline, const std::string &what) {
  {
    std::unique_lock<std::mutex> lock(call->mutex);
    if (!call->cv.wait_until(lock, deadline, [&] { return call->done; })) {
      if (!call->completing) {
        call->abandoned = true;
        fail(Err::etimeout, "zk: " + what + ": ZooKeeper did not answer within " +
                                std::to_string(options_.operation_timeout_ms) +
                                " ms (operation_timeout_ms); outcome unknown");
      }
      // The answer is in and being settled on the completion thread (never blocks).
      call->cv.wait(lock, [&] { return call->done; });
    }
  }
  return closing_code(call->rc);
}

void Conn::settle(Clock::time_point deadline) {
  GenerationPtr gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gen = gen_;
  }
  if (!gen) return;
  for (auto &ctx : gen->snapshot(true)) ctx->settle(deadline);
}

void Conn::unwatch(const WatchPtr &watch) {
  GenerationPtr gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gen = gen_;
  }
  if (gen) gen->cancel(watch);
}

// ---- Test kit ----

namespace {
// Where nothing listens: a connection there is refused at once. Another address
// than the servers' (zoo_set_servers keeps a connection to a server whose address is
// in the new list, whatever the port): the last of 127/8.
constexpr const char *kNowhere = "127.255.255.254:1";
}  // namespace

const char *Conn::servers() const { return cut_ ? kNowhere : hosts_.c_str(); }

namespace {
void woken(int, const struct Stat *, const void *) {}
}  // namespace

void Conn::point_handle() {
  if (!gen_ || !gen_->zh || gen_->retired) return;
  int rc = zoo_set_servers(gen_->zh, servers());
  if (rc != ZOK)
    log::write(log::Warn, "zk",
               std::string("test kit: zoo_set_servers failed: ") + zerror(rc));
  // The C client's I/O thread acts on the new list only when it wakes up, which may
  // be a third of the session timeout away: a request wakes it now (its answer, or
  // ZCONNECTIONLOSS while cut, is of no interest).
  zoo_aexists(gen_->zh, "/", 0, woken, nullptr);
}

void Conn::testkit_cut(bool cut) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) fail(Err::eclosed, "client is closed");
    if (cut_ == cut) return;
    cut_ = cut;
    point_handle();
  }
  if (cut) notice_disconnection();
}

// zoo_set_servers closes the socket and sets the handle's state to NOTCONNECTED
// itself, without the session event a lost connection brings: hand that state to
// on_session_event, which says SUSPENDED as for any lost connection.
void Conn::notice_disconnection() {
  GenerationPtr gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    gen = gen_;
  }
  if (!gen || !gen->zh || gen->retired) return;
  std::shared_lock<std::shared_mutex> use(gen->use, std::defer_lock);
  while (!use.try_lock()) {  // as with_handle: never wait for a handle being closed
    if (gen->retired) return;
    std::this_thread::yield();
  }
  if (!gen->zh || gen->retired) return;
  int zstate = zoo_state(gen->zh);
  if (zstate == ZOO_CONNECTED_STATE || zstate == ZOO_READONLY_STATE) return;
  // Once a connection attempt failed the state may read 0 (no state of the API):
  // whatever it says short of an expiry, the handle is not connected.
  if (zstate != ZOO_EXPIRED_SESSION_STATE && zstate != ZOO_AUTH_FAILED_STATE)
    zstate = ZOO_NOTCONNECTED_STATE;
  on_session_event(gen.get(), gen->zh, zstate);
}

namespace {
struct KillWatch {
  std::mutex mutex;
  std::condition_variable cv;
  int state = 0;
};
void kill_watcher(zhandle_t *, int type, int state, const char *, void *context) {
  if (type != ZOO_SESSION_EVENT || !context) return;
  auto *w = static_cast<KillWatch *>(context);
  {
    std::lock_guard<std::mutex> lock(w->mutex);
    w->state = state;
  }
  w->cv.notify_all();
}
}  // namespace

void Conn::testkit_expire() {
  clientid_t id{};
  bool was_cut;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) fail(Err::eclosed, "client is closed");
    if (state_ == SessionState::lost || !gen_ || !gen_->zh) return;  // no session
    const clientid_t *current = zoo_client_id(gen_->zh);
    if (!current || current->client_id == 0) return;
    id = *current;
    // Our handle must not reconnect half-way (the server hands the session over to
    // whichever connection came last): cut it until the session is gone.
    was_cut = cut_;
    if (!cut_) {
      cut_ = true;
      point_handle();
    }
  }
  if (!was_cut) notice_disconnection();
  auto restore = [&] {
    if (was_cut) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || !cut_) return;
    cut_ = false;
    point_handle();
  };
  KillWatch w;
  zhandle_t *killer = zookeeper_init2(hosts_.c_str(), kill_watcher,
                                      options_.session_timeout_ms, &id, &w, 0, zk_log);
  if (!killer) {
    restore();
    fail(Err::eservice, "zk: testkit_expire: cannot open a second handle for '" + hosts_ +
                            "': " + std::strerror(errno));
  }
  int state;
  {
    std::unique_lock<std::mutex> lock(w.mutex);
    w.cv.wait_for(lock, std::chrono::milliseconds(options_.connect_timeout_ms), [&] {
      return w.state == ZOO_CONNECTED_STATE || w.state == ZOO_EXPIRED_SESSION_STATE ||
             w.state == ZOO_AUTH_FAILED_STATE;
    });
    state = w.state;
  }
  // Sends closeSession and waits for the answer: the session and its ephemerals are
  // gone at the server when it returns.
  zookeeper_close(killer);
  restore();
  char sid[32];
  std::snprintf(sid, sizeof sid, "0x%llx", static_cast<unsigned long long>(id.client_id));
  if (state == ZOO_CONNECTED_STATE || state == ZOO_EXPIRED_SESSION_STATE) return;
  fail(Err::etimeout, std::string("zk: testkit_expire: could not reach ZooKeeper at '") +
                          hosts_ + "' within " +
                          std::to_string(options_.connect_timeout_ms) +
                          " ms (connect_timeout_ms) to end session " + sid);
}

}  // namespace zk
}  // namespace offkv
