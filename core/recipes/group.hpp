// Group membership (Mesos' PIDGroup, Curator's ServiceDiscovery + PathChildrenCache).
// Two independent halves on one handle, both stepping on the recipe's worker:
//  - membership: our member node, kept present while joined (an exists-watch on it
//    re-creates it when erased; after LOST it is re-created on the next CONNECTED),
//    carrying the latest payload;
//  - observation (only with a callback): a children watch on the group plus one data
//    watch per member, a cached snapshot, MEMBERS whenever the snapshot changes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "recipe.hpp"

namespace offkv {
namespace recipes {

class Group : public Recipe {
 public:
  // With a callback, observes and delivers the first snapshot (asynchronously).
  // naming: with a label, our node is <label>_<seq> and only members with that label
  // are listed (Mesos' layout).
  static std::shared_ptr<Group> open(std::shared_ptr<Client> client,
                                     const std::string &group, RecipeCallback callback,
                                     Naming naming = Naming());

  void join(std::string payload);
  void update(std::string payload);
  void leave();
  std::optional<Member> self() const;
  // A fresh read of the membership.
  std::vector<Member> members();
  // Leaves (if joined), stops observing; final.
  void close();

 private:
  Group(std::shared_ptr<Client> client, std::string group, RecipeCallback callback,
        Naming naming);

  void session_changed(int state, const std::string &message) override;

  // Membership half.
  // Retries of the two steps are queued independently (Recipe::post_later).
  static constexpr unsigned kMaintainStep = 1, kObserveStep = 2;
  void maintain();  // worker
  void on_self_watch(std::uint64_t generation, const Event &event);
  void publish_payload();  // worker: our node's payload := payload_
  void take_membership(std::string *member, bool *unknown, Claim *claim,
                       WatchPtr *watch);  // mutex_ held
  void drop_membership(const std::string &member, bool unknown, const Claim &claim,
                       const WatchPtr &watch);
  Claim fresh_claim_locked() const;  // mutex_ held

  // Observation half (its state is touched on the worker only).
  void observe();
  void on_children(std::uint64_t generation, const Event &event);
  void on_data(const std::string &key, std::uint64_t id, const Event &event);
  bool read_member(Member &member);  // get + data watch; false if gone
  void publish_snapshot(int error, const std::string &message);
  void drop_view();  // worker, after LOST: the cached view is void
  void deliver(const RecipeEvent &event);

  const std::string group_;
  const Naming naming_;
  const RecipeCallback callback_;

  mutable std::mutex mutex_;
  bool finished_ = false;  // closed, or the client closed
  bool closed_ = false;    // close() ran
  bool silenced_ = false;
  int session_ = 0;
  // Membership (mutex_).
  bool joined_ = false;
  bool joining_ = false;  // join() is creating the node: maintain() keeps off
  std::string token_;
  std::string payload_;    // the payload the user wants
  std::string published_;  // the payload our node was last written with
  std::string member_;     // our node, "" if none
  std::int64_t member_version_ = 0;
  bool member_unknown_ = false;
  Claim claim_;  // while member_unknown_
  std::uint64_t membership_generation_ = 0;
  WatchPtr self_watch_;
  // Observation (worker; generation under mutex_).
  std::uint64_t observe_generation_ = 0;
  WatchPtr children_watch_;
  struct Watched {
    Member member;
    WatchPtr watch;
    std::uint64_t id = 0;
  };
  std::map<std::string, Watched> snapshot_;
  std::uint64_t next_data_id_ = 1;
  bool delivered_ = false;
  int last_error_ = 0;
  std::vector<std::pair<std::string, std::string>> last_delivered_;
};

}  // namespace recipes
}  // namespace offkv
