#include "stats.hpp"

#include "error.hpp"

namespace offkv {

namespace {
const char *const kOpNames[] = {"create",   "set",   "cas",    "get",  "exists",
                                "children", "erase", "commit", "watch"};
const char *const kStateNames[] = {"", "CONNECTED", "SUSPENDED", "LOST", "CLOSED"};
static_assert(sizeof kOpNames / sizeof kOpNames[0] == static_cast<int>(Op::Count));
}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> Stats::snapshot() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (int i = 0; i < static_cast<int>(Op::Count); ++i)
    out.emplace_back(std::string("ops.") + kOpNames[i], ops[i].load());
  for (int code = 1; code < Err::count; ++code) {
    std::string name = error_name(code);  // "OFFKV_ENOENT" -> "errors.ENOENT"
    out.emplace_back("errors." + name.substr(name.rfind('_') + 1), errors[code].load());
  }
  out.emplace_back("retries", retries.load());
  out.emplace_back("reconnects", reconnects.load());
  for (int state = 1; state <= 4; ++state)
    out.emplace_back(std::string("session.") + kStateNames[state],
                     sessions[state].load());
  out.emplace_back("watches.armed", watches_armed.load());
  out.emplace_back("watches.fired", watches_fired.load());
  out.emplace_back("async.native", async_native.load());
  out.emplace_back("async.workers", async_workers.load());
  return out;
}

}  // namespace offkv
