// Every watch of one client on ONE multiplexed etcd Watch stream. Each offkv watch is
// one etcd watcher (its id chosen by us) over one key range of the layout
// (etcd_keys.hpp), started at the revision after the read that set it, so no change
// between the read and the watch is missed and none before it is reported:
//
//   get / exists      N(P)                   PUT -> CREATED (version 1) / CHANGED,
//                                            DELETE -> DELETED
//   children          [N(P), enc(P) 0x01)    N(P) DELETE -> DELETED, any C(P, c)
//                                            event -> CHILDREN
//   persistent        [N(P), enc(P) 0x02)    every node event of the subtree
//
// A reader thread reads the stream; when it breaks, a new stream re-creates every
// live watcher from its resume revision: the revision after the last event it
// delivered, moved forward by etcd's progress notifications (requested for every
// watcher) while nothing happens in its range. When that revision was compacted
// meanwhile, the watcher is not ended: its range is read again and what the read
// shows changed since is delivered (resync), then it resumes after that read. A
// watcher that etcd cancels for another reason (permission) ends with ENDED.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../watch.hpp"
#include "etcd_conn.hpp"
#include "etcd_keys.hpp"

namespace offkv {
namespace etcd {

// What the read that armed a watch saw: the node's offkv version (0: absent; for a
// children watch the parent's, 0 for the root) and, for a children watch, how many
// children. A resync compares the store with it.
struct Armed {
  std::int64_t version = 0;
  std::size_t children = 0;
};

// The pure part of the watch stream, apart from the connection (the fuzz target
// tests/fuzz/fuzz_etcd_decode.cpp drives it with arbitrary responses).

// The events one watch response brings a watch of `kind` on `path`, in order (at most
// one for a one-shot watch).
std::vector<Event> watch_events(WatchKind kind, const std::string &path,
                                const v3::WatchResponse &resp);
// The revision after `revision` (INT64_MAX stays: no overflow on any answer).
std::int64_t revision_after(std::int64_t revision);
// The revision a watcher resumes from after the response's events (next: before).
std::int64_t next_revision_after(const v3::WatchResponse &resp, std::int64_t next);
// What a watcher armed at `armed` and resuming at `since` missed, judged from a read
// of its range (a resync after its revision was compacted).
std::vector<Event> missed_changes(WatchKind kind, const std::string &path,
                                  const Armed &armed, std::int64_t since,
                                  const v3::RangeResponse &resp);

class Watches {
 public:
  Watches(Conn &conn, std::string prefix) : conn_(conn), prefix_(std::move(prefix)) {}
  ~Watches() { close(); }

  // Registers the watch for path from start_revision (0 = now). With wait_created,
  // returns once etcd confirmed it and throws if etcd refused it.
  void add(const WatchPtr &watch, const std::string &path, std::int64_t start_revision,
           bool wait_created, Clock::time_point deadline, Armed armed = {});
  void remove(const WatchPtr &watch);
  // This client changed `ranges` at `revision`: close() waits until the watches
  // covering them have delivered that change (the client's own changes come before
  // ENDED).
  void wrote(std::int64_t revision, std::vector<Range> ranges);
  // Drops every watcher (the session was lost: the core ends the watches).
  void drop_all();
  void close();

 private:
  struct Entry {
    WatchPtr watch;
    std::string path;
    Range range;
    std::int64_t next_revision = 0;  // resume point; 0 = "now"
    bool created = false;
    bool waiting = false;  // add() waits for etcd's confirmation
    bool refused = false;
    std::string reason;
    Armed armed;
    bool resyncing = false;  // its resume revision was compacted: read again
  };
  void settle(Clock::time_point deadline);
  void run();
  void send_create(std::int64_t id, const Entry &e);  // with mutex_ held
  void send_cancel(std::int64_t id);                  // with mutex_ held
  void handle(const v3::WatchResponse &resp);         // with mutex_ held
  // Fires the watch for the events of one response; true if a one-shot fired.
  bool deliver(Entry &e, const v3::WatchResponse &resp);
  // Reads a resyncing watcher's range, delivers what changed since its resume
  // revision and re-creates it after the read. Reader thread, mutex_ not held.
  void resync(std::int64_t id);
  std::string show(const std::string &path) const;

  Conn &conn_;
  const std::string prefix_;

  std::mutex mutex_;  // guards everything below; held while writing to the stream
  std::condition_variable changed_;
  std::map<std::int64_t, Entry> entries_;
  std::int64_t next_id_ = 1;
  struct Written {
    std::int64_t revision;
    std::vector<Range> ranges;
  };
  std::vector<Written> written_;         // recent own changes, while watches are live
  std::vector<std::int64_t> to_resync_;  // set by handle(), taken by the reader
  grpc::ClientContext *ctx_ = nullptr;
  std::unique_ptr<grpc::ClientReaderWriter<v3::WatchRequest, v3::WatchResponse>> stream_;
  bool ready_ = false;  // stream_ is open and every entry was sent to it
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace etcd
}  // namespace offkv
