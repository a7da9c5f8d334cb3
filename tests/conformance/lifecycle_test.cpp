// Client and watch lifetime at the edges: a client closed by its own callback, a
// watch whose read fails because the session ended.
#include "conformance.hpp"

namespace {

struct SelfClose {
  offkv_client *client = nullptr;
  std::atomic<bool> closed{false};
  std::atomic<bool> freed{false};
  std::atomic<int> ended_before_free{0};
  std::atomic<int> after_free{0};
};

void close_own_client(const offkv_event *, void *user) {
  auto *state = static_cast<SelfClose *>(user);
  offkv_close(state->client);
  state->closed = true;
  // Give a racing offkv_client_free time to return before the queued ENDED run.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

void count_ended(const offkv_event *event, void *user) {
  auto *state = static_cast<SelfClose *>(user);
  if (state->freed)
    ++state->after_free;
  else if (event->type == OFFKV_EVENT_ENDED)
    ++state->ended_before_free;
}

}  // namespace

TEST_CASE(
    "a client closed by its own callback and freed elsewhere runs no callback "
    "after free returns",
    "[sessions][watches]") {
  conf::Env env;
  auto &state = env.own<SelfClose>();
  REQUIRE_OK(offkv_open(env.url().c_str(), nullptr, &state.client));

  std::int64_t version = -1;
  REQUIRE_OK(offkv_exists_watch(state.client, "/trigger", &version, close_own_client,
                                &state, nullptr));
  CHECK(version == 0);
  for (int i = 0; i < 4; ++i) {
    std::string key = "/w" + std::to_string(i);
    REQUIRE_OK(offkv_exists_watch(state.client, key.c_str(), &version, count_ended,
                                  &state, nullptr));
  }

  conf::create(env.c(), "/trigger");
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(conf::kEventMs);
  while (!state.closed && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(state.closed);

  offkv_client_free(state.client);
  state.freed = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(conf::kQuietMs + 300));
  CHECK(state.after_free == 0);
  CHECK(state.ended_before_free == 4);
}
