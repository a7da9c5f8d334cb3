package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"unsafe"
)

// The blocking C calls (offkv_get, ...), which the binding's own calls no longer use
// (async.go): kept as the reference the tests hold the asynchronous calls to, the
// same code and the same detail message for the same failure.

// blockingCall runs op's blocking C function on key and returns its error.
func (c *Client) blockingCall(op, key string, value []byte, version int64, flags CreateFlags) error {
	k, ok := cString(key)
	if !ok {
		return errNUL(op, key, "key")
	}
	return c.do(context.Background(), op, key, func(p *C.offkv_client) error {
		v, n := valuePtr(value)
		var detail *C.char
		var rc C.int
		var ver C.int64_t
		switch op {
		case "create":
			var out *C.char
			rc = C.goffkv_create(p, charPtr(k), v, n, C.int(flags), &out, &detail)
			takeString(out)
		case "set":
			rc = C.goffkv_set(p, charPtr(k), v, n, &ver, &detail)
		case "cas":
			rc = C.goffkv_cas(p, charPtr(k), v, n, C.int64_t(version), &ver, &detail)
		case "get":
			var buf C.offkv_buf
			rc = C.goffkv_get(p, charPtr(k), &buf, &ver, &detail)
			takeBuf(&buf)
		case "exists":
			rc = C.goffkv_exists(p, charPtr(k), &ver, &detail)
		case "children":
			var list C.offkv_strings
			rc = C.goffkv_children(p, charPtr(k), &list, &detail)
			takeStrings(&list)
		case "erase":
			rc = C.goffkv_erase(p, charPtr(k), C.int64_t(version), &detail)
		default:
			panic("blockingCall: unknown op " + op)
		}
		if rc != 0 {
			return newError(rc, op, key, takeDetail(detail))
		}
		return nil
	}, nil)
}

// blockingCommit is Commit through offkv_commit.
func (c *Client) blockingCommit(txn *Txn) ([]OpResult, error) {
	items := append(append([]txnItem(nil), txn.checks...), txn.ops...)
	var results []OpResult
	err := c.do(context.Background(), "commit", "", func(p *C.offkv_client) error {
		var t *C.offkv_txn
		var detail *C.char
		if rc := C.goffkv_txn_new(&t, &detail); rc != 0 {
			return newError(rc, "commit", "", takeDetail(detail))
		}
		defer C.offkv_txn_free(t)
		for _, it := range items {
			if err := addItem(t, it); err != nil {
				return err
			}
		}
		res := C.offkv_txn_result{size: C.sizeof_offkv_txn_result}
		rc := C.goffkv_commit(p, t, &res, &detail)
		defer C.offkv_txn_result_free(&res)
		if rc != 0 {
			e := newError(rc, "commit", "", takeDetail(detail))
			if e.Code == ErrTxn {
				e.FailedIndex, e.FailedCode = int(res.failed_index), Code(res.failed_code)
				if it, ok := txn.item(e.FailedIndex); ok {
					e.Key = it.key
				}
			}
			return e
		}
		results = []OpResult{}
		if res.count > 0 {
			for _, op := range unsafe.Slice(res.ops, int(res.count)) {
				results = append(results, OpResult{Version: int64(op.version), Key: C.GoString(op.key)})
			}
		}
		return nil
	}, nil)
	return results, err
}
