// What the four recipes (election, detector, group, lock) share: the client they are
// built on, the session transitions they react to, and how they run their work.
//
// Threading model (docs/recipes.md):
//  - Every state machine step that reads the store and re-arms watches runs on the
//    recipe's own worker thread (one per recipe object, started on first use), never
//    on the client's event thread: a slow round trip of a step must not delay the
//    client's other watch and session callbacks. Steps run one at a time, in order,
//    so they never race with each other; a recipe's watch callbacks arrive on the
//    event thread and only queue the step they trigger on the worker. Steps call the
//    client's ordinary blocking operations.
//  - Session transitions arrive synchronously on the reporting thread (a backend
//    thread) through Client::add_session_listener; a recipe only flips its local
//    state there (e.g. "no longer leader") and queues the rest on the worker.
//  - User callbacks are posted to the event thread and called with no recipe lock
//    held; they may call any offkv function. The worker never waits for the event
//    thread, so the event thread may wait for the worker (close from a callback).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../client.hpp"
#include "../error.hpp"
#include "../event_loop.hpp"
#include "members.hpp"

namespace offkv {
namespace recipes {

// One notification from a recipe (offkv_recipe_event in the C API).
struct RecipeEvent {
  int type = 0;  // EventType::leader, _NOT_LEADER, _DETECTED, _MEMBERS
  // LEADER / NOT_LEADER: this contender's member; DETECTED: the leader (absent when
  // there is none).
  bool has_member = false;
  Member member;
  std::string group;            // the group (or lock) key
  std::vector<Member> members;  // MEMBERS: the whole membership, by sequence
  int session_state = 0;        // the session state when the change was decided
  int error = 0;                // why, for losses (Err::econnloss, Err::esession...)
  std::string message;
};

using RecipeCallback = std::function<void(const RecipeEvent &)>;

class Recipe : public std::enable_shared_from_this<Recipe> {
 public:
  virtual ~Recipe();
  Recipe(const Recipe &) = delete;
  Recipe &operator=(const Recipe &) = delete;

 protected:
  explicit Recipe(std::shared_ptr<Client> client);

  // Starts hearing session transitions (the object must already be owned by a
  // shared_ptr) and returns the session state at that moment.
  int listen();
  // Stops hearing them. Idempotent.
  void unlisten();
  // Called for every transition on the reporting thread: quick, no client calls.
  virtual void session_changed(int state, const std::string &message) = 0;

  // Queues the step fn on this recipe's worker, keeping this object alive until it
  // ran. Steps run in the order queued.
  void post(std::function<void()> fn);
  // Runs the step fn on the worker and waits for it (at once when already on it), so
  // it runs after every step queued so far; rethrows what fn threw.
  void run_step(const std::function<void()> &fn);
  // Queues fn (a user notification) on the client's event thread, keeping this object
  // alive until it ran. false if the client is closed (fn will never run).
  bool notify(std::function<void()> fn);
  // Runs fn on the event thread and waits for it (at once when already on it), so it
  // runs after every notification queued so far; rethrows what fn threw. false if the
  // client is closed (fn did not run).
  bool run_on_loop(const std::function<void()> &fn);
  // Queues the step fn on the worker after a growing pause (200 ms doubling to 5 s),
  // at most one pending per step (a bit: a recipe with two independent steps gives
  // each its own); for steps that failed, or whose watch ended, while the session
  // looked healthy.
  void post_later(std::function<void()> fn, unsigned step = 1);
  void reset_backoff() { backoff_ms_ = 0; }

  // A watch callback for a recipe: it arrives on the event thread, does not keep the
  // recipe alive there, and runs fn(recipe, event) as a step on the worker.
  template <typename Self, typename Fn>
  static EventCallback weak_callback(const std::shared_ptr<Self> &self, Fn fn) {
    std::weak_ptr<Self> weak = self;
    return [weak, fn](const Event &event) {
      if (auto strong = weak.lock()) {
        Recipe &recipe = *strong;
        recipe.post([strong, fn, event] { fn(*strong, event); });
      }
    };
  }

  const std::shared_ptr<Client> client_;

 private:
  // The worker, started on first use.
  std::shared_ptr<EventLoop> worker();

  std::atomic<std::uint64_t> listener_{0};
  std::atomic<int> backoff_ms_{0};
  std::atomic<unsigned> retry_pending_{0};  // steps with a retry queued
  std::mutex worker_mutex_;                 // guards worker_
  std::shared_ptr<EventLoop> worker_;       // started by the first step
};

// "session lost: ..." style text for a state.
const char *session_state_name(int state);

}  // namespace recipes
}  // namespace offkv
