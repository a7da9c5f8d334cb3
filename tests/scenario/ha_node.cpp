#include "ha_node.hpp"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>

namespace ha {

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::string format_line(double t_ms, const std::string &role, const std::string &name,
                        const std::string &event, const std::string &payload) {
  char t[32];
  std::snprintf(t, sizeof t, "%.3f", t_ms);
  return std::string(t) + " " + role + " " + name + " " + event + " " +
         (payload.empty() ? "-" : payload) + "\n";
}

bool parse_line(const std::string &text, Line &out) {
  std::istringstream in(text);
  std::string t;
  if (!(in >> t >> out.role >> out.name >> out.event >> out.payload)) return false;
  try {
    out.t_ms = std::stod(t);
  } catch (...) {
    return false;
  }
  return true;
}

Node::Node(std::string url, std::string role, std::string name, Sink sink)
    : url_(std::move(url)),
      role_(std::move(role)),
      name_(std::move(name)),
      sink_(std::move(sink)) {
  payload_ = name_ + "@pid" + std::to_string(::getpid()) + ":5050";
}

Node::~Node() {
  sampling_ = false;
  if (sampler_.joinable()) sampler_.join();
  offkv_election_free(election_);
  offkv_detector_free(detector_);
  offkv_client_free(client_);
}

void Node::log(const std::string &event, const std::string &payload) {
  std::lock_guard<std::mutex> lock(log_mutex_);
  if (dead_) return;
  // The timestamp is taken under the lock, so one node's lines are in time order.
  sink_(format_line(now_ms(), role_, name_, event, payload));
}

void Node::on_event(const offkv_recipe_event *event, void *user) {
  auto *self = static_cast<Node *>(user);
  switch (event->type) {
    case OFFKV_EVENT_LEADER:
      self->log("LEADER", self->payload_);
      break;
    case OFFKV_EVENT_NOT_LEADER:
      self->log("NOT_LEADER", self->payload_);
      break;
    case OFFKV_EVENT_DETECTED:
      self->log("DETECTED", event->member ? std::string(event->member->payload.data,
                                                        event->member->payload.len)
                                          : std::string("-"));
      break;
    default:
      break;
  }
}

void Node::sample() {
  while (sampling_) {
    int leader = 0;
    if (offkv_election_is_leader(election_, &leader) == OFFKV_OK && leader)
      log("HOLDING", payload_);
    std::this_thread::sleep_for(std::chrono::milliseconds(kSampleMs));
  }
}

int Node::start() {
  int rc = offkv_open(url_.c_str(), nullptr, &client_);
  if (rc != OFFKV_OK) return rc;
  if (role_ == "contender") {
    rc = offkv_election_contend(client_, kGroup, payload_.data(), payload_.size(),
                                on_event, this, &election_);
    if (rc != OFFKV_OK) return rc;
    sampling_ = true;
    sampler_ = std::thread([this] { sample(); });
  } else {
    rc = offkv_detector_open(client_, kGroup, on_event, this, &detector_);
    if (rc != OFFKV_OK) return rc;
  }
  log("READY", payload_);
  return OFFKV_OK;
}

void Node::stop() {
  sampling_ = false;
  if (sampler_.joinable()) sampler_.join();
  if (election_) offkv_election_withdraw(election_);
  if (detector_) offkv_detector_close(detector_);
  offkv_close(client_);
  log("EXIT", "-");
}

double Node::crash() {
  double t;
  {
    std::lock_guard<std::mutex> lock(log_mutex_);
    dead_ = true;
    t = now_ms();
  }
  sampling_ = false;
  if (sampler_.joinable()) sampler_.join();
  offkv_close(client_);  // no withdraw: the session just ends
  return t;
}

}  // namespace ha
