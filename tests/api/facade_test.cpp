// The facade's shared helpers (issue 17): names of event types and session states,
// options set by name, the scheme list, the error copy. Each with its bad input.
#include <offkv.h>

#include <catch2/catch.hpp>
#include <climits>
#include <cstring>
#include <set>
#include <string>

namespace {

std::string str(const char *s) {
  REQUIRE(s != nullptr);
  return s;
}

}  // namespace

TEST_CASE("event type names", "[api][facade]") {
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CREATED)) == "CREATED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_DELETED)) == "DELETED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CHANGED)) == "CHANGED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_CHILDREN)) == "CHILDREN");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_ENDED)) == "ENDED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_SESSION)) == "SESSION");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_LEADER)) == "LEADER");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_NOT_LEADER)) == "NOT_LEADER");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_DETECTED)) == "DETECTED");
  CHECK(str(offkv_event_type_name(OFFKV_EVENT_MEMBERS)) == "MEMBERS");
  for (int bad : {0, -1, OFFKV_EVENT_MEMBERS + 1, 1000, INT_MIN, INT_MAX}) {
    INFO("type " << bad);
    CHECK(str(offkv_event_type_name(bad)) == "UNKNOWN");
  }
}

TEST_CASE("session state names", "[api][facade]") {
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_CONNECTED)) == "CONNECTED");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_SUSPENDED)) == "SUSPENDED");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_LOST)) == "LOST");
  CHECK(str(offkv_session_state_name(OFFKV_SESSION_CLOSED)) == "CLOSED");
  for (int bad : {0, -1, OFFKV_SESSION_CLOSED + 1, 1000, INT_MIN, INT_MAX}) {
    INFO("state " << bad);
    CHECK(str(offkv_session_state_name(bad)) == "UNKNOWN");
  }
}
