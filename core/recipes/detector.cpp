#include "detector.hpp"

#include <chrono>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace recipes {

Detector::Detector(std::shared_ptr<Client> client, std::string group,
                   RecipeCallback callback, Naming naming)
    : Recipe(std::move(client)),
      group_(std::move(group)),
      naming_(std::move(naming)),
      callback_(std::move(callback)) {}

std::shared_ptr<Detector> Detector::open(std::shared_ptr<Client> client,
                                         const std::string &group,
                                         RecipeCallback callback, Naming naming) {
  validate_group(*client, group, naming);
  std::shared_ptr<Detector> self(
      new Detector(std::move(client), group, std::move(callback), std::move(naming)));
  int state = self->listen();
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (!self->session_) self->session_ = state;
    self->started_ = true;
  }
  self->run_step([&] { self->evaluate(); });
  if (self->client_->session_state() == SessionState::closed) {
    self->unlisten();
    fail(Err::eclosed, "client is closed");
  }
  return self;
}

std::optional<Member> Detector::leader() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

std::optional<Member> Detector::wait(const std::string &previous, int timeout_ms,
                                     bool *changed) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&] {
    if (finished_) return true;
    if (!known_) return false;
    return (current_ ? current_->key : std::string()) != previous;
  };
  *changed = true;
  if (timeout_ms < 0) {
    changed_.wait(lock, ready);
  } else if (!changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
    *changed = false;
    return current_;
  }
  if (finished_) fail(Err::eclosed, "detector on '" + group_ + "' is closed");
  return current_;
}

void Detector::update_locked(const std::optional<Member> &leader, int error,
                             const std::string &message) {
  bool same =
      known_ && current_.has_value() == leader.has_value() &&
      (!leader || (current_->key == leader->key && current_->payload == leader->payload));
  if (same) return;
  known_ = true;
  current_ = leader;
  changed_.notify_all();
  RecipeEvent event;
  event.type = EventType::detected;
  event.has_member = leader.has_value();
  if (leader) event.member = *leader;
  event.group = group_;
  event.session_state = session_;
  event.error = error;
  event.message = message;
  notify([this, event] { deliver(event); });
}

void Detector::deliver(const RecipeEvent &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (silenced_) return;
  }
  if (callback_) callback_(event);
}

void Detector::session_changed(int state, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  session_ = state;
  ++generation_;
  switch (state) {
    case SessionState::lost:
      // Our watches ended; we cannot tell who leads until a new session looks.
      group_watch_.reset();
      leader_watch_.reset();
      update_locked(std::nullopt, Err::esession, "session lost: " + message);
      break;
    case SessionState::connected:
      if (started_) post([this] { evaluate(); });
      break;
    case SessionState::closed:
      finished_ = true;
      changed_.notify_all();
      break;
    default:  // SUSPENDED: keep the view; the watches survive a live session
      break;
  }
}

void Detector::on_watch(std::uint64_t generation, const Event &event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_) return;
    if (event.type == EventType::ended) {
      // Session loss and close are the session listener's; a watch that ended under
      // a live session (a server-side cancel) must not stop the reports.
      if (finished_ || session_ != SessionState::connected) return;
      post_later([this] { evaluate(); });
      return;
    }
  }
  evaluate();
}

// Just over 80 lines: one read of the contenders and the decision on it, made under
// one generation check so that a stale step never reports.
void Detector::evaluate() {
  std::uint64_t generation;
  WatchPtr old_group, old_leader;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_ || finished_ || session_ != SessionState::connected) return;
    generation = ++generation_;
    old_group = std::move(group_watch_);
    old_leader = std::move(leader_watch_);
  }
  if (old_group) client_->cancel(old_group);
  if (old_leader) client_->cancel(old_leader);
  auto self = std::static_pointer_cast<Detector>(shared_from_this());
  EventCallback callback = weak_callback(
      self, [generation](Detector &d, const Event &ev) { d.on_watch(generation, ev); });
  // Stores the watches and the view unless a newer step or a session change came.
  auto settle = [&](WatchPtr group_watch, WatchPtr leader_watch,
                    const std::optional<Member> *leader, const std::string &message) {
    bool stale;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stale = generation != generation_ || finished_;
      if (!stale) {
        group_watch_ = group_watch;
        leader_watch_ = leader_watch;
        if (leader) update_locked(*leader, Err::ok, message);
      }
    }
    if (stale) {
      if (group_watch) client_->cancel(group_watch);
      if (leader_watch) client_->cancel(leader_watch);
    }
  };
  try {
    std::vector<Member> members;
    WatchPtr group_watch;
    try {
      members = list_members(*client_, group_, naming_, &callback, &group_watch);
    } catch (const Error &e) {
      if (e.code() != Err::enoent) throw;
      // No group yet: wait for it to be created.
      std::int64_t version = client_->exists(group_, &callback, &group_watch);
      if (version != 0) {
        client_->cancel(group_watch);
        post([this] { evaluate(); });
        return;
      }
      std::optional<Member> none;
      settle(group_watch, nullptr, &none, "group '" + group_ + "' does not exist");
      reset_backoff();
      return;
    }
    if (members.empty()) {
      std::optional<Member> none;
      settle(group_watch, nullptr, &none,
             "group '" + group_ + "' has no " + naming_.describe() + "s");
      reset_backoff();
      return;
    }
    std::optional<Member> leader = members.front();
    WatchPtr leader_watch;
    try {
      Node node = client_->get(leader->key, &callback, &leader_watch);
      leader->payload = std::move(node.value);
      leader->version = node.version;
    } catch (const Error &e) {
      if (e.code() != Err::enoent) {
        client_->cancel(group_watch);
        throw;
      }
      // Left between the listing and the read: the children watch fires for it.
      settle(group_watch, nullptr, nullptr, "");
      return;
    }
    settle(group_watch, leader_watch, &leader,
           "lowest " + naming_.describe() + " of '" + group_ + "'");
    reset_backoff();
  } catch (const Error &e) {
    if (e.code() == Err::eclosed) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || session_ != SessionState::connected) return;  // CONNECTED re-runs
    post_later([this] { evaluate(); });
  }
}

void Detector::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ && silenced_) return;
    finished_ = true;
    ++generation_;
    changed_.notify_all();
  }
  unlisten();
  WatchPtr group_watch, leader_watch;
  auto last_step = [&] {
    std::lock_guard<std::mutex> lock(mutex_);
    silenced_ = true;
    group_watch = std::move(group_watch_);
    leader_watch = std::move(leader_watch_);
  };
  if (!run_on_loop(last_step)) last_step();
  if (group_watch) client_->cancel(group_watch);
  if (leader_watch) client_->cancel(leader_watch);
}

}  // namespace recipes
}  // namespace offkv
