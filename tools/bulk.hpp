// Subtree commands (tree, dump, load, copy): many asynchronous calls in flight
// (offkv_*_async), reading a subtree, telling ephemeral nodes apart, writing nodes in
// batched transactions, a progress bar, base64. Everything through offkv.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli.hpp"

namespace cli {

// What one asynchronous call produced: the fields of offkv_completion, copied.
struct Reply {
  int error = OFFKV_OK;
  std::string message;
  std::int64_t version = 0;
  std::string value;                  // get
  std::vector<std::string> children;  // children
  std::size_t failed_index = 0;       // commit, on OFFKV_ETXN
  int failed_code = OFFKV_OK;
};

// Asynchronous calls on any number of clients, at most `window` in flight per client
// (the library runs up to 16 of a client's calls at once): call() queues, run()
// starts queued calls in the order they were made as their client's window allows,
// and hands each reply to its continuation on the calling thread, where
// continuations may queue more calls. After fail(), nothing more is started (the
// replies of the calls in flight still reach their continuations) and run() throws the
// first failure once those calls have completed.
class Calls {
 public:
  using Start = std::function<int(offkv_completion_cb, void *)>;
  using Then = std::function<void(Reply &)>;

  explicit Calls(std::size_t window = 32) : window_(window) {}
  ~Calls();
  Calls(const Calls &) = delete;
  Calls &operator=(const Calls &) = delete;

  // Queues a call on client: start(cb, user) makes the offkv_*_async call with cb and
  // user. An error it returns at once (no I/O) becomes the reply.
  void call(offkv_client *client, Start start, Then then);
  // Runs until no call is queued or in flight and no reply is waiting; calls tick()
  // now and then. Throws the first failure.
  void run(const std::function<void()> &tick = nullptr);
  void fail(Failure failure);
  bool failed() const { return failed_; }

 private:
  struct Pending;
  struct Lane {
    std::size_t in_flight = 0;
    std::deque<Pending *> queued;
  };
  static void on_done(const offkv_completion *completion, void *user);
  void finish(Pending *pending);
  void start_queued();
  bool idle_locked() const;

  std::size_t window_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<offkv_client *, Lane> lanes_;  // in_flight guarded by mutex_
  std::deque<Pending *> done_;
  bool failed_ = false;
  Failure failure_{kExitOk, std::string()};
};

// A line on stderr redrawn in place while a long command runs, only when stderr is a
// terminal: "offkv COMMAND: PHASE DONE/TOTAL [#####     ]  42%".
class Progress {
 public:
  explicit Progress(std::string command);
  ~Progress() { clear(); }
  // Starts a phase; total 0: unknown (only the count is shown).
  void phase(const std::string &name, std::size_t total);
  void add(std::size_t n = 1) { done_ += n; }
  void draw(bool force = false);  // at most every 100 ms unless forced
  void clear();                   // erases the line (before printing anything else)

 private:
  std::string command_, phase_;
  std::size_t done_ = 0, total_ = 0;
  bool enabled_, shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

// One node of a subtree.
struct Node {
  std::string key;
  bool leaf = false;       // had no children when listed
  bool gone = false;       // erased while being read
  bool ephemeral = false;  // found by queue_probes()
  std::int64_t version = 0;
  std::string value;
};

// Key order for subtrees: depth first, a parent before its children, siblings in
// bytewise order (compares keys as if '/' sorted before every other byte).
bool tree_less(const std::string &a, const std::string &b);

// Lists the subtree at `key` (the whole store for "/", which is not itself a node)
// with offkv_children_async, in tree order; runs `calls`. Failures name
// "COMMAND KEY"; `key` absent is ENOENT. Nodes erased meanwhile are marked gone.
std::vector<Node> list_subtree(offkv_client *client, const std::string &command,
                               const std::string &key, Calls &calls, Progress &progress);

// Queues a read (offkv_get_async) of every node not gone: value and version, or gone.
void queue_reads(offkv_client *client, const std::string &command,
                 std::vector<Node> &nodes, Calls &calls, Progress &progress);

// offkv.h has no "is ephemeral" flag. Ephemeral nodes cannot have children, so each
// leaf is probed with a transaction that creates a child under it and is bound to
// fail (its last op creates a child twice): OFFKV_EEPHEMERAL at a leaf's op means the
// leaf is ephemeral. Nothing is ever written. Up to 15 leaves per transaction. Queues
// the probes; returns how many leaves they cover.
std::size_t queue_probes(offkv_client *client, const std::string &command,
                         std::vector<Node> &nodes, Calls &calls, Progress &progress);

// One node copy or load makes the destination hold.
struct Write {
  std::string key;
  std::string value;
  bool skip = false;  // not written (ephemeral or gone at the source)
  // On the destination, from queue_target_reads:
  bool exists = false;
  std::string current;
};

struct WriteCounts {
  std::size_t created = 0, updated = 0, unchanged = 0;
  std::uint64_t bytes = 0;
};

// Queues reads of the writes' keys on the destination (writes in tree order). Unless
// every_key, a key found absent is not read below (its whole subtree is absent);
// every_key reads them all, so that the library checks every key before anything is
// written (keys from a file).
void queue_target_reads(offkv_client *client, const std::string &command,
                        std::vector<Write> &writes, bool every_key, Calls &calls,
                        Progress &progress);

// After queue_target_reads has run: creates the absent keys, sets the different ones
// and leaves equal ones alone, in tree order (parents first), in transactions of up to
// OFFKV_MAX_TXN_OPS ops and 128 KiB of values; runs `calls`. With dry_run nothing is
// written and "create KEY" / "update KEY" lines are printed instead. `counts` holds
// what was done even if it throws.
void write_nodes(offkv_client *client, const std::string &command,
                 const std::vector<Write> &writes, bool dry_run, Calls &calls,
                 Progress &progress, WriteCounts &counts);

// Standard base64 with padding (RFC 4648 §4). decode is strict: false on any other
// character, bad length or bad padding.
std::string base64_encode(const std::string &bytes);
bool base64_decode(const std::string &text, std::string &bytes);

// Reads a whole file ("-": stdin); Failure (exit 1) naming `command` if it cannot.
std::string read_file(const std::string &command, const std::string &path);

}  // namespace cli
