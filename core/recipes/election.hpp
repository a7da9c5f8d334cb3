// Leader election (Mesos' contender, Curator's LeaderLatch): an ephemeral sequential
// member under the group; the lowest sequence leads; every other contender watches
// only its immediate predecessor (exists-watch), so a departure wakes one contender.
//
// States and transitions (docs/recipes.md):
//  - leader_ (the belief) becomes true only on the worker, after a children()
//    read showed our member lowest, while the session is CONNECTED and nothing
//    changed meanwhile (generation check).
//  - It becomes false at once, on the reporting thread, on SUSPENDED, LOST and
//    CLOSED; on the worker when our member node is gone; in withdraw().
//  - After LOST the member is forgotten; on the next CONNECTED a new one is created.
//    After SUSPENDED -> CONNECTED the member survived and leadership is re-evaluated.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "recipe.hpp"

namespace offkv {
namespace recipes {

class Election : public Recipe {
 public:
  // Creates the group (if needed) and our member; returns at once. Throws for bad
  // arguments and failures other than an unknown outcome (which the worker
  // resolves by looking for our node). naming: offkv's member names, or Mesos' with a
  // label (then only members with that label take part).
  static std::shared_ptr<Election> contend(std::shared_ptr<Client> client,
                                           const std::string &group, std::string payload,
                                           RecipeCallback callback,
                                           Naming naming = Naming());

  bool is_leader() const;
  // Waits until is_leader() == leader; false on timeout. Throws ECLOSED when waiting
  // for leadership of an election that has ended.
  bool wait(bool leader, int timeout_ms);
  // Our member node now, if any.
  std::optional<Member> member() const;
  // Final: NOT_LEADER first (if the user was told LEADER), then the node is erased.
  void withdraw();

 private:
  Election(std::shared_ptr<Client> client, std::string group, std::string payload,
           RecipeCallback callback, Naming naming);

  void evaluate();  // worker
  void on_watch(std::uint64_t generation, const Event &event);
  void member_gone(std::uint64_t generation, const std::string &member);
  void failed(const Error &error);
  void session_changed(int state, const std::string &message) override;
  // mutex_ held: flips the belief and queues the notification.
  void set_leader_locked(bool leader, int error, const std::string &message);
  void deliver(const RecipeEvent &event);  // event thread
  Member member_locked() const;
  Claim fresh_claim() const;

  const std::string group_;
  const Naming naming_;
  const std::string payload_;
  const std::string token_;
  const RecipeCallback callback_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;   // contend() finished: evaluate() may run
  bool finished_ = false;  // withdrawn or client closed
  bool withdrawn_ = false;
  bool silenced_ = false;     // no more callbacks
  bool leader_ = false;       // the belief
  bool told_leader_ = false;  // what the user was last told
  int session_ = 0;
  std::uint64_t generation_ = 0;  // bumped by every step and session change
  std::string member_;            // our member node; "" if none
  bool member_unknown_ = false;   // a create's outcome is unknown: look for claim_
  Claim claim_;                   // while member_unknown_
  WatchPtr watch_;                // on our predecessor, or on our own node if leader
};

}  // namespace recipes
}  // namespace offkv
