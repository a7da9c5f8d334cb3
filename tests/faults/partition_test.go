package faults

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// partitionFor is how long the leader member stays cut off: past the session timeout,
// so that the sessions on its side run out on the majority's side.
const partitionFor = 10 * time.Second

// TestPartition: the etcd cluster across two network namespaces (partition.go), run
// by `run.sh partition` inside namespace A. Member 3 is made the leader and cut off,
// twice, with a contender and a client on its side that can only reach it.
func TestPartition(t *testing.T) {
	nsB := os.Getenv("FAULTS_NS_B")
	if nsB == "" {
		t.Fatal("FAULTS_NS_B is not set: the partition case runs through tests/faults/run.sh partition; a run without it must not pass as skipped")
	}
	work := os.Getenv("FAULTS_WORK")
	s := &suite{t: t, procs: map[string]*proc{}, nextID: map[string]int{}, t0: now(),
		hist: filepath.Join(work, "history-partition")}
	_ = os.RemoveAll(s.hist)
	if err := os.MkdirAll(s.hist, 0o755); err != nil {
		t.Fatal(err)
	}
	s.cl = &cluster{backend: "etcd", name: "etcd-partition"}
	net := &partitionNet{nsB: nsB, addrA: os.Getenv("FAULTS_ADDR_A"), addrB: os.Getenv("FAULTS_ADDR_B")}
	s.say("starting etcd members 1, 2 on %s (namespace A), 3 on %s (namespace %s)", net.addrA, net.addrB, nsB)
	cl, err := startPartitionCluster(filepath.Join(work, "cluster-partition"), net)
	if err != nil {
		t.Fatal(err)
	}
	cl.name = "etcd-partition"
	s.cl = cl
	defer cl.stop()
	defer s.killAll()
	s.say("cluster up: %s", cl.url)
	var errMon error
	if s.mon, errMon = openMonitor([]string{cl.url}, sessionTimeout); errMon != nil {
		t.Fatal(errMon)
	}
	defer s.mon.close()
	s.setupKeys()
	s.mon.startProbes()

	// The contender on member 3's side first, so that it is the one that leads.
	s.spawnAt("contender", cl.member[2], nsB)
	if _, err := s.waitLeader("", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	s.spawn("contender")
	s.spawn("contender")
	s.spawn("client")
	s.spawn("client")
	s.spawnAt("client", cl.member[2], nsB)
	s.t0 = now()
	s.say("workload started: clients 1, 2 and contenders 2, 3 in namespace A (all members); " +
		"contender1 and client3 in namespace B (member 3 only)")

	for i := 0; i < 2; i++ {
		s.partitionLeader()
	}
	s.sleep(4 * time.Second)
	end := now()
	s.say("stopping the workers")
	s.stopAll()
	s.check(end)
}

func (s *suite) partitionLeader() {
	if err := s.cl.moveLeader(3, 20*time.Second); err != nil {
		s.problem("making member 3 the leader: %v", err)
		return
	}
	what := "partition of leader member 3 (namespace B) from members 1, 2"
	tf := now()
	if err := s.cl.cut(true); err != nil {
		s.problem("%v", err)
		return
	}
	s.say("FAULT %s; healed in %v", what, partitionFor)
	s.sleep(partitionFor)
	healed := time.Now()
	if err := s.cl.cut(false); err != nil {
		s.problem("%v", err)
		return
	}
	s.say("link restored")
	s.recovered(what, tf, healed)
}
