package faults

import (
	"syscall"
	"unsafe"
)

// now is CLOCK_MONOTONIC in nanoseconds: one clock for every process on the machine,
// so the invoke and complete times that separate worker processes record can be
// compared (Go's own monotonic reading counts from each process's start).
func now() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}
