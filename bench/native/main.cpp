// offkv_bench: offkv (through capi/offkv.h) against each backend's native client on the
// same server, in interleaved rounds; prints ratio tables (bench/README.md).
//
//   offkv_bench [--zk zk://H:P] [--etcd etcd://H:P] [--consul consul://H:P] [--quick]
//               [--markdown FILE] [--versions TEXT]
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "bench.hpp"

namespace bench {
namespace {

// ---- results: one value per measured round ----

struct Results {
  // backend|section|row|subject|metric -> one value per round
  std::map<std::string, std::vector<double>> series;
  bool recording = false;  // off during the warm-up round
  void add(const std::string &key, double value) {
    if (recording) series[key].push_back(value);
  }
  const std::vector<double> *find(const std::string &key) const {
    auto it = series.find(key);
    return it == series.end() || it->second.empty() ? nullptr : &it->second;
  }
};

std::string key_of(const std::string &backend, const std::string &section,
                   const std::string &row, const std::string &subject,
                   const std::string &metric) {
  return backend + "|" + section + "|" + row + "|" + subject + "|" + metric;
}

std::string fmt(double v) {
  char buf[64];
  if (v >= 100000)
    std::snprintf(buf, sizeof buf, "%.0fk", v / 1000);
  else if (v >= 100)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (v >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// "median [min–max]" of a subject's round values.
std::string value_cell(const std::vector<double> *v) {
  if (!v) return "-";
  auto [lo, hi] = std::minmax_element(v->begin(), v->end());
  if (v->size() == 1) return fmt(v->front());
  return fmt(median(*v)) + " [" + fmt(*lo) + "-" + fmt(*hi) + "]";
}

// Ratio of the medians, and the spread of the per-round ratios.
struct Ratio {
  double value = 0;
  double lo = 0, hi = 0;
  bool ok = false;
};
Ratio ratio_of(const std::vector<double> *a, const std::vector<double> *b) {
  Ratio r;
  if (!a || !b || a->size() != b->size() || median(*b) <= 0) return r;
  std::vector<double> per_round;
  for (std::size_t i = 0; i < a->size(); ++i)
    if ((*b)[i] > 0) per_round.push_back((*a)[i] / (*b)[i]);
  if (per_round.empty()) return r;
  r.value = median(*a) / median(*b);
  r.lo = *std::min_element(per_round.begin(), per_round.end());
  r.hi = *std::max_element(per_round.begin(), per_round.end());
  r.ok = true;
  return r;
}
std::string ratio_cell(const Ratio &r) {
  if (!r.ok) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2fx (%.2f-%.2f)", r.value, r.lo, r.hi);
  return buf;
}

// ---- tables: printed fixed-width and kept as Markdown ----

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

void print_fixed(std::ostream &out, const Table &t) {
  std::vector<std::size_t> width(t.header.size(), 0);
  auto measure = [&](const std::vector<std::string> &row) {
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(t.header);
  for (const auto &row : t.rows) measure(row);
  auto line = [&](const std::vector<std::string> &row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cell = row[i];
      cell.resize(width[i], ' ');
      out << (i ? "  " : "  ") << cell;
    }
    out << "\n";
  };
  out << "\n" << t.title << "\n";
  line(t.header);
  std::vector<std::string> rule;
  for (auto w : width) rule.push_back(std::string(w, '-'));
  line(rule);
  for (const auto &row : t.rows) line(row);
}

void print_markdown(std::ostream &out, const Table &t) {
  out << "\n#### " << t.title << "\n\n|";
  for (const auto &h : t.header) out << " " << h << " |";
  out << "\n|";
  for (std::size_t i = 0; i < t.header.size(); ++i) out << (i ? " ---: |" : " --- |");
  out << "\n";
  for (const auto &row : t.rows) {
    out << "|";
    for (const auto &cell : row) out << " " << cell << " |";
    out << "\n";
  }
}

// ---- one backend: offkv and its native client(s) ----

struct Target {
  std::string what;
  double measured;
  double limit;
  bool higher_is_better;
};

class BackendBench {
 public:
  BackendBench(std::string name, const Config &config, std::string offkv_url,
               std::vector<std::unique_ptr<Subject>> natives)
      : name_(std::move(name)), config_(config), value_(config.value_size, 'v') {
    subjects_.push_back(make_offkv(offkv_url));
    roots_.push_back("/okv");
    for (auto &n : natives) {
      subjects_.push_back(std::move(n));
      roots_.push_back("/nat");  // a second native client reads the first one's tree
    }
  }

  void run(Results &results) {
    results_ = &results;
    set_up();
    for (int round = 0; round <= config_.rounds; ++round) {
      results.recording = round > 0;
      std::cerr << name_ << ": round " << round << "/" << config_.rounds
                << (round == 0 ? " (warm-up, discarded)" : "") << std::endl;
      sync_latency();
      throughput();
      listings();
      transactions();
      watches();
    }
    results.recording = false;
    for (std::size_t s = 0; s < subjects_.size(); s += 1)
      if (writes(s)) subjects_[s]->erase_tree(roots_[s]);
  }

  std::vector<Table> tables(std::vector<Target> &targets) const;

 private:
  static constexpr int kKeys = 64;  // distinct keys: no two requests in flight share one

  // The first native client writes; a second one (ZK's plain reads) only reads.
  bool writes(std::size_t s) const { return s < 2; }
  std::string key(std::size_t s, int i) const {
    return roots_[s] + "/b/k" + std::to_string(i % kKeys);
  }
  std::string listing_dir(std::size_t s, int count) const {
    return roots_[s] + "/l" + std::to_string(count);
  }

  void set_up() {
    std::cerr << name_ << ": setting up keys and " << config_.child_counts.back()
              << " children per client" << std::endl;
    for (std::size_t s = 0; s < subjects_.size(); ++s) {
      if (!writes(s)) continue;
      Subject &sub = *subjects_[s];
      sub.erase_tree(roots_[s]);
      sub.ensure_dir(roots_[s] + "/b");
      sub.async_run(
          Op::Create, 32, kKeys, [&](int i) { return key(s, i); }, value_);
      sub.sync_op(Op::Create, roots_[s] + "/b/w", value_);
      // Only cas writes this one, so the version each client keeps stays current.
      sub.sync_op(Op::Create, roots_[s] + "/b/cas", value_);
      for (int count : config_.child_counts) {
        std::string dir = listing_dir(s, count);
        sub.ensure_dir(dir);
        sub.async_run(
            Op::Create, 32, count,
            [&](int i) {
              char name[16];
              std::snprintf(name, sizeof name, "/c%06d", i);
              return dir + name;
            },
            "");
        if (sub.list(dir) != std::size_t(count))
          throw Fail(name_ + " " + sub.name() + ": listing of " + dir + " is not " +
                     std::to_string(count));
      }
    }
  }

  // Latencies of reps calls of fn(s, i): p50, p99 and CPU per call, for this round.
  template <class Fn>
  void measure(const std::string &section, const std::string &row, std::size_t s,
               int reps, Fn fn) {
    std::vector<double> lat;
    lat.reserve(reps);
    double cpu0 = process_cpu_us();
    for (int i = 0; i < reps; ++i) {
      std::int64_t t0 = now_ns();
      fn(i);
      lat.push_back((now_ns() - t0) / 1e3);
    }
    double cpu = (process_cpu_us() - cpu0) / reps;
    const std::string who = subjects_[s]->name();
    results_->add(key_of(name_, section, row, who, "p50"), percentile(lat, 50));
    results_->add(key_of(name_, section, row, who, "p99"), percentile(lat, 99));
    results_->add(key_of(name_, section, row, who, "cpu"), cpu);
  }

  static bool is_read(Op op) {
    return op == Op::Get || op == Op::Exists || op == Op::Children;
  }

  void sync_latency() {
    for (Op op : kSyncOps) {
      for (std::size_t s = 0; s < subjects_.size(); ++s) {
        if (!writes(s) && !is_read(op)) continue;
        Subject &sub = *subjects_[s];
        std::string ce = roots_[s] + "/b/ce";
        std::string dir = listing_dir(s, config_.child_counts.front());
        measure("sync", op_name(op), s, config_.sync_ops, [&](int i) {
          switch (op) {
            case Op::CreateErase:
              sub.sync_op(op, ce, value_);
              break;
            case Op::Children:
              sub.sync_op(op, dir, value_);
              break;
            case Op::Cas:
              sub.sync_op(op, roots_[s] + "/b/cas", value_);
              break;
            default:
              sub.sync_op(op, key(s, i), value_);
              break;
          }
        });
      }
    }
  }

  void throughput() {
    for (Op op : {Op::Get, Op::Set}) {
      for (int window : config_.windows) {
        std::string row = std::string(op_name(op)) + " @" + std::to_string(window);
        for (std::size_t s = 0; s < subjects_.size(); ++s) {
          if (!writes(s)) continue;
          double cpu0 = process_cpu_us();
          std::int64_t t0 = now_ns();
          subjects_[s]->async_run(
              op, window, config_.async_ops, [&](int i) { return key(s, i); }, value_);
          double seconds = (now_ns() - t0) / 1e9;
          const std::string who = subjects_[s]->name();
          results_->add(key_of(name_, "async", row, who, "ops"),
                        config_.async_ops / seconds);
          results_->add(key_of(name_, "async", row, who, "cpu"),
                        (process_cpu_us() - cpu0) / config_.async_ops);
        }
      }
    }
  }

  void listings() {
    for (int count : config_.child_counts) {
      std::string row = "children of " + std::to_string(count);
      for (std::size_t s = 0; s < subjects_.size(); ++s) {
        std::string dir = listing_dir(s, count);
        measure("other", row, s, config_.listing_reps, [&](int) {
          if (subjects_[s]->list(dir) != std::size_t(count))
            throw Fail("listing changed");
        });
      }
    }
  }

  void transactions() {
    for (std::size_t s = 0; s < subjects_.size(); ++s) {
      if (!writes(s)) continue;
      std::vector<std::string> keys;
      for (int i = 0; i < 16; ++i) keys.push_back(key(s, i));
      measure("other", "txn of 16 sets", s, config_.txn_reps,
              [&](int) { subjects_[s]->txn_sets(keys, value_); });
    }
  }

  void watches() {
    for (std::size_t s = 0; s < subjects_.size(); ++s) {
      if (!writes(s)) continue;
      std::vector<double> lat;
      for (int i = 0; i < config_.watch_reps; ++i) {
        // A new value each time: Consul does not count a write of the same value as a
        // change (no index bump, no watch event).
        std::string value = value_;
        std::string tag = std::to_string(++watch_writes_);
        value.replace(value.size() - tag.size(), tag.size(), tag);
        lat.push_back(subjects_[s]->watch_delivery(roots_[s] + "/b/w", value));
      }
      const std::string who = subjects_[s]->name();
      results_->add(key_of(name_, "other", "watch delivery", who, "p50"),
                    percentile(lat, 50));
      results_->add(key_of(name_, "other", "watch delivery", who, "p99"),
                    percentile(lat, 99));
    }
  }

  static constexpr Op kSyncOps[] = {Op::Get,         Op::Exists, Op::Set,
                                    Op::CreateErase, Op::Cas,    Op::Children};

  std::string name_;
  Config config_;
  std::string value_;
  std::vector<std::unique_ptr<Subject>> subjects_;
  std::vector<std::string> roots_;
  Results *results_ = nullptr;
  long watch_writes_ = 0;

  friend struct Report;
};

struct Report {
  static std::vector<Table> tables(const BackendBench &b, const Results &r,
                                   std::vector<Target> &targets) {
    std::vector<Table> out;
    const std::string &be = b.name_;
    std::string off = b.subjects_[0]->name(), nat = b.subjects_[1]->name();
    std::string plain = b.subjects_.size() > 2 ? b.subjects_[2]->name() : "";
    auto get = [&](const std::string &section, const std::string &row,
                   const std::string &who, const std::string &metric) {
      return r.find(key_of(be, section, row, who, metric));
    };

    // Sync latency and CPU.
    Table sync{
        be + ": sync latency (us) and client CPU per op (us), offkv vs " + nat, {}, {}};
    sync.header = {"op",         "offkv p50", nat + " p50", "ratio p50",  "offkv p99",
                   nat + " p99", "ratio p99", "offkv cpu",  nat + " cpu", "ratio cpu"};
    if (!plain.empty()) {
      sync.header.push_back(plain + " p50");
      sync.header.push_back("ratio p50 vs plain");
    }
    double worst_p50 = 0, worst_cpu = 0;
    std::string worst_p50_op, worst_cpu_op;
    for (Op op : BackendBench::kSyncOps) {
      std::string row = op_name(op);
      std::vector<std::string> cells{row};
      for (const char *metric : {"p50", "p99", "cpu"}) {
        auto *a = get("sync", row, off, metric);
        auto *n = get("sync", row, nat, metric);
        Ratio ratio = ratio_of(a, n);
        cells.push_back(value_cell(a));
        cells.push_back(value_cell(n));
        cells.push_back(ratio_cell(ratio));
        if (ratio.ok && std::string(metric) == "p50" && ratio.value > worst_p50)
          worst_p50 = ratio.value, worst_p50_op = row;
        if (ratio.ok && std::string(metric) == "cpu" && ratio.value > worst_cpu)
          worst_cpu = ratio.value, worst_cpu_op = row;
      }
      if (!plain.empty()) {
        auto *p = get("sync", row, plain, "p50");
        cells.push_back(value_cell(p));
        cells.push_back(ratio_cell(ratio_of(get("sync", row, off, "p50"), p)));
      }
      sync.rows.push_back(cells);
    }
    out.push_back(sync);
    targets.push_back(
        {be + ": sync p50, worst op (" + worst_p50_op + ")", worst_p50, 1.10, false});
    targets.push_back({be + ": client CPU per op, worst op (" + worst_cpu_op + ")",
                       worst_cpu, 1.5, false});

    // Throughput.
    Table async{
        be + ": async throughput (ops/s; higher is better) and CPU per op (us)", {}, {}};
    async.header = {"op @in flight", "offkv ops/s", nat + " ops/s", "ratio ops/s",
                    "offkv cpu",     nat + " cpu",  "ratio cpu"};
    double worst_32 = 1e9;
    std::string worst_32_op;
    for (const char *op : {"get", "set"}) {
      for (int window : b.config_.windows) {
        std::string row = std::string(op) + " @" + std::to_string(window);
        std::vector<std::string> cells{row};
        for (const char *metric : {"ops", "cpu"}) {
          auto *a = get("async", row, off, metric);
          auto *n = get("async", row, nat, metric);
          Ratio ratio = ratio_of(a, n);
          cells.push_back(value_cell(a));
          cells.push_back(value_cell(n));
          cells.push_back(ratio_cell(ratio));
          if (window == b.config_.windows.back() && std::string(metric) == "ops" &&
              ratio.ok && ratio.value < worst_32)
            worst_32 = ratio.value, worst_32_op = row;
        }
        async.rows.push_back(cells);
      }
    }
    out.push_back(async);
    if (worst_32 < 1e9)
      targets.push_back({be + ": async ops/s, worst at " +
                             std::to_string(b.config_.windows.back()) + " in flight (" +
                             worst_32_op + ")",
                         worst_32, 0.9, true});

    // Listings, transaction, watch.
    Table other{be + ": listing, 16-op transaction, watch delivery (us)", {}, {}};
    other.header = {"what",      "offkv p50",  nat + " p50", "ratio p50",
                    "offkv p99", nat + " p99", "ratio p99"};
    if (!plain.empty()) {
      other.header.push_back(plain + " p50");
      other.header.push_back("ratio p50 vs plain");
    }
    std::vector<std::string> rows;
    for (int count : b.config_.child_counts)
      rows.push_back("children of " + std::to_string(count));
    rows.push_back("txn of 16 sets");
    rows.push_back("watch delivery");
    for (const auto &row : rows) {
      std::vector<std::string> cells{row};
      for (const char *metric : {"p50", "p99"}) {
        auto *a = get("other", row, off, metric);
        auto *n = get("other", row, nat, metric);
        cells.push_back(value_cell(a));
        cells.push_back(value_cell(n));
        cells.push_back(ratio_cell(ratio_of(a, n)));
      }
      if (!plain.empty()) {
        auto *p = get("other", row, plain, "p50");
        cells.push_back(value_cell(p));
        cells.push_back(ratio_cell(ratio_of(get("other", row, off, "p50"), p)));
      }
      other.rows.push_back(cells);
      bool listing_target =
          row == "children of " + std::to_string(b.config_.child_counts.back());
      if (listing_target || row == "txn of 16 sets") {
        Ratio ratio =
            ratio_of(get("other", row, off, "p50"), get("other", row, nat, "p50"));
        if (ratio.ok)
          targets.push_back({be + ": " + row + ", p50", ratio.value, 1.5, false});
      }
    }
    out.push_back(other);
    return out;
  }
};

std::vector<Table> BackendBench::tables(std::vector<Target> &targets) const {
  return Report::tables(*this, *results_, targets);
}

std::string host_port(const std::string &url) {
  auto scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  auto slash = rest.find('/');
  return slash == std::string::npos ? rest : rest.substr(0, slash);
}

std::string read_first_line(const char *path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int main_(int argc, char **argv) {
  Config config;
  std::string zk, etcd, consul, markdown_path, versions;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Fail(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--zk")
      zk = value();
    else if (arg == "--etcd")
      etcd = value();
    else if (arg == "--consul")
      consul = value();
    else if (arg == "--markdown")
      markdown_path = value();
    else if (arg == "--versions")
      versions = value();
    else if (arg == "--quick")
      config.quick = true;
    else
      throw Fail("unknown argument " + arg + " (see the comment at the top of main.cpp)");
  }
  if (config.quick) {
    config.rounds = 1;
    config.sync_ops = 20;
    config.async_ops = 100;
    config.child_counts = {10, 100};
    config.listing_reps = 3;
    config.txn_reps = 5;
    config.watch_reps = 5;
  }
  if (zk.empty() && etcd.empty() && consul.empty())
    throw Fail("no server: --zk, --etcd, --consul");

  std::ostringstream header;
  {
    std::time_t t = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    utsname u{};
    uname(&u);
    header << "date: " << date << "\n"
           << "machine: " << u.machine << ", " << std::thread::hardware_concurrency()
           << " CPUs (nproc), " << u.sysname << " " << u.release << "\n"
           << "load average (1/5/15 min) at start: " << read_first_line("/proc/loadavg")
           << "\n"
           << "servers: " << (versions.empty() ? "(versions not given)" : versions)
           << "\n"
           << "rounds: " << config.rounds
           << " measured + 1 warm-up (discarded), interleaved"
           << " offkv, native per section; sync ops per round: " << config.sync_ops
           << "; async ops per run: " << config.async_ops
           << "; value size: " << config.value_size << " bytes"
           << (config.quick ? "; QUICK (smoke) counts: figures not meaningful" : "")
           << "\n"
           << "cells: median over rounds [min-max of the round values]; ratio = offkv / "
              "native of the medians (min-max of the per-round ratios)\n";
  }
  std::cout << header.str() << std::flush;

  Results results;
  std::vector<Table> all;
  std::vector<Target> targets;
  auto run = [&](const std::string &name, const std::string &url,
                 std::vector<std::unique_ptr<Subject>> natives) {
    BackendBench b(name, config, url, std::move(natives));
    b.run(results);
    auto tables = b.tables(targets);
    for (const auto &t : tables) print_fixed(std::cout, t);
    std::cout << std::flush;
    all.insert(all.end(), tables.begin(), tables.end());
  };
  if (!zk.empty()) {
    std::vector<std::unique_ptr<Subject>> natives;
    natives.push_back(make_zk_native(host_port(zk), true));
    natives.push_back(make_zk_native(host_port(zk), false));
    run("ZooKeeper", zk, std::move(natives));
  }
  if (!etcd.empty()) {
    std::vector<std::unique_ptr<Subject>> natives;
    natives.push_back(make_etcd_native(host_port(etcd)));
    run("etcd", etcd, std::move(natives));
  }
  if (!consul.empty()) {
    std::vector<std::unique_ptr<Subject>> natives;
    natives.push_back(make_consul_native(host_port(consul)));
    run("Consul", consul, std::move(natives));
  }

  Table summary{"Targets of issue 12 (C API; offkv / native)",
                {"target", "measured", "limit", "verdict"},
                {}};
  for (const auto &t : targets) {
    bool met = t.higher_is_better ? t.measured >= t.limit : t.measured <= t.limit;
    char measured[32], limit[32];
    std::snprintf(measured, sizeof measured, "%.2fx", t.measured);
    std::snprintf(limit, sizeof limit, "%s %.2fx",
                  t.higher_is_better ? ">=" : "<=", t.limit);
    summary.rows.push_back({t.what, measured, limit, met ? "met" : "MISSED"});
  }
  print_fixed(std::cout, summary);
  all.push_back(summary);

  if (!markdown_path.empty()) {
    std::ofstream md(markdown_path);
    md << "### offkv vs native clients (C/C++)\n\n```\n" << header.str() << "```\n";
    for (const auto &t : all) print_markdown(md, t);
    if (!md) throw Fail("cannot write " + markdown_path);
    std::cout << "\nMarkdown tables written to " << markdown_path << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char **argv) {
  try {
    return bench::main_(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "offkv_bench: " << e.what() << std::endl;
    return 1;
  }
}
