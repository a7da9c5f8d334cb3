// Per-client counters (offkv_stats in the C API): operations and their errors by
// code, backend retries, reconnections, session transitions, watches armed and fired.
// Lock-free: any thread counts, any thread reads a snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "codes.hpp"

namespace offkv {

enum class Op { Create, Set, Cas, Get, Exists, Children, Erase, Commit, Watch, Count };

struct Stats {
  std::atomic<std::uint64_t> ops[static_cast<int>(Op::Count)]{};
  std::atomic<std::uint64_t> errors[Err::count]{};  // by offkv error code
  std::atomic<std::uint64_t> retries{0};     // a request sent again by a backend
  std::atomic<std::uint64_t> reconnects{0};  // CONNECTED again after SUSPENDED
  std::atomic<std::uint64_t> sessions[5]{};  // transitions into each session state
  std::atomic<std::uint64_t> watches_armed{0};
  std::atomic<std::uint64_t> watches_fired{0};  // events delivered, ENDED excluded
  // Asynchronous calls run natively by the backend / by a worker thread of the core.
  std::atomic<std::uint64_t> async_native{0};
  std::atomic<std::uint64_t> async_workers{0};

  void count_error(int code) {
    if (code > 0 && code < Err::count) ++errors[code];
  }
  // Every counter as "name" -> value, in a fixed order ("ops.get", "errors.ENOENT",
  // "session.LOST", ...); names never change meaning, new ones may be added.
  std::vector<std::pair<std::string, std::uint64_t>> snapshot() const;
};

}  // namespace offkv
