package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"sync"
	"time"
)

// Mutex is a distributed mutual-exclusion lock named by a key (Curator's
// InterProcessMutex without reentrancy): waiters are ephemeral sequential members
// under the key, each watching only its predecessor. Two Mutex values exclude each
// other even on one client; one Mutex is not reentrant. The lock is released by
// Release, Close, or when the holder's session ends: IsHeld is a local belief, so
// fence writes with Member (docs/recipes.md).
//
// Lock and Unlock make *Mutex a sync.Locker for code that needs one; they panic on
// any error (a closed client, a lost session), since sync.Locker cannot report one.
// Prefer Acquire and Release, which return errors.
type Mutex struct {
	r   *recipe
	ptr *C.offkv_lock
}

var _ sync.Locker = (*Mutex)(nil)

// NewMutex returns a lock on key. No I/O happens until it is acquired.
func (c *Client) NewMutex(key string) (*Mutex, error) {
	k, ok := cString(key)
	if !ok {
		return nil, errNUL("lock", key, "key")
	}
	var m *Mutex
	err := c.do(context.Background(), "lock", key, func(p *C.offkv_client) error {
		r := c.newRecipe("lock", key, false)
		var ptr *C.offkv_lock
		var detail *C.char
		if rc := C.goffkv_lock_new(p, charPtr(k), &ptr, &detail); rc != 0 {
			r.failed()
			return newError(rc, "lock", key, takeDetail(detail))
		}
		m = &Mutex{r: r, ptr: ptr}
		r.free = func() { C.offkv_lock_free(ptr) } // releases the lock if held
		r.created()
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Key returns the lock's key.
func (m *Mutex) Key() string { return m.r.key }

// Acquire waits for the lock. ctx's deadline is the library's acquire timeout (when
// it passes, nothing is left behind and a *ContextError wrapping
// context.DeadlineExceeded is returned; it also matches ErrTimeout). ErrSession or
// ErrClosed if the session ended meanwhile; ErrInvalid if this Mutex holds the lock
// or is acquiring it.
//
// The library cannot interrupt an acquire: when ctx is cancelled, Acquire returns a
// *ContextError at once and the acquire goes on in the background until it gets the
// lock (which is then released at once), its deadline passes, or the session ends.
func (m *Mutex) Acquire(ctx context.Context) error {
	// The C timeout is ctx's deadline: only a cancellation abandons the call.
	return m.r.doOpt(ctx, "acquire", true, func() error {
		ms := timeoutMs(ctx, 0)
		var detail *C.char
		rc := C.goffkv_lock_acquire(m.ptr, ms, &detail)
		if rc == 0 {
			return nil
		}
		msg := takeDetail(detail)
		if rc == C.OFFKV_ETIMEOUT && ms >= 0 {
			// Our deadline, not an operation's timeout inside the library.
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 50*time.Millisecond {
				return &ContextError{Op: "acquire", Key: m.r.key, Err: context.DeadlineExceeded}
			}
		}
		return newError(rc, "acquire", m.r.key, msg)
	}, func() { m.Release() })
}

// TryAcquire tries once to take the lock without waiting for other holders.
func (m *Mutex) TryAcquire() (bool, error) {
	err := m.r.do(context.Background(), "acquire", func() error {
		var detail *C.char
		if rc := C.goffkv_lock_acquire(m.ptr, 0, &detail); rc != 0 {
			return newError(rc, "acquire", m.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
	if err == nil {
		return true, nil
	}
	var e *Error
	if asError(err, &e) && e.Code == ErrTimeout {
		return false, nil
	}
	return false, err
}

// Release releases the lock. ErrInvalid if not held; ErrSession if it had already
// been lost (session ended or node erased): the critical section was not protected.
func (m *Mutex) Release() error {
	return m.r.do(context.Background(), "release", func() error {
		var detail *C.char
		if rc := C.goffkv_lock_release(m.ptr, &detail); rc != 0 {
			return newError(rc, "release", m.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
}

// IsHeld reports whether this Mutex holds the lock and its session is connected.
func (m *Mutex) IsHeld() bool {
	var held C.int
	err := m.r.do(context.Background(), "is_held", func() error {
		var detail *C.char
		if rc := C.goffkv_lock_is_held(m.ptr, &held, &detail); rc != 0 {
			return newError(rc, "is_held", m.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
	return err == nil && held != 0
}

// Member returns the holder's member node (a fencing token); ErrNoEntry if not held.
func (m *Mutex) Member() (Member, error) {
	var mem Member
	err := m.r.do(context.Background(), "member", func() error {
		cm := C.offkv_member{size: C.sizeof_offkv_member}
		var detail *C.char
		if rc := C.goffkv_lock_member(m.ptr, &cm, &detail); rc != 0 {
			return newError(rc, "member", m.r.key, takeDetail(detail))
		}
		mem = takeMember(&cm)
		return nil
	}, nil)
	return mem, err
}

// Lock acquires the lock, waiting as long as needed (sync.Locker). It panics with
// the *Error if the lock cannot be acquired.
func (m *Mutex) Lock() {
	if err := m.Acquire(context.Background()); err != nil {
		panic(err)
	}
}

// Unlock releases the lock (sync.Locker). It panics with the *Error if the lock was
// not held or had been lost.
func (m *Mutex) Unlock() {
	if err := m.Release(); err != nil {
		panic(err)
	}
}

// Close releases the lock if held and frees the Mutex; later calls return ErrClosed.
// It does not wait for an Acquire in progress on another goroutine: that one ends as
// described for Acquire and the Mutex is freed (releasing the lock) when it returns.
func (m *Mutex) Close() error { return m.r.close(false) }
