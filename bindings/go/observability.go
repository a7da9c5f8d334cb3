package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Level is the severity of a log line (OFFKV_LOG_*); a lower value is more severe.
type Level int

const (
	LevelError Level = C.OFFKV_LOG_ERROR
	LevelWarn  Level = C.OFFKV_LOG_WARN
	LevelInfo  Level = C.OFFKV_LOG_INFO
	LevelDebug Level = C.OFFKV_LOG_DEBUG
)

func (l Level) String() string {
	switch l {
	case LevelError:
		return "ERROR"
	case LevelWarn:
		return "WARN"
	case LevelInfo:
		return "INFO"
	case LevelDebug:
		return "DEBUG"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// SlogLevel is the matching log/slog level (LevelWarn: slog.LevelWarn, ...).
func (l Level) SlogLevel() slog.Level {
	switch l {
	case LevelError:
		return slog.LevelError
	case LevelWarn:
		return slog.LevelWarn
	case LevelInfo:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// LogFunc receives one log line. component is the scheme ("zk", "etcd", "consul",
// "mem") for offkv's own lines (every session transition, e.g. "session
// CONNECTED"), "zookeeper" for the ZooKeeper C client's and "grpc" for gRPC's.
type LogFunc func(level Level, component, message string)

var (
	logMu     sync.Mutex              // serialises SetLogFunc
	logFunc   atomic.Pointer[LogFunc] // what goffkvLog calls; nil: nothing
	logPanics atomic.Int64            // panics recovered in goffkvLog
)

// SetLogFunc passes offkv's log lines of maxLevel and more severe to f
// (offkv_set_log_callback); nil turns logging off, which is the default (offkv
// prints nothing by itself). Process-wide: one function for every client.
//
// f is called on whatever thread logs, the library's own C threads included (cgo
// runs it on a Go stack there), possibly from several at once: it must be quick,
// safe for concurrent use, and must not call offkv. A panic in f is recovered and
// the line dropped. When SetLogFunc returns, the previous function is no longer
// running and is never called again. ErrInvalid if maxLevel is not LevelError ..
// LevelDebug.
func SetLogFunc(f LogFunc, maxLevel Level) error {
	logMu.Lock()
	defer logMu.Unlock()
	on := C.int(0)
	if f != nil {
		on = 1
	}
	var detail *C.char
	// Returns once no call of the previous callback runs (goffkvLog never takes logMu).
	if rc := C.goffkv_set_log_callback(on, C.int(maxLevel), &detail); rc != 0 {
		return newError(rc, "set_log_callback", "", takeDetail(detail))
	}
	if f == nil {
		logFunc.Store(nil)
	} else {
		logFunc.Store(&f)
	}
	return nil
}

// SlogFunc is a LogFunc writing to logger, at the matching slog level, with the
// component as the attribute "component":
//
//	offkv.SetLogFunc(offkv.SlogFunc(slog.Default()), offkv.LevelInfo)
func SlogFunc(logger *slog.Logger) LogFunc {
	return func(level Level, component, message string) {
		logger.Log(context.Background(), level.SlogLevel(), message, "component", component)
	}
}

// goffkvLog is the exported Go function behind the C log callback (shim.c): called
// on any thread, Go's or not. Nothing unwinds into C.
//
//export goffkvLog
func goffkvLog(level C.int, component, message *C.char) {
	defer func() {
		if recover() != nil {
			logPanics.Add(1)
		}
	}()
	f := logFunc.Load()
	if f == nil {
		return
	}
	(*f)(Level(level), C.GoString(component), C.GoString(message))
}

// statsOf copies and frees the client's counters.
func statsOf(p *C.offkv_client) (map[string]uint64, error) {
	s := C.offkv_stats{size: C.sizeof_offkv_stats}
	var detail *C.char
	if rc := C.goffkv_get_stats(p, &s, &detail); rc != 0 {
		return nil, newError(rc, "stats", "", takeDetail(detail))
	}
	defer C.offkv_stats_free(&s)
	out := make(map[string]uint64, int(s.count))
	if s.count == 0 {
		return out, nil
	}
	for _, it := range unsafe.Slice(s.items, int(s.count)) {
		out[C.GoString(it.name)] = uint64(it.value)
	}
	return out, nil
}

// Stats returns the client's counters since Open (offkv_get_stats), e.g. "ops.get",
// "errors.ENOENT", "retries", "reconnects", "session.CONNECTED", "watches.armed",
// "watches.fired" (docs/c-api.md, "Logs and counters"; more names may be added). A
// snapshot. After Close it returns the counters as they were when Close ended the
// session (Close frees the C client, so it reads them first).
func (c *Client) Stats() (map[string]uint64, error) {
	var out map[string]uint64
	err := c.do(context.Background(), "stats", "", func(p *C.offkv_client) error {
		var err error
		out, err = statsOf(p)
		return err
	}, nil)
	if err != nil && c.closing.Load() {
		if last := c.lastStats.Load(); last != nil {
			out = make(map[string]uint64, len(*last))
			for k, v := range *last {
				out[k] = v
			}
			return out, nil
		}
	}
	return out, err
}

// TestkitEndWatches is the test kit's offkv_testkit_end_watches: every watch of the
// client receives EventEnded whose Err wraps code (e.g. ErrAuth), and its channel
// closes, while the session stays as it is: what a store that cancels watches does
// (etcd on a permission change). For an application's tests of re-arming its
// watches; the recipes re-run their step. ErrInvalid for 0 or an unknown code.
func (c *Client) TestkitEndWatches(code Code) error {
	return c.do(context.Background(), "testkit_end_watches", "", func(p *C.offkv_client) error {
		var detail *C.char
		if rc := C.goffkv_testkit_end_watches(p, C.int(code), &detail); rc != 0 {
			return newError(rc, "testkit_end_watches", "", takeDetail(detail))
		}
		return nil
	}, nil)
}
