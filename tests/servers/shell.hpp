// Running a shell command from a server test (curl against a server, a server
// script), shared by the server tests.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>

namespace servertest {

// Runs a shell command and returns its standard output (trailing newline removed).
inline std::string run(const std::string &cmd) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  if (rc != 0)
    throw std::runtime_error(cmd + " failed (" + std::to_string(rc) + "): " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace servertest
