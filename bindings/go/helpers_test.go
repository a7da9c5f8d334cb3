package offkv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// Backends under test: mem:// always, plus every real server given by
//
//	OFFKV_TEST_URL       one or more URLs separated by whitespace
//	OFFKV_TEST_URL_FILE  one or more files (separated by the OS path-list separator,
//	                     ':' on Linux), each holding one or more URLs
//
// A server that is asked for but missing (file absent or empty, server down) fails
// the test: nothing is skipped.
func backendURLs(t testing.TB) []string {
	t.Helper()
	urls := []string{"mem://"}
	urls = append(urls, strings.Fields(os.Getenv("OFFKV_TEST_URL"))...)
	if files := os.Getenv("OFFKV_TEST_URL_FILE"); files != "" {
		for _, f := range filepath.SplitList(files) {
			if f == "" {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatalf("OFFKV_TEST_URL_FILE: %v (is the server running?)", err)
			}
			got := strings.Fields(string(data))
			if len(got) == 0 {
				t.Fatalf("OFFKV_TEST_URL_FILE: %s holds no URL", f)
			}
			urls = append(urls, got...)
		}
	}
	return urls
}

var unique atomic.Int64

// isolated returns a URL of base's server where this test sees only its own keys:
// a fresh store name for mem://, a fresh prefix below base's for real servers.
func isolated(t testing.TB, base string) string {
	t.Helper()
	n := unique.Add(1)
	name := fmt.Sprintf("go-%s-%d-%d", sanitize(t.Name()), os.Getpid(), n)
	if base == "mem://" {
		return "mem://" + name
	}
	query := ""
	if i := strings.IndexByte(base, '?'); i >= 0 {
		base, query = base[:i], base[i:]
	}
	scheme, rest, _ := strings.Cut(base, "://")
	hosts, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		prefix = "/" + prefix
	}
	return scheme + "://" + hosts + prefix + "/" + name + query
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// forEachBackend runs f as a subtest per backend, each with an isolated URL.
func forEachBackend(t *testing.T, f func(t *testing.T, url string)) {
	t.Helper()
	for _, base := range backendURLs(t) {
		scheme, _, _ := strings.Cut(base, "://")
		t.Run(scheme, func(t *testing.T) {
			f(t, isolated(t, base))
		})
	}
}

// open opens url and closes it when the test ends.
func open(t testing.TB, url string, opts ...offkv.Option) *offkv.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := offkv.Open(ctx, url, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkLeaks records the goroutine count now and, when the test ends (after the
// cleanups registered later, such as Close), asserts that it came back, that no
// cgo.Handle is left and that the trampoline never panicked.
func checkLeaks(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	handles := offkv.LiveHandles()
	t.Cleanup(func() {
		deadline := time.Now().Add(15 * time.Second)
		for {
			g, h := runtime.NumGoroutine(), offkv.LiveHandles()
			if g <= before && h == handles {
				break
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: goroutines %d -> %d, cgo handles %d -> %d\n%s", before, g, handles, h, buf)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if p := offkv.TrampolinePanics(); p != 0 {
			t.Errorf("%d panics recovered in the C callback trampoline; last: %s", p, offkv.LastTrampolinePanic())
		}
	})
}

// next reads one event or fails after a timeout.
func next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed, expected a value")
		}
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no value within 20 s")
	}
	panic("unreachable")
}

// closed asserts that ch is closed (draining up to max values first is not allowed:
// it must be closed now or within the timeout with no value).
func closed[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case v, ok := <-ch:
		if ok {
			t.Fatalf("expected a closed channel, got %v", v)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("channel not closed within 20 s")
	}
}

// quiet asserts that nothing arrives on ch for d.
func quiet[T any](t testing.TB, ch <-chan T, d time.Duration) {
	t.Helper()
	select {
	case v, ok := <-ch:
		t.Fatalf("expected nothing, got %v (open=%v)", v, ok)
	case <-time.After(d):
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var bg = context.Background()

// below returns url with /seg appended to its prefix (before any ?query).
func below(url, seg string) string {
	base, query, _ := strings.Cut(url, "?")
	if query != "" {
		query = "?" + query
	}
	return base + "/" + seg + query
}
