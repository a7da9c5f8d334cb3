// offkv: the command-line tool. `offkv [--timeout MS] URL COMMAND ARGS...` runs one
// command; `offkv URL -` runs commands read from stdin in one process (script mode).
#include <algorithm>
#include <cstdio>

#include "cli.hpp"

namespace cli {
namespace {

const char kUsage[] =
    "usage: offkv [--timeout MS] [--stats] URL COMMAND [ARGS...]\n"
    "       offkv [--timeout MS] [--stats] URL -      (script mode: commands from "
    "stdin)\n"
    "       offkv --help | --version\n"
    "\n"
    "--stats prints each session's counters on stderr when offkv ends.\n"
    "URL is mem://NAME, zk://HOST:PORT[,...], etcd[s]://HOST:PORT[,...] or\n"
    "consul[s]://HOST:PORT, each with an optional /prefix and ?option=value&...\n"
    "The command may also come first: offkv COMMAND URL [ARGS...]; copy takes\n"
    "two URLs: offkv copy [--dry-run] SRC-URL DST-URL [KEY].\n"
    "--timeout MS sets the connect and operation timeouts (and wait's default).\n"
    "VALUE '-' reads the value from stdin (not in script mode).\n"
    "\n"
    "Commands:\n";

const char kScriptHelp[] =
    "\n"
    "Script mode reads one command per line; blanks separate words, '...' is\n"
    "literal, \"...\" knows \\\\ \\\" \\n \\t \\xHH, '#' starts a comment. The first\n"
    "failing line ends the script with its exit status, unless the line starts\n"
    "with '-'. In script mode `get` ends its value with a newline and `watch` only\n"
    "arms the watch: `wait` prints its events.\n"
    "\n"
    "Exit status: 0 success, 1 the operation failed (message on stderr),\n"
    "2 bad command line; lock: COMMAND's status (128+N if killed by signal N).\n";

int run(const std::vector<std::string> &args) {
  std::size_t i = 0;
  int timeout_ms = 0;
  bool stats = false;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::printf("%s%s%sBackends compiled in: %s.\n", kUsage, commands_help().c_str(),
                  kScriptHelp, offkv_backends());
      return kExitOk;
    }
    if (args[i] == "--version") {
      std::printf("offkv %s\n", offkv_version_string());
      return kExitOk;
    }
    if (args[i] == "--stats") {
      stats = true;
      continue;
    }
    if (args[i] != "--timeout") usage_error("unknown option '" + args[i] + "'");
    if (++i == args.size()) usage_error("--timeout needs a value");
    timeout_ms = parse_ms("--timeout", "MS", args[i]);
  }
  if (i == args.size()) usage_error("missing URL");
  std::vector<std::string> words;
  std::string url;
  if (is_command(args[i])) {  // offkv COMMAND URL ARGS..., offkv copy SRC DST [KEY]
    words.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    if (words[0] !=
        "copy") {  // the URL: the first word with "://" (options may precede it)
      auto it = std::find_if(words.begin() + 1, words.end(), [](const std::string &w) {
        return w.find("://") != std::string::npos;
      });
      if (it == words.end()) usage_error(words[0] + ": missing URL");
      url = *it;
      words.erase(it);
    }
  } else {
    url = args[i++];
    if (i == args.size()) usage_error("missing COMMAND (or '-' for script mode)");
    words.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
    if (words[0] == "copy")
      usage_error("copy: no URL before it: offkv copy [--dry-run] SRC-URL DST-URL [KEY]");
  }
  bool script = words[0] == "-";
  if (script && words.size() > 1) usage_error("script mode '-' takes no arguments");
  Context ctx(url, timeout_ms, script);
  if (stats) ctx.print_stats_at_end();
  if (script) return run_script(ctx);
  run_command(ctx, words);
  return kExitOk;
}

}  // namespace
}  // namespace cli

int main(int argc, char **argv) {
  try {
    return cli::run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const cli::Failure &f) {
    cli::report(f);
    return f.status;
  }
}
