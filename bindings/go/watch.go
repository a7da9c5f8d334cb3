package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"runtime/cgo"
	"sync"
)

// watchBuffer is the buffer of a persistent watch's channel (beyond the unbounded
// queue behind it). A one-shot watch's channel has room for its one event.
const watchBuffer = 64

// Watch is a watch left by GetWatch, ExistsWatch, ChildrenWatch or WatchPersistent.
// Its events arrive on Events(), which is closed when the watch is over:
//
//   - a one-shot watch delivers exactly one event (the change, or EventEnded) and
//     closes;
//   - a persistent watch delivers every change under its key, in order, until
//     EventEnded (session lost, client closed) or until it is cancelled;
//   - Cancel, the watch's context being done, or Client.Close close the channel
//     without a further event (events already queued go into the channel's free
//     buffer space, the rest are dropped).
type Watch struct {
	c          *Client
	key        string
	persistent bool
	h          cgo.Handle
	events     chan Event   // one-shot: cap 1, written by deliver
	pump       *pump[Event] // persistent: its goroutine writes events

	mu       sync.Mutex
	ptr      *C.offkv_watch
	attached bool // the C call returned the handle (ptr set)
	done     bool // no event will be delivered any more
	released bool // C handle freed and cgo.Handle deleted
	stopCtx  func() bool
}

// Key returns the key the watch was set on.
func (w *Watch) Key() string { return w.key }

// Events returns the watch's channel (see Watch).
func (w *Watch) Events() <-chan Event {
	if w.persistent {
		return w.pump.out
	}
	return w.events
}

// Cancel ends the watch: after it returns no event is delivered any more and the
// channel is closed. Cancelling a watch that is already over is a no-op. It returns
// the library's error from offkv_watch_cancel, if any.
func (w *Watch) Cancel() error { return w.cancel() }

// newWatch makes a watch and its handle and registers it with the client. Called
// with the client's read lock held, so Close cannot miss it.
func (c *Client) newWatch(key string, persistent bool) *Watch {
	w := &Watch{c: c, key: key, persistent: persistent}
	if persistent {
		w.pump = newPump(watchBuffer, func(e Event) bool { return e.Type == EventEnded }, c.untrackPump)
		c.trackPump(w.pump)
	} else {
		w.events = make(chan Event, 1)
	}
	w.h = newHandle(w)
	c.track(w)
	return w
}

// handleArg is the cgo.Handle as the C API's void *user.
func (w *Watch) handleArg() C.uintptr_t { return C.uintptr_t(w.h) }

// failed undoes newWatch after the C call left no watch. The library may still have
// ended the half-registered watch (ENDED, when the session ended during the read),
// which then finished and closed the channel already.
func (w *Watch) failed() {
	w.mu.Lock()
	wasDone := w.done
	w.done, w.attached, w.released = true, true, true
	w.mu.Unlock()
	if !wasDone {
		if w.persistent {
			w.pump.stop()
		} else {
			close(w.events)
		}
	}
	deleteHandle(w.h)
	w.c.untrack(w)
}

// attach records the C handle once the C call returned it. An event may already have
// finished the watch (it can fire before the call returns), in which case the
// handle is released now.
func (w *Watch) attach(p *C.offkv_watch) {
	w.mu.Lock()
	w.ptr, w.attached = p, true
	rel := w.takeLocked()
	w.mu.Unlock()
	if rel != nil {
		w.release(rel)
	}
}

// bind ties the watch's life to ctx: when ctx is done the watch is cancelled.
func (w *Watch) bind(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.stopCtx = context.AfterFunc(ctx, func() { w.cancel() })
}

// deliver runs on the client's event thread (eventSink). It never blocks: a
// one-shot channel has room for its one event and a persistent watch's pump queues.
func (w *Watch) deliver(e Event) {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	final := !w.persistent || e.Type == EventEnded
	if w.persistent {
		w.pump.push(e)
	} else {
		w.events <- e // room for exactly this one event
	}
	var rel *C.offkv_watch
	if final {
		w.done = true
		rel = w.takeLocked()
	}
	w.mu.Unlock()
	if rel != nil {
		// Freeing a watch from its own callback is allowed: the library does not wait
		// for the running callback on its event thread.
		w.release(rel)
	}
	if !w.persistent {
		// Closed after the release, so a reader that saw the channel close knows the
		// C watch and its handle are gone. (The persistent pump closes its channel
		// after handing over ENDED.)
		close(w.events)
	}
}

func (w *Watch) cancel() error {
	w.mu.Lock()
	wasDone := w.done
	w.done = true
	rel := w.takeLocked()
	w.mu.Unlock()
	var err error
	if rel != nil {
		var detail *C.char
		if rc := C.goffkv_watch_cancel(rel, &detail); rc != 0 {
			err = newError(rc, "cancel", w.key, takeDetail(detail))
		}
		w.release(rel)
	}
	if !wasDone {
		if w.persistent {
			w.pump.stop()
		} else {
			close(w.events)
		}
	}
	return err
}

// takeLocked returns the C handle to release when the watch is both over and
// attached, exactly once. Called with w.mu held.
func (w *Watch) takeLocked() *C.offkv_watch {
	if !w.done || !w.attached || w.released {
		return nil
	}
	w.released = true
	w.c.releasing.Add(1) // Done at the end of release; Close waits for it
	p := w.ptr
	w.ptr = nil
	return p
}

// release frees the C watch (cancelling it: after offkv_watch_free returns no
// callback runs, or one runs on this very thread and has finished with the handle),
// then the cgo.Handle, and forgets the watch.
func (w *Watch) release(p *C.offkv_watch) {
	C.offkv_watch_free(p)
	deleteHandle(w.h)
	w.mu.Lock()
	stop := w.stopCtx
	w.stopCtx = nil
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	w.c.untrack(w)
	w.c.releasing.Done()
}

// ---- Client calls that leave watches ----

// GetWatch reads key like Get and leaves a one-shot watch, atomically: it fires once,
// for the first change after the value read (EventChanged or EventDeleted), or
// EventEnded. ctx bounds both the read and the life of the watch: when ctx is done
// the watch is cancelled (use a long-lived context, or context.WithoutCancel, for a
// watch meant to outlive a request). If the read fails no watch is left. It runs like
// Get (async.go): past a few blocking calls per client, offkv_get_watch_async,
// holding no OS thread while it waits.
func (c *Client) GetWatch(ctx context.Context, key string) (value []byte, version int64, w *Watch, err error) {
	k, ok := cString(key)
	if !ok {
		return nil, 0, nil, errNUL("get", key, "key")
	}
	r, w, err := c.run(ctx, "get", key, func() *Watch { return c.newWatch(key, false) }, blockingGet(k),
		func(p *C.offkv_client, watch, call C.uintptr_t, detail **C.char) C.int {
			return C.goffkv_get_watch_async(p, charPtr(k), watch, call, detail)
		})
	if err != nil {
		return nil, 0, nil, err
	}
	w.bind(ctx)
	return nonNil(r.value), r.version, w, nil
}

// ExistsWatch reads key's version like Exists (0: absent) and leaves a one-shot
// watch: EventCreated if it was absent, EventChanged or EventDeleted if present, or
// EventEnded. ctx bounds the read and the watch, as for GetWatch.
func (c *Client) ExistsWatch(ctx context.Context, key string) (version int64, w *Watch, err error) {
	k, ok := cString(key)
	if !ok {
		return 0, nil, errNUL("exists", key, "key")
	}
	r, w, err := c.run(ctx, "exists", key, func() *Watch { return c.newWatch(key, false) }, blockingExists(k),
		func(p *C.offkv_client, watch, call C.uintptr_t, detail **C.char) C.int {
			return C.goffkv_exists_watch_async(p, charPtr(k), watch, call, detail)
		})
	if err != nil {
		return 0, nil, err
	}
	w.bind(ctx)
	return r.version, w, nil
}

// ChildrenWatch lists key's children like Children and leaves a one-shot watch:
// EventChildren (a direct child added or removed), EventDeleted, or EventEnded. ctx
// bounds the read and the watch, as for GetWatch.
func (c *Client) ChildrenWatch(ctx context.Context, key string) (children []string, w *Watch, err error) {
	k, ok := cString(key)
	if !ok {
		return nil, nil, errNUL("children", key, "key")
	}
	r, w, err := c.run(ctx, "children", key, func() *Watch { return c.newWatch(key, false) }, blockingChildren(k),
		func(p *C.offkv_client, watch, call C.uintptr_t, detail **C.char) C.int {
			return C.goffkv_children_watch_async(p, charPtr(k), watch, call, detail)
		})
	if err != nil {
		return nil, nil, err
	}
	w.bind(ctx)
	return nonNilList(r.children), w, nil
}

// WatchPersistent watches key and every key below it (key need not exist, "/" is the
// whole tree): EventCreated, EventChanged and EventDeleted for each change, with the
// changed key, in order, until cancelled; EventEnded when the session ends. ctx
// bounds the registration and the watch, as for GetWatch.
func (c *Client) WatchPersistent(ctx context.Context, key string) (w *Watch, err error) {
	k, ok := cString(key)
	if !ok {
		return nil, errNUL("watch", key, "key")
	}
	err = c.do(ctx, "watch", key, func(p *C.offkv_client) error {
		w = c.newWatch(key, true)
		var wp *C.offkv_watch
		var detail *C.char
		if rc := C.goffkv_watch_persistent(p, charPtr(k), w.handleArg(), &wp, &detail); rc != 0 {
			w.failed()
			return newError(rc, "watch", key, takeDetail(detail))
		}
		w.attach(wp)
		return nil
	}, func() { w.cancel() })
	if err != nil {
		return nil, err
	}
	w.bind(ctx)
	return w, nil
}
