package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Code is an offkv error code (the offkv_error enum of capi/offkv.h). Every non-zero
// code is also an error value: the Err* constants below are the sentinels to use with
// errors.Is, and errors.As(err, &code) extracts the code of any error this package
// returns.
type Code int

// The sentinel errors, one per offkv_error code.
//
//	if errors.Is(err, offkv.ErrNoEntry) { ... }
const (
	ErrInvalid     Code = C.OFFKV_EINVAL       // bad argument, key or URL
	ErrNoEntry     Code = C.OFFKV_ENOENT       // no such node (or missing parent)
	ErrExists      Code = C.OFFKV_EEXIST       // node already exists
	ErrVersion     Code = C.OFFKV_EVERSION     // version does not match
	ErrEphemeral   Code = C.OFFKV_EEPHEMERAL   // ephemeral nodes cannot have children
	ErrNotEmpty    Code = C.OFFKV_ENOTEMPTY    // node has children
	ErrTooBig      Code = C.OFFKV_ETOOBIG      // value, key or transaction above the limit
	ErrTxn         Code = C.OFFKV_ETXN         // transaction failed; see Error.FailedIndex
	ErrConnLoss    Code = C.OFFKV_ECONNLOSS    // connection lost; outcome unknown
	ErrSession     Code = C.OFFKV_ESESSION     // session expired
	ErrTimeout     Code = C.OFFKV_ETIMEOUT     // operation or wait timed out
	ErrAuth        Code = C.OFFKV_EAUTH        // authentication or permission failure
	ErrTLS         Code = C.OFFKV_ETLS         // TLS set-up or handshake failure
	ErrClosed      Code = C.OFFKV_ECLOSED      // the client or watch was closed
	ErrUnsupported Code = C.OFFKV_EUNSUPPORTED // not supported (e.g. backend compiled out)
	ErrService     Code = C.OFFKV_ESERVICE     // the backend answered something unexpected
	ErrNoMem       Code = C.OFFKV_ENOMEM       // out of memory
	ErrInternal    Code = C.OFFKV_EINTERNAL    // a bug in offkv
)

// codeCount is OFFKV_ERROR_COUNT: every code is in [0, codeCount).
const codeCount = C.OFFKV_ERROR_COUNT

// Error returns the library's static description of the code (offkv_strerror).
func (c Code) Error() string { return C.GoString(C.offkv_strerror(C.int(c))) }

// String returns the code's symbolic name, e.g. "OFFKV_ENOENT" (offkv_error_name).
func (c Code) String() string { return C.GoString(C.offkv_error_name(C.int(c))) }

// Error is the error every failed call returns: the code (for errors.Is against the
// Err* sentinels), the operation and key it concerned, and the library's per-call
// detail message (offkv_last_error(), read on the same OS thread as the call).
type Error struct {
	Code    Code   // never 0
	Op      string // "get", "create", "commit", "open", ...
	Key     string // the key the call was about ("" when none, e.g. open)
	Message string // the library's detail; names the key, backend and server words

	// Set only when Code is ErrTxn: the index of the first failing check or op
	// (checks counted first, then ops, in the order added) and why it failed.
	FailedIndex int
	FailedCode  Code
}

func (e *Error) Error() string {
	s := "offkv: " + e.Op
	if e.Key != "" {
		s += " " + strconv.Quote(e.Key)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Code.Error()
	}
	s += ": " + msg + " (" + e.Code.String() + ")"
	if e.Code == ErrTxn {
		s += fmt.Sprintf(" [item %d: %s]", e.FailedIndex, e.FailedCode.String())
	}
	return s
}

// Unwrap returns the Code, so errors.Is(err, offkv.ErrNoEntry) works.
func (e *Error) Unwrap() error { return e.Code }

// newError builds the error of a failed call from its code and detail message.
func newError(rc C.int, op, key, detail string) *Error {
	return &Error{Code: Code(rc), Op: op, Key: key, Message: detail}
}

// errNUL is returned for strings C cannot see whole (a NUL byte would end them early).
func errNUL(op, key, what string) *Error {
	return &Error{Code: ErrInvalid, Op: op, Key: key, Message: what + " contains a NUL byte"}
}

// errClosed is returned by calls on a Client after Close.
func errClosed(op, key string) *Error {
	return &Error{Code: ErrClosed, Op: op, Key: key, Message: "client is closed"}
}

// ContextError is returned when a call gave up because its context was done before
// the C call returned. It wraps ctx.Err(), so errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) work. The C call went on in the background
// and its outcome is unknown (like ErrConnLoss): it may or may not have been applied.
type ContextError struct {
	Op  string
	Key string
	Err error // context.Canceled or context.DeadlineExceeded
}

func (e *ContextError) Error() string {
	s := "offkv: " + e.Op
	if e.Key != "" {
		s += " " + strconv.Quote(e.Key)
	}
	return s + ": " + e.Err.Error() + " (the call may still take effect)"
}

func (e *ContextError) Unwrap() error { return e.Err }

// Is makes a passed deadline match ErrTimeout too, so one errors.Is check covers the
// library's timeouts and the context's.
func (e *ContextError) Is(target error) bool {
	return target == ErrTimeout && e.Err == context.DeadlineExceeded
}

func asError(err error, e **Error) bool { return errors.As(err, e) }

func ctxError(ctx context.Context, op, key string) error {
	return &ContextError{Op: op, Key: key, Err: ctx.Err()}
}
