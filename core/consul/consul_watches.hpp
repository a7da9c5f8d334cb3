// Watches on Consul: blocking queries, never a spurious fire.
//
// Every watch of a client is a registration holding the state its read returned. One
// blocking query per client (the "pump", on the HTTP thread's shared connections)
// waits on the longest key prefix common to every registration:
// GET /v1/kv/<prefix>?recurse&index=I — any change below the prefix wakes it, and its
// answer is the state right after that change, which every registration is compared
// with. (Should that answer exceed 1 MiB, the pump lists keys only,
// ?keys&separator=/, and each wake-up re-reads the registrations' own targets: a key,
// a children listing, or a subtree.) Only a real difference fires, and the events of
// one wake-up are fired in the order of the Consul indexes at which they happened. A
// registration whose read is older than the pump's index is caught up with a read of
// its own target.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../watch.hpp"
#include "consul_http.hpp"
#include "consul_keys.hpp"

namespace offkv {
namespace consul {

// What a registration knows of one node: its incarnation (create index), last change
// and version.
struct Known {
  std::uint64_t create_index = 0, modify_index = 0;
  std::int64_t version = 0;
};

// One event a registration is told, with where it sorts among the events of one
// wake-up: by the Consul index it happened at, then by phase (a node gone before it is
// created again, created, changed, gone).
struct Change {
  int type;  // EventType::*
  std::string path;
  std::int64_t version;
  std::uint64_t index;
  int phase;
};

// The pure part of the watches, apart from the connection (the fuzz target
// tests/fuzz/fuzz_consul_decode.cpp drives it with arbitrary answers). Each compares
// what a registration saw with the state an answer shows (key_index: the index of the
// key's read) and gives what changed.
// A get / exists watch: the node as read (present or not) and the node now.
std::vector<Change> diff_node(const std::string &path, bool present, const Known &was,
                              const Entry &now, std::uint64_t key_index);
// A children watch: the node and its child names as read, and both now.
std::vector<Change> diff_children(const std::string &path, bool present, const Known &was,
                                  const std::set<std::string> &names, const Entry &now,
                                  std::uint64_t key_index,
                                  const std::vector<std::string> &now_names,
                                  std::uint64_t names_index);
// A persistent watch on path: every node of the subtree as reported (updated to the
// new state), and the node and the entries below it now.
std::vector<Change> diff_tree(const std::string &path,
                              std::map<std::string, Known> &known, const Entry &now,
                              std::uint64_t key_index, const std::vector<Entry> &subtree,
                              std::uint64_t tree_index);

class WatchHub {
 public:
  WatchHub(Http &http, const Options &options);
  ~WatchHub();

  // A one-shot get/exists watch: node = what the read returned (absent for an exists
  // on a missing key); index = the read's X-Consul-Index.
  void add_key(const WatchPtr &watch, const Entry &node, std::uint64_t index);
  // A one-shot children watch: the node and its child names as read.
  void add_children(const WatchPtr &watch, const Entry &node, std::set<std::string> names,
                    std::uint64_t index);
  // A persistent watch: every node of the subtree (the key included) as read.
  void add_tree(const WatchPtr &watch, std::map<std::string, Entry> nodes,
                std::uint64_t index);

  // Re-reads every registration once more and fires what changed (waits at most
  // timeout_ms): the client is closing, and changes made before must come before
  // ENDED.
  void flush(int timeout_ms);
  // The client's own write, committed at index (0 = not known: it only deleted),
  // touched keys (Consul keys; a delete-tree prefix ends with '/'). If a watch covers
  // one of them, waits (at most timeout_ms) until the pump has compared the watches
  // with a state at or after that index: a blocking query folds changes it sees
  // together, so without this a set followed at once by an erase could lose its
  // CHANGED. Costs the caller one pump wake-up, only under its own watches.
  void settle(std::uint64_t index, const std::vector<std::string> &keys, int timeout_ms);
  // No registration now: a write has nothing to settle (no wait).
  bool idle();
  void remove(const WatchPtr &watch);  // cancelled
  void clear();                        // session lost: the core ends every watch
  void stop();                         // client closed; idempotent

 private:
  struct Reg {
    std::uint64_t id = 0;
    WatchPtr watch;
    WatchKind kind = WatchKind::Data;
    std::string path;      // full path
    bool present = false;  // Data / Exists / Children: the node as read
    Known node;
    std::set<std::string> names;         // Children: child names as read
    std::map<std::string, Known> known;  // Persistent: nodes of the subtree as reported
    std::uint64_t applied = 0;           // the last round applied to it
    std::uint64_t read_index = 0;        // the X-Consul-Index of its read
  };
  using RegPtr = std::shared_ptr<Reg>;
  // What a read (or the pump) found for one target: "k<path>" the node,
  // "c<path>" its child names, "t<path>" its subtree.
  struct Answer {
    Entry node;
    std::vector<std::string> names;
    std::vector<Entry> subtree;
    std::uint64_t index = 0;
  };
  struct Round;
  struct Flush;

  void add(RegPtr reg, std::uint64_t index);
  std::string cover() const;  // mutex_ held: the prefix the pump waits on
  void submit_pump();         // mutex_ held
  void pump_done(Response &&r, std::uint64_t index, std::uint64_t query);
  // Re-reads the targets of regs (any thread; mutex_ held).
  void start_round(std::vector<RegPtr> regs, bool from_pump,
                   std::shared_ptr<Flush> flush = nullptr);
  void round_done(const std::shared_ptr<Round> &round);  // HTTP thread
  // Compares regs with the answers and fires what changed, in index order.
  void apply(const std::vector<RegPtr> &regs, std::map<std::string, Answer> &answers,
             std::uint64_t seq);
  void retry_later(std::vector<RegPtr> regs, bool from_pump);  // mutex_ held

  Http &http_;
  const Options options_;

  std::mutex mutex_;  // guards everything below; Watch::fire is called under it
  std::map<std::uint64_t, RegPtr> regs_;
  std::uint64_t next_reg_ = 1;
  std::uint64_t next_round_ = 1;
  std::uint64_t pump_index_ = 0;      // the index the pump blocks from
  std::uint64_t seen_index_ = 0;      // the highest pump answer compared with regs_
  std::condition_variable seen_;      // seen_index_ moved, or stopped_
  std::uint64_t floor_ = UINT64_MAX;  // lowest read index of regs added during a round
  std::string pump_prefix_;           // what the pending pump query waits on
  std::uint64_t pump_request_ = 0;    // the pending pump query (0 = none)
  std::uint64_t pump_query_ = 0;      // counts pump queries: which one is pending
  std::uint64_t pump_timer_ = 0;      // a pump retry after an error
  bool cycling_ = false;              // a round started by the pump is running
  bool recursive_ = true;             // the pump reads the whole subtree (while small)
  int backoff_ms_ = 0;
  bool stopped_ = false;
};

}  // namespace consul
}  // namespace offkv
