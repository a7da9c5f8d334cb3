// The command table and the commands. Each command checks its words, calls offkv.h
// on the current session and prints its result; failures throw (see cli.hpp).
#include <cinttypes>
#include <cstdint>
#include <cstdio>

#include "cli.hpp"

namespace cli {

namespace {

struct Command {
  const char *name;
  const char *synopsis;  // operands and options, for errors and --help
  const char *summary;
  OptionSpec options;
  std::size_t min, max;  // operand count
  bool script_only;
  void (*run)(Context &, const Args &);
};

const std::string &key_of(const Args &a) { return a.operands.at(0); }

std::string what(const Args &a) { return a.command + " " + key_of(a); }

// VALUE operand: "-" reads all of stdin (not in script mode: stdin is the script).
std::string value_of(const Context &ctx, const Args &a, std::size_t i) {
  if (i >= a.operands.size()) return std::string();
  if (a.operands[i] != "-") return a.operands[i];
  if (ctx.script())
    usage_error(a.command + ": VALUE '-' (stdin) is not available in script mode");
  std::string value;
  char chunk[65536];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, stdin)) > 0) value.append(chunk, n);
  if (std::ferror(stdin))
    throw Failure{kExitFailed, a.command + ": cannot read VALUE from stdin"};
  return value;
}

void print_version(std::int64_t version) { std::printf("%" PRId64 "\n", version); }

void cmd_get(Context &ctx, const Args &a) {
  offkv_buf value = {nullptr, 0};
  std::int64_t version = 0;
  check(offkv_get(ctx.client(), key_of(a).c_str(), &value, &version), what(a));
  std::fwrite(value.data, 1, value.len, stdout);
  offkv_buf_free(&value);
  if (ctx.script()) std::putchar('\n');  // keeps the script's output in lines
  if (a.has("-v")) {
    std::fflush(stdout);
    std::fprintf(stderr, "version=%" PRId64 "\n", version);
  }
}

// stat and exists: the version; absent is exit 1 (stat also says so on stderr).
void cmd_stat(Context &ctx, const Args &a) {
  std::int64_t version = 0;
  check(offkv_exists(ctx.client(), key_of(a).c_str(), &version), what(a));
  if (version == 0) {
    if (a.command == "exists") throw Failure{kExitFailed, ""};
    op_error(what(a), OFFKV_ENOENT, "'" + key_of(a) + "' does not exist");
  }
  print_version(version);
}

void cmd_set(Context &ctx, const Args &a) {
  std::string value = value_of(ctx, a, 1);
  std::int64_t version = 0;
  check(offkv_set(ctx.client(), key_of(a).c_str(), value.data(), value.size(), &version),
        what(a));
  print_version(version);
}

void cmd_cas(Context &ctx, const Args &a) {
  std::int64_t expected = parse_int64(a.command, "VERSION", a.operands[2]);
  std::string value = value_of(ctx, a, 1);
  std::int64_t version = 0;
  check(offkv_cas(ctx.client(), key_of(a).c_str(), value.data(), value.size(), expected,
                  &version),
        what(a));
  print_version(version);
}

void cmd_create(Context &ctx, const Args &a) {
  int flags = (a.has("--ephemeral") ? OFFKV_EPHEMERAL : 0) |
              (a.has("--sequential") ? OFFKV_SEQUENTIAL : 0);
  std::string value = value_of(ctx, a, 1);
  char *created = nullptr;
  check(offkv_create(ctx.client(), key_of(a).c_str(), value.data(), value.size(), flags,
                     &created),
        what(a));
  std::printf("%s\n", created);
  offkv_string_free(created);
}

void cmd_rm(Context &ctx, const Args &a) {
  std::int64_t expected =
      a.has("--version") ? parse_int64(a.command, "--version", a.options.at("--version"))
                         : 0;
  check(offkv_erase(ctx.client(), key_of(a).c_str(), expected), what(a));
}

void cmd_ls(Context &ctx, const Args &a) {
  offkv_strings children = {nullptr, 0};
  check(offkv_children(ctx.client(), key_of(a).c_str(), &children), what(a));
  for (std::size_t i = 0; i < children.count; ++i) std::printf("%s\n", children.items[i]);
  offkv_strings_free(&children);
}

void cmd_watch(Context &ctx, const Args &a) {
  if (a.has("--recursive") && a.has("--children"))
    usage_error("watch: --recursive and --children exclude each other");
  WatchMode mode = a.has("--recursive")  ? WatchMode::Recursive
                   : a.has("--children") ? WatchMode::Children
                                         : WatchMode::Exists;
  if (ctx.script()) {
    ctx.add_watch(key_of(a), mode);  // events are printed by `wait`
    return;
  }
  catch_stop_signals();
  ctx.add_watch(key_of(a), mode);
  watch_until_signal(ctx);
}

void cmd_wait(Context &ctx, const Args &a) {
  int timeout = !a.operands.empty()    ? parse_ms(a.command, "MS", a.operands[0])
                : ctx.timeout_ms() > 0 ? ctx.timeout_ms()
                                       : 10000;
  if (!take_event(ctx, timeout))
    op_error("wait", OFFKV_ETIMEOUT,
             "no event within " + std::to_string(timeout) + " ms");
}

void cmd_session(Context &ctx, const Args &a) {
  ctx.use_session(a.operands[0], a.operands.size() > 1 ? a.operands[1] : std::string());
}

void cmd_close(Context &ctx, const Args &) { ctx.close_session(); }

const Command kCommands[] = {
    {"get",
     "[-v] KEY",
     "print the value as stored; -v: version=N on stderr",
     {{"-v"}, {}},
     1,
     1,
     false,
     cmd_get},
    {"stat",
     "KEY",
     "print the version; exit 1 with a message if absent",
     {},
     1,
     1,
     false,
     cmd_stat},
    {"exists",
     "KEY",
     "print the version; exit 1 silently if absent",
     {},
     1,
     1,
     false,
     cmd_stat},
    {"set",
     "KEY VALUE",
     "create or replace; print the new version",
     {},
     2,
     2,
     false,
     cmd_set},
    {"cas",
     "KEY VALUE VERSION",
     "replace only at VERSION (0: create only if absent); print the new version",
     {},
     3,
     3,
     false,
     cmd_cas},
    {"create",
     "[--ephemeral] [--sequential] KEY [VALUE]",
     "create; print the created key",
     {{"--ephemeral", "--sequential"}, {}},
     1,
     2,
     false,
     cmd_create},
    {"rm",
     "[--version V] KEY",
     "erase KEY and its whole subtree",
     {{}, {"--version"}},
     1,
     1,
     false,
     cmd_rm},
    {"ls",
     "KEY",
     "print the direct children, one full key per line ('ls /' works)",
     {},
     1,
     1,
     false,
     cmd_ls},
    {"watch",
     "[--recursive | --children] KEY",
     "print TYPE KEY version=N per event until SIGINT/SIGTERM (script mode: arm only)",
     {{"--recursive", "--children"}, {}},
     1,
     1,
     false,
     cmd_watch},
    {"elect",
     "[--label L] GROUP PAYLOAD",
     "contend; print LEADER KEY / NOT_LEADER KEY REASON until SIGINT/SIGTERM",
     {{}, {"--label"}},
     2,
     2,
     false,
     cmd_elect},
    {"members",
     "[--watch] [--label L] GROUP",
     "print KEY PAYLOAD per member; --watch: MEMBERS N and them on every change",
     {{"--watch"}, {"--label"}},
     1,
     1,
     false,
     cmd_members},
    {"tree",
     "KEY",
     "print KEY and every node below it: KEY version=N bytes=N, parents first",
     {},
     1,
     1,
     false,
     cmd_tree},
    {"dump",
     "KEY",
     "print the subtree as JSON lines {\"key\",\"value\" (base64),\"version\"}",
     {},
     1,
     1,
     false,
     cmd_dump},
    {"load",
     "[--dry-run] FILE",
     "create or update the nodes of a dump ('-': stdin); print a summary",
     {{"--dry-run"}, {}},
     1,
     1,
     false,
     cmd_load},
    {"copy",
     "[--dry-run] SRC-URL DST-URL [KEY]",
     "copy the subtree KEY (default: all) to another store; print a summary",
     {{"--dry-run"}, {}},
     2,
     3,
     false,
     cmd_copy},
    {"txn",
     "[FILE]",
     "commit one transaction read from FILE (default: stdin), an item a line:\n"
     "      check KEY VERSION|any, create [--ephemeral] [--sequential] KEY [VALUE],\n"
     "      set KEY VALUE, erase KEY [VERSION]; print OP KEY version=N per op",
     {},
     0,
     1,
     false,
     cmd_txn},
    {"lock",
     "[--wait MS] KEY [--] COMMAND [ARGS...]",
     "run COMMAND holding the lock KEY; exit with its status",
     {{}, {"--wait"}},
     2,
     SIZE_MAX,
     false,
     cmd_lock},
    {"wait",
     "[MS]",
     "script mode: print the next watch event, or fail after MS ms",
     {},
     0,
     1,
     true,
     cmd_wait},
    {"session",
     "NAME [URL]",
     "script mode: switch to session NAME (opened on first use, on URL if given)",
     {},
     1,
     2,
     true,
     cmd_session},
    {"close",
     "",
     "script mode: end the current session (its ephemerals vanish)",
     {},
     0,
     0,
     true,
     cmd_close},
};

}  // namespace

void run_command(Context &ctx, const std::vector<std::string> &words) {
  for (const Command &c : kCommands) {
    if (words.at(0) != c.name) continue;
    if (c.script_only && !ctx.script())
      usage_error(std::string(c.name) + ": only in script mode (offkv URL -)");
    std::vector<std::string> rest(words.begin() + 1, words.end());
    std::string synopsis = std::string(c.name) + (*c.synopsis ? " " : "") + c.synopsis;
    c.run(ctx, parse_args(c.name, rest, c.options, c.min, c.max, synopsis));
    return;
  }
  usage_error("unknown command '" + words.at(0) + "'");
}

bool is_command(const std::string &word) {
  for (const Command &c : kCommands)
    if (word == c.name) return true;
  return false;
}

std::string commands_help() {
  std::string out;
  for (const Command &c : kCommands) {
    out += std::string("  ") + c.name + (*c.synopsis ? " " : "") + c.synopsis;
    out += std::string("\n      ") + c.summary + "\n";
  }
  return out;
}

}  // namespace cli
