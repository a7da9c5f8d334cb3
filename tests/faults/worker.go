package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	offkv "github.com/offkv/offkv/bindings/go"
)

// Workers are this test binary run again with FAULTS_WORKER set (TestMain), one OS
// process each, so that the test can SIGKILL a client. They record into FAULTS_OUT
// and stop on SIGTERM (or after FAULTS_MAX_SECONDS, a safety bound).
//
//	client     the register workload on registerKeys and the counter on counterKey
//	contender  one contender of the election electionGroup
//	ephemeral  creates one ephemeral node, then idles until killed
const (
	registerKeys  = 3
	counterKey    = "/faults/counter"
	electionGroup = "/faults/election"
	ephemeralDir  = "/faults/eph"
)

const unknownBackoff = 250 * time.Millisecond

func registerKey(i int) string { return fmt.Sprintf("/faults/reg%d", i) }

type workerEnv struct {
	kind, id, url, out   string
	session, opTimeout   time.Duration
	maxRun               time.Duration
	seed                 int64
	rec                  *recorder
	stop                 context.Context
	cancel               context.CancelFunc
	thinkMin, thinkRange time.Duration
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// runWorker is the whole life of a worker process; it returns the exit status.
func runWorker(kind string) int {
	w := &workerEnv{
		kind:       kind,
		id:         os.Getenv("FAULTS_ID"),
		url:        os.Getenv("FAULTS_URL"),
		out:        os.Getenv("FAULTS_OUT"),
		session:    time.Duration(envInt("FAULTS_SESSION_MS", 6000)) * time.Millisecond,
		opTimeout:  time.Duration(envInt("FAULTS_OP_MS", 3000)) * time.Millisecond,
		maxRun:     time.Duration(envInt("FAULTS_MAX_SECONDS", 300)) * time.Second,
		seed:       envInt("FAULTS_SEED", time.Now().UnixNano()),
		thinkMin:   2 * time.Millisecond,
		thinkRange: 6 * time.Millisecond,
	}
	var err error
	if w.rec, err = newRecorder(w.out); err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", w.id, err)
		return 2
	}
	defer w.rec.close()
	ctx, cancel := context.WithTimeout(context.Background(), w.maxRun)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	w.stop, w.cancel = ctx, cancel

	c, err := w.open()
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: open %s: %v\n", w.id, w.url, err)
		return 2
	}
	switch kind {
	case "client":
		err = w.client(c)
	case "contender":
		err = w.contender(c)
	case "ephemeral":
		err = w.ephemeral(c)
	default:
		err = fmt.Errorf("unknown worker kind %q", kind)
	}
	if cerr := c.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker %s: %v\n", w.id, err)
		return 1
	}
	return 0
}

// open retries for a while: a worker started right after a fault may find no quorum.
func (w *workerEnv) open() (*offkv.Client, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := offkv.Open(context.Background(), w.url, offkv.WithSessionTimeout(w.session),
			offkv.WithOperationTimeout(w.opTimeout), offkv.WithConnectTimeout(5*time.Second))
		if err == nil || time.Now().After(deadline) || w.stop.Err() != nil {
			return c, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// classify maps a call's error to its outcome: EVERSION is a definite no, and
// anything else the server or the connection may have left undecided is unknown
// (ECONNLOSS, ETIMEOUT, ESESSION and, to be safe, every other code).
func classify(err error) (outcome, code string) {
	if err == nil {
		return outcomeOK, ""
	}
	var c offkv.Code
	if errors.As(err, &c) {
		code = c.String()
	}
	if errors.Is(err, offkv.ErrVersion) {
		return outcomeFail, code
	}
	if code == "" {
		code = err.Error()
	}
	return outcomeUnknown, code
}

func (w *workerEnv) think(rng *rand.Rand) {
	time.Sleep(w.thinkMin + time.Duration(rng.Int63n(int64(w.thinkRange))))
}

// client runs the register loop and the counter loop until stopped.
func (w *workerEnv) client(c *offkv.Client) error {
	done := make(chan error, 2)
	go func() { done <- w.registerLoop(c) }()
	go func() { done <- w.counterLoop(c) }()
	err1, err2 := <-done, <-done
	if err1 != nil {
		return err1
	}
	return err2
}

// Logical client ids: porcupine wants one outstanding call per client, and a call
// with an unknown outcome stays outstanding for ever, so after one the worker goes on
// as a new logical client (as Jepsen does with a crashed process).
func (w *workerEnv) clientBase(loop int) int {
	n, _ := strconv.Atoi(strings.TrimLeft(w.id, "abcdefghijklmnopqrstuvwxyz"))
	return (n*2 + loop) * 100000
}

func (w *workerEnv) registerLoop(c *offkv.Client) error {
	rng := rand.New(rand.NewSource(w.seed))
	client := w.clientBase(0)
	seen := map[string]int64{} // the last version this worker saw of each key
	// After an unknown outcome, only reads until one succeeds: the service is away,
	// and each write sent meanwhile would be one more unknown outcome for the checker
	// (a failed read costs it nothing).
	probing := false
	for seq := 0; w.stop.Err() == nil; seq++ {
		key := registerKey(rng.Intn(registerKeys))
		r := Record{Kind: "op", Worker: w.id, Client: client, Key: key}
		var err error
		p := rng.Intn(10)
		if probing {
			p = 0
		}
		switch {
		case p < 4:
			r.Op = "get"
			r.Call = now()
			var v []byte
			v, r.Version, err = c.Get(context.Background(), key)
			r.Return = now()
			r.Value = string(v)
		case p < 7:
			r.Op = "set"
			r.Value = fmt.Sprintf("%s-%d", w.id, seq)
			r.Call = now()
			r.Version, err = c.Set(context.Background(), key, []byte(r.Value))
			r.Return = now()
		default:
			r.Op = "cas"
			r.Value = fmt.Sprintf("%s-%d", w.id, seq)
			r.Expected = seen[key]
			if r.Expected == 0 || rng.Intn(4) == 0 {
				r.Expected = seen[key] + 1 // a guess; may be right if someone wrote meanwhile
			}
			r.Call = now()
			r.Version, err = c.Cas(context.Background(), key, []byte(r.Value), r.Expected)
			r.Return = now()
		}
		r.Outcome, r.Code = classify(err)
		if r.Outcome != outcomeOK {
			r.Version = 0
			if r.Op == "get" {
				r.Value = ""
			}
		} else {
			seen[key] = r.Version
		}
		w.rec.add(r)
		probing = r.Outcome == outcomeUnknown
		if r.Outcome == outcomeUnknown {
			client++
			// Back off while the service is away: every unknown write stays open to
			// the end of the history, and the checker's work grows with their number.
			time.Sleep(unknownBackoff)
		}
		w.think(rng)
	}
	return nil
}

func (w *workerEnv) counterLoop(c *offkv.Client) error {
	rng := rand.New(rand.NewSource(w.seed + 1))
	client := w.clientBase(1)
	for w.stop.Err() == nil {
		v, ver, err := c.Get(context.Background(), counterKey)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		n, perr := strconv.ParseInt(string(v), 10, 64)
		if perr != nil {
			return fmt.Errorf("counter holds %q", v)
		}
		r := Record{Kind: "counter", Worker: w.id, Client: client, Key: counterKey,
			Value: strconv.FormatInt(n+1, 10), Expected: ver}
		r.Call = now()
		r.Version, err = c.Cas(context.Background(), counterKey, []byte(r.Value), ver)
		r.Return = now()
		r.Outcome, r.Code = classify(err)
		w.rec.add(r)
		if r.Outcome == outcomeUnknown {
			client++
			time.Sleep(unknownBackoff)
		}
		w.think(rng)
	}
	return nil
}

// contender contends and records every leadership change and session transition,
// all from this one goroutine, until stopped; then withdraws.
func (w *workerEnv) contender(c *offkv.Client) error {
	sessions := c.SessionEvents()
	e, err := c.Contend(context.Background(), electionGroup, []byte(w.id))
	if err != nil {
		return err
	}
	events := e.Events()
	record := func(ev offkv.RecipeEvent) {
		r := Record{Worker: w.id, T: now()}
		if ev.Member != nil {
			r.Member = ev.Member.Key
		}
		switch ev.Type {
		case offkv.EventLeader:
			r.Kind = "lead"
		case offkv.EventNotLeader:
			r.Kind = "unlead"
			r.Code = "withdrawn"
			if ev.Err != nil {
				_, r.Code = classify(ev.Err)
			}
		default:
			return
		}
		w.rec.add(r)
	}
	for events != nil {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			record(ev)
		case s, ok := <-sessions:
			if !ok {
				sessions = nil
				continue
			}
			r := Record{Kind: "session", Worker: w.id, T: now(), State: s.State.String()}
			if s.State == offkv.SessionSuspended || s.State == offkv.SessionLost {
				// The library clears the belief before it queues the transition: a
				// leader still believing now has not given up.
				leader := e.IsLeader()
				st, _ := c.SessionState()
				r.Leader = leader && st != offkv.SessionConnected
			}
			w.rec.add(r)
		case <-w.stop.Done():
			// Withdraw delivers NOT_LEADER (if leading) before the node goes; the
			// channel is closed after it, so the loop records it and ends.
			go e.Withdraw()
			w.stop = context.Background()
		}
	}
	return nil
}

// ephemeral keeps one ephemeral node: created at start and again after each LOST
// session (the node went with it), so the test always kills a client that owns one.
func (w *workerEnv) ephemeral(c *offkv.Client) error {
	sessions := c.SessionEvents()
	key := ephemeralDir + "/" + w.id
	create := func() error {
		for {
			_, err := c.Create(context.Background(), key, []byte(w.id), offkv.Ephemeral)
			if err == nil {
				w.rec.add(Record{Kind: "created", Worker: w.id, Member: key, T: now()})
				return nil
			}
			if errors.Is(err, offkv.ErrExists) {
				// The node of the session that was declared LOST: on ZooKeeper the
				// client declares LOST itself after a session timeout without a
				// server, while the ensemble may keep that session (and its node)
				// until it expires there. It is not ours: replace it.
				err = c.Erase(context.Background(), key, 0)
				if err == nil || errors.Is(err, offkv.ErrNoEntry) {
					continue
				}
			}
			if w.stop.Err() != nil {
				return nil
			}
			if !errors.Is(err, offkv.ErrConnLoss) && !errors.Is(err, offkv.ErrTimeout) &&
				!errors.Is(err, offkv.ErrSession) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := create(); err != nil {
		return err
	}
	lost := false
	for {
		select {
		case <-w.stop.Done():
			return nil
		case s := <-sessions:
			w.rec.add(Record{Kind: "session", Worker: w.id, T: now(), State: s.State.String()})
			switch s.State {
			case offkv.SessionLost:
				lost = true
			case offkv.SessionConnected:
				if lost {
					lost = false
					if err := create(); err != nil {
						return err
					}
				}
			}
		}
	}
}
