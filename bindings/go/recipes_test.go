package offkv_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(bg, d)
	t.Cleanup(cancel)
	return ctx
}

// nextRecipe reads recipe events until one of type want arrives (skipping others).
func nextRecipe(t testing.TB, ch <-chan offkv.RecipeEvent, want offkv.EventType, ok func(offkv.RecipeEvent) bool) offkv.RecipeEvent {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("channel closed while waiting for %v", want)
			}
			if ev.Type == want && (ok == nil || ok(ev)) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within 20 s", want)
		}
	}
}

func TestElectionBetweenTwoClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		a, b, watcher := open(t, url), open(t, url), open(t, url)
		ctx := ctxT(t, time.Minute)

		det, err := watcher.Detect(ctx, "/svc/leader")
		noErr(t, err)
		if _, err := det.Leader(); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("leader before any contender: %v", err)
		}

		ea, err := a.Contend(ctx, "/svc/leader", []byte("a:1"))
		noErr(t, err)
		noErr(t, ea.WaitLeader(ctx))
		if ev := nextRecipe(t, ea.Events(), offkv.EventLeader, nil); ev.Member == nil || string(ev.Member.Payload) != "a:1" {
			t.Fatalf("LEADER event %v", ev)
		}
		eb, err := b.Contend(ctx, "/svc/leader", []byte("b:2"))
		noErr(t, err)
		// b waits behind a: a short wait for leadership times out.
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err = eb.WaitLeader(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, offkv.ErrTimeout) {
			t.Fatalf("b led while a leads: %v", err)
		}
		if !ea.IsLeader() || eb.IsLeader() {
			t.Fatalf("IsLeader: a %v, b %v", ea.IsLeader(), eb.IsLeader())
		}
		noErr(t, eb.WaitNotLeader(ctx))
		ma := must[offkv.Member](t)(ea.Member())
		mb := must[offkv.Member](t)(eb.Member())
		if ma.Sequence >= mb.Sequence || string(mb.Payload) != "b:2" {
			t.Fatalf("members %+v, %+v", ma, mb)
		}
		nextRecipe(t, det.Events(), offkv.EventDetected, func(e offkv.RecipeEvent) bool {
			return e.Member != nil && string(e.Member.Payload) == "a:1"
		})
		if l := must[offkv.Member](t)(det.Leader()); l.Key != ma.Key {
			t.Fatalf("detector sees %s, leader is %s", l.Key, ma.Key)
		}

		// a's client goes away: a is told it lost (ErrClosed), b takes over, the
		// detector follows.
		noErr(t, a.Close())
		lost := nextRecipe(t, ea.Events(), offkv.EventNotLeader, nil)
		if !errors.Is(lost.Err, offkv.ErrClosed) {
			t.Fatalf("a's NOT_LEADER: %v", lost)
		}
		closedRecipe(t, ea.Events())
		if ea.IsLeader() {
			t.Fatalf("a still believes it leads after Close")
		}
		noErr(t, eb.WaitLeader(ctx))
		nextRecipe(t, eb.Events(), offkv.EventLeader, nil)
		got, err := det.Wait(ctx, ma.Key)
		noErr(t, err)
		if got.Key != mb.Key || string(got.Payload) != "b:2" {
			t.Fatalf("detector after failover: %+v", got)
		}

		// Withdraw: NOT_LEADER with no error, then the channel closes; the detector
		// sees "no leader".
		noErr(t, eb.Withdraw())
		if ev := nextRecipe(t, eb.Events(), offkv.EventNotLeader, nil); ev.Err != nil {
			t.Fatalf("withdraw NOT_LEADER: %v", ev)
		}
		closedRecipe(t, eb.Events())
		noErr(t, eb.Withdraw()) // twice is fine
		if err := eb.WaitLeader(ctx); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("WaitLeader after Withdraw: %v", err)
		}
		if _, err := det.Wait(ctx, mb.Key); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("detector after the last withdraw: %v", err)
		}
		noErr(t, det.Close())
		closedRecipe(t, det.Events())
	})
}

func closedRecipe(t testing.TB, ch <-chan offkv.RecipeEvent) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-deadline:
			t.Fatalf("recipe channel not closed within 20 s")
		}
	}
}

func TestGroupMembership(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		a, b := open(t, url), open(t, url)
		ctx := ctxT(t, time.Minute)

		observer, err := a.OpenGroup(ctx, "/svc/workers")
		noErr(t, err)
		if ev := nextRecipe(t, observer.Events(), offkv.EventMembers, nil); len(ev.Members) != 0 {
			t.Fatalf("first view %v", ev)
		}
		g1, err := a.OpenGroup(ctx, "/svc/workers")
		noErr(t, err)
		g2, err := b.OpenGroup(ctx, "/svc/workers")
		noErr(t, err)
		noErr(t, g1.Join(ctx, []byte("w1")))
		noErr(t, g2.Join(ctx, []byte("w2\x00bin")))
		if err := g1.Join(ctx, nil); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("second join: %v", err)
		}
		payloads := func(ms []offkv.Member) (out []string) {
			for _, m := range ms {
				out = append(out, string(m.Payload))
			}
			return out
		}
		nextRecipe(t, observer.Events(), offkv.EventMembers, func(e offkv.RecipeEvent) bool {
			p := payloads(e.Members)
			return len(p) == 2 && p[0] == "w1" && p[1] == "w2\x00bin"
		})
		ms := must[[]offkv.Member](t)(observer.Members(ctx))
		if len(ms) != 2 || ms[0].Sequence >= ms[1].Sequence {
			t.Fatalf("members %+v", ms)
		}
		self := must[offkv.Member](t)(g1.Self())
		if self.Key != ms[0].Key {
			t.Fatalf("self %s, first member %s", self.Key, ms[0].Key)
		}

		noErr(t, g1.Update(ctx, []byte("w1-v2")))
		nextRecipe(t, observer.Events(), offkv.EventMembers, func(e offkv.RecipeEvent) bool {
			p := payloads(e.Members)
			return len(p) == 2 && p[0] == "w1-v2"
		})
		noErr(t, g1.Leave(ctx))
		if _, err := g1.Self(); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("self after leave: %v", err)
		}
		if err := g1.Leave(ctx); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("second leave: %v", err)
		}
		// b's session ends: its membership goes with it.
		noErr(t, b.Close())
		closedRecipe(t, g2.Events())
		nextRecipe(t, observer.Events(), offkv.EventMembers, func(e offkv.RecipeEvent) bool {
			return len(e.Members) == 0
		})
		noErr(t, g1.Close())
		if err := g1.Join(ctx, nil); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("join after Close: %v", err)
		}
	})
}

func TestMutex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		a, b := open(t, url), open(t, url)
		ctx := ctxT(t, time.Minute)
		m1 := must[*offkv.Mutex](t)(a.NewMutex("/locks/l"))
		m2 := must[*offkv.Mutex](t)(b.NewMutex("/locks/l"))

		m1.Lock()
		if !m1.IsHeld() {
			t.Fatalf("m1 does not hold after Lock")
		}
		if ok, err := m2.TryAcquire(); ok || err != nil {
			t.Fatalf("TryAcquire while held elsewhere: %v %v", ok, err)
		}
		if err := m1.Acquire(ctx); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("reentrant acquire: %v", err)
		}
		fence := must[offkv.Member](t)(m1.Member())
		if fence.Key == "" || fence.Sequence < 0 {
			t.Fatalf("fencing member %+v", fence)
		}
		// A deadline: the library's own timeout, nothing left behind.
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := m2.Acquire(short)
		cancel()
		var ce *offkv.ContextError
		if !errors.As(err, &ce) || !errors.Is(err, offkv.ErrTimeout) {
			t.Fatalf("acquire past its deadline: %v", err)
		}
		m1.Unlock()
		if _, err := m1.Member(); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("member after unlock: %v", err)
		}
		if err := m1.Release(); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("release of a free lock: %v", err)
		}
		noErr(t, m2.Acquire(ctx))
		// Closing a held Mutex releases the lock.
		noErr(t, m2.Close())
		if err := m2.Acquire(ctx); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("acquire after Close: %v", err)
		}
		if ok, err := m1.TryAcquire(); !ok || err != nil {
			t.Fatalf("TryAcquire after the holder closed: %v %v", ok, err)
		}
		noErr(t, m1.Release())

		// sync.Locker across goroutines and clients: never two inside.
		var inside, entered atomic.Int32
		var wg sync.WaitGroup
		for i := range 6 {
			c := a
			if i%2 == 1 {
				c = b
			}
			var l sync.Locker = must[*offkv.Mutex](t)(c.NewMutex("/locks/l"))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					l.Lock()
					if inside.Add(1) != 1 {
						t.Errorf("two holders at once")
					}
					entered.Add(1)
					time.Sleep(time.Millisecond)
					inside.Add(-1)
					l.Unlock()
				}
				l.(*offkv.Mutex).Close()
			}()
		}
		wg.Wait()
		if entered.Load() != 18 {
			t.Fatalf("%d critical sections", entered.Load())
		}
	})
}

// Context cancellation of calls that block: a lock acquire behind a holder, a wait
// for leadership, a detector wait. Each returns at once with a *ContextError
// wrapping context.Canceled; what went on in the background ends (checkLeaks).
func TestContextCancelsBlockingCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		a, b := open(t, url), open(t, url)
		ctx := ctxT(t, time.Minute)

		cancelSoon := func() context.Context {
			c, cancel := context.WithCancel(ctx)
			time.AfterFunc(100*time.Millisecond, cancel)
			return c
		}
		expectCancelled := func(what string, start time.Time, err error) {
			t.Helper()
			var ce *offkv.ContextError
			if !errors.Is(err, context.Canceled) || !errors.As(err, &ce) {
				t.Fatalf("%s: %v", what, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("%s returned %v after the cancel", what, d)
			}
		}

		holder := must[*offkv.Mutex](t)(a.NewMutex("/locks/block"))
		noErr(t, holder.Acquire(ctx))
		waiter := must[*offkv.Mutex](t)(b.NewMutex("/locks/block"))
		start := time.Now()
		expectCancelled("acquire", start, waiter.Acquire(cancelSoon()))
		// The abandoned acquire still runs; once the holder releases it gets the lock
		// and gives it back at once, so the holder can take it again.
		noErr(t, holder.Release())
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := holder.TryAcquire()
			noErr(t, err)
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the abandoned acquire kept the lock")
			}
			time.Sleep(20 * time.Millisecond)
		}
		noErr(t, holder.Release())

		leader, err := a.Contend(ctx, "/svc/e", nil)
		noErr(t, err)
		noErr(t, leader.WaitLeader(ctx))
		follower, err := b.Contend(ctx, "/svc/e", nil)
		noErr(t, err)
		start = time.Now()
		expectCancelled("wait leader", start, follower.WaitLeader(cancelSoon()))

		det, err := b.Detect(ctx, "/svc/e")
		noErr(t, err)
		l := must[offkv.Member](t)(leader.Member())
		for {
			if got, err := det.Leader(); err == nil && got.Key == l.Key {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		start = time.Now()
		_, err = det.Wait(cancelSoon(), l.Key)
		expectCancelled("detector wait", start, err)

		// A call whose context is already done does nothing.
		done, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := a.Set(done, "/x", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("set with a done context: %v", err)
		}
		if v := must[int64](t)(a.Exists(ctx, "/x")); v != 0 {
			t.Fatalf("set with a done context wrote")
		}
	})
}

// WithLabel reaches the core: members are <label>_<10 digits> (Mesos' names), and a
// labeled recipe sees only members with its label.
func TestLabelUsesMesosLayout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		master, c := open(t, url), open(t, url)
		ctx := ctxT(t, time.Minute)
		label := offkv.WithLabel(offkv.MesosMasterLabel)
		if offkv.MesosMasterLabel != "json.info" {
			t.Fatalf("MesosMasterLabel %q", offkv.MesosMasterLabel)
		}
		// A Mesos master's own node, written as Mesos writes it.
		_, err := master.Create(ctx, "/mesos", nil, 0)
		noErr(t, err)
		native, err := master.Create(ctx, "/mesos/json.info_", []byte(`{"id":"m1"}`), offkv.Ephemeral|offkv.Sequential)
		noErr(t, err)

		e, err := c.Contend(ctx, "/mesos", []byte(`{"id":"offkv"}`), label)
		noErr(t, err)
		defer e.Withdraw()
		if e.Label() != "json.info" {
			t.Fatalf("Label() %q", e.Label())
		}
		named := regexp.MustCompile(`^/mesos/json\.info_[0-9]{10}$`)
		var me offkv.Member
		deadline := time.Now().Add(20 * time.Second)
		for {
			if me, err = e.Member(); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		noErr(t, err)
		if !named.MatchString(me.Key) || fmt.Sprintf("%010d", me.Sequence) != me.Key[len(me.Key)-10:] {
			t.Fatalf("labeled member %+v", me)
		}
		if e.IsLeader() {
			t.Fatalf("led ahead of the Mesos master %s", native)
		}
		det, err := c.Detect(ctx, "/mesos", label)
		noErr(t, err)
		defer det.Close()
		if l, err := det.Wait(ctx, ""); err != nil || l.Key != native {
			t.Fatalf("labeled detector: %+v, %v (want %s)", l, err, native)
		}
		plain, err := c.Detect(ctx, "/mesos")
		noErr(t, err)
		defer plain.Close()
		if _, err := plain.Leader(); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("unlabeled detector sees a leader: %v", err)
		}
		g, err := c.OpenGroup(ctx, "/mesos", label)
		noErr(t, err)
		defer g.Close()
		members, err := g.Members(ctx)
		noErr(t, err)
		if len(members) != 2 || members[0].Key != native || members[1].Key != me.Key {
			t.Fatalf("labeled members %+v", members)
		}
		noErr(t, master.Close()) // the master's session ends: offkv's contender leads
		noErr(t, e.WaitLeader(ctx))
		if l, err := det.Wait(ctx, native); err != nil || l.Key != me.Key {
			t.Fatalf("after the master: %+v, %v", l, err)
		}
		noErr(t, g.Join(ctx, []byte("g")))
		if self, err := g.Self(); err != nil || !named.MatchString(self.Key) {
			t.Fatalf("group self %+v, %v", self, err)
		}
		for _, bad := range []string{"", "a/b", "json_info"} {
			_, err := c.Contend(ctx, "/m", nil, offkv.WithLabel(bad))
			var oe *offkv.Error
			if !errors.Is(err, offkv.ErrInvalid) || !errors.As(err, &oe) || !strings.Contains(oe.Message, "label") {
				t.Fatalf("label %q: %v", bad, err)
			}
			if _, err := c.Detect(ctx, "/m", offkv.WithLabel(bad)); !errors.Is(err, offkv.ErrInvalid) {
				t.Fatalf("detector label %q: %v", bad, err)
			}
			if _, err := c.OpenGroup(ctx, "/m", offkv.WithLabel(bad)); !errors.Is(err, offkv.ErrInvalid) {
				t.Fatalf("group label %q: %v", bad, err)
			}
		}
		if _, err := c.Detect(ctx, "/m", offkv.WithLabel("a\x00b")); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("label with NUL: %v", err)
		}
		if v, err := c.Exists(ctx, "/m"); err != nil || v != 0 {
			t.Fatalf("an invalid label wrote /m: %d, %v", v, err)
		}
	})
}
