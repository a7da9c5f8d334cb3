#include "etcd_watches.hpp"

#include <algorithm>
#include <vector>

#include "../error.hpp"
#include "../key.hpp"
#include "codes.hpp"
#include "etcd_errors.hpp"

namespace offkv {
namespace etcd {

std::string Watches::show(const std::string &path) const {
  return to_client_key(prefix_, path);
}

void Watches::add(const WatchPtr &watch, const std::string &path,
                  std::int64_t start_revision, bool wait_created,
                  Clock::time_point deadline, Armed armed) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) fail(Err::eclosed, "etcd: watch '" + show(path) + "': client is closed");
  std::int64_t id = next_id_++;
  Entry e;
  e.watch = watch;
  e.path = path;
  switch (watch->kind()) {
    case WatchKind::Data:
    case WatchKind::Exists:
      e.range = slot_range(path);
      break;
    case WatchKind::Children:
      e.range = children_range(path);
      break;
    case WatchKind::Persistent:
      e.range = subtree_range(path);
      break;
  }
  e.next_revision = start_revision;
  e.waiting = wait_created;
  e.armed = armed;
  auto &entry = entries_.emplace(id, std::move(e)).first->second;
  if (ready_) send_create(id, entry);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  if (!wait_created) return;
  bool answered = changed_.wait_until(lock, deadline, [&] {
    auto it = entries_.find(id);
    return closed_ || it == entries_.end() || it->second.created || it->second.refused;
  });
  auto it = entries_.find(id);
  if (closed_) fail(Err::eclosed, "etcd: watch '" + show(path) + "': client is closed");
  // Confirmed, then fired or ended before we woke up: the watch holds its outcome.
  if (it == entries_.end() && watch->finished()) return;
  if (it != entries_.end()) it->second.waiting = false;
  if (!answered || it == entries_.end() || it->second.refused) {
    std::string reason =
        it == entries_.end() ? std::string("dropped") : it->second.reason;
    if (it != entries_.end()) {
      if (!it->second.refused && ready_) send_cancel(id);
      entries_.erase(it);
    }
    if (!answered)
      fail(Err::etimeout, "etcd: watch '" + show(path) +
                              "': etcd did not confirm it within " +
                              std::to_string(conn_.operation_timeout_ms()) + " ms");
    fail(reason.find("permission denied") != std::string::npos ? Err::eauth
                                                               : Err::eservice,
         "etcd: cannot watch '" + show(path) + "' [etcd: " + reason + "]");
  }
}

void Watches::remove(const WatchPtr &watch) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.watch == watch) {
      if (ready_) send_cancel(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void Watches::drop_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &entry : entries_)
    if (ready_) send_cancel(entry.first);
  entries_.clear();
  changed_.notify_all();
}

namespace {
bool overlaps(const Range &a, const Range &b) {
  std::string a_end = a.end.empty() ? a.key + '\0' : a.end;
  std::string b_end = b.end.empty() ? b.key + '\0' : b.end;
  return a.key < b_end && b.key < a_end;
}
}  // namespace

void Watches::wrote(std::int64_t revision, std::vector<Range> ranges) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.empty()) return;
  if (written_.size() >= 1024) written_.erase(written_.begin(), written_.begin() + 512);
  written_.push_back({revision, std::move(ranges)});
}

void Watches::settle(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::map<std::int64_t, std::int64_t> wanted;  // watch id -> revision to deliver
  for (const auto &entry : entries_)
    for (const auto &w : written_)
      if (w.revision >= entry.second.next_revision && entry.second.next_revision > 0)
        for (const auto &r : w.ranges)
          if (overlaps(r, entry.second.range)) {
            auto &rev = wanted[entry.first];
            rev = std::max(rev, w.revision);
          }
  changed_.wait_until(lock, deadline, [&] {
    if (!ready_) return true;
    for (const auto &want : wanted) {
      auto it = entries_.find(want.first);
      if (it != entries_.end() && it->second.next_revision <= want.second) return false;
    }
    return true;
  });
}

void Watches::close() {
  settle(std::min(conn_.deadline(), Clock::now() + std::chrono::seconds(5)));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    if (ctx_) ctx_->TryCancel();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watches::send_create(std::int64_t id, const Entry &e) {
  v3::WatchRequest req;
  auto *c = req.mutable_create_request();
  c->set_key(e.range.key);
  c->set_range_end(e.range.end);
  c->set_start_revision(e.next_revision);
  c->set_watch_id(id);
  c->set_progress_notify(true);  // keeps next_revision current while nothing happens
  stream_->Write(req);           // a broken stream is noticed by the reader
}

void Watches::send_cancel(std::int64_t id) {
  v3::WatchRequest req;
  req.mutable_cancel_request()->set_watch_id(id);
  stream_->Write(req);
}

void Watches::run() {
  auto pause = std::chrono::milliseconds(100);
  for (;;) {
    grpc::ClientContext ctx;
    conn_.prepare(ctx, Clock::time_point{}, true);  // waits for a connection
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) return;
      ctx_ = &ctx;
    }
    conn_.track_stream(&ctx);  // the test kit's cut breaks it
    auto stream = conn_.watch_stub().Watch(&ctx);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stream_ = std::move(stream);
      if (!closed_) {
        for (auto &entry : entries_) {
          entry.second.created = false;
          send_create(entry.first, entry.second);
        }
        ready_ = true;
      }
    }
    v3::WatchResponse resp;
    bool any = false;
    while (stream_->Read(&resp)) {
      any = true;
      std::vector<std::int64_t> compacted;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        handle(resp);
        compacted.swap(to_resync_);
      }
      for (std::int64_t id : compacted) resync(id);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_ = false;
    }
    grpc::Status st = stream_->Finish();
    conn_.untrack_stream(&ctx);
    std::unique_lock<std::mutex> lock(mutex_);
    ctx_ = nullptr;
    stream_.reset();
    if (closed_) return;
    lock.unlock();
    if (token_expired(st)) conn_.refresh_token(conn_.deadline());
    pause =
        any ? std::chrono::milliseconds(100) : std::min(pause * 2, decltype(pause)(2000));
    lock.lock();
    changed_.wait_for(lock, pause, [&] { return closed_; });
    if (closed_) return;
  }
}

void Watches::handle(const v3::WatchResponse &resp) {
  auto it = entries_.find(resp.watch_id());
  if (it == entries_.end()) return;  // cancelled by us, or already fired
  Entry &e = it->second;
  if (resp.created()) {
    e.created = true;
    if (e.next_revision == 0) e.next_revision = revision_after(resp.header().revision());
  }
  if (resp.canceled() && resp.compact_revision() > 0 && !e.waiting) {
    // Resumed from a revision etcd no longer has (a long break, or a compaction
    // ahead of the last progress notification): never ENDED, read again.
    e.created = false;
    e.resyncing = true;
    to_resync_.push_back(it->first);
    return;
  }
  if (resp.canceled()) {
    std::string reason = resp.cancel_reason();
    if (resp.compact_revision() > 0)
      reason = "revision " + std::to_string(e.next_revision) +
               " was compacted (oldest kept: " + std::to_string(resp.compact_revision()) +
               ")" + (reason.empty() ? "" : "; " + reason);
    if (reason.empty()) reason = "cancelled by the server";
    if (!e.created && e.waiting) {  // add() is waiting: it throws instead
      e.refused = true;
      e.reason = reason;
      changed_.notify_all();
      return;
    }
    e.watch->end(reason.find("permission denied") != std::string::npos ? Err::eauth
                                                                       : Err::eservice,
                 conn_.session_state(),
                 "etcd ended the watch on '" + show(e.path) + "': " + reason);
    entries_.erase(it);
    return;
  }
  if (resp.created()) changed_.notify_all();
  if (resp.events_size() == 0) {
    // A progress notification: every change of the range up to this revision was
    // delivered, so a new stream may resume after it.
    if (!resp.created() && e.created)
      e.next_revision =
          std::max(e.next_revision, revision_after(resp.header().revision()));
    return;
  }
  changed_.notify_all();  // settle() waits for deliveries
  if (deliver(e, resp)) {
    send_cancel(it->first);  // a one-shot watch is done
    entries_.erase(it);
  }
}

namespace {
Event make_event(int type, const std::string &path, std::int64_t version) {
  Event ev;
  ev.type = type;
  ev.path = path;
  ev.version = version;
  return ev;
}

// One response's events as offkv sees them, in order. `child` marks a child entry
// event (path = the child). A node moved to another slot by a transaction shows as
// a DELETE of the old slot and a PUT of the new one: the DELETE is not reported for
// a change ('b'), and the PUT stands for every version the transaction went through.
struct Seen {
  bool child;
  Event event;
};

std::vector<Seen> expand(const v3::WatchResponse &resp) {
  std::vector<KeyInfo> infos;
  std::map<std::string, std::string> moved;  // path -> new slot key ('b' moves)
  for (const auto &ev : resp.events()) {
    infos.push_back(classify(ev.kv().key()));
    const KeyInfo &k = infos.back();
    if (k.kind == KeyKind::Node && k.alt && k.how == 'b' && ev.type() == v3::Event::PUT &&
        ev.kv().version() == 1)
      moved[k.path] = ev.kv().key();
  }
  std::vector<Seen> out;
  for (int i = 0; i < resp.events_size(); ++i) {
    const auto &ev = resp.events(i);
    const KeyInfo &k = infos[static_cast<std::size_t>(i)];
    if (k.kind == KeyKind::Child) {
      out.push_back({true, make_event(EventType::children, k.path, -1)});
      continue;
    }
    // A slot that is not offkv's (foreign or damaged): nothing to report for it.
    if (k.kind != KeyKind::Node || k.bad) continue;
    if (ev.type() == v3::Event::DELETE) {
      auto m = moved.find(k.path);
      if (m != moved.end() && m->second != ev.kv().key()) continue;  // moved, not erased
      out.push_back({false, make_event(EventType::deleted, k.path, 0)});
      continue;
    }
    std::int64_t version = 0;
    if (!node_version(k, ev.kv().version(), version)) continue;  // out of range: as above
    if (ev.kv().version() == 1 && k.alt) {
      std::int64_t from = 0;
      if (k.how == 'b') {
        from = k.from;
      } else {
        out.push_back({false, make_event(EventType::created, k.path, 1)});
        from = 1;
      }
      for (std::int64_t v = first_version_to_report(from, version); v <= version; ++v)
        out.push_back({false, make_event(EventType::changed, k.path, v)});
      continue;
    }
    out.push_back(
        {false, make_event(version == 1 ? EventType::created : EventType::changed, k.path,
                           version)});
  }
  return out;
}
}  // namespace

namespace {
// The node of `path` among a range's kvs, with its offkv version (0: absent).
struct NodeSeen {
  std::int64_t version = 0;
  std::int64_t mod_revision = 0;
};
NodeSeen node_in(const v3::RangeResponse &resp, const std::string &path) {
  NodeSeen out;
  for (const auto &kv : resp.kvs()) {
    KeyInfo info = classify(kv.key());
    std::int64_t version = 0;
    if (info.kind != KeyKind::Node || info.path != path ||
        !node_version(info, kv.version(), version))
      continue;
    out.version = version;
    out.mod_revision = kv.mod_revision();
  }
  return out;
}

}  // namespace

// What a watcher armed at `armed` and resuming at `since` missed, judged from a read
// of its range now. One-shot watches: the change that read shows (a node re-created
// meanwhile shows as DELETED, its first change). Persistent: every node created or
// changed since, in store order, at its current version; nodes erased meanwhile left
// no trace in the store and cannot be reported (docs/etcd-notes.md).
std::vector<Event> missed_changes(WatchKind kind, const std::string &path,
                                  const Armed &armed, std::int64_t since,
                                  const v3::RangeResponse &resp) {
  std::vector<Event> out;
  switch (kind) {
    case WatchKind::Data:
    case WatchKind::Exists: {
      NodeSeen now = node_in(resp, path);
      if (armed.version > 0 && now.version == 0)
        out.push_back(make_event(EventType::deleted, path, 0));
      else if (armed.version == 0 && now.version > 0)
        out.push_back(make_event(EventType::created, path, now.version));
      else if (now.version > 0 && now.mod_revision >= since)
        out.push_back(now.version > armed.version
                          ? make_event(EventType::changed, path, now.version)
                          : make_event(EventType::deleted, path, 0));
      break;
    }
    case WatchKind::Children: {
      NodeSeen parent = node_in(resp, path);
      if (armed.version > 0 &&
          (parent.version == 0 ||
           (parent.mod_revision >= since && parent.version <= armed.version))) {
        out.push_back(make_event(EventType::deleted, path, 0));
        break;
      }
      std::size_t count = 0;
      bool added = false;
      for (const auto &kv : resp.kvs()) {
        KeyInfo info = classify(kv.key());
        if (info.kind != KeyKind::Child || parent_path(info.path) != path) continue;
        ++count;
        added = added || kv.create_revision() >= since;
      }
      if (added || count != armed.children)
        out.push_back(make_event(EventType::children, path, -1));
      break;
    }
    case WatchKind::Persistent: {
      std::vector<std::pair<std::int64_t, Event>> changed;
      for (const auto &kv : resp.kvs()) {
        KeyInfo info = classify(kv.key());
        std::int64_t version = 0;
        if (info.kind != KeyKind::Node || !path_covers(path, info.path) ||
            kv.mod_revision() < since || !node_version(info, kv.version(), version))
          continue;
        bool created = kv.create_revision() >= since && !(info.alt && info.how == 'b');
        changed.emplace_back(kv.mod_revision(),
                             make_event(created ? EventType::created : EventType::changed,
                                        info.path, version));
      }
      std::stable_sort(changed.begin(), changed.end(),
                       [](const auto &a, const auto &b) { return a.first < b.first; });
      for (auto &c : changed) out.push_back(std::move(c.second));
      break;
    }
  }
  return out;
}

void Watches::resync(std::int64_t id) {
  v3::RangeRequest req;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || !it->second.resyncing) return;
    req.set_key(it->second.range.key);
    req.set_range_end(it->second.range.end);
  }
  req.set_keys_only(true);  // versions and revisions only
  v3::RangeResponse resp;
  grpc::Status st = conn_.unary(
      [&](grpc::ClientContext &ctx) {
        resp.Clear();
        return conn_.kv().Range(&ctx, req, &resp);
      },
      conn_.deadline(), true);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.resyncing || closed_) return;
  Entry &e = it->second;
  if (!st.ok()) {
    // A new stream re-creates the watcher; etcd refuses the revision again and the
    // resync is tried again then (with the stream's backoff).
    if (ctx_) ctx_->TryCancel();
    return;
  }
  e.resyncing = false;
  // etcd keeps the cancelled watcher's id on this stream: release it, and go on
  // under a new id.
  if (ready_) send_cancel(id);
  for (Event &ev :
       missed_changes(e.watch->kind(), e.path, e.armed, e.next_revision, resp)) {
    e.watch->fire(std::move(ev));
    if (!e.watch->persistent()) {
      entries_.erase(it);  // fired: done
      return;
    }
  }
  e.next_revision = revision_after(resp.header().revision());
  std::int64_t fresh = next_id_++;
  auto &moved = entries_.emplace(fresh, std::move(e)).first->second;
  entries_.erase(it);
  if (ready_) send_create(fresh, moved);
}

bool Watches::deliver(Entry &e, const v3::WatchResponse &resp) {
  e.next_revision = next_revision_after(resp, e.next_revision);
  std::vector<Event> out = watch_events(e.watch->kind(), e.path, resp);
  for (auto &ev : out) e.watch->fire(std::move(ev));
  return e.watch->kind() != WatchKind::Persistent && !out.empty();
}

std::int64_t next_revision_after(const v3::WatchResponse &resp, std::int64_t next) {
  for (const auto &ev : resp.events())
    next = std::max(next, revision_after(ev.kv().mod_revision()));
  return next;
}

std::int64_t revision_after(std::int64_t revision) {
  // etcd never gets near INT64_MAX; an answer that says so must not overflow.
  return revision < INT64_MAX ? revision + 1 : INT64_MAX;
}

std::vector<Event> watch_events(WatchKind kind, const std::string &path,
                                const v3::WatchResponse &resp) {
  std::vector<Seen> seen = expand(resp);
  switch (kind) {
    case WatchKind::Data:
    case WatchKind::Exists:
      for (auto &s : seen) {
        if (s.child || s.event.path != path) continue;
        return {std::move(s.event)};
      }
      return {};
    case WatchKind::Children:
      // Only events of the watched range (etcd sends no others; a key outside it is
      // not news about path).
      for (auto &s : seen) {
        if (s.child && parent_path(s.event.path) == path)
          return {make_event(EventType::children, path, -1)};
        if (s.event.path == path && s.event.type == EventType::deleted)
          return {std::move(s.event)};
      }
      return {};
    case WatchKind::Persistent: {
      // Node events only; a subtree erase comes as a range delete in key order
      // (pre-order): report it deepest first, as the other backends do.
      std::vector<Event> out;
      for (auto &s : seen)
        if (!s.child && path_covers(path, s.event.path))
          out.push_back(std::move(s.event));
      for (std::size_t i = 0; i < out.size();) {
        std::size_t j = i + 1;
        if (out[i].type == EventType::deleted)
          while (j < out.size() && out[j].type == EventType::deleted &&
                 out[j].path != out[i].path && path_covers(out[i].path, out[j].path))
            ++j;
        std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i),
                     out.begin() + static_cast<std::ptrdiff_t>(j));
        i = j;
      }
      return out;
    }
  }
  return {};
}

}  // namespace etcd
}  // namespace offkv
