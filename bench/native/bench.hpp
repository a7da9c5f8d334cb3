// offkv against the native clients: the shared pieces (bench/README.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

enum class Op { Get, Exists, Set, CreateErase, Cas, Children, Create };
const char *op_name(Op op);

struct Config {
  bool quick = false;
  int rounds = 7;        // measured rounds (a warm-up round comes first, discarded)
  int sync_ops = 200;    // per op per round
  int async_ops = 1000;  // per window size per round
  std::vector<int> windows{1, 8, 32};
  std::vector<int> child_counts{10, 1000, 10000};
  int listing_reps = 10;  // listings per size per round
  int txn_reps = 40;      // 16-op transactions per round
  int watch_reps = 40;    // watch deliveries per round
  std::size_t value_size = 128;
};

// One client under test, on one server. Keys are offkv paths ("/b/k3"); each subject
// maps them into its own namespace on the server, so offkv and the native client
// never touch each other's data. Every method throws std::runtime_error on failure.
class Subject {
 public:
  virtual ~Subject() = default;
  virtual std::string name() const = 0;
  // Makes dir (and its parents) exist where the backend needs it (ZK).
  virtual void ensure_dir(const std::string &dir) = 0;
  // One operation, waited for. Create / CreateErase use key as given; Cas keeps the
  // version it last saw per key.
  virtual void sync_op(Op op, const std::string &key, const std::string &value) = 0;
  // total operations op on key_of(i), with `window` of them in flight at all times.
  virtual void async_run(Op op, int window, int total,
                         const std::function<std::string(int)> &key_of,
                         const std::string &value) = 0;
  // Lists dir; returns the number of children.
  virtual std::size_t list(const std::string &dir) = 0;
  // One transaction of keys.size() unconditional sets.
  virtual void txn_sets(const std::vector<std::string> &keys,
                        const std::string &value) = 0;
  // Arms a watch on key (one-shot where the backend's is), writes key, returns the
  // microseconds from the write's start to the watch callback.
  virtual double watch_delivery(const std::string &key, const std::string &value) = 0;
  // Removes dir and everything below it (set-up between sections).
  virtual void erase_tree(const std::string &dir) = 0;
};

std::unique_ptr<Subject> make_offkv(const std::string &url);
std::unique_ptr<Subject> make_zk_native(const std::string &host_port, bool sync_reads);
std::unique_ptr<Subject> make_etcd_native(const std::string &host_port);
std::unique_ptr<Subject> make_consul_native(const std::string &host_port);

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Between arming a watch and the write that fires it: lets a watch whose request is
// still on its way (a Consul blocking query) reach the server, the same for all.
void settle();

// CPU time of the whole process (every thread: the clients' own threads count), us.
double process_cpu_us();

// Keeps `window` operations in flight for callback-driven clients: start(i, done)
// begins operation i and arranges for done(ok, message) to be called once when it
// ends, on any thread. run() returns when all have ended and throws on the first
// failure.
class Window {
 public:
  using Done = std::function<void(bool ok, const std::string &message)>;
  using Start = std::function<void(int i, Done done)>;
  Window(int window, int total, Start start)
      : window_(window), total_(total), start_(std::move(start)) {}
  void run();

 private:
  void finished(bool ok, const std::string &message);
  void launch(int i);
  bool all_ended() const {
    return completed_ == next_ && (next_ == total_ || !error_.empty());
  }
  int window_, total_;
  Start start_;
  std::mutex mu_;
  std::condition_variable cv_;
  int next_ = 0, completed_ = 0;
  std::string error_;
};

// Percentile of a sample (p in [0,100]), nearest-rank.
double percentile(std::vector<double> v, double p);
double median(std::vector<double> v);

struct Fail : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace bench
