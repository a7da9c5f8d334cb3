package offkv_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// Many goroutines on one client: writes to their own keys, a shared counter by CAS
// retry, watches set and fired concurrently, all under -race.
func TestManyGoroutinesOneClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		const workers, rounds = 16, 25
		must[string](t)(c.Create(bg, "/counter", []byte("0"), 0))
		must[string](t)(c.Create(bg, "/g", nil, 0))

		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- worker(c, i, rounds)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		value, _, err := c.Get(bg, "/counter")
		noErr(t, err)
		if n, _ := strconv.Atoi(string(value)); n != workers*rounds {
			t.Fatalf("counter %d, want %d", n, workers*rounds)
		}
		kids := must[[]string](t)(c.Children(bg, "/g"))
		if len(kids) != workers {
			t.Fatalf("%d children, want %d", len(kids), workers)
		}
	})
}

func worker(c *offkv.Client, id, rounds int) error {
	ctx, cancel := context.WithTimeout(bg, time.Minute)
	defer cancel()
	key := fmt.Sprintf("/g/w%02d", id)
	if _, err := c.Create(ctx, key, nil, 0); err != nil {
		return err
	}
	for r := range rounds {
		// A watch on our own key, fired by our own write.
		_, _, w, err := c.GetWatch(ctx, key)
		if err != nil {
			return err
		}
		if _, err := c.Set(ctx, key, []byte(strconv.Itoa(r))); err != nil {
			return err
		}
		select {
		case ev := <-w.Events():
			if ev.Type != offkv.EventChanged {
				return fmt.Errorf("%s: %v", key, ev)
			}
		case <-ctx.Done():
			return fmt.Errorf("%s: no event", key)
		}
		// Increment the shared counter.
		for {
			value, ver, err := c.Get(ctx, "/counter")
			if err != nil {
				return err
			}
			n, _ := strconv.Atoi(string(value))
			_, err = c.Cas(ctx, "/counter", []byte(strconv.Itoa(n+1)), ver)
			if err == nil {
				break
			}
			if !errors.Is(err, offkv.ErrVersion) {
				return err
			}
		}
	}
	return nil
}

// Close while other goroutines are mid-call: every call returns (nil or ErrClosed),
// nothing crashes, nothing leaks.
func TestCloseDuringCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c, err := offkv.Open(bg, url)
		noErr(t, err)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithCancel(bg) // the goroutine-per-call path too
				defer cancel()
				key := fmt.Sprintf("/c%d", i)
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := c.Set(ctx, key, []byte("x"))
					if err == nil {
						_, _, _, err = c.GetWatch(ctx, key)
					}
					if err == nil {
						_, err = c.WatchPersistent(ctx, key)
					}
					if err != nil {
						if !errors.Is(err, offkv.ErrClosed) {
							t.Errorf("%s: %v", key, err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		noErr(t, c.Close())
		close(stop)
		wg.Wait()
		if n := c.LiveWatches() + c.LivePumps(); n != 0 {
			t.Fatalf("%d watches, %d pumps left after Close: %v", c.LiveWatches(), c.LivePumps(), c.WatchKeys())
		}
		t.Logf("stray events so far: %d", offkv.StrayEvents())
	})
}
