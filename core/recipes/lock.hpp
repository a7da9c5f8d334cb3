// A mutex (Curator's InterProcessMutex without reentrancy): the member scheme of
// members.hpp under the lock key; the lowest member holds the lock; a waiter watches
// only its predecessor. acquire() runs on the caller's thread and waits on the
// predecessor's watch with the remaining timeout; nothing runs on the recipe's worker
// except the clean-up of a member whose erase failed (retried on the next CONNECTED).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "recipe.hpp"

namespace offkv {
namespace recipes {

class Lock : public Recipe {
 public:
  // No I/O: validates the key.
  static std::shared_ptr<Lock> create(std::shared_ptr<Client> client,
                                      const std::string &key);

  // Throws ETIMEOUT (nothing left behind), ESESSION / ECLOSED, EINVAL (held or
  // acquiring on this handle).
  void acquire(int timeout_ms);
  // Throws EINVAL if not held, ESESSION if the lock had been lost meanwhile.
  void release();
  bool held() const;
  std::optional<Member> member() const;

 private:
  Lock(std::shared_ptr<Client> client, std::string key);

  void session_changed(int state, const std::string &message) override;
  // Returns our member once it is the lowest, and the loss count it was seen under.
  std::string wait_for_turn(int timeout_ms, std::uint64_t *losses);
  struct Leftover {
    std::string member;  // a member whose erase failed, or
    Claim claim;         // the claim of a create whose outcome stayed unknown
  };
  void leftover(Leftover left);
  void cleanup();  // worker: erase leftovers

  enum class State { Idle, Acquiring, Held };

  const std::string key_;

  mutable std::mutex mutex_;
  State state_ = State::Idle;
  bool lost_ = false;  // held, but the session ended (or the node was erased)
  int session_ = 0;
  std::uint64_t losses_ = 0;  // LOST / CLOSED transitions seen
  std::string member_;
  std::vector<Leftover> leftovers_;  // retried on CONNECTED; dropped on LOST
};

}  // namespace recipes
}  // namespace offkv
