#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "conformance.hpp"

namespace conf {

std::string code_name(int code) { return offkv_error_name(code); }

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// ---- The backend under test ----

namespace {

std::string trim(std::string s) {
  auto space = [](unsigned char ch) { return std::isspace(ch) != 0; };
  while (!s.empty() && space(s.back())) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && space(s[start])) ++start;
  return s.substr(start);
}

// The URL, or an explanation of why there is none.
struct UrlSource {
  std::optional<ServerUrl> url;
  std::string problem;
};

UrlSource find_url() {
  UrlSource out;
  std::string raw;
  const char *direct = std::getenv("OFFKV_TEST_URL");
  const char *file = std::getenv("OFFKV_TEST_URL_FILE");
  if (direct && *direct) {
    raw = trim(direct);
  } else if (file && *file) {
    std::ifstream in(file);
    if (!in) {
      out.problem = std::string("OFFKV_TEST_URL_FILE names '") + file +
                    "', which cannot be read (did the server fixture start?)";
      return out;
    }
    std::getline(in, raw);
    raw = trim(raw);
    if (raw.empty()) {
      out.problem =
          std::string("the first line of OFFKV_TEST_URL_FILE '") + file + "' is empty";
      return out;
    }
  } else {
    out.problem =
        "no backend to test: set OFFKV_TEST_URL (e.g. mem://conformance) or "
        "OFFKV_TEST_URL_FILE (a file whose first line is the URL). The conformance "
        "suite never skips.";
    return out;
  }

  ServerUrl u;
  u.url = raw;
  std::size_t sep = raw.find("://");
  if (sep == std::string::npos || sep == 0) {
    out.problem = "backend URL '" + raw + "' has no scheme://";
    return out;
  }
  u.scheme = raw.substr(0, sep);
  std::string rest = raw.substr(sep + 3);
  std::size_t q = rest.find('?');
  if (q != std::string::npos) {
    u.query = rest.substr(q + 1);
    rest.resize(q);
  }
  std::size_t slash = rest.find('/');
  u.authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  if (u.prefix == "/") u.prefix.clear();
  out.url = u;
  return out;
}

}  // namespace

const ServerUrl &server() {
  static const UrlSource source = find_url();
  if (!source.url) FAIL(source.problem);
  return *source.url;
}

std::string url_at(const std::string &prefix, const std::string &extra_query) {
  const ServerUrl &s = server();
  std::string query = s.query;
  if (!extra_query.empty()) query += (query.empty() ? "" : "&") + extra_query;
  return s.scheme + "://" + s.authority + prefix + (query.empty() ? "" : "?" + query);
}

std::string unique_name(const std::string &stem) {
  static const std::uint32_t salt = [] {
    std::random_device rd;
    return static_cast<std::uint32_t>(rd()) ^
           static_cast<std::uint32_t>(
               std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  static std::atomic<unsigned> counter{0};
  std::ostringstream out;
  out << stem << '-' << ::getpid() << '-' << std::hex << salt << std::dec << '-'
      << ++counter;
  return out.str();
}

// ---- Env ----

Env::Env() {
  root_ = server().prefix + "/" + unique_name("offkv-conformance");
  main_ = open_url(url_at(root_));
}

Env::~Env() {
  for (offkv_client *c : clients_) offkv_client_free(c);
  // Remove what the case left: everything under the root (as a client of the root,
  // which works whether or not the backend keeps the root itself as a node), then the
  // root itself (as a client of the server's root). Best effort: never throws.
  offkv_client *cleaner = nullptr;
  if (offkv_open(url_at(root_).c_str(), nullptr, &cleaner) == OFFKV_OK) {
    offkv_strings top{nullptr, 0};
    if (offkv_children(cleaner, "/", &top) == OFFKV_OK) {
      for (std::size_t i = 0; i < top.count; ++i) offkv_erase(cleaner, top.items[i], 0);
      offkv_strings_free(&top);
    }
    offkv_client_free(cleaner);
  }
  cleaner = nullptr;
  if (offkv_open(url_at("").c_str(), nullptr, &cleaner) == OFFKV_OK) {
    offkv_erase(cleaner, root_.c_str(), 0);
    offkv_client_free(cleaner);
  }
}

std::string Env::url(const std::string &extra_query) const {
  return url_at(root_, extra_query);
}

offkv_client *Env::open(const offkv_options *options) { return open_url(url(), options); }

offkv_client *Env::open_at(const std::string &sub, const offkv_options *options) {
  return open_url(url_at(root_ + sub), options);
}

offkv_client *Env::open_url(const std::string &url, const offkv_options *options) {
  offkv_client *client = nullptr;
  INFO("opening " << url);
  REQUIRE_OK(offkv_open(url.c_str(), options, &client));
  REQUIRE(client != nullptr);
  clients_.push_back(client);
  return client;
}

Recorder &Env::recorder() {
  recorders_.push_back(std::make_unique<Recorder>());
  return *recorders_.back();
}

// ---- Reading and writing ----

std::string str(const offkv_buf &buf) {
  return buf.data ? std::string(buf.data, buf.len) : std::string();
}

std::optional<NodeState> read(offkv_client *c, const std::string &key) {
  offkv_buf buf{nullptr, 0};
  std::int64_t version = 0;
  int rc = offkv_get(c, key.c_str(), &buf, &version);
  if (rc == OFFKV_ENOENT) return std::nullopt;
  INFO("get '" << key << "' -> " << code_name(rc) << " \"" << offkv_last_error() << "\"");
  REQUIRE(code_name(rc) == code_name(OFFKV_OK));
  NodeState node{str(buf), version};
  offkv_buf_free(&buf);
  return node;
}

std::int64_t version_of(offkv_client *c, const std::string &key) {
  std::int64_t version = -1;
  INFO("exists '" << key << "'");
  REQUIRE_OK(offkv_exists(c, key.c_str(), &version));
  return version;
}

std::string value_of(offkv_client *c, const std::string &key) {
  auto node = read(c, key);
  INFO("get '" << key << "'");
  REQUIRE(node.has_value());
  return node->value;
}

std::map<std::string, std::uint64_t> counters_of(offkv_client *c) {
  offkv_stats stats = OFFKV_STATS_INIT;
  REQUIRE_OK(offkv_get_stats(c, &stats));
  std::map<std::string, std::uint64_t> out;
  for (size_t i = 0; i < stats.count; ++i)
    out[stats.items[i]->name] = stats.items[i]->value;
  offkv_stats_free(&stats);
  CHECK(stats.items == nullptr);
  return out;
}

std::vector<std::string> children(offkv_client *c, const std::string &key) {
  offkv_strings list{nullptr, 0};
  INFO("children '" << key << "'");
  REQUIRE_OK(offkv_children(c, key.c_str(), &list));
  std::vector<std::string> out(list.items, list.items + list.count);
  offkv_strings_free(&list);
  return out;
}

std::string create(offkv_client *c, const std::string &key, const std::string &value,
                   int flags) {
  char *actual = nullptr;
  INFO("create '" << key << "' flags " << flags);
  REQUIRE_OK(offkv_create(c, key.c_str(), value.data(), value.size(), flags, &actual));
  REQUIRE(actual != nullptr);
  std::string out = actual;
  offkv_string_free(actual);
  return out;
}

std::int64_t set(offkv_client *c, const std::string &key, const std::string &value) {
  std::int64_t version = 0;
  INFO("set '" << key << "'");
  REQUIRE_OK(offkv_set(c, key.c_str(), value.data(), value.size(), &version));
  return version;
}

std::vector<std::string> bytewise_sorted(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end(), [](const std::string &a, const std::string &b) {
    int r = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
    return r != 0 ? r < 0 : a.size() < b.size();
  });
  return keys;
}

bool is_sequential_of(const std::string &key, const std::string &base) {
  if (key.size() != base.size() + 10 || key.compare(0, base.size(), base) != 0)
    return false;
  return std::all_of(key.begin() + base.size(), key.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

long long sequence_number(const std::string &key) {
  REQUIRE(key.size() >= 10);
  return std::stoll(key.substr(key.size() - 10));
}

std::string all_bytes(std::size_t repeat) {
  std::string out;
  for (std::size_t r = 0; r < repeat; ++r)
    for (int b = 0; b < 256; ++b) out += static_cast<char>(b);
  return out;
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string out(n, '\0');
  std::uint32_t x = 2463534242u ^ seed;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<char>(x & 0xff);
  }
  return out;
}

// ---- Events ----

Ev copy_event(const offkv_event &e) {
  Ev out;
  out.type = e.type;
  out.has_key = e.key != nullptr;
  if (e.key) out.key = e.key;
  out.version = e.version;
  out.session_state = e.session_state;
  out.error = e.error;
  if (e.message) out.message = e.message;
  out.thread = std::this_thread::get_id();
  return out;
}

std::string type_name(int t) {
  switch (t) {
    case OFFKV_EVENT_CREATED:
      return "CREATED";
    case OFFKV_EVENT_DELETED:
      return "DELETED";
    case OFFKV_EVENT_CHANGED:
      return "CHANGED";
    case OFFKV_EVENT_CHILDREN:
      return "CHILDREN";
    case OFFKV_EVENT_ENDED:
      return "ENDED";
    case OFFKV_EVENT_SESSION:
      return "SESSION";
  }
  return "type " + std::to_string(t);
}

void Recorder::callback(const offkv_event *event, void *user) {
  auto *self = static_cast<Recorder *>(user);
  Ev ev = copy_event(*event);
  std::function<void(const Ev &)> hook;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->events_.push_back(ev);
    hook = self->hook_;
  }
  self->cv_.notify_all();
  if (hook) hook(ev);
}

void Recorder::on_event(std::function<void(const Ev &)> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  hook_ = std::move(hook);
}

std::optional<Ev> Recorder::next(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return events_.size() > taken_; }))
    return std::nullopt;
  return events_[taken_++];
}

bool Recorder::wait_count(std::size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return events_.size() >= n; });
}

bool Recorder::quiet(int ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t before = events_.size();
  return !cv_.wait_for(lock, std::chrono::milliseconds(ms),
                       [&] { return events_.size() > before; });
}

std::size_t Recorder::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_.size();
}

std::vector<Ev> Recorder::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

Ev wait_event(offkv_watch *watch, int timeout_ms) {
  REQUIRE(watch != nullptr);
  offkv_event *event = nullptr;
  REQUIRE_OK(offkv_watch_wait(watch, timeout_ms, &event));
  REQUIRE(event != nullptr);
  Ev out = copy_event(*event);
  offkv_event_free(event);
  return out;
}

int wait_code(offkv_watch *watch, int timeout_ms) {
  offkv_event *event = nullptr;
  int rc = offkv_watch_wait(watch, timeout_ms, &event);
  offkv_event_free(event);
  return rc;
}

// ---- Transactions ----

Txn::Txn() { REQUIRE_OK(offkv_txn_new(&txn_)); }
Txn::~Txn() { offkv_txn_free(txn_); }

Txn &Txn::check(const std::string &key, std::int64_t version) {
  REQUIRE_OK(offkv_txn_check(txn_, key.c_str(), version));
  return *this;
}
Txn &Txn::create(const std::string &key, const std::string &value, int flags) {
  REQUIRE_OK(offkv_txn_create(txn_, key.c_str(), value.data(), value.size(), flags));
  return *this;
}
Txn &Txn::set(const std::string &key, const std::string &value) {
  REQUIRE_OK(offkv_txn_set(txn_, key.c_str(), value.data(), value.size()));
  return *this;
}
Txn &Txn::erase(const std::string &key, std::int64_t expected_version) {
  REQUIRE_OK(offkv_txn_erase(txn_, key.c_str(), expected_version));
  return *this;
}

Commit commit(offkv_client *c, const Txn &txn) {
  Commit out;
  offkv_txn_result result = OFFKV_TXN_RESULT_INIT;
  out.rc = offkv_commit(c, txn.get(), &result);
  out.error = offkv_last_error();
  for (std::size_t i = 0; i < result.count; ++i)
    out.ops.push_back(
        {result.ops[i]->version, result.ops[i]->key ? result.ops[i]->key : ""});
  out.failed_index = result.failed_index;
  out.failed_code = result.failed_code;
  offkv_txn_result_free(&result);
  return out;
}

// ---- Sessions ----

offkv_options session_options(Recorder &recorder) {
  offkv_options options = OFFKV_OPTIONS_INIT;
  options.session_callback = &Recorder::callback;
  options.session_user = &recorder;
  return options;
}

Background::Background(std::function<void(const std::atomic<bool> &stop)> fn)
    : thread_([this, fn = std::move(fn)] { fn(stop_); }) {}

Background::~Background() { join(); }

void Background::join() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool eventually(const std::function<bool()> &cond, int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace conf
