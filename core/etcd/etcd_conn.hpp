// The etcd side of one offkv client: the gRPC channel (plain or TLS, one or more
// members), the auth token, unary calls with the operation deadline, and the session
// = one lease kept alive on a LeaseKeepAlive stream, with its state machine
// (CONNECTED / SUSPENDED / LOST, then a new lease by itself).
//
// Threads: callers issue unary calls (gRPC's synchronous API, thread-safe); a session
// thread grants the lease and writes keep-alives; a reader thread reads the
// keep-alive answers.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "../backend.hpp"
#include "../model.hpp"
#include "offkv/etcd/v3/services.grpc.pb.h"

namespace offkv {
namespace etcd {

using Clock = std::chrono::steady_clock;

class Conn {
 public:
  Conn(const Endpoint &endpoint, Options options);
  ~Conn();

  // Connects (connect_timeout_ms), authenticates, grants the lease, starts the
  // keep-alive; reports CONNECTED through the listener. Throws on failure.
  void start(SessionListener listener);
  // Revokes the lease (the client's ephemerals vanish at once), stops the threads.
  // Idempotent.
  void close();

  Clock::time_point deadline() const;
  int operation_timeout_ms() const { return options_.operation_timeout_ms; }
  bool serializable_reads() const;
  const std::string &hosts() const { return hosts_; }

  // The current lease for an ephemeral node; throws ESESSION while there is none
  // (after LOST, until the new lease), ECLOSED once closed.
  std::int64_t lease(const std::string &what);
  int session_state() const;

  // Makes a context for one call or stream: deadline (if any), auth token, waiting
  // for the connection while it is being re-established.
  void prepare(grpc::ClientContext &ctx, Clock::time_point deadline, bool wait = true);

  // Runs one unary call, authenticating again when the token expired. Reads
  // (idempotent) are retried on transient errors until the deadline.
  using UnaryFn = std::function<grpc::Status(grpc::ClientContext &)>;
  grpc::Status unary(const UnaryFn &fn, Clock::time_point deadline, bool idempotent);
  // Throws the offkv error for a failed status (ETIMEOUT / ECONNLOSS told apart).
  [[noreturn]] void fail(const grpc::Status &status, const std::string &what);

  // For asynchronous calls, which never wait: false when a call cannot be sent now
  // without waiting or failing here (closed, cut by the test kit, a forked child); the
  // caller then takes the blocking path, which handles each of these.
  bool can_send_now();
  // The context of an asynchronous call: deadline, wait for the connection, token.
  void prepare_async(grpc::ClientContext &ctx, Clock::time_point deadline);
  // What fail() would throw, as a value (for a completion).
  std::exception_ptr error_for(const grpc::Status &status, const std::string &what);

  etcdserverpb::KV::Stub &kv() { return *kv_; }
  etcdserverpb::Watch::Stub &watch_stub() { return *watch_; }
  // Authenticates again (the token expired on a stream). Returns false if it failed.
  bool refresh_token(Clock::time_point deadline);
  bool closed() const { return closed_.load(); }

  // Test kit. cut(true): the client side of the channel refuses traffic: calls wait
  // (as for a lost connection) and fail ECONNLOSS at their deadline, streams are
  // cancelled and not re-opened (the keep-alive stream breaks: SUSPENDED, then LOST
  // once the lease has surely expired, as for a real outage) until cut(false).
  void testkit_cut(bool cut);
  // LeaseRevoke of the session's lease (past the cut), then a keep-alive at once: etcd
  // answers it with TTL 0 and the session machinery says LOST (when cut: on the first
  // keep-alive after the cut is lifted).
  void testkit_expire();
  // A long-lived stream's context (the watch stream), cancelled by the cut; untrack
  // before it is destroyed.
  void track_stream(grpc::ClientContext *ctx);
  void untrack_stream(grpc::ClientContext *ctx);

 private:
  void open_channel();
  void authenticate(Clock::time_point deadline);  // throws
  std::string token();
  // A new lease: OK status and empty error on success.
  grpc::Status grant(std::string &error);
  void run_session();
  bool keep_alive_once();  // one keep-alive stream; returns when it ended
  void report(int state, const std::string &message);
  // While the test kit cut the connection: waits until it is lifted, the client
  // closes or the deadline passes ({} = no deadline). True if not cut (any more).
  bool wait_uncut(Clock::time_point deadline);

  const Options options_;
  const bool tls_;
  std::string hosts_;   // for messages
  std::string target_;  // gRPC target
  std::string tls_name_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_stub_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;
  SessionListener listener_;

  std::mutex token_mutex_;
  std::string token_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  std::atomic<bool> closed_{false};
  int state_ = 0;  // offkv_session_state; 0 before the first CONNECTED
  std::int64_t lease_id_ = 0;
  std::int64_t ttl_s_ = 0;
  Clock::time_point expires_{};                // the lease surely lives until then
  grpc::ClientContext *stream_ctx_ = nullptr;  // the keep-alive stream, to cancel it
  bool cut_ = false;                           // test kit
  bool send_now_ = false;                      // a keep-alive now (test kit's expire)
  std::set<grpc::ClientContext *> streams_;    // tracked streams, cancelled by the cut
  std::thread session_thread_;
};

}  // namespace etcd
}  // namespace offkv
