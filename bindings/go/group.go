package offkv

// #include "shim.h"
import "C"

import (
	"context"
	"unsafe"
)

// Group is a handle on a group (Mesos' PIDGroup, service discovery): join it (at most
// one membership per handle) and/or observe it. Events() gets EventMembers with the
// whole membership first, then after every change (a member joined or left, a
// payload changed). Observing costs one children watch plus one data watch per
// member; the group need not exist.
type Group struct {
	r   *recipe
	ptr *C.offkv_group
}

// OpenGroup opens a handle on group. If ctx is done before the library returns, the
// handle is closed in the background. WithLabel(label): Mesos' layout, a join
// creates group/<label>_<seq> and only members with that label are listed.
func (c *Client) OpenGroup(ctx context.Context, group string, opts ...RecipeOption) (*Group, error) {
	g, ok := cString(group)
	if !ok {
		return nil, errNUL("group", group, "group")
	}
	cfg, err := recipeOptions("group", group, opts)
	if err != nil {
		return nil, err
	}
	var gr *Group
	err = c.do(ctx, "group", group, func(p *C.offkv_client) error {
		r := c.newRecipe("group", group, true)
		r.label = cfg.label
		var ptr *C.offkv_group
		var detail *C.char
		if rc := C.goffkv_group_open(p, charPtr(g), cfg.labelPtr(), r.handleArg(), &ptr, &detail); rc != 0 {
			r.failed()
			return newError(rc, "group", group, takeDetail(detail))
		}
		gr = &Group{r: r, ptr: ptr}
		r.stop = func() error {
			var detail *C.char
			if rc := C.goffkv_group_close(ptr, &detail); rc != 0 {
				return newError(rc, "close", group, takeDetail(detail))
			}
			return nil
		}
		r.free = func() { C.offkv_group_free(ptr) }
		r.created()
		return nil
	}, func() { gr.Close() })
	if err != nil {
		return nil, err
	}
	return gr, nil
}

// Events returns the channel of EventMembers events; closed when the handle or its
// client is closed. Events queue without bound until read.
func (g *Group) Events() <-chan RecipeEvent { return g.r.events.out }

// Name returns the group key.
func (g *Group) Name() string { return g.r.key }

// Label returns the member label given with WithLabel ("" for offkv's own names).
func (g *Group) Label() string { return g.r.label }

// Join joins the group with payload. The membership lives as long as the session;
// after a lost session (or if someone erases the node) it is re-created by itself,
// with a new key. ErrInvalid if this handle is already a member.
func (g *Group) Join(ctx context.Context, payload []byte) error {
	return g.withPayload(ctx, "join", payload, func(v unsafe.Pointer, n C.size_t, detail **C.char) C.int {
		return C.goffkv_group_join(g.ptr, v, n, detail)
	})
}

// Update replaces this handle's payload (atomically checked against its node). If
// the node is missing right now it gets the new payload when it is re-created.
// ErrInvalid if not joined.
func (g *Group) Update(ctx context.Context, payload []byte) error {
	return g.withPayload(ctx, "update", payload, func(v unsafe.Pointer, n C.size_t, detail **C.char) C.int {
		return C.goffkv_group_update(g.ptr, v, n, detail)
	})
}

func (g *Group) withPayload(ctx context.Context, op string, payload []byte, call func(unsafe.Pointer, C.size_t, **C.char) C.int) error {
	payload = ownValue(ctx, payload)
	return g.r.do(ctx, op, func() error {
		v, n := valuePtr(payload)
		var detail *C.char
		if rc := call(v, n, &detail); rc != 0 {
			return newError(rc, op, g.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
}

// Leave leaves the group (erases the member node). ErrInvalid if not joined.
func (g *Group) Leave(ctx context.Context) error {
	return g.r.do(ctx, "leave", func() error {
		var detail *C.char
		if rc := C.goffkv_group_leave(g.ptr, &detail); rc != 0 {
			return newError(rc, "leave", g.r.key, takeDetail(detail))
		}
		return nil
	}, nil)
}

// Self returns this handle's own membership; ErrNoEntry if it has no member node
// right now.
func (g *Group) Self() (Member, error) {
	var m Member
	err := g.r.do(context.Background(), "self", func() error {
		cm := C.offkv_member{size: C.sizeof_offkv_member}
		var detail *C.char
		if rc := C.goffkv_group_self(g.ptr, &cm, &detail); rc != 0 {
			return newError(rc, "self", g.r.key, takeDetail(detail))
		}
		m = takeMember(&cm)
		return nil
	}, nil)
	return m, err
}

// Members reads the membership now, by sequence (a group that does not exist has no
// members).
func (g *Group) Members(ctx context.Context) ([]Member, error) {
	var ms []Member
	err := g.r.do(ctx, "members", func() error {
		cms := C.offkv_members{size: C.sizeof_offkv_members}
		var detail *C.char
		if rc := C.goffkv_group_members(g.ptr, &cms, &detail); rc != 0 {
			return newError(rc, "members", g.r.key, takeDetail(detail))
		}
		ms = takeMembers(&cms)
		return nil
	}, nil)
	return ms, err
}

// Close leaves (if joined) and stops observing: no event after it returns, the
// Events channel is closed and the handle freed. Twice is fine.
func (g *Group) Close() error { return g.r.close(true) }
