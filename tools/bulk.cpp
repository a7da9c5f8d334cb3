// The machinery of the subtree commands: asynchronous calls with a bounded window,
// reading a subtree, finding its ephemeral nodes, writing nodes in transactions, the
// progress bar, base64, whole files.
#include "bulk.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace cli {

// ---- Calls ----

struct Calls::Pending {
  Calls *calls;
  offkv_client *client;
  Start start;
  Then then;
  Reply reply;
};

Calls::~Calls() {
  // Never leave while a completion may still touch this object.
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] {
    for (auto &lane : lanes_)
      if (lane.second.in_flight) return false;
    return true;
  });
  for (auto &lane : lanes_)
    for (Pending *p : lane.second.queued) delete p;
  for (Pending *p : done_) delete p;
}

void Calls::on_done(const offkv_completion *c, void *user) {
  auto *p = static_cast<Pending *>(user);
  Reply &r = p->reply;
  try {
    r.error = c->error;
    r.message = c->message ? c->message : "";
    r.version = c->version;
    if (c->value) r.value.assign(c->value, c->value_len);
    for (std::size_t i = 0; i < c->child_count; ++i)
      r.children.emplace_back(c->children[i]);
    if (c->txn) {
      r.failed_index = c->txn->failed_index;
      r.failed_code = c->txn->failed_code;
    }
  } catch (...) {  // out of memory: never let an exception into the library
    r = Reply();
    r.error = OFFKV_ENOMEM;
  }
  p->calls->finish(p);
}

void Calls::finish(Pending *p) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.push_back(p);
    --lanes_[p->client].in_flight;
  }
  changed_.notify_all();
}

void Calls::call(offkv_client *client, Start start, Then then) {
  if (failed_) return;
  auto *p = new Pending{this, client, std::move(start), std::move(then), Reply()};
  std::lock_guard<std::mutex> lock(mutex_);
  lanes_[client].queued.push_back(p);
}

void Calls::start_queued() {
  for (;;) {
    Pending *p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto &lane : lanes_) {
        Lane &l = lane.second;
        if (l.queued.empty() || l.in_flight >= window_) continue;
        p = l.queued.front();
        l.queued.pop_front();
        ++l.in_flight;  // before the call: its completion may run before it returns
        break;
      }
    }
    if (!p) return;
    int rc = p->start(&Calls::on_done, p);
    if (rc != OFFKV_OK) {  // refused without I/O: the completion never runs
      p->reply.error = rc;
      p->reply.message = offkv_last_error();
      finish(p);
    }
  }
}

bool Calls::idle_locked() const {
  for (auto &lane : lanes_)
    if (lane.second.in_flight || !lane.second.queued.empty()) return false;
  return done_.empty();
}

void Calls::run(const std::function<void()> &tick) {
  for (;;) {
    if (!failed_) start_queued();
    Pending *p = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (failed_) {  // start nothing more
        for (auto &lane : lanes_) {
          for (Pending *q : lane.second.queued) delete q;
          lane.second.queued.clear();
        }
      }
      changed_.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return !done_.empty() || idle_locked(); });
      if (!done_.empty()) {
        p = done_.front();
        done_.pop_front();
      } else if (idle_locked()) {
        break;
      }
    }
    if (p) {  // also after a failure: a write that succeeded is counted
      std::unique_ptr<Pending> owned(p);
      if (p->then) p->then(p->reply);
    }
    if (tick) tick();
  }
  if (failed_) throw failure_;
}

void Calls::fail(Failure failure) {
  if (failed_) return;
  failed_ = true;
  failure_ = std::move(failure);
}

// ---- Progress ----

Progress::Progress(std::string command)
    : command_(std::move(command)), enabled_(isatty(STDERR_FILENO) == 1) {}

void Progress::phase(const std::string &name, std::size_t total) {
  phase_ = name;
  total_ = total;
  done_ = 0;
  draw(true);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  std::fflush(stdout);
  if (total_ == 0) {
    std::fprintf(stderr, "\r\033[Koffkv %s: %s %zu", command_.c_str(), phase_.c_str(),
                 done_);
  } else {
    const std::size_t width = 30;
    std::size_t done = std::min(done_, total_);
    std::size_t filled = done * width / total_;
    std::fprintf(stderr, "\r\033[Koffkv %s: %s %zu/%zu [%s%s] %3zu%%", command_.c_str(),
                 phase_.c_str(), done, total_, std::string(filled, '#').c_str(),
                 std::string(width - filled, ' ').c_str(), done * 100 / total_);
  }
  std::fflush(stderr);
}

void Progress::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

// ---- Reading a subtree ----

bool tree_less(const std::string &a, const std::string &b) {
  auto rank = [](char c) { return c == '/' ? -1 : static_cast<unsigned char>(c); };
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [&](char x, char y) { return rank(x) < rank(y); });
}

namespace {

struct TxnDeleter {
  void operator()(offkv_txn *txn) const { offkv_txn_free(txn); }
};
using TxnPtr = std::unique_ptr<offkv_txn, TxnDeleter>;

TxnPtr new_txn(const std::string &what) {
  offkv_txn *txn = nullptr;
  int rc = offkv_txn_new(&txn);
  if (rc != OFFKV_OK) op_error(what, rc);
  return TxnPtr(txn);
}

// Lists `key` (node `index` of nodes, or "/" for index -1) and, from the
// continuations, every node below it.
struct Lister {
  offkv_client *client;
  const std::string &command;
  std::vector<Node> &nodes;
  Calls &calls;
  Progress &progress;

  void list(const std::string &key, long index) {
    calls.call(
        client,
        [this, key](offkv_completion_cb cb, void *user) {
          return offkv_children_async(client, key.c_str(), cb, user);
        },
        [this, key, index](Reply &r) {
          // Erased since its parent was listed: left out.
          if (r.error == OFFKV_ENOENT && index > 0) {
            nodes[static_cast<std::size_t>(index)].gone = true;
            return;
          }
          if (r.error != OFFKV_OK) {
            calls.fail(op_failure(command + " " + key, r.error, r.message));
            return;
          }
          if (index >= 0)
            nodes[static_cast<std::size_t>(index)].leaf = r.children.empty();
          for (std::string &child : r.children) {
            nodes.push_back(Node());
            nodes.back().key = child;
            progress.add();
            list(child, static_cast<long>(nodes.size() - 1));
          }
        });
  }
};

}  // namespace

std::vector<Node> list_subtree(offkv_client *client, const std::string &command,
                               const std::string &key, Calls &calls, Progress &progress) {
  std::vector<Node> nodes;
  progress.phase("listing", 0);
  Lister lister{client, command, nodes, calls, progress};
  if (key == "/") {
    lister.list(key, -1);
  } else {
    nodes.push_back(Node());
    nodes.back().key = key;
    progress.add();
    lister.list(key, 0);
  }
  calls.run([&] { progress.draw(); });
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const Node &a, const Node &b) { return tree_less(a.key, b.key); });
  return nodes;
}

void queue_reads(offkv_client *client, const std::string &command,
                 std::vector<Node> &nodes, Calls &calls, Progress &progress) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].gone) continue;
    calls.call(
        client,
        [client, &nodes, i](offkv_completion_cb cb, void *user) {
          return offkv_get_async(client, nodes[i].key.c_str(), cb, user);
        },
        [&, command, i](Reply &r) {
          Node &n = nodes[i];
          progress.add();
          if (r.error == OFFKV_ENOENT) {
            n.gone = true;
          } else if (r.error != OFFKV_OK) {
            calls.fail(op_failure(command + " " + n.key, r.error, r.message));
          } else {
            n.version = r.version;
            n.value = std::move(r.value);
          }
        });
  }
}

namespace {

// The child a probe tries to create under a leaf: a one-byte segment, so the probe
// fits whenever the leaf's key leaves room for any child.
const char kProbeChild[] = "/_";

// A transaction owned by the queued call that commits it.
std::shared_ptr<offkv_txn> shared_txn(const std::string &what) {
  return std::shared_ptr<offkv_txn>(new_txn(what).release(), TxnDeleter());
}

void probe(offkv_client *client, const std::string &command, std::vector<Node> &nodes,
           Calls &calls, Progress &progress, std::vector<std::size_t> batch) {
  std::shared_ptr<offkv_txn> txn = shared_txn(command);
  for (std::size_t i : batch) {
    std::string child = nodes[i].key + kProbeChild;
    int rc = offkv_txn_create(txn.get(), child.c_str(), "", 0, 0);
    if (rc != OFFKV_OK) op_error(command + " " + nodes[i].key, rc);
  }
  // The same create again: the transaction fails even if every leaf is persistent.
  std::string last = nodes[batch.back()].key + kProbeChild;
  int rc = offkv_txn_create(txn.get(), last.c_str(), "", 0, 0);
  if (rc != OFFKV_OK) op_error(command + " " + nodes[batch.back()].key, rc);
  calls.call(
      client,
      [client, txn](offkv_completion_cb cb, void *user) {
        return offkv_commit_async(client, txn.get(), cb, user);
      },
      [&, client, command, batch](Reply &r) {
        const std::string &first = nodes[batch.front()].key;
        if (r.error == OFFKV_OK) {  // cannot happen: the last op always fails
          calls.fail(Failure{kExitFailed, command + " " + first +
                                              ": internal error: an ephemeral probe "
                                              "was applied under '" +
                                              first + "'"});
          return;
        }
        if (r.error != OFFKV_ETXN) {
          calls.fail(op_failure(command + " " + first, r.error,
                                "cannot tell whether it is ephemeral: " + r.message));
          return;
        }
        std::size_t at = r.failed_index;
        if (at >= batch.size()) {  // the duplicate create: every leaf is persistent
          progress.add(batch.size());
          return;
        }
        Node &n = nodes[batch[at]];
        switch (r.failed_code) {
          case OFFKV_EEPHEMERAL:
            n.ephemeral = true;
            break;
          case OFFKV_ENOENT:  // erased meanwhile
            n.gone = true;
            break;
          case OFFKV_EEXIST:  // it has a child now: persistent
            break;
          default:
            calls.fail(op_failure(command + " " + n.key, r.failed_code,
                                  "cannot tell whether it is ephemeral: " + r.message));
            return;
        }
        progress.add(at + 1);
        if (at + 1 < batch.size())
          probe(client, command, nodes, calls, progress,
                std::vector<std::size_t>(batch.begin() + static_cast<long>(at) + 1,
                                         batch.end()));
      });
}

}  // namespace

std::size_t queue_probes(offkv_client *client, const std::string &command,
                         std::vector<Node> &nodes, Calls &calls, Progress &progress) {
  const std::size_t per_txn = OFFKV_MAX_TXN_OPS - 1;
  std::vector<std::size_t> leaves;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].leaf && !nodes[i].gone) leaves.push_back(i);
  for (std::size_t i = 0; i < leaves.size(); i += per_txn) {
    std::size_t end = std::min(leaves.size(), i + per_txn);
    probe(client, command, nodes, calls, progress,
          std::vector<std::size_t>(leaves.begin() + static_cast<long>(i),
                                   leaves.begin() + static_cast<long>(end)));
  }
  return leaves.size();
}

// ---- Writing ----

namespace {

// The destination's side of the writes: what queue_target_reads' calls share.
struct Targets {
  offkv_client *client;
  std::string command;
  std::vector<Write> &writes;
  Calls &calls;
  Progress &progress;
  std::vector<std::vector<std::size_t>> children;  // of each write, among the writes

  std::size_t subtree_size(std::size_t i) const {
    std::size_t n = 1;
    for (std::size_t c : children[i]) n += subtree_size(c);
    return n;
  }
};

// Reads write i's key on the destination and, if it is there, its children's: below
// an absent key every key is absent too (counted, not read).
void read_target(const std::shared_ptr<Targets> &t, std::size_t i) {
  t->calls.call(
      t->client,
      [t, i](offkv_completion_cb cb, void *user) {
        return offkv_get_async(t->client, t->writes[i].key.c_str(), cb, user);
      },
      [t, i](Reply &r) {
        Write &w = t->writes[i];
        if (r.error == OFFKV_ENOENT) {
          t->progress.add(t->subtree_size(i));
          return;
        }
        t->progress.add();
        if (r.error != OFFKV_OK) {
          t->calls.fail(op_failure(t->command + " " + w.key, r.error, r.message));
          return;
        }
        w.exists = true;
        w.current = std::move(r.value);
        for (std::size_t c : t->children[i]) read_target(t, c);
      });
}

}  // namespace

void queue_target_reads(offkv_client *client, const std::string &command,
                        std::vector<Write> &writes, bool every_key, Calls &calls,
                        Progress &progress) {
  auto t =
      std::make_shared<Targets>(Targets{client, command, writes, calls, progress, {}});
  t->children.resize(writes.size());
  std::map<std::string, std::size_t> index;
  std::vector<std::size_t> tops;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const std::string &key = writes[i].key;
    auto parent = index.find(key.substr(0, key.rfind('/')));
    if (every_key || parent == index.end())
      tops.push_back(i);
    else
      t->children[parent->second].push_back(i);
    index.emplace(key, i);
  }
  for (std::size_t i : tops) read_target(t, i);
}

namespace {

// Values per transaction past its first op; well below the servers' default request
// limits (Consul's txn_max_req_len 512 KiB with values in base64, etcd's 1.5 MiB,
// ZooKeeper's jute.maxbuffer 1 MiB), so copies work against stock servers.
const std::size_t kBatchBytes = 128 * 1024;

struct Batch {
  std::vector<std::size_t> items;
  std::size_t bytes = 0;
};

enum class Action { Skip, Create, Update, Unchanged };

Action action_of(const Write &w) {
  if (w.skip) return Action::Skip;
  if (!w.exists) return Action::Create;
  return w.current == w.value ? Action::Unchanged : Action::Update;
}

}  // namespace

void write_nodes(offkv_client *client, const std::string &command,
                 const std::vector<Write> &writes, bool dry_run, Calls &calls,
                 Progress &progress, WriteCounts &counts) {
  std::vector<Action> actions;
  std::size_t to_write = 0;
  for (const Write &w : writes) {
    actions.push_back(action_of(w));
    if (actions.back() == Action::Unchanged) ++counts.unchanged;
    if (actions.back() == Action::Create || actions.back() == Action::Update) ++to_write;
  }
  if (dry_run) {
    progress.clear();
    for (std::size_t i = 0; i < writes.size(); ++i) {
      if (actions[i] != Action::Create && actions[i] != Action::Update) continue;
      bool create = actions[i] == Action::Create;
      std::printf("%s %s\n", create ? "create" : "update", writes[i].key.c_str());
      ++(create ? counts.created : counts.updated);
      counts.bytes += writes[i].value.size();
    }
    return;
  }

  progress.phase("writing", to_write);
  auto commit = [&](const Batch &batch) {
    std::shared_ptr<offkv_txn> txn = shared_txn(command);
    for (std::size_t i : batch.items) {
      const Write &w = writes[i];
      int rc =
          actions[i] == Action::Create
              ? offkv_txn_create(txn.get(), w.key.c_str(), w.value.data(), w.value.size(),
                                 0)
              : offkv_txn_set(txn.get(), w.key.c_str(), w.value.data(), w.value.size());
      if (rc != OFFKV_OK) op_error(command + " " + w.key, rc);
    }
    calls.call(
        client,
        [client, txn](offkv_completion_cb cb, void *user) {
          return offkv_commit_async(client, txn.get(), cb, user);
        },
        [&, batch](Reply &r) {
          if (r.error == OFFKV_ETXN && r.failed_index < batch.items.size()) {
            const Write &w = writes[batch.items[r.failed_index]];
            calls.fail(op_failure(command + " " + w.key, r.failed_code, r.message));
            return;
          }
          if (r.error != OFFKV_OK) {
            calls.fail(op_failure(command + " " + writes[batch.items.front()].key,
                                  r.error, r.message));
            return;
          }
          for (std::size_t i : batch.items)
            ++(actions[i] == Action::Create ? counts.created : counts.updated);
          counts.bytes += batch.bytes;
          progress.add(batch.items.size());
        });
  };
  // Parents come before their children: in one transaction, or in an earlier one
  // (calls on related keys take effect in the order they were made).
  Batch batch;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (actions[i] != Action::Create && actions[i] != Action::Update) continue;
    std::size_t size = writes[i].value.size();
    if (!batch.items.empty() &&
        (batch.items.size() == OFFKV_MAX_TXN_OPS || batch.bytes + size > kBatchBytes)) {
      commit(batch);
      batch = Batch();
    }
    batch.items.push_back(i);
    batch.bytes += size;
  }
  if (!batch.items.empty()) commit(batch);
  calls.run([&] { progress.draw(); });
}

// ---- base64, files ----

namespace {
const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_digit(char c) {
  const char *at = c ? std::strchr(kBase64, c) : nullptr;
  return at ? static_cast<int>(at - kBase64) : -1;
}
}  // namespace

std::string base64_encode(const std::string &in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += kBase64[(n >> 18) & 63];
    out += kBase64[(n >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kBase64[n & 63] : '=';
  }
  return out;
}

bool base64_decode(const std::string &in, std::string &out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    bool last = i + 4 == in.size();
    int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      int d = j >= 4 - static_cast<std::size_t>(pad) ? 0 : base64_digit(in[i + j]);
      if (d < 0) return false;
      n = n << 6 | static_cast<std::uint32_t>(d);
    }
    // Canonical only: the bits below the last byte must be zero.
    if ((pad == 1 && (n & 0xff)) || (pad == 2 && (n & 0xffff))) return false;
    out += static_cast<char>(n >> 16);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return true;
}

std::string read_file(const std::string &command, const std::string &path) {
  std::FILE *f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f)
    throw Failure{kExitFailed,
                  command + ": cannot open '" + path + "': " + std::strerror(errno)};
  std::string text;
  char chunk[65536];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) text.append(chunk, n);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  if (f != stdin) std::fclose(f);
  if (failed)
    throw Failure{kExitFailed,
                  command + ": cannot read '" + path + "': " + std::strerror(err)};
  return text;
}

}  // namespace cli
