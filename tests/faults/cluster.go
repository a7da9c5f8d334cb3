package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cluster is a 3-member cluster started and controlled through the project's server
// scripts (tests/servers/{zookeeper,etcd,consul}.sh): start-ensemble/start-cluster,
// leader, kill-member, pause-member, resume-member, start-member, stop.
type cluster struct {
	backend string // zk, etcd, consul: what healthy() and the scripts go by
	name    string // what the output calls it, if not backend (etcd-partition)
	script  string
	dir     string
	url     string        // what ZooKeeper and etcd clients use: all three members
	member  [3]string     // the URL of each member alone (Consul clients use one agent)
	part    *partitionNet // the partition case: members started by the test, no script
	// why healthy() last said no (etcd)
	unhealthy string
}

func scriptName(backend string) string {
	if backend == "zk" {
		return "zookeeper.sh"
	}
	return backend + ".sh"
}

// startCluster starts a fresh cluster in dir (removed first).
func startCluster(backend, serversDir, dir string) (*cluster, error) {
	c := &cluster{backend: backend, script: filepath.Join(serversDir, scriptName(backend)), dir: dir}
	_ = os.RemoveAll(dir)
	start := "start-cluster"
	if backend == "zk" {
		start = "start-ensemble"
	}
	if out, err := c.sh(3*time.Minute, start); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s", c.script, start, err, out)
	}
	url, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		return nil, err
	}
	c.url = strings.TrimSpace(string(url))
	for n := 1; n <= 3; n++ {
		switch backend {
		case "zk":
			c.member[n-1] = "zk://127.0.0.1:" + c.file(n, "port")
		case "etcd":
			c.member[n-1] = "etcd://" + strings.TrimPrefix(c.file(n, "endpoint"), "http://")
		case "consul":
			c.member[n-1] = c.file(n, "url")
		}
	}
	if backend == "consul" {
		c.url = c.member[0]
	}
	return c, nil
}

func (c *cluster) file(n int, name string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("m%d", n), name))
	return strings.TrimSpace(string(b))
}

// sh runs the backend's script with a command, the cluster dir and args.
func (c *cluster) sh(timeout time.Duration, cmd string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", append([]string{c.script, cmd, c.dir}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (c *cluster) memberCmd(cmd string, n int, timeout time.Duration) error {
	out, err := c.sh(timeout, cmd, strconv.Itoa(n))
	if err != nil {
		return fmt.Errorf("%s %s %d: %v: %s", scriptName(c.backend), cmd, n, err, out)
	}
	return nil
}

// leader asks the script which member leads (ZooKeeper: srvr's Mode; etcd: endpoint
// status; Consul: /v1/status/leader), retrying while an election runs.
func (c *cluster) leader(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for c.part != nil {
		n, err := c.partitionLeader()
		if err == nil {
			return n, nil
		}
		if time.Now().After(deadline) {
			return 0, err
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		out, err := c.sh(20*time.Second, "leader")
		if err == nil {
			if n, perr := strconv.Atoi(out); perr == nil && n >= 1 && n <= 3 {
				return n, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no leader within %v: %v %s", timeout, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *cluster) label() string {
	if c.name != "" {
		return c.name
	}
	return c.backend
}

// healthy: every member up and answering, and a leader (Consul: three voters).
// c.unhealthy says why not, for this call only.
func (c *cluster) healthy() bool {
	c.unhealthy = ""
	switch c.backend {
	case "zk":
		leaders := 0
		for n := 1; n <= 3; n++ {
			mode := zkMode(c.file(n, "port"))
			if mode != "leader" && mode != "follower" {
				return false
			}
			if mode == "leader" {
				leaders++
			}
		}
		return leaders == 1
	case "etcd":
		if c.part != nil {
			// Every member answers Status (no raft round trip: it says what the
			// member knows) and names the same leader, so member 3 has rejoined.
			var leader string
			for n := 1; n <= 3; n++ {
				_, l, err := c.etcdStatus(n)
				if err != nil || l == "" || l == "0" || (leader != "" && l != leader) {
					c.unhealthy = fmt.Sprintf("member %d: leader %q, %v", n, l, err)
					return false
				}
				leader = l
			}
			return true
		}
		for n := 1; n <= 3; n++ {
			var h struct{ Health string }
			if err := getJSON(c.file(n, "endpoint")+"/health", &h); err != nil || h.Health != "true" {
				c.unhealthy = fmt.Sprintf("member %d: health %q, %v", n, h.Health, err)
				return false
			}
		}
		return true
	case "consul":
		for n := 1; n <= 3; n++ {
			var leader string
			if getJSON(c.httpBase(n)+"/v1/status/leader", &leader) != nil || leader == "" {
				return false
			}
		}
		var conf struct {
			Servers []struct{ Voter, Leader bool }
		}
		if getJSON(c.httpBase(1)+"/v1/operator/raft/configuration", &conf) != nil || len(conf.Servers) != 3 {
			return false
		}
		leaders := 0
		for _, s := range conf.Servers {
			if !s.Voter {
				return false
			}
			if s.Leader {
				leaders++
			}
		}
		return leaders == 1
	}
	// A backend name this switch does not know must not read as "not healthy yet":
	// the partition case once relabelled its cluster "etcd-partition" and then waited
	// 90 s on a check that made no request at all (README.md, "Network partitions").
	c.unhealthy = fmt.Sprintf("no health check for backend %q", c.backend)
	return false
}

func (c *cluster) httpBase(n int) string { return "http://127.0.0.1:" + c.file(n, "http_port") }

// waitHealthy waits until healthy() and returns how long that took.
func (c *cluster) waitHealthy(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for !c.healthy() {
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("the %s cluster is not healthy after %v: %s", c.label(), timeout, c.unhealthy)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), nil
}

// stop kills every member (quick: no graceful shutdown to wait for) and removes dir.
func (c *cluster) stop() {
	if c.part != nil {
		c.stopPartition()
		return
	}
	for n := 1; n <= 3; n++ {
		_, _ = c.sh(20*time.Second, "kill-member", strconv.Itoa(n))
	}
	_, _ = c.sh(time.Minute, "stop")
}

// zkMode asks a ZooKeeper server `srvr` and returns its Mode ("" if no answer).
func zkMode(port string) string {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
	if err != nil {
		return ""
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, "srvr"); err != nil {
		return ""
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return m
		}
	}
	return ""
}

var httpClient = &http.Client{Timeout: time.Second}

func getJSON(url string, v interface{}) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
