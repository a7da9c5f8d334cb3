#include "election.hpp"

#include <chrono>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace recipes {

Election::Election(std::shared_ptr<Client> client, std::string group, std::string payload,
                   RecipeCallback callback, Naming naming)
    : Recipe(std::move(client)),
      group_(std::move(group)),
      naming_(std::move(naming)),
      payload_(std::move(payload)),
      token_(new_token()),
      callback_(std::move(callback)) {}

Claim Election::fresh_claim() const {
  Claim claim;
  claim.token = token_;
  return claim;
}

std::shared_ptr<Election> Election::contend(std::shared_ptr<Client> client,
                                            const std::string &group, std::string payload,
                                            RecipeCallback callback, Naming naming) {
  validate_group(*client, group, naming);
  check_payload("election", payload);
  std::shared_ptr<Election> self(new Election(std::move(client), group,
                                              std::move(payload), std::move(callback),
                                              std::move(naming)));
  int state = self->listen();
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->session_) self->session_ = state;
  }
  std::string member;
  bool unknown = false;
  Claim claim = self->fresh_claim();
  try {
    ensure_path(*self->client_, self->group_);
    member =
        create_member(*self->client_, self->group_, self->naming_, claim, self->payload_);
  } catch (const Error &e) {
    if (!outcome_unknown(e.code())) {
      self->unlisten();
      throw;
    }
    unknown = true;  // a step on the worker finds out (or creates it) once it can
  }
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->member_ = member;
    self->member_unknown_ = unknown;
    if (unknown) self->claim_ = claim;
    self->started_ = true;
  }
  self->post([self] { self->evaluate(); });
  return self;
}

bool Election::is_leader() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return leader_;
}

bool Election::wait(bool leader, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&] { return leader_ == leader || (leader && finished_); };
  if (timeout_ms < 0) {
    changed_.wait(lock, ready);
  } else if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
    return false;
  }
  if (leader_ != leader)
    fail(Err::eclosed, "election in '" + group_ + "' has ended (" +
                           (withdrawn_ ? "withdrawn" : "client closed") + ")");
  return true;
}

Member Election::member_locked() const {
  Member m;
  if (auto parsed = naming_.parse(member_)) m = *parsed;
  m.payload = payload_;
  m.version = 1;  // created at 1 and never set
  return m;
}

std::optional<Member> Election::member() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (member_.empty()) return std::nullopt;
  return member_locked();
}

void Election::set_leader_locked(bool leader, int error, const std::string &message) {
  leader_ = leader;
  changed_.notify_all();
  RecipeEvent event;
  event.type = leader ? EventType::leader : EventType::not_leader;
  event.has_member = !member_.empty();
  if (event.has_member) event.member = member_locked();
  event.group = group_;
  event.session_state = session_;
  event.error = error;
  event.message = message;
  // Only the loop's queue lock is taken: fine under mutex_, and it keeps the
  // notifications in the order the belief changed.
  notify([this, event] { deliver(event); });
}

void Election::deliver(const RecipeEvent &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bool leader = event.type == EventType::leader;
    if (silenced_ || told_leader_ == leader) return;
    told_leader_ = leader;
  }
  if (callback_) callback_(event);
}

void Election::session_changed(int state, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  session_ = state;
  ++generation_;  // a step in flight must not decide on what it read before this
  switch (state) {
    case SessionState::suspended:
      if (leader_)
        set_leader_locked(false, Err::econnloss, "session suspended: " + message);
      break;
    case SessionState::lost:
      if (leader_) set_leader_locked(false, Err::esession, "session lost: " + message);
      member_.clear();  // it went with the session
      member_unknown_ = false;
      watch_.reset();  // ended by the core
      break;
    case SessionState::connected:
      if (started_) post([this] { evaluate(); });
      break;
    case SessionState::closed:
      if (leader_) set_leader_locked(false, Err::eclosed, "client closed");
      finished_ = true;
      changed_.notify_all();
      break;
  }
}

void Election::on_watch(std::uint64_t generation, const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_) return;  // a newer step re-armed its own watch
    if (event.type == EventType::ended) {
      // Session loss and close are the session listener's; a watch that ended under
      // a live session (a server-side cancel) must not leave us waiting forever.
      if (finished_ || session_ != SessionState::connected) return;
      watch_.reset();
      post_later([this] { evaluate(); });
      return;
    }
  }
  evaluate();
}

void Election::member_gone(std::uint64_t generation, const std::string &member) {
  // Make sure: a stale read (serializable consistency) must not leave a live node of
  // ours ahead of the one we are about to create. Usually ENOENT.
  try {
    erase_member(*client_, member);
  } catch (const Error &e) {
    failed(e);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_ || finished_) return;
    if (member_ == member) member_.clear();
    if (leader_)
      set_leader_locked(false, Err::enoent,
                        "member node '" + member + "' was erased by someone else");
  }
  post([this] { evaluate(); });  // contend again with a new member
}

void Election::failed(const Error &error) {
  int code = error.code();
  if (code == Err::eclosed) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    // The next CONNECTED runs a new step.
    if (session_ != SessionState::connected) return;
  }
  post_later([this] { evaluate(); });
}

// Long on purpose: one election step (list, find our rank, take or watch the
// predecessor, report) decides under one generation check, as the detector does.
void Election::evaluate() {
  std::uint64_t generation;
  std::string member;
  bool unknown;
  Claim claim;
  WatchPtr old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || finished_ || session_ != SessionState::connected) return;
    generation = ++generation_;
    member = member_;
    unknown = member_unknown_;
    claim = unknown ? claim_ : fresh_claim();
    old = std::move(watch_);
  }
  if (old) client_->cancel(old);
  try {
    if (member.empty()) {
      if (unknown) {
        if (auto own = find_own_or_none(*client_, group_, naming_, claim))
          member = own->key;
      }
      if (member.empty()) {
        ensure_path(*client_, group_);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (finished_) return;
        }
        try {
          member = create_member(*client_, group_, naming_, claim, payload_);
        } catch (const Error &e) {
          if (outcome_unknown(e.code())) {
            std::lock_guard<std::mutex> lock(mutex_);
            member_unknown_ = true;
            claim_ = claim;
          }
          throw;
        }
      }
      std::lock_guard<std::mutex> lock(mutex_);
      // Stored even if withdrawn meanwhile: withdraw waits for this step, then its
      // last step takes and erases it.
      member_ = member;
      member_unknown_ = false;
      if (generation != generation_ || finished_) return;
    }

    std::vector<Member> members;
    try {
      members = list_members(*client_, group_, naming_);
    } catch (const Error &e) {
      if (e.code() != Err::enoent) throw;  // the group itself was erased
    }
    int index = index_of(members, member);
    if (index < 0) {
      // Not listed: gone, unless the listing was older than our create.
      if (client_->exists(member, nullptr, nullptr) != 0) {
        post_later([this] { evaluate(); });
        return;
      }
      member_gone(generation, member);
      return;
    }
    // The leader watches its own node (erased by someone: no longer leader); every
    // other contender only its immediate predecessor.
    const std::string watched = index == 0 ? member : members[index - 1].key;
    auto self = std::static_pointer_cast<Election>(shared_from_this());
    EventCallback callback = weak_callback(
        self, [generation](Election &e, const Event &ev) { e.on_watch(generation, ev); });
    WatchPtr watch;
    std::int64_t version = client_->exists(watched, &callback, &watch);
    if (version == 0) {
      // Gone between the listing and the watch: nothing will fire; look again.
      client_->cancel(watch);
      if (index == 0) {
        member_gone(generation, member);
      } else {
        post([this] { evaluate(); });
      }
      return;
    }
    bool stale;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stale =
          generation != generation_ || finished_ || session_ != SessionState::connected;
      if (!stale) {
        watch_ = watch;
        bool lead = index == 0;
        if (lead != leader_)
          set_leader_locked(
              lead, Err::ok,
              lead ? "lowest " + naming_.describe() + " of '" + group_ + "'"
                   : "a lower " + naming_.describe() + " of '" + group_ + "' exists");
      }
    }
    if (stale) client_->cancel(watch);
    reset_backoff();
  } catch (const Error &e) {
    failed(e);
  }
}

void Election::withdraw() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (withdrawn_) return;
    withdrawn_ = true;
    finished_ = true;
    leader_ = false;  // the belief goes first
    ++generation_;
    changed_.notify_all();
  }
  unlisten();
  std::string member;
  bool unknown = false;
  Claim claim;
  WatchPtr watch;
  // Runs on the event thread after every notification queued so far, so NOT_LEADER
  // follows a LEADER the user was told, and nothing is delivered after it.
  auto last_step = [&](bool may_call) {
    bool tell;
    RecipeEvent event;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tell = may_call && told_leader_ && !silenced_;
      told_leader_ = false;
      silenced_ = true;
      event.type = EventType::not_leader;
      event.has_member = !member_.empty();
      if (event.has_member) event.member = member_locked();
      event.group = group_;
      event.session_state = session_;
      event.error = Err::ok;
      event.message = "withdrawn";
    }
    if (tell && callback_) callback_(event);
    std::lock_guard<std::mutex> lock(mutex_);
    member = member_;
    member_.clear();
    unknown = member_unknown_;
    member_unknown_ = false;
    claim = claim_;
    watch = std::move(watch_);
  };
  // First let a step in flight on the worker finish (it may still store a member it
  // created); every later step sees finished_ and does nothing.
  run_step([] {});
  if (!run_on_loop([&] { last_step(true); })) last_step(false);  // client closed
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

}  // namespace recipes
}  // namespace offkv
