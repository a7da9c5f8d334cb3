package faults

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// monitor is the test's own clients (one per URL: all members for ZooKeeper and etcd,
// one per agent for Consul). It probes writes all the time, to tell when the service
// is back after a fault, and polls for ephemeral nodes.
type monitor struct {
	clients  []*offkv.Client
	mu       sync.Mutex
	okWrites [][2]int64 // (call, return) of every successful probe write
	inFlight atomic.Int32
	stop     chan struct{}
	wg       sync.WaitGroup
}

func openMonitor(urls []string, session time.Duration) (*monitor, error) {
	m := &monitor{stop: make(chan struct{})}
	for _, u := range urls {
		c, err := offkv.Open(context.Background(), u, offkv.WithSessionTimeout(session),
			offkv.WithOperationTimeout(2*time.Second))
		if err != nil {
			m.close()
			return nil, fmt.Errorf("monitor open %s: %w", u, err)
		}
		m.clients = append(m.clients, c)
	}
	return m, nil
}

// startProbes writes /faults/probe<i> through every client every 100 ms, each write
// in its own goroutine so that a write stuck in a fault does not delay the next.
func (m *monitor) startProbes() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for seq := 0; ; seq++ {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			for i, c := range m.clients {
				if m.inFlight.Load() > 60 {
					continue
				}
				m.inFlight.Add(1)
				m.wg.Add(1)
				go func(i int, c *offkv.Client) {
					defer m.wg.Done()
					defer m.inFlight.Add(-1)
					call := now()
					_, err := c.Set(context.Background(), fmt.Sprintf("/faults/probe%d", i), []byte(fmt.Sprint(seq)))
					ret := now()
					if err == nil {
						m.mu.Lock()
						m.okWrites = append(m.okWrites, [2]int64{call, ret})
						m.mu.Unlock()
					}
				}(i, c)
			}
		}
	}()
}

// writeBackAfter returns how long after t the first probe write invoked at or after
// t succeeded (false if none yet).
func (m *monitor) writeBackAfter(t int64) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := int64(-1)
	for _, w := range m.okWrites {
		if w[0] >= t && (best < 0 || w[1] < best) {
			best = w[1]
		}
	}
	if best < 0 {
		return 0, false
	}
	return time.Duration(best - t), true
}

// waitWriteBack waits up to timeout for writeBackAfter(t).
func (m *monitor) waitWriteBack(t int64, timeout time.Duration) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		if d, ok := m.writeBackAfter(t); ok {
			return d, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no write succeeded within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exists asks each client in turn until one answers.
func (m *monitor) exists(key string) (int64, error) {
	var last error
	for _, c := range m.clients {
		v, err := c.Exists(context.Background(), key)
		if err == nil {
			return v, nil
		}
		last = err
	}
	return 0, last
}

// get asks each client in turn, retrying for up to timeout.
func (m *monitor) get(key string, timeout time.Duration) ([]byte, int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		var last error
		for _, c := range m.clients {
			v, ver, err := c.Get(context.Background(), key)
			if err == nil {
				return v, ver, nil
			}
			last = err
		}
		if time.Now().After(deadline) {
			return nil, 0, last
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitGone polls key every 10 ms until it is gone and returns when (monotonic ns).
func (m *monitor) waitGone(key string, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := m.exists(key)
		if err == nil && v == 0 {
			return now(), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still there")
			}
			return 0, fmt.Errorf("%s not gone within %v: %v", key, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (m *monitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.wg.Wait()
	for _, c := range m.clients {
		c.Close()
	}
}
