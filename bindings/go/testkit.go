package offkv

// #include "shim.h"
import "C"

import "context"

// The test kit's session faults (offkv_testkit_suspend / _resume / _expire), for an
// application's tests of its SUSPENDED and LOST handling: on mem:// and, through a
// client-side hook, on ZooKeeper, etcd and Consul (docs/c-api.md "Test kit"). Each
// returns once the transition it causes was reported on SessionEvents.

// TestkitSuspend cuts the client's connection, as a network failure would, and
// returns once the session is SessionSuspended. Then operations wait up to the
// operation timeout and fail with ErrConnLoss (nothing sent), watches stay armed, an
// elected leader gets NOT_LEADER (ErrConnLoss), and once the session timeout has
// passed the session is SessionLost (ephemerals gone, watches ended). ErrClosed after
// Close; ErrTimeout if SUSPENDED was not reported in time (the cut stays).
func (c *Client) TestkitSuspend() error { return c.testkit("testkit_suspend", 0) }

// TestkitResume gives the connection back and returns once SessionConnected: the same
// session (watch events missed meanwhile are delivered), or a new one after
// SessionLost if the session expired meanwhile. Nothing to do if the client was not
// cut. ErrTimeout if not connected again in time.
func (c *Client) TestkitResume() error { return c.testkit("testkit_resume", 1) }

// TestkitExpire expires the client's session at the store, as Curator's KillSession:
// when it returns, the session's ephemeral nodes are gone for every client. A
// connected client then goes SessionLost (watches end with ErrSession, a leader gets
// NOT_LEADER) and SessionConnected in a new session before TestkitExpire returns; a
// suspended one hears SessionLost when resumed.
func (c *Client) TestkitExpire() error { return c.testkit("testkit_expire", 2) }

func (c *Client) testkit(op string, which int) error {
	return c.do(context.Background(), op, "", func(p *C.offkv_client) error {
		var detail *C.char
		var rc C.int
		switch which {
		case 0:
			rc = C.goffkv_testkit_suspend(p, &detail)
		case 1:
			rc = C.goffkv_testkit_resume(p, &detail)
		default:
			rc = C.goffkv_testkit_expire(p, &detail)
		}
		if rc != 0 {
			return newError(rc, op, "", takeDetail(detail))
		}
		return nil
	}, nil)
}
