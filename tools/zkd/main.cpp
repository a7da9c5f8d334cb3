// offkv-zkd [--listen ADDR:PORT] [--oracle zk://HOST:PORT] ... URL
// Serves ZooKeeper's client protocol over the offkv store at URL (docs/zkd.md).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "log.hpp"
#include "zkd.hpp"

namespace {

void usage(FILE *out) {
  std::fputs(
      "usage: offkv-zkd [--listen ADDR:PORT] [--oracle zk://HOST:PORT] [--oracle-log FILE]\n"
      "                 [--min-session-timeout MS] [--max-session-timeout MS]\n"
      "                 [--port-file FILE] [--verbose] URL\n"
      "Serves the ZooKeeper client protocol (3.5-3.8 clients) over the offkv store at URL\n"
      "(mem://NAME, zk://..., etcd://..., consul://...). --listen defaults to\n"
      "127.0.0.1:2181 (port 0: any free port, written to --port-file). --oracle sends every\n"
      "request to a real ZooKeeper too and logs each divergence of its answers.\n",
      out);
}

}  // namespace

int main(int argc, char **argv) {
  zkd::Config config;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "offkv-zkd: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--listen") config.listen = value();
    else if (a == "--oracle") config.oracle = value();
    else if (a == "--oracle-log") config.oracle_log = value();
    else if (a == "--port-file") config.port_file = value();
    else if (a == "--min-session-timeout") config.min_session_timeout = std::stoi(value());
    else if (a == "--max-session-timeout") config.max_session_timeout = std::stoi(value());
    else if (a == "--verbose" || a == "-v") config.verbose = true;
    else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "offkv-zkd: unknown option %s\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (config.url.empty()) {
      config.url = a;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (config.url.empty()) {
    usage(stderr);
    return 2;
  }
  if (!config.oracle.empty() && config.oracle.rfind("zk://", 0) != 0) {
    std::fprintf(stderr, "offkv-zkd: --oracle wants zk://HOST:PORT\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  static zkd::Server server(config);
  std::thread([stop] {
    int sig = 0;
    sigwait(&stop, &sig);
    server.close_all();
    std::fflush(nullptr);
    std::_Exit(0);
  }).detach();
  return server.run();
}
