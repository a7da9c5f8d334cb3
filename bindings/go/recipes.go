package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"sync"
	"time"
	"unsafe"
)

// The recipes (Election, Detector, Group, Mutex) are the library's own, built once in
// the core on the operations above (capi/offkv.h, docs/recipes.md). Each participant
// is an ephemeral sequential member node under a group key; the lowest sequence is
// the leader or the lock holder. This file holds what the four Go wrappers share.

// Member is one member of a group, election or lock.
type Member struct {
	Key      string // the member node, e.g. "/svc/member-3f…-0000000007"
	Sequence int64  // lower = joined earlier; with Key, a fencing token
	Version  int64  // the node's version when read; -1 unknown
	Payload  []byte
}

// RecipeEvent is what a recipe reports on its Events channel.
type RecipeEvent struct {
	// EventLeader / EventNotLeader (Election), EventDetected (Detector),
	// EventMembers (Group).
	Type EventType
	// Leader events: this contender's own member. EventDetected: the leader, or nil
	// when there is none. EventMembers: nil.
	Member  *Member
	Group   string   // the group key
	Members []Member // EventMembers: every member, by sequence
	State   SessionState
	// Why, for losses: EventNotLeader wraps ErrConnLoss (session suspended),
	// ErrSession (lost), ErrClosed (client closed) or ErrNoEntry (member node erased);
	// nil when withdrawn. EventDetected / EventMembers wrap ErrSession when the view
	// was dropped because the session was lost (it is rebuilt on a new session).
	Err     error
	Message string
}

func (e RecipeEvent) String() string {
	s := e.Type.String() + " " + e.Group
	switch {
	case e.Type == EventMembers:
		s += fmt.Sprintf(" (%d members)", len(e.Members))
	case e.Member != nil:
		s += " " + e.Member.Key
	}
	if e.Err != nil {
		s += fmt.Sprintf(" (%v)", e.Err)
	}
	return s
}

// MesosMasterLabel is the member label of a Mesos master's nodes (json.info_<seq>,
// MasterInfo as JSON; OFFKV_MESOS_MASTER_LABEL): WithLabel(MesosMasterLabel) follows
// or joins a stock Mesos master group.
const MesosMasterLabel = "json.info"

// RecipeOption configures Contend, Detect and OpenGroup.
type RecipeOption func(*recipeConfig)

type recipeConfig struct {
	label   string
	labeled bool
	cLabel  []byte // NUL-terminated label, kept alive for the call
}

// WithLabel uses Mesos' layout: member nodes named <label>_<10 digits> exactly as a
// Mesos master's ZooKeeper group names them, and only members with that label take
// part (offkv_*_labeled). The library checks the label (non-empty, no '/' or '_',
// valid in a key): an invalid one is ErrInvalid.
func WithLabel(label string) RecipeOption {
	return func(c *recipeConfig) { c.label, c.labeled = label, true }
}

func recipeOptions(op, key string, opts []RecipeOption) (recipeConfig, error) {
	var cfg recipeConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.labeled {
		l, ok := cString(cfg.label)
		if !ok {
			return cfg, errNUL(op, key, "label")
		}
		cfg.cLabel = l
	}
	return cfg, nil
}

// labelPtr is the label for C: NULL without WithLabel.
func (c *recipeConfig) labelPtr() *C.char {
	if !c.labeled {
		return nil
	}
	return charPtr(c.cLabel)
}

// recipeSink receives a recipe's callbacks (on the event thread; never blocks).
type recipeSink interface {
	deliverRecipe(RecipeEvent)
}

func memberFromC(m *C.offkv_member) Member {
	out := Member{Sequence: int64(m.sequence), Version: int64(m.version)}
	if m.key != nil {
		out.Key = C.GoString(m.key)
	}
	out.Payload = []byte{}
	if m.payload.len > 0 {
		out.Payload = append(out.Payload, unsafe.Slice((*byte)(unsafe.Pointer(m.payload.data)), int(m.payload.len))...)
	}
	return out
}

// takeMember copies and frees a member the library returned.
func takeMember(m *C.offkv_member) Member {
	defer C.offkv_member_free(m)
	return memberFromC(m)
}

// takeMembers copies and frees a member list the library returned.
func takeMembers(ms *C.offkv_members) []Member {
	defer C.offkv_members_free(ms)
	out := make([]Member, 0, int(ms.count))
	if ms.count == 0 {
		return out
	}
	items := unsafe.Slice(ms.items, int(ms.count))
	for i := range items {
		out = append(out, memberFromC(items[i]))
	}
	return out
}

func recipeEventFromC(ev *C.offkv_recipe_event) RecipeEvent {
	e := RecipeEvent{Type: EventType(ev._type), State: SessionState(ev.session_state)}
	if ev.group != nil {
		e.Group = C.GoString(ev.group)
	}
	if ev.message != nil {
		e.Message = C.GoString(ev.message)
	}
	if ev.member != nil {
		m := memberFromC(ev.member)
		e.Member = &m
	}
	if ev.members != nil && ev.member_count > 0 {
		items := unsafe.Slice(ev.members, int(ev.member_count))
		e.Members = make([]Member, 0, len(items))
		for i := range items {
			e.Members = append(e.Members, memberFromC(items[i]))
		}
	} else if e.Type == EventMembers {
		e.Members = []Member{}
	}
	if ev.error != 0 {
		e.Err = &Error{Code: Code(ev.error), Op: e.Type.String(), Key: e.Group, Message: e.Message}
	}
	return e
}

// recipeBuffer is the buffer of a recipe's Events channel (beyond the unbounded
// queue behind it).
const recipeBuffer = 16

// recipe is what the four wrappers share: the C handle's lifetime, the callback
// handle and its pump, and registration with the client so Close ends it.
//
// Lifetime: every call on the C handle holds a reference (hold/drop); close marks
// the recipe closed (new calls get ErrClosed), runs the C stop function, and the C
// handle is freed as soon as no call holds it, by whichever goroutine drops the last
// reference. After the free the cgo.Handle is deleted and the pump stopped.
type recipe struct {
	c     *Client
	kind  string // "election", "detector", "group", "lock"
	key   string
	label string // WithLabel's ("" = offkv's own member names)

	h      cgo.Handle // 0 for a Mutex (no callback)
	events *pump[RecipeEvent]

	stop func() error // C stop function (withdraw, close), may be nil
	free func()       // C free function

	mu       sync.Mutex
	inflight int
	closed   bool
	freed    chan struct{}

	closeOnce sync.Once
	closeErr  error
}

func (c *Client) newRecipe(kind, key string, callback bool) *recipe {
	r := &recipe{c: c, kind: kind, key: key, freed: make(chan struct{})}
	if callback {
		r.events = newPump(recipeBuffer, func(RecipeEvent) bool { return false }, nil)
		r.h = newHandle(r)
	}
	return r
}

// handleArg is the cgo.Handle as the C API's void *user.
func (r *recipe) handleArg() C.uintptr_t { return C.uintptr_t(r.h) }

// deliverRecipe runs on the event thread; the pump never blocks it.
func (r *recipe) deliverRecipe(e RecipeEvent) { r.events.push(e) }

// created finishes construction once the C handle exists (stop and free set), under
// the client's read lock so Close cannot miss it.
func (r *recipe) created() { r.c.trackRecipe(r) }

// failed undoes newRecipe when the C call made no handle (so no callback comes).
func (r *recipe) failed() {
	if r.events != nil {
		r.events.stop()
		deleteHandle(r.h)
	}
	close(r.freed)
}

// hold takes a reference for a call; false once closed.
func (r *recipe) hold() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.inflight++
	return true
}

func (r *recipe) drop() {
	r.mu.Lock()
	r.inflight--
	last := r.closed && r.inflight == 0
	r.mu.Unlock()
	if last {
		r.release()
	}
}

// release frees the C handle, then the callback handle, and forgets the recipe.
func (r *recipe) release() {
	r.free() // after it returns no callback runs
	if r.events != nil {
		deleteHandle(r.h)
		r.events.stop()
	}
	r.c.untrackRecipe(r)
	close(r.freed)
}

// close runs the stop function, marks the recipe closed and, when wait is true, waits
// until the C handle is freed (calls in flight have returned).
func (r *recipe) close(wait bool) error {
	r.closeOnce.Do(func() {
		if r.stop != nil && r.hold() {
			r.closeErr = r.stop()
			r.drop()
		}
		r.mu.Lock()
		r.closed = true
		last := r.inflight == 0
		r.mu.Unlock()
		if last {
			r.release()
		}
	})
	if wait {
		<-r.freed
	}
	return r.closeErr
}

// do runs call on the recipe's C handle, honouring ctx as Client calls do.
func (r *recipe) do(ctx context.Context, op string, call func() error, abandon func()) error {
	return r.doOpt(ctx, op, false, call, abandon)
}

// doOpt is do; deadlineBound as for runCtxOpt.
func (r *recipe) doOpt(ctx context.Context, op string, deadlineBound bool, call func() error, abandon func()) error {
	if ctx.Err() != nil {
		return ctxError(ctx, op, r.key)
	}
	if !r.hold() {
		return &Error{Code: ErrClosed, Op: op, Key: r.key, Message: r.kind + " is closed"}
	}
	err, abandoned := runCtxOpt(ctx, deadlineBound, func() error {
		defer r.drop()
		return call()
	}, abandon)
	if abandoned {
		return ctxError(ctx, op, r.key)
	}
	return err
}

func (c *Client) trackRecipe(r *recipe) {
	c.wmu.Lock()
	c.recipes[r] = struct{}{}
	c.wmu.Unlock()
}

func (c *Client) untrackRecipe(r *recipe) {
	c.wmu.Lock()
	delete(c.recipes, r)
	c.wmu.Unlock()
}

func (c *Client) liveRecipes() []*recipe {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out := make([]*recipe, 0, len(c.recipes))
	for r := range c.recipes {
		out = append(out, r)
	}
	return out
}

// ---- Timeouts ----

// waitSlice bounds each blocking recipe wait (election, detector): the C waits have
// no cancellation, so the binding waits in slices and checks ctx between them. A
// wait has no side effect, so slicing changes nothing but how soon a cancelled wait
// notices (and frees its OS thread).
const waitSlice = 100 * time.Millisecond

// timeoutMs is the C timeout for a call bounded by ctx: the time to ctx's deadline
// (at least 0, at most limit when limit > 0), or -1 (forever) without one and no limit.
func timeoutMs(ctx context.Context, limit time.Duration) C.int {
	d := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		d = max(time.Until(dl), 0)
	}
	if limit > 0 && ctx.Done() != nil && (d < 0 || d > limit) {
		d = limit
	}
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return C.int(min(ms, 1<<31-1))
}

// sliced repeats wait (a C wait returning OFFKV_ETIMEOUT when its slice expired)
// until it returns something else or ctx is done.
func sliced(ctx context.Context, op, key string, wait func(ms C.int) (C.int, string)) error {
	for {
		ms := timeoutMs(ctx, waitSlice)
		rc, detail := wait(ms)
		if rc != C.OFFKV_ETIMEOUT || ms < 0 {
			if rc == 0 {
				return nil
			}
			return newError(rc, op, key, detail)
		}
		if ctx.Err() != nil {
			return ctxError(ctx, op, key)
		}
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return &ContextError{Op: op, Key: key, Err: context.DeadlineExceeded}
		}
	}
}
