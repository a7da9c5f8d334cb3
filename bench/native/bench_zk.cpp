// The ZooKeeper C client (libzookeeper-mt), as a program would use it directly.
#include <zookeeper/zookeeper.h>

#include <map>

#include "bench.hpp"

namespace bench {
namespace {

void check(int rc, const char *what) {
  if (rc != ZOK) throw Fail(std::string("zk ") + what + ": " + zerror(rc));
}

// One blocking wait for a completion that runs on the client's completion thread.
struct Wait {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = ZOK;
  std::int64_t at_ns = 0;
  void fire(int code) {
    std::lock_guard<std::mutex> lock(mu);
    rc = code;
    at_ns = now_ns();
    done = true;
    cv.notify_all();
  }
  int wait() {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [this] { return done; }))
      throw Fail("zk: no completion within 30 s");
    return rc;
  }
};

void ignore_string(int, const char *, const void *) {}
void fire_data(int rc, const char *, int, const Stat *, const void *data) {
  static_cast<Wait *>(const_cast<void *>(data))->fire(rc);
}
void fire_stat(int rc, const Stat *, const void *data) {
  static_cast<Wait *>(const_cast<void *>(data))->fire(rc);
}

// Completions of the windowed runs: the context is a heap-allocated Window::Done.
void finish(int rc, const void *data) {
  std::unique_ptr<Window::Done> done(
      static_cast<Window::Done *>(const_cast<void *>(data)));
  (*done)(rc == ZOK, rc == ZOK ? "" : zerror(rc));
}
void done_data(int rc, const char *, int, const Stat *, const void *data) {
  finish(rc, data);
}
void done_stat(int rc, const Stat *, const void *data) {
  finish(rc == ZNONODE ? ZOK : rc, data);  // exists on an absent node is an answer
}
void done_string(int rc, const char *, const void *data) { finish(rc, data); }
void done_void(int rc, const void *data) { finish(rc, data); }

class ZkSubject : public Subject {
 public:
  ZkSubject(const std::string &host_port, bool sync_reads) : sync_reads_(sync_reads) {
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zh_ = zookeeper_init(host_port.c_str(), &session_watcher, 15000, nullptr, this, 0);
    if (!zh_) throw Fail("zookeeper_init failed");
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(30), [this] { return connected_; }))
      throw Fail("zk: not connected within 30 s");
  }
  ~ZkSubject() override { zookeeper_close(zh_); }
  std::string name() const override {
    return sync_reads_ ? "zk-c (sync+read)" : "zk-c (plain read)";
  }

  void ensure_dir(const std::string &dir) override {
    for (std::size_t slash = 1; slash != std::string::npos;) {
      slash = dir.find('/', slash + 1);
      std::string prefix = dir.substr(0, slash);
      int rc =
          zoo_create(zh_, prefix.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
      if (rc != ZNODEEXISTS) check(rc, "create (dir)");
    }
  }

  void sync_op(Op op, const std::string &key, const std::string &value) override {
    const char *k = key.c_str();
    switch (op) {
      case Op::Get:
        if (sync_reads_) {
          Wait w;
          check(zoo_async(zh_, k, ignore_string, nullptr), "sync");
          check(zoo_aget(zh_, k, 0, fire_data, &w), "aget");
          check(w.wait(), "get");
        } else {
          char buf[1024];
          int len = sizeof buf;
          Stat stat;
          check(zoo_get(zh_, k, 0, buf, &len, &stat), "get");
        }
        break;
      case Op::Exists:
        if (sync_reads_) {
          Wait w;
          check(zoo_async(zh_, k, ignore_string, nullptr), "sync");
          check(zoo_aexists(zh_, k, 0, fire_stat, &w), "aexists");
          check(w.wait(), "exists");
        } else {
          Stat stat;
          check(zoo_exists(zh_, k, 0, &stat), "exists");
        }
        break;
      case Op::Set:
        check(zoo_set(zh_, k, value.data(), int(value.size()), -1), "set");
        break;
      case Op::Create:
        check(zoo_create(zh_, k, value.data(), int(value.size()), &ZOO_OPEN_ACL_UNSAFE, 0,
                         nullptr, 0),
              "create");
        break;
      case Op::CreateErase:
        check(zoo_create(zh_, k, value.data(), int(value.size()), &ZOO_OPEN_ACL_UNSAFE, 0,
                         nullptr, 0),
              "create");
        check(zoo_delete(zh_, k, -1), "delete");
        break;
      case Op::Cas: {
        auto it = versions_.find(key);
        if (it == versions_.end()) {
          Stat stat;
          check(zoo_exists(zh_, k, 0, &stat), "exists (cas)");
          it = versions_.emplace(key, stat.version).first;
        }
        Stat stat;
        check(zoo_set2(zh_, k, value.data(), int(value.size()), it->second, &stat),
              "cas");
        it->second = stat.version;
        break;
      }
      case Op::Children:
        list(key);
        break;
    }
  }

  void async_run(Op op, int window, int total,
                 const std::function<std::string(int)> &key_of,
                 const std::string &value) override {
    Window w(window, total, [&](int i, Window::Done done) {
      auto *ctx = new Window::Done(std::move(done));
      std::string key = key_of(i);
      const char *k = key.c_str();
      int rc = ZBADARGUMENTS;
      switch (op) {
        case Op::Get:
          if (sync_reads_) zoo_async(zh_, k, ignore_string, nullptr);
          rc = zoo_aget(zh_, k, 0, done_data, ctx);
          break;
        case Op::Exists:
          if (sync_reads_) zoo_async(zh_, k, ignore_string, nullptr);
          rc = zoo_aexists(zh_, k, 0, done_stat, ctx);
          break;
        case Op::Set:
          rc = zoo_aset(zh_, k, value.data(), int(value.size()), -1, done_stat, ctx);
          break;
        case Op::Create:
          rc = zoo_acreate(zh_, k, value.data(), int(value.size()), &ZOO_OPEN_ACL_UNSAFE,
                           0, done_string, ctx);
          break;
        default:
          break;
      }
      if (rc != ZOK) finish(rc, ctx);
    });
    w.run();
  }

  std::size_t list(const std::string &dir) override {
    String_vector children{};
    if (sync_reads_) {
      // The sync's answer comes before the listing's: the listing's completion is the
      // end.
      Wait w;
      check(zoo_async(zh_, dir.c_str(), ignore_string, nullptr), "sync");
      struct Ctx {
        Wait *w;
        std::size_t count;
      } ctx{&w, 0};
      check(zoo_aget_children(
                zh_, dir.c_str(), 0,
                [](int rc, const String_vector *sv, const void *data) {
                  auto *c = static_cast<Ctx *>(const_cast<void *>(data));
                  if (rc == ZOK) c->count = sv->count;
                  c->w->fire(rc);
                },
                &ctx),
            "aget_children");
      check(w.wait(), "children");
      return ctx.count;
    }
    check(zoo_get_children(zh_, dir.c_str(), 0, &children), "children");
    std::size_t count = children.count;
    deallocate_String_vector(&children);
    return count;
  }

  void txn_sets(const std::vector<std::string> &keys, const std::string &value) override {
    std::vector<zoo_op_t> ops(keys.size());
    std::vector<zoo_op_result_t> results(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      zoo_set_op_init(&ops[i], keys[i].c_str(), value.data(), int(value.size()), -1,
                      nullptr);
    check(zoo_multi(zh_, int(ops.size()), ops.data(), results.data()), "multi");
  }

  double watch_delivery(const std::string &key, const std::string &value) override {
    Wait w;
    char buf[1024];
    int len = sizeof buf;
    Stat stat;
    check(zoo_wget(
              zh_, key.c_str(),
              [](zhandle_t *, int, int, const char *, void *ctx) {
                static_cast<Wait *>(ctx)->fire(ZOK);
              },
              &w, buf, &len, &stat),
          "wget");
    settle();
    std::int64_t start = now_ns();
    check(zoo_set(zh_, key.c_str(), value.data(), int(value.size()), -1), "set");
    w.wait();
    return (w.at_ns - start) / 1e3;
  }

  void erase_tree(const std::string &dir) override {
    String_vector children{};
    int rc = zoo_get_children(zh_, dir.c_str(), 0, &children);
    if (rc == ZNONODE) return;
    check(rc, "children (erase)");
    std::vector<std::string> paths;
    for (int i = 0; i < children.count; ++i)
      paths.push_back(dir + "/" + children.data[i]);
    deallocate_String_vector(&children);
    // Our trees are shallow: erase the leaves in a window, then what is left one by one.
    std::vector<int> codes(paths.size(), ZOK);
    Window w(64, int(paths.size()), [&](int i, Window::Done done) {
      auto *ctx = new Window::Done(
          [&codes, i, done = std::move(done)](bool, const std::string &message) {
            codes[i] = message == zerror(ZNOTEMPTY) ? ZNOTEMPTY : ZOK;
            done(true, "");
          });
      int rc = zoo_adelete(zh_, paths[i].c_str(), -1, done_void, ctx);
      if (rc != ZOK) finish(rc, ctx);
    });
    w.run();
    for (std::size_t i = 0; i < paths.size(); ++i)
      if (codes[i] == ZNOTEMPTY) erase_tree(paths[i]);
    rc = zoo_delete(zh_, dir.c_str(), -1);
    if (rc != ZNONODE) check(rc, "delete (tree)");
    versions_.clear();
  }

 private:
  static void session_watcher(zhandle_t *, int type, int state, const char *, void *ctx) {
    auto *self = static_cast<ZkSubject *>(ctx);
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->connected_ = true;
      self->cv_.notify_all();
    }
  }

  bool sync_reads_;
  zhandle_t *zh_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool connected_ = false;
  std::map<std::string, std::int64_t> versions_;
};

}  // namespace

std::unique_ptr<Subject> make_zk_native(const std::string &host_port, bool sync_reads) {
  return std::make_unique<ZkSubject>(host_port, sync_reads);
}

}  // namespace bench
