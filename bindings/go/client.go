package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// Client is an open offkv client: one session with one coordination service. It is
// safe for use by many goroutines at once. Close it when done: it ends the session
// (the client's ephemeral nodes vanish at once), ends every watch and frees every C
// resource and goroutine the client holds.
type Client struct {
	// mu guards ptr: every blocking C call on the client holds it for reading for
	// the whole call, every asynchronous one while it is started (offkv_close then
	// completes it); Close takes it for writing before freeing the handle, so it
	// waits for the blocking calls in flight (including ones abandoned through their
	// context).
	mu  sync.RWMutex
	ptr *C.offkv_client

	// Calls in the library's blocking form now (see blockingSlots).
	blockingCalls atomic.Int32

	closeOnce sync.Once
	closeErr  error
	closing   atomic.Bool

	session       *pump[SessionEvent]
	sessionHandle cgo.Handle

	// Watches not yet released, pumps of persistent watches still running, recipes
	// not yet freed; releasing counts watch releases in progress (Close waits).
	releasing sync.WaitGroup
	wmu       sync.Mutex
	watches   map[*Watch]struct{}
	pumps     map[*pump[Event]]struct{}
	recipes   map[*recipe]struct{}

	// The counters as Close left them, for Stats after Close.
	lastStats atomic.Pointer[map[string]uint64]
}

// sessionBuffer is the buffer of the SessionEvents channel (beyond the unbounded
// queue behind it).
const sessionBuffer = 16

type sessionSink struct{ p *pump[SessionEvent] }

func (s sessionSink) deliver(e Event) {
	s.p.push(SessionEvent{State: e.State, Message: e.Message})
}

// Open connects to url and starts the client's session:
//
//	mem://NAME[/prefix]
//	zk://host:port[,host:port...][/prefix]
//	etcd://host:port[,...][/prefix]      etcds://...   (TLS)
//	consul://host:port[/prefix]          consuls://... (TLS)
//
// optionally followed by ?name=value&... query options (they override opts).
//
// A deadline on ctx becomes the connect timeout when it is sooner than the one
// configured. If ctx is done before the library returns, Open returns a
// *ContextError at once; the half-made client is closed and freed in the background
// when the C call returns.
func Open(ctx context.Context, url string, opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, "open", "")
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, &ContextError{Op: "open", Err: context.DeadlineExceeded}
		}
		if cfg.connectTimeout == 0 || left < cfg.connectTimeout {
			cfg.connectTimeout = left
		}
	}
	curl, ok := cString(url)
	if !ok {
		return nil, errNUL("open", "", "URL")
	}
	var co cOptions
	if err := co.build(&cfg); err != nil {
		return nil, err
	}

	c := &Client{
		session: newPump(sessionBuffer, func(e SessionEvent) bool { return e.State == SessionClosed }, nil),
		watches: make(map[*Watch]struct{}),
		pumps:   make(map[*pump[Event]]struct{}),
		recipes: make(map[*recipe]struct{}),
	}
	c.sessionHandle = newHandle(sessionSink{c.session})
	err, abandoned := runCtx(ctx, func() error {
		defer co.free()
		var p *C.offkv_client
		var detail *C.char
		rc := C.goffkv_open(charPtr(curl), &co.opts, C.uintptr_t(c.sessionHandle), &p, &detail)
		if rc != 0 {
			// No client: every callback the failed open queued has already run.
			c.session.stop()
			deleteHandle(c.sessionHandle)
			return newError(rc, "open", "", takeDetail(detail))
		}
		c.ptr = p
		return nil
	}, func() { c.Close() })
	if abandoned {
		return nil, ctxError(ctx, "open", "")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Close ends the session at once: ephemeral nodes vanish, every watch receives
// EventEnded (wrapping ErrClosed) and its channel is closed, the SessionEvents
// channel receives SessionClosed and is closed, every recipe (Election, Detector,
// Group, Mutex) of the client is closed and its Events channel closed. Calls in
// flight in the library end first: each returns exactly once, with ErrClosed if it
// had not finished (ones abandoned through their context are completed and released
// too). Then the C client is freed. Every later call returns ErrClosed. Closing
// twice is fine; Close returns the first call's result.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		c.mu.RLock()
		p := c.ptr
		var detail *C.char
		// Ends the session; ENDED and CLOSED callbacks run before this returns.
		rc := C.goffkv_close(p, &detail)
		c.mu.RUnlock()
		if rc != 0 {
			c.closeErr = newError(rc, "close", "", takeDetail(detail))
		}

		// Counted here, not in C: a call that has not entered the library yet would
		// pass a freed pointer, which only the caller can prevent.
		c.mu.Lock() // waits for calls in flight
		if last, err := statsOf(p); err == nil {
			c.lastStats.Store(&last)
		}
		c.ptr = nil
		c.mu.Unlock()

		// Watches whose registration raced with the close, and pumps still holding
		// undelivered events: end them now so no goroutine outlives the client.
		for _, w := range c.liveWatches() {
			w.cancel()
		}
		c.releasing.Wait() // releases started elsewhere (a watch's context, ...)
		// Recipes: their blocking calls return ECLOSED now; free every handle.
		for _, r := range c.liveRecipes() {
			r.close(true)
		}
		for _, pm := range c.livePumps() {
			pm.stop()
		}
		C.offkv_client_free(p)
		c.session.stop()
		deleteHandle(c.sessionHandle)
	})
	return c.closeErr
}

// SessionEvents returns the channel of session state transitions, starting with the
// first SessionConnected and ending with SessionClosed, after which it is closed.
// There is one channel per client: read it from one goroutine. Transitions queue
// without bound until read (see the package documentation on buffering).
func (c *Client) SessionEvents() <-chan SessionEvent { return c.session.out }

// SessionState returns the current session state (offkv_get_session_state).
func (c *Client) SessionState() (SessionState, error) {
	var state C.int
	err := c.do(context.Background(), "session_state", "", func(p *C.offkv_client) error {
		var detail *C.char
		if rc := C.goffkv_get_session_state(p, &state, &detail); rc != 0 {
			return newError(rc, "session_state", "", takeDetail(detail))
		}
		return nil
	}, nil)
	if err != nil {
		if c.closing.Load() {
			return SessionClosed, nil
		}
		return 0, err
	}
	return SessionState(state), nil
}

// isClosed tells whether Close has freed (or is freeing) the C client.
func (c *Client) isClosed() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ptr == nil
}

// do runs call with the client's C handle held open, honouring ctx:
//
//   - ctx already done: nothing is called; a *ContextError is returned.
//   - ctx.Done() == nil (context.Background): call runs on this goroutine.
//   - otherwise call runs on a new goroutine; if ctx is done first, do returns a
//     *ContextError at once and the C call finishes in the background, after which
//     abandon (when not nil, and only if call succeeded) releases what it produced.
//
// The client's read lock is held until call returns, so Close never frees the handle
// under a running call.
func (c *Client) do(ctx context.Context, op, key string, call func(*C.offkv_client) error, abandon func()) error {
	if ctx.Err() != nil {
		return ctxError(ctx, op, key)
	}
	c.mu.RLock()
	p := c.ptr
	if p == nil {
		c.mu.RUnlock()
		return errClosed(op, key)
	}
	err, abandoned := runCtx(ctx, func() error {
		defer c.mu.RUnlock()
		return call(p)
	}, abandon)
	if abandoned {
		return ctxError(ctx, op, key)
	}
	return err
}

// runCtx runs call, on a separate goroutine when ctx can be cancelled. It returns
// call's error, or abandoned=true if ctx was done first; abandon then runs after a
// successful call, on the background goroutine.
func runCtx(ctx context.Context, call func() error, abandon func()) (err error, abandoned bool) {
	return runCtxOpt(ctx, false, call, abandon)
}

// runCtxOpt is runCtx; with deadlineBound, call is known to return by ctx's deadline
// (its C timeout is that deadline), so a passed deadline waits for its result and
// only a cancellation abandons it.
func runCtxOpt(ctx context.Context, deadlineBound bool, call func() error, abandon func()) (err error, abandoned bool) {
	if ctx.Done() == nil {
		return call(), false
	}
	const running, finished, gaveUp = 0, 1, 2
	var state atomic.Int32
	done := make(chan error, 1)
	go func() {
		err := call()
		if state.CompareAndSwap(running, finished) {
			done <- err
			return
		}
		if err == nil && abandon != nil {
			abandon()
		}
	}()
	select {
	case err := <-done:
		return err, false
	case <-ctx.Done():
		if deadlineBound && ctx.Err() == context.DeadlineExceeded {
			return <-done, false
		}
		if state.CompareAndSwap(running, gaveUp) {
			return nil, true
		}
		return <-done, false
	}
}

func (c *Client) track(w *Watch) {
	c.wmu.Lock()
	c.watches[w] = struct{}{}
	c.wmu.Unlock()
}

func (c *Client) untrack(w *Watch) {
	c.wmu.Lock()
	delete(c.watches, w)
	c.wmu.Unlock()
}

func (c *Client) trackPump(p *pump[Event]) {
	c.wmu.Lock()
	c.pumps[p] = struct{}{}
	c.wmu.Unlock()
}

func (c *Client) untrackPump(p *pump[Event]) {
	c.wmu.Lock()
	delete(c.pumps, p)
	c.wmu.Unlock()
}

func (c *Client) liveWatches() []*Watch {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out := make([]*Watch, 0, len(c.watches))
	for w := range c.watches {
		out = append(out, w)
	}
	return out
}

func (c *Client) livePumps() []*pump[Event] {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out := make([]*pump[Event], 0, len(c.pumps))
	for p := range c.pumps {
		out = append(out, p)
	}
	return out
}
