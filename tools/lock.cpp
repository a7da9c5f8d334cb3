// `lock [--wait MS] KEY [--] COMMAND [ARGS...]`: runs COMMAND while holding the lock
// KEY (the library's lock recipe, offkv_lock_*), then releases it. The exit status is
// COMMAND's (128+N if it was killed by signal N). SIGINT, SIGTERM and SIGHUP sent to
// offkv are passed on to COMMAND; offkv waits for it, releases and exits with its
// status. A signal that arrives while waiting for the lock ends the wait: nothing is
// run, the exit status is 128+N.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "cli.hpp"

extern char **environ;

namespace cli {

namespace {

struct LockDeleter {
  void operator()(offkv_lock *lock) const { offkv_lock_free(lock); }
};

// The signals offkv handles itself while `lock` runs, synchronously (sigtimedwait):
// they are blocked in every thread, the library's included.
sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGCHLD);
  return set;
}

// Waits up to 100 ms for one of `set`; 0 if none came.
int next_signal(const sigset_t &set, siginfo_t &info) {
  timespec tick = {0, 100 * 1000 * 1000};
  int sig = sigtimedwait(&set, &info, &tick);
  return sig < 0 ? 0 : sig;
}

// Runs argv with the signal mask offkv started with (its dispositions are offkv's:
// the handled signals are only blocked, never caught).
pid_t spawn(const std::string &what, const std::vector<std::string> &command,
            const sigset_t &original_mask) {
  std::vector<char *> argv;
  for (const std::string &word : command)
    argv.push_back(const_cast<char *>(word.c_str()));
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &original_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0)  // as a shell: 127 not found, 126 found but not runnable
    throw Failure{err == ENOENT ? 127 : 126,
                  what + ": cannot run '" + command[0] + "': " + std::strerror(err)};
  return pid;
}

}  // namespace

void cmd_lock(Context &ctx, const Args &a) {
  if (ctx.script()) usage_error("lock: not available in script mode");
  const std::string &key = a.operands[0];
  std::vector<std::string> command(a.operands.begin() + 1, a.operands.end());
  if (!command.empty() && command[0] == "--") command.erase(command.begin());
  if (command.empty())
    usage_error("lock: expected lock [--wait MS] KEY [--] COMMAND [ARGS...]");
  int wait_ms = -1;  // forever
  if (a.has("--wait")) {
    std::int64_t n = parse_int64("lock", "--wait", a.options.at("--wait"));
    if (n < 0 || n > INT32_MAX)
      usage_error("lock: --wait '" + a.options.at("--wait") + "' must be 0.." +
                  std::to_string(INT32_MAX) + " milliseconds");
    wait_ms = static_cast<int>(n);
  }
  const std::string what = "lock " + key;

  // Block the signals before the client starts its threads, so that they inherit the
  // mask and the signals wait for sigtimedwait here.
  sigset_t set = handled_signals(), original;
  pthread_sigmask(SIG_BLOCK, &set, &original);
  offkv_client *client = ctx.client();
  offkv_lock *raw = nullptr;
  check(offkv_lock_new(client, key.c_str(), &raw), what);
  std::unique_ptr<offkv_lock, LockDeleter> lock(raw);

  // Acquire on a thread, so that a signal can end the wait (closing the client makes
  // the acquire return OFFKV_ECLOSED).
  std::atomic<bool> acquired_done{false};
  int acquired = OFFKV_OK;
  std::thread acquirer([&] {
    acquired = offkv_lock_acquire(lock.get(), wait_ms);
    acquired_done = true;
  });
  int interrupted = 0;
  siginfo_t info;
  while (!acquired_done) {
    int sig = next_signal(set, info);
    if (sig != 0 && sig != SIGCHLD && !interrupted) {
      interrupted = sig;
      offkv_close(client);
    }
  }
  acquirer.join();
  if (interrupted) throw Failure{128 + interrupted, ""};
  check(acquired, what);

  pid_t pid = -1;
  try {
    pid = spawn(what, command, original);
  } catch (const Failure &) {
    offkv_lock_release(lock.get());
    throw;
  }
  int status = 0;
  for (;;) {
    int sig = next_signal(set, info);
    // A terminal's Ctrl-C (si_code SI_KERNEL) already went to the whole foreground
    // process group, COMMAND included: pass on only signals sent to offkv alone.
    if (sig != 0 && sig != SIGCHLD && info.si_code != SI_KERNEL) kill(pid, sig);
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      status = 0;
      break;
    }
  }
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
             : WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 1;
  int rc = offkv_lock_release(lock.get());
  if (rc != OFFKV_OK) {
    // The lock had been lost (session ended, node erased) while COMMAND ran: its work
    // was not protected. Say so, and never exit 0.
    Failure f = op_failure(what, rc);
    f.message += " (the lock was lost while the command ran)";
    f.status = code != 0 ? code : kExitFailed;
    throw f;
  }
  if (code != 0) throw Failure{code, ""};
}

}  // namespace cli
