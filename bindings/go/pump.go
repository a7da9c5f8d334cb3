package offkv

import "sync"

// pump moves events from the C event thread to a Go channel without ever blocking
// the C thread: push appends to an unbounded in-memory queue and returns at once; one
// goroutine per pump sends the queued items into out, in order.
//
// Buffering policy (documented in doc.go): the queue is unbounded, so a consumer that
// stops reading costs memory, never a stalled event thread (which would delay every
// other watch and session callback of the client and could deadlock Close). out has
// a small buffer of its own. The pump ends, closing out, when
//   - it has sent an item for which final returns true (ENDED, CLOSED), or
//   - stop is called: the items still queued are then moved into out's buffer
//     without blocking (what does not fit is dropped) before out is closed, so a
//     consumer that reads after Close still finds the last events when it has room.
type pump[T any] struct {
	out    chan T
	final  func(T) bool
	onExit func(*pump[T]) // may be nil; runs on the pump's goroutine as it exits

	wake     chan struct{} // cap 1: "the queue is not empty"
	stopc    chan struct{}
	done     chan struct{} // closed when the goroutine has exited
	stopOnce sync.Once

	mu      sync.Mutex
	items   []T
	stopped bool
}

func newPump[T any](buffer int, final func(T) bool, onExit func(*pump[T])) *pump[T] {
	p := &pump[T]{
		out:    make(chan T, buffer),
		final:  final,
		onExit: onExit,
		wake:   make(chan struct{}, 1),
		stopc:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	go p.run()
	return p
}

// push queues v; never blocks. Ignored once the pump has stopped.
func (p *pump[T]) push(v T) {
	p.mu.Lock()
	if !p.stopped {
		p.items = append(p.items, v)
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// stop ends the pump (see the type comment) and waits for its goroutine to exit.
func (p *pump[T]) stop() {
	p.stopOnce.Do(func() { close(p.stopc) })
	<-p.done
}

func (p *pump[T]) run() {
	defer func() {
		// onExit first: a reader that saw out close finds the pump already untracked.
		if p.onExit != nil {
			p.onExit(p)
		}
		close(p.out)
		close(p.done)
	}()
	for {
		p.mu.Lock()
		batch := p.items
		p.items = nil
		p.mu.Unlock()
		for i, v := range batch {
			select {
			case p.out <- v:
				if p.final(v) {
					p.finish(nil)
					return
				}
			case <-p.stopc:
				p.finish(batch[i:])
				return
			}
		}
		select {
		case <-p.wake:
		case <-p.stopc:
			p.finish(nil)
			return
		}
	}
}

// finish refuses further pushes and moves what is left into out's free buffer space.
func (p *pump[T]) finish(rest []T) {
	p.mu.Lock()
	rest = append(rest, p.items...)
	p.items = nil
	p.stopped = true
	p.mu.Unlock()
	for _, v := range rest {
		select {
		case p.out <- v:
		default:
			return
		}
	}
}
