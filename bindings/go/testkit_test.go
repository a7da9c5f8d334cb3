package offkv_test

import (
	"context"
	"errors"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// states reads n session transitions.
func states(t *testing.T, c *offkv.Client, n int) []offkv.SessionState {
	t.Helper()
	var out []offkv.SessionState
	for len(out) < n {
		out = append(out, next(t, c.SessionEvents()).State)
	}
	return out
}

func TestTestkitSuspendResumeKeepsTheSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		other := open(t, url)
		c := open(t, url, offkv.WithSessionTimeout(20*time.Second),
			offkv.WithOperationTimeout(time.Second))
		must[string](t)(c.Create(bg, "/k", []byte("before"), 0))
		must[string](t)(c.Create(bg, "/e", []byte("mine"), offkv.Ephemeral))
		_, _, w, err := c.GetWatch(bg, "/k")
		noErr(t, err)
		noErr(t, c.TestkitSuspend())
		if s := must[offkv.SessionState](t)(c.SessionState()); s != offkv.SessionSuspended {
			t.Fatalf("after TestkitSuspend: %v", s)
		}
		start := time.Now()
		if _, err := c.Set(bg, "/k", []byte("during")); !errors.Is(err, offkv.ErrConnLoss) {
			t.Fatalf("Set while suspended: %v", err)
		}
		if d := time.Since(start); d < 800*time.Millisecond {
			t.Fatalf("ErrConnLoss after %v, before the operation timeout", d)
		}
		// Nothing changed; the session lives on (its ephemeral is there).
		if v, _ := must2(t)(other.Get(bg, "/k")); string(v) != "before" {
			t.Fatalf("/k = %q", v)
		}
		if v := must[int64](t)(other.Exists(bg, "/e")); v != 1 {
			t.Fatalf("ephemeral version %d while suspended", v)
		}
		must[int64](t)(other.Set(bg, "/k", []byte("changed")))
		noErr(t, c.TestkitResume())
		if ev := next(t, w.Events()); ev.Type != offkv.EventChanged {
			t.Fatalf("missed change after resume: %v", ev)
		}
		if v := must[int64](t)(other.Exists(bg, "/e")); v != 1 {
			t.Fatalf("ephemeral version %d after resume", v)
		}
		must[int64](t)(c.Set(bg, "/k", []byte("after")))
		got := states(t, c, 3)
		want := []offkv.SessionState{offkv.SessionConnected, offkv.SessionSuspended, offkv.SessionConnected}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("session states %v, want %v", got, want)
			}
		}
	})
}

func TestTestkitExpireRemovesEphemeralsAndReconnects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		other := open(t, url)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/k", nil, 0))
		must[string](t)(c.Create(bg, "/e", []byte("mine"), offkv.Ephemeral))
		_, _, w, err := c.GetWatch(bg, "/k")
		noErr(t, err)
		noErr(t, c.TestkitExpire())
		if v := must[int64](t)(other.Exists(bg, "/e")); v != 0 {
			t.Fatalf("ephemeral still there after TestkitExpire (version %d)", v)
		}
		if ev := next(t, w.Events()); ev.Type != offkv.EventEnded || !errors.Is(ev.Err, offkv.ErrSession) {
			t.Fatalf("own watch: %v", ev)
		}
		// CONNECTED, (SUSPENDED on ZooKeeper,) LOST, CONNECTED.
		var got []offkv.SessionState
		for len(got) < 3 {
			s := next(t, c.SessionEvents()).State
			if s != offkv.SessionSuspended {
				got = append(got, s)
			}
		}
		if got[0] != offkv.SessionConnected || got[1] != offkv.SessionLost || got[2] != offkv.SessionConnected {
			t.Fatalf("session states %v", got)
		}
		must[string](t)(c.Create(bg, "/e", []byte("again"), offkv.Ephemeral))
	})
}

func TestTestkitLeaderStepsDownOnSuspendAndExpire(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url, offkv.WithSessionTimeout(20*time.Second),
			offkv.WithOperationTimeout(2*time.Second))
		ctx, cancel := context.WithTimeout(bg, 60*time.Second)
		defer cancel()
		e := must[*offkv.Election](t)(c.Contend(ctx, "/g", []byte("a")))
		defer e.Close()
		noErr(t, e.WaitLeader(ctx))
		second := must[*offkv.Election](t)(open(t, url).Contend(ctx, "/g", []byte("b")))
		defer second.Close()
		noErr(t, c.TestkitSuspend())
		if e.IsLeader() {
			t.Fatalf("still leader while suspended")
		}
		noErr(t, c.TestkitResume())
		noErr(t, e.WaitLeader(ctx))
		if second.IsLeader() {
			t.Fatalf("two leaders")
		}
		noErr(t, c.TestkitExpire())
		if e.IsLeader() {
			t.Fatalf("still leader after TestkitExpire")
		}
		noErr(t, second.WaitLeader(ctx))
	})
}

func TestTestkitOnAClosedClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		c := open(t, url)
		noErr(t, c.Close())
		for _, f := range []func() error{c.TestkitSuspend, c.TestkitResume, c.TestkitExpire} {
			if err := f(); !errors.Is(err, offkv.ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
		}
	})
}

func must2(t testing.TB) func([]byte, int64, error) ([]byte, int64) {
	return func(v []byte, ver int64, err error) ([]byte, int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v, ver
	}
}
