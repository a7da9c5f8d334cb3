package offkv_test

import (
	"errors"
	"strings"
	"testing"

	offkv "github.com/offkv/offkv/bindings/go"
)

func TestCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		checkLeaks(t)
		c := open(t, url)
		must[string](t)(c.Create(bg, "/cfg", []byte("v1"), 0))

		value := []byte("v2")
		txn := offkv.NewTxn().
			Check("/cfg", 1).
			Check("/absent", 0).
			Check("/cfg", offkv.AnyVersion).
			Set("/cfg", value).
			Create("/cfg/h-", []byte("old"), offkv.Sequential).
			Create("/tmp", nil, offkv.Ephemeral)
		value[0] = 'X' // the builder copied it
		res, err := c.Commit(bg, txn)
		noErr(t, err)
		if len(res) != 3 || res[0] != (offkv.OpResult{Version: 2, Key: "/cfg"}) ||
			!strings.HasPrefix(res[1].Key, "/cfg/h-") || len(res[1].Key) != len("/cfg/h-")+10 ||
			res[1].Version != 1 || res[2] != (offkv.OpResult{Version: 1, Key: "/tmp"}) {
			t.Fatalf("results %+v", res)
		}
		if got, _, _ := c.Get(bg, "/cfg"); string(got) != "v2" {
			t.Fatalf("/cfg = %q", got)
		}

		// A failing op: nothing applied, index counts checks first, then ops.
		_, err = c.Commit(bg, offkv.NewTxn().
			Check("/cfg", 2).
			Set("/cfg", []byte("v3")).
			Erase(res[1].Key, 0).
			Create("/cfg", nil, 0))
		var e *offkv.Error
		if !errors.Is(err, offkv.ErrTxn) || !errors.As(err, &e) {
			t.Fatalf("failing txn: %v", err)
		}
		if e.FailedIndex != 3 || e.FailedCode != offkv.ErrExists || e.Key != "/cfg" {
			t.Fatalf("failing txn: index %d code %v key %q", e.FailedIndex, e.FailedCode, e.Key)
		}
		if got, v, _ := c.Get(bg, "/cfg"); string(got) != "v2" || v != 2 {
			t.Fatalf("a failed txn changed /cfg: %q v%d", got, v)
		}
		if v := must[int64](t)(c.Exists(bg, res[1].Key)); v != 1 {
			t.Fatalf("a failed txn erased %s", res[1].Key)
		}

		// A failing check.
		_, err = c.Commit(bg, offkv.NewTxn().Check("/cfg", 1).Erase("/cfg", 0))
		if !errors.As(err, &e) || e.Code != offkv.ErrTxn || e.FailedIndex != 0 || e.FailedCode != offkv.ErrVersion {
			t.Fatalf("failing check: %v", err)
		}

		// An empty transaction commits to nothing; a nil one too.
		if res, err := c.Commit(bg, offkv.NewTxn()); err != nil || len(res) != 0 {
			t.Fatalf("empty txn: %v %v", res, err)
		}
		if res, err := c.Commit(bg, nil); err != nil || len(res) != 0 {
			t.Fatalf("nil txn: %v %v", res, err)
		}

		// Limits and bad items.
		full := offkv.NewTxn()
		for range offkv.MaxTxnOps {
			full.Check("/cfg", offkv.AnyVersion)
		}
		if _, err := c.Commit(bg, full); err != nil {
			t.Fatalf("txn at the limit: %v", err)
		}
		if _, err := c.Commit(bg, full.Check("/cfg", offkv.AnyVersion)); !errors.Is(err, offkv.ErrTooBig) {
			t.Fatalf("txn over the limit: %v", err)
		}
		if _, err := c.Commit(bg, offkv.NewTxn().Set("bad", nil)); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("bad key in txn: %v", err)
		}
		if _, err := c.Commit(bg, offkv.NewTxn().Set("/a\x00", nil)); !errors.Is(err, offkv.ErrInvalid) {
			t.Fatalf("NUL key in txn: %v", err)
		}
	})
}
