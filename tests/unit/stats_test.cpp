// Stats snapshot names (core/stats.*): the names offkv_get_stats hands out, in their
// fixed order, and the counters behind them.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "offkv.h"
#include "stats.hpp"

namespace {

std::vector<std::string> names_of(const offkv::Stats &stats) {
  std::vector<std::string> names;
  for (const auto &entry : stats.snapshot()) names.push_back(entry.first);
  return names;
}

std::uint64_t value_of(const offkv::Stats &stats, const std::string &name) {
  for (const auto &entry : stats.snapshot())
    if (entry.first == name) return entry.second;
  FAIL_CHECK("no counter named " << name);
  return UINT64_MAX;
}

}  // namespace

TEST_CASE("stats: snapshot names every counter in a fixed order") {
  offkv::Stats stats;
  const std::vector<std::string> expected = {
      "ops.create",      "ops.set",           "ops.cas",           "ops.get",
      "ops.exists",      "ops.children",      "ops.erase",         "ops.commit",
      "ops.watch",       "errors.EINVAL",     "errors.ENOENT",     "errors.EEXIST",
      "errors.EVERSION", "errors.EEPHEMERAL", "errors.ENOTEMPTY",  "errors.ETOOBIG",
      "errors.ETXN",     "errors.ECONNLOSS",  "errors.ESESSION",   "errors.ETIMEOUT",
      "errors.EAUTH",    "errors.ETLS",       "errors.ECLOSED",    "errors.EUNSUPPORTED",
      "errors.ESERVICE", "errors.ENOMEM",     "errors.EINTERNAL",  "retries",
      "reconnects",      "session.CONNECTED", "session.SUSPENDED", "session.LOST",
      "session.CLOSED",  "watches.armed",     "watches.fired",     "async.native",
      "async.workers"};
  CHECK(names_of(stats) == expected);
}

TEST_CASE("stats: a fresh Stats reads all zeros") {
  offkv::Stats stats;
  for (const auto &entry : stats.snapshot()) {
    INFO(entry.first);
    CHECK(entry.second == 0);
  }
}

TEST_CASE("stats: each counter shows under its own name") {
  offkv::Stats stats;
  stats.ops[static_cast<int>(offkv::Op::Get)] += 3;
  stats.ops[static_cast<int>(offkv::Op::Watch)] += 1;
  stats.retries += 2;
  stats.reconnects += 5;
  stats.sessions[OFFKV_SESSION_SUSPENDED] += 4;
  stats.sessions[OFFKV_SESSION_CLOSED] += 1;
  stats.watches_armed += 7;
  stats.watches_fired += 6;
  stats.async_native += 8;
  stats.async_workers += 9;
  CHECK(value_of(stats, "ops.get") == 3);
  CHECK(value_of(stats, "ops.watch") == 1);
  CHECK(value_of(stats, "ops.set") == 0);
  CHECK(value_of(stats, "retries") == 2);
  CHECK(value_of(stats, "reconnects") == 5);
  CHECK(value_of(stats, "session.SUSPENDED") == 4);
  CHECK(value_of(stats, "session.CLOSED") == 1);
  CHECK(value_of(stats, "session.LOST") == 0);
  CHECK(value_of(stats, "watches.armed") == 7);
  CHECK(value_of(stats, "watches.fired") == 6);
  CHECK(value_of(stats, "async.native") == 8);
  CHECK(value_of(stats, "async.workers") == 9);
}

TEST_CASE("stats: count_error counts real error codes only") {
  offkv::Stats stats;
  stats.count_error(OFFKV_ENOENT);
  stats.count_error(OFFKV_ENOENT);
  stats.count_error(OFFKV_EINTERNAL);
  stats.count_error(OFFKV_OK);  // success is not an error
  stats.count_error(-1);        // out of range: ignored, no crash
  stats.count_error(OFFKV_ERROR_COUNT);
  CHECK(value_of(stats, "errors.ENOENT") == 2);
  CHECK(value_of(stats, "errors.EINTERNAL") == 1);
  std::uint64_t total = 0;
  for (const auto &entry : stats.snapshot())
    if (entry.first.rfind("errors.", 0) == 0) total += entry.second;
  CHECK(total == 3);
}
