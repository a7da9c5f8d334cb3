package offkv

import "testing"

// The names come from the library (offkv_event_type_name, offkv_session_state_name).
func TestEventAndStateNames(t *testing.T) {
	types := map[EventType]string{
		EventCreated: "CREATED", EventDeleted: "DELETED", EventChanged: "CHANGED",
		EventChildren: "CHILDREN", EventEnded: "ENDED", eventSession: "SESSION",
		EventLeader: "LEADER", EventNotLeader: "NOT_LEADER", EventDetected: "DETECTED",
		EventMembers: "MEMBERS", EventType(0): "EventType(0)", EventType(99): "EventType(99)",
	}
	for typ, want := range types {
		if got := typ.String(); got != want {
			t.Errorf("EventType(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
	states := map[SessionState]string{
		SessionConnected: "CONNECTED", SessionSuspended: "SUSPENDED", SessionLost: "LOST",
		SessionClosed: "CLOSED", SessionState(0): "SessionState(0)", SessionState(-3): "SessionState(-3)",
	}
	for state, want := range states {
		if got := state.String(); got != want {
			t.Errorf("SessionState(%d).String() = %q, want %q", int(state), got, want)
		}
	}
}
