// Helpers shared by every subject: percentiles, process CPU time, the in-flight window.
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "bench.hpp"

namespace bench {

const char *op_name(Op op) {
  switch (op) {
    case Op::Get:
      return "get";
    case Op::Exists:
      return "exists";
    case Op::Set:
      return "set";
    case Op::CreateErase:
      return "create+erase";
    case Op::Cas:
      return "cas";
    case Op::Children:
      return "children";
    case Op::Create:
      return "create";
  }
  return "?";
}

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }

double process_cpu_us() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto us = [](const timeval &tv) { return tv.tv_sec * 1e6 + tv.tv_usec; };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * v.size()));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void Window::launch(int i) {
  start_(i, [this](bool ok, const std::string &message) { finished(ok, message); });
}

void Window::finished(bool ok, const std::string &message) {
  int next = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++completed_;
    if (!ok && error_.empty()) error_ = message.empty() ? "failed" : message;
    // The next operation is claimed under the lock: once the last one has ended, run()
    // may return and destroy this window, so nothing here touches it after unlocking.
    if (next_ < total_ && error_.empty()) next = next_++;
    if (all_ended()) cv_.notify_all();
  }
  if (next >= 0) launch(next);
}

void Window::run() {
  for (int k = 0; k < std::min(window_, total_); ++k) {
    int i;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Completions meanwhile may have started the rest already.
      if (!error_.empty() || next_ >= total_) break;
      i = next_++;
    }
    launch(i);
  }
  std::unique_lock<std::mutex> lock(mu_);
  // After a failure nothing more starts, but those in flight still end here.
  cv_.wait(lock, [this] { return all_ended(); });
  if (!error_.empty()) throw Fail(error_);
}

}  // namespace bench
