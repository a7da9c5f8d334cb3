# Shared by the server scripts (zookeeper.sh, etcd.sh, consul.sh); sourced, not run.

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# N distinct ports on 127.0.0.1, each free for TCP and UDP right now, chosen OUTSIDE
# the kernel's ephemeral range (net.ipv4.ip_local_port_range, default 32768-60999)
# when there is room (10000..65535 minus that range; the range itself only if fewer
# than 1000 ports are left). Prints them on one line.
#
# For servers that are stopped and started again on the same ports: free_port's port
# comes from the ephemeral range, and once its server stops the kernel hands it to
# the next socket that binds port 0 or connects — any process's, e.g. another Consul
# server's RPC connection (Consul binds their source to bind_addr:0 when bind_addr is
# not 0.0.0.0). The server then cannot start again until that socket and its
# TIME_WAIT are gone (docs/consul-notes.md, "A cluster member killed and started
# again"). No port 0 bind or connect gets a port outside that range. All N sockets
# stay bound until all are chosen, so the N ports differ (separate free_port calls
# can return the same port twice).
free_ports() {  # count
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
low, high = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
pool = [p for p in range(10000, 65536) if not low <= p <= high]
if len(pool) < 1000:
    pool = list(range(max(1024, low), high + 1))
random.shuffle(pool)
held, ports = [], []
for p in pool:
    if len(ports) == n:
        break
    socks = []
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            socks.append(s)
            s.bind(("127.0.0.1", p))  # no SO_REUSEADDR: a TIME_WAIT also counts as taken
    except OSError:
        for s in socks:
            s.close()
        continue
    held += socks
    ports.append(p)
if len(ports) < n:
    sys.exit("free_ports: only %d free ports found" % len(ports))
print(" ".join(map(str, ports)))
PY
}

# Stops the server whose pid is in DIR/pid: SIGNAL (default TERM), up to 10 s to exit,
# then SIGKILL.
kill_member() {  # member dir, [signal]
  local dir=$1 sig=${2:-TERM} pid i
  [[ -f $dir/pid ]] || return 0
  pid=$(cat "$dir/pid")
  kill -"$sig" "$pid" 2>/dev/null || true
  # A paused member (pause_member) acts on no signal but KILL until continued.
  kill -CONT "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # Only if it is still there: a pid that is gone may already name another process.
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$dir/pid"
}

# How a server this shell launched ended: "exit status N" or "killed by SIGNAME".
# Call only once its pid is gone (kill -0 fails).
how_it_ended() {  # pid
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  if ((rc == 127)); then
    echo "ended (not a child of this shell)"
  elif ((rc > 128)); then
    echo "killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    echo "exit status $rc"
  fi
}

# Sends SIGNAL to the member whose pid is in DIR/pid, at once, without waiting: KILL
# (a crash: no shutdown, DIR/pid removed once it is gone), STOP (paused: its sockets
# stay open and nothing answers, as in a long GC pause or a frozen VM) or CONT.
# Fails if the member is not running.
signal_member() {  # member dir, signal
  local dir=$1 sig=$2 pid i
  [[ -f $dir/pid ]] || { echo "no member running in $dir" >&2; return 1; }
  pid=$(cat "$dir/pid")
  kill -0 "$pid" 2>/dev/null || { echo "member in $dir (pid $pid) is not running" >&2; return 1; }
  kill -"$sig" "$pid"
  if [[ $sig == KILL || $sig == 9 ]]; then
    # Gone, or a zombie not yet reaped by whoever inherited it: dead either way.
    for ((i = 0; i < 100; i++)); do
      [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) =~ ^(Z|X|)$ ]] && break
      sleep 0.05
    done
    rm -f "$dir/pid"
  fi
}
