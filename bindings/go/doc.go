// Package offkv is the Go binding of offkv: one ZooKeeper-like coordination model
// (nodes with versions, ephemeral and sequential nodes, watches, transactions,
// sessions, and the leader election, detection, group membership and lock recipes)
// over Apache ZooKeeper, etcd v3, Consul KV and an in-process mem:// store.
//
// It is a thin cgo layer over the library's C API (capi/offkv.h, liboffkv.so); all
// behaviour is the library's, and the contract is the project's SPEC.md.
//
//	import offkv "github.com/offkv/offkv/bindings/go"
//
//	c, err := offkv.Open(ctx, "zk://10.0.0.1:2181,10.0.0.2:2181/myapp")
//	if err != nil { ... }
//	defer c.Close()
//	name, err := c.Create(ctx, "/workers/w-", []byte("10.0.0.7:8080"), offkv.Ephemeral|offkv.Sequential)
//
// # Building
//
// The package finds the library with pkg-config (module name "offkv"), so
// PKG_CONFIG_PATH must include <prefix>/lib/pkgconfig of an installed offkv, and the
// dynamic loader must find liboffkv.so.0 at run time (LD_LIBRARY_PATH, or an rpath
// added through CGO_LDFLAGS). bindings/go/test.sh builds and installs the library
// into a private prefix and runs the tests.
//
// # Concurrency
//
// A Client, Watch, Election, Detector, Group and Mutex may each be used from many
// goroutines at once. Close on a Client ends everything that belongs to it.
//
// # How calls run
//
// Create, Set, Cas, Get, Exists, Children, Erase, Commit and the watch-arming reads
// GetWatch, ExistsWatch and ChildrenWatch take one of two forms. The first 4 calls in
// flight on a client call the library's blocking function (lowest latency, an OS
// thread each while it runs); every further one starts the asynchronous form
// (offkv_<op>_async, which copies its arguments and returns at once) and waits on a
// channel for its completion, holding no OS thread. So thousands of calls may be in
// flight on one client while the process keeps a handful of threads. The library
// runs them side by side on the client's connection; calls on related keys (the same
// key, or one below the other) take effect and complete in the order they were made,
// unrelated ones in any order (docs/c-api.md; calls of different goroutines are
// unordered anyway, since each call returns only once it is complete). The
// completion arrives on the client's event thread, where the binding copies it into
// Go memory and hands it over without blocking. Both forms give the same results and
// errors.
//
// The other calls (Open, WatchPersistent, SessionState, the recipes, Mutex.Acquire,
// Close) call the library's blocking functions through cgo, each holding an OS
// thread while it runs.
//
// Close with calls in flight: each of them returns exactly once, with ErrClosed if the
// library had not started it (else with its own outcome).
//
// # Contexts
//
// Every call that may block takes a context.Context. The C API has no per-call
// timeout or cancellation, so:
//
//   - A context already done: nothing is called; the call returns a *ContextError.
//   - The calls above, in either form: if the context is done before the outcome
//     arrives, the call returns a *ContextError (wrapping context.Canceled or
//     context.DeadlineExceeded; a passed deadline also matches ErrTimeout) at once.
//     The operation cannot be stopped: it goes on in the library, bounded by the
//     client's operation timeout (WithOperationTimeout), and its outcome is unknown,
//     exactly as after ErrConnLoss. Its outcome is consumed without the caller; a watch it left is cancelled.
//   - A blocking C call (the other calls, and the blocking form of those above) with
//     context.Background() (a context that is never done) runs on the calling
//     goroutine, at no extra cost.
//   - A blocking C call with any other context runs on a helper goroutine. If the context is done first, the call returns a *ContextError at
//     once. The C call finishes in the background and whatever it produced that the
//     caller can no longer receive is released: a watch is cancelled, a recipe
//     handle closed, an acquired lock released, an opened client closed.
//     Client.Close waits for such background calls before freeing the C client, so
//     nothing leaks.
//   - Where the library takes a timeout, the context's deadline becomes it: Open's
//     connect timeout, Mutex.Acquire's acquire timeout, the recipe waits.
//   - Blocking recipe waits (Election.WaitLeader, Detector.Wait) wait in slices of
//     100 ms and check the context between them (a wait has no side effect), so a
//     cancelled wait ends within 100 ms. A lock acquire is not sliced (that would
//     lose its place in the queue): see Mutex.Acquire.
//
// For watches and recipes created with a context, the context bounds the creating
// call, and for watches also the watch's life: when it is done, the watch is
// cancelled.
//
// # Errors
//
// Failed calls return an *Error carrying the code, the operation, the key and the
// library's detail message (offkv_last_error, read inside the same C call, so on the
// same OS thread). Use errors.Is with the sentinels: errors.Is(err, offkv.ErrNoEntry).
// The sentinels are the Code constants ErrInvalid, ErrNoEntry, ErrExists,
// ErrVersion, ErrEphemeral, ErrNotEmpty, ErrTooBig, ErrTxn, ErrConnLoss, ErrSession,
// ErrTimeout, ErrAuth, ErrTLS, ErrClosed, ErrUnsupported, ErrService, ErrNoMem and
// ErrInternal, one per offkv_error code. A failed transaction's *Error also has
// FailedIndex and FailedCode. Strings holding a NUL byte (keys, URL, options) are
// refused with ErrInvalid before reaching C, which would silently cut them.
//
// # Watches, sessions and recipe events: threads and buffering
//
// The library calls its callbacks on each client's own event thread. The binding
// registers one C callback (two C shims, one exported Go function) with a
// runtime/cgo.Handle as the user pointer — never a Go pointer — and the Go side
// never blocks that thread:
//
//   - A one-shot watch (GetWatch, ExistsWatch, ChildrenWatch) has a channel with room
//     for its single event; the event is put there and the channel closed.
//   - A persistent watch (WatchPersistent), the session channel (SessionEvents) and
//     each recipe's Events channel are fed by an unbounded in-memory queue and one
//     goroutine that moves events into the channel in order. A consumer that stops
//     reading costs memory, never a stalled event thread (which would hold back
//     every other watch of the client and could deadlock Close). The channels have
//     small buffers of their own (64 for persistent watches, 16 otherwise).
//   - When a watch is cancelled, its context is done, or its client is closed, the
//     queue's goroutine puts what it still holds into the channel's free buffer
//     space without blocking (the rest is dropped) and closes the channel. A channel
//     closed without EventEnded therefore means "cancelled".
//
// Events arrive in the order the library reports them. The C handle of a watch is
// freed as soon as the watch is over (fired, ended, cancelled), and every
// cgo.Handle is deleted once the library guarantees no further callback.
//
// # Recipes
//
// Election (Client.Contend), Detector (Client.Detect), Group (Client.OpenGroup) and
// Mutex (Client.NewMutex) wrap the library's recipes; see their documentation. A
// Mutex is a sync.Locker (Lock and Unlock panic on errors, which sync.Locker cannot
// report; Acquire and Release return them).
package offkv
