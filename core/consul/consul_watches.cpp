#include "consul_watches.hpp"

#include <algorithm>
#include <climits>

#include "../error.hpp"
#include "../key.hpp"
#include "codes.hpp"

namespace offkv {
namespace consul {

namespace {

constexpr int kWaitSeconds = 30;     // blocking query wait (Consul adds up to wait/16)
constexpr int kMaxBackoffMs = 5000;  // between retries after a failed read
constexpr int kFirstBackoffMs = 100;
// The pump asks for the whole subtree below its prefix (values included) while that
// stays below this size, so a wake-up carries the state right after the change.
constexpr std::size_t kMaxRecursiveBody = 1 << 20;

enum Phase { kGoneBeforeRecreate = 0, kCreated = 1, kChanged = 2, kGone = 3 };

struct Pending {
  std::uint64_t index;
  int phase;
  std::string order;
  std::int64_t version;
  std::size_t seq;
  std::shared_ptr<void> reg;  // keeps the registration alive while sorting
  std::uint64_t reg_id;
  WatchPtr watch;
  bool oneshot;
  Event event;
};

bool before(const Pending &a, const Pending &b) {
  if (a.index != b.index) return a.index < b.index;
  if (a.phase != b.phase) return a.phase < b.phase;
  if (a.order != b.order) return a.phase == kGone ? a.order > b.order : a.order < b.order;
  if (a.version != b.version) return a.version < b.version;
  return a.seq < b.seq;
}

}  // namespace

std::vector<Change> diff_node(const std::string &path, bool present, const Known &was,
                              const Entry &n, std::uint64_t key_index) {
  std::vector<Change> out;
  if (present) {
    if (!n.present || n.create_index != was.create_index) {
      out.push_back({EventType::deleted, path, 0, n.present ? n.create_index : key_index,
                     n.present ? kGoneBeforeRecreate : kGone});
    } else if (n.modify_index > was.modify_index && n.version != was.version) {
      out.push_back(
          {EventType::changed, path, was.version + 1, n.modify_index, kChanged});
    }
  } else if (n.present) {
    out.push_back({EventType::created, path, 1, n.create_index, kCreated});
  }
  return out;
}

std::vector<Change> diff_children(const std::string &path, bool present, const Known &was,
                                  const std::set<std::string> &names, const Entry &n,
                                  std::uint64_t key_index,
                                  const std::vector<std::string> &now_names,
                                  std::uint64_t names_index) {
  if (present && (!n.present || n.create_index != was.create_index))
    return {{EventType::deleted, path, 0, n.present ? n.create_index : key_index,
             n.present ? kGoneBeforeRecreate : kGone}};
  std::set<std::string> now(now_names.begin(), now_names.end());
  if (now != names) return {{EventType::children, path, -1, names_index, kChanged}};
  return {};
}

std::vector<Change> diff_tree(const std::string &root,
                              std::map<std::string, Known> &known, const Entry &n,
                              std::uint64_t key_index, const std::vector<Entry> &subtree,
                              std::uint64_t tree_index) {
  std::vector<Change> out;
  std::map<std::string, Known> now;
  if (n.present) now[root] = {n.create_index, n.modify_index, n.version};
  for (const auto &e : subtree) {
    auto path = path_of(e.key);
    if (path && path_covers(root, *path))
      now[*path] = {e.create_index, e.modify_index, e.version};
  }
  std::uint64_t gone_index = std::max(tree_index, key_index);
  std::set<std::string> paths;
  for (const auto &entry : known) paths.insert(entry.first);
  for (const auto &entry : now) paths.insert(entry.first);
  for (const auto &path : paths) {
    auto was = known.find(path);
    auto is = now.find(path);
    std::int64_t from = 0;  // the last version reported for this incarnation
    if (was != known.end()) {
      if (is == now.end()) {
        out.push_back({EventType::deleted, path, 0, gone_index, kGone});
        continue;
      }
      if (is->second.create_index != was->second.create_index) {
        out.push_back(
            {EventType::deleted, path, 0, is->second.create_index, kGoneBeforeRecreate});
      } else {
        from = was->second.version;
      }
    }
    const Known &cur = is->second;
    if (from == 0)
      out.push_back({EventType::created, path, 1, cur.create_index, kCreated});
    // CREATED stands for version 1; the versions after it come one by one.
    std::int64_t first =
        first_version_to_report(std::max<std::int64_t>(from, 1), cur.version);
    for (std::int64_t v = first; v <= cur.version; ++v)
      out.push_back({EventType::changed, path, v, cur.modify_index, kChanged});
  }
  known.swap(now);
  return out;
}

struct WatchHub::Flush {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  void finish() {
    std::lock_guard<std::mutex> lock(mutex);
    done = true;
    cv.notify_all();
  }
};

// One re-read of the targets of some registrations.
struct WatchHub::Round {
  std::shared_ptr<Flush> flush;  // someone waits for this round (close)
  std::uint64_t seq = 0;
  bool from_pump = false;
  std::vector<RegPtr> regs;
  std::vector<std::string> targets;  // "k<path>", "c<path>", "t<path>"
  std::vector<Response> answers;
  std::size_t left = 0;
};

WatchHub::WatchHub(Http &http, const Options &options) : http_(http), options_(options) {}

WatchHub::~WatchHub() { stop(); }

void WatchHub::add_key(const WatchPtr &watch, const Entry &node, std::uint64_t index) {
  auto reg = std::make_shared<Reg>();
  reg->watch = watch;
  reg->kind = watch->kind();
  reg->path = watch->path();
  reg->present = node.present;
  reg->node = {node.create_index, node.modify_index, node.version};
  add(std::move(reg), index);
}

void WatchHub::add_children(const WatchPtr &watch, const Entry &node,
                            std::set<std::string> names, std::uint64_t index) {
  auto reg = std::make_shared<Reg>();
  reg->watch = watch;
  reg->kind = WatchKind::Children;
  reg->path = watch->path();
  reg->present = node.present;
  reg->node = {node.create_index, node.modify_index, node.version};
  reg->names = std::move(names);
  add(std::move(reg), index);
}

void WatchHub::add_tree(const WatchPtr &watch, std::map<std::string, Entry> nodes,
                        std::uint64_t index) {
  auto reg = std::make_shared<Reg>();
  reg->watch = watch;
  reg->kind = WatchKind::Persistent;
  reg->path = watch->path();
  for (auto &entry : nodes)
    reg->known[entry.first] = {entry.second.create_index, entry.second.modify_index,
                               entry.second.version};
  add(std::move(reg), index);
}

void WatchHub::add(RegPtr reg, std::uint64_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return;
  reg->id = next_reg_++;
  reg->read_index = index;
  regs_.emplace(reg->id, reg);
  if (cycling_ || pump_timer_) {
    // The next pump query starts at or below this registration's read.
    floor_ = std::min(floor_, index);
    return;
  }
  if (!pump_request_) {
    pump_index_ = regs_.size() == 1 ? index : std::min(pump_index_, index);
    submit_pump();
    return;
  }
  std::string key = node_key(reg->path);
  bool covered = key.compare(0, pump_prefix_.size(), pump_prefix_) == 0;
  if (!covered) {
    // Outside what the pending query waits on: wait on a wider prefix instead.
    http_.cancel(pump_request_);
    pump_request_ = 0;
    pump_index_ = std::min(pump_index_, index);
    submit_pump();
    return;
  }
  // Changes between this read and the pending query's index would not wake it.
  if (index < pump_index_) start_round({reg}, false);
}

void WatchHub::settle(std::uint64_t index, const std::vector<std::string> &keys,
                      int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string watched;  // a written key some registration covers
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_ || regs_.empty()) return;
    for (const auto &key : keys) {
      for (const auto &entry : regs_) {
        std::string reg_key = node_key(entry.second->path);
        if (key.compare(0, reg_key.size(), reg_key) == 0 ||
            reg_key.compare(0, key.size(), key) == 0) {
          watched = key;
          break;
        }
      }
      if (!watched.empty()) break;
    }
    if (watched.empty()) return;
  }
  if (index == 0) {
    // A delete returns no index: the highest index below the key (its tombstone
    // included) is at or after the delete, and below the pump's prefix.
    Request rq;
    rq.target = "/v1/kv/" + url_escape(watched) + "?keys&consistent";
    rq.timeout_ms = timeout_ms;
    rq.wait_for_agent = false;
    Response r = http_.call(std::move(rq));
    if (r.curl != CURLE_OK || r.aborted || (r.status != 200 && r.status != 404)) return;
    index = r.index;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  seen_.wait_until(lock, deadline,
                   [&] { return stopped_ || regs_.empty() || seen_index_ >= index; });
}

void WatchHub::remove(const WatchPtr &watch) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = regs_.begin(); it != regs_.end();)
    it = it->second->watch == watch ? regs_.erase(it) : std::next(it);
  if (regs_.empty() && pump_request_) {
    http_.cancel(pump_request_);
    pump_request_ = 0;
  }
}

void WatchHub::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  regs_.clear();
  if (pump_request_) http_.cancel(pump_request_);
  if (pump_timer_) http_.cancel_timer(pump_timer_);
  pump_request_ = pump_timer_ = 0;
}

bool WatchHub::idle() {
  std::lock_guard<std::mutex> lock(mutex_);
  return regs_.empty();
}

void WatchHub::stop() {
  std::map<std::uint64_t, RegPtr> dropped;  // released outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return;
  stopped_ = true;
  seen_.notify_all();
  dropped.swap(regs_);
  if (pump_request_) http_.cancel(pump_request_);
  if (pump_timer_) http_.cancel_timer(pump_timer_);
  pump_request_ = pump_timer_ = 0;
}

std::string WatchHub::cover() const {
  std::string prefix;
  bool first = true;
  for (const auto &entry : regs_) {
    std::string key = node_key(entry.second->path);
    if (first) {
      prefix = key;
      first = false;
      continue;
    }
    std::size_t n = 0;
    while (n < prefix.size() && n < key.size() && prefix[n] == key[n]) ++n;
    prefix.resize(n);
  }
  return prefix;
}

void WatchHub::submit_pump() {
  if (stopped_ || regs_.empty() || cycling_ || pump_request_ || pump_timer_) return;
  if (floor_ < pump_index_) pump_index_ = floor_;
  floor_ = UINT64_MAX;
  pump_prefix_ = cover();
  std::uint64_t index = pump_index_;
  Request rq;
  // The whole subtree while it is small (the answer is the state to compare with),
  // else one level of key names (each wake-up then re-reads the targets).
  rq.target = "/v1/kv/" + url_escape(pump_prefix_) +
              (recursive_ ? "?recurse" : "?keys&separator=/") +
              "&index=" + std::to_string(index) +
              "&wait=" + std::to_string(kWaitSeconds) + "s";
  rq.timeout_ms = (kWaitSeconds + kWaitSeconds / 16 + 10) * 1000;
  std::uint64_t query = ++pump_query_;
  pump_request_ = http_.submit(std::move(rq), [this, index, query](Response &&r) {
    pump_done(std::move(r), index, query);
  });
}

// Long on purpose: one pump answer is judged, diffed and routed under one lock, so no
// other answer can interleave with it; each stage is commented.
void WatchHub::pump_done(Response &&r, std::uint64_t index, std::uint64_t query) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A cancelled query may still answer (its callback was already on its way): its
  // answer covers an older prefix, without the registrations that replaced it.
  if (!pump_request_ || query != pump_query_) return;
  pump_request_ = 0;
  if (stopped_ || r.aborted) return;
  bool answered = r.curl == CURLE_OK && (r.status == 200 || r.status == 404);
  if (!answered) {
    // The agent is unreachable or has no leader: try again, without a busy loop.
    backoff_ms_ =
        backoff_ms_ ? std::min(backoff_ms_ * 2, kMaxBackoffMs) : kFirstBackoffMs;
    pump_timer_ = http_.after(backoff_ms_, [this] {
      std::lock_guard<std::mutex> relock(mutex_);
      pump_timer_ = 0;
      submit_pump();
    });
    return;
  }
  backoff_ms_ = 0;
  std::uint64_t now = r.index;
  if (now == 0 || now == index) {  // the wait ran out: nothing changed
    submit_pump();
    return;
  }
  // Something below the prefix changed (or the index went backwards after a
  // snapshot restore: start over from it).
  std::vector<RegPtr> all;
  for (auto &entry : regs_) all.push_back(entry.second);
  if (recursive_ && r.body.size() <= kMaxRecursiveBody) {
    // A registration whose read is newer than this answer (the answer was on its way
    // while it was added) waits for the next one: compared with an older state, a
    // node created just before its read would look deleted.
    std::vector<RegPtr> current;
    for (const auto &reg : all)
      if (reg->read_index <= now || now < index) current.push_back(reg);
    // The answer is the state right after the change that woke the query: compare
    // every registration with it, no second read.
    std::vector<Entry> entries;
    try {
      entries = parse_subtree_read(r, "watch", false);
    } catch (const Error &) {
      entries.clear();
      recursive_ = false;  // read the registrations' targets instead
    }
    if (recursive_) {
      pump_index_ = now;
      std::map<std::string, Entry> by_key;
      for (auto &e : entries) {
        std::string key = e.key;
        by_key.emplace(std::move(key), std::move(e));
      }
      std::map<std::string, Answer> answers;
      for (const auto &reg : current) {
        if (reg->path != "/") {
          Answer &k = answers["k" + reg->path];
          k.index = now;
          auto it = by_key.find(node_key(reg->path));
          if (it != by_key.end()) k.node = it->second;
        }
        if (reg->kind != WatchKind::Children && reg->kind != WatchKind::Persistent)
          continue;
        std::string below = children_prefix(reg->path);
        Answer &a = answers[(reg->kind == WatchKind::Children ? "c" : "t") + reg->path];
        a.index = now;
        for (auto it = by_key.lower_bound(below);
             it != by_key.end() && it->first.compare(0, below.size(), below) == 0; ++it) {
          if (reg->kind == WatchKind::Persistent) {
            a.subtree.push_back(it->second);
          } else if (auto name = child_name(it->first, below)) {
            a.names.push_back(*name);
          }
        }
      }
      // Wait again first: the next change may follow at once.
      submit_pump();
      apply(current, answers, next_round_++);
      seen_index_ = std::max(seen_index_, now);
      seen_.notify_all();
      return;
    }
  }
  // A large subtree below the prefix: from now on the pump only lists keys, and each
  // wake-up re-reads the registrations' own targets.
  recursive_ = false;
  pump_index_ = now;
  cycling_ = true;
  start_round(std::move(all), true);
}

void WatchHub::flush(int timeout_ms) {
  auto flush = std::make_shared<Flush>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_ || regs_.empty()) return;
    std::vector<RegPtr> all;
    for (auto &entry : regs_) all.push_back(entry.second);
    start_round(std::move(all), false, flush);
  }
  std::unique_lock<std::mutex> lock(flush->mutex);
  flush->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                     [&] { return flush->done; });
}

void WatchHub::start_round(std::vector<RegPtr> regs, bool from_pump,
                           std::shared_ptr<Flush> flush) {
  auto round = std::make_shared<Round>();
  round->flush = std::move(flush);
  round->seq = next_round_++;
  round->from_pump = from_pump;
  round->regs = std::move(regs);
  std::set<std::string> targets;
  for (const auto &reg : round->regs) {
    if (reg->path != "/") targets.insert("k" + reg->path);
    if (reg->kind == WatchKind::Children) targets.insert("c" + reg->path);
    if (reg->kind == WatchKind::Persistent) targets.insert("t" + reg->path);
  }
  round->targets.assign(targets.begin(), targets.end());
  round->answers.resize(round->targets.size());
  round->left = round->targets.size();
  if (round->left == 0) {
    if (from_pump) cycling_ = false;
    if (round->flush) round->flush->finish();
    return;
  }
  const int timeout = options_.operation_timeout_ms;
  for (std::size_t i = 0; i < round->targets.size(); ++i) {
    const std::string &t = round->targets[i];
    std::string path = t.substr(1);
    Request rq = t[0] == 'k'   ? key_read(path, "", timeout)
                 : t[0] == 'c' ? children_read(path, "", timeout)
                               : subtree_read(path, "", timeout);
    std::uint64_t id = http_.submit(std::move(rq), [this, round, i](Response &&r) {
      round->answers[i] = std::move(r);
      if (--round->left == 0) round_done(round);
    });
    if (id == 0) {  // the client is closing: this round never completes
      if (round->flush) round->flush->finish();
      return;
    }
  }
}

void WatchHub::retry_later(std::vector<RegPtr> regs, bool from_pump) {
  backoff_ms_ = backoff_ms_ ? std::min(backoff_ms_ * 2, kMaxBackoffMs) : kFirstBackoffMs;
  std::uint64_t id = http_.after(backoff_ms_, [this, regs, from_pump] {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    std::vector<RegPtr> live;
    for (const auto &reg : regs)
      if (regs_.count(reg->id)) live.push_back(reg);
    if (live.empty()) {
      if (from_pump) {
        cycling_ = false;
        submit_pump();
      }
      return;
    }
    start_round(std::move(live), from_pump);
  });
  if (id == 0 && from_pump) cycling_ = false;
}

void WatchHub::round_done(const std::shared_ptr<Round> &round) {
  struct Finish {  // a waiting flush is told, whatever happens below
    Flush *f;
    ~Finish() {
      if (f) f->finish();
    }
  } finish{round->flush.get()};
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return;
  // Parse every answer first: any failure (agent unreachable, no leader) means the
  // whole round is read again later, nothing half-applied.
  std::map<std::string, Answer> answers;
  try {
    for (std::size_t i = 0; i < round->targets.size(); ++i) {
      const std::string &t = round->targets[i];
      const Response &r = round->answers[i];
      std::string path = t.substr(1);
      Answer &a = answers[t];
      a.index = r.index;
      if (r.aborted) throw Error(Err::eclosed, "aborted");
      if (t[0] == 'k') a.node = parse_key_read(r, "watch '" + path + "'", false);
      if (t[0] == 'c')
        a.names = parse_children_read(r, path, "watch '" + path + "'", false);
      if (t[0] == 't') a.subtree = parse_subtree_read(r, "watch '" + path + "'", false);
    }
  } catch (const Error &) {
    if (!round->flush) retry_later(round->regs, round->from_pump);
    return;
  }
  backoff_ms_ = 0;
  if (round->from_pump) cycling_ = false;
  apply(round->regs, answers, round->seq);
  if (round->from_pump) {
    // Started by the pump's answer at pump_index_ (unchanged while cycling_): every
    // target was read after it.
    seen_index_ = std::max(seen_index_, pump_index_);
    seen_.notify_all();
    submit_pump();
  }
  if (regs_.empty() && pump_request_) {
    http_.cancel(pump_request_);
    pump_request_ = 0;
  }
}

void WatchHub::apply(const std::vector<RegPtr> &regs,
                     std::map<std::string, Answer> &answers, std::uint64_t seq) {
  std::vector<Pending> events;
  auto push = [&](const RegPtr &reg, int type, const std::string &path,
                  std::int64_t version, std::uint64_t index, int phase) {
    Pending p;
    p.index = index;
    p.phase = phase;
    p.order = preorder_key(path);
    p.version = version;
    p.seq = events.size();
    p.reg = reg;
    p.reg_id = reg->id;
    p.watch = reg->watch;
    p.oneshot = reg->kind != WatchKind::Persistent;
    p.event.type = type;
    p.event.path = path;
    p.event.version = version;
    events.push_back(std::move(p));
  };

  for (const auto &reg : regs) {
    if (!regs_.count(reg->id) || reg->applied >= seq) continue;
    if (reg->watch->finished()) {
      regs_.erase(reg->id);
      continue;
    }
    reg->applied = seq;
    const Answer *k = reg->path != "/" ? &answers["k" + reg->path] : nullptr;
    const Entry absent;
    const Entry &n = k ? k->node : absent;
    const std::uint64_t key_index = k ? k->index : 0;
    std::vector<Change> changes;
    switch (reg->kind) {
      case WatchKind::Data:
      case WatchKind::Exists:
        changes = diff_node(reg->path, reg->present, reg->node, n, key_index);
        break;
      case WatchKind::Children: {
        const Answer &c = answers["c" + reg->path];
        changes = diff_children(reg->path, reg->present, reg->node, reg->names, n,
                                key_index, c.names, c.index);
        break;
      }
      case WatchKind::Persistent: {
        const Answer &t = answers["t" + reg->path];
        changes = diff_tree(reg->path, reg->known, n, key_index, t.subtree, t.index);
        break;
      }
    }
    for (const auto &c : changes) push(reg, c.type, c.path, c.version, c.index, c.phase);
  }

  std::sort(events.begin(), events.end(), before);
  for (auto &p : events) {
    if (!regs_.count(p.reg_id)) continue;  // a one-shot that already fired this round
    p.watch->fire(std::move(p.event));
    if (p.oneshot) regs_.erase(p.reg_id);
  }
}

}  // namespace consul
}  // namespace offkv
