package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The partition case: an etcd cluster across two network namespaces that run.sh makes
// (and removes): members 1 and 2, the test and most workers in namespace A, member 3
// (and the workers that use only it) in namespace B, joined by a veth pair whose two
// ends carry addresses of the loopback range (127.77.0.1 in A, 127.77.0.2 in B,
// route_localnet on), so no packet can leave the two namespaces. The link is cut with
// blackhole routes on both sides (`ip route add blackhole`): a member's own address
// keeps working inside its namespace, every packet across is dropped.
//
// The members are started here rather than by etcd.sh: each needs its namespace's
// address, and the namespaces are private, so fixed ports cannot collide.

type partitionNet struct {
	nsB          string
	addrA, addrB string
	procs        [3]*exec.Cmd
}

func memberAddr(p *partitionNet, n int) (addr string, cport, pport int) {
	switch n {
	case 1:
		return p.addrA, 2379, 2380
	case 2:
		return p.addrA, 2479, 2480
	}
	return p.addrB, 2379, 2380
}

// startPartitionCluster starts the 3 etcd members in dir.
func startPartitionCluster(dir string, p *partitionNet) (*cluster, error) {
	_ = os.RemoveAll(dir)
	c := &cluster{backend: "etcd", dir: dir, part: p}
	var initial, hosts []string
	for n := 1; n <= 3; n++ {
		addr, cport, pport := memberAddr(p, n)
		initial = append(initial, fmt.Sprintf("m%d=http://%s:%d", n, addr, pport))
		hosts = append(hosts, fmt.Sprintf("%s:%d", addr, cport))
		c.member[n-1] = fmt.Sprintf("etcd://%s:%d", addr, cport)
	}
	c.url = "etcd://" + strings.Join(hosts, ",")
	token := fmt.Sprintf("offkv-partition-%d", os.Getpid())
	for n := 1; n <= 3; n++ {
		addr, cport, pport := memberAddr(p, n)
		mdir := filepath.Join(dir, fmt.Sprintf("m%d", n))
		if err := os.MkdirAll(filepath.Join(mdir, "data"), 0o700); err != nil {
			return nil, err
		}
		ep := fmt.Sprintf("http://%s:%d", addr, cport)
		if err := os.WriteFile(filepath.Join(mdir, "endpoint"), []byte(ep+"\n"), 0o644); err != nil {
			return nil, err
		}
		args := []string{"etcd", "--name", fmt.Sprintf("m%d", n), "--data-dir", filepath.Join(mdir, "data"),
			"--listen-client-urls", ep, "--advertise-client-urls", ep,
			"--listen-peer-urls", fmt.Sprintf("http://%s:%d", addr, pport),
			"--initial-advertise-peer-urls", fmt.Sprintf("http://%s:%d", addr, pport),
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", token, "--heartbeat-interval", "100", "--election-timeout", "1000",
			"--logger", "zap", "--log-level", "warn", "--log-outputs", "stderr"}
		if n == 3 {
			args = append([]string{"ip", "netns", "exec", p.nsB}, args...)
		}
		cmd := exec.Command(args[0], args[1:]...)
		logf, err := os.Create(filepath.Join(mdir, "server.log"))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			c.stop()
			return nil, err
		}
		p.procs[n-1] = cmd
	}
	if _, err := c.waitHealthy(60 * time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// etcdStatus is the maintenance Status of member n (through etcd's HTTP gateway):
// its own id and the leader's.
func (c *cluster) etcdStatus(n int) (id, leader string, err error) {
	var st struct {
		Header struct {
			MemberID string `json:"member_id"`
		}
		Leader string
	}
	if err := postJSON(c.file(n, "endpoint")+"/v3/maintenance/status", "{}", &st); err != nil {
		return "", "", err
	}
	return st.Header.MemberID, st.Leader, nil
}

// partitionLeader returns the member that leads by its own Status ("" if none says so).
func (c *cluster) partitionLeader() (int, error) {
	var last error
	for n := 1; n <= 3; n++ {
		id, leader, err := c.etcdStatus(n)
		if err != nil {
			last = err
			continue
		}
		if id == leader {
			return n, nil
		}
	}
	return 0, fmt.Errorf("no etcd member says it leads (%v)", last)
}

// moveLeader makes member n the leader (etcd's MoveLeader, asked of the leader).
func (c *cluster) moveLeader(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := c.partitionLeader()
		if err == nil && l == n {
			return nil
		}
		if err == nil {
			target, _, terr := c.etcdStatus(n)
			if terr == nil {
				var out struct{}
				_ = postJSON(c.file(l, "endpoint")+"/v3/maintenance/transfer-leadership",
					fmt.Sprintf(`{"targetID":%q}`, target), &out)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("member %d does not lead after %v (%v)", n, timeout, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// cut / heal the link between the namespaces: blackhole routes to the other side's
// address, on both sides (this process runs in namespace A).
func (c *cluster) cut(on bool) error {
	verb := "add"
	if !on {
		verb = "del"
	}
	p := c.part
	for _, args := range [][]string{
		{"route", verb, "blackhole", p.addrB + "/32"},
		{"-n", p.nsB, "route", verb, "blackhole", p.addrA + "/32"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func postJSON(url, body string, v interface{}) error {
	resp, err := httpClient.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *cluster) stopPartition() {
	for _, cmd := range c.part.procs {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	}
	_ = os.RemoveAll(c.dir)
}
