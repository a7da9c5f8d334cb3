// offkv through its C API only (capi/offkv.h): the subject every native client is
// compared with.
#include <map>

#include "bench.hpp"
#include "offkv.h"

namespace bench {
namespace {

void check(int rc, const char *what) {
  if (rc != OFFKV_OK)
    throw Fail(std::string("offkv ") + what + ": " + offkv_error_name(rc) + " " +
               offkv_last_error());
}

// Wakes the measuring thread when a callback has run; records when.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;
  std::int64_t at_ns = 0;
  void fire() {
    std::lock_guard<std::mutex> lock(mu);
    at_ns = now_ns();
    fired = true;
    cv.notify_all();
  }
  std::int64_t wait() {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(30), [this] { return fired; }))
      throw Fail("watch event did not come within 30 s");
    return at_ns;
  }
};

class OffkvSubject : public Subject {
 public:
  explicit OffkvSubject(const std::string &url) {
    check(offkv_open(url.c_str(), nullptr, &client_), "open");
  }
  ~OffkvSubject() override { offkv_client_free(client_); }
  std::string name() const override { return "offkv"; }

  void ensure_dir(const std::string &dir) override {
    for (std::size_t slash = 1; slash != std::string::npos;) {
      slash = dir.find('/', slash + 1);
      std::string prefix = dir.substr(0, slash);
      int rc = offkv_create(client_, prefix.c_str(), "", 0, 0, nullptr);
      if (rc != OFFKV_EEXIST) check(rc, "create (dir)");
    }
  }

  void sync_op(Op op, const std::string &key, const std::string &value) override {
    const char *k = key.c_str();
    switch (op) {
      case Op::Get: {
        offkv_buf buf{};
        std::int64_t version = 0;
        check(offkv_get(client_, k, &buf, &version), "get");
        offkv_buf_free(&buf);
        break;
      }
      case Op::Exists: {
        std::int64_t version = 0;
        check(offkv_exists(client_, k, &version), "exists");
        break;
      }
      case Op::Set:
        check(offkv_set(client_, k, value.data(), value.size(), nullptr), "set");
        break;
      case Op::Create:
        check(offkv_create(client_, k, value.data(), value.size(), 0, nullptr), "create");
        break;
      case Op::CreateErase:
        check(offkv_create(client_, k, value.data(), value.size(), 0, nullptr), "create");
        check(offkv_erase(client_, k, 0), "erase");
        break;
      case Op::Cas: {
        auto it = versions_.find(key);
        if (it == versions_.end()) {
          std::int64_t version = 0;
          check(offkv_exists(client_, k, &version), "exists (cas)");
          it = versions_.emplace(key, version).first;
        }
        check(offkv_cas(client_, k, value.data(), value.size(), it->second, &it->second),
              "cas");
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
      int rc = OFFKV_EINVAL;
      switch (op) {
        case Op::Get:
          rc = offkv_get_async(client_, key.c_str(), &completed, ctx);
          break;
        case Op::Exists:
          rc = offkv_exists_async(client_, key.c_str(), &completed, ctx);
          break;
        case Op::Set:
          rc = offkv_set_async(client_, key.c_str(), value.data(), value.size(),
                               &completed, ctx);
          break;
        case Op::Create:
          rc = offkv_create_async(client_, key.c_str(), value.data(), value.size(), 0,
                                  &completed, ctx);
          break;
        default:
          break;
      }
      if (rc != OFFKV_OK) {
        std::unique_ptr<Window::Done> owned(ctx);
        (*owned)(false, std::string(offkv_error_name(rc)) + " " + offkv_last_error());
      }
    });
    w.run();
  }

  std::size_t list(const std::string &dir) override {
    offkv_strings children{};
    check(offkv_children(client_, dir.c_str(), &children), "children");
    std::size_t count = children.count;
    offkv_strings_free(&children);
    return count;
  }

  void txn_sets(const std::vector<std::string> &keys, const std::string &value) override {
    offkv_txn *txn = nullptr;
    check(offkv_txn_new(&txn), "txn_new");
    std::unique_ptr<offkv_txn, void (*)(offkv_txn *)> owned(txn, offkv_txn_free);
    for (const auto &key : keys)
      check(offkv_txn_set(txn, key.c_str(), value.data(), value.size()), "txn_set");
    check(offkv_commit(client_, txn, nullptr), "commit");
  }

  double watch_delivery(const std::string &key, const std::string &value) override {
    Latch latch;
    auto on_event = [](const offkv_event *, void *user) {
      static_cast<Latch *>(user)->fire();
    };
    check(offkv_get_watch(client_, key.c_str(), nullptr, nullptr, on_event, &latch,
                          nullptr),
          "get_watch");
    settle();
    std::int64_t start = now_ns();
    check(offkv_set(client_, key.c_str(), value.data(), value.size(), nullptr), "set");
    return (latch.wait() - start) / 1e3;
  }

  void erase_tree(const std::string &dir) override {
    int rc = offkv_erase(client_, dir.c_str(), 0);
    if (rc != OFFKV_ENOENT) check(rc, "erase (tree)");
    versions_.clear();
  }

 private:
  static void completed(const offkv_completion *c, void *user) {
    std::unique_ptr<Window::Done> done(static_cast<Window::Done *>(user));
    (*done)(c->error == OFFKV_OK,
            c->error == OFFKV_OK
                ? std::string()
                : std::string(offkv_error_name(c->error)) + " " + c->message);
  }

  offkv_client *client_ = nullptr;
  std::map<std::string, std::int64_t> versions_;
};

}  // namespace

std::unique_ptr<Subject> make_offkv(const std::string &url) {
  return std::make_unique<OffkvSubject>(url);
}

}  // namespace bench
