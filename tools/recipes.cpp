// `elect` and `members`: the coordination recipes (docs/recipes.md) from the command
// line, through offkv.h only.
//
//   offkv URL elect GROUP PAYLOAD     contend; print "LEADER KEY" when this process
//                                     becomes leader and "NOT_LEADER KEY REASON" when
//                                     it stops; SIGINT/SIGTERM withdraws and exits 0
//   offkv URL members GROUP           print "KEY PAYLOAD" per member, oldest first
//   offkv URL members --watch GROUP   print "MEMBERS N" and the N member lines first
//                                     and after every change, until SIGINT/SIGTERM
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <thread>

#include "cli.hpp"

namespace cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_stop_signal(int) { interrupted = 1; }

void catch_interrupts() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void wait_for_interrupt() {
  while (!interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Callbacks print from the event thread; one lock keeps lines whole.
std::mutex print_mutex;

const char *reason(int error) {
  switch (error) {
    case OFFKV_OK:
      return "withdrawn";
    case OFFKV_ECONNLOSS:
      return "suspended";
    case OFFKV_ESESSION:
      return "session-lost";
    case OFFKV_ECLOSED:
      return "closed";
    case OFFKV_ENOENT:
      return "erased";
    default:
      return offkv_error_name(error);
  }
}

void on_election(const offkv_recipe_event *e, void *) {
  std::lock_guard<std::mutex> lock(print_mutex);
  const char *key = e->member ? e->member->key : "-";
  if (e->type == OFFKV_EVENT_LEADER) std::printf("LEADER %s\n", key);
  if (e->type == OFFKV_EVENT_NOT_LEADER)
    std::printf("NOT_LEADER %s %s\n", key, reason(e->error));
  std::fflush(stdout);
}

void print_member(const offkv_member &m) {
  std::printf("%s ", m.key);
  std::fwrite(m.payload.data, 1, m.payload.len, stdout);
  std::putchar('\n');
}

void on_members(const offkv_recipe_event *e, void *) {
  if (e->type != OFFKV_EVENT_MEMBERS) return;
  std::lock_guard<std::mutex> lock(print_mutex);
  std::printf("MEMBERS %zu\n", e->member_count);
  for (size_t i = 0; i < e->member_count; ++i) print_member(*e->members[i]);
  std::fflush(stdout);
}

// --label L: the members in Mesos' layout (GROUP/L_<sequence>); NULL without it.
const char *label_of(const Args &a) {
  auto it = a.options.find("--label");
  return it == a.options.end() ? nullptr : it->second.c_str();
}

}  // namespace

void cmd_elect(Context &ctx, const Args &a) {
  if (ctx.script()) usage_error("elect: not available in script mode");
  const std::string &group = a.operands.at(0);
  const std::string &payload = a.operands.at(1);
  catch_interrupts();
  offkv_election *election = nullptr;
  check(offkv_election_contend_labeled(ctx.client(), group.c_str(), label_of(a),
                                       payload.data(), payload.size(), on_election,
                                       nullptr, &election),
        "elect " + group);
  wait_for_interrupt();
  int rc = offkv_election_withdraw(election);  // NOT_LEADER first, if leading
  offkv_election_free(election);
  check(rc, "elect " + group + ": withdraw");
}

void cmd_members(Context &ctx, const Args &a) {
  const std::string &group = a.operands.at(0);
  const bool watch = a.has("--watch");
  if (watch && ctx.script())
    usage_error("members: --watch is not available in script mode");
  if (watch) catch_interrupts();
  offkv_group *handle = nullptr;
  check(offkv_group_open_labeled(ctx.client(), group.c_str(), label_of(a),
                                 watch ? on_members : nullptr, nullptr, &handle),
        "members " + group);
  if (watch) {
    wait_for_interrupt();
    offkv_group_free(handle);
    return;
  }
  offkv_members list = OFFKV_MEMBERS_INIT;
  int rc = offkv_group_members(handle, &list);
  offkv_group_free(handle);
  check(rc, "members " + group);
  for (size_t i = 0; i < list.count; ++i) print_member(*list.items[i]);
  offkv_members_free(&list);
}

}  // namespace cli
