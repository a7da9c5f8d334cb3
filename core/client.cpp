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
  client->runner_ = std::make_unique<AsyncRunner>(
      client->loop_, kAsyncWorkers,
      std::chrono::milliseconds(options.operation_timeout_ms));
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

static void check_cas_expected(std::string_view key, std::int64_t expected) {
  if (expected < 0)
    fail(Err::einval, "cas on '" + std::string(key) + "': expected version " +
                          std::to_string(expected) + " is negative");
}

static void check_erase_expected(std::string_view key, std::int64_t expected) {
  if (expected < 0)
    fail(Err::einval, "erase of '" + std::string(key) + "': expected version " +
                          std::to_string(expected) + " is negative");
}

void Client::check_create(std::string_view key, const std::string &full,
                          std::string_view value, int flags) const {
  check_flags(flags);
  if (flags & NodeFlag::sequential) check_sequential_room(key, full);
  check_value(key, value);
}

std::string Client::create(std::string_view key, std::string_view value, int flags) {
  return counted(Op::Create, [&] {
    check_open();
    std::string full = full_key(key);
    check_create(key, full, value, flags);
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
    check_cas_expected(key, expected);
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
    return client_children(std::move(paths));
  });
}

std::vector<std::string> Client::client_children(std::vector<std::string> paths) const {
  for (auto &p : paths) p = to_client_key(prefix_, p);
  std::sort(paths.begin(), paths.end());  // bytewise: char_traits<char> is unsigned
  return paths;
}

void Client::erase(std::string_view key, std::int64_t expected) {
  return counted(Op::Erase, [&] {
    check_open();
    std::string full = full_key(key);
    check_erase_expected(key, expected);
    backend_->erase(full, expected);
  });
}

Txn Client::full_txn(const Txn &txn) const {
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
  return full;
}

std::vector<OpResult> Client::commit(const Txn &txn) {
  return counted(Op::Commit, [&] {
    check_open();
    Txn full = full_txn(txn);
    std::vector<OpResult> results = backend_->commit(full);
    for (auto &r : results) r.path = to_client_key(prefix_, r.path);
    return results;
  });
}

// ---- Native asynchronous forms ----

namespace {
int error_code(const std::exception_ptr &error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error &e) {
    return e.code();
  } catch (...) {
    return Err::einternal;
  }
}

// done(nullptr, map(value)), or done(error) when the mapping throws (out of memory).
template <typename T, typename Raw, typename Map>
void deliver_mapped(const Completion<T> &done, std::exception_ptr error, Raw raw,
                    const Map &map) {
  if (error) return done(error, T{});
  T value{};
  try {
    value = map(std::move(raw));
  } catch (...) {
    return done(std::current_exception(), T{});
  }
  done(nullptr, std::move(value));
}
}  // namespace

template <typename T>
Completion<T> Client::counting(Op op, Completion<T> done) {
  ++stats_->ops[static_cast<int>(op)];
  std::weak_ptr<Stats> stats = stats_;
  return [stats, done = std::move(done)](std::exception_ptr error, T value) {
    if (error)
      if (auto s = stats.lock()) s->count_error(error_code(error));
    done(std::move(error), std::move(value));
  };
}

bool Client::start_create(std::string_view key, std::string_view value, int flags,
                          Completion<std::string> done) {
  check_open();
  std::string full = full_key(key);
  check_create(key, full, value, flags);
  auto counted_done = counting(Op::Create, std::move(done));
  std::string prefix = prefix_;
  bool started = backend_->start_create(
      full, std::string(value), flags,
      [prefix, counted_done](std::exception_ptr error, std::string path) {
        deliver_mapped(counted_done, error, std::move(path),
                       [&](std::string p) { return to_client_key(prefix, p); });
      });
  if (!started) --stats_->ops[static_cast<int>(Op::Create)];
  return started;
}

bool Client::start_set(std::string_view key, std::string_view value,
                       Completion<std::int64_t> done) {
  check_open();
  std::string full = full_key(key);
  check_value(key, value);
  bool started =
      backend_->start_set(full, std::string(value), counting(Op::Set, std::move(done)));
  if (!started) --stats_->ops[static_cast<int>(Op::Set)];
  return started;
}

bool Client::start_cas(std::string_view key, std::string_view value,
                       std::int64_t expected, Completion<std::int64_t> done) {
  check_open();
  std::string full = full_key(key);
  check_value(key, value);
  check_cas_expected(key, expected);
  bool started = backend_->start_cas(full, std::string(value), expected,
                                     counting(Op::Cas, std::move(done)));
  if (!started) --stats_->ops[static_cast<int>(Op::Cas)];
  return started;
}

template <typename T, typename Raw, typename Map>
bool Client::start_watched(WatchKind kind, const std::string &full,
                           const EventCallback *callback, bool watch, Op op,
                           Completion<Watched<T>> done, Map map,
                           bool (Backend::*start)(const std::string &, const WatchPtr &,
                                                  Completion<Raw>)) {
  WatchPtr w = watch ? new_watch(kind, full, callback) : nullptr;
  std::weak_ptr<Client> weak = shared_from_this();
  auto counted_done = counting(op, std::move(done));
  bool started = ((*backend_).*start)(
      full, w, [weak, w, map, counted_done](std::exception_ptr error, Raw raw) {
        if (error && w)
          if (auto self = weak.lock()) self->abandon(w);
        deliver_mapped(counted_done, error, std::move(raw), [&](Raw r) {
          return Watched<T>{map(std::move(r)), w};
        });
      });
  if (!started) {
    --stats_->ops[static_cast<int>(op)];
    if (w) abandon(w);  // the blocking form registers its own
  }
  return started;
}

bool Client::start_get(std::string_view key, const EventCallback *callback, bool watch,
                       Completion<Watched<Node>> done) {
  check_open();
  return start_watched<Node, Node>(
      WatchKind::Data, full_key(key), callback, watch, Op::Get, std::move(done),
      [](Node n) { return n; }, &Backend::start_get);
}

bool Client::start_exists(std::string_view key, const EventCallback *callback, bool watch,
                          Completion<Watched<std::int64_t>> done) {
  check_open();
  return start_watched<std::int64_t, std::int64_t>(
      WatchKind::Exists, full_key(key), callback, watch, Op::Exists, std::move(done),
      [](std::int64_t v) { return v; }, &Backend::start_exists);
}

bool Client::start_children(std::string_view key, const EventCallback *callback,
                            bool watch,
                            Completion<Watched<std::vector<std::string>>> done) {
  check_open();
  auto self = shared_from_this();
  return start_watched<std::vector<std::string>, std::vector<std::string>>(
      WatchKind::Children, full_key_or_root(key), callback, watch, Op::Children,
      std::move(done),
      [self](std::vector<std::string> paths) {
        return self->client_children(std::move(paths));
      },
      &Backend::start_children);
}

bool Client::start_erase(std::string_view key, std::int64_t expected,
                         Completion<bool> done) {
  check_open();
  std::string full = full_key(key);
  check_erase_expected(key, expected);
  bool started =
      backend_->start_erase(full, expected, counting(Op::Erase, std::move(done)));
  if (!started) --stats_->ops[static_cast<int>(Op::Erase)];
  return started;
}

bool Client::start_commit(const Txn &txn, Completion<std::vector<OpResult>> done) {
  check_open();
  Txn full = full_txn(txn);
  auto counted_done = counting(Op::Commit, std::move(done));
  std::string prefix = prefix_;
  bool started = backend_->start_commit(
      full,
      [prefix, counted_done](std::exception_ptr error, std::vector<OpResult> results) {
        deliver_mapped(counted_done, error, std::move(results),
                       [&](std::vector<OpResult> rs) {
                         for (auto &r : rs) r.path = to_client_key(prefix, r.path);
                         return rs;
                       });
      });
  if (!started) --stats_->ops[static_cast<int>(Op::Commit)];
  return started;
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

void Client::submit(AsyncRunner::Submission submission) {
  check_open();
  std::shared_ptr<Stats> stats = stats_;
  if (submission.work)
    submission.work = [stats, work = std::move(submission.work)] {
      ++stats->async_workers;
      return work();
    };
  if (submission.start)
    submission.start =
        [stats, start = std::move(submission.start)](const AsyncRunner::Finish &finish) {
          ++stats->async_native;  // before: finish may run first, on another thread
          if (start(finish)) return true;
          --stats->async_native;
          return false;
        };
  if (!runner_->submit(std::move(submission))) fail(Err::eclosed, "client is closed");
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
