// offkv's log: one process-wide callback (offkv_set_log_callback), off by default —
// nothing is printed unless asked. The ZooKeeper C client's and gRPC's own lines go
// through it too (so gRPC's handshake errors no longer reach stderr by default).
#pragma once

#include <string>

namespace offkv {
namespace log {

enum Level { Error = 1, Warn = 2, Info = 3, Debug = 4 };
using Callback = void (*)(int level, const char *component, const char *message,
                          void *user);

// Replaces the callback; max_level is the most verbose level passed on. A null
// callback turns logging off. Returns once no call of the previous callback runs.
void set(Callback callback, void *user, int max_level);
bool enabled(int level);
// Calls the callback (if one is set and level passes), never throws.
void write(int level, const char *component, const std::string &message) noexcept;

}  // namespace log
}  // namespace offkv
