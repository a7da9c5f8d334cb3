// The offkv command-line tool: declarations shared by its files. Everything goes
// through the public C API (offkv.h); nothing here knows the library's insides.
//
//   main.cpp      global options, --help, one-shot mode
//   args.cpp      command options and operands, numbers, script-line words
//   session.cpp   the Context: URL, options, named sessions (clients)
//   commands.cpp  the command table and the node commands
//   watch.cpp     watches, the event queue, `watch` and `wait`
//   recipes.cpp   `elect` and `members` (leader election, group membership)
//   bulk.cpp      asynchronous calls in bulk, reading and writing subtrees (bulk.hpp)
//   transfer.cpp  `tree`, `dump`, `load`, `copy`
//   txn.cpp       `txn` (a transaction from a file or stdin)
//   lock.cpp      `lock` (run a command while holding a lock)
//   script.cpp    script mode (`offkv URL -`)
#pragma once

#include <offkv.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cli {

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // an operation failed (or `exists` found nothing)
constexpr int kExitUsage = 2;   // bad command line

// Thrown when a command cannot go on; main() or the script loop prints
// "offkv: <message>" (nothing if message is empty) and exits with status.
struct Failure {
  int status;
  std::string message;
  bool usage = false;  // a usage error: the message is followed by a hint to --help
};

// Prints f on stderr: "offkv: <message>" (nothing if empty), plus a pointer to
// --help for usage errors (not for other exit statuses 2, such as lock's COMMAND's).
// Flushes stdout first so the streams stay in order.
void report(const Failure &f);
// Usage error (exit 2): "offkv: <message>" plus a hint to --help.
[[noreturn]] void usage_error(const std::string &message);
// Operation error (exit 1): "offkv: <what>: <offkv_strerror(code)>: <detail>", the
// detail being offkv_last_error() unless given.
[[noreturn]] void op_error(const std::string &what, int code,
                           const std::string &detail = std::string());
// The Failure op_error throws, for code that collects it instead.
Failure op_failure(const std::string &what, int code,
                   const std::string &detail = std::string());
// Calls op_error unless rc is OFFKV_OK.
void check(int rc, const std::string &what);

// ---- args.cpp ----

// One command's words after its name: options (only before the first operand, "--"
// ends them) and operands.
struct Args {
  std::string command;
  std::map<std::string, std::string> options;  // "--version" -> "3", "--ephemeral" -> ""
  std::vector<std::string> operands;
  bool has(const std::string &option) const { return options.count(option) != 0; }
};

struct OptionSpec {
  std::vector<std::string> flags;   // options without a value
  std::vector<std::string> valued;  // options followed by a value
};

// Throws a usage error for unknown options, a missing option value, or an operand
// count outside [min, max].
Args parse_args(const std::string &command, const std::vector<std::string> &words,
                const OptionSpec &spec, std::size_t min, std::size_t max,
                const std::string &synopsis);
// Whole-string decimal integers; usage error naming `what` otherwise.
std::int64_t parse_int64(const std::string &command, const std::string &what,
                         const std::string &text);
// A timeout in milliseconds: 1 .. INT32_MAX.
int parse_ms(const std::string &command, const std::string &what,
             const std::string &text);
// Splits a script line into words: blanks separate, '...' is literal, "..." knows
// \\ \" \n \t \xHH; '#' outside quotes starts a comment. Usage error if unbalanced.
std::vector<std::string> split_line(const std::string &line);
// The lines of a text ('\n' ends each; a last line without one counts).
std::vector<std::string> text_lines(const std::string &text);

// ---- watch.cpp ----

enum class WatchMode { Exists, Children, Recursive };

struct Event {
  int type = 0;
  std::string key;
  std::int64_t version = -1;
  int error = 0;
  std::string message;
  struct Watch *watch = nullptr;
};

// Events from every watch of the tool, in arrival order.
class EventQueue {
 public:
  void push(Event event);
  // False if nothing came within timeout_ms.
  bool pop(Event &event, int timeout_ms);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
};

// One `watch` command: a persistent watch, or a one-shot watch that is re-armed
// after each event it reports.
struct Watch {
  std::string session;
  std::string key;
  WatchMode mode = WatchMode::Exists;
  offkv_watch *handle = nullptr;
  EventQueue *queue = nullptr;
};

// ---- session.cpp ----

class Context {
 public:
  Context(std::string url, int timeout_ms, bool script)
      : url_(std::move(url)), timeout_ms_(timeout_ms), script_(script) {}
  void print_stats(const std::string &name, offkv_client *client) const;
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  bool script() const { return script_; }
  // --stats: every session's counters go to stderr when the Context ends.
  void print_stats_at_end() { stats_ = true; }
  int timeout_ms() const { return timeout_ms_; }  // 0: library default
  const std::string &session_name() const { return current_; }

  // The current session's client, opened on first use.
  offkv_client *client();
  // NAME's client if that session is open, else nullptr.
  offkv_client *open_client(const std::string &name) const;
  // Makes NAME the current session (opened when first used, on `url` if not empty,
  // else on the Context's URL). Usage error if NAME is open on another URL.
  void use_session(const std::string &name, const std::string &url = std::string());
  // Ends the current session: its ephemerals vanish, its watches end (ENDED).
  void close_session();

  // Arms a new watch on the current session.
  Watch &add_watch(const std::string &key, WatchMode mode);
  EventQueue &events() { return events_; }

 private:
  std::string url_;
  int timeout_ms_;
  bool script_;
  bool stats_ = false;
  std::string current_ = "main";
  std::map<std::string, offkv_client *> clients_;
  std::map<std::string, std::string> urls_;  // sessions not on url_
  EventQueue events_;  // declared before watches_: outlives every callback
  std::vector<std::unique_ptr<Watch>> watches_;
};

// ---- watch.cpp ----

// (Re-)arms w on client; op_error on failure.
void arm(offkv_client *client, Watch &w);
// `wait [MS]` body: takes the next event, prints it, re-arms one-shot watches.
// Returns false on timeout.
bool take_event(Context &ctx, int timeout_ms);
// SIGINT and SIGTERM set a flag that watch_until_signal() polls.
void catch_stop_signals();
// One-shot mode `watch`: prints events until SIGINT or SIGTERM.
void watch_until_signal(Context &ctx);

// ---- commands.cpp ----

// Runs one command (words[0] is its name). Throws Failure.
void run_command(Context &ctx, const std::vector<std::string> &words);
// True if `word` names a command.
bool is_command(const std::string &word);
// The usage text of every command, for --help.
std::string commands_help();

// ---- recipes.cpp ----

// `elect GROUP PAYLOAD` and `members [--watch] GROUP` (docs/recipes.md).
void cmd_elect(Context &ctx, const Args &a);
void cmd_members(Context &ctx, const Args &a);

// ---- transfer.cpp, txn.cpp, lock.cpp ----

// `tree KEY`, `dump KEY`, `load [--dry-run] FILE`, `copy [--dry-run] SRC DST [KEY]`.
void cmd_tree(Context &ctx, const Args &a);
void cmd_dump(Context &ctx, const Args &a);
void cmd_load(Context &ctx, const Args &a);
void cmd_copy(Context &ctx, const Args &a);
// `txn [FILE]`.
void cmd_txn(Context &ctx, const Args &a);
// `lock [--wait MS] KEY [--] COMMAND [ARGS...]`.
void cmd_lock(Context &ctx, const Args &a);

// ---- script.cpp ----

// Runs commands read from stdin; returns the exit status.
int run_script(Context &ctx);

}  // namespace cli
