package offkv

import "fmt"

// Internals the external tests check.

// LiveHandles is the number of cgo.Handles the package holds.
func LiveHandles() int64 { return liveHandles.Load() }

// TrampolinePanics is the number of panics recovered in the C callback trampoline.
func TrampolinePanics() int64 { return trampolinePanics.Load() }

// LastTrampolinePanic describes the last panic recovered there.
func LastTrampolinePanic() string { s, _ := lastTrampolinePanic.Load().(string); return s }

// ErrorFromCode builds the error a failed C call with this code would return.
func ErrorFromCode(code int, op, key, detail string) error {
	return &Error{Code: Code(code), Op: op, Key: key, Message: detail}
}

// CodeCount is OFFKV_ERROR_COUNT.
const CodeCount = codeCount

// LiveWatches and LivePumps count what a client still tracks.
func (c *Client) LiveWatches() int { return len(c.liveWatches()) }
func (c *Client) LivePumps() int   { return len(c.livePumps()) }

// StrayEvents counts callbacks dropped because their handle was already deleted.
func StrayEvents() int64 { return strayEvents.Load() }

// WatchKeys lists the keys of the watches a client still tracks.
func (c *Client) WatchKeys() (keys []string) {
	for _, w := range c.liveWatches() {
		w.mu.Lock()
		keys = append(keys, fmt.Sprintf("%s persistent=%v done=%v attached=%v released=%v", w.key, w.persistent, w.done, w.attached, w.released))
		w.mu.Unlock()
	}
	return keys
}

// LogPanics is the number of panics recovered from a LogFunc.
func LogPanics() int64 { return logPanics.Load() }

// SetBlockingSlots sets how many calls per client take the blocking C form (0: every
// call is asynchronous) and returns the previous setting.
func SetBlockingSlots(n int) int { return int(blockingSlots.Swap(int32(n))) }

// DefaultBlockingSlots is the setting a process starts with.
const DefaultBlockingSlots = defaultBlockingSlots

// CallsInFlight is the number of calls of this package inside the library.
func CallsInFlight() int64 { return callsInFlight.Load() }

// StrayCompletions counts completions whose handle was unknown.
func StrayCompletions() int64 { return strayCompletions.Load() }
