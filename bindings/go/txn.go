package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"strings"
	"unsafe"
)

// Txn builds a transaction for Client.Commit: checks, then ops, each kept in the
// order added (indexes in ErrTxn errors count checks first, then ops). The zero
// value is an empty transaction; the methods return t so calls chain:
//
//	res, err := c.Commit(ctx, offkv.NewTxn().
//		Check("/config", 3).
//		Set("/config", newConfig).
//		Create("/config/history-", old, offkv.Sequential))
//
// A Txn only records the items (copying values); the library checks them when the
// transaction is committed. It may be committed more than once.
type Txn struct {
	checks []txnItem
	ops    []txnItem
}

type txnKind int

const (
	txnCheck txnKind = iota
	txnCreate
	txnSet
	txnErase
)

type txnItem struct {
	kind    txnKind
	key     string
	value   []byte
	version int64
	flags   CreateFlags
}

// OpResult is the result of one transaction op, in op order.
type OpResult struct {
	Version int64  // version after the op (0 for erase)
	Key     string // the key acted on; the actual key for sequential creates
}

// NewTxn returns an empty transaction.
func NewTxn() *Txn { return &Txn{} }

// Check requires key to have exactly version (> 0), not to exist (0), or to exist
// whatever its version (AnyVersion).
func (t *Txn) Check(key string, version int64) *Txn {
	t.checks = append(t.checks, txnItem{kind: txnCheck, key: key, version: version})
	return t
}

// Create creates key with value and flags.
func (t *Txn) Create(key string, value []byte, flags CreateFlags) *Txn {
	t.ops = append(t.ops, txnItem{kind: txnCreate, key: key, value: clone(value), flags: flags})
	return t
}

// Set creates or replaces key.
func (t *Txn) Set(key string, value []byte) *Txn {
	t.ops = append(t.ops, txnItem{kind: txnSet, key: key, value: clone(value)})
	return t
}

// Erase removes key and its subtree; expected 0 = any version.
func (t *Txn) Erase(key string, expected int64) *Txn {
	t.ops = append(t.ops, txnItem{kind: txnErase, key: key, version: expected})
	return t
}

// Len is the number of checks plus ops (at most MaxTxnOps are accepted).
func (t *Txn) Len() int { return len(t.checks) + len(t.ops) }

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// item returns the i-th item counting checks first, as ErrTxn indexes do.
func (t *Txn) item(i int) (txnItem, bool) {
	if i >= 0 && i < len(t.checks) {
		return t.checks[i], true
	}
	if i -= len(t.checks); i >= 0 && i < len(t.ops) {
		return t.ops[i], true
	}
	return txnItem{}, false
}

// Commit applies all of txn's checks and ops atomically, or nothing. On success it
// returns one result per op, in order. If a check or op fails it returns an *Error
// with Code ErrTxn, FailedIndex (checks first, then ops), FailedCode (ErrVersion,
// ErrNoEntry, ...) and Key set to the failing item's key; nothing was applied.
func (c *Client) Commit(ctx context.Context, txn *Txn) ([]OpResult, error) {
	if txn == nil {
		txn = &Txn{}
	}
	// Snapshot, so the caller may go on using txn (the failing item's key is read
	// from it).
	items := make([]txnItem, 0, txn.Len())
	items = append(append(items, txn.checks...), txn.ops...)
	snap := &Txn{checks: items[:len(txn.checks)], ops: items[len(txn.checks):]}
	for _, it := range items {
		if strings.IndexByte(it.key, 0) >= 0 {
			return nil, errNUL("commit", it.key, "key")
		}
	}
	// As before the C transaction existed: a done context or a closed client first.
	if ctx.Err() != nil {
		return nil, ctxError(ctx, "commit", "")
	}
	if c.isClosed() {
		return nil, errClosed("commit", "")
	}
	// The C transaction is built here and copied by the library when the call starts.
	var t *C.offkv_txn
	var detail *C.char
	if rc := C.goffkv_txn_new(&t, &detail); rc != 0 {
		return nil, newError(rc, "commit", "", takeDetail(detail))
	}
	defer C.offkv_txn_free(t)
	for _, it := range items {
		if err := addItem(t, it); err != nil {
			return nil, err
		}
	}
	r, _, err := c.run(ctx, "commit", "", nil,
		func(p *C.offkv_client, _ C.uintptr_t, r *asyncResult, _ **C.offkv_watch, detail **C.char) C.int {
			res := C.offkv_txn_result{size: C.sizeof_offkv_txn_result}
			rc := C.goffkv_commit(p, t, &res, detail)
			defer C.offkv_txn_result_free(&res)
			r.failedIndex, r.failedCode = int(res.failed_index), Code(res.failed_code)
			if rc == 0 {
				r.ops = make([]OpResult, 0, int(res.count))
				if res.count > 0 {
					for _, op := range unsafe.Slice(res.ops, int(res.count)) {
						r.ops = append(r.ops, OpResult{Version: int64(op.version), Key: C.GoString(op.key)})
					}
				}
			}
			return rc
		},
		func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
			return C.goffkv_commit_async(p, t, call, detail)
		})
	if err != nil {
		var e *Error
		if asError(err, &e) && e.Code == ErrTxn {
			e.FailedIndex, e.FailedCode = r.failedIndex, r.failedCode
			if it, ok := snap.item(e.FailedIndex); ok {
				e.Key = it.key
			}
		}
		return nil, err
	}
	if r.ops == nil {
		r.ops = []OpResult{}
	}
	return r.ops, nil
}

// addItem appends one recorded item to a C transaction.
func addItem(t *C.offkv_txn, it txnItem) error {
	k, _ := cString(it.key) // NUL bytes were refused by Commit
	v, n := valuePtr(it.value)
	var detail *C.char
	var rc C.int
	switch it.kind {
	case txnCheck:
		rc = C.goffkv_txn_check(t, charPtr(k), C.int64_t(it.version), &detail)
	case txnCreate:
		rc = C.goffkv_txn_create(t, charPtr(k), v, n, C.int(it.flags), &detail)
	case txnSet:
		rc = C.goffkv_txn_set(t, charPtr(k), v, n, &detail)
	case txnErase:
		rc = C.goffkv_txn_erase(t, charPtr(k), C.int64_t(it.version), &detail)
	}
	if rc != 0 {
		return newError(rc, "commit", it.key, takeDetail(detail))
	}
	return nil
}
