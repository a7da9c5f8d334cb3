#include "client.hpp"

#include "log.hpp"

#include <algorithm>
#include <chrono>

#include "codes.hpp"
#include "error.hpp"
#include "key.hpp"
#include "url.hpp"

namespace offkv {

namespace {
// Worker threads for a client's asynchronous calls, started as calls come: that many
// calls can be in flight on the client's connection at once.
constexpr std::size_t kAsyncWorkers = 16;
}  // namespace

std::shared_ptr<Client> Client::open(const std::string &url, Options options,
                                     EventCallback session_callback) {
  Endpoint endpoint = parse_url(url, options);
  std::shared_ptr<Client> client(new Client());
  client->prefix_ = endpoint.prefix;
  client->scheme_ = endpoint.scheme;
  client->session_callback_ = std::move(session_callback);
  client->operation_timeout_ms_ = options.operation_timeout_ms;
  client->connect_timeout_ms_ = options.connect_timeout_ms;
  client->backend_ = make_backend(endpoint, options);
  client->backend_->attach_stats(client->stats_);
  client->loop_ = EventLoop::start();
  client->runner_ = std::make_unique<AsyncRunner>(client->loop_, kAsyncWorkers);
  std::weak_ptr<Client> weak = client;
  try {
    client->backend_->start([weak](int state, const std::string &message) {
      if (auto self = weak.lock()) self->on_session(state, message);
    });
  } catch (...) {
    client->closed_ = true;
    client->backend_->close();
    client->runner_->shutdown();
    client->loop_->stop();
    throw;
  }
  return client;
}

Client::~Client() {
  try {
    close();
  } catch (...) {
  }
}

void Client::close() {
  if (closed_.exchange(true)) {
    // Closed before, maybe by a callback on the event thread: wait for the callbacks
    // still queued, so none runs after close (or offkv_client_free) returns here.
    if (loop_ && !loop_->on_event_thread()) loop_->stop();
    return;
  }
  // Recipes stop believing (e.g. that they lead) before the session ends and the
  // store can hand their place to someone else.
  notify_listeners(SessionState::closed, "client closing");
  // open() may fail half-way (bad scheme, allocation failure): tear down what exists.
  if (backend_) backend_->close();
  if (!loop_) return;
  // Calls in flight fail (the backend is closed) and queued ones get ECLOSED; every
  // completion is queued before the loop drains below.
  if (runner_) runner_->shutdown();
  end_watches(Err::eclosed, SessionState::closed, "client closed");
  on_session(SessionState::closed, "client closed");
  loop_->stop();
}

void Client::on_session(int state, const std::string &message) {
  int previous = state_.exchange(state);
  if (previous == SessionState::closed) {
    state_ = SessionState::closed;  // nothing follows CLOSED
    told(false);
    return;
  }
  if (previous != state && state >= 1 && state <= 4) {
    ++stats_->sessions[state];
    if (state == SessionState::connected && previous == SessionState::suspended)
      ++stats_->reconnects;
    static const char *const kNames[] = {"", "CONNECTED", "SUSPENDED", "LOST", "CLOSED"};
    bool quiet = state == SessionState::connected || state == SessionState::closed;
    log::write(quiet ? log::Info : log::Warn, scheme_.c_str(),
               std::string("session ") + kNames[state] + ": " + message);
  }
  if (state == SessionState::lost)
    end_watches(Err::esession, SessionState::lost, "session lost: " + message);
  if (previous != state) notify_listeners(state, message);
  if (session_callback_ && previous != state) {
    Event event;
    event.type = EventType::session;
    event.session_state = state;
    event.message = message;
    auto callback = session_callback_;
    loop_->post([callback, event] { callback(event); });
  }
  told(state == SessionState::lost && previous != SessionState::lost);
}

void Client::told(bool lost) {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    told_state_ = state_.load();  // the latest, should reports of two threads cross
    if (lost) ++lost_count_;
  }
  state_changed_.notify_all();
}

void Client::check_open() const {
  if (closed_) fail(Err::eclosed, "client is closed");
}

void Client::check_value(std::string_view key, std::string_view value) const {
  if (value.size() > Limit::max_value_size)
    fail(Err::etoobig, "value for '" + std::string(key) + "' is " +
                           std::to_string(value.size()) + " bytes; the limit is " +
                           std::to_string(Limit::max_value_size));
}

std::string Client::full_key(std::string_view key) const {
  validate_key(key);
  return to_full_path(prefix_, key);
}

std::string Client::full_key_or_root(std::string_view key) const {
  validate_key_or_root(key);
  return to_full_path(prefix_, key);
}

WatchPtr Client::new_watch(WatchKind kind, const std::string &path,
                           const EventCallback *callback) {
  auto watch = std::make_shared<Watch>(kind, path, prefix_, loop_,
                                       callback ? *callback : EventCallback(), stats_);
  ++stats_->watches_armed;
  std::lock_guard<std::mutex> lock(watches_mutex_);
  // Drop bookkeeping for watches that can no longer fire.
  for (auto it = watches_.begin(); it != watches_.end();) {
    it = it->second->finished() ? watches_.erase(it) : std::next(it);
  }
  watches_.emplace(watch.get(), watch);
  return watch;
}

void Client::forget(const WatchPtr &watch) {
  std::lock_guard<std::mutex> lock(watches_mutex_);
  watches_.erase(watch.get());
}

// A watch whose read failed was never handed out, but a session end racing with the
// read may already have queued ENDED for it: cancel it so that callback never runs.
void Client::abandon(const WatchPtr &watch) {
  watch->cancel();
  forget(watch);
}

void Client::end_watches(int error, int session_state, const std::string &message) {
  std::unordered_map<Watch *, WatchPtr> live;
  {
    std::lock_guard<std::mutex> lock(watches_mutex_);
    live.swap(watches_);
  }
  for (auto &entry : live) entry.second->end(error, session_state, message);
}

static void check_flags(int flags) {
  if (flags & ~(NodeFlag::ephemeral | NodeFlag::sequential))
    fail(Err::einval, "unknown create flags " + std::to_string(flags));
}

// A sequential create appends 10 digits: the final key must still be valid.
static void check_sequential_room(std::string_view key, const std::string &full) {
  std::size_t last = key.size() - key.rfind('/') - 1;
  if (last + 10 > Limit::max_segment_size)
    fail(Err::einval, "invalid key '" + std::string(key) +
                          "': segment too long for a 10-digit sequential suffix");
  if (full.size() + 10 > Limit::max_key_size)
    fail(Err::etoobig, "key '" + std::string(key) + "' too long for a sequential suffix");
}

std::string Client::create(std::string_view key, std::string_view value, int flags) {
  return counted(Op::Create, [&] {
    check_open();
    std::string full = full_key(key);
    check_flags(flags);
    if (flags & NodeFlag::sequential) check_sequential_room(key, full);
    check_value(key, value);
    return to_client_key(prefix_, backend_->create(full, std::string(value), flags));
  });
}

std::int64_t Client::set(std::string_view key, std::string_view value) {
  return counted(Op::Set, [&] {
    check_open();
    std::string full = full_key(key);
    check_value(key, value);
    return backend_->set(full, std::string(value));
  });
}

std::int64_t Client::cas(std::string_view key, std::string_view value,
                         std::int64_t expected) {
  return counted(Op::Cas, [&] {
    check_open();
    std::string full = full_key(key);
    check_value(key, value);
    if (expected < 0)
      fail(Err::einval, "cas on '" + std::string(key) + "': expected version " +
                            std::to_string(expected) + " is negative");
    return backend_->cas(full, std::string(value), expected);
  });
}

Node Client::get(std::string_view key, const EventCallback *callback,
                 WatchPtr *watch_out) {
  return counted(Op::Get, [&] {
    check_open();
    std::string full = full_key(key);
    if (!watch_out) return backend_->get(full, nullptr);
    WatchPtr watch = new_watch(WatchKind::Data, full, callback);
    try {
      Node node = backend_->get(full, watch);
      *watch_out = watch;
      return node;
    } catch (...) {
      abandon(watch);
      throw;
    }
  });
}

std::int64_t Client::exists(std::string_view key, const EventCallback *callback,
                            WatchPtr *watch_out) {
  return counted(Op::Exists, [&] {
    check_open();
    std::string full = full_key(key);
    if (!watch_out) return backend_->exists(full, nullptr);
    WatchPtr watch = new_watch(WatchKind::Exists, full, callback);
    try {
      std::int64_t version = backend_->exists(full, watch);
      *watch_out = watch;
      return version;
    } catch (...) {
      abandon(watch);
      throw;
    }
  });
}

std::vector<std::string> Client::children(std::string_view key,
                                          const EventCallback *callback,
                                          WatchPtr *watch_out) {
  return counted(Op::Children, [&] {
    check_open();
    std::string full = full_key_or_root(key);
    std::vector<std::string> paths;
    if (!watch_out) {
      paths = backend_->children(full, nullptr);
    } else {
      WatchPtr watch = new_watch(WatchKind::Children, full, callback);
      try {
        paths = backend_->children(full, watch);
      } catch (...) {
        abandon(watch);
        throw;
      }
      *watch_out = watch;
    }
    for (auto &p : paths) p = to_client_key(prefix_, p);
    std::sort(paths.begin(), paths.end());  // bytewise: char_traits<char> is unsigned
    return paths;
  });
}

void Client::erase(std::string_view key, std::int64_t expected) {
  return counted(Op::Erase, [&] {
    check_open();
    std::string full = full_key(key);
    if (expected < 0)
      fail(Err::einval, "erase of '" + std::string(key) + "': expected version " +
                            std::to_string(expected) + " is negative");
    backend_->erase(full, expected);
  });
}

std::vector<OpResult> Client::commit(const Txn &txn) {
  return counted(Op::Commit, [&] {
    check_open();
    std::size_t total = txn.checks.size() + txn.ops.size();
    if (total > Limit::max_txn_ops)
      fail(Err::etoobig, "transaction has " + std::to_string(total) +
                             " checks and ops; the limit is " +
                             std::to_string(Limit::max_txn_ops));
    Txn full = txn;
    std::size_t index = 0;
    auto where = [&](const TxnOp &op) {
      return "transaction item " + std::to_string(index) + " ('" + op.path + "'): ";
    };
    try {
      for (auto &check : full.checks) {
        check.path = full_key(check.path);
        if (check.version < kAnyVersion)
          fail(Err::einval,
               "check version " + std::to_string(check.version) + " is invalid");
        ++index;
      }
      for (auto &op : full.ops) {
        std::string key = op.path;
        op.path = full_key(key);
        switch (op.kind) {
          case TxnOpKind::Create:
            check_flags(op.flags);
            if (op.flags & NodeFlag::sequential) check_sequential_room(key, op.path);
            check_value(key, op.value);
            break;
          case TxnOpKind::Set:
            check_value(key, op.value);
            break;
          case TxnOpKind::Erase:
            if (op.version < 0) fail(Err::einval, "erase expected version is negative");
            break;
          case TxnOpKind::Check:
            fail(Err::einternal, "check among ops");
        }
        ++index;
      }
    } catch (const Error &e) {
      const TxnOp &bad = index < txn.checks.size() ? txn.checks[index]
                                                   : txn.ops[index - txn.checks.size()];
      throw Error(e.code(), where(bad) + e.what());
    }
    std::vector<OpResult> results = backend_->commit(full);
    for (auto &r : results) r.path = to_client_key(prefix_, r.path);
    return results;
  });
}

WatchPtr Client::watch_persistent(std::string_view key, EventCallback callback) {
  return counted(Op::Watch, [&] {
    check_open();
    std::string full = full_key_or_root(key);
    WatchPtr watch =
        new_watch(WatchKind::Persistent, full, callback ? &callback : nullptr);
    try {
      backend_->watch_persistent(full, watch);
    } catch (...) {
      abandon(watch);
      throw;
    }
    return watch;
  });
}

bool Client::post(std::function<void()> fn) { return loop_->post(std::move(fn)); }

void Client::notify_listeners(int state, const std::string &message) {
  std::vector<std::pair<std::uint64_t, SessionListener>> listeners;
  {
    std::lock_guard<std::mutex> lock(listeners_mutex_);
    listeners = listeners_;
  }
  for (auto &entry : listeners) entry.second(state, message);
}

void Client::submit(std::vector<std::string> keys, AsyncRunner::Work work,
                    std::function<void()> closed) {
  check_open();
  if (!runner_->submit(std::move(keys), std::move(work), std::move(closed)))
    fail(Err::eclosed, "client is closed");
}

void Client::validate_write(std::string_view key, std::string_view value) const {
  validate(key);
  check_value(key, value);
}

void Client::validate(std::string_view key) const {
  check_open();
  full_key(key);
}

void Client::validate_listed(std::string_view key) const {
  check_open();
  full_key_or_root(key);
}

std::uint64_t Client::add_session_listener(SessionListener listener) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  std::uint64_t id = next_listener_++;
  listeners_.emplace_back(id, std::move(listener));
  return id;
}

void Client::remove_session_listener(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(listeners_mutex_);
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if (it->first == id) {
      listeners_.erase(it);
      return;
    }
  }
}

void Client::end_watches_now(int error, const std::string &message) {
  check_open();
  if (error <= Err::ok || error >= Err::count)
    fail(Err::einval, "unknown error code " + std::to_string(error));
  std::unordered_map<Watch *, WatchPtr> live;
  {
    std::lock_guard<std::mutex> lock(watches_mutex_);
    live.swap(watches_);
  }
  for (auto &entry : live) {
    entry.second->end(error, state_.load(), message);
    backend_->unwatch(entry.second);  // the store stops reporting for it
  }
}

void Client::cancel(const WatchPtr &watch) {
  if (!watch->cancel()) return;
  forget(watch);
  if (!closed_) backend_->unwatch(watch);
}

bool Client::wait_session(const std::function<bool()> &done, int timeout_ms,
                          std::unique_lock<std::mutex> &lock) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool ok = state_changed_.wait_until(lock, until, [&] {
    return closed_ || told_state_ == SessionState::closed || done();
  });
  check_open();
  if (told_state_ == SessionState::closed) fail(Err::eclosed, "client is closed");
  return ok;
}

namespace {
const char *state_name(int state) {
  static const char *const kNames[] = {"none", "CONNECTED", "SUSPENDED", "LOST",
                                       "CLOSED"};
  return state >= 0 && state <= 4 ? kNames[state] : "unknown";
}
}  // namespace

void Client::testkit_suspend() {
  check_open();
  std::lock_guard<std::mutex> serial(testkit_mutex_);
  backend_->testkit_cut(true);
  cut_ = true;
  // The backend notices the cut as it notices a real one, and says SUSPENDED (or LOST,
  // if the session was lost on the way).
  const int limit = std::max(operation_timeout_ms_, connect_timeout_ms_);
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (!wait_session(
          [&] {
            return told_state_ == SessionState::suspended ||
                   told_state_ == SessionState::lost;
          },
          limit, lock))
    fail(Err::etimeout, "testkit_suspend: the connection is cut, but the " + scheme_ +
                            " backend did not report SUSPENDED within " +
                            std::to_string(limit) + " ms (the session is " +
                            state_name(told_state_) + ")");
}

void Client::testkit_resume() {
  check_open();
  std::lock_guard<std::mutex> serial(testkit_mutex_);
  bool was_cut = cut_;
  backend_->testkit_cut(false);
  cut_ = false;
  if (!was_cut) return;
  const int limit = connect_timeout_ms_ + operation_timeout_ms_;
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (!wait_session([&] { return told_state_ == SessionState::connected; }, limit, lock))
    fail(Err::etimeout,
         "testkit_resume: the connection is back, but the session was "
         "not CONNECTED again within " +
             std::to_string(limit) + " ms (it is " + state_name(told_state_) + ")");
}

void Client::testkit_expire() {
  check_open();
  std::lock_guard<std::mutex> serial(testkit_mutex_);
  std::uint64_t lost_before;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    lost_before = lost_count_;
  }
  const bool connected = !cut_ && state_.load() == SessionState::connected;
  backend_->testkit_expire();
  if (!connected) return;  // told when it reconnects
  const int limit = connect_timeout_ms_ + operation_timeout_ms_;
  std::unique_lock<std::mutex> lock(state_mutex_);
  if (!wait_session(
          [&] {
            return lost_count_ > lost_before && told_state_ == SessionState::connected;
          },
          limit, lock))
    fail(Err::etimeout,
         "testkit_expire: the store ended the session, but the client did not "
         "report LOST and then CONNECTED with a new session within " +
             std::to_string(limit) + " ms (" +
             (lost_count_ > lost_before ? "LOST was reported; " : "no LOST yet; ") +
             "the session is " + state_name(told_state_) + ")");
}

}  // namespace offkv
