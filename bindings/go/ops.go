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

// Every call below takes a context. Its deadline and cancellation end the wait, not
// the C call: the C API has no per-call timeout or cancellation, so when ctx is done
// first the call returns a *ContextError (wrapping ctx.Err()) at once while the C
// call finishes on a background goroutine, bounded by the client's operation timeout
// (WithOperationTimeout); its results are then freed and its outcome is unknown (it
// may have been applied). With a context that is never done (context.Background())
// the call runs on the calling goroutine with no extra cost.

// Create creates key with value. It fails with ErrExists if key exists and with
// ErrNoEntry if its parent does not (keys directly under the client's root need no
// parent), ErrEphemeral if the parent is ephemeral. It returns the created key: the
// actual one (key + 10 digits) with Sequential.
func (c *Client) Create(ctx context.Context, key string, value []byte, flags CreateFlags) (string, error) {
	k, ok := cString(key)
	if !ok {
		return "", errNUL("create", key, "key")
	}
	created := key
	value = ownValue(ctx, value)
	err := c.do(ctx, "create", key, func(p *C.offkv_client) error {
		v, n := valuePtr(value)
		var out, detail *C.char
		if rc := C.goffkv_create(p, charPtr(k), v, n, C.int(flags), &out, &detail); rc != 0 {
			return newError(rc, "create", key, takeDetail(detail))
		}
		if out != nil {
			created = takeString(out)
		}
		return nil
	}, nil)
	if err != nil {
		return "", err
	}
	return created, nil
}

// Set creates key (its parent must exist) or replaces its value, and returns the new
// version. Setting an ephemeral node keeps it ephemeral.
func (c *Client) Set(ctx context.Context, key string, value []byte) (int64, error) {
	k, ok := cString(key)
	if !ok {
		return 0, errNUL("set", key, "key")
	}
	value = ownValue(ctx, value)
	var version C.int64_t
	err := c.do(ctx, "set", key, func(p *C.offkv_client) error {
		v, n := valuePtr(value)
		var detail *C.char
		if rc := C.goffkv_set(p, charPtr(k), v, n, &version, &detail); rc != 0 {
			return newError(rc, "set", key, takeDetail(detail))
		}
		return nil
	}, nil)
	if err != nil {
		return 0, err
	}
	return int64(version), nil
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
	var version C.int64_t
	err := c.do(ctx, "cas", key, func(p *C.offkv_client) error {
		v, n := valuePtr(value)
		var detail *C.char
		if rc := C.goffkv_cas(p, charPtr(k), v, n, C.int64_t(expected), &version, &detail); rc != 0 {
			return newError(rc, "cas", key, takeDetail(detail))
		}
		return nil
	}, nil)
	if err != nil {
		return 0, err
	}
	return int64(version), nil
}

// Get returns key's value (never nil; []byte{} when empty) and version; ErrNoEntry if
// absent.
func (c *Client) Get(ctx context.Context, key string) (value []byte, version int64, err error) {
	k, ok := cString(key)
	if !ok {
		return nil, 0, errNUL("get", key, "key")
	}
	err = c.do(ctx, "get", key, func(p *C.offkv_client) error {
		var buf C.offkv_buf
		var ver C.int64_t
		var detail *C.char
		if rc := C.goffkv_get(p, charPtr(k), &buf, &ver, &detail); rc != 0 {
			return newError(rc, "get", key, takeDetail(detail))
		}
		value, version = takeBuf(&buf), int64(ver)
		return nil
	}, nil)
	if err != nil {
		return nil, 0, err
	}
	return value, version, nil
}

// Exists returns key's version, or 0 if it does not exist (not an error).
func (c *Client) Exists(ctx context.Context, key string) (int64, error) {
	k, ok := cString(key)
	if !ok {
		return 0, errNUL("exists", key, "key")
	}
	var version C.int64_t
	err := c.do(ctx, "exists", key, func(p *C.offkv_client) error {
		var detail *C.char
		if rc := C.goffkv_exists(p, charPtr(k), &version, &detail); rc != 0 {
			return newError(rc, "exists", key, takeDetail(detail))
		}
		return nil
	}, nil)
	if err != nil {
		return 0, err
	}
	return int64(version), nil
}

// Children returns key's direct children as full keys (relative to the client's
// root), sorted bytewise ascending; "/" lists the root. ErrNoEntry if key is absent.
func (c *Client) Children(ctx context.Context, key string) ([]string, error) {
	k, ok := cString(key)
	if !ok {
		return nil, errNUL("children", key, "key")
	}
	var children []string
	err := c.do(ctx, "children", key, func(p *C.offkv_client) error {
		var list C.offkv_strings
		var detail *C.char
		if rc := C.goffkv_children(p, charPtr(k), &list, &detail); rc != 0 {
			return newError(rc, "children", key, takeDetail(detail))
		}
		children = takeStrings(&list)
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return children, nil
}

// Erase removes key and its whole subtree atomically. expected 0 erases whatever the
// version; otherwise ErrVersion on mismatch. ErrNoEntry if absent.
func (c *Client) Erase(ctx context.Context, key string, expected int64) error {
	k, ok := cString(key)
	if !ok {
		return errNUL("erase", key, "key")
	}
	return c.do(ctx, "erase", key, func(p *C.offkv_client) error {
		var detail *C.char
		if rc := C.goffkv_erase(p, charPtr(k), C.int64_t(expected), &detail); rc != 0 {
			return newError(rc, "erase", key, takeDetail(detail))
		}
		return nil
	}, nil)
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
