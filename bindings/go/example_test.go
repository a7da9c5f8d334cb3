package offkv_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	offkv "github.com/offkv/offkv/bindings/go"
)

func Example() {
	ctx := context.Background()
	c, err := offkv.Open(ctx, "mem://example/app")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if _, err := c.Create(ctx, "/config", []byte("v1"), 0); err != nil {
		log.Fatal(err)
	}
	version, _ := c.Set(ctx, "/config", []byte("v2"))
	value, version, _ := c.Get(ctx, "/config")
	fmt.Printf("%s at version %d\n", value, version)

	_, err = c.Cas(ctx, "/config", []byte("v3"), 1) // stale version
	fmt.Println(errors.Is(err, offkv.ErrVersion))

	_, _, err = c.Get(ctx, "/missing")
	var e *offkv.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code.String(), e.Key)
	}
	// Output:
	// v2 at version 2
	// true
	// OFFKV_ENOENT /missing
}

func ExampleClient_GetWatch() {
	ctx := context.Background()
	c, _ := offkv.Open(ctx, "mem://example-watch")
	defer c.Close()
	c.Create(ctx, "/leader", []byte("a"), 0)

	value, _, w, err := c.GetWatch(ctx, "/leader")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("now %s\n", value)
	c.Set(ctx, "/leader", []byte("b"))
	for ev := range w.Events() { // one event, then the channel closes
		fmt.Println(ev.Type, ev.Key, ev.Version)
	}
	// Output:
	// now a
	// CHANGED /leader 2
}

func ExampleClient_WatchPersistent() {
	ctx := context.Background()
	c, _ := offkv.Open(ctx, "mem://example-tree")
	defer c.Close()

	w, _ := c.WatchPersistent(ctx, "/jobs")
	c.Create(ctx, "/jobs", nil, 0)
	c.Create(ctx, "/jobs/1", []byte("build"), 0)
	c.Set(ctx, "/jobs/1", []byte("test"))
	for range 3 {
		ev := <-w.Events()
		fmt.Println(ev.Type, ev.Key)
	}
	w.Cancel()
	_, open := <-w.Events()
	fmt.Println("open:", open)
	// Output:
	// CREATED /jobs
	// CREATED /jobs/1
	// CHANGED /jobs/1
	// open: false
}

func ExampleClient_Commit() {
	ctx := context.Background()
	c, _ := offkv.Open(ctx, "mem://example-txn")
	defer c.Close()
	c.Create(ctx, "/config", []byte("v1"), 0)

	res, err := c.Commit(ctx, offkv.NewTxn().
		Check("/config", 1).
		Set("/config", []byte("v2")).
		Create("/config/old-", []byte("v1"), offkv.Sequential))
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println(r.Key, r.Version)
	}

	_, err = c.Commit(ctx, offkv.NewTxn().Check("/config", 1).Erase("/config", 0))
	var e *offkv.Error
	if errors.As(err, &e) && e.Code == offkv.ErrTxn {
		fmt.Println("failed at", e.FailedIndex, e.FailedCode.String())
	}
	// Output:
	// /config 2
	// /config/old-0000000000 1
	// failed at 0 OFFKV_EVERSION
}

func ExampleClient_Contend() {
	ctx := context.Background()
	a, _ := offkv.Open(ctx, "mem://example-election")
	b, _ := offkv.Open(ctx, "mem://example-election")
	defer b.Close()

	ea, _ := a.Contend(ctx, "/masters", []byte("10.0.0.1:5050"))
	ea.WaitLeader(ctx)
	eb, _ := b.Contend(ctx, "/masters", []byte("10.0.0.2:5050"))
	defer eb.Withdraw()

	det, _ := b.Detect(ctx, "/masters")
	defer det.Close()
	leader, _ := det.Wait(ctx, "") // wait for a first leader
	fmt.Printf("leader: %s\n", leader.Payload)

	a.Close() // a's session ends: b takes over
	eb.WaitLeader(ctx)
	ev := <-eb.Events()
	fmt.Println(ev.Type, "with sequence", ev.Member.Sequence)
	leader, _ = det.Wait(ctx, leader.Key)
	fmt.Printf("leader: %s\n", leader.Payload)
	// Output:
	// leader: 10.0.0.1:5050
	// LEADER with sequence 1
	// leader: 10.0.0.2:5050
}

func ExampleMutex() {
	ctx := context.Background()
	c, _ := offkv.Open(ctx, "mem://example-lock")
	defer c.Close()

	m, _ := c.NewMutex("/locks/db-migration")
	defer m.Close()
	if err := m.Acquire(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("held:", m.IsHeld())
	other, _ := c.NewMutex("/locks/db-migration")
	ok, _ := other.TryAcquire()
	fmt.Println("second handle got it:", ok)
	m.Release()
	// Output:
	// held: true
	// second handle got it: false
}

func ExampleGroup() {
	ctx := context.Background()
	c, _ := offkv.Open(ctx, "mem://example-group")
	defer c.Close()

	g, _ := c.OpenGroup(ctx, "/services/api")
	defer g.Close()
	g.Join(ctx, []byte("10.0.0.7:8080"))
	members, _ := g.Members(ctx)
	for _, m := range members {
		fmt.Printf("%s\n", m.Payload)
	}
	// Output:
	// 10.0.0.7:8080
}
