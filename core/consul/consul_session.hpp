// The Consul session of one offkv client: created at open (TTL = half the session
// timeout, behavior "delete", no lock delay, no health checks), renewed on the HTTP
// thread well before the TTL runs out, with backoff while renewals fail (SUSPENDED);
// LOST when the agent says the session is gone or when no renewal has succeeded for
// 2 × TTL (the time after which the servers invalidate it); then a new session is
// created by itself and CONNECTED reported. close() destroys it: the ephemerals
// (keys it holds) vanish at once.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "../backend.hpp"
#include "consul_http.hpp"

namespace offkv {
namespace consul {

class Session {
 public:
  Session(Http &http, const Options &options);

  // Creates the first session (throws on failure) and reports CONNECTED.
  void start(SessionListener listener);
  // The current session's id. Throws ESESSION between LOST and the next session,
  // ECLOSED once closed.
  std::string id();
  // An operation was refused because session `id` no longer exists: LOST now.
  void invalidated(const std::string &id, const std::string &why);
  // Destroys the session (waits at most the operation timeout); idempotent.
  void close();

  // Test kit. check_now: a renewal (or the creation of a new session) right away, so
  // that a cut connection or an ended session is noticed now. expire: the session is
  // destroyed at the servers (past the cut), then checked: 404, LOST.
  void check_now();
  void testkit_expire();

  int ttl_ms() const { return ttl_ms_; }

 private:
  void create_async();          // HTTP thread
  void schedule(int delay_ms);  // next renewal or re-creation; mutex_ held
  void tick();                  // HTTP thread: renew or re-create
  void renewed(Response &&r, Clock::time_point sent, const std::string &id);
  void lose(std::unique_lock<std::mutex> &lock, const std::string &why);  // unlocks
  void report(int state, const std::string &message);
  std::string create_body() const;

  Http &http_;
  const Options options_;
  int ttl_ms_;
  SessionListener listener_;

  std::mutex mutex_;  // guards everything below; never held while reporting
  std::string id_;    // "" between LOST and the next session
  int state_ = 0;
  bool closed_ = false;
  bool busy_ = false;          // a renewal or creation is in flight
  Clock::time_point last_ok_;  // when the last successful renewal (or creation) was sent
  int backoff_ms_ = 0;
  std::uint64_t timer_ = 0;
  std::uint64_t request_ = 0;
};

}  // namespace consul
}  // namespace offkv
