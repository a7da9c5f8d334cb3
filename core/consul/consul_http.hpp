// The HTTP side of one offkv client on Consul: one thread driving a libcurl multi
// handle for asynchronous requests (watches' blocking queries, session renewals,
// native asynchronous operations) and timers; synchronous calls run on the caller's
// own thread with a pooled easy handle (no thread hop), which keeps its connection
// alive for the next call.
//
// Callbacks of asynchronous requests and timers run on that thread: they must not
// block (no synchronous call from them). Synchronous callers wait with a deadline.
#pragma once

#include <nlohmann/json.hpp>

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../model.hpp"

namespace offkv {
namespace consul {

using Clock = std::chrono::steady_clock;

struct Request {
  std::string method = "GET";  // GET or PUT
  std::string target;          // "/v1/kv/...?..." (already escaped)
  std::string body;            // PUT body (JSON)
  int timeout_ms = 10000;      // the whole exchange
  // call(): a request the agent never took (connection refused, or "No cluster
  // leader": refused before reaching the servers) is sent again until timeout_ms, as
  // the other backends wait for their connection while SUSPENDED. Off for session
  // renewals and watches, which report and retry by themselves.
  bool wait_for_agent = true;
  // Sent even while the test kit cut the connection (its own expiry, as an operator).
  bool past_cut = false;
};

// The largest answer read (docs/consul-notes.md): a bigger one is Err::eservice, never
// read into memory whole. offkv's own largest answers (a transaction of
// Limit::max_txn_ops values, base64) are under 6 MiB.
constexpr std::size_t kMaxAnswerBytes = 32u << 20;

struct Response {
  CURLcode curl = CURLE_OK;
  bool too_big = false;  // the answer passed kMaxAnswerBytes (curl: a write error)
  // The call's deadline (call()/call_all() set it): decoding counts against it too.
  std::chrono::steady_clock::time_point deadline{};
  std::string curl_error;  // libcurl's words, when curl != CURLE_OK
  bool aborted = false;    // the client closed (or the request was cancelled)
  long status = 0;         // HTTP status, 0 if none arrived
  std::string body;
  std::uint64_t index = 0;  // X-Consul-Index, 0 if absent
  bool ok() const {
    return curl == CURLE_OK && !aborted && status >= 200 && status < 300;
  }
};

// The agent did not take the request (connection refused, "No cluster leader"):
// nothing was applied, sending it again is safe.
bool not_taken(const Response &r);

// The JSON of an answer, decoded within its deadline: Err::etimeout (not a hang)
// when decoding would outlast it; std::exception on bad JSON.
nlohmann::json decode(const Response &r);

class Http {
 public:
  using Callback = std::function<void(Response &&)>;

  // base: "http://host:port" or "https://host:port".
  Http(std::string base, const Options &options);
  ~Http();

  // Starts the thread (throws ENOMEM / EINTERNAL if libcurl cannot be set up).
  void start();
  // Aborts every request (callbacks get Response::aborted), runs no more timers and
  // joins the thread. Idempotent.
  void stop();
  bool stopped();

  // Queues a request; cb runs on the HTTP thread with the answer (exactly once,
  // unless the request is cancelled first). Returns an id for cancel.
  std::uint64_t submit(Request request, Callback cb);
  // Drops a request; its callback will not be called after the HTTP thread handles
  // the cancellation (it may be running right now).
  void cancel(std::uint64_t id);

  // A request that waits for its answer, at most request.timeout_ms, performed on the
  // caller's thread.
  Response call(Request request);
  // One attempt of call() / call_all(), whatever the answers.
  Response call_once(Request request);
  std::vector<Response> call_all_once(std::vector<Request> requests);
  // Several requests at once (the first on the caller's thread, the others on the
  // HTTP thread, in parallel on separate connections); answers in order.
  std::vector<Response> call_all(std::vector<Request> requests);

  // Runs fn on the HTTP thread after delay_ms. Returns an id for cancel_timer.
  std::uint64_t after(int delay_ms, std::function<void()> fn);
  void cancel_timer(std::uint64_t id);
  bool on_http_thread() const { return std::this_thread::get_id() == thread_id_; }

  const std::string &base() const { return base_; }
  // Counts every request of call() / call_all() there (Stats::requests); before start.
  void count_requests(std::atomic<std::uint64_t> *counter) { requests_ = counter; }

  // Test kit. cut(true): the transport refuses to send (connection refused) and the
  // transfers under way fail (connection cut), as with a dead agent: call() waits for
  // the cut to be lifted until its timeout, asynchronous requests fail at once.
  void set_cut(bool cut);
  bool cut();

 private:
  struct Pending;
  struct Transfer;  // one exchange on an easy handle: the answer and its buffers
  void run();
  // Sets up e (reset or new) for rq at url, answers into t.
  void configure(CURL *e, const Request &rq, const std::string &url, Transfer *t);
  Response perform_here(Request request);
  CURL *take_easy();           // a pooled handle (caller threads) or a new one
  void give_back(CURL *easy);  // to the pool, or cleaned up when stopping
  static int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
  void add_to_multi(std::unique_ptr<Pending> p);
  void finish(Pending *p, CURLcode code);
  static std::size_t on_header(char *data, std::size_t size, std::size_t n, void *user);
  static std::size_t on_body(char *data, std::size_t size, std::size_t n, void *user);

  const std::string base_;
  const Options options_;
  CURLM *multi_ = nullptr;
  curl_slist *headers_ = nullptr;  // shared by every request (token, JSON)

  std::mutex mutex_;  // guards the queues below and stopping_
  std::deque<std::unique_ptr<Pending>> incoming_;
  std::vector<std::uint64_t> cancels_;
  std::multimap<Clock::time_point, std::pair<std::uint64_t, std::function<void()>>>
      timers_;
  bool stopping_ = false;
  bool started_ = false;
  bool cut_ = false;           // test kit
  bool abort_active_ = false;  // the transfers under way are to fail (cut)
  std::condition_variable cut_changed_;
  std::uint64_t next_id_ = 1;

  // Raised by stop() and by every cut: transfers on caller threads started before
  // give up (their progress callback sees it).
  std::atomic<std::uint64_t> abort_generation_{0};
  std::atomic<bool> stopping_flag_{false};

  std::atomic<std::uint64_t> *requests_ = nullptr;

  std::mutex pool_mutex_;
  std::vector<CURL *> pool_;  // idle easy handles for caller threads (connections kept)

  // HTTP thread only.
  std::map<std::uint64_t, std::unique_ptr<Pending>> active_;
  std::vector<CURL *> idle_easy_;  // easy handles of finished transfers, for reuse

  std::mutex join_mutex_;  // one stop() joins
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace consul
}  // namespace offkv
