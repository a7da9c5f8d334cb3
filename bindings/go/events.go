package offkv

// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime/cgo"
	"runtime/debug"
	"sync/atomic"
)

// EventType says what a watch event reports (offkv_event_type).
type EventType int

const (
	EventCreated  EventType = C.OFFKV_EVENT_CREATED  // the node was created
	EventDeleted  EventType = C.OFFKV_EVENT_DELETED  // the node was erased
	EventChanged  EventType = C.OFFKV_EVENT_CHANGED  // the node's value was replaced
	EventChildren EventType = C.OFFKV_EVENT_CHILDREN // a direct child was added or removed
	EventEnded    EventType = C.OFFKV_EVENT_ENDED    // the watch ended: session lost, client closed
	eventSession  EventType = C.OFFKV_EVENT_SESSION  // session transition (SessionEvents)

	// Recipe events (RecipeEvent).
	EventLeader    EventType = C.OFFKV_EVENT_LEADER     // this contender became the leader
	EventNotLeader EventType = C.OFFKV_EVENT_NOT_LEADER // this contender lost leadership; Err says why
	EventDetected  EventType = C.OFFKV_EVENT_DETECTED   // a detector's view of the leader changed
	EventMembers   EventType = C.OFFKV_EVENT_MEMBERS    // a group's membership (or a payload) changed
)

// String is the library's name of the type (offkv_event_type_name), or
// EventType(N) for a number the library does not know.
func (t EventType) String() string {
	if name := C.GoString(C.offkv_event_type_name(C.int(t))); name != "UNKNOWN" {
		return name
	}
	return fmt.Sprintf("EventType(%d)", int(t))
}

// SessionState is the state of a client's session (offkv_session_state).
type SessionState int

const (
	SessionConnected SessionState = C.OFFKV_SESSION_CONNECTED // live, server reachable
	SessionSuspended SessionState = C.OFFKV_SESSION_SUSPENDED // connection lost; session may live
	SessionLost      SessionState = C.OFFKV_SESSION_LOST      // expired: ephemerals and watches gone
	SessionClosed    SessionState = C.OFFKV_SESSION_CLOSED    // Close was called
)

// String is the library's name of the state (offkv_session_state_name), or
// SessionState(N) for a number the library does not know.
func (s SessionState) String() string {
	if name := C.GoString(C.offkv_session_state_name(C.int(s))); name != "UNKNOWN" {
		return name
	}
	return fmt.Sprintf("SessionState(%d)", int(s))
}

// Event is one watch event.
type Event struct {
	Type    EventType
	Key     string // the key that changed, relative to the client's root
	Version int64  // version after the change; 0 if the node is gone; -1 if unknown
	// For EventEnded: the session state that ended the watch, and the reason as an
	// *Error wrapping ErrClosed (client closed) or ErrSession (session lost).
	State   SessionState
	Err     error
	Message string // the library's human-readable detail, may be ""
}

func (e Event) String() string {
	if e.Type == EventEnded {
		return fmt.Sprintf("%s %q (%v)", e.Type, e.Key, e.Err)
	}
	return fmt.Sprintf("%s %q v%d", e.Type, e.Key, e.Version)
}

// SessionEvent is one session state transition.
type SessionEvent struct {
	State   SessionState
	Message string
}

// eventSink receives the events of one C callback registration. deliver runs on the
// client's event thread (a C thread) and must never block for long: it only appends
// to a queue or sends into a channel with room.
type eventSink interface {
	deliver(Event)
}

// trampolinePanics counts panics recovered in the trampoline: a panic must never
// unwind into C. Tests assert it stays 0.
var (
	trampolinePanics    atomic.Int64
	lastTrampolinePanic atomic.Value // string: the last recovered value and its stack
)

// goffkvEvent is the one exported Go function: every C callback of this package
// arrives here on the client's event thread, with the cgo.Handle of its sink as the
// user pointer: watch and session events as ev (rev nil), recipe events as rev (ev
// nil). The events' strings and members are valid only during the call, so they are
// copied before anything else.
//
//export goffkvEvent
func goffkvEvent(ev *C.offkv_event, rev *C.offkv_recipe_event, h C.uintptr_t) {
	var what any
	defer func() {
		if r := recover(); r != nil {
			trampolinePanics.Add(1)
			lastTrampolinePanic.Store(fmt.Sprintf("%v (handle %d, event %v)\n%s", r, h, what, debug.Stack()))
		}
	}()
	if rev != nil {
		e := recipeEventFromC(rev)
		what = e
		if sink, ok := lookup(cgo.Handle(h)); ok {
			sink.(recipeSink).deliverRecipe(e)
			return
		}
	} else {
		e := eventFromC(ev)
		what = e
		if sink, ok := lookup(cgo.Handle(h)); ok {
			sink.(eventSink).deliver(e)
			return
		}
	}
	strayEvents.Add(1)
}

func eventFromC(ev *C.offkv_event) Event {
	e := Event{
		Type:    EventType(ev._type),
		Version: int64(ev.version),
		State:   SessionState(ev.session_state),
	}
	if ev.key != nil {
		e.Key = C.GoString(ev.key)
	}
	if ev.message != nil {
		e.Message = C.GoString(ev.message)
	}
	if e.Type == EventEnded && ev.error != 0 {
		e.Err = &Error{Code: Code(ev.error), Op: "watch", Key: e.Key, Message: e.Message}
	}
	return e
}

// strayEvents counts callbacks that arrived for a handle already deleted.
//
// The C API promises that a *_watch call that fails leaves no watch, but the library
// breaks that promise when the session ends (Close, LOST) while the read is in flight:
// the half-registered watch is sent ENDED, then the read fails. The binding deleted
// the handle when the read failed, so that ENDED finds no sink. cgo.Handles are never
// reused, so such an event cannot reach another watch; it is dropped here.
var strayEvents atomic.Int64

// lookup is cgo.Handle.Value for a handle that may have been deleted.
func lookup(h cgo.Handle) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = nil, false
		}
	}()
	return h.Value(), true
}
