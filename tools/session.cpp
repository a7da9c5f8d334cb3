// The Context: the URL and options every session opens with, the named sessions
// (one offkv_client each) and the watches armed on them.
#include "cli.hpp"

namespace cli {

Context::~Context() {
  // Watches first: once offkv_watch_free returns, no callback touches them or the
  // queue any more. Then the sessions, in name order.
  for (auto &w : watches_) offkv_watch_free(w->handle);
  for (auto &entry : clients_) {
    if (stats_) print_stats(entry.first, entry.second);
    offkv_client_free(entry.second);
  }
}

void Context::print_stats(const std::string &name, offkv_client *client) const {
  offkv_stats stats = OFFKV_STATS_INIT;
  if (offkv_get_stats(client, &stats) != OFFKV_OK) return;
  std::fprintf(stderr, "stats of session %s:\n", name.c_str());
  for (size_t i = 0; i < stats.count; ++i)
    std::fprintf(stderr, "  %-20s %llu\n", stats.items[i]->name,
                 static_cast<unsigned long long>(stats.items[i]->value));
  offkv_stats_free(&stats);
}

offkv_client *Context::client() {
  offkv_client *&client = clients_[current_];
  if (client) return client;
  offkv_options options = OFFKV_OPTIONS_INIT;
  if (timeout_ms_ > 0) {
    options.connect_timeout_ms = timeout_ms_;
    options.operation_timeout_ms = timeout_ms_;
  }
  auto other = urls_.find(current_);
  const std::string &url = other == urls_.end() ? url_ : other->second;
  int rc = offkv_open(url.c_str(), &options, &client);
  if (rc != OFFKV_OK) {
    clients_.erase(current_);
    op_error("open " + url, rc);
  }
  return client;
}

void Context::use_session(const std::string &name, const std::string &url) {
  if (!url.empty()) {
    auto other = urls_.find(name);
    const std::string &now = other == urls_.end() ? url_ : other->second;
    if (url != now && (clients_.count(name) || other != urls_.end() || name == "main"))
      usage_error("session: '" + name + "' is on " + now + ", not " + url);
    if (url != url_) urls_[name] = url;
  }
  current_ = name;
}

offkv_client *Context::open_client(const std::string &name) const {
  auto it = clients_.find(name);
  return it == clients_.end() ? nullptr : it->second;
}

void Context::close_session() {
  auto it = clients_.find(current_);
  if (it == clients_.end()) return;
  // Closing from this (non-callback) thread returns once every callback it caused,
  // the ENDED events of this session's watches included, has run.
  int rc = offkv_close(it->second);
  offkv_client_free(it->second);
  clients_.erase(it);
  check(rc, "close " + current_);
}

Watch &Context::add_watch(const std::string &key, WatchMode mode) {
  auto w = std::make_unique<Watch>();
  w->session = current_;
  w->key = key;
  w->mode = mode;
  w->queue = &events_;
  arm(client(), *w);
  watches_.push_back(std::move(w));
  return *watches_.back();
}

}  // namespace cli
