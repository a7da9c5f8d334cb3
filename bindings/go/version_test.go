package offkv_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

func TestVersionAndBackends(t *testing.T) {
	if offkv.Version() != offkv.HeaderVersionNumber || offkv.VersionString() != offkv.HeaderVersion {
		t.Fatalf("loaded %d %q, header %d %q", offkv.Version(), offkv.VersionString(),
			offkv.HeaderVersionNumber, offkv.HeaderVersion)
	}
	if !offkv.HasBackend("mem") || offkv.HasBackend("nope") || offkv.HasBackend("mem\x00") {
		t.Fatalf("HasBackend")
	}
	if offkv.SessionTimeoutMin > offkv.SessionTimeoutDefault || offkv.SessionTimeoutDefault > offkv.SessionTimeoutMax {
		t.Fatalf("session timeout bounds")
	}
}

func TestOptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url,
			offkv.WithSessionTimeout(offkv.SessionTimeoutMin),
			offkv.WithConnectTimeout(5*time.Second),
			offkv.WithOperationTimeout(5*time.Second),
			offkv.WithReadConsistency(offkv.Serializable))
		must[int64](t)(c.Set(bg, "/k", []byte("v")))
		for name, opt := range map[string]offkv.Option{
			"session timeout above the maximum": offkv.WithSessionTimeout(offkv.SessionTimeoutMax + time.Second),
			"negative operation timeout":        offkv.WithOperationTimeout(-time.Second),
			"unknown read consistency":          offkv.WithReadConsistency(7),
		} {
			if _, err := offkv.Open(bg, url, opt); !errors.Is(err, offkv.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		// URL query options override the options struct.
		if _, err := offkv.Open(bg, url+"?session_timeout_ms=1", offkv.WithSessionTimeout(offkv.SessionTimeoutDefault)); !errors.Is(err, offkv.ErrInvalid) {
			t.Errorf("query option: %v", err)
		}
	})
}

func TestOptionsByName(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url,
			offkv.WithOption("session_timeout_ms", "3000"),
			offkv.WithOption("read_consistency", "serializable"))
		must[int64](t)(c.Set(bg, "/k", []byte("v")))
		for name, opts := range map[string][]offkv.Option{
			"unknown name": {offkv.WithOption("no_such_option", "1")},
			"bad value":    {offkv.WithOption("session_timeout_ms", "soon")},
			"empty name":   {offkv.WithOption("", "1")},
			// Options by name win over the typed ones: this 1 ms is refused.
			"after the typed options": {offkv.WithSessionTimeout(offkv.SessionTimeoutDefault),
				offkv.WithOption("session_timeout_ms", "1")},
		} {
			_, err := offkv.Open(bg, url, opts...)
			if !errors.Is(err, offkv.ErrInvalid) {
				t.Errorf("%s: %v", name, err)
			}
		}
		_, err := offkv.Open(bg, url, offkv.WithOption("no_such_option", "1"))
		if err == nil || !strings.Contains(err.Error(), "no_such_option") {
			t.Errorf("the error should name the option: %v", err)
		}
		if _, err := offkv.Open(bg, url, offkv.WithOption("zk_acl\x00", "open")); !errors.Is(err, offkv.ErrInvalid) {
			t.Errorf("NUL in a name: %v", err)
		}
	})
}
