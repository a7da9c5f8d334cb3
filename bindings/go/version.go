package offkv

// #include "shim.h"
import "C"

import "time"

// Limits, the same on every backend (capi/offkv.h, docs/semantics.md).
const (
	MaxValueSize   = C.OFFKV_MAX_VALUE_SIZE   // largest value, in bytes
	MaxKeySize     = C.OFFKV_MAX_KEY_SIZE     // largest full key (prefix + key), in bytes
	MaxSegmentSize = C.OFFKV_MAX_SEGMENT_SIZE // largest key segment, in bytes
	MaxTxnOps      = C.OFFKV_MAX_TXN_OPS      // largest number of checks + ops in one Txn

	SessionTimeoutDefault = C.OFFKV_SESSION_TIMEOUT_DEFAULT_MS * time.Millisecond
	SessionTimeoutMin     = C.OFFKV_SESSION_TIMEOUT_MIN_MS * time.Millisecond
	SessionTimeoutMax     = C.OFFKV_SESSION_TIMEOUT_MAX_MS * time.Millisecond
)

// HeaderVersion is OFFKV_VERSION_STRING of the header this package was built
// against; Version and VersionString report the library actually loaded.
const (
	HeaderVersion       = C.OFFKV_VERSION_STRING
	HeaderVersionNumber = C.OFFKV_VERSION_NUMBER
)

// Version returns the loaded library's MAJOR*10000 + MINOR*100 + PATCH
// (offkv_version).
func Version() int { return int(C.offkv_version()) }

// VersionString returns the loaded library's "MAJOR.MINOR.PATCH"
// (offkv_version_string).
func VersionString() string { return C.GoString(C.offkv_version_string()) }

// HasBackend reports whether the named backend ("mem", "zk", "etcd", "consul") is
// compiled into the loaded library (offkv_has_backend).
func HasBackend(scheme string) bool {
	b, ok := cString(scheme)
	if !ok {
		return false
	}
	return C.offkv_has_backend(charPtr(b)) != 0
}
