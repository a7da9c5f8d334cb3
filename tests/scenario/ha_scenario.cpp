// The Mesos HA scenario (issue 6, SPEC §7): three contenders and two detectors on one
// backend; the leader is killed; within the session timeout plus a margin exactly one
// new leader is elected and both detectors report it; and at no instant do two
// participants hold leadership, checked from their own timestamped logs.
//
//   offkv_ha_scenario (--url URL | --url-file FILE) [--helper PATH]
//                     [--session-timeout-ms N] [--margin-ms N] [--workdir DIR]
//
// On mem:// the participants are threads of this process, each with its own client
// (one session each); the kill is a simulated crash: the participant stops logging
// and its client is closed without withdrawing. On every other backend they are
// processes (the --helper executable, offkv_ha_node) and the kill is SIGKILL, so the
// leader's session ends only when the server expires it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ha_node.hpp"

extern char **environ;

namespace {

struct Args {
  std::string url, url_file, helper, workdir = ".";
  int session_timeout_ms = 4000;
  int margin_ms = 5000;
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "offkv_ha_scenario: %s\nusage: offkv_ha_scenario (--url URL | --url-file "
               "FILE) [--helper PATH] [--session-timeout-ms N] [--margin-ms N] "
               "[--workdir DIR]\n",
               why);
  std::exit(2);
}

Args parse_args(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + k).c_str());
    std::string v = argv[++i];
    if (k == "--url")
      a.url = v;
    else if (k == "--url-file")
      a.url_file = v;
    else if (k == "--helper")
      a.helper = v;
    else if (k == "--workdir")
      a.workdir = v;
    else if (k == "--session-timeout-ms")
      a.session_timeout_ms = std::stoi(v);
    else if (k == "--margin-ms")
      a.margin_ms = std::stoi(v);
    else
      usage(("unknown option " + k).c_str());
  }
  if (a.url.empty() == a.url_file.empty()) usage("give exactly one of --url, --url-file");
  if (!a.url_file.empty()) {
    std::ifstream in(a.url_file);
    std::getline(in, a.url);
    while (!a.url.empty() && std::isspace(static_cast<unsigned char>(a.url.back())))
      a.url.pop_back();
    if (a.url.empty()) {
      std::fprintf(stderr, "offkv_ha_scenario: no URL in '%s' (did the server start?)\n",
                   a.url_file.c_str());
      std::exit(1);
    }
  }
  return a;
}

// scheme://authority[/prefix][?query] -> the same with /sub appended to the prefix and
// extra appended to the query.
std::string with_prefix(const std::string &url, const std::string &sub,
                        const std::string &extra_query) {
  std::string base = url, query;
  std::size_t q = base.find('?');
  if (q != std::string::npos) {
    query = base.substr(q + 1);
    base.resize(q);
  }
  if (!base.empty() && base.back() == '/') base.pop_back();
  if (!extra_query.empty()) query += (query.empty() ? "" : "&") + extra_query;
  return base + sub + (query.empty() ? "" : "?" + query);
}

std::string scheme_of(const std::string &url) { return url.substr(0, url.find("://")); }

// ---- The participants: threads (mem://) or processes ----

class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual bool start(const std::string &role, const std::string &name) = 0;
  // Returns the instant from which the participant can no longer act or log.
  virtual double kill(const std::string &name) = 0;
  virtual void stop(const std::string &name) = 0;
  virtual std::vector<std::string> raw_lines() = 0;

  // Every line so far (participants' and the driver's), in time order.
  std::vector<ha::Line> lines() {
    std::vector<ha::Line> out;
    for (const auto &text : raw_lines()) {
      ha::Line l;
      if (ha::parse_line(text, l)) out.push_back(l);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      out.insert(out.end(), driver_.begin(), driver_.end());
    }
    std::stable_sort(out.begin(), out.end(), [](const ha::Line &a, const ha::Line &b) {
      return a.t_ms < b.t_ms;
    });
    return out;
  }

  void driver_line(double t, const std::string &event, const std::string &name) {
    std::lock_guard<std::mutex> lock(mutex_);
    driver_.push_back({t, "driver", name, event, "-"});
  }

 private:
  std::mutex mutex_;
  std::vector<ha::Line> driver_;
};

class ThreadCluster : public Cluster {
 public:
  explicit ThreadCluster(std::string url) : url_(std::move(url)) {}
  ~ThreadCluster() override {
    for (auto &entry : nodes_) entry.second.reset();
  }

  bool start(const std::string &role, const std::string &name) override {
    auto node =
        std::make_unique<ha::Node>(url_, role, name, [this](const std::string &l) {
          std::lock_guard<std::mutex> lock(mutex_);
          lines_.push_back(l);
        });
    int rc = node->start();
    if (rc != OFFKV_OK) {
      std::fprintf(stderr, "%s: cannot start: %s %s\n", name.c_str(),
                   offkv_error_name(rc), offkv_last_error());
      return false;
    }
    nodes_[name] = std::move(node);
    return true;
  }
  double kill(const std::string &name) override {
    stopped_.insert(name);
    return nodes_.at(name)->crash();
  }
  void stop(const std::string &name) override {
    if (stopped_.insert(name).second) nodes_.at(name)->stop();
  }
  std::vector<std::string> raw_lines() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  std::string url_;
  std::map<std::string, std::unique_ptr<ha::Node>> nodes_;
  std::set<std::string> stopped_;
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class ProcessCluster : public Cluster {
 public:
  ProcessCluster(std::string url, std::string helper, std::string dir)
      : url_(std::move(url)), helper_(std::move(helper)), dir_(std::move(dir)) {}
  ~ProcessCluster() override {
    for (auto &entry : pids_) {
      if (entry.second > 0) {
        ::kill(entry.second, SIGKILL);
        waitpid(entry.second, nullptr, 0);
      }
    }
  }

  bool start(const std::string &role, const std::string &name) override {
    std::string log = dir_ + "/" + name + ".log", err = dir_ + "/" + name + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = {helper_, url_, role, name};
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, helper_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      std::fprintf(stderr, "cannot start %s: %s\n", helper_.c_str(), std::strerror(rc));
      return false;
    }
    pids_[name] = pid;
    logs_.push_back(log);
    return true;
  }

  double kill(const std::string &name) override {
    pid_t pid = pids_.at(name);
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pids_[name] = 0;
    return ha::now_ms();  // dead for sure from here on
  }

  void stop(const std::string &name) override {
    pid_t pid = pids_.at(name);
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pids_[name] = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      std::fprintf(stderr, "%s did not exit cleanly (status %d)\n", name.c_str(), status);
  }

  // Exited before being stopped (a failed start)?
  std::string dead_early() {
    for (auto &entry : pids_) {
      if (entry.second <= 0) continue;
      int status = 0;
      if (waitpid(entry.second, &status, WNOHANG) == entry.second) {
        entry.second = 0;
        return entry.first;
      }
    }
    return "";
  }

  std::vector<std::string> raw_lines() override {
    std::vector<std::string> out;
    for (const auto &path : logs_) {
      std::ifstream in(path);
      // Only complete lines: a line being written has no newline yet.
      std::string all((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
      std::size_t start = 0, nl;
      while ((nl = all.find('\n', start)) != std::string::npos) {
        out.push_back(all.substr(start, nl - start));
        start = nl + 1;
      }
    }
    return out;
  }

 private:
  std::string url_, helper_, dir_;
  std::map<std::string, pid_t> pids_;
  std::vector<std::string> logs_;
};

// ---- Reading the logs ----

const std::vector<std::string> kContenders = {"c1", "c2", "c3"};
const std::vector<std::string> kDetectors = {"d1", "d2"};

// Who leads now, by each contender's own last word.
std::vector<std::string> leaders(const std::vector<ha::Line> &lines) {
  std::map<std::string, bool> leading;
  for (const auto &l : lines) {
    if (l.event == "LEADER") leading[l.name] = true;
    if (l.event == "NOT_LEADER" || l.event == "KILLED" || l.event == "EXIT")
      leading[l.name] = false;
  }
  std::vector<std::string> out;
  for (auto &entry : leading)
    if (entry.second) out.push_back(entry.first);
  return out;
}

std::string detected_by(const std::vector<ha::Line> &lines, const std::string &detector) {
  std::string last;
  for (const auto &l : lines)
    if (l.name == detector && l.event == "DETECTED") last = l.payload;
  return last;
}

std::string payload_of(const std::vector<ha::Line> &lines, const std::string &name) {
  for (const auto &l : lines)
    if (l.name == name && l.event == "READY") return l.payload;
  return "";
}

bool wait_until(Cluster &cluster, double deadline_ms,
                const std::function<bool(const std::vector<ha::Line> &)> &cond) {
  for (;;) {
    if (cond(cluster.lines())) return true;
    if (ha::now_ms() > deadline_ms) return false;
    if (auto *p = dynamic_cast<ProcessCluster *>(&cluster)) {
      std::string dead = p->dead_early();
      if (!dead.empty()) {
        std::fprintf(stderr, "participant %s exited on its own (see its .err file)\n",
                     dead.c_str());
        return false;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

struct Interval {
  std::string name;
  double start, end;
};

std::vector<Interval> intervals(const std::vector<ha::Line> &lines, double end_of_run) {
  std::vector<Interval> out;
  std::map<std::string, double> open;
  for (const auto &l : lines) {
    if (l.role != "contender" && l.role != "driver") continue;
    if (l.event == "LEADER") {
      if (!open.count(l.name)) open[l.name] = l.t_ms;
    } else if (l.event == "NOT_LEADER" || l.event == "KILLED" || l.event == "EXIT") {
      auto it = open.find(l.name);
      if (it != open.end()) {
        out.push_back({l.name, it->second, l.t_ms});
        open.erase(it);
      }
    }
  }
  for (auto &entry : open) out.push_back({entry.first, entry.second, end_of_run});
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  Args args = parse_args(argc, argv);
  const std::string scheme = scheme_of(args.url);
  const bool threads = scheme == "mem";
  if (!threads && args.helper.empty()) usage("--helper is needed for a server backend");

  std::random_device rd;
  char unique[64];
  std::snprintf(unique, sizeof unique, "/offkv-scenario-%d-%08x",
                static_cast<int>(getpid()), static_cast<unsigned>(rd()));
  const std::string url = with_prefix(
      args.url, unique, "session_timeout_ms=" + std::to_string(args.session_timeout_ms));
  std::string dir = args.workdir + unique;
  mkdir(args.workdir.c_str(), 0755);
  if (!threads && mkdir(dir.c_str(), 0755) != 0) {
    std::perror(dir.c_str());
    return 1;
  }
  std::printf("scenario: backend %s, %s, session timeout %d ms, margin %d ms\n",
              scheme.c_str(),
              threads ? "threads (simulated crash)" : "processes (SIGKILL)",
              args.session_timeout_ms, args.margin_ms);
  std::printf("scenario: URL %s\n", url.c_str());
  if (!threads) std::printf("scenario: logs in %s\n", dir.c_str());
  std::fflush(stdout);

  std::unique_ptr<Cluster> cluster;
  if (threads) {
    cluster = std::make_unique<ThreadCluster>(url);
  } else {
    cluster = std::make_unique<ProcessCluster>(url, args.helper, dir);
  }
  std::vector<std::string> failures;
  auto fail = [&](const std::string &why) {
    failures.push_back(why);
    std::printf("FAIL: %s\n", why.c_str());
  };

  for (const auto &d : kDetectors)
    if (!cluster->start("detector", d)) return 1;
  for (const auto &c : kContenders)
    if (!cluster->start("contender", c)) return 1;

  // 1. One leader, seen by both detectors.
  std::string leader, leader_payload;
  bool settled = wait_until(*cluster, ha::now_ms() + 60000, [&](const auto &lines) {
    auto now = leaders(lines);
    if (now.size() != 1) return false;
    std::string p = payload_of(lines, now[0]);
    for (const auto &d : kDetectors)
      if (detected_by(lines, d) != p) return false;
    leader = now[0];
    leader_payload = p;
    return true;
  });
  if (!settled) {
    fail("no single leader seen by both detectors within 60 s");
  } else {
    std::printf("leader: %s (%s), seen by d1 and d2\n", leader.c_str(),
                leader_payload.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // samples accrue

    // 2. Kill it.
    const double t_kill_sent = ha::now_ms();
    const double t_dead = cluster->kill(leader);
    cluster->driver_line(t_dead, "KILLED", leader);
    const double limit = args.session_timeout_ms + args.margin_ms;
    std::printf("killed %s at t=%.3f\n", leader.c_str(), t_dead);

    // 3. Exactly one new leader, reported by both detectors, in time.
    std::string next, next_payload;
    bool elected = wait_until(*cluster, t_kill_sent + limit, [&](const auto &lines) {
      auto now = leaders(lines);
      if (now.size() != 1 || now[0] == leader) return false;
      std::string p = payload_of(lines, now[0]);
      for (const auto &d : kDetectors)
        if (detected_by(lines, d) != p) return false;
      next = now[0];
      next_payload = p;
      return true;
    });
    if (!elected) {
      fail("no new leader reported by both detectors within session timeout + margin = " +
           std::to_string(static_cast<int>(limit)) + " ms");
    } else {
      auto lines = cluster->lines();
      double t_leader = 0;
      std::map<std::string, double> t_detected;
      for (const auto &l : lines) {
        if (l.t_ms < t_kill_sent) continue;
        if (l.name == next && l.event == "LEADER" && !t_leader) t_leader = l.t_ms;
        if (l.event == "DETECTED" && l.payload == next_payload &&
            !t_detected.count(l.name))
          t_detected[l.name] = l.t_ms;
      }
      std::printf(
          "new leader: %s after %.0f ms (limit %.0f ms = session timeout %d + "
          "margin %d); detectors reported it after d1 %.0f ms, d2 %.0f ms\n",
          next.c_str(), t_leader - t_kill_sent, limit, args.session_timeout_ms,
          args.margin_ms, t_detected["d1"] - t_kill_sent, t_detected["d2"] - t_kill_sent);
    }

    // 4. It stays the only one.
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    auto lines = cluster->lines();
    std::set<std::string> elected_after;
    for (const auto &l : lines)
      if (l.t_ms > t_kill_sent && l.event == "LEADER") elected_after.insert(l.name);
    if (elected && elected_after.size() != 1)
      fail("after the kill " + std::to_string(elected_after.size()) +
           " contenders became leader, expected exactly 1");
    auto now = leaders(lines);
    if (elected && (now.size() != 1 || now[0] != next))
      fail("the new leader did not stay the only leader");

    // 5. Graceful stop: followers, then the leader, then the detectors.
    for (const auto &c : kContenders)
      if (c != leader && c != next) cluster->stop(c);
    if (!next.empty()) cluster->stop(next);
  }
  for (const auto &c : kContenders)
    if (c != leader) cluster->stop(c);  // (no-op for those already stopped)
  for (const auto &d : kDetectors) cluster->stop(d);

  // 6. Leadership never overlapped: intervals and samples.
  const double end_of_run = ha::now_ms();
  auto lines = cluster->lines();
  auto spans = intervals(lines, end_of_run);
  int overlaps = 0;
  for (std::size_t i = 0; i < spans.size(); ++i)
    for (std::size_t j = i + 1; j < spans.size(); ++j) {
      const auto &a = spans[i], &b = spans[j];
      if (a.name != b.name && a.start < b.end && b.start < a.end) {
        ++overlaps;
        fail("leadership of " + a.name + " [" + std::to_string(a.start) + ", " +
             std::to_string(a.end) + ") overlaps " + b.name + " [" +
             std::to_string(b.start) + ", " + std::to_string(b.end) + ")");
      }
    }
  int samples = 0, conflicts = 0;
  for (const auto &l : lines) {
    if (l.event != "HOLDING") continue;
    ++samples;
    for (const auto &s : spans)
      if (s.name != l.name && s.start < l.t_ms && l.t_ms < s.end) {
        ++conflicts;
        fail(l.name + " held leadership at t=" + std::to_string(l.t_ms) +
             " inside the leadership of " + s.name);
      }
  }
  if (samples == 0) fail("no HOLDING samples were logged");
  std::printf(
      "leadership intervals: %zu, overlapping pairs: %d; HOLDING samples: %d, "
      "inside another's leadership: %d\n",
      spans.size(), overlaps, samples, conflicts);

  // The whole log, for the record.
  std::ofstream all((threads ? args.workdir + unique + ".log" : dir + "/all.log"));
  for (const auto &l : lines)
    all << ha::format_line(l.t_ms, l.role, l.name, l.event, l.payload);

  // Remove what the run left on the server.
  offkv_client *cleaner = nullptr;
  if (offkv_open(with_prefix(args.url, "", "").c_str(), nullptr, &cleaner) == OFFKV_OK) {
    offkv_erase(cleaner, unique, 0);
    offkv_client_free(cleaner);
  }
  cluster.reset();

  if (!failures.empty()) {
    std::printf("scenario FAILED (%zu problem(s))\n", failures.size());
    return 1;
  }
  std::printf("scenario PASSED\n");
  return 0;
}
