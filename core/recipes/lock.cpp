#include "lock.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace recipes {

using Clock = std::chrono::steady_clock;

Lock::Lock(std::shared_ptr<Client> client, std::string key)
    : Recipe(std::move(client)), key_(std::move(key)) {}

std::shared_ptr<Lock> Lock::create(std::shared_ptr<Client> client,
                                   const std::string &key) {
  validate_group(*client, key);
  std::shared_ptr<Lock> self(new Lock(std::move(client), key));
  int state = self->listen();
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (!self->session_) self->session_ = state;
  return self;
}

void Lock::session_changed(int state, const std::string &message) {
  std::lock_guard<std::mutex> lock(mutex_);
  session_ = state;
  switch (state) {
    case SessionState::lost:
    case SessionState::closed:
      ++losses_;
      if (state_ == State::Held) lost_ = true;
      leftovers_.clear();  // they went with the session
      break;
    case SessionState::connected:
      if (!leftovers_.empty()) post([this] { cleanup(); });
      break;
    default:
      break;
  }
  (void)message;
}

void Lock::leftover(Leftover left) {
  std::lock_guard<std::mutex> lock(mutex_);
  leftovers_.push_back(std::move(left));
  if (session_ == SessionState::connected) post_later([this] { cleanup(); });
}

void Lock::cleanup() {
  std::vector<Leftover> todo;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    todo.swap(leftovers_);
  }
  for (auto &left : todo) {
    try {
      if (!left.member.empty()) {
        erase_member(*client_, left.member);
      } else if (auto own = find_own_or_none(*client_, key_, Naming(), left.claim)) {
        erase_member(*client_, own->key);
      }
    } catch (const Error &e) {
      if (e.code() == Err::eclosed || e.code() == Err::esession) continue;
      leftover(left);  // retried later
    }
  }
}

// Long on purpose: the queue loop (enqueue, list, find the predecessor, watch it,
// wait, handle a lost session) shares its deadline and member across every turn.
std::string Lock::wait_for_turn(int timeout_ms, std::uint64_t *losses) {
  const auto start = Clock::now();
  // Milliseconds left; -1 = forever.
  auto remaining = [&]() -> int {
    if (timeout_ms < 0) return -1;
    auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
            .count();
    return static_cast<int>(std::max<long long>(0, timeout_ms - spent));
  };
  struct TimedOut {};  // our own deadline, unlike an operation's ETIMEOUT
  Claim claim;         // the lock's members use offkv's names: the token finds ours
  claim.token = new_token();
  std::string member;
  bool create_unknown = false;
  try {
    try {
      int again = 0;  // rounds in a row that found nothing to wait on
      for (;;) {
        // Every round checks the deadline; rounds that found nothing to wait on
        // (a stale listing, a predecessor already gone) back off, 5 ms doubling to
        // 200 ms, so a listing that never shows us cannot hammer the store.
        if (again > 0 && remaining() == 0) throw TimedOut{};
        if (again > 0)
          std::this_thread::sleep_for(
              std::chrono::milliseconds(std::min(200, 5 << std::min(again - 1, 6))));
        try {
          if (member.empty()) {
            if (create_unknown) {
              if (auto own = find_own_or_none(*client_, key_, Naming(), claim))
                member = own->key;
              create_unknown = false;
            }
            if (member.empty()) {
              ensure_path(*client_, key_);
              try {
                member = create_member(*client_, key_, Naming(), claim, "");
              } catch (const Error &e) {
                create_unknown = outcome_unknown(e.code());
                throw;
              }
            }
          }
          {
            std::lock_guard<std::mutex> lock(mutex_);
            *losses = losses_;
          }
          std::vector<Member> members;
          try {
            members = list_members(*client_, key_, Naming());
          } catch (const Error &e) {
            if (e.code() != Err::enoent) throw;  // the lock node was erased
          }
          int index = index_of(members, member);
          if (index < 0) {
            if (client_->exists(member, nullptr, nullptr) != 0) {
              ++again;
              continue;  // stale listing
            }
            fail(Err::esession, "lock '" + key_ + "': our member node '" + member +
                                    "' vanished while waiting (session ended or node "
                                    "erased)");
          }
          if (index == 0) return member;
          WatchPtr watch;
          if (client_->exists(members[index - 1].key, nullptr, &watch) == 0) {
            client_->cancel(watch);  // the predecessor left already: look again
            ++again;
            continue;
          }
          again = 0;
          int left = remaining();
          std::optional<Event> event;
          if (left != 0) event = watch->wait(left);
          client_->cancel(watch);
          if (!event) throw TimedOut{};
          if (event->type == EventType::ended) {
            // Ended under a live session (a server-side cancel): look again.
            if (event->error != Err::esession && event->error != Err::eclosed &&
                client_->session_state() == SessionState::connected) {
              ++again;
              continue;
            }
            fail(event->error ? event->error : Err::esession,
                 "lock '" + key_ + "': waiting ended: " + event->message);
          }
        } catch (const Error &e) {
          // Connection trouble: retry until the deadline (the session may survive).
          if (!outcome_unknown(e.code()) || remaining() == 0) throw;
          int pause = remaining() < 0 ? 200 : std::min(200, remaining());
          std::this_thread::sleep_for(std::chrono::milliseconds(pause));
        }
      }
    } catch (...) {
      // Leave nothing behind.
      if (!member.empty()) {
        try {
          erase_member(*client_, member);
        } catch (const Error &) {
          leftover({member, Claim()});
        }
      } else if (create_unknown) {
        leftover({"", claim});
      }
      throw;
    }
  } catch (const TimedOut &) {
    fail(Err::etimeout,
         "lock '" + key_ + "' not acquired within " + std::to_string(timeout_ms) + " ms");
  }
}

void Lock::acquire(int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == State::Held)
      fail(Err::einval, "lock '" + key_ +
                            "' is already held by this handle (locks are not reentrant)");
    if (state_ == State::Acquiring)
      fail(Err::einval, "lock '" + key_ + "' is being acquired on this handle already");
    if (session_ == SessionState::closed) fail(Err::eclosed, "client is closed");
    state_ = State::Acquiring;
  }
  std::string member;
  std::uint64_t losses = 0;
  try {
    member = wait_for_turn(timeout_ms, &losses);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = State::Idle;
    throw;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = State::Held;
  member_ = member;
  lost_ = losses != losses_;  // the session ended after we saw ourselves lowest
}

void Lock::release() {
  std::string member;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != State::Held) fail(Err::einval, "lock '" + key_ + "' is not held");
    member = member_;
    member_.clear();
    state_ = State::Idle;
    lost_ = false;
  }
  if (client_->session_state() == SessionState::closed)
    fail(Err::eclosed, "client is closed (the lock went with its session)");
  bool erased;
  try {
    erased = erase_member(*client_, member);
  } catch (const Error &) {
    leftover({member, Claim()});
    throw;
  }
  if (!erased)
    fail(Err::esession, "lock '" + key_ + "' had been lost before release: its node '" +
                            member + "' was gone (session ended or node erased)");
}

bool Lock::held() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == State::Held && !lost_ && session_ == SessionState::connected;
}

std::optional<Member> Lock::member() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ != State::Held || member_.empty()) return std::nullopt;
  auto m = parse_member(member_);
  if (m) m->version = 1;
  return m;
}

}  // namespace recipes
}  // namespace offkv
