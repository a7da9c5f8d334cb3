package offkv

// #include "shim.h"
import "C"

import (
	"math"
	"strings"
	"time"
	"unsafe"
)

// Option configures Open. Each one sets a field of the versioned offkv_options
// struct; the same settings may also be given as URL query parameters
// (?session_timeout_ms=...&token=...), which override options.
type Option func(*config)

// ReadConsistency selects how reads are served (offkv_read_consistency).
type ReadConsistency int

const (
	// Linearizable reads see every committed write (the default).
	Linearizable ReadConsistency = C.OFFKV_READ_LINEARIZABLE
	// Serializable reads may be served by a stale local replica; cheaper.
	Serializable ReadConsistency = C.OFFKV_READ_SERIALIZABLE
)

type config struct {
	sessionTimeout, connectTimeout, operationTimeout time.Duration
	caFile, certFile, keyFile                        string
	username, password, token                        string
	readConsistency                                  ReadConsistency
	named                                            [][2]string // WithOption, in call order
}

// WithSessionTimeout sets the session timeout: how long a crashed or partitioned
// client's ephemeral nodes survive (default 10 s; see SessionTimeoutMin/Max).
func WithSessionTimeout(d time.Duration) Option { return func(c *config) { c.sessionTimeout = d } }

// WithConnectTimeout bounds how long Open waits for the first connection (default
// 10 s). A deadline on Open's context also bounds it.
func WithConnectTimeout(d time.Duration) Option { return func(c *config) { c.connectTimeout = d } }

// WithOperationTimeout bounds every operation of the client inside the library
// (default 10 s). The C API has no per-call timeout, so this is also the bound on how
// long a call abandoned through its context keeps running in the background.
func WithOperationTimeout(d time.Duration) Option {
	return func(c *config) { c.operationTimeout = d }
}

// WithTLS sets the PEM files for etcds:// and consuls:// (any may be "").
func WithTLS(caFile, certFile, keyFile string) Option {
	return func(c *config) { c.caFile, c.certFile, c.keyFile = caFile, certFile, keyFile }
}

// WithCredentials sets the etcd user or ZooKeeper digest user and password.
func WithCredentials(username, password string) Option {
	return func(c *config) { c.username, c.password = username, password }
}

// WithToken sets the Consul ACL token.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithReadConsistency selects Linearizable (default) or Serializable reads.
func WithReadConsistency(r ReadConsistency) Option {
	return func(c *config) { c.readConsistency = r }
}

// WithOption sets any option by its URL query name, with the URL's value syntax
// (offkv_options_set): every option the library knows, including ones this package
// has no typed Option for, e.g. WithOption("zk_acl", "open"). An unknown name or a
// bad value makes Open fail with ErrInvalid naming the option and what it accepts.
// Options set this way win over the typed ones; the URL's query wins over both.
func WithOption(name, value string) Option {
	return func(c *config) { c.named = append(c.named, [2]string{name, value}) }
}

// millis converts a duration to the C API's int32 milliseconds: 0 stays 0
// ("default"), anything else rounds up to at least 1 ms and saturates. Negative
// durations are passed on as -1 so the library rejects them with ErrInvalid.
func millis(d time.Duration) C.int32_t {
	switch {
	case d == 0:
		return 0
	case d < 0:
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return C.int32_t(ms)
}

// cOptions is an offkv_options filled from a config, with its C strings. free
// releases the strings; the struct itself is Go memory holding only C pointers.
type cOptions struct {
	opts    C.offkv_options
	strings []*C.char
}

func (o *cOptions) str(s string) (*C.char, bool) {
	if s == "" {
		return nil, true
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	p := C.CString(s)
	o.strings = append(o.strings, p)
	return p, true
}

func (o *cOptions) free() {
	for _, p := range o.strings {
		C.free(unsafe.Pointer(p))
	}
	o.strings = nil
	C.offkv_options_reset(&o.opts) // what WithOption stored in the library
}

// build fills o from c. It returns an error for strings with NUL bytes, or when
// offkv_options_init refuses (never expected).
func (o *cOptions) build(c *config) error {
	var detail *C.char
	if rc := C.goffkv_options_init(&o.opts, &detail); rc != 0 {
		return newError(rc, "open", "", takeDetail(detail))
	}
	o.opts.session_timeout_ms = millis(c.sessionTimeout)
	o.opts.connect_timeout_ms = millis(c.connectTimeout)
	o.opts.operation_timeout_ms = millis(c.operationTimeout)
	o.opts.read_consistency = C.int(c.readConsistency)
	fields := []struct {
		dst  **C.char
		val  string
		name string
	}{
		{&o.opts.tls_ca_file, c.caFile, "TLS CA file"},
		{&o.opts.tls_cert_file, c.certFile, "TLS certificate file"},
		{&o.opts.tls_key_file, c.keyFile, "TLS key file"},
		{&o.opts.username, c.username, "username"},
		{&o.opts.password, c.password, "password"},
		{&o.opts.token, c.token, "token"},
	}
	for _, f := range fields {
		p, ok := o.str(f.val)
		if !ok {
			o.free()
			return errNUL("open", "", f.name)
		}
		*f.dst = p
	}
	for _, nv := range c.named {
		name, okName := o.str(nv[0])
		value, okValue := o.str(nv[1])
		if !okName || !okValue {
			o.free()
			return errNUL("open", "", "option "+nv[0])
		}
		if name == nil { // "" is no name: let the library say so
			name = o.empty()
		}
		if value == nil {
			value = o.empty()
		}
		var detail *C.char
		if rc := C.goffkv_options_set(&o.opts, name, value, &detail); rc != 0 {
			o.free()
			return newError(rc, "open", "", takeDetail(detail))
		}
	}
	return nil
}

// empty is a C "" owned by o.
func (o *cOptions) empty() *C.char {
	p := C.CString("")
	o.strings = append(o.strings, p)
	return p
}
