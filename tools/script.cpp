// Script mode (`offkv URL -`): one command per line from stdin, all in one process,
// so mem:// stores, sessions, ephemerals and watches live across the lines.
#include <cstdio>
#include <iostream>

#include "cli.hpp"

namespace cli {

int run_script(Context &ctx) {
  std::string line;
  while (std::getline(std::cin, line)) {
    // A leading '-' (as in a Makefile) lets the line fail: the error is printed and
    // the script goes on. Otherwise the first failure ends the script.
    std::size_t start = line.find_first_not_of(" \t");
    bool may_fail = start != std::string::npos && line[start] == '-';
    if (may_fail) line.erase(0, start + 1);
    try {
      std::vector<std::string> words = split_line(line);
      if (!words.empty()) run_command(ctx, words);
      std::fflush(stdout);
    } catch (const Failure &f) {
      report(f);
      if (!may_fail) return f.status;
    }
  }
  return kExitOk;
}

}  // namespace cli
