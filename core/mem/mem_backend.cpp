#include "mem_backend.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "../error.hpp"
#include "../key.hpp"
#include "offkv.h"

namespace offkv {

namespace {

struct MemNode {
  std::string value;
  std::int64_t version = 0;
  std::uint64_t owner = 0;  // session of an ephemeral node; 0 = persistent
};

struct Registration {
  WatchPtr watch;
  std::uint64_t session;
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
  Change(Store &store, const std::string &prefix) : s_(store), prefix_(prefix) {}
  ~Change() {
    if (!committed_) rollback();
  }

  std::string display(const std::string &path) const {
    return to_client_key(prefix_, path);
  }

  const MemNode *find(const std::string &path) const {
    auto it = s_.nodes.find(path);
    return it == s_.nodes.end() ? nullptr : &it->second;
  }

  // Parent rules shared by every write that may create a node.
  void check_parent(const std::string &path, const std::string &root) {
    std::string parent = parent_path(path);
    if (parent == root || parent == "/") return;
    const MemNode *p = find(parent);
    if (!p)
      fail(OFFKV_ENOENT, "cannot create '" + display(path) + "': parent '" +
                             display(parent) + "' does not exist");
    if (p->owner != 0)
      fail(OFFKV_EEPHEMERAL, "cannot create '" + display(path) + "': parent '" +
                                 display(parent) + "' is ephemeral");
  }

  std::string create(const std::string &path, const std::string &value, int flags,
                     std::uint64_t session, const std::string &root) {
    check_parent(path, root);
    std::string actual = path;
    if (flags & OFFKV_SEQUENTIAL) {
      std::string parent = parent_path(path);
      auto &counter = s_.sequence[parent];
      undo_.push_back([this, parent, old = counter] { s_.sequence[parent] = old; });
      actual = sequential_path(path, counter++);
    }
    if (find(actual)) fail(OFFKV_EEXIST, "'" + display(actual) + "' already exists");
    MemNode node{value, 1, (flags & OFFKV_EPHEMERAL) ? session : 0};
    insert(actual, node);
    event(OFFKV_EVENT_CREATED, actual, 1);
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
    if (expected == 0) {
      if (node)
        fail(OFFKV_EVERSION, "cas on '" + display(path) +
                                 "': expected no node, found version " +
                                 std::to_string(node->version));
      create(path, value, 0, session, root);
      return 1;
    }
    if (!node)
      fail(OFFKV_EVERSION, "cas on '" + display(path) + "': expected version " +
                               std::to_string(expected) + ", node does not exist");
    if (node->version != expected)
      fail(OFFKV_EVERSION, "cas on '" + display(path) + "': expected version " +
                               std::to_string(expected) + ", found " +
                               std::to_string(node->version));
    return replace(path, value);
  }

  void erase(const std::string &path, std::int64_t expected) {
    const MemNode *node = find(path);
    if (!node) fail(OFFKV_ENOENT, "cannot erase '" + display(path) + "': no such node");
    if (expected != 0 && node->version != expected)
      fail(OFFKV_EVERSION, "erase of '" + display(path) + "': expected version " +
                               std::to_string(expected) + ", found " +
                               std::to_string(node->version));
    std::vector<std::string> doomed;
    collect_subtree(path, doomed);
    // Deepest first, as ZooKeeper's multi would delete them.
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
      remove(*it);
      event(OFFKV_EVENT_DELETED, *it, 0);
    }
    children_event(parent_path(path));
  }

  void check(const std::string &path, std::int64_t version) {
    const MemNode *node = find(path);
    std::int64_t actual = node ? node->version : 0;
    bool ok = version == OFFKV_ANY_VERSION ? actual != 0 : actual == version;
    if (!ok) {
      int code = (version != 0 && actual == 0) ? OFFKV_ENOENT
                 : (version == 0)              ? OFFKV_EEXIST
                                               : OFFKV_EVERSION;
      fail(code,
           "check on '" + display(path) + "': expected " +
               (version == OFFKV_ANY_VERSION ? std::string("any version")
                                             : "version " + std::to_string(version)) +
               ", found " +
               (actual ? "version " + std::to_string(actual) : std::string("no node")));
    }
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
    event(OFFKV_EVENT_CHANGED, path, node.version);
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
    events_.push_back({OFFKV_EVENT_CHILDREN, parent, -1});
  }

  static void fire_at(std::multimap<std::string, Registration> &watches,
                      const std::string &path, const Event &event) {
    auto range = watches.equal_range(path);
    for (auto it = range.first; it != range.second; ++it) it->second.watch->fire(event);
    watches.erase(range.first, range.second);  // one-shot: consumed
  }

  void fire(const Pending &p) {
    Event ev;
    ev.type = p.type;
    ev.path = p.path;
    ev.version = p.version;
    switch (p.type) {
      case OFFKV_EVENT_CREATED:
        fire_at(s_.exists_watches, p.path, ev);
        break;
      case OFFKV_EVENT_CHANGED:
        fire_at(s_.data_watches, p.path, ev);
        fire_at(s_.exists_watches, p.path, ev);
        break;
      case OFFKV_EVENT_DELETED:
        fire_at(s_.data_watches, p.path, ev);
        fire_at(s_.exists_watches, p.path, ev);
        fire_at(s_.child_watches, p.path, ev);
        break;
      case OFFKV_EVENT_CHILDREN:
        fire_at(s_.child_watches, p.path, ev);
        return;  // persistent watches report the child's own event instead
    }
    for (auto &reg : s_.persistent_watches)
      if (path_covers(reg.watch->path(), p.path)) reg.watch->fire(ev);
  }

  Store &s_;
  const std::string &prefix_;
  std::vector<std::function<void()>> undo_;
  std::vector<Pending> events_;
  bool committed_ = false;
};

class MemBackend : public Backend {
 public:
  MemBackend(std::shared_ptr<Store> store, std::string prefix)
      : store_(std::move(store)),
        prefix_(std::move(prefix)),
        root_(prefix_.empty() ? "/" : prefix_) {}

  ~MemBackend() override { close(); }

  void start(SessionListener listener) override {
    {
      std::lock_guard<std::mutex> lock(store_->mutex);
      session_ = store_->next_session++;
    }
    listener(OFFKV_SESSION_CONNECTED, "mem store ready");
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
    if (it == store_->nodes.end())
      fail(OFFKV_ENOENT,
           "cannot get '" + to_client_key(prefix_, path) + "': no such node");
    if (watch) store_->data_watches.emplace(path, Registration{watch, session_});
    return Node{it->second.value, it->second.version};
  }

  std::int64_t exists(const std::string &path, const WatchPtr &watch) override {
    auto lock = locked();
    auto it = store_->nodes.find(path);
    if (watch) store_->exists_watches.emplace(path, Registration{watch, session_});
    return it == store_->nodes.end() ? 0 : it->second.version;
  }

  std::vector<std::string> children(const std::string &path,
                                    const WatchPtr &watch) override {
    auto lock = locked();
    if (path != root_ && !store_->nodes.count(path))
      fail(OFFKV_ENOENT,
           "cannot list '" + to_client_key(prefix_, path) + "': no such node");
    std::vector<std::string> out;
    auto it = store_->children.find(path);
    if (it != store_->children.end()) out.assign(it->second.begin(), it->second.end());
    if (watch) store_->child_watches.emplace(path, Registration{watch, session_});
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
        change.check(c.path, c.version);
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
            fail(OFFKV_EINTERNAL, "check among ops");
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

  void watch_persistent(const std::string &path, const WatchPtr &watch) override {
    auto lock = locked();
    store_->persistent_watches.push_back(Registration{watch, session_});
  }

  void unwatch(const WatchPtr &watch) override {
    std::lock_guard<std::mutex> lock(store_->mutex);
    drop_registrations([&](const Registration &r) { return r.watch == watch; });
  }

  void close() override {
    std::lock_guard<std::mutex> lock(store_->mutex);
    if (closed_) return;
    closed_ = true;
    // Our own watches end in the core; drop them before our ephemerals go.
    drop_registrations([&](const Registration &r) { return r.session == session_; });
    std::vector<std::string> mine;
    for (const auto &entry : store_->nodes)
      if (entry.second.owner == session_) mine.push_back(entry.first);
    for (const auto &path : mine) {
      Change change(*store_, prefix_);
      if (change.find(path)) change.erase(path, 0);
      change.commit();
    }
  }

 private:
  std::unique_lock<std::mutex> locked() {
    std::unique_lock<std::mutex> lock(store_->mutex);
    if (closed_) fail(OFFKV_ECLOSED, "client is closed");
    return lock;
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
  std::uint64_t session_ = 0;
  bool closed_ = false;  // guarded by store_->mutex
};

}  // namespace

std::unique_ptr<Backend> make_mem_backend(const Endpoint &endpoint) {
  return std::make_unique<MemBackend>(named_store(endpoint.hosts.at(0)), endpoint.prefix);
}

}  // namespace offkv
