package offkv_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGet: Gets of distinct keys from 1, 8, 32 and 256 goroutines sharing one
// client, against OFFKV_BENCH_URL (default mem://). Reports ops/s and the peak OS
// thread count of the process during the run.
//
//	OFFKV_BENCH_URL=zk://127.0.0.1:2181 go test -run '^$' -bench Get -benchtime 3s
func BenchmarkGet(b *testing.B) {
	base := os.Getenv("OFFKV_BENCH_URL")
	if base == "" {
		base = "mem://"
	}
	c := open(b, isolated(b, base))
	const keys = 256
	for i := range keys {
		must[string](b)(c.Create(bg, fmt.Sprintf("/b%03d", i), []byte("value"), 0))
	}
	for _, goroutines := range []int{1, 8, 32, 256} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			peak := threadPeak(b, 10*time.Millisecond)
			var issued atomic.Int64
			var failed atomic.Value
			var wg sync.WaitGroup
			b.ResetTimer()
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("/b%03d", g%keys) // distinct keys: no ordering between them
					for issued.Add(1) <= int64(b.N) {
						if _, _, err := c.Get(bg, key); err != nil {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			threads := peak()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			b.ReportMetric(float64(threads), "threads")
		})
	}
}
