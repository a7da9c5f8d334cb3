package offkv_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	offkv "github.com/offkv/offkv/bindings/go"
)

func TestBinaryValues(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		all := make([]byte, 256)
		for i := range all {
			all[i] = byte(i)
		}
		big := bytes.Repeat([]byte{0, 0xff, 'x', 0}, offkv.MaxValueSize/4)
		cases := map[string][]byte{
			"/all-bytes": all,
			"/nuls":      {0, 0, 0},
			"/nul-mid":   []byte("a\x00b"),
			"/utf8":      []byte("héllo ✓"),
			"/invalid":   {0xc3, 0x28, 0xfe},
			"/max":       big,
		}
		for key, value := range cases {
			if _, err := c.Create(bg, key, value, 0); err != nil {
				t.Fatalf("create %s: %v", key, err)
			}
			got, ver, err := c.Get(bg, key)
			noErr(t, err)
			if !bytes.Equal(got, value) || ver != 1 {
				t.Fatalf("%s: got %d bytes v%d, want %d bytes v1", key, len(got), ver, len(value))
			}
		}
		// Empty values: nil and []byte{} both store "", and read back non-nil.
		for _, v := range [][]byte{nil, {}} {
			must[int64](t)(c.Set(bg, "/empty", v))
			got, _, err := c.Get(bg, "/empty")
			noErr(t, err)
			if got == nil || len(got) != 0 {
				t.Fatalf("empty value read back as %#v", got)
			}
		}
		// One byte over the limit: ErrTooBig, nothing written.
		over := make([]byte, offkv.MaxValueSize+1)
		if _, err := c.Set(bg, "/max", over); !errors.Is(err, offkv.ErrTooBig) {
			t.Fatalf("set over the limit: %v", err)
		}
		if _, err := c.Create(bg, "/over", over, 0); !errors.Is(err, offkv.ErrTooBig) {
			t.Fatalf("create over the limit: %v", err)
		}
		if v := must[int64](t)(c.Exists(bg, "/over")); v != 0 {
			t.Fatalf("/over exists after ErrTooBig")
		}
		got, ver, _ := c.Get(bg, "/max")
		if !bytes.Equal(got, big) || ver != 1 {
			t.Fatalf("/max changed by a refused set")
		}
	})
}

func TestNodeLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		if k := must[string](t)(c.Create(bg, "/a", []byte("1"), 0)); k != "/a" {
			t.Fatalf("create returned %q", k)
		}
		if v := must[int64](t)(c.Set(bg, "/a", []byte("2"))); v != 2 {
			t.Fatalf("set version %d, want 2", v)
		}
		if v := must[int64](t)(c.Cas(bg, "/a", []byte("3"), 2)); v != 3 {
			t.Fatalf("cas version %d, want 3", v)
		}
		if _, err := c.Cas(bg, "/a", []byte("x"), 2); !errors.Is(err, offkv.ErrVersion) {
			t.Fatalf("stale cas: %v", err)
		}
		if v := must[int64](t)(c.Cas(bg, "/new", []byte("n"), 0)); v != 1 {
			t.Fatalf("cas-create version %d", v)
		}
		if _, err := c.Cas(bg, "/new", []byte("n"), 0); !errors.Is(err, offkv.ErrVersion) {
			t.Fatalf("cas-create of an existing key: %v", err)
		}
		if v := must[int64](t)(c.Exists(bg, "/a")); v != 3 {
			t.Fatalf("exists %d", v)
		}
		if v := must[int64](t)(c.Exists(bg, "/none")); v != 0 {
			t.Fatalf("exists of an absent key: %d", v)
		}

		for _, k := range []string{"/a/c", "/a/b", "/a/b/deep", "/ab"} {
			must[string](t)(c.Create(bg, k, nil, 0))
		}
		kids := must[[]string](t)(c.Children(bg, "/a"))
		if !reflect.DeepEqual(kids, []string{"/a/b", "/a/c"}) {
			t.Fatalf("children %v", kids)
		}
		root := must[[]string](t)(c.Children(bg, "/"))
		if !reflect.DeepEqual(root, []string{"/a", "/ab", "/new"}) {
			t.Fatalf("root children %v", root)
		}

		s1 := must[string](t)(c.Create(bg, "/a/seq-", nil, offkv.Sequential))
		s2 := must[string](t)(c.Create(bg, "/a/seq-", nil, offkv.Sequential|offkv.Ephemeral))
		if len(s1) != len("/a/seq-")+10 || s2 <= s1 {
			t.Fatalf("sequential keys %q, %q", s1, s2)
		}

		if err := c.Erase(bg, "/a", 2); !errors.Is(err, offkv.ErrVersion) {
			t.Fatalf("erase with a wrong version: %v", err)
		}
		noErr(t, c.Erase(bg, "/a", 3))
		for _, k := range []string{"/a", "/a/b/deep", s1, s2} {
			if v := must[int64](t)(c.Exists(bg, k)); v != 0 {
				t.Fatalf("%s survived the subtree erase", k)
			}
		}
		if v := must[int64](t)(c.Exists(bg, "/ab")); v != 1 {
			t.Fatalf("erasing /a touched /ab")
		}
		if err := c.Erase(bg, "/a", 0); !errors.Is(err, offkv.ErrNoEntry) {
			t.Fatalf("erase of an absent key: %v", err)
		}
		// Versions restart at 1 after erase and create.
		must[string](t)(c.Create(bg, "/a", nil, 0))
		if _, v, _ := c.Get(bg, "/a"); v != 1 {
			t.Fatalf("recreated version %d", v)
		}
	})
}

func TestEphemeralAndPrefixes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		a := open(t, below(url, "left"))
		b := open(t, below(url, "right"))
		whole := open(t, url)
		must[string](t)(a.Create(bg, "/k", []byte("a"), offkv.Ephemeral))
		if v := must[int64](t)(b.Exists(bg, "/k")); v != 0 {
			t.Fatalf("prefixes leak: /right sees /left's key")
		}
		if v := must[int64](t)(whole.Exists(bg, "/left/k")); v != 1 {
			t.Fatalf("unprefixed client does not see /left/k")
		}
		noErr(t, a.Close())
		if v := must[int64](t)(whole.Exists(bg, "/left/k")); v != 0 {
			t.Fatalf("ephemeral survived Close")
		}
	})
}
