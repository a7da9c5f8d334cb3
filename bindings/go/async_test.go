package offkv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// osThreads is the process's OS thread count (Threads: in /proc/self/status).
func osThreads(t testing.TB) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	noErr(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			noErr(t, err)
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

// threadPeak samples the OS thread count every interval until stopped and returns the
// highest count seen.
func threadPeak(t testing.TB, interval time.Duration) (stop func() int) {
	var peak atomic.Int64
	peak.Store(int64(osThreads(t)))
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if n := int64(osThreads(t)); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int {
		close(quit)
		<-done
		return int(peak.Load())
	}
}

// waitInFlight waits until n more calls than base are in the library (each holds one
// cgo.Handle until its completion) or the deadline passes; it returns how many are.
func waitInFlight(base int64, n int, deadline time.Duration) int {
	end := time.Now().Add(deadline)
	for {
		got := int(offkv.LiveHandles() - base)
		if got >= n || time.Now().After(end) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// 1000 goroutines each with a Get in flight on one client need no OS thread each: the
// calls wait in the library (the client's connection is cut, so none can finish)
// while the goroutines wait on channels, and the process keeps a few dozen threads.
// The blocking binding held one OS thread per call here (1000+ threads).
func TestCallsInFlightNeedNoThreadEach(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url, offkv.WithOperationTimeout(2*time.Minute))
		const keys, calls = 10, 1000
		for i := range keys {
			must[string](t)(c.Create(bg, fmt.Sprintf("/k%d", i), []byte(fmt.Sprint("v", i)), 0))
		}
		before := osThreads(t)
		handles := offkv.LiveHandles()
		noErr(t, c.TestkitSuspend())
		peak := threadPeak(t, time.Millisecond)

		errs := make(chan error, calls)
		for i := range calls {
			go func() {
				key := fmt.Sprintf("/k%d", i%keys)
				value, _, err := c.Get(bg, key)
				if err == nil && string(value) != fmt.Sprint("v", i%keys) {
					err = fmt.Errorf("%s: got %q", key, value)
				}
				errs <- err
			}()
		}
		inFlight := waitInFlight(handles, calls, 20*time.Second)
		time.Sleep(200 * time.Millisecond) // room for threads to appear, were any needed
		during := peak()
		t.Logf("OS threads: %d before, peak %d with %d calls in flight (%d goroutines waiting)",
			before, during, inFlight, calls)
		if inFlight != calls {
			t.Errorf("%d of %d calls in flight in the library", inFlight, calls)
		}
		if during > before+100 {
			t.Errorf("OS threads rose from %d to %d with %d calls in flight", before, during, calls)
		}
		noErr(t, c.TestkitResume())
		for range calls {
			select {
			case err := <-errs:
				noErr(t, err)
			case <-time.After(2 * time.Minute):
				t.Fatal("a Get did not complete after resume")
			}
		}
		t.Logf("after: %d OS threads", osThreads(t))
	})
}

// Close with calls of every kind in flight: each call returns exactly once, with
// ErrClosed (the library's code and message) unless it was already running, and
// nothing is left behind.
func TestCloseCompletesCallsInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		atStart := offkv.LiveHandles()
		c, err := offkv.Open(bg, url, offkv.WithOperationTimeout(2*time.Minute))
		noErr(t, err)
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		handles := offkv.LiveHandles()
		noErr(t, c.TestkitSuspend())

		ops := []func(ctx context.Context) error{
			func(ctx context.Context) error { _, _, err := c.Get(ctx, "/k"); return err },
			func(ctx context.Context) error { _, err := c.Set(ctx, "/k", []byte("x")); return err },
			func(ctx context.Context) error { _, err := c.Create(ctx, "/new", nil, 0); return err },
			func(ctx context.Context) error { _, err := c.Cas(ctx, "/k", nil, 1); return err },
			func(ctx context.Context) error { _, err := c.Exists(ctx, "/k"); return err },
			func(ctx context.Context) error { _, err := c.Children(ctx, "/"); return err },
			func(ctx context.Context) error { return c.Erase(ctx, "/k", 0) },
			func(ctx context.Context) error {
				_, err := c.Commit(ctx, offkv.NewTxn().Check("/k", offkv.AnyVersion).Set("/k", nil))
				return err
			},
			func(ctx context.Context) error { _, _, _, err := c.GetWatch(ctx, "/k"); return err },
			func(ctx context.Context) error { _, _, err := c.ExistsWatch(ctx, "/k"); return err },
			func(ctx context.Context) error { _, _, err := c.ChildrenWatch(ctx, "/"); return err },
		}
		const rounds = 20
		var returned atomic.Int64
		results := make(chan error, rounds*len(ops))
		var wg sync.WaitGroup
		for r := range rounds {
			for i, op := range ops {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := bg
					if (r+i)%2 == 1 { // both the plain and the cancellable wait
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(bg)
						defer cancel()
					}
					err := op(ctx)
					returned.Add(1)
					results <- err
				}()
			}
		}
		// Every call holds a handle while in flight, the three watch-arming reads two.
		n := rounds * len(ops)
		if want, got := n+3*rounds, waitInFlight(handles, n+3*rounds, 20*time.Second); got != want {
			t.Fatalf("%d handles for %d calls in flight, want %d", got, n, want)
		}
		noErr(t, c.Close())
		wg.Wait()
		close(results)
		// A call the library was already running may end with its own result (Close
		// gives the connection back to end the session); all others get ErrClosed.
		count, finished := 0, 0
		for err := range results {
			count++
			if err == nil {
				finished++
				continue
			}
			var e *offkv.Error
			if !errors.As(err, &e) || e.Code != offkv.ErrClosed || e.Message == "" {
				t.Errorf("call in flight at Close returned %v, want ErrClosed with a message", err)
			}
		}
		t.Logf("%d calls in flight at Close: %d ErrClosed, %d finished", n, count-finished, finished)
		if finished == count {
			t.Errorf("no call of %d in flight got ErrClosed", n)
		}
		if count != n || returned.Load() != int64(n) {
			t.Fatalf("%d results from %d returns for %d calls", count, returned.Load(), n)
		}
		if h := offkv.LiveHandles(); h != atStart {
			t.Fatalf("cgo handles %d after Close, %d before Open", h, atStart)
		}
	})
}

// A context done while the call waits: the call returns a *ContextError at once; the
// operation still runs in the library (here: once the connection is back) and takes
// effect; its completion is consumed without the caller, a watch it left cancelled.
func TestContextDoneWhileInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url, offkv.WithOperationTimeout(2*time.Minute))
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		handles := offkv.LiveHandles()
		noErr(t, c.TestkitSuspend())

		ctx, cancel := context.WithCancel(bg)
		type result struct {
			what string
			err  error
		}
		results := make(chan result, 3)
		go func() { _, err := c.Set(ctx, "/k", []byte("after")); results <- result{"set", err} }()
		go func() { _, _, _, err := c.GetWatch(ctx, "/k"); results <- result{"getwatch", err} }()
		go func() {
			dctx, dcancel := context.WithTimeout(bg, 100*time.Millisecond)
			defer dcancel()
			_, _, err := c.Get(dctx, "/k")
			results <- result{"get", err}
		}()
		if got := waitInFlight(handles, 4, 20*time.Second); got < 4 {
			t.Fatalf("only %d handles in flight", got)
		}
		cancel()
		start := time.Now()
		for range 3 {
			r := next(t, results)
			var ce *offkv.ContextError
			if !errors.As(r.err, &ce) {
				t.Fatalf("%s: %v, want a *ContextError", r.what, r.err)
			}
			if r.what == "get" && !errors.Is(r.err, context.DeadlineExceeded) || r.what != "get" && !errors.Is(r.err, context.Canceled) {
				t.Fatalf("%s: %v", r.what, r.err)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("cancelled calls took %v to return", d)
		}
		noErr(t, c.TestkitResume())
		// The abandoned set still takes effect (the same key's calls keep their order,
		// so this Get runs after it).
		value, _, err := c.Get(bg, "/k")
		noErr(t, err)
		if string(value) != "after" {
			t.Fatalf("value %q after the abandoned set", value)
		}
		deadline := time.Now().Add(20 * time.Second)
		for offkv.LiveHandles() != handles || c.LiveWatches() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("abandoned calls left %d handles, %d watches", offkv.LiveHandles()-handles, c.LiveWatches())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// The errors of the asynchronous calls are those of the blocking C calls: the same
// code and the same detail message, for errors found before any I/O and for errors
// from the store. (The watch-arming reads are held to the plain reads' errors.)
func TestErrorsMatchBlockingCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		must[string](t)(c.Create(bg, "/k/child", nil, 0))
		big := make([]byte, offkv.MaxValueSize+1)
		blocking := func(op, key string, value []byte, version int64) func() error {
			return func() error { return offkv.BlockingCall(c, op, key, value, version, 0) }
		}
		failingTxn := offkv.NewTxn().Check("/k", 1).Check("/k/child", 5).Set("/k", nil)
		cases := []struct {
			name     string
			code     offkv.Code
			async    func() error
			blocking func() error
		}{
			{"get absent", offkv.ErrNoEntry, func() error { _, _, err := c.Get(bg, "/absent"); return err }, blocking("get", "/absent", nil, 0)},
			{"get bad key", offkv.ErrInvalid, func() error { _, _, err := c.Get(bg, "no-slash"); return err }, blocking("get", "no-slash", nil, 0)},
			{"create exists", offkv.ErrExists, func() error { _, err := c.Create(bg, "/k", nil, 0); return err }, blocking("create", "/k", nil, 0)},
			{"create no parent", offkv.ErrNoEntry, func() error { _, err := c.Create(bg, "/a/b", nil, 0); return err }, blocking("create", "/a/b", nil, 0)},
			{"set too big", offkv.ErrTooBig, func() error { _, err := c.Set(bg, "/k", big); return err }, blocking("set", "/k", big, 0)},
			{"cas version", offkv.ErrVersion, func() error { _, err := c.Cas(bg, "/k", nil, 42); return err }, blocking("cas", "/k", nil, 42)},
			{"exists bad key", offkv.ErrInvalid, func() error { _, err := c.Exists(bg, "/a//b"); return err }, blocking("exists", "/a//b", nil, 0)},
			{"children absent", offkv.ErrNoEntry, func() error { _, err := c.Children(bg, "/absent"); return err }, blocking("children", "/absent", nil, 0)},
			{"erase version", offkv.ErrVersion, func() error { return c.Erase(bg, "/k", 42) }, blocking("erase", "/k", nil, 42)},
			{"erase absent", offkv.ErrNoEntry, func() error { return c.Erase(bg, "/absent", 0) }, blocking("erase", "/absent", nil, 0)},
			{"commit check", offkv.ErrTxn,
				func() error { _, err := c.Commit(bg, failingTxn); return err },
				func() error { _, err := offkv.BlockingCommit(c, failingTxn); return err }},
			{"getwatch absent", offkv.ErrNoEntry, func() error { _, _, _, err := c.GetWatch(bg, "/absent"); return err }, blocking("get", "/absent", nil, 0)},
			{"childrenwatch absent", offkv.ErrNoEntry, func() error { _, _, err := c.ChildrenWatch(bg, "/absent"); return err }, blocking("children", "/absent", nil, 0)},
		}
		for _, tc := range cases {
			got, want := tc.async(), tc.blocking()
			var ge, we *offkv.Error
			if !errors.As(got, &ge) || !errors.As(want, &we) {
				t.Fatalf("%s: got %v, the blocking call gave %v", tc.name, got, want)
			}
			if ge.Code != tc.code || *ge != *we {
				t.Errorf("%s:\n got  %#v\n want %#v (the blocking call's)", tc.name, *ge, *we)
			}
		}
		// And the results of successful calls.
		txn := offkv.NewTxn().Check("/k", offkv.AnyVersion).Create("/k/seq-", nil, offkv.Sequential)
		res := must[[]offkv.OpResult](t)(c.Commit(bg, txn))
		ref := must[[]offkv.OpResult](t)(offkv.BlockingCommit(c, txn))
		if len(res) != 1 || len(ref) != 1 || !strings.HasPrefix(res[0].Key, "/k/seq-") || ref[0].Key <= res[0].Key {
			t.Fatalf("commit results %v, then %v", res, ref)
		}
		kids := must[[]string](t)(c.Children(bg, "/k"))
		if want := []string{"/k/child", res[0].Key, ref[0].Key}; fmt.Sprint(kids) != fmt.Sprint(want) {
			t.Fatalf("children %v, want %v", kids, want)
		}
	})
}
