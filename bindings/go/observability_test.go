package offkv_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

func TestStatsCountGetAndNoEntry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		before := must[map[string]uint64](t)(c.Stats())
		for _, name := range []string{"ops.get", "errors.ENOENT", "retries", "reconnects",
			"session.CONNECTED", "watches.armed", "watches.fired"} {
			if _, ok := before[name]; !ok {
				t.Fatalf("no counter %q in %v", name, before)
			}
		}
		if before["session.CONNECTED"] != 1 {
			t.Fatalf("session.CONNECTED = %d", before["session.CONNECTED"])
		}
		must[string](t)(c.Create(bg, "/s", []byte("1"), 0))
		if _, _, err := c.Get(bg, "/s"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Get(bg, "/missing"); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("Get(/missing): %v", err)
		}
		after := must[map[string]uint64](t)(c.Stats())
		if d := after["ops.get"] - before["ops.get"]; d != 2 {
			t.Fatalf("ops.get grew by %d, want 2", d)
		}
		if d := after["errors.ENOENT"] - before["errors.ENOENT"]; d != 1 {
			t.Fatalf("errors.ENOENT grew by %d, want 1", d)
		}
		if d := after["ops.create"] - before["ops.create"]; d != 1 {
			t.Fatalf("ops.create grew by %d, want 1", d)
		}
		noErr(t, c.Close())
		closed := must[map[string]uint64](t)(c.Stats()) // as Close left them
		if closed["ops.get"] != after["ops.get"] || closed["session.CLOSED"] != 1 {
			t.Fatalf("after Close: ops.get %d session.CLOSED %d", closed["ops.get"], closed["session.CLOSED"])
		}
	})
}

type logLine struct {
	level     offkv.Level
	component string
	message   string
}

type logLines struct {
	mu    sync.Mutex
	lines []logLine
}

func (l *logLines) add(level offkv.Level, component, message string) {
	l.mu.Lock()
	l.lines = append(l.lines, logLine{level, component, message})
	l.mu.Unlock()
}

func (l *logLines) find(component, text string) (logLine, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if x.component == component && strings.Contains(x.message, text) {
			return x, true
		}
	}
	return logLine{}, false
}

func (l *logLines) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

func TestLogFuncHearsSessionConnectedThenNothingOnceOff(t *testing.T) {
	t.Cleanup(func() { offkv.SetLogFunc(nil, offkv.LevelError) })
	if err := offkv.SetLogFunc(func(offkv.Level, string, string) {}, 5); !errors.Is(err, offkv.ErrInvalid) {
		t.Fatalf("SetLogFunc with level 5: %v", err)
	}
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		scheme, _, _ := strings.Cut(url, "://")
		var log logLines
		noErr(t, offkv.SetLogFunc(log.add, offkv.LevelInfo))
		c := open(t, url)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if line, ok := log.find(scheme, "session CONNECTED"); ok {
				if line.level != offkv.LevelInfo {
					t.Fatalf("CONNECTED at %v", line.level)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q line with component %q", "session CONNECTED", scheme)
			}
			time.Sleep(5 * time.Millisecond)
		}
		noErr(t, c.Close())
		noErr(t, offkv.SetLogFunc(nil, offkv.LevelInfo))
		seen := log.len()
		other := open(t, url) // CONNECTED and CLOSED again: not told
		noErr(t, other.Close())
		time.Sleep(200 * time.Millisecond)
		if n := log.len(); n != seen {
			t.Fatalf("%d lines after SetLogFunc(nil)", n-seen)
		}
	})
}

func TestLogFuncPanicStaysInGo(t *testing.T) {
	t.Cleanup(func() { offkv.SetLogFunc(nil, offkv.LevelError) })
	before := offkv.LogPanics()
	noErr(t, offkv.SetLogFunc(func(offkv.Level, string, string) { panic("boom") }, offkv.LevelInfo))
	c := open(t, "mem://go-log-panic")
	noErr(t, c.Close())
	noErr(t, offkv.SetLogFunc(nil, offkv.LevelError))
	if offkv.LogPanics() == before {
		t.Fatalf("no panic recovered")
	}
	if offkv.LevelWarn.String() != "WARN" || offkv.LevelDebug.SlogLevel().String() != "DEBUG" {
		t.Fatalf("level names: %v %v", offkv.LevelWarn, offkv.LevelDebug.SlogLevel())
	}
}

func TestTestkitEndWatchesEndsWithTheCodeSessionStays(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/t", nil, 0))
		_, _, oneShot, err := c.GetWatch(bg, "/t")
		noErr(t, err)
		persistent, err := c.WatchPersistent(bg, "/t")
		noErr(t, err)
		noErr(t, c.TestkitEndWatches(offkv.ErrAuth))
		for _, w := range []*offkv.Watch{oneShot, persistent} {
			ev := next(t, w.Events())
			if ev.Type != offkv.EventEnded || !errors.Is(ev.Err, offkv.ErrAuth) || ev.State != offkv.SessionConnected {
				t.Fatalf("after TestkitEndWatches: %v (state %v)", ev, ev.State)
			}
			closed(t, w.Events())
		}
		if s := must[offkv.SessionState](t)(c.SessionState()); s != offkv.SessionConnected {
			t.Fatalf("session %v", s)
		}
		// A new watch works.
		_, _, again, err := c.GetWatch(bg, "/t")
		noErr(t, err)
		must[int64](t)(c.Set(bg, "/t", []byte("x")))
		if ev := next(t, again.Events()); ev.Type != offkv.EventChanged {
			t.Fatalf("new watch: %v", ev)
		}
		if err := c.TestkitEndWatches(0); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("TestkitEndWatches(0): %v", err)
		}
		noErr(t, c.Close())
		if err := c.TestkitEndWatches(offkv.ErrAuth); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("after Close: %v", err)
		}
	})
}
