package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"runtime/debug"
	"sync/atomic"
	"unsafe"
)

// How a call runs (see run): past the client's few blocking slots, the binding starts
// the library's asynchronous form of the operation (offkv_<op>_async), which copies
// its arguments and returns at once, and the goroutine then waits on a channel. The library runs the operation on its own
// few threads per client and calls the completion on the client's event thread; the
// exported goffkvComplete copies the result out of it (its pointers are valid only
// during the callback) into the channel, which never blocks. So a goroutine waiting
// for the store holds no OS thread, however many calls are in flight.

// asyncResult is a completion, copied into Go memory.
type asyncResult struct {
	code        C.int
	message     string
	version     int64
	key         string // create: the created key
	hasKey      bool
	value       []byte // get: never nil
	children    []string
	ops         []OpResult // commit, on success
	failedIndex int        // commit, on ErrTxn
	failedCode  Code
}

// The states of an asyncCall: its goroutine waits; the completion was handed to it;
// or it gave up (its context was done) and the completion releases what it made.
const (
	callWaiting int32 = iota
	callDelivered
	callAbandoned
)

// asyncCall is one call in the library, reached from C through its cgo.Handle,
// which the completion deletes.
type asyncCall struct {
	done  chan asyncResult // cap 1: the completion never blocks the event thread
	state atomic.Int32
	watch *Watch // watch-arming reads: attached (or failed) by the completion
}

// strayCompletions counts completions whose handle was unknown (never expected: the
// library calls each completion exactly once).
var strayCompletions atomic.Int64

// goffkvComplete is the exported Go function behind every completion (shim.c), on
// the client's event thread.
//
//export goffkvComplete
func goffkvComplete(comp *C.offkv_completion, h C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			trampolinePanics.Add(1)
			lastTrampolinePanic.Store(fmt.Sprintf("%v (completion, handle %d)\n%s", r, h, debug.Stack()))
		}
	}()
	v, ok := lookup(cgo.Handle(h))
	if !ok {
		strayCompletions.Add(1)
		if comp.watch != nil {
			C.offkv_watch_free(comp.watch)
		}
		return
	}
	deleteHandle(cgo.Handle(h))
	callsInFlight.Add(-1)
	call := v.(*asyncCall)
	r := resultFromC(comp)
	if w := call.watch; w != nil {
		if r.code == 0 && comp.watch != nil {
			w.attach(comp.watch)
		} else {
			w.failed()
		}
	}
	if call.state.CompareAndSwap(callWaiting, callDelivered) {
		call.done <- r
		return
	}
	// Nobody will receive it: release what the call produced. A watch is the only
	// resource a completion hands over; values are garbage-collected.
	if call.watch != nil && r.code == 0 {
		call.watch.cancel()
	}
}

// resultFromC copies everything out of a completion.
func resultFromC(comp *C.offkv_completion) asyncResult {
	r := asyncResult{code: comp.error, version: int64(comp.version)}
	if comp.message != nil {
		r.message = C.GoString(comp.message)
	}
	if comp.key != nil {
		r.key, r.hasKey = C.GoString(comp.key), true
	}
	if comp.value != nil {
		r.value = make([]byte, int(comp.value_len))
		copy(r.value, unsafe.Slice((*byte)(unsafe.Pointer(comp.value)), int(comp.value_len)))
	}
	if comp.child_count > 0 {
		r.children = make([]string, 0, int(comp.child_count))
		for _, p := range unsafe.Slice(comp.children, int(comp.child_count)) {
			r.children = append(r.children, C.GoString(p))
		}
	}
	if t := comp.txn; t != nil {
		r.failedIndex, r.failedCode = int(t.failed_index), Code(t.failed_code)
		if r.code == 0 {
			r.ops = make([]OpResult, 0, int(t.count))
			if t.count > 0 {
				for _, op := range unsafe.Slice(t.ops, int(t.count)) {
					r.ops = append(r.ops, OpResult{Version: int64(op.version), Key: C.GoString(op.key)})
				}
			}
		}
	}
	return r
}

// blockingSlots is how many calls of one client may take the library's blocking form
// at once; the others take the asynchronous form. A blocking call holds an OS thread
// while it runs but costs no thread hand-offs (the asynchronous form goes through a
// library worker and the event thread, tens of microseconds on a loaded machine), so
// the first few calls in flight get the lower latency and the process never holds
// more than this many threads per client for calls, however many are in flight.
var blockingSlots atomic.Int32

const defaultBlockingSlots = 4

func init() { blockingSlots.Store(defaultBlockingSlots) }

// callsInFlight counts this package's calls inside the library (for tests).
var callsInFlight atomic.Int64

// blockingFunc makes an operation's blocking C call, filling r; for a watch-arming
// read, with the watch's handle, returning the C watch in *wp.
type blockingFunc func(p *C.offkv_client, watch C.uintptr_t, r *asyncResult, wp **C.offkv_watch, detail **C.char) C.int

// startFunc starts the operation's asynchronous form with the call's handle (and for
// a watch-arming read the watch's).
type startFunc func(p *C.offkv_client, watch, call C.uintptr_t, detail **C.char) C.int

// run makes one call of an operation: in its blocking form while the client has a
// blocking slot free (blockingSlots), else in its asynchronous form. Either way:
//
//   - ctx already done: nothing is started; a *ContextError is returned.
//   - the client's read lock is held while the call enters the library, so Close
//     cannot free the handle under it (Close waits for blocking calls; offkv_close
//     completes asynchronous ones, with ErrClosed if they had not finished).
//   - when ctx is done before the outcome, run returns a *ContextError at once; the
//     operation goes on in the library and what it produced is released without the
//     caller (a watch is cancelled).
//
// newWatch, when not nil, makes the watch of a watch-arming read (under the lock,
// so Close cannot miss it); it is attached once the read succeeded, or failed.
func (c *Client) run(ctx context.Context, op, key string, newWatch func() *Watch,
	blocking blockingFunc, start startFunc) (asyncResult, *Watch, error) {
	if ctx.Err() != nil {
		return asyncResult{}, nil, ctxError(ctx, op, key)
	}
	if c.takeSlot() {
		return c.runBlocking(ctx, op, key, newWatch, blocking)
	}
	return c.runAsync(ctx, op, key, newWatch, start)
}

func (c *Client) takeSlot() bool {
	limit := blockingSlots.Load()
	for {
		n := c.blockingCalls.Load()
		if n >= limit {
			return false
		}
		if c.blockingCalls.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// runBlocking is run's blocking form (the slot already taken).
func (c *Client) runBlocking(ctx context.Context, op, key string, newWatch func() *Watch,
	blocking blockingFunc) (asyncResult, *Watch, error) {
	c.mu.RLock()
	p := c.ptr
	if p == nil {
		c.mu.RUnlock()
		c.blockingCalls.Add(-1)
		return asyncResult{}, nil, errClosed(op, key)
	}
	var r asyncResult
	var w *Watch
	callsInFlight.Add(1)
	err, abandoned := runCtx(ctx, func() error {
		defer c.mu.RUnlock()
		defer c.blockingCalls.Add(-1)
		defer callsInFlight.Add(-1)
		var wh C.uintptr_t
		if newWatch != nil {
			w = newWatch()
			wh = C.uintptr_t(w.h)
		}
		var wp *C.offkv_watch
		var detail *C.char
		if rc := blocking(p, wh, &r, &wp, &detail); rc != 0 {
			if w != nil {
				w.failed()
			}
			return newError(rc, op, key, takeDetail(detail))
		}
		if w != nil {
			w.attach(wp)
		}
		return nil
	}, func() {
		if w != nil {
			w.cancel()
		}
	})
	if abandoned {
		return asyncResult{}, nil, ctxError(ctx, op, key)
	}
	if err != nil {
		return r, nil, err
	}
	return r, w, nil
}

// runAsync is run's asynchronous form: start makes the offkv_*_async call, an error
// the library returns at once is returned as is, and the goroutine then waits,
// holding no OS thread, for the completion or for ctx.
func (c *Client) runAsync(ctx context.Context, op, key string, newWatch func() *Watch,
	start startFunc) (asyncResult, *Watch, error) {
	c.mu.RLock()
	p := c.ptr
	if p == nil {
		c.mu.RUnlock()
		return asyncResult{}, nil, errClosed(op, key)
	}
	call := &asyncCall{done: make(chan asyncResult, 1)}
	var wh C.uintptr_t
	if newWatch != nil {
		call.watch = newWatch()
		wh = C.uintptr_t(call.watch.h)
	}
	h := newHandle(call)
	callsInFlight.Add(1)
	var detail *C.char
	rc := start(p, wh, C.uintptr_t(h), &detail)
	c.mu.RUnlock()
	if rc != 0 {
		// Refused at once: no completion will come.
		callsInFlight.Add(-1)
		deleteHandle(h)
		if call.watch != nil {
			call.watch.failed()
		}
		return asyncResult{}, nil, newError(rc, op, key, takeDetail(detail))
	}
	var r asyncResult
	if ctx.Done() == nil {
		r = <-call.done
	} else {
		select {
		case r = <-call.done:
		case <-ctx.Done():
			if call.state.CompareAndSwap(callWaiting, callAbandoned) {
				return asyncResult{}, nil, ctxError(ctx, op, key)
			}
			r = <-call.done // completed meanwhile
		}
	}
	if r.code != 0 {
		return r, nil, newError(r.code, op, key, r.message)
	}
	return r, call.watch, nil
}
