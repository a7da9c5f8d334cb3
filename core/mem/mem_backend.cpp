#include "mem_backend.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "../error.hpp"
#include "../key.hpp"
#include "../verdict.hpp"
#include "codes.hpp"

namespace offkv {

namespace {

struct MemNode {
  std::string value;
  std::int64_t version = 0;
  std::uint64_t owner = 0;  // session of an ephemeral node; 0 = persistent
};

// A client's connection to its store (guarded by the store's mutex). The test kit
// cuts it (offkv_testkit_suspend): what the client's watches get meanwhile is held
// and delivered, in order, when the connection is back within the session.
struct Link {
  bool cut = false;
  std::vector<std::pair<WatchPtr, Event>> held;
};

struct Registration {
  WatchPtr watch;
  std::uint64_t session;
  std::shared_ptr<Link> link;

  void fire(const Event &event) const {
    if (link && link->cut)
      link->held.emplace_back(watch, event);
    else
      watch->fire(event);
  }
};

// One named store. Everything below is guarded by mutex.
struct Store {
  std::mutex mutex;
  std::map<std::string, MemNode> nodes;
  // parent path -> full paths of its direct children. Parents need not be nodes
  // (a client's root is not one).
  std::unordered_map<std::string, std::set<std::string>> children;
  std::unordered_map<std::string, std::int64_t> sequence;  // parent -> next counter
  std::uint64_t next_session = 1;

  std::multimap<std::string, Registration> data_watches, exists_watches, child_watches;
  std::vector<Registration> persistent_watches;
};

std::shared_ptr<Store> named_store(const std::string &name) {
  static std::mutex registry_mutex;
  static auto *registry = new std::map<std::string, std::shared_ptr<Store>>();
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto &store = (*registry)[name];
  if (!store) store = std::make_shared<Store>();
  return store;
}

// A change under way: mutations are applied at once with an undo log, events are held
// back until the whole change has succeeded, so a failed transaction leaves the store
// as it was and fires nothing.
class Change {
 public:
  Change(Store &store, const std::string &prefix) : s_(store), verdicts_(prefix) {}
  ~Change() {
    if (!committed_) rollback();
  }

  const MemNode *find(const std::string &path) const {
    auto it = s_.nodes.find(path);
    return it == s_.nodes.end() ? nullptr : &it->second;
  }

  // Parent rules shared by every write that may create a node.
  void check_parent(const std::string &path, const std::string &root) {
    std::string parent = parent_path(path);
    if (parent == root || parent == "/") return;
    if (auto failure = verdicts_.judge_parent(path, facts(parent))) throw *failure;
  }

  std::string create(const std::string &path, const std::string &value, int flags,
                     std::uint64_t session, const std::string &root) {
    check_parent(path, root);
    std::string actual = path;
    if (flags & NodeFlag::sequential) {
      std::string parent = parent_path(path);
      auto &counter = s_.sequence[parent];
      undo_.push_back([this, parent, old = counter] { s_.sequence[parent] = old; });
      actual = sequential_path(path, counter++);
    }
    if (find(actual)) throw verdicts_.exists(actual);
    MemNode node{value, 1, (flags & NodeFlag::ephemeral) ? session : 0};
    insert(actual, node);
    event(EventType::created, actual, 1);
    return actual;
  }

  std::int64_t set(const std::string &path, const std::string &value,
                   std::uint64_t session, const std::string &root) {
    const MemNode *node = find(path);
    if (!node) {
      create(path, value, 0, session, root);
      return 1;
    }
    return replace(path, value);
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected, std::uint64_t session,
                   const std::string &root) {
    const MemNode *node = find(path);
    std::int64_t found = node ? node->version : 0;
    if (found != expected) throw verdicts_.cas_mismatch(path, expected, found);
    if (expected == 0) {
      create(path, value, 0, session, root);
      return 1;
    }
    return replace(path, value);
  }

  void erase(const std::string &path, std::int64_t expected) {
    if (auto failure = verdicts_.judge_erase(path, expected, facts(path))) throw *failure;
    std::vector<std::string> doomed;
    collect_subtree(path, doomed);
    // Deepest first, as ZooKeeper's multi would delete them.
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
      remove(*it);
      event(EventType::deleted, *it, 0);
    }
    children_event(parent_path(path));
  }

  void check(const TxnOp &check) {
    if (auto failure = verdicts_.judge_check(check, facts(check.path))) throw *failure;
  }

  NodeFacts facts(const std::string &path) const {
    const MemNode *node = find(path);
    if (!node) return {};
    return {true, node->version, node->owner != 0};
  }

  // Makes the change final and fires its events in order.
  void commit() {
    committed_ = true;
    for (const auto &e : events_) fire(e);
  }

 private:
  struct Pending {
    int type;
    std::string path;
    std::int64_t version;
  };

  std::int64_t replace(const std::string &path, const std::string &value) {
    MemNode &node = s_.nodes.at(path);
    undo_.push_back([this, path, old = node] { s_.nodes[path] = old; });
    node.value = value;
    ++node.version;
    event(EventType::changed, path, node.version);
    return node.version;
  }

  void insert(const std::string &path, const MemNode &node) {
    s_.nodes.emplace(path, node);
    s_.children[parent_path(path)].insert(path);
    undo_.push_back([this, path] {
      s_.nodes.erase(path);
      unlink_child(path);
    });
    children_event(parent_path(path));
  }

  void remove(const std::string &path) {
    auto it = s_.nodes.find(path);
    MemNode old = it->second;
    s_.nodes.erase(it);
    unlink_child(path);
    undo_.push_back([this, path, old] {
      s_.nodes.emplace(path, old);
      s_.children[parent_path(path)].insert(path);
    });
  }

  void unlink_child(const std::string &path) {
    auto it = s_.children.find(parent_path(path));
    if (it == s_.children.end()) return;
    it->second.erase(path);
    if (it->second.empty()) s_.children.erase(it);
  }

  void collect_subtree(const std::string &path, std::vector<std::string> &out) {
    out.push_back(path);
    auto it = s_.children.find(path);
    if (it == s_.children.end()) return;
    for (const auto &child : it->second) collect_subtree(child, out);
  }

  void rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
    undo_.clear();
  }

  void event(int type, const std::string &path, std::int64_t version) {
    events_.push_back({type, path, version});
  }
  void children_event(const std::string &parent) {
    events_.push_back({EventType::children, parent, -1});
  }

  static void fire_at(std::multimap<std::string, Registration> &watches,
                      const std::string &path, const Event &event) {
    auto range = watches.equal_range(path);
    for (auto it = range.first; it != range.second; ++it) it->second.fire(event);
    watches.erase(range.first, range.second);  // one-shot: consumed
  }

  void fire(const Pending &p) {
    Event ev;
    ev.type = p.type;
    ev.path = p.path;
    ev.version = p.version;
    switch (p.type) {
      case EventType::created:
        fire_at(s_.exists_watches, p.path, ev);
        break;
      case EventType::changed:
        fire_at(s_.data_watches, p.path, ev);
        fire_at(s_.exists_watches, p.path, ev);
        break;
      case EventType::deleted:
        fire_at(s_.data_watches, p.path, ev);
        fire_at(s_.exists_watches, p.path, ev);
        fire_at(s_.child_watches, p.path, ev);
        break;
      case EventType::children:
        fire_at(s_.child_watches, p.path, ev);
        return;  // persistent watches report the child's own event instead
    }
    for (auto &reg : s_.persistent_watches)
      if (path_covers(reg.watch->path(), p.path)) reg.fire(ev);
  }

  Store &s_;
  Verdicts verdicts_;
  std::vector<std::function<void()>> undo_;
  std::vector<Pending> events_;
  bool committed_ = false;
};

// A mem:// client. Its session lives as long as the client, unless the test kit
// cuts its connection (then SUSPENDED; LOST once the session timeout has passed
// without the connection, as a server would expire it) or expires it.
class MemBackend : public Backend {
 public:
  MemBackend(std::shared_ptr<Store> store, std::string prefix, const Options &options)
      : store_(std::move(store)),
        prefix_(std::move(prefix)),
        root_(prefix_.empty() ? "/" : prefix_),
        session_timeout_ms_(options.session_timeout_ms),
        operation_timeout_ms_(options.operation_timeout_ms) {}

  ~MemBackend() override { close(); }

  void start(SessionListener listener) override {
    listener_ = std::move(listener);
    std::uint64_t id;
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      id = session_ = store_->next_session++;
      state_ = SessionState::connected;
    }
    report(SessionState::connected, "mem store ready, session " + std::to_string(id));
  }

  std::string create(const std::string &path, const std::string &value,
                     int flags) override {
    auto lock = locked();
    Change change(*store_, prefix_);
    std::string actual = change.create(path, value, flags, session_, root_);
    change.commit();
    return actual;
  }

  std::int64_t set(const std::string &path, const std::string &value) override {
    auto lock = locked();
    Change change(*store_, prefix_);
    std::int64_t version = change.set(path, value, session_, root_);
    change.commit();
    return version;
  }

  std::int64_t cas(const std::string &path, const std::string &value,
                   std::int64_t expected) override {
    auto lock = locked();
    Change change(*store_, prefix_);
    std::int64_t version = change.cas(path, value, expected, session_, root_);
    change.commit();
    return version;
  }

  Node get(const std::string &path, const WatchPtr &watch) override {
    auto lock = locked();
    auto it = store_->nodes.find(path);
    if (it == store_->nodes.end()) throw Verdicts(prefix_).no_node("get", path);
    if (watch) store_->data_watches.emplace(path, registration(watch));
    return Node{it->second.value, it->second.version};
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    auto lock = locked();
    auto it = store_->nodes.find(path);
    if (watch) store_->exists_watches.emplace(path, registration(watch));
    return it == store_->nodes.end() ? 0 : it->second.version;
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    auto lock = locked();
    if (path != root_ && !store_->nodes.count(path))
      throw Verdicts(prefix_).no_node("list", path);
    std::vector<std::string> out;
    auto it = store_->children.find(path);
    if (it != store_->children.end()) out.assign(it->second.begin(), it->second.end());
    if (watch) store_->child_watches.emplace(path, registration(watch));
    return out;
  }

  void erase(const std::string &path, std::int64_t expected) override {
    auto lock = locked();
    Change change(*store_, prefix_);
    change.erase(path, expected);
    change.commit();
  }

  std::vector<OpResult> commit(const Txn &txn) override {
    auto lock = locked();
    Change change(*store_, prefix_);
    std::size_t index = 0;
    std::vector<OpResult> results;
    try {
      for (const auto &c : txn.checks) {
        change.check(c);
        ++index;
      }
      for (const auto &op : txn.ops) {
        OpResult r{0, op.path};
        switch (op.kind) {
          case TxnOpKind::Create:
            r.path = change.create(op.path, op.value, op.flags, session_, root_);
            r.version = 1;
            break;
          case TxnOpKind::Set:
            r.version = change.set(op.path, op.value, session_, root_);
            break;
          case TxnOpKind::Erase:
            change.erase(op.path, op.version);
            break;
          case TxnOpKind::Check:
            Verdicts::check_among_ops();
        }
        results.push_back(std::move(r));
        ++index;
      }
    } catch (const Error &e) {
      throw TxnFailed(index, e.code(), e.what());
    }
    change.commit();
    return results;
  }

  // Native asynchronous forms: the store is in memory, so each call runs at once on
  // the caller's thread, no worker thread involved; declined only while the test kit
  // cut the connection (the blocking form then waits for it).
  bool start_create(const std::string &path, const std::string &value, int flags,
                    Completion<std::string> done) override {
    return run_now(done, [&] { return create(path, value, flags); });
  }
  bool start_set(const std::string &path, const std::string &value,
                 Completion<std::int64_t> done) override {
    return run_now(done, [&] { return set(path, value); });
  }
  bool start_cas(const std::string &path, const std::string &value, std::int64_t expected,
                 Completion<std::int64_t> done) override {
    return run_now(done, [&] { return cas(path, value, expected); });
  }
  bool start_get(const std::string &path, const WatchPtr &watch,
                 Completion<Node> done) override {
    return run_now(done, [&] { return get(path, watch); });
  }
  bool start_exists(const std::string &path, const WatchPtr &watch,
                    Completion<std::int64_t> done) override {
    return run_now(done, [&] { return exists(path, watch); });
  }
  bool start_children(const std::string &path, const WatchPtr &watch,
                      Completion<std::vector<std::string>> done) override {
    return run_now(done, [&] { return children(path, watch); });
  }
  bool start_erase(const std::string &path, std::int64_t expected,
                   Completion<bool> done) override {
    return run_now(done, [&] {
      erase(path, expected);
      return true;
    });
  }
  bool start_commit(const Txn &txn, Completion<std::vector<OpResult>> done) override {
    return run_now(done, [&] { return commit(txn); });
  }

  void watch_persistent(const std::string &path, const WatchPtr &watch) override {
    auto lock = locked();
    store_->persistent_watches.push_back(registration(watch));
  }

  void unwatch(const WatchPtr &watch) override {
    std::lock_guard<std::mutex> lock(store_->mutex);
    drop_registrations([&](const Registration &r) { return r.watch == watch; });
    auto &held = link_->held;
    held.erase(std::remove_if(
                   held.begin(), held.end(),
                   [&](const std::pair<WatchPtr, Event> &h) { return h.first == watch; }),
               held.end());
  }

  void close() override {
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      if (closed_) return;
      closed_ = true;
      // A cut connection is restored first: closing ends the session at once.
      link_->cut = false;
      stop_watchdog_ = true;
      end_session_locked();
    }
    link_changed_.notify_all();
    join_watchdog();
  }

  // Test kit: the connection cut / restored; the session decided here as a server
  // would (docs/c-api.md "Test kit").
  void testkit_cut(bool cut) override {
    if (cut) {
      suspend();
    } else {
      resume();
    }
  }

  void testkit_expire() override {
    std::uint64_t old, id;
    {
      std::unique_lock<std::mutex> lock(store_->mutex);
      if (closed_) fail(Err::eclosed, "client is closed");
      if (state_ == SessionState::lost || expired_) return;  // no session to expire
      old = session_;
      end_session_locked();
      if (link_->cut) {
        // Cut off: the client hears of it when the connection is back (or at the
        // session timeout, whichever comes first).
        expired_ = true;
        return;
      }
      id = session_ = store_->next_session++;
    }
    report(SessionState::lost,
           "mem session " + std::to_string(old) + " expired (offkv_testkit_expire)");
    forget_finished();
    report(SessionState::connected, "new mem session " + std::to_string(id));
  }

 private:
  template <typename T, typename Fn>
  bool run_now(const Completion<T> &done, Fn &&fn) {
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      if (link_->cut) return false;
    }
    T value{};
    try {
      value = fn();
    } catch (...) {
      done(std::current_exception(), T{});
      return true;
    }
    done(nullptr, std::move(value));
    return true;
  }

  std::unique_lock<std::mutex> locked() {
    std::unique_lock<std::mutex> lock(store_->mutex);
    if (closed_) fail(Err::eclosed, "client is closed");
    if (!link_->cut) return lock;
    // Cut off (SUSPENDED): wait for the connection, as the other backends do.
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(operation_timeout_ms_);
    link_changed_.wait_until(lock, until, [&] {
      return closed_ || !link_->cut || state_ == SessionState::lost;
    });
    if (closed_) fail(Err::eclosed, "client is closed");
    if (state_ == SessionState::lost)
      fail(Err::esession,
           "mem: the session expired while the connection was cut; a new one is "
           "made when it is back");
    if (link_->cut)
      fail(Err::econnloss, "mem: not connected within " +
                               std::to_string(operation_timeout_ms_) +
                               " ms (operation_timeout_ms): the connection is cut "
                               "(offkv_testkit_suspend); not sent");
    return lock;
  }

  Registration registration(const WatchPtr &watch) const {
    return Registration{watch, session_, link_};
  }

  // The session ends at the store: its registrations (and what they held) dropped,
  // then its ephemerals erased, which other clients' watches see. store_->mutex held.
  void end_session_locked() {
    drop_registrations([&](const Registration &r) { return r.session == session_; });
    link_->held.clear();
    std::vector<std::string> mine;
    for (const auto &entry : store_->nodes)
      if (entry.second.owner == session_) mine.push_back(entry.first);
    for (const auto &path : mine) {
      Change change(*store_, prefix_);
      if (change.find(path)) change.erase(path, 0);
      change.commit();
    }
  }

  // After LOST the core ended every watch of the client; a watch armed while LOST
  // was being reported may still be registered: drop what can no longer fire.
  void forget_finished() {
    std::lock_guard<std::mutex> lock(store_->mutex);
    drop_registrations([&](const Registration &r) { return r.watch->finished(); });
  }

  void suspend() {
    // Held until SUSPENDED is told: the watchdog's LOST cannot come before it.
    std::lock_guard<std::mutex> reporting(report_mutex_);
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      if (closed_) fail(Err::eclosed, "client is closed");
      if (link_->cut) return;
      // The watchdog of an earlier cut has ended: resume joined it.
      if (watchdog_.joinable()) watchdog_.join();
      link_->cut = true;
      stop_watchdog_ = false;
      state_ = SessionState::suspended;
      // Started here, so that close() (which sets closed_ under this lock) joins it.
      auto since = std::chrono::steady_clock::now();
      watchdog_ = std::thread([this, since] { watch_session(since); });
    }
    if (listener_)
      listener_(SessionState::suspended,
                "connection to the mem store cut (offkv_testkit_suspend); the session "
                "lives for " +
                    std::to_string(session_timeout_ms_) + " ms (session_timeout_ms)");
  }

  // While cut: once the session timeout has passed, the store has expired the session.
  void watch_session(std::chrono::steady_clock::time_point since) {
    std::unique_lock<std::mutex> lock(store_->mutex);
    auto until = since + std::chrono::milliseconds(session_timeout_ms_);
    if (link_changed_.wait_until(lock, until, [&] { return stop_watchdog_; })) return;
    if (!expired_) end_session_locked();
    expired_ = false;
    session_ = 0;
    state_ = SessionState::lost;
    lock.unlock();
    link_changed_.notify_all();  // waiting operations fail with ESESSION
    report(SessionState::lost,
           "no connection to the mem store for the session timeout (" +
               std::to_string(session_timeout_ms_) + " ms): session expired");
    forget_finished();
  }

  void resume() {
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      if (closed_) fail(Err::eclosed, "client is closed");
      if (!link_->cut) return;
      stop_watchdog_ = true;
    }
    link_changed_.notify_all();
    join_watchdog();  // it either declared LOST or never will
    std::unique_lock<std::mutex> lock(store_->mutex);
    if (closed_) return;
    if (expired_) {
      // Expired while cut off: told now, as a server tells a reconnecting client.
      expired_ = false;
      state_ = SessionState::lost;
      lock.unlock();
      report(SessionState::lost,
             "mem session expired while the connection was cut (offkv_testkit_expire)");
      forget_finished();
      lock.lock();
      if (closed_) return;
    }
    if (state_ == SessionState::lost) {
      std::uint64_t id = session_ = store_->next_session++;
      link_->cut = false;
      state_ = SessionState::connected;
      lock.unlock();
      link_changed_.notify_all();
      report(SessionState::connected,
             "connection to the mem store back; new session " + std::to_string(id));
      return;
    }
    state_ = SessionState::connected;
    std::uint64_t id = session_;
    lock.unlock();
    report(SessionState::connected,
           "connection to the mem store back; session " + std::to_string(id) + " kept");
    // What the watches got meanwhile, in order, before anything newer.
    lock.lock();
    if (closed_) return;
    link_->cut = false;
    std::vector<std::pair<WatchPtr, Event>> held;
    held.swap(link_->held);
    for (auto &h : held) h.first->fire(h.second);
    lock.unlock();
    link_changed_.notify_all();
  }

  void join_watchdog() {
    if (watchdog_.joinable() && watchdog_.get_id() != std::this_thread::get_id())
      watchdog_.join();
  }

  void report(int state, const std::string &message) {
    std::lock_guard<std::mutex> lock(report_mutex_);
    if (listener_) listener_(state, message);
  }

  template <typename Pred>
  void drop_registrations(Pred pred) {
    for (auto *m :
         {&store_->data_watches, &store_->exists_watches, &store_->child_watches})
      for (auto it = m->begin(); it != m->end();)
        it = pred(it->second) ? m->erase(it) : std::next(it);
    auto &p = store_->persistent_watches;
    p.erase(std::remove_if(p.begin(), p.end(), pred), p.end());
  }

  std::shared_ptr<Store> store_;
  const std::string prefix_;
  const std::string root_;
  const int session_timeout_ms_;
  const int operation_timeout_ms_;
  SessionListener listener_;
  std::mutex report_mutex_;  // transitions reported one at a time, in order

  // Guarded by store_->mutex.
  std::uint64_t session_ = 0;  // 0 while LOST
  bool closed_ = false;
  std::shared_ptr<Link> link_ = std::make_shared<Link>();
  int state_ = 0;               // CONNECTED, SUSPENDED, LOST
  bool expired_ = false;        // expired while cut, not told yet
  bool stop_watchdog_ = false;  // the cut is being lifted, or the client closes
  std::condition_variable link_changed_;
  std::thread watchdog_;  // while cut: declares LOST at the session timeout
};

}  // namespace

std::unique_ptr<Backend> make_mem_backend(const Endpoint &endpoint,
                                          const Options &options) {
  return std::make_unique<MemBackend>(named_store(endpoint.hosts.at(0)), endpoint.prefix,
                                      options);
}

}  // namespace offkv
