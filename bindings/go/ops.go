package offkv

// #include "shim.h"
import "C"

import "context"

// CreateFlags modify Create (and Txn.Create).
type CreateFlags int

const (
	// Ephemeral: the node lives as long as the client's session.
	Ephemeral CreateFlags = C.OFFKV_EPHEMERAL
	// Sequential: the key gets a 10-digit suffix from a per-parent counter; Create
	// returns the actual key.
	Sequential CreateFlags = C.OFFKV_SEQUENTIAL
)

// AnyVersion, as a transaction check's version, means "the node exists".
const AnyVersion int64 = C.OFFKV_ANY_VERSION

// Every call below takes a context and runs as described in async.go (run): past a
// few calls per client in the library's blocking form, it starts the asynchronous
// form of the operation and waits for its completion on a channel, holding no OS
// thread. The context's deadline and cancellation end the wait, not the operation:
// the C API has no per-call timeout or cancellation, so when ctx is done first the
// call returns a *ContextError (wrapping ctx.Err()) at once while the operation goes
// on in the library, bounded by the client's operation timeout
// (WithOperationTimeout); its outcome is unknown (it may have been applied) and what
// it produced is released without the caller.

// Create creates key with value. It fails with ErrExists if key exists and with
// ErrNoEntry if its parent does not (keys directly under the client's root need no
// parent), ErrEphemeral if the parent is ephemeral. It returns the created key: the
// actual one (key + 10 digits) with Sequential.
func (c *Client) Create(ctx context.Context, key string, value []byte, flags CreateFlags) (string, error) {
	k, ok := cString(key)
	if !ok {
		return "", errNUL("create", key, "key")
	}
	value = ownValue(ctx, value)
	r, _, err := c.run(ctx, "create", key, nil,
		func(p *C.offkv_client, _ C.uintptr_t, r *asyncResult, _ **C.offkv_watch, detail **C.char) C.int {
			v, n := valuePtr(value)
			var out *C.char
			rc := C.goffkv_create(p, charPtr(k), v, n, C.int(flags), &out, detail)
			if rc == 0 && out != nil {
				r.key, r.hasKey = takeString(out), true
			}
			return rc
		},
		func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
			v, n := valuePtr(value)
			return C.goffkv_create_async(p, charPtr(k), v, n, C.int(flags), call, detail)
		})
	if err != nil {
		return "", err
	}
	if r.hasKey {
		return r.key, nil
	}
	return key, nil
}

// Set creates key (its parent must exist) or replaces its value, and returns the new
// version. Setting an ephemeral node keeps it ephemeral.
func (c *Client) Set(ctx context.Context, key string, value []byte) (int64, error) {
	k, ok := cString(key)
	if !ok {
		return 0, errNUL("set", key, "key")
	}
	value = ownValue(ctx, value)
	r, _, err := c.run(ctx, "set", key, nil,
		func(p *C.offkv_client, _ C.uintptr_t, r *asyncResult, _ **C.offkv_watch, detail **C.char) C.int {
			v, n := valuePtr(value)
			var ver C.int64_t
			rc := C.goffkv_set(p, charPtr(k), v, n, &ver, detail)
			r.version = int64(ver)
			return rc
		},
		func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
			v, n := valuePtr(value)
			return C.goffkv_set_async(p, charPtr(k), v, n, call, detail)
		})
	if err != nil {
		return 0, err
	}
	return r.version, nil
}

// Cas replaces key's value only if its version is expected (expected 0: creates it
// only if absent) and returns the new version; ErrVersion on mismatch, nothing
// written.
func (c *Client) Cas(ctx context.Context, key string, value []byte, expected int64) (int64, error) {
	k, ok := cString(key)
	if !ok {
		return 0, errNUL("cas", key, "key")
	}
	value = ownValue(ctx, value)
	r, _, err := c.run(ctx, "cas", key, nil,
		func(p *C.offkv_client, _ C.uintptr_t, r *asyncResult, _ **C.offkv_watch, detail **C.char) C.int {
			v, n := valuePtr(value)
			var ver C.int64_t
			rc := C.goffkv_cas(p, charPtr(k), v, n, C.int64_t(expected), &ver, detail)
			r.version = int64(ver)
			return rc
		},
		func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
			v, n := valuePtr(value)
			return C.goffkv_cas_async(p, charPtr(k), v, n, C.int64_t(expected), call, detail)
		})
	if err != nil {
		return 0, err
	}
	return r.version, nil
}

// Get returns key's value (never nil; []byte{} when empty) and version; ErrNoEntry if
// absent.
func (c *Client) Get(ctx context.Context, key string) (value []byte, version int64, err error) {
	k, ok := cString(key)
	if !ok {
		return nil, 0, errNUL("get", key, "key")
	}
	r, _, err := c.run(ctx, "get", key, nil, blockingGet(k), func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
		return C.goffkv_get_async(p, charPtr(k), call, detail)
	})
	if err != nil {
		return nil, 0, err
	}
	return nonNil(r.value), r.version, nil
}

// blockingGet is the blocking form of Get and, with a watch, of GetWatch.
func blockingGet(k []byte) blockingFunc {
	return func(p *C.offkv_client, watch C.uintptr_t, r *asyncResult, wp **C.offkv_watch, detail **C.char) C.int {
		var buf C.offkv_buf
		var ver C.int64_t
		var rc C.int
		if watch != 0 {
			rc = C.goffkv_get_watch(p, charPtr(k), &buf, &ver, watch, wp, detail)
		} else {
			rc = C.goffkv_get(p, charPtr(k), &buf, &ver, detail)
		}
		if rc == 0 {
			r.value, r.version = takeBuf(&buf), int64(ver)
		}
		return rc
	}
}

// Exists returns key's version, or 0 if it does not exist (not an error).
func (c *Client) Exists(ctx context.Context, key string) (int64, error) {
	k, ok := cString(key)
	if !ok {
		return 0, errNUL("exists", key, "key")
	}
	r, _, err := c.run(ctx, "exists", key, nil, blockingExists(k), func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
		return C.goffkv_exists_async(p, charPtr(k), call, detail)
	})
	if err != nil {
		return 0, err
	}
	return r.version, nil
}

// blockingExists is the blocking form of Exists and, with a watch, of ExistsWatch.
func blockingExists(k []byte) blockingFunc {
	return func(p *C.offkv_client, watch C.uintptr_t, r *asyncResult, wp **C.offkv_watch, detail **C.char) C.int {
		var ver C.int64_t
		var rc C.int
		if watch != 0 {
			rc = C.goffkv_exists_watch(p, charPtr(k), &ver, watch, wp, detail)
		} else {
			rc = C.goffkv_exists(p, charPtr(k), &ver, detail)
		}
		r.version = int64(ver)
		return rc
	}
}

// Children returns key's direct children as full keys (relative to the client's
// root), sorted bytewise ascending; "/" lists the root. ErrNoEntry if key is absent.
func (c *Client) Children(ctx context.Context, key string) ([]string, error) {
	k, ok := cString(key)
	if !ok {
		return nil, errNUL("children", key, "key")
	}
	r, _, err := c.run(ctx, "children", key, nil, blockingChildren(k), func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
		return C.goffkv_children_async(p, charPtr(k), call, detail)
	})
	if err != nil {
		return nil, err
	}
	return nonNilList(r.children), nil
}

// blockingChildren is the blocking form of Children and, with a watch, of
// ChildrenWatch.
func blockingChildren(k []byte) blockingFunc {
	return func(p *C.offkv_client, watch C.uintptr_t, r *asyncResult, wp **C.offkv_watch, detail **C.char) C.int {
		var list C.offkv_strings
		var rc C.int
		if watch != 0 {
			rc = C.goffkv_children_watch(p, charPtr(k), &list, watch, wp, detail)
		} else {
			rc = C.goffkv_children(p, charPtr(k), &list, detail)
		}
		if rc == 0 {
			r.children = takeStrings(&list)
		}
		return rc
	}
}

// Erase removes key and its whole subtree atomically. expected 0 erases whatever the
// version; otherwise ErrVersion on mismatch. ErrNoEntry if absent.
func (c *Client) Erase(ctx context.Context, key string, expected int64) error {
	k, ok := cString(key)
	if !ok {
		return errNUL("erase", key, "key")
	}
	_, _, err := c.run(ctx, "erase", key, nil,
		func(p *C.offkv_client, _ C.uintptr_t, _ *asyncResult, _ **C.offkv_watch, detail **C.char) C.int {
			return C.goffkv_erase(p, charPtr(k), C.int64_t(expected), detail)
		},
		func(p *C.offkv_client, _, call C.uintptr_t, detail **C.char) C.int {
			return C.goffkv_erase_async(p, charPtr(k), C.int64_t(expected), call, detail)
		})
	return err
}

// nonNil makes an empty value []byte{}, never nil.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nonNilList makes an empty listing []string{}, never nil.
func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ownValue returns the value to hand to C. When the call may be abandoned through
// ctx, C may still read the value after the call returned to the caller, who may
// then reuse the slice: C gets a private copy instead.
func ownValue(ctx context.Context, value []byte) []byte {
	if ctx.Done() == nil || len(value) == 0 {
		return value
	}
	return append([]byte(nil), value...)
}
