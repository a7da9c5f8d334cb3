package offkv_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// remoteSchemes are the remote backends compiled into the loaded library.
func remoteSchemes() (out []string) {
	for _, s := range []string{"zk", "etcd", "consul"} {
		if offkv.HasBackend(s) {
			out = append(out, s)
		}
	}
	return out
}

// A server that accepts connections and never answers: Open blocks in the library.
// Cancelling its context returns at once; the background open ends with the connect
// timeout and its half-made client is freed (checkLeaks).
func TestContextCancelsBlockingOpen(t *testing.T) {
	schemes := remoteSchemes()
	if len(schemes) == 0 {
		t.Logf("no remote backend compiled in: Open never blocks (mem:// only)")
		return
	}
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	for _, s := range schemes {
		t.Run(s, func(t *testing.T) {
			ctx, cancel := context.WithCancel(bg)
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			c, err := offkv.Open(ctx, s+"://"+ln.Addr().String(), offkv.WithConnectTimeout(2*time.Second))
			var ce *offkv.ContextError
			if c != nil || !errors.Is(err, context.Canceled) || !errors.As(err, &ce) {
				t.Fatalf("Open: %v, %v", c, err)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Fatalf("cancelled Open returned after %v", d)
			}

			// A deadline on the context becomes the connect timeout.
			dctx, dcancel := context.WithTimeout(bg, 300*time.Millisecond)
			defer dcancel()
			start = time.Now()
			_, err = offkv.Open(dctx, s+"://"+ln.Addr().String())
			if err == nil || time.Since(start) > 5*time.Second {
				t.Fatalf("Open with a deadline: %v after %v", err, time.Since(start))
			}
		})
	}
}

// A port where nothing listens: Open fails with a connection error code, with the
// library's detail.
func TestOpenUnreachable(t *testing.T) {
	schemes := remoteSchemes()
	if len(schemes) == 0 {
		t.Logf("no remote backend compiled in")
		return
	}
	checkLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err)
	addr := ln.Addr().String()
	ln.Close()
	for _, s := range schemes {
		t.Run(s, func(t *testing.T) {
			_, err := offkv.Open(bg, s+"://"+addr, offkv.WithConnectTimeout(2*time.Second))
			var e *offkv.Error
			if !errors.As(err, &e) || !(errors.Is(err, offkv.ErrTimeout) || errors.Is(err, offkv.ErrConnLoss)) {
				t.Fatalf("Open of a closed port: %v", err)
			}
			if e.Message == "" {
				t.Fatalf("no detail: %v", err)
			}
			t.Logf("%v", err)
		})
	}
}
