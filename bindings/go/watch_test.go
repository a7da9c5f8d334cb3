package offkv_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

func TestOneShotWatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		other := open(t, url)
		must[string](t)(c.Create(bg, "/w", []byte("v1"), 0))

		// get: CHANGED, then the channel closes (one-shot).
		value, ver, w, err := c.GetWatch(bg, "/w")
		noErr(t, err)
		if string(value) != "v1" || ver != 1 || w.Key() != "/w" {
			t.Fatalf("GetWatch read %q v%d", value, ver)
		}
		quiet(t, w.Events(), 50*time.Millisecond) // no spurious fire
		must[int64](t)(other.Set(bg, "/w", []byte("v2")))
		ev := next(t, w.Events())
		if ev.Type != offkv.EventChanged || ev.Key != "/w" || ev.Version != 2 {
			t.Fatalf("get watch: %v", ev)
		}
		closed(t, w.Events())
		noErr(t, w.Cancel()) // after the fire: a no-op

		// exists on an absent key: CREATED (not at once).
		v, w, err := c.ExistsWatch(bg, "/w/kid")
		noErr(t, err)
		if v != 0 {
			t.Fatalf("exists %d", v)
		}
		quiet(t, w.Events(), 50*time.Millisecond)
		must[string](t)(other.Create(bg, "/w/kid", nil, 0))
		if ev := next(t, w.Events()); ev.Type != offkv.EventCreated || ev.Key != "/w/kid" || ev.Version != 1 {
			t.Fatalf("exists watch: %v", ev)
		}
		closed(t, w.Events())

		// children: CHILDREN.
		kids, w, err := c.ChildrenWatch(bg, "/w")
		noErr(t, err)
		if !reflect.DeepEqual(kids, []string{"/w/kid"}) {
			t.Fatalf("children %v", kids)
		}
		must[string](t)(other.Create(bg, "/w/kid2", nil, 0))
		if ev := next(t, w.Events()); ev.Type != offkv.EventChildren || ev.Key != "/w" {
			t.Fatalf("children watch: %v", ev)
		}
		closed(t, w.Events())

		// exists on a present key: DELETED.
		_, w, err = c.ExistsWatch(bg, "/w")
		noErr(t, err)
		noErr(t, other.Erase(bg, "/w", 0))
		if ev := next(t, w.Events()); ev.Type != offkv.EventDeleted || ev.Version != 0 {
			t.Fatalf("exists watch on erase: %v", ev)
		}
		closed(t, w.Events())

		// A failed read leaves no watch.
		if _, _, w, err := c.GetWatch(bg, "/w"); !errors.Is(err, offkv.ErrNoEntry) || w != nil {
			t.Fatalf("GetWatch on an absent key: %v, %v", w, err)
		}
		if c.LiveWatches() != 0 {
			t.Fatalf("%d watches still tracked", c.LiveWatches())
		}
	})
}

func TestCancelAndContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/k", nil, 0))

		// Cancel: the channel closes with no event; later changes are not delivered.
		_, _, w, err := c.GetWatch(bg, "/k")
		noErr(t, err)
		noErr(t, w.Cancel())
		closed(t, w.Events())
		must[int64](t)(c.Set(bg, "/k", []byte("x")))
		noErr(t, w.Cancel()) // twice is fine

		// The watch's context: cancelling it cancels the watch.
		ctx, cancel := context.WithCancel(bg)
		_, w, err = c.ExistsWatch(ctx, "/k")
		noErr(t, err)
		cancel()
		closed(t, w.Events())

		pctx, pcancel := context.WithCancel(bg)
		pw, err := c.WatchPersistent(pctx, "/k")
		noErr(t, err)
		pcancel()
		closed(t, pw.Events())

		if n := c.LiveWatches() + c.LivePumps(); n != 0 {
			t.Fatalf("%d watches or pumps still tracked", n)
		}
	})
}

func TestPersistentWatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		other := open(t, url)
		w, err := c.WatchPersistent(bg, "/tree")
		noErr(t, err)
		// Nothing is read while the changes are made: they queue without blocking the
		// event thread, and arrive complete and in order.
		must[string](t)(other.Create(bg, "/tree", nil, 0))
		const n = 200
		for i := range n {
			must[int64](t)(other.Set(bg, "/tree", []byte(fmt.Sprint(i))))
		}
		must[string](t)(other.Create(bg, "/tree/leaf", nil, 0))
		must[string](t)(other.Create(bg, "/treehouse", nil, 0)) // not below /tree
		noErr(t, other.Erase(bg, "/tree", 0))

		want := []offkv.Event{{Type: offkv.EventCreated, Key: "/tree", Version: 1}}
		for i := range n {
			want = append(want, offkv.Event{Type: offkv.EventChanged, Key: "/tree", Version: int64(i + 2)})
		}
		want = append(want, offkv.Event{Type: offkv.EventCreated, Key: "/tree/leaf", Version: 1})
		for i, exp := range want {
			ev := next(t, w.Events())
			if ev.Type != exp.Type || ev.Key != exp.Key || ev.Version != exp.Version {
				t.Fatalf("event %d: got %v, want %v", i, ev, exp)
			}
		}
		// The subtree erase: both keys DELETED (order between them is the backend's).
		deleted := map[string]bool{}
		for range 2 {
			ev := next(t, w.Events())
			if ev.Type != offkv.EventDeleted {
				t.Fatalf("expected DELETED, got %v", ev)
			}
			deleted[ev.Key] = true
		}
		if !deleted["/tree"] || !deleted["/tree/leaf"] {
			t.Fatalf("deleted %v", deleted)
		}
		quiet(t, w.Events(), 50*time.Millisecond)

		// Close: ENDED wrapping ErrClosed, then the channel closes.
		noErr(t, c.Close())
		ev := next(t, w.Events())
		if ev.Type != offkv.EventEnded || !errors.Is(ev.Err, offkv.ErrClosed) || ev.State != offkv.SessionClosed {
			t.Fatalf("after Close: %v", ev)
		}
		closed(t, w.Events())
	})
}

func TestSessionEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		if ev := next(t, c.SessionEvents()); ev.State != offkv.SessionConnected {
			t.Fatalf("first session event %v", ev)
		}
		if s, err := c.SessionState(); err != nil || s != offkv.SessionConnected {
			t.Fatalf("SessionState %v, %v", s, err)
		}
		noErr(t, c.Close())
		if ev := next(t, c.SessionEvents()); ev.State != offkv.SessionClosed {
			t.Fatalf("after Close: %v", ev)
		}
		closed(t, c.SessionEvents())
		if s, err := c.SessionState(); err != nil || s != offkv.SessionClosed {
			t.Fatalf("SessionState after Close %v, %v", s, err)
		}
	})
}

// A watch callback arrives on the C event thread; a consumer that never reads must
// not stall it: other watches of the same client keep being delivered.
func TestSlowConsumerDoesNotStall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		ignored, err := c.WatchPersistent(bg, "/noisy")
		noErr(t, err)
		must[string](t)(c.Create(bg, "/noisy", nil, 0))
		for i := range 500 { // far more than the channel's buffer
			must[int64](t)(c.Set(bg, "/noisy", []byte(fmt.Sprint(i))))
		}
		_, w, err := c.ExistsWatch(bg, "/other")
		noErr(t, err)
		must[string](t)(c.Create(bg, "/other", nil, 0))
		if ev := next(t, w.Events()); ev.Type != offkv.EventCreated {
			t.Fatalf("%v", ev)
		}
		_ = ignored // never read; Close must still end it without leaking
	})
}
