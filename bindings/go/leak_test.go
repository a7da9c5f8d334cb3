package offkv_test

import (
	"context"
	"fmt"
	"testing"

	offkv "github.com/offkv/offkv/bindings/go"
)

// Clients opened and closed with every kind of pending resource: unread session
// events, pending one-shot watches, persistent watches with unread events, watches
// bound to contexts, calls abandoned through their context. After Close: no
// goroutine, no cgo.Handle, nothing tracked.
func TestNoLeaksAfterClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		for i := range 20 {
			c, err := offkv.Open(bg, url)
			noErr(t, err)
			key := fmt.Sprintf("/k%d", i)
			must[string](t)(c.Create(bg, key, nil, offkv.Ephemeral))
			_, _, _, err = c.GetWatch(bg, key) // pending one-shot
			noErr(t, err)
			_, _, err = c.ExistsWatch(bg, "/absent") // pending, on an absent key
			noErr(t, err)
			_, _, err = c.ChildrenWatch(bg, "/")
			noErr(t, err)
			ctx, cancel := context.WithCancel(bg)
			_, _, _, err = c.GetWatch(ctx, key) // bound to a context left open
			noErr(t, err)
			pw, err := c.WatchPersistent(bg, "/")
			noErr(t, err)
			for j := range 100 { // unread persistent events
				must[int64](t)(c.Set(bg, key, []byte(fmt.Sprint(j))))
			}
			// A watch whose event was delivered but never read.
			_, _, fired, err := c.GetWatch(bg, key)
			noErr(t, err)
			must[int64](t)(c.Set(bg, key, nil))
			noErr(t, c.Close())
			cancel()
			if n := c.LiveWatches() + c.LivePumps(); n != 0 {
				t.Fatalf("%d watches or pumps left after Close", n)
			}
			// Everything queued is still readable up to the channel buffers, and
			// every channel is closed.
			for range pw.Events() {
			}
			for range fired.Events() {
			}
			for range c.SessionEvents() {
			}
		}
		if h := offkv.LiveHandles(); h != 0 {
			t.Fatalf("%d cgo handles alive after closing every client", h)
		}
	})
}
