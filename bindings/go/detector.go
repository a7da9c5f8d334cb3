package offkv

// #include "shim.h"
import "C"

import "context"

// Detector follows a group's leader without contending (Mesos' detector): the member
// with the lowest sequence, and its payload. Events() gets EventDetected for the
// first view and on every change of it (a new leader, a changed payload, no leader:
// Member nil). It costs one children watch on the group and one data watch on the
// leader; the group need not exist yet.
type Detector struct {
	r   *recipe
	ptr *C.offkv_detector
}

// Detect starts following group's leader. If ctx is done before the library
// returns, the detector is closed in the background. WithLabel(MesosMasterLabel)
// follows a Mesos master group: the leader is the lowest group/json.info_<seq>.
func (c *Client) Detect(ctx context.Context, group string, opts ...RecipeOption) (*Detector, error) {
	g, ok := cString(group)
	if !ok {
		return nil, errNUL("detect", group, "group")
	}
	cfg, err := recipeOptions("detect", group, opts)
	if err != nil {
		return nil, err
	}
	var d *Detector
	err = c.do(ctx, "detect", group, func(p *C.offkv_client) error {
		r := c.newRecipe("detector", group, true)
		r.label = cfg.label
		var ptr *C.offkv_detector
		var detail *C.char
		if rc := C.goffkv_detector_open(p, charPtr(g), cfg.labelPtr(), r.handleArg(), &ptr, &detail); rc != 0 {
			r.failed()
			return newError(rc, "detect", group, takeDetail(detail))
		}
		d = &Detector{r: r, ptr: ptr}
		r.stop = func() error {
			var detail *C.char
			if rc := C.goffkv_detector_close(ptr, &detail); rc != 0 {
				return newError(rc, "close", group, takeDetail(detail))
			}
			return nil
		}
		r.free = func() { C.offkv_detector_free(ptr) }
		r.created()
		return nil
	}, func() { d.Close() })
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Events returns the channel of EventDetected events; closed when the detector or
// its client is closed. Events queue without bound until read.
func (d *Detector) Events() <-chan RecipeEvent { return d.r.events.out }

// Group returns the group key.
func (d *Detector) Group() string { return d.r.key }

// Label returns the member label given with WithLabel ("" for offkv's own names).
func (d *Detector) Label() string { return d.r.label }

// Leader returns the current leader; ErrNoEntry if there is none (or none known yet).
func (d *Detector) Leader() (Member, error) {
	var m Member
	err := d.r.do(context.Background(), "leader", func() error {
		cm := C.offkv_member{size: C.sizeof_offkv_member}
		var detail *C.char
		if rc := C.goffkv_detector_leader(d.ptr, &cm, &detail); rc != 0 {
			return newError(rc, "leader", d.r.key, takeDetail(detail))
		}
		m = takeMember(&cm)
		return nil
	}, nil)
	return m, err
}

// Wait waits until the detected leader's key differs from previousKey ("" = no
// leader) and returns the new leader like Leader (ErrNoEntry: the change was to "no
// leader"). ErrClosed once the detector or its client is closed; a *ContextError
// when ctx is done first.
func (d *Detector) Wait(ctx context.Context, previousKey string) (Member, error) {
	var prev []byte
	if previousKey != "" {
		var ok bool
		if prev, ok = cString(previousKey); !ok {
			return Member{}, errNUL("wait", d.r.key, "previous key")
		}
	}
	var m Member
	err := d.r.do(ctx, "wait", func() error {
		return sliced(ctx, "wait", d.r.key, func(ms C.int) (C.int, string) {
			var p *C.char
			if prev != nil {
				p = charPtr(prev)
			}
			cm := C.offkv_member{size: C.sizeof_offkv_member}
			var detail *C.char
			rc := C.goffkv_detector_wait(d.ptr, p, ms, &cm, &detail)
			if rc == 0 {
				m = takeMember(&cm)
			}
			return rc, takeDetail(detail)
		})
	}, nil)
	return m, err
}

// Close stops detecting: no event after it returns, the Events channel is closed and
// the handle freed (a Wait on another goroutine returns ErrClosed). Twice is fine.
func (d *Detector) Close() error { return d.r.close(true) }
