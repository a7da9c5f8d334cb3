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

// waitInFlight waits until n more calls than base are in the library or the deadline
// passes; it returns how many are.
func waitInFlight(base int64, n int, deadline time.Duration) int {
	end := time.Now().Add(deadline)
	for {
		got := int(offkv.CallsInFlight() - base)
		if got >= n || time.Now().After(end) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// withBlockingSlots sets the calls per client that take the blocking C form for the
// rest of the test.
func withBlockingSlots(t testing.TB, n int) {
	old := offkv.SetBlockingSlots(n)
	t.Cleanup(func() { offkv.SetBlockingSlots(old) })
}

// 1000 goroutines each with a Get in flight on one client need no OS thread each: the
// calls wait in the library (the client's connection is cut, so none can finish)
// while the goroutines wait on channels (all but the few in blocking slots), and the
// process keeps a few dozen threads. The blocking binding held one OS thread per
// call here (1000+ threads).
func TestCallsInFlightNeedNoThreadEach(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url, offkv.WithOperationTimeout(2*time.Minute))
		const keys, calls = 10, 1000
		for i := range keys {
			must[string](t)(c.Create(bg, fmt.Sprintf("/k%d", i), []byte(fmt.Sprint("v", i)), 0))
		}
		before := osThreads(t)
		inLibrary := offkv.CallsInFlight()
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
		inFlight := waitInFlight(inLibrary, calls, 20*time.Second)
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
	for _, slots := range []int{0, offkv.DefaultBlockingSlots} {
		t.Run(fmt.Sprint("blocking=", slots), func(t *testing.T) {
			withBlockingSlots(t, slots)
			closeWithCallsInFlight(t)
		})
	}
}

func closeWithCallsInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		atStart := offkv.LiveHandles()
		c, err := offkv.Open(bg, url, offkv.WithOperationTimeout(2*time.Minute))
		noErr(t, err)
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		inLibrary := offkv.CallsInFlight()
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
		n := rounds * len(ops)
		if got := waitInFlight(inLibrary, n, 20*time.Second); got != n {
			t.Fatalf("%d of %d calls in the library", got, n)
		}
		noErr(t, c.Close())
		wg.Wait()
		close(results)
		// A call the library was already running may end with its own outcome (Close
		// gives the connection back to end the session): a result or the store's
		// error. The others, most of them (the library runs at most a few dozen calls
		// of a client at once, docs/c-api.md), get ErrClosed.
		count, finished := 0, 0
		for err := range results {
			count++
			var e *offkv.Error
			switch {
			case err == nil:
				finished++
			case !errors.As(err, &e) || e.Message == "":
				t.Errorf("call in flight at Close returned %v, want an *offkv.Error with a message", err)
			case e.Code != offkv.ErrClosed:
				finished++
			}
		}
		t.Logf("%d calls in flight at Close: %d ErrClosed, %d finished", n, count-finished, finished)
		if finished > n/2 {
			t.Errorf("only %d of %d calls in flight got ErrClosed", count-finished, n)
		}
		if count != n || returned.Load() != int64(n) {
			t.Fatalf("%d results from %d returns for %d calls", count, returned.Load(), n)
		}
		if n := offkv.StrayCompletions(); n != 0 {
			t.Fatalf("%d completions for unknown handles", n)
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
	withBlockingSlots(t, 0) // every call asynchronous
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url, offkv.WithOperationTimeout(2*time.Minute))
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		handles, inLibrary := offkv.LiveHandles(), offkv.CallsInFlight()
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
		if got := waitInFlight(inLibrary, 3, 20*time.Second); got < 3 {
			t.Fatalf("only %d calls in the library", got)
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

// The asynchronous form of each call gives what its blocking form gives: the same
// error (code, detail message, transaction index) for errors found before any I/O and
// for errors from the store, and the same results.
func TestAsyncMatchesBlocking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/k", []byte("v"), 0))
		must[string](t)(c.Create(bg, "/k/child", nil, 0))
		big := make([]byte, offkv.MaxValueSize+1)
		failingTxn := offkv.NewTxn().Check("/k", 1).Check("/k/child", 5).Set("/k", nil)
		cases := []struct {
			name string
			code offkv.Code
			call func() error
		}{
			{"get absent", offkv.ErrNoEntry, func() error { _, _, err := c.Get(bg, "/absent"); return err }},
			{"get bad key", offkv.ErrInvalid, func() error { _, _, err := c.Get(bg, "no-slash"); return err }},
			{"create exists", offkv.ErrExists, func() error { _, err := c.Create(bg, "/k", nil, 0); return err }},
			{"create no parent", offkv.ErrNoEntry, func() error { _, err := c.Create(bg, "/a/b", nil, 0); return err }},
			{"set too big", offkv.ErrTooBig, func() error { _, err := c.Set(bg, "/k", big); return err }},
			{"cas version", offkv.ErrVersion, func() error { _, err := c.Cas(bg, "/k", nil, 42); return err }},
			{"exists bad key", offkv.ErrInvalid, func() error { _, err := c.Exists(bg, "/a//b"); return err }},
			{"children absent", offkv.ErrNoEntry, func() error { _, err := c.Children(bg, "/absent"); return err }},
			{"erase version", offkv.ErrVersion, func() error { return c.Erase(bg, "/k", 42) }},
			{"erase absent", offkv.ErrNoEntry, func() error { return c.Erase(bg, "/absent", 0) }},
			{"commit check", offkv.ErrTxn, func() error { _, err := c.Commit(bg, failingTxn); return err }},
			{"getwatch absent", offkv.ErrNoEntry, func() error { _, _, _, err := c.GetWatch(bg, "/absent"); return err }},
			{"existswatch bad key", offkv.ErrInvalid, func() error { _, _, err := c.ExistsWatch(bg, "/a/"); return err }},
			{"childrenwatch absent", offkv.ErrNoEntry, func() error { _, _, err := c.ChildrenWatch(bg, "/absent"); return err }},
		}
		both := func(f func() error) (async, blocking error) {
			old := offkv.SetBlockingSlots(0)
			async = f()
			offkv.SetBlockingSlots(1 << 20)
			blocking = f()
			offkv.SetBlockingSlots(old)
			return
		}
		for _, tc := range cases {
			got, want := both(tc.call)
			var ge, we *offkv.Error
			if !errors.As(got, &ge) || !errors.As(want, &we) {
				t.Fatalf("%s: asynchronous %v, blocking %v", tc.name, got, want)
			}
			if ge.Code != tc.code || *ge != *we || ge.Message == "" {
				t.Errorf("%s:\n asynchronous %#v\n blocking     %#v", tc.name, *ge, *we)
			}
		}
		// And the results of successful calls: one round in each form, the second
		// seeing the first one's nodes.
		type outcome struct {
			created  string
			version  int64
			value    string
			existing int64
			kids     []string
			ops      []offkv.OpResult
		}
		var rounds []outcome
		round := func() error {
			var o outcome
			var value []byte
			var err error
			if o.created, err = c.Create(bg, "/k/seq-", []byte("s"), offkv.Sequential); err != nil {
				return err
			}
			if o.version, err = c.Set(bg, "/k", []byte(fmt.Sprint("r", len(rounds)))); err != nil {
				return err
			}
			if value, _, err = c.Get(bg, "/k"); err != nil {
				return err
			}
			o.value = string(value)
			if o.existing, err = c.Exists(bg, "/k"); err != nil {
				return err
			}
			if o.kids, err = c.Children(bg, "/k"); err != nil {
				return err
			}
			txn := offkv.NewTxn().Check("/k", o.version).Create("/k/t-", nil, offkv.Sequential).Set("/k/child", nil)
			if o.ops, err = c.Commit(bg, txn); err != nil {
				return err
			}
			rounds = append(rounds, o)
			return nil
		}
		errA, errB := both(round)
		noErr(t, errA)
		noErr(t, errB)
		a, b := rounds[0], rounds[1]
		t.Logf("asynchronous: %+v\nblocking:     %+v", a, b)
		for i, o := range rounds {
			if o.value != fmt.Sprint("r", i) || o.existing != o.version || len(o.ops) != 2 ||
				!strings.HasPrefix(o.created, "/k/seq-") || !strings.HasPrefix(o.ops[0].Key, "/k/t-") ||
				o.ops[1].Key != "/k/child" || len(o.kids) != 2+2*i {
				t.Fatalf("round %d (%s): %+v", i, []string{"asynchronous", "blocking"}[i], o)
			}
		}
		if b.version != a.version+1 || b.created <= a.created || b.ops[0].Key <= a.ops[0].Key || b.ops[1].Version <= a.ops[1].Version {
			t.Fatalf("asynchronous %+v, then blocking %+v", a, b)
		}
	})
}
