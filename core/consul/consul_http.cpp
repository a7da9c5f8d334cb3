#include "consul_http.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "../error.hpp"
#include "codes.hpp"

namespace offkv {
namespace consul {

namespace {

void global_init() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK)
    fail(Err::einternal,
         std::string("consul: libcurl cannot start: ") + curl_easy_strerror(rc));
}

constexpr int kIdleWaitMs = 1000;  // the thread wakes up at least this often
constexpr int kCallMarginMs =
    2000;  // a synchronous call waits this much past its timeout

}  // namespace

struct Http::Transfer {
  Response response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  // Caller threads: the transfer gives up when these move (stop, cut).
  Http *http = nullptr;
  std::uint64_t abort_generation = 0;
};

struct Http::Pending : Http::Transfer {
  std::uint64_t id = 0;
  CURL *easy = nullptr;
  Request request;
  Callback cb;
  std::string url;
};

// Idle easy handles kept per client: each keeps its connection to the agent open.
constexpr std::size_t kMaxIdleHandles = 16;

Http::Http(std::string base, const Options &options)
    : base_(std::move(base)), options_(options) {}

Http::~Http() {
  stop();
  for (CURL *e : idle_easy_) curl_easy_cleanup(e);
  for (CURL *e : pool_) curl_easy_cleanup(e);
  if (multi_) curl_multi_cleanup(multi_);
  if (headers_) curl_slist_free_all(headers_);
}

void Http::start() {
  global_init();
  for (char c : options_.token)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      fail(Err::einval, "consul: the ACL token contains a control character");
  multi_ = curl_multi_init();
  if (!multi_) fail(Err::enomem, "consul: cannot create a libcurl multi handle");
  // HTTP/2 multiplexing where the agent offers it (HTTPS); otherwise one connection
  // per request in flight, reused from the shared cache.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  auto add_header = [&](const std::string &h) {
    curl_slist *next = curl_slist_append(headers_, h.c_str());
    if (!next) fail(Err::enomem, "consul: out of memory for HTTP headers");
    headers_ = next;
  };
  add_header("Content-Type: application/json");
  add_header("Expect:");  // no 100-continue round trip for large transactions
  if (!options_.token.empty()) add_header("X-Consul-Token: " + options_.token);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

void Http::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stopping_flag_ = true;
  ++abort_generation_;
  cut_changed_.notify_all();
  if (multi_) curl_multi_wakeup(multi_);
  if (on_http_thread()) return;  // the thread ends after the current callback
  std::lock_guard<std::mutex> lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

bool Http::stopped() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

std::uint64_t Http::submit(Request request, Callback cb) {
  auto p = std::make_unique<Pending>();
  p->request = std::move(request);
  p->cb = std::move(cb);
  p->url = base_ + p->request.target;
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !started_) return 0;
    id = p->id = next_id_++;
    incoming_.push_back(std::move(p));
  }
  curl_multi_wakeup(multi_);
  return id;
}

void Http::cancel(std::uint64_t id) {
  if (id == 0) return;
  std::unique_ptr<Pending> dropped;  // destroyed outside the lock
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it =
        std::find_if(incoming_.begin(), incoming_.end(),
                     [&](const std::unique_ptr<Pending> &p) { return p->id == id; });
    if (it != incoming_.end()) {
      dropped = std::move(*it);
      incoming_.erase(it);
      return;
    }
    if (stopping_) return;
    cancels_.push_back(id);
  }
  curl_multi_wakeup(multi_);
}

bool not_taken(const Response &r) {
  return r.curl == CURLE_COULDNT_CONNECT ||
         (r.status == 500 && r.body.find("No cluster leader") != std::string::npos);
}

Response Http::call(Request request) {
  if (!request.wait_for_agent) return call_once(std::move(request));
  const auto deadline = Clock::now() + std::chrono::milliseconds(request.timeout_ms);
  int pause_ms = 50;
  for (;;) {
    if (!request.past_cut) {
      // Cut by the test kit: wait for the connection as for a dead agent.
      std::unique_lock<std::mutex> lock(mutex_);
      cut_changed_.wait_until(lock, deadline, [&] { return !cut_ || stopping_; });
      if (cut_ && !stopping_) {
        Response refused;
        refused.curl = CURLE_COULDNT_CONNECT;
        refused.curl_error =
            "not connected within " + std::to_string(request.timeout_ms) +
            " ms: the connection is cut (offkv_testkit_suspend); not sent";
        refused.deadline = deadline;
        return refused;
      }
      request.timeout_ms = std::max(
          1, static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  deadline - Clock::now())
                                  .count()));
    }
    Response r = call_once(request);
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
            .count();
    if (!not_taken(r) || left <= pause_ms || stopped()) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    pause_ms = std::min(pause_ms * 2, 500);
    request.timeout_ms = static_cast<int>(left - pause_ms);
  }
}

nlohmann::json decode(const Response &r) {
  if (r.deadline == Clock::time_point{}) return nlohmann::json::parse(r.body);
  struct Late {};
  std::size_t seen = 0;
  try {
    // The parser calls back for every value: every 4096 of them, look at the clock.
    return nlohmann::json::parse(
        r.body, [&](int, nlohmann::json::parse_event_t, nlohmann::json &) {
          if (++seen % 4096 == 0 && Clock::now() > r.deadline) throw Late{};
          return true;
        });
  } catch (const Late &) {
    fail(Err::etimeout, "consul: an answer of " + std::to_string(r.body.size()) +
                            " bytes was not decoded within the call's time "
                            "(operation_timeout_ms)");
  }
}

Response Http::call_once(Request request) {
  if (on_http_thread())
    fail(Err::einternal, "consul: a synchronous request from the HTTP thread");
  return perform_here(std::move(request));
}

CURL *Http::take_easy() {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_.empty()) {
      CURL *e = pool_.back();
      pool_.pop_back();
      return e;
    }
  }
  return curl_easy_init();
}

void Http::give_back(CURL *easy) {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!stopping_flag_ && pool_.size() < kMaxIdleHandles) {
      pool_.push_back(easy);
      return;
    }
  }
  curl_easy_cleanup(easy);
}

int Http::on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto *t = static_cast<Transfer *>(user);
  return t->http->abort_generation_.load() != t->abort_generation ? 1 : 0;
}

// The synchronous path: the caller's thread performs the exchange itself on a pooled
// easy handle, whose connection stays open for the next call.
Response Http::perform_here(Request request) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(request.timeout_ms);
  Transfer t;
  t.http = this;
  t.abort_generation = abort_generation_.load();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !started_) {
      Response aborted;
      aborted.aborted = true;
      return aborted;
    }
    if (cut_ && !request.past_cut) {
      Response refused;
      refused.curl = CURLE_COULDNT_CONNECT;
      refused.curl_error = "connection refused: cut by offkv_testkit_suspend";
      refused.deadline = deadline;
      return refused;
    }
  }
  CURL *e = take_easy();
  if (!e) {
    Response r;
    r.curl = CURLE_OUT_OF_MEMORY;
    r.curl_error = "cannot create a libcurl handle";
    return r;
  }
  const std::string url = base_ + request.target;
  configure(e, request, url, &t);
  if (requests_) ++*requests_;
  if (!request.past_cut) {
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Http::on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  }
  CURLcode code = curl_easy_perform(e);
  Response r = std::move(t.response);
  r.curl = code;
  if (code == CURLE_ABORTED_BY_CALLBACK) {
    if (stopped()) {
      r.aborted = true;
    } else {  // cut by the test kit while in flight
      r.curl = CURLE_RECV_ERROR;
      std::snprintf(t.errbuf, sizeof t.errbuf, "%s",
                    "connection cut by offkv_testkit_suspend");
    }
  }
  if (r.curl != CURLE_OK)
    r.curl_error = t.errbuf[0] ? t.errbuf : curl_easy_strerror(r.curl);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  r.status = status;
  r.deadline = deadline;
  give_back(e);
  return r;
}

std::vector<Response> Http::call_all(std::vector<Request> requests) {
  if (requests.size() == 1) return {call(std::move(requests[0]))};
  const auto start = Clock::now();
  std::vector<Request> copies = requests;
  std::vector<Response> answers = call_all_once(std::move(requests));
  // Those the agent did not take are sent again, each within what is left of its time.
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!copies[i].wait_for_agent || !not_taken(answers[i])) continue;
    auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start)
            .count();
    if (spent >= copies[i].timeout_ms) continue;
    copies[i].timeout_ms -= static_cast<int>(spent);
    answers[i] = call(std::move(copies[i]));
  }
  return answers;
}

std::vector<Response> Http::call_all_once(std::vector<Request> requests) {
  if (on_http_thread())
    fail(Err::einternal, "consul: a synchronous request from the HTTP thread");
  if (requests.empty()) return {};
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t left = 0;
    std::vector<Response> responses;
  };
  auto state = std::make_shared<State>();
  state->responses.resize(requests.size());
  state->left = requests.size();
  int wait_ms = 0;
  std::vector<std::uint64_t> ids;
  std::vector<Clock::time_point> deadlines;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    wait_ms = std::max(wait_ms, requests[i].timeout_ms + kCallMarginMs);
    deadlines.push_back(Clock::now() + std::chrono::milliseconds(requests[i].timeout_ms));
    if (i == 0) {  // performed below, on this thread
      ids.push_back(0);
      continue;
    }
    if (requests_) ++*requests_;
    std::uint64_t id = submit(std::move(requests[i]), [state, i](Response &&r) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->responses[i] = std::move(r);
      --state->left;
      state->cv.notify_all();
    });
    if (id == 0) {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->responses[i].aborted = true;
      --state->left;
    }
    ids.push_back(id);
  }
  Response first = perform_here(std::move(requests[0]));
  std::unique_lock<std::mutex> lock(state->mutex);
  state->responses[0] = std::move(first);
  --state->left;
  if (!state->cv.wait_for(lock, std::chrono::milliseconds(wait_ms),
                          [&] { return state->left == 0; })) {
    lock.unlock();
    for (auto id : ids) cancel(id);
    lock.lock();
    for (auto &r : state->responses) {
      if (r.status == 0 && r.curl == CURLE_OK && !r.aborted) {
        r.curl = CURLE_OPERATION_TIMEDOUT;
        r.curl_error = "no answer within " + std::to_string(wait_ms) + " ms";
      }
    }
  }
  for (std::size_t i = 0; i < state->responses.size(); ++i)
    state->responses[i].deadline = deadlines[i];
  return state->responses;
}

std::uint64_t Http::after(int delay_ms, std::function<void()> fn) {
  std::uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || !started_) return 0;
    id = next_id_++;
    timers_.emplace(Clock::now() + std::chrono::milliseconds(std::max(0, delay_ms)),
                    std::make_pair(id, std::move(fn)));
  }
  curl_multi_wakeup(multi_);
  return id;
}

void Http::cancel_timer(std::uint64_t id) {
  if (id == 0) return;
  std::function<void()> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->second.first == id) {
      dropped = std::move(it->second.second);
      timers_.erase(it);
      return;
    }
  }
}

std::size_t Http::on_header(char *data, std::size_t size, std::size_t n, void *user) {
  auto *p = static_cast<Transfer *>(user);
  std::size_t len = size * n;
  static const char kIndex[] = "x-consul-index:";
  const std::size_t klen = sizeof kIndex - 1;
  if (len > klen) {
    bool match = true;
    for (std::size_t i = 0; i < klen && match; ++i)
      match = std::tolower(static_cast<unsigned char>(data[i])) == kIndex[i];
    if (match) {
      std::uint64_t v = 0;
      for (std::size_t i = klen; i < len; ++i) {
        char c = data[i];
        if (c >= '0' && c <= '9') v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      p->response.index = v;
    }
  }
  return len;
}

std::size_t Http::on_body(char *data, std::size_t size, std::size_t n, void *user) {
  auto *p = static_cast<Transfer *>(user);
  if (p->response.body.size() + size * n > kMaxAnswerBytes) {
    p->response.too_big = true;
    return 0;  // libcurl ends the transfer (CURLE_WRITE_ERROR)
  }
  try {
    p->response.body.append(data, size * n);
  } catch (...) {
    return 0;  // out of memory: libcurl fails the transfer
  }
  return size * n;
}

void Http::configure(CURL *e, const Request &rq, const std::string &url, Transfer *t) {
  curl_easy_reset(e);  // keeps the handle's live connection
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Http::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Http::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max(1, rq.timeout_ms)));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max(
                       1, std::min(options_.connect_timeout_ms, rq.timeout_ms))));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // No Accept-Encoding: offkv's answers are small or, when large (a listing), cheaper
  // to take as they are over the agent's link than to inflate.
  if (rq.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(rq.body.size()));
  } else {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  if (base_.compare(0, 8, "https://") == 0) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.tls_ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, options_.tls_ca_file.c_str());
    if (!options_.tls_cert_file.empty())
      curl_easy_setopt(e, CURLOPT_SSLCERT, options_.tls_cert_file.c_str());
    if (!options_.tls_key_file.empty())
      curl_easy_setopt(e, CURLOPT_SSLKEY, options_.tls_key_file.c_str());
  }
}

void Http::add_to_multi(std::unique_ptr<Pending> p) {
  CURL *e = nullptr;
  if (!idle_easy_.empty()) {
    e = idle_easy_.back();
    idle_easy_.pop_back();
  } else {
    e = curl_easy_init();
  }
  Pending *raw = p.get();
  if (!e) {
    raw->response.curl = CURLE_OUT_OF_MEMORY;
    raw->response.curl_error = "cannot create a libcurl handle";
    Callback cb = std::move(raw->cb);
    Response r = std::move(raw->response);
    p.reset();
    if (cb) cb(std::move(r));
    return;
  }
  raw->easy = e;
  const Request &rq = raw->request;
  configure(e, rq, raw->url, raw);
  curl_easy_setopt(e, CURLOPT_PRIVATE, raw);
  std::uint64_t id = raw->id;
  active_.emplace(id, std::move(p));
  bool refuse;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refuse = cut_ && !rq.past_cut;
  }
  if (refuse) {
    std::snprintf(raw->errbuf, sizeof raw->errbuf, "%s",
                  "connection refused: cut by offkv_testkit_suspend");
    finish(raw, CURLE_COULDNT_CONNECT);
    return;
  }
  CURLMcode mc = curl_multi_add_handle(multi_, e);
  if (mc != CURLM_OK) {
    std::snprintf(raw->errbuf, sizeof raw->errbuf, "%s", curl_multi_strerror(mc));
    finish(raw, CURLE_FAILED_INIT);
  }
}

void Http::finish(Pending *p, CURLcode code) {
  auto it = active_.find(p->id);
  if (it == active_.end()) return;
  std::unique_ptr<Pending> owned = std::move(it->second);
  active_.erase(it);
  Response r = std::move(owned->response);
  r.curl = code;
  if (code != CURLE_OK)
    r.curl_error = owned->errbuf[0] ? owned->errbuf : curl_easy_strerror(code);
  long status = 0;
  curl_easy_getinfo(owned->easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = status;
  curl_multi_remove_handle(multi_, owned->easy);
  if (idle_easy_.size() < kMaxIdleHandles)
    idle_easy_.push_back(owned->easy);
  else
    curl_easy_cleanup(owned->easy);
  owned->easy = nullptr;
  Callback cb = std::move(owned->cb);
  owned.reset();
  if (cb) {
    try {
      cb(std::move(r));
    } catch (...) {
      // A callback never takes the HTTP thread down.
    }
  }
}

// Long on purpose: the one curl multi loop that owns every easy handle (new requests,
// cancels, timers, perform, answers handed out); its steps are commented in order.
void Http::run() {
  thread_id_ = std::this_thread::get_id();
  for (;;) {
    std::deque<std::unique_ptr<Pending>> adds;
    std::vector<std::uint64_t> cancels;
    std::vector<std::function<void()>> due;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
      adds.swap(incoming_);
      cancels.swap(cancels_);
      auto now = Clock::now();
      while (!timers_.empty() && timers_.begin()->first <= now) {
        due.push_back(std::move(timers_.begin()->second.second));
        timers_.erase(timers_.begin());
      }
    }
    bool abort_active;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      abort_active = abort_active_;
      abort_active_ = false;
    }
    if (abort_active) {  // the test kit cut the connection
      std::vector<Pending *> cut;
      for (auto &entry : active_)
        if (!entry.second->request.past_cut) cut.push_back(entry.second.get());
      for (Pending *p : cut) {
        std::snprintf(p->errbuf, sizeof p->errbuf, "%s",
                      "connection cut by offkv_testkit_suspend");
        finish(p, CURLE_RECV_ERROR);
      }
    }
    for (auto &p : adds) add_to_multi(std::move(p));
    for (auto id : cancels) {
      auto it = active_.find(id);
      if (it == active_.end()) continue;
      curl_multi_remove_handle(multi_, it->second->easy);
      curl_easy_cleanup(it->second->easy);
      active_.erase(it);
    }
    for (auto &fn : due) {
      try {
        fn();
      } catch (...) {
      }
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Pending *p = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
                        reinterpret_cast<char **>(&p));
      if (p) finish(p, msg->data.result);
    }
    int wait_ms = kIdleWaitMs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ || !incoming_.empty() || !cancels_.empty()) {
        wait_ms = 0;
      } else if (!timers_.empty()) {
        auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                         timers_.begin()->first - Clock::now())
                         .count();
        wait_ms =
            static_cast<int>(std::max<long long>(0, std::min<long long>(until, wait_ms)));
      }
    }
    if (wait_ms > 0) curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
  }

  // Stopping: every request still here is answered "aborted"; timers are dropped.
  std::deque<std::unique_ptr<Pending>> rest;
  std::multimap<Clock::time_point, std::pair<std::uint64_t, std::function<void()>>>
      timers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    rest.swap(incoming_);
    timers.swap(timers_);
  }
  for (auto &entry : active_) {
    curl_multi_remove_handle(multi_, entry.second->easy);
    curl_easy_cleanup(entry.second->easy);
    entry.second->easy = nullptr;
    rest.push_back(std::move(entry.second));
  }
  active_.clear();
  for (auto &p : rest) {
    Response r;
    r.aborted = true;
    Callback cb = std::move(p->cb);
    p.reset();
    if (cb) {
      try {
        cb(std::move(r));
      } catch (...) {
      }
    }
  }
}

void Http::set_cut(bool cut) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cut_ == cut) return;
    cut_ = cut;
    if (cut) abort_active_ = true;
  }
  if (cut) ++abort_generation_;  // transfers on caller threads fail too
  cut_changed_.notify_all();
  if (multi_) curl_multi_wakeup(multi_);
}

bool Http::cut() {
  std::lock_guard<std::mutex> lock(mutex_);
  return cut_;
}

}  // namespace consul
}  // namespace offkv
