// Leader detection (Mesos' detector): follows the lowest member of a group without
// contending. Each step, on the recipe's worker: children-watch the group, get-watch the
// lowest member (its payload); either watch firing runs the next step. A group that
// does not exist is exists-watched until it is created.
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

class Detector : public Recipe {
 public:
  // Makes the first detection before returning (unless it fails transiently; then it
  // is retried in the background and the view stays "none known"). naming: with a
  // label, only members with that label are considered (Mesos' "json.info").
  static std::shared_ptr<Detector> open(std::shared_ptr<Client> client,
                                        const std::string &group, RecipeCallback callback,
                                        Naming naming = Naming());

  // The leader now; nullopt = none (or none known yet).
  std::optional<Member> leader() const;
  // Waits until a view is known whose leader key differs from previous ("" = none).
  // Sets *changed = false on timeout. Throws ECLOSED once closed.
  std::optional<Member> wait(const std::string &previous, int timeout_ms, bool *changed);
  // Final: no callback after it returns.
  void close();

 private:
  Detector(std::shared_ptr<Client> client, std::string group, RecipeCallback callback,
           Naming naming);

  void evaluate();  // worker
  void on_watch(std::uint64_t generation, const Event &event);
  void session_changed(int state, const std::string &message) override;
  // mutex_ held: records the view and queues DETECTED if it changed.
  void update_locked(const std::optional<Member> &leader, int error,
                     const std::string &message);
  void deliver(const RecipeEvent &event);

  const std::string group_;
  const Naming naming_;
  const RecipeCallback callback_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool started_ = false;
  bool finished_ = false;
  bool silenced_ = false;
  int session_ = 0;
  std::uint64_t generation_ = 0;
  bool known_ = false;  // a view was decided at least once
  std::optional<Member> current_;
  WatchPtr group_watch_;   // children of the group (or its existence)
  WatchPtr leader_watch_;  // data of the leader's node
};

}  // namespace recipes
}  // namespace offkv
