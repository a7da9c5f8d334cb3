#include "consul_session.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "codes.hpp"
#include "consul_errors.hpp"

namespace offkv {
namespace consul {

namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxCreateBackoffMs = 2000;

// Consul refuses a TTL below its session_ttl_min ("Invalid Session TTL '…', must be
// between [10s=24h0m0s]"): the minimum in ms, or 0 if the answer says something else.
int minimum_ttl_ms(const Response &r) {
  if (r.curl != CURLE_OK || r.status != 500) return 0;
  std::size_t at = r.body.find("must be between [");
  if (r.body.find("Invalid Session TTL") == std::string::npos || at == std::string::npos)
    return 0;
  std::size_t i = at + 17;
  double total = 0, number = 0;
  bool any = false;
  while (i < r.body.size() && r.body[i] != '=') {
    if (std::isdigit(static_cast<unsigned char>(r.body[i])) || r.body[i] == '.') {
      std::size_t end = i;
      while (
          end < r.body.size() &&
          (std::isdigit(static_cast<unsigned char>(r.body[end])) || r.body[end] == '.'))
        ++end;
      number = std::atof(r.body.substr(i, end - i).c_str());
      i = end;
      continue;
    }
    std::string unit;
    while (i < r.body.size() && std::isalpha(static_cast<unsigned char>(r.body[i])))
      unit += r.body[i++];
    if (unit == "h")
      total += number * 3600000;
    else if (unit == "m")
      total += number * 60000;
    else if (unit == "s")
      total += number * 1000;
    else if (unit == "ms")
      total += number;
    else
      return 0;
    any = true;
    number = 0;
  }
  return any ? static_cast<int>(total) : 0;
}

std::string session_id(const Response &r) {
  try {
    auto j = nlohmann::json::parse(r.body);
    std::string id = j.at("ID").get<std::string>();
    if (!id.empty()) return id;
  } catch (const std::exception &e) {
    fail_malformed(r, "create a session", e.what());
  }
  fail_malformed(r, "create a session", "no session ID");
}

}  // namespace

Session::Session(Http &http, const Options &options)
    : http_(http),
      options_(options),
      ttl_ms_(std::max(1000, options.session_timeout_ms / 2)) {}

std::string Session::create_body() const {
  nlohmann::json body = {{"Name", "offkv"},
                         {"TTL", std::to_string(ttl_ms_) + "ms"},
                         {"Behavior", "delete"},
                         {"LockDelay", "0s"},
                         {"Checks", nlohmann::json::array()},
                         {"NodeChecks", nlohmann::json::array()}};
  return body.dump();
}

void Session::start(SessionListener listener) {
  listener_ = std::move(listener);
  Response r;
  Clock::time_point sent;
  for (int attempt = 0; attempt < 2; ++attempt) {
    Request rq;
    rq.method = "PUT";
    rq.target = "/v1/session/create";
    rq.body = create_body();
    rq.timeout_ms = options_.connect_timeout_ms;
    rq.wait_for_agent = false;  // open fails at once on a dead agent
    sent = Clock::now();
    r = http_.call(std::move(rq));
    if (r.ok()) break;
    int minimum = minimum_ttl_ms(r);
    if (attempt > 0 || minimum <= ttl_ms_) fail_response(r, "create a session", false);
    // The servers' session_ttl_min is above half the session timeout: use it
    // (docs/consul-notes.md).
    ttl_ms_ = minimum;
  }
  std::string id = session_id(r);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id_ = id;
    state_ = SessionState::connected;
    last_ok_ = sent;
    schedule(ttl_ms_ / 3);
  }
  report(SessionState::connected, "consul session " + id);
}

std::string Session::id() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) fail(Err::eclosed, "client is closed");
  if (id_.empty())
    fail(Err::esession, "consul: the session expired; a new one is being created");
  return id_;
}

void Session::invalidated(const std::string &id, const std::string &why) {
  // On the HTTP thread, so that every transition is reported from there, in order.
  http_.after(0, [this, id, why] {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_ || id.empty() || id != id_) return;
    lose(lock, why);
  });
}

void Session::schedule(int delay_ms) {
  if (closed_) return;
  if (timer_) http_.cancel_timer(timer_);
  timer_ = http_.after(delay_ms, [this] { tick(); });
}

void Session::tick() {
  std::unique_lock<std::mutex> lock(mutex_);
  timer_ = 0;
  if (closed_ || busy_) return;
  if (id_.empty()) {
    create_async();
    return;
  }
  auto since =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_ok_);
  int left = 2 * ttl_ms_ - static_cast<int>(since.count());
  if (left <= 0) {
    lose(lock, "consul: no renewal of session " + id_ + " succeeded for " +
                   std::to_string(2 * ttl_ms_) +
                   " ms (2 x TTL): the servers have dropped it");
    return;
  }
  busy_ = true;
  std::string id = id_;
  Clock::time_point sent = Clock::now();
  Request rq;
  rq.method = "PUT";
  rq.target = "/v1/session/renew/" + id;
  rq.timeout_ms = std::max(200, std::min(left, std::max(500, ttl_ms_ / 2)));
  request_ = http_.submit(
      std::move(rq), [this, sent, id](Response &&r) { renewed(std::move(r), sent, id); });
  if (request_ == 0) busy_ = false;  // stopping
}

void Session::renewed(Response &&r, Clock::time_point sent, const std::string &id) {
  std::unique_lock<std::mutex> lock(mutex_);
  busy_ = false;
  request_ = 0;
  if (closed_) return;
  if (id != id_) {  // lost meanwhile: the tick that was skipped creates a new one
    if (!timer_) schedule(0);
    return;
  }
  const int interval = std::max(100, ttl_ms_ / 3);
  if (r.ok()) {
    last_ok_ = sent;
    backoff_ms_ = 0;
    bool changed = state_ != SessionState::connected;
    state_ = SessionState::connected;
    schedule(interval);
    lock.unlock();
    if (changed) report(SessionState::connected, "consul session " + id + " renewed");
    return;
  }
  if (r.curl == CURLE_OK && r.status == 404) {
    lose(lock, "consul: the servers no longer know session " + id + consul_words(r));
    return;
  }
  auto since =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_ok_);
  int left = 2 * ttl_ms_ - static_cast<int>(since.count());
  if (left <= 0) {
    lose(lock, "consul: no renewal of session " + id + " succeeded for " +
                   std::to_string(2 * ttl_ms_) + " ms (2 x TTL)" + consul_words(r));
    return;
  }
  backoff_ms_ = backoff_ms_ ? std::min(backoff_ms_ * 2, interval) : kFirstBackoffMs;
  bool changed = state_ != SessionState::suspended;
  state_ = SessionState::suspended;
  schedule(std::min(backoff_ms_, left));
  lock.unlock();
  if (changed)
    report(SessionState::suspended,
           "consul: cannot renew session " + id + consul_words(r));
}

void Session::lose(std::unique_lock<std::mutex> &lock, const std::string &why) {
  id_.clear();
  state_ = SessionState::lost;
  backoff_ms_ = 0;
  schedule(0);  // a new session
  lock.unlock();
  report(SessionState::lost, why);
}

void Session::create_async() {
  busy_ = true;
  Clock::time_point sent = Clock::now();
  Request rq;
  rq.method = "PUT";
  rq.target = "/v1/session/create";
  rq.body = create_body();
  rq.timeout_ms = options_.connect_timeout_ms;
  request_ = http_.submit(std::move(rq), [this, sent](Response &&r) {
    std::unique_lock<std::mutex> lock(mutex_);
    busy_ = false;
    request_ = 0;
    std::string id;
    if (r.ok()) {
      try {
        id = session_id(r);
      } catch (const Error &) {
      }
    }
    if (closed_) {
      if (!id.empty()) {  // created after close: do not leave it behind
        Request destroy;
        destroy.method = "PUT";
        destroy.target = "/v1/session/destroy/" + id;
        http_.submit(std::move(destroy), [](Response &&) {});
      }
      return;
    }
    if (id.empty()) {
      backoff_ms_ =
          backoff_ms_ ? std::min(backoff_ms_ * 2, kMaxCreateBackoffMs) : kFirstBackoffMs;
      schedule(backoff_ms_);
      return;
    }
    id_ = id;
    state_ = SessionState::connected;
    last_ok_ = sent;
    backoff_ms_ = 0;
    schedule(std::max(100, ttl_ms_ / 3));
    lock.unlock();
    report(SessionState::connected, "new consul session " + id);
  });
  if (request_ == 0) busy_ = false;
}

void Session::report(int state, const std::string &message) {
  if (listener_) listener_(state, message);
}

void Session::close() {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    if (timer_) http_.cancel_timer(timer_);
    if (request_) http_.cancel(request_);
    timer_ = request_ = 0;
    id.swap(id_);
  }
  if (id.empty()) return;
  Request rq;
  rq.method = "PUT";
  rq.target = "/v1/session/destroy/" + id;
  rq.timeout_ms = options_.operation_timeout_ms;
  rq.wait_for_agent = false;
  http_.call(std::move(rq));  // best effort: otherwise the TTL ends it
}

void Session::check_now() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || busy_) return;  // the answer in flight decides
  schedule(0);
}

void Session::testkit_expire() {
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) fail(Err::eclosed, "client is closed");
    if (state_ == SessionState::lost || id_.empty()) return;  // no session right now
    id = id_;
  }
  Request rq;
  rq.method = "PUT";
  rq.target = "/v1/session/destroy/" + id;
  rq.timeout_ms = options_.operation_timeout_ms;
  rq.past_cut = true;  // done at the servers, as an operator would
  Response r = http_.call(std::move(rq));
  if (!r.ok()) fail_response(r, "destroy session " + id + " (testkit_expire)", false);
  check_now();
}

}  // namespace consul
}  // namespace offkv
