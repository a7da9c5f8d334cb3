#include "group.hpp"

#include <algorithm>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace recipes {

Group::Group(std::shared_ptr<Client> client, std::string group, RecipeCallback callback,
             Naming naming)
    : Recipe(std::move(client)),
      group_(std::move(group)),
      naming_(std::move(naming)),
      callback_(std::move(callback)) {}

std::shared_ptr<Group> Group::open(std::shared_ptr<Client> client,
                                   const std::string &group, RecipeCallback callback,
                                   Naming naming) {
  validate_group(*client, group, naming);
  std::shared_ptr<Group> self(
      new Group(std::move(client), group, std::move(callback), std::move(naming)));
  int state = self->listen();
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->session_) self->session_ = state;
  }
  if (self->callback_) self->run_step([&] { self->observe(); });
  if (self->client_->session_state() == SessionState::closed) {
    self->unlisten();
    fail(Err::eclosed, "client is closed");
  }
  return self;
}

void Group::session_changed(int state, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  session_ = state;
  ++membership_generation_;
  ++observe_generation_;
  switch (state) {
    case SessionState::lost:
      member_.clear();  // it went with the session
      member_unknown_ = false;
      self_watch_.reset();
      if (callback_) post([this] { drop_view(); });
      break;
    case SessionState::connected:
      post([this] { maintain(); });
      if (callback_) post([this] { observe(); });
      break;
    case SessionState::closed:
      finished_ = true;
      break;
    default:
      break;
  }
  (void)message;
}

// ---- Membership ----

Claim Group::fresh_claim_locked() const {
  Claim claim;
  claim.token = token_;
  return claim;
}

void Group::join(std::string payload) {
  check_payload("group member", payload);
  std::string token = new_token();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) fail(Err::eclosed, "group handle on '" + group_ + "' is closed");
    if (joined_)
      fail(Err::einval, "this handle is already a member of '" + group_ + "'" +
                            (member_.empty() ? "" : " (as '" + member_ + "')"));
    joined_ = true;
    joining_ = true;
    token_ = token;
    payload_ = payload;
    published_ = payload;
    member_.clear();
    member_unknown_ = false;
    ++membership_generation_;
  }
  std::string member;
  Claim claim;
  claim.token = token;
  try {
    ensure_path(*client_, group_);
    member = create_member(*client_, group_, naming_, claim, payload);
  } catch (const Error &e) {
    std::lock_guard<std::mutex> lock(mutex_);
    joining_ = false;
    if (token_ == token) {
      if (outcome_unknown(e.code()) && joined_) {
        member_unknown_ = true;  // maintain() finds it, or creates it
        claim_ = claim;
        post([this] { maintain(); });
        return;
      }
      joined_ = false;
    }
    throw;
  }
  bool stray;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    joining_ = false;
    stray = !joined_ || token_ != token;  // left meanwhile
    if (!stray) {
      member_ = member;
      member_version_ = 1;
    }
  }
  if (stray) {
    erase_member(*client_, member);
    return;
  }
  post([this] { maintain(); });
}

// Long on purpose: one step of the membership loop (read the member, repair or
// re-create it, re-arm its watch) decides under one generation check; split, each part
// would have to re-check that the step is still current.
void Group::maintain() {
  std::uint64_t generation;
  std::string member, token, payload;
  bool unknown;
  Claim claim;
  WatchPtr old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || !joined_ || joining_ || session_ != SessionState::connected) return;
    generation = ++membership_generation_;
    member = member_;
    unknown = member_unknown_;
    token = token_;
    claim = unknown ? claim_ : fresh_claim_locked();
    payload = payload_;
    old = std::move(self_watch_);
  }
  if (old) client_->cancel(old);
  try {
    if (member.empty()) {
      if (unknown) {
        if (auto own = find_own_or_none(*client_, group_, naming_, claim))
          member = own->key;
      }
      bool created = false;
      if (member.empty()) {
        ensure_path(*client_, group_);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!joined_ || token_ != token) return;
        }
        try {
          member = create_member(*client_, group_, naming_, claim, payload);
          created = true;
        } catch (const Error &e) {
          if (outcome_unknown(e.code())) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (token_ == token) {
              member_unknown_ = true;
              claim_ = claim;
            }
          }
          throw;
        }
      }
      bool stray;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        // Kept even if leave() started meanwhile: its last step (run on the worker
        // after this one) takes and erases it. A different token means a later join().
        stray = token_ != token;
        if (!stray) {
          member_ = member;
          member_unknown_ = false;
          if (created) {
            published_ = payload;
            member_version_ = 1;
          } else {
            member_version_ = -1;
            published_.clear();  // adopted: re-publish to be sure
          }
        }
      }
      if (stray) {
        erase_member(*client_, member);
        return;
      }
    }
    auto self = std::static_pointer_cast<Group>(shared_from_this());
    EventCallback callback = weak_callback(self, [generation](Group &g, const Event &ev) {
      g.on_self_watch(generation, ev);
    });
    WatchPtr watch;
    std::int64_t version = client_->exists(member, &callback, &watch);
    if (version == 0) {
      // Erased by someone (or gone with a session we have not heard lost yet). Erase
      // it to be sure (a stale read must not leave a second member of ours).
      client_->cancel(watch);
      erase_member(*client_, member);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (member_ == member) member_.clear();
      }
      post([this] { maintain(); });
      return;
    }
    bool stale, publish;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stale = generation != membership_generation_ || !joined_ || member_ != member;
      if (!stale) self_watch_ = watch;
      publish = !stale && published_ != payload_;
    }
    if (stale) client_->cancel(watch);
    if (publish) publish_payload();
    reset_backoff();
  } catch (const Error &e) {
    if (e.code() == Err::eclosed) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || session_ != SessionState::connected) return;
    post_later([this] { maintain(); }, kMaintainStep);
  }
}

void Group::on_self_watch(std::uint64_t generation, const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != membership_generation_) return;
    if (event.type == EventType::ended) {
      // Under a live session (a server-side cancel): re-arm, with backoff. Session
      // loss and close are the session listener's.
      if (finished_ || session_ != SessionState::connected) return;
      post_later([this] { maintain(); }, kMaintainStep);
      return;
    }
  }
  maintain();  // DELETED: re-create; CHANGED (our own update): re-arm
}

void Group::publish_payload() {
  std::string member, payload;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    member = member_;
    payload = payload_;
    if (member.empty() || published_ == payload) return;
  }
  // Only if the node still exists: a set on a vanished member would create a
  // persistent node in its place.
  Txn txn;
  TxnOp check;
  check.kind = TxnOpKind::Check;
  check.path = member;
  check.version = kAnyVersion;
  txn.checks.push_back(check);
  TxnOp set;
  set.kind = TxnOpKind::Set;
  set.path = member;
  set.value = payload;
  txn.ops.push_back(set);
  std::int64_t version;
  try {
    version = client_->commit(txn).at(0).version;
  } catch (const TxnFailed &) {
    post([this] { maintain(); });  // gone: re-created with payload_
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (member_ == member) {
    published_ = payload;
    member_version_ = version;
  }
}

void Group::update(std::string payload) {
  check_payload("group member", payload);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) fail(Err::eclosed, "group handle on '" + group_ + "' is closed");
    if (!joined_) fail(Err::einval, "this handle is not a member of '" + group_ + "'");
    payload_ = std::move(payload);
  }
  // Serialised with maintain() on the worker.
  run_step([this] { publish_payload(); });
}

void Group::take_membership(std::string *member, bool *unknown, Claim *claim,
                            WatchPtr *watch) {
  *member = member_;
  member_.clear();
  *unknown = member_unknown_;
  member_unknown_ = false;
  *claim = claim_;
  *watch = std::move(self_watch_);
}

void Group::drop_membership(const std::string &member, bool unknown, const Claim &claim,
                            const WatchPtr &watch) {
  if (watch) client_->cancel(watch);
  if (!member.empty()) {
    erase_member(*client_, member);
  } else if (unknown) {
    try {
      if (auto own = find_own_or_none(*client_, group_, naming_, claim))
        erase_member(*client_, own->key);
    } catch (const Error &e) {
      if (e.code() != Err::eclosed && e.code() != Err::esession) throw;
    }
  }
}

void Group::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined_) fail(Err::einval, "this handle is not a member of '" + group_ + "'");
    joined_ = false;
    ++membership_generation_;
  }
  std::string member;
  Claim claim;
  bool unknown = false;
  WatchPtr watch;
  run_step([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    take_membership(&member, &unknown, &claim, &watch);
  });
  drop_membership(member, unknown, claim, watch);
}

std::optional<Member> Group::self() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (member_.empty()) return std::nullopt;
  Member m;
  if (auto parsed = naming_.parse(member_)) m = *parsed;
  m.payload = published_;
  m.version = member_version_;
  return m;
}

std::vector<Member> Group::members() {
  std::vector<Member> out;
  std::vector<Member> listed;
  try {
    listed = list_members(*client_, group_, naming_);
  } catch (const Error &e) {
    if (e.code() != Err::enoent) throw;
    return out;
  }
  for (auto &m : listed) {
    try {
      Node node = client_->get(m.key, nullptr, nullptr);
      m.payload = std::move(node.value);
      m.version = node.version;
      out.push_back(std::move(m));
    } catch (const Error &e) {
      if (e.code() != Err::enoent) throw;  // left meanwhile
    }
  }
  return out;
}

void Group::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    finished_ = true;
    joined_ = false;
    ++membership_generation_;
    ++observe_generation_;
  }
  unlisten();
  std::string member;
  Claim claim;
  bool unknown = false;
  WatchPtr watch, children;
  std::vector<WatchPtr> data;
  // The worker's state, once the step in flight (if any) is done; later steps see
  // finished_ and do nothing.
  run_step([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    take_membership(&member, &unknown, &claim, &watch);
    children = std::move(children_watch_);
    for (auto &entry : snapshot_) data.push_back(entry.second.watch);
    snapshot_.clear();
  });
  // After every notification queued so far: none is delivered after this.
  auto silence = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    silenced_ = true;
  };
  if (!run_on_loop(silence)) silence();
  if (children) client_->cancel(children);
  for (auto &w : data)
    if (w) client_->cancel(w);
  drop_membership(member, unknown, claim, watch);
}

// ---- Observation ----

bool Group::read_member(Member &member) {
  auto self = std::static_pointer_cast<Group>(shared_from_this());
  std::uint64_t id = next_data_id_++;
  std::string key = member.key;
  EventCallback callback = weak_callback(
      self, [key, id](Group &g, const Event &ev) { g.on_data(key, id, ev); });
  WatchPtr watch;
  try {
    Node node = client_->get(key, &callback, &watch);
    member.payload = std::move(node.value);
    member.version = node.version;
  } catch (const Error &e) {
    if (e.code() != Err::enoent) throw;
    return false;  // left meanwhile; the children watch tells
  }
  Watched &w = snapshot_[key];
  if (w.watch) client_->cancel(w.watch);
  w.member = member;
  w.watch = watch;
  w.id = id;
  return true;
}

void Group::observe() {
  std::uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || !callback_ || session_ != SessionState::connected) return;
    generation = ++observe_generation_;
  }
  WatchPtr old = std::move(children_watch_);
  if (old) client_->cancel(old);
  auto self = std::static_pointer_cast<Group>(shared_from_this());
  EventCallback callback = weak_callback(
      self, [generation](Group &g, const Event &ev) { g.on_children(generation, ev); });
  try {
    std::vector<Member> listed;
    WatchPtr watch;
    try {
      listed = list_members(*client_, group_, naming_, &callback, &watch);
    } catch (const Error &e) {
      if (e.code() != Err::enoent) throw;
      if (client_->exists(group_, &callback, &watch) != 0) {
        client_->cancel(watch);  // created meanwhile
        post([this] { observe(); });
        return;
      }
    }
    // Members that left: drop them and their watches.
    for (auto it = snapshot_.begin(); it != snapshot_.end();) {
      if (index_of(listed, it->first) >= 0) {
        ++it;
        continue;
      }
      if (it->second.watch) client_->cancel(it->second.watch);
      it = snapshot_.erase(it);
    }
    // Members that joined (or whose watch is spent): read them with a data watch.
    try {
      for (auto &m : listed) {
        auto it = snapshot_.find(m.key);
        if (it != snapshot_.end() && it->second.watch && !it->second.watch->finished())
          continue;
        read_member(m);
      }
    } catch (...) {
      client_->cancel(watch);
      throw;
    }
    bool stale;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stale = generation != observe_generation_ || finished_;
    }
    if (stale) {
      client_->cancel(watch);
      return;
    }
    children_watch_ = watch;
    publish_snapshot(Err::ok, "");
    reset_backoff();
  } catch (const Error &e) {
    if (e.code() == Err::eclosed) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || session_ != SessionState::connected) return;
    post_later([this] { observe(); }, kObserveStep);
  }
}

void Group::on_children(std::uint64_t generation, const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != observe_generation_) return;
    if (event.type == EventType::ended) {
      if (finished_ || session_ != SessionState::connected) return;
      post_later([this] { observe(); },
                 kObserveStep);  // ended under a live session: look again
      return;
    }
  }
  observe();
}

void Group::on_data(const std::string &key, std::uint64_t id, const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (event.type == EventType::ended) {
      // Under a live session: re-read every member (observe re-arms what is spent).
      if (session_ == SessionState::connected)
        post_later([this] { observe(); }, kObserveStep);
      return;
    }
  }
  auto it = snapshot_.find(key);
  if (it == snapshot_.end() || it->second.id != id) return;  // superseded
  if (event.type == EventType::deleted) {
    snapshot_.erase(it);
  } else {
    Member m = it->second.member;
    try {
      if (!read_member(m)) snapshot_.erase(key);
    } catch (const Error &) {
      post([this] { observe(); });  // re-reads every member whose watch is spent
      return;
    }
  }
  publish_snapshot(Err::ok, "");
}

void Group::drop_view() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
  }
  // The session's watches have ended: forget them.
  children_watch_.reset();
  snapshot_.clear();
  publish_snapshot(Err::esession, "session lost: membership unknown until reconnected");
}

void Group::publish_snapshot(int error, const std::string &message) {
  std::vector<Member> members;
  for (const auto &entry : snapshot_) members.push_back(entry.second.member);
  std::sort(members.begin(), members.end(),
            [](const Member &a, const Member &b) { return a.sequence < b.sequence; });
  std::vector<std::pair<std::string, std::string>> view;
  for (const auto &m : members) view.emplace_back(m.key, m.payload);
  if (delivered_ && error == Err::ok && last_error_ == Err::ok && view == last_delivered_)
    return;
  delivered_ = true;
  last_error_ = error;
  last_delivered_ = view;
  RecipeEvent event;
  event.type = EventType::members;
  event.group = group_;
  event.members = std::move(members);
  std::lock_guard<std::mutex> lock(mutex_);
  event.session_state = session_;
  event.error = error;
  event.message = message;
  notify([this, event] { deliver(event); });
}

void Group::deliver(const RecipeEvent &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (silenced_) return;
  }
  if (callback_) callback_(event);
}

}  // namespace recipes
}  // namespace offkv
