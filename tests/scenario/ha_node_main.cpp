// offkv_ha_node URL ROLE NAME: one contender or detector process of the Mesos HA
// scenario (see ha_node.hpp for what it logs on stdout). Runs until SIGTERM or
// SIGINT, then stops gracefully; SIGKILL is the crash the scenario is about.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ha_node.hpp"

int main(int argc, char **argv) {
  if (argc != 4 ||
      (std::strcmp(argv[2], "contender") != 0 && std::strcmp(argv[2], "detector") != 0)) {
    std::fprintf(stderr, "usage: %s URL contender|detector NAME\n", argv[0]);
    return 2;
  }
  // Block the stop signals in every thread (the library's too); main waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  ha::Node node(argv[1], argv[2], argv[3], [](const std::string &line) {
    // One write per line, never buffered: a SIGKILL loses nothing already logged.
    const char *p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(STDOUT_FILENO, p, left);
      if (n <= 0) return;
      p += n;
      left -= static_cast<size_t>(n);
    }
  });
  int rc = node.start();
  if (rc != OFFKV_OK) {
    std::fprintf(stderr, "%s %s: cannot start: %s: %s\n", argv[2], argv[3],
                 offkv_error_name(rc), offkv_last_error());
    return 1;
  }
  int sig = 0;
  sigwait(&stop, &sig);
  node.stop();
  return 0;
}
