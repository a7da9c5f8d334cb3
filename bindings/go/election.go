package offkv

// #include "shim.h"
import "C"

import "context"

// Election is one contender in a leader election (Mesos' contender, Curator's
// LeaderLatch): an ephemeral sequential member under the group; the lowest sequence
// leads; each contender watches only its predecessor.
//
// Events() tells every change of this contender's leadership: EventLeader when it
// becomes leader, EventNotLeader when it stops (session suspended or lost, client
// closed, member node erased, or withdrawn; Err says why). The two strictly
// alternate, LEADER first. After a lost session the election re-contends by itself.
// IsLeader is the library's belief: it becomes true before EventLeader is sent and
// false before EventNotLeader is sent.
type Election struct {
	r   *recipe
	ptr *C.offkv_election
}

// Contend joins the election for group with payload (e.g. "host:port") and returns
// at once; leadership is decided in the background and reported on Events(). The
// group node is created (with its missing parents) if needed. If ctx is done before
// the library returns, the new contender is withdrawn in the background.
//
// WithLabel(MesosMasterLabel) contends in Mesos' layout: the member node is
// group/json.info_<seq> and only members with that label contend.
func (c *Client) Contend(ctx context.Context, group string, payload []byte, opts ...RecipeOption) (*Election, error) {
	g, ok := cString(group)
	if !ok {
		return nil, errNUL("contend", group, "group")
	}
	cfg, err := recipeOptions("contend", group, opts)
	if err != nil {
		return nil, err
	}
	payload = ownValue(ctx, payload)
	var e *Election
	err = c.do(ctx, "contend", group, func(p *C.offkv_client) error {
		r := c.newRecipe("election", group, true)
		r.label = cfg.label
		v, n := valuePtr(payload)
		var ptr *C.offkv_election
		var detail *C.char
		if rc := C.goffkv_election_contend(p, charPtr(g), cfg.labelPtr(), v, n, r.handleArg(), &ptr, &detail); rc != 0 {
			r.failed()
			return newError(rc, "contend", group, takeDetail(detail))
		}
		e = &Election{r: r, ptr: ptr}
		r.stop = func() error {
			var detail *C.char
			if rc := C.goffkv_election_withdraw(ptr, &detail); rc != 0 {
				return newError(rc, "withdraw", group, takeDetail(detail))
			}
			return nil
		}
		r.free = func() { C.offkv_election_free(ptr) }
		r.created()
		return nil
	}, func() { e.Withdraw() })
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Events returns the channel of EventLeader / EventNotLeader events. It is closed
// when the election is withdrawn or its client closed. Events queue without bound
// until read.
func (e *Election) Events() <-chan RecipeEvent { return e.r.events.out }

// Group returns the group key.
func (e *Election) Group() string { return e.r.key }

// Label returns the member label given with WithLabel ("" for offkv's own names).
func (e *Election) Label() string { return e.r.label }

// IsLeader reports whether this contender is the leader right now (false once
// withdrawn).
func (e *Election) IsLeader() bool {
	var leader C.int
	err := e.r.do(context.Background(), "is_leader", func() error {
		var detail *C.char
		if rc := C.goffkv_election_is_leader(e.ptr, &leader, &detail); rc != 0 {
			return newError(rc, "is_leader", e.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
	return err == nil && leader != 0
}

// WaitLeader waits until this contender leads. It returns ErrClosed if the election
// was withdrawn or its client closed, a *ContextError when ctx is done first.
func (e *Election) WaitLeader(ctx context.Context) error { return e.wait(ctx, "wait_leader", 1) }

// WaitNotLeader waits until this contender does not lead (at once if it does not).
func (e *Election) WaitNotLeader(ctx context.Context) error {
	return e.wait(ctx, "wait_not_leader", 0)
}

func (e *Election) wait(ctx context.Context, op string, leader C.int) error {
	return e.r.do(ctx, op, func() error {
		return sliced(ctx, op, e.r.key, func(ms C.int) (C.int, string) {
			var detail *C.char
			rc := C.goffkv_election_wait(e.ptr, leader, ms, &detail)
			return rc, takeDetail(detail)
		})
	}, nil)
}

// Member returns this contender's current member node; ErrNoEntry while it has none
// (session lost, being re-created, withdrawn).
func (e *Election) Member() (Member, error) {
	var m Member
	err := e.r.do(context.Background(), "member", func() error {
		cm := C.offkv_member{size: C.sizeof_offkv_member}
		var detail *C.char
		if rc := C.goffkv_election_member(e.ptr, &cm, &detail); rc != 0 {
			return newError(rc, "member", e.r.key, takeDetail(detail))
		}
		m = takeMember(&cm)
		return nil
	}, nil)
	return m, err
}

// Withdraw leaves the election: if leader, EventNotLeader (Err nil) is delivered
// first, then the member node is erased, so the next leader is elected only after
// this one was told. It is final: the Events channel is closed and the handle freed
// once calls in flight (WaitLeader on other goroutines returns ErrClosed) are done.
// Twice is fine. An error means the node could not be erased (it still goes when
// the session ends).
func (e *Election) Withdraw() error { return e.r.close(true) }

// Close is Withdraw (io.Closer).
func (e *Election) Close() error { return e.Withdraw() }
