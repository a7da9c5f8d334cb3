package offkv

// #cgo pkg-config: offkv
// #include "shim.h"
import "C"

import (
	"runtime/cgo"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Marshalling helpers shared by every file that calls into C. The rules they keep:
//
//   - Go memory handed to C (keys, values, out-parameters) holds no Go pointers and is
//     used by C only during the call; the library copies what it keeps.
//   - C memory handed back is copied into Go values and freed with the library's own
//     free function inside the same Go function.
//   - Callback state crosses as a cgo.Handle, never as a Go pointer.

// cString returns s as a NUL-terminated byte slice in Go memory, for a const char *
// argument. ok is false if s contains a NUL byte (C would silently truncate it).
func cString(s string) (b []byte, ok bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	b = make([]byte, len(s)+1)
	copy(b, s)
	return b, true
}

// charPtr is the const char * view of a slice from cString.
func charPtr(b []byte) *C.char {
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// valuePtr is the (pointer, length) pair for a value argument; NULL for empty values.
func valuePtr(v []byte) (unsafe.Pointer, C.size_t) {
	if len(v) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&v[0]), C.size_t(len(v))
}

// takeDetail copies and frees a detail message written by a shim wrapper
// (offkv_last_error_copy).
func takeDetail(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.offkv_string_free(p)
	return s
}

// takeString copies and frees a string the library returned through char **.
func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	s := C.GoString(p)
	C.offkv_string_free(p)
	return s
}

// takeBuf copies and frees an offkv_buf. The copy is never nil, so an empty value
// reads as []byte{}.
func takeBuf(b *C.offkv_buf) []byte {
	defer C.offkv_buf_free(b)
	if b.len == 0 {
		return []byte{}
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(b.data)), int(b.len))...)
}

// takeStrings copies and frees an offkv_strings.
func takeStrings(s *C.offkv_strings) []string {
	defer C.offkv_strings_free(s)
	out := make([]string, 0, int(s.count))
	if s.count == 0 {
		return out
	}
	for _, p := range unsafe.Slice(s.items, int(s.count)) {
		out = append(out, C.GoString(p))
	}
	return out
}

// liveHandles counts the cgo.Handles this package holds (tests check it returns to
// zero after Close).
var liveHandles atomic.Int64

func newHandle(v any) cgo.Handle {
	liveHandles.Add(1)
	return cgo.NewHandle(v)
}

func deleteHandle(h cgo.Handle) {
	h.Delete()
	liveHandles.Add(-1)
}
