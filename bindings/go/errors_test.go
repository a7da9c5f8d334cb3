package offkv_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	offkv "github.com/offkv/offkv/bindings/go"
)

var sentinels = map[string]offkv.Code{
	"OFFKV_EINVAL":       offkv.ErrInvalid,
	"OFFKV_ENOENT":       offkv.ErrNoEntry,
	"OFFKV_EEXIST":       offkv.ErrExists,
	"OFFKV_EVERSION":     offkv.ErrVersion,
	"OFFKV_EEPHEMERAL":   offkv.ErrEphemeral,
	"OFFKV_ENOTEMPTY":    offkv.ErrNotEmpty,
	"OFFKV_ETOOBIG":      offkv.ErrTooBig,
	"OFFKV_ETXN":         offkv.ErrTxn,
	"OFFKV_ECONNLOSS":    offkv.ErrConnLoss,
	"OFFKV_ESESSION":     offkv.ErrSession,
	"OFFKV_ETIMEOUT":     offkv.ErrTimeout,
	"OFFKV_EAUTH":        offkv.ErrAuth,
	"OFFKV_ETLS":         offkv.ErrTLS,
	"OFFKV_ECLOSED":      offkv.ErrClosed,
	"OFFKV_EUNSUPPORTED": offkv.ErrUnsupported,
	"OFFKV_ESERVICE":     offkv.ErrService,
	"OFFKV_ENOMEM":       offkv.ErrNoMem,
	"OFFKV_EINTERNAL":    offkv.ErrInternal,
}

// Every code the library can return has exactly one sentinel, named after it, and an
// *Error with that code matches it (and only it) through errors.Is and errors.As.
func TestEverySentinel(t *testing.T) {
	if len(sentinels) != offkv.CodeCount-1 {
		t.Fatalf("%d sentinels for %d error codes", len(sentinels), offkv.CodeCount-1)
	}
	for code := 1; code < offkv.CodeCount; code++ {
		err := offkv.ErrorFromCode(code, "get", "/k", "detail")
		matched := 0
		for name, s := range sentinels {
			if errors.Is(err, s) {
				matched++
				if s.String() != name {
					t.Errorf("code %d matches %s but is named %s", code, name, s.String())
				}
			}
		}
		if matched != 1 {
			t.Errorf("code %d matches %d sentinels", code, matched)
		}
		var e *offkv.Error
		var c offkv.Code
		if !errors.As(err, &e) || !errors.As(err, &c) || int(c) != code {
			t.Errorf("code %d: errors.As failed", code)
		}
		if s := err.Error(); !strings.Contains(s, `"/k"`) || !strings.Contains(s, "detail") ||
			!strings.Contains(s, offkv.Code(code).String()) {
			t.Errorf("code %d: message %q lacks key, detail or name", code, s)
		}
		if offkv.Code(code).Error() == "" {
			t.Errorf("code %d has no text", code)
		}
	}
}

// The sentinels a running mem:// client (or any backend) can produce, each through
// a real call, with the key and the library's detail in the error.
func TestSentinelsFromCalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/e", nil, offkv.Ephemeral))
		must[string](t)(c.Create(bg, "/p", nil, 0))
		tooMany := offkv.NewTxn()
		for range offkv.MaxTxnOps + 1 {
			tooMany.Check("/p", offkv.AnyVersion)
		}
		cases := []struct {
			want offkv.Code
			key  string
			call func() error
		}{
			{offkv.ErrInvalid, "no-slash", func() error { _, _, err := c.Get(bg, "no-slash"); return err }},
			{offkv.ErrInvalid, "/a\x00b", func() error { _, err := c.Set(bg, "/a\x00b", nil); return err }},
			{offkv.ErrInvalid, "/p/", func() error { _, err := c.Create(bg, "/p/", nil, 0); return err }},
			{offkv.ErrInvalid, "/p", func() error { _, err := c.Cas(bg, "/p", nil, -5); return err }},
			{offkv.ErrNoEntry, "/missing", func() error { _, _, err := c.Get(bg, "/missing"); return err }},
			{offkv.ErrNoEntry, "/missing/child", func() error { _, err := c.Create(bg, "/missing/child", nil, 0); return err }},
			{offkv.ErrNoEntry, "/missing", func() error { _, err := c.Children(bg, "/missing"); return err }},
			{offkv.ErrExists, "/p", func() error { _, err := c.Create(bg, "/p", nil, 0); return err }},
			{offkv.ErrVersion, "/p", func() error { _, err := c.Cas(bg, "/p", nil, 7); return err }},
			{offkv.ErrVersion, "/p", func() error { return c.Erase(bg, "/p", 7) }},
			{offkv.ErrEphemeral, "/e/child", func() error { _, err := c.Create(bg, "/e/child", nil, 0); return err }},
			{offkv.ErrTooBig, "/p", func() error { _, err := c.Set(bg, "/p", make([]byte, offkv.MaxValueSize+1)); return err }},
			{offkv.ErrTooBig, "", func() error { _, err := c.Commit(bg, tooMany); return err }},
			{offkv.ErrTxn, "/p", func() error { _, err := c.Commit(bg, offkv.NewTxn().Check("/p", 0)); return err }},
		}
		for _, tc := range cases {
			err := tc.call()
			var e *offkv.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) {
				t.Errorf("%s: got %v, want %s", tc.key, err, tc.want.String())
				continue
			}
			if e.Key != tc.key {
				t.Errorf("%v: Key %q, want %q", err, e.Key, tc.key)
			}
			if e.Message == "" {
				t.Errorf("%v: no detail message", err)
			}
		}

		// ErrClosed: every call after Close, and the ENDED event of a watch.
		_, w, err := c.ExistsWatch(bg, "/p")
		noErr(t, err)
		noErr(t, c.Close())
		ev := next(t, w.Events())
		if ev.Type != offkv.EventEnded || !errors.Is(ev.Err, offkv.ErrClosed) {
			t.Fatalf("watch after Close: %v", ev)
		}
		if _, _, err := c.Get(bg, "/p"); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("get after Close: %v", err)
		}
		if _, err := c.Commit(bg, offkv.NewTxn()); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("commit after Close: %v", err)
		}
		if _, err := c.WatchPersistent(bg, "/"); !errors.Is(err, offkv.ErrClosed) {
			t.Fatalf("watch after Close: %v", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	checkLeaks(t)
	for _, url := range []string{"", "nope://x", "mem://", "zk://no-port", "mem://x?bogus=1", "mem://x\x00y"} {
		if c, err := offkv.Open(bg, url); !errors.Is(err, offkv.ErrInvalid) || c != nil {
			t.Errorf("Open(%q): %v", url, err)
		}
	}
	if _, err := offkv.Open(bg, "mem://x", offkv.WithSessionTimeout(1)); !errors.Is(err, offkv.ErrInvalid) {
		t.Errorf("session timeout below the minimum: %v", err)
	}
	if _, err := offkv.Open(bg, "mem://x", offkv.WithToken("a\x00b")); !errors.Is(err, offkv.ErrInvalid) {
		t.Errorf("token with a NUL: %v", err)
	}
	// ErrUnsupported: a backend compiled out of this build of the library.
	reached := false
	for _, s := range []string{"etcd", "consul", "zk"} {
		if offkv.HasBackend(s) {
			continue
		}
		_, err := offkv.Open(bg, s+"://127.0.0.1:1")
		if !errors.Is(err, offkv.ErrUnsupported) {
			t.Errorf("Open(%s://) without the backend: %v", s, err)
		}
		reached = true
	}
	if !reached {
		t.Logf("every backend is compiled in: ErrUnsupported is not reachable through Open")
	}
	// A context already done: nothing is attempted.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := offkv.Open(ctx, "mem://x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v", err)
	}
}
