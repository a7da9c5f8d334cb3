// Command offkv-go-bench measures offkv's Go binding against the native Go clients on
// the same servers, in interleaved rounds: go.etcd.io/etcd/client/v3 (etcd) and
// github.com/hashicorp/consul/api (Consul).
//
// For every backend, op (get, set) and number of goroutines (1, 8, 32, all sharing
// one client), each round runs offkv then the native client (the order alternates
// between rounds) for a fixed time; the tables give the medians over the rounds of
// ops/s, p50 and p99 latency per call, process CPU per call, and the spread of ops/s.
//
//	offkv-go-bench --etcd etcd://127.0.0.1:P --consul consul://127.0.0.1:P [--quick] [--out FILE.md]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	consul "github.com/hashicorp/consul/api"
	offkv "github.com/offkv/offkv/bindings/go"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const keys = 32 // goroutine i uses key i % keys

var (
	value       = []byte(strings.Repeat("v", 100))
	ops         = []string{"get", "set"}
	concurrency = []int{1, 8, 32}
)

// side is one client under test: call performs op on key i.
type side interface {
	name() string
	call(ctx context.Context, op string, i int) error
	close()
}

// ---- offkv ----

type offkvSide struct {
	c    *offkv.Client
	keys []string
}

func newOffkv(ctx context.Context, url string) (*offkvSide, error) {
	c, err := offkv.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	s := &offkvSide{c: c}
	if _, err := c.Create(ctx, "/offkv-bench", nil, 0); err != nil && !errors.Is(err, offkv.ErrExists) {
		return nil, err
	}
	for i := 0; i < keys; i++ {
		k := fmt.Sprintf("/offkv-bench/k%d", i)
		s.keys = append(s.keys, k)
		if _, err := c.Create(ctx, k, value, 0); errors.Is(err, offkv.ErrExists) {
			_, err = c.Set(ctx, k, value)
		} else if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *offkvSide) name() string { return "offkv" }

func (s *offkvSide) call(ctx context.Context, op string, i int) error {
	k := s.keys[i%keys]
	if op == "get" {
		_, _, err := s.c.Get(ctx, k)
		return err
	}
	_, err := s.c.Set(ctx, k, value)
	return err
}

func (s *offkvSide) close() {
	ctx := context.Background()
	for _, k := range s.keys {
		_ = s.c.Erase(ctx, k, 0)
	}
	_ = s.c.Erase(ctx, "/offkv-bench", 0)
	_ = s.c.Close()
}

// ---- etcd clientv3 ----

type etcdSide struct {
	c    *clientv3.Client
	keys []string
}

func newEtcd(ctx context.Context, hostPort string) (*etcdSide, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{hostPort}, DialTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	s := &etcdSide{c: c}
	for i := 0; i < keys; i++ {
		k := fmt.Sprintf("/native-bench/k%d", i)
		s.keys = append(s.keys, k)
		if _, err := c.Put(ctx, k, string(value)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *etcdSide) name() string { return "clientv3" }

func (s *etcdSide) call(ctx context.Context, op string, i int) error {
	k := s.keys[i%keys]
	if op == "get" {
		r, err := s.c.Get(ctx, k)
		if err == nil && len(r.Kvs) != 1 {
			err = fmt.Errorf("etcd get %s: %d keys", k, len(r.Kvs))
		}
		return err
	}
	_, err := s.c.Put(ctx, k, string(value))
	return err
}

func (s *etcdSide) close() {
	_, _ = s.c.Delete(context.Background(), "/native-bench/", clientv3.WithPrefix())
	_ = s.c.Close()
}

// ---- Consul api ----

type consulSide struct {
	kv   *consul.KV
	keys []string
}

func newConsul(hostPort string) (*consulSide, error) {
	cfg := consul.DefaultConfig()
	cfg.Address = hostPort
	c, err := consul.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &consulSide{kv: c.KV()}
	for i := 0; i < keys; i++ {
		k := fmt.Sprintf("native-bench/k%d", i)
		s.keys = append(s.keys, k)
		if _, err := s.kv.Put(&consul.KVPair{Key: k, Value: value}, nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *consulSide) name() string { return "consul/api" }

func (s *consulSide) call(ctx context.Context, op string, i int) error {
	k := s.keys[i%keys]
	if op == "get" {
		p, _, err := s.kv.Get(k, nil)
		if err == nil && p == nil {
			err = fmt.Errorf("consul get %s: missing", k)
		}
		return err
	}
	_, err := s.kv.Put(&consul.KVPair{Key: k, Value: value}, nil)
	return err
}

func (s *consulSide) close() { _, _ = s.kv.DeleteTree("native-bench/", nil) }

// ---- measurement ----

type run struct {
	calls int
	wall  time.Duration
	cpu   time.Duration
	lat   []time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(s side, op string, goroutines int, d time.Duration) (run, error) {
	ctx := context.Background()
	lats := make([][]time.Duration, goroutines)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := make(chan struct{})
	var end time.Time
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			<-start
			l := make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				if err := s.call(ctx, op, g); err != nil {
					firstErr.CompareAndSwap(nil, err)
					break
				}
				l = append(l, time.Since(t0))
			}
			lats[g] = l
		}(g)
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	end = t0.Add(d)
	close(start)
	wg.Wait()
	r := run{wall: time.Since(t0), cpu: cpuTime() - cpu0}
	for _, l := range lats {
		r.calls += len(l)
		r.lat = append(r.lat, l...)
	}
	if e := firstErr.Load(); e != nil {
		return r, fmt.Errorf("%s %s: %w", s.name(), op, e.(error))
	}
	return r, nil
}

type cell struct {
	rates, p50, p99, cpu []float64 // per round; latencies in µs
}

func (c *cell) add(r run) {
	c.rates = append(c.rates, float64(r.calls)/r.wall.Seconds())
	sort.Slice(r.lat, func(a, b int) bool { return r.lat[a] < r.lat[b] })
	q := func(f float64) float64 {
		if len(r.lat) == 0 {
			return 0
		}
		return float64(r.lat[min(len(r.lat)-1, int(f*float64(len(r.lat))))]) / 1e3
	}
	c.p50 = append(c.p50, q(0.5))
	c.p99 = append(c.p99, q(0.99))
	c.cpu = append(c.cpu, float64(r.cpu)/1e3/float64(max(r.calls, 1)))
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := median(s)
	if m == 0 {
		return 0
	}
	return (s[len(s)-1] - s[0]) / m * 100
}

type key struct {
	op     string
	g      int
	native bool
}

func benchBackend(backend, offkvURL string, rounds int, d time.Duration) (map[key]*cell, string, error) {
	ctx := context.Background()
	u, err := url.Parse(offkvURL)
	if err != nil {
		return nil, "", err
	}
	hostPort := strings.Split(u.Host, ",")[0]
	o, err := newOffkv(ctx, offkvURL)
	if err != nil {
		return nil, "", fmt.Errorf("offkv open %s: %w", offkvURL, err)
	}
	defer o.close()
	var n side
	switch backend {
	case "etcd":
		n, err = newEtcd(ctx, hostPort)
	case "consul":
		n, err = newConsul(hostPort)
	}
	if err != nil {
		return nil, "", fmt.Errorf("native %s client: %w", backend, err)
	}
	defer n.close()
	// Warm-up, not counted.
	for _, s := range []side{o, n} {
		for _, op := range ops {
			if _, err := measure(s, op, 8, min(d, 200*time.Millisecond)); err != nil {
				return nil, "", err
			}
		}
	}
	cells := map[key]*cell{}
	for r := 0; r < rounds; r++ {
		order := []side{o, n}
		if r%2 == 1 {
			order = []side{n, o}
		}
		for _, op := range ops {
			for _, g := range concurrency {
				for _, s := range order {
					res, err := measure(s, op, g, d)
					if err != nil {
						return nil, "", err
					}
					k := key{op, g, s != side(o)}
					if cells[k] == nil {
						cells[k] = &cell{}
					}
					cells[k].add(res)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "  %s: round %d/%d done\n", backend, r+1, rounds)
	}
	return cells, n.name(), nil
}

func gitCommit() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	s := strings.TrimSpace(string(out))
	dirty, _ := exec.Command("git", "-C", dir, "status", "--porcelain", "--", "../../core",
		"../../capi", "../../backends", "../../bindings/go").Output()
	if len(strings.TrimSpace(string(dirty))) > 0 {
		s += " (+ local changes)"
	}
	return s
}

func machine() string {
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s", cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func main() {
	zk := flag.String("zk", "", "zk:// URL (accepted for symmetry with bench/run.sh; no native Go ZooKeeper client is compared)")
	etcd := flag.String("etcd", "", "etcd:// URL")
	cons := flag.String("consul", "", "consul:// URL")
	quick := flag.Bool("quick", false, "1 round of 0.1 s per cell (a smoke, not a measurement)")
	rounds := flag.Int("rounds", 0, "rounds (default 5, 1 with --quick)")
	secs := flag.Float64("seconds", 0, "seconds per cell and round (default 1, 0.1 with --quick)")
	out := flag.String("out", "", "Markdown results file")
	only := flag.String("only", "", "profiling aid: run just BACKEND:SIDE:OP:GOROUTINES (e.g. etcd:offkv:set:32) for --seconds and print ops/s and CPU per call")
	flag.Parse()
	if *rounds == 0 {
		*rounds = 5
		if *quick {
			*rounds = 1
		}
	}
	if *secs == 0 {
		*secs = 1
		if *quick {
			*secs = 0.1
		}
	}
	d := time.Duration(*secs * float64(time.Second))
	if *only != "" {
		os.Exit(runOnly(*only, map[string]string{"etcd": *etcd, "consul": *cons}, d))
	}
	if *zk != "" {
		fmt.Fprintln(os.Stderr, "offkv-go-bench: --zk ignored: no native Go ZooKeeper client is compared here")
	}
	type target struct{ backend, url string }
	var targets []target
	if *etcd != "" {
		targets = append(targets, target{"etcd", *etcd})
	}
	if *cons != "" {
		targets = append(targets, target{"consul", *cons})
	}
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "offkv-go-bench: give --etcd and/or --consul")
		os.Exit(2)
	}

	started := time.Now()
	load0 := loadavg()
	type result struct {
		backend, native string
		cells           map[key]*cell
	}
	var results []result
	for _, t := range targets {
		fmt.Fprintf(os.Stderr, "offkv-go-bench: %s at %s: %d round(s) x %v per cell\n", t.backend, t.url, *rounds, d)
		cells, native, err := benchBackend(t.backend, t.url, *rounds, d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "offkv-go-bench: %s: %v\n", t.backend, err)
			os.Exit(1)
		}
		results = append(results, result{t.backend, native, cells})
	}

	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("## Go: offkv vs native clients")
	w("")
	note := ""
	if *quick {
		note = " (--quick: a smoke, not a measurement)"
	}
	w("- date: %s; took %.0f s%s", time.Now().UTC().Format("2006-01-02 15:04 UTC"), time.Since(started).Seconds(), note)
	w("- machine: %s", machine())
	w("- load average (1 min) before / after: %s / %s", load0, loadavg())
	w("- offkv commit: %s; %s; %s", gitCommit(), runtime.Version(), libVersions())
	w("- %d interleaved round(s) x %v per cell; value %d B; %d keys; N goroutines share one client;"+
		" ratio = offkv ops/s / native ops/s (median of rounds); latency ratio = offkv p50 / native p50;"+
		" spread = (max-min)/median of ops/s over the rounds", *rounds, d, len(value), keys)
	w("")
	w("### Summary: ops/s ratio offkv/native (≥ 1 is offkv faster) and p50 latency ratio offkv/native (≤ 1 is offkv faster)")
	w("")
	w("| backend | op | ops/s ratio 1 / 8 / 32 goroutines | p50 ratio 1 / 8 / 32 |")
	w("|---|---|---|---|")
	for _, r := range results {
		for _, op := range ops {
			var rr, lr []string
			for _, g := range concurrency {
				o, n := r.cells[key{op, g, false}], r.cells[key{op, g, true}]
				rr = append(rr, fmt.Sprintf("%.2f×", median(o.rates)/median(n.rates)))
				lr = append(lr, fmt.Sprintf("%.2f×", median(o.p50)/median(n.p50)))
			}
			w("| %s vs %s | %s | %s | %s |", r.backend, r.native, op, strings.Join(rr, " / "), strings.Join(lr, " / "))
		}
	}
	w("")
	for _, r := range results {
		w("### %s: offkv vs %s", r.backend, r.native)
		w("")
		w("| op | goroutines | offkv ops/s | native ops/s | **ratio** | offkv p50 µs | native p50 µs | offkv p99 µs | native p99 µs | offkv CPU µs/op | native CPU µs/op | spread o/n |")
		w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, op := range ops {
			for _, g := range concurrency {
				o, n := r.cells[key{op, g, false}], r.cells[key{op, g, true}]
				w("| %s | %d | %.0f | %.0f | **%.2f×** | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f%% / %.0f%% |",
					op, g, median(o.rates), median(n.rates), median(o.rates)/median(n.rates),
					median(o.p50), median(n.p50), median(o.p99), median(n.p99),
					median(o.cpu), median(n.cpu), spread(o.rates), spread(n.rates))
			}
		}
		w("")
	}
	fmt.Print(b.String())
	if *out != "" {
		_ = os.MkdirAll(filepath.Dir(*out), 0o755)
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "offkv-go-bench:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "offkv-go-bench: wrote", *out)
	}
}

func libVersions() string {
	s := "liboffkv " + offkv.VersionString()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "go.etcd.io/etcd/client/v3" || m.Path == "github.com/hashicorp/consul/api" {
				s += ", " + m.Path + " " + m.Version
			}
		}
	}
	return s
}

// runOnly runs one side alone (for perf stat / perf record of one client).
func runOnly(spec string, urls map[string]string, d time.Duration) int {
	var backend, which, op string
	var g int
	if n, _ := fmt.Sscanf(strings.ReplaceAll(spec, ":", " "), "%s %s %s %d", &backend, &which, &op, &g); n != 4 || urls[backend] == "" {
		fmt.Fprintln(os.Stderr, "offkv-go-bench: --only BACKEND:offkv|native:get|set:N, with that backend's URL")
		return 2
	}
	ctx := context.Background()
	u, err := url.Parse(urls[backend])
	if err != nil {
		fmt.Fprintln(os.Stderr, "offkv-go-bench:", err)
		return 1
	}
	var s side
	switch {
	case which == "offkv":
		s, err = newOffkv(ctx, urls[backend])
	case backend == "etcd":
		s, err = newEtcd(ctx, strings.Split(u.Host, ",")[0])
	default:
		s, err = newConsul(strings.Split(u.Host, ",")[0])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "offkv-go-bench:", err)
		return 1
	}
	defer s.close()
	r, err := measure(s, op, g, d)
	if err != nil {
		fmt.Fprintln(os.Stderr, "offkv-go-bench:", err)
		return 1
	}
	fmt.Printf("%s %s %s x%d: %d calls, %.0f ops/s, CPU %.1f µs/call\n", backend, s.name(), op, g,
		r.calls, float64(r.calls)/r.wall.Seconds(), float64(r.cpu)/1e3/float64(max(r.calls, 1)))
	return 0
}
