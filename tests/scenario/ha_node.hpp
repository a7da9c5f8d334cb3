// One participant of the Mesos HA scenario, through the public C API only: a
// contender (offkv_election_*) or a detector (offkv_detector_*) on the group /masters
// of its URL. It writes timestamped lines
//
//     <t_ms> <role> <name> <EVENT> <payload>
//
// t_ms: CLOCK_MONOTONIC in milliseconds with microseconds (one clock for every process
// on the machine). EVENT: READY, LEADER, NOT_LEADER (contender callbacks), DETECTED
// (detector callbacks; payload "-" for "no leader"), HOLDING (a contender's sampled
// belief offkv_election_is_leader() == 1, every kSampleMs), EXIT. The driver adds
// KILLED lines for the participants it kills.
#pragma once

#include <offkv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ha {

constexpr int kSampleMs = 20;
constexpr const char *kGroup = "/masters";

double now_ms();
std::string format_line(double t_ms, const std::string &role, const std::string &name,
                        const std::string &event, const std::string &payload);

struct Line {
  double t_ms = 0;
  std::string role, name, event, payload;
};
// false if text is not a well-formed line.
bool parse_line(const std::string &text, Line &out);

class Node {
 public:
  using Sink = std::function<void(const std::string &line)>;

  // role: "contender" or "detector". Lines go to sink (one complete line per call).
  Node(std::string url, std::string role, std::string name, Sink sink);
  ~Node();
  Node(const Node &) = delete;
  Node &operator=(const Node &) = delete;

  // Opens the client and contends or detects; logs READY. An offkv code.
  int start();
  // Graceful: withdraw (NOT_LEADER first if leading) or close the detector, close the
  // client, log EXIT.
  void stop();
  // In-process stand-in for SIGKILL: from now on not one more line, then the client
  // is closed without withdrawing. Returns the instant from which nothing was logged.
  double crash();

  const std::string &payload() const { return payload_; }

 private:
  static void on_event(const offkv_recipe_event *event, void *user);
  void log(const std::string &event, const std::string &payload);
  void sample();

  const std::string url_, role_, name_;
  std::string payload_;
  Sink sink_;
  std::mutex log_mutex_;
  bool dead_ = false;  // guarded by log_mutex_
  std::atomic<bool> sampling_{false};
  std::thread sampler_;
  offkv_client *client_ = nullptr;
  offkv_election *election_ = nullptr;
  offkv_detector *detector_ = nullptr;
};

}  // namespace ha
