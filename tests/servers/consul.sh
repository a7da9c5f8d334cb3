#!/usr/bin/env bash
# Starts and stops real Consul agents (built from the Go module proxy by
# consul-build.sh) for tests, on 127.0.0.1 with free ports, data under DIR.
#
#   consul.sh start DIR              one dev-mode server; writes DIR/url (consul://127.0.0.1:PORT)
#   consul.sh start-cluster DIR      3 servers (bootstrap_expect 3); DIR/url = member 1,
#                                    DIR/mN/url = member N; waits until all three are
#                                    voters and the cluster survives the loss of one
#   consul.sh start-tls DIR          one server with HTTPS only (self-signed CA made
#                                    here with openssl) and ACLs (default deny); writes
#                                    DIR/url = consuls://127.0.0.1:PORT?tls_ca_file=…&token=…
#                                    (a token allowed key and session writes), and
#                                    DIR/ca.pem, DIR/token, DIR/read-token (keys read
#                                    only), DIR/management-token, DIR/port
#   consul.sh leader DIR             prints the member number (1..3) of the cluster's leader
#   consul.sh stop-member DIR N      kills member N (SIGKILL: a crash, not a leave)
#   consul.sh start-member DIR N     starts member N again (same ports, same data), waits
#                                    until it is a voter again (three voters: the loss
#                                    of one member leaves a quorum): a member down for
#                                    more than ~5-15 s was removed from the raft
#                                    configuration and comes back as a non-voter for
#                                    ~10 s (docs/consul-notes.md)
#   consul.sh kill-member DIR N      the same as stop-member
#   consul.sh pause-member DIR N     SIGSTOPs member N (frozen: sockets open, no answers)
#   consul.sh resume-member DIR N    SIGCONTs member N
#   consul.sh stop DIR               stops everything started in DIR, removes DIR
#
# Ports: free_ports (lib.sh), outside the kernel's ephemeral port range, so that the
# ports of a stopped member cannot be taken meanwhile by another socket (Consul's own
# RPC connections bind their source port to 127.0.0.1:0).
#
# Environment: CONSUL (a consul binary; default: built by consul-build.sh),
# CONSUL_WAIT_SECONDS (default 90).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WAIT_SECONDS=${CONSUL_WAIT_SECONDS:-90}

die() { echo "consul.sh: $*" >&2; exit 1; }

consul_bin() {
  if [[ -n ${CONSUL:-} ]]; then echo "$CONSUL"; else "$HERE/consul-build.sh"; fi
}

# free_ports, kill_member, signal_member, how_it_ended
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Prints the HTTP body of GET url (curl), or fails. Extra curl options may follow.
http_get() {
  local url=$1
  shift
  curl -fsS --max-time 5 "$@" "$url"
}

# write_config MEMBER_DIR NAME HTTP SERF_LAN SERF_WAN SERVER [extra HCL on stdin]
write_config() {
  local dir=$1 name=$2 http=$3 serf_lan=$4 serf_wan=$5 server=$6
  mkdir -p "$dir"
  echo "$http" >"$dir/http_port"
  echo "$serf_lan" >"$dir/serf_port"
  echo "$serf_wan" >"$dir/serf_wan_port"
  echo "$server" >"$dir/server_port"
  {
    cat <<HCL
node_name = "$name"
bind_addr = "127.0.0.1"
client_addr = "127.0.0.1"
advertise_addr = "127.0.0.1"
disable_update_check = true
log_level = "warn"
ui_config { enabled = false }
connect { enabled = false }
performance { raft_multiplier = 1 }
# offkv: session timeouts of 2 s and up (a session TTL is half the timeout).
session_ttl_min = "1s"
# offkv: a transaction of OFFKV_MAX_TXN_OPS values of OFFKV_MAX_VALUE_SIZE, base64
# in JSON, is ~5.6 MB; Consul's default limit is 512 KB (docs/consul-notes.md).
limits {
  txn_max_req_len = 16777216
  http_max_conns_per_client = 4096
}
ports {
  http = $http
  https = -1
  dns = -1
  grpc = -1
  grpc_tls = -1
  serf_lan = $serf_lan
  serf_wan = $serf_wan
  server = $server
}
HCL
    cat
  } >"$dir/agent.hcl"
}

launch() {  # member dir, agent args...
  local dir=$1 bin
  shift
  bin=$(consul_bin)
  # Consul 1.16.1 refuses to start (after logging "startup error" for a minute) when
  # DATA/server_metadata.json does not parse. It rewrites that file on every start
  # with O_TRUNC and then one write (persistServerMetadata, agent/agent.go), in a
  # goroutine started before the server binds its ports, so an agent that ends right
  # after it started (a bind error, SIGKILL) can leave it empty, and then every later
  # start of that member fails. The file only feeds the server_rejoin_age_max check,
  # and a missing file is a first start: an empty one is removed.
  if [[ -f $dir/data/server_metadata.json && ! -s $dir/data/server_metadata.json ]]; then
    echo "consul.sh: removing the empty $dir/data/server_metadata.json (Consul left it so)" >&2
    rm -f "$dir/data/server_metadata.json"
  fi
  touch "$dir/agent.log"
  stat -c %s "$dir/agent.log" >"$dir/log_offset"  # where this launch's log starts
  (cd "$dir" && exec setsid "$bin" agent "$@" -config-file="$dir/agent.hcl" \
    >>"$dir/agent.log" 2>&1 </dev/null) &
  echo $! >"$dir/pid"
}

# The member's ports, one per line.
member_ports() {  # member dir
  cat "$1/http_port" "$1/serf_port" "$1/serf_wan_port" "$1/server_port" 2>/dev/null
}

# Prints every socket on the member's ports (TCP and UDP, with the owning process
# where ss can tell), for the report of an agent that could not start.
port_holders() {  # member dir
  command -v ss >/dev/null || { echo "(no ss: cannot list the sockets)"; return 0; }
  local p
  for p in $(member_ports "$1"); do
    echo "port $p:"
    ss -Htuanp "( sport = :$p )" 2>/dev/null | sed 's/^/  /'
  done
}

# agent_state MEMBER_DIR SCHEME [curl options…]: 0 if the agent answers and knows a
# leader, 1 if not yet, 3 if it ended (its log and how it ended are printed).
agent_state() {
  local dir=$1 scheme=$2 leader pid
  shift 2
  pid=$(cat "$dir/pid")
  leader=$(http_get "$scheme://127.0.0.1:$(cat "$dir/http_port")/v1/status/leader" "$@" \
    2>/dev/null || true)
  [[ $leader == \"*:*\" ]] && return 0
  kill -0 "$pid" 2>/dev/null && return 1
  {
    echo "consul.sh: agent in $dir $(how_it_ended "$pid") while starting; its log:"
    tail -c +"$(($(cat "$dir/log_offset" 2>/dev/null || echo 0) + 1))" "$dir/agent.log" || true
    echo "consul.sh: sockets on its ports now:"
    port_holders "$dir"
  } >&2
  rm -f "$dir/pid"
  return 3
}

# wait_leader MEMBER_DIR SCHEME [curl options…]: until the agent answers and knows a
# leader. Returns 3 if the agent ended while starting; gives up after WAIT_SECONDS.
wait_leader() {
  local dir=$1 scheme=$2 i rc
  shift 2
  for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
    rc=0
    agent_state "$dir" "$scheme" "$@" || rc=$?
    ((rc == 1)) || return "$rc"
    sleep 0.2
  done
  tail -c +"$(($(cat "$dir/log_offset" 2>/dev/null || echo 0) + 1))" "$dir/agent.log" |
    tail -30 >&2 || true
  die "agent on port $(cat "$dir/http_port") found no leader within ${WAIT_SECONDS}s"
}

# wait_voters MEMBER_DIR [NAME]: until the raft configuration (asked through the
# member; the leader answers) has three voters, NAME among them, and a leader: then the
# loss of any one member leaves a quorum. Knowing a leader is not enough: a server
# that was down long enough to be removed from the raft configuration (autopilot's
# cleanup_dead_servers, ~5-15 s after a kill) rejoins as a non-voter and is promoted
# only after server_stabilization_time (10 s); until then the cluster has two voters
# and the loss of either stops all writes until a member returns. Not autopilot's
# /v1/operator/autopilot/health: it is recomputed every 2 s from cached inputs and once
# reported the restarted server a healthy voter (failure tolerance 1) while the raft
# configuration still had it as a non-voter. Returns 3 if the agent ended.
wait_voters() {
  local dir=$1 name=${2:-} i conf
  for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
    conf=$(http_get "http://127.0.0.1:$(cat "$dir/http_port")/v1/operator/raft/configuration" \
      2>/dev/null || true)
    if [[ -n $conf ]] && python3 -c '
import json, sys
servers, name = json.loads(sys.argv[1]).get("Servers") or [], sys.argv[2]
ok = (len(servers) == 3 and all(s["Voter"] for s in servers)
      and any(s["Leader"] for s in servers)
      and (not name or any(s["Node"] == name for s in servers)))
sys.exit(0 if ok else 1)' "$conf" "$name" 2>/dev/null; then
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { agent_state "$dir" http; return 3; }
    sleep 0.5
  done
  echo "consul.sh: raft configuration: $conf" >&2
  die "the cluster of $dir is not back to three voters within ${WAIT_SECONDS}s"
}

# Launches a single agent and waits for a leader. An agent that ends while starting is
# tried again with fresh ports (CONFIGURE, a function, writes its agent.hcl again), up
# to 3 times in all: between free_ports and the agent's bind another process may take
# a port (the script cannot hand Consul a bound socket).
launch_and_wait() {  # member dir, configure, scheme, curl options… -- agent args…
  local dir=$1 configure=$2 scheme=$3 attempt rc
  shift 3
  local curl_opts=()
  while [[ $# -gt 0 && $1 != -- ]]; do curl_opts+=("$1"); shift; done
  shift  # --
  for attempt in 1 2 3; do
    if ((attempt > 1)); then "$configure"; fi
    launch "$dir" "$@"
    rc=0
    wait_leader "$dir" "$scheme" "${curl_opts[@]}" || rc=$?
    ((rc == 0)) && return 0
    echo "consul.sh: starting the agent in $dir again (attempt $((attempt + 1)) of 3)" >&2
  done
  die "agent in $dir ended while starting, 3 times"
}

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] ||
  die "usage: $0 start|start-cluster|start-tls|leader|stop-member|start-member|kill-member|pause-member|resume-member|stop DIR [N]"
# Absolute: launch runs the agent from its member directory.
[[ -d $DIR ]] && DIR=$(cd "$DIR" && pwd)

case $cmd in
  start)
    [[ -e $DIR/pid ]] && kill_member "$DIR"  # a leftover from an aborted run
    rm -rf "$DIR"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    consul_bin >/dev/null  # build first (may take minutes), outside the wait below
    dev_config() {
      local ports
      ports=$(free_ports 4) || die "no free ports"
      # shellcheck disable=SC2086  # four ports
      write_config "$DIR" offkv-dev $ports </dev/null
    }
    dev_config
    launch_and_wait "$DIR" dev_config http -- -dev
    echo "consul://127.0.0.1:$(cat "$DIR/http_port")" >"$DIR/url"
    echo "consul.sh: dev-mode Consul on 127.0.0.1:$(cat "$DIR/http_port") (pid $(cat "$DIR/pid"))"
    ;;
  start-cluster)
    rm -rf "$DIR"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    consul_bin >/dev/null
    # All twelve ports at once, so that they differ.
    ports=$(free_ports 12) || die "no free ports"
    read -ra ports <<<"$ports"
    for n in 1 2 3; do
      write_config "$DIR/m$n" "offkv-server-$n" "${ports[@]:$(((n - 1) * 4)):4}" </dev/null
    done
    joins=""
    for n in 1 2 3; do joins+="${joins:+, }\"127.0.0.1:$(cat "$DIR/m$n/serf_port")\""; done
    for n in 1 2 3; do
      cat >>"$DIR/m$n/agent.hcl" <<HCL
server = true
bootstrap_expect = 3
data_dir = "$DIR/m$n/data"
retry_join = [$joins]
retry_interval = "1s"
leave_on_terminate = false
HCL
      echo "consul://127.0.0.1:$(cat "$DIR/m$n/http_port")" >"$DIR/m$n/url"
    done
    for n in 1 2 3; do launch "$DIR/m$n"; done
    # Until all three know a leader. A member that ends is reported (how, its log, the
    # sockets on its ports) and the start fails: its ports are the others' retry_join
    # and raft addresses, so it cannot move, and no cause is left that a retry on the
    # same ports would get past (docs/consul-notes.md, "A cluster member killed").
    for ((i = 0; ; i++)); do
      ready=0
      for n in 1 2 3; do
        rc=0
        agent_state "$DIR/m$n" http || rc=$?
        if ((rc == 0)); then
          ready=$((ready + 1))
        elif ((rc == 3)); then
          die "member $n ended while starting"
        fi
      done
      ((ready == 3)) && break
      ((i < WAIT_SECONDS * 5)) || die "the cluster in $DIR found no leader within ${WAIT_SECONDS}s"
      sleep 0.2
    done
    wait_voters "$DIR/m1" || die "member 1 ended while the cluster settled"
    cp "$DIR/m1/url" "$DIR/url"
    echo "consul.sh: 3-server Consul cluster, HTTP ports" \
      "$(cat "$DIR/m1/http_port") $(cat "$DIR/m2/http_port") $(cat "$DIR/m3/http_port")"
    ;;
  start-tls)
    rm -rf "$DIR"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    consul_bin >/dev/null
    # A self-signed CA and a server certificate for 127.0.0.1 / localhost.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=offkv test CA" \
      -keyout "$DIR/ca-key.pem" -out "$DIR/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=server.dc1.consul" \
      -keyout "$DIR/server-key.pem" -out "$DIR/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:server.dc1.consul\n' >"$DIR/san.ext"
    openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca-key.pem" \
      -CAcreateserial -days 2 -extfile "$DIR/san.ext" -out "$DIR/server.pem" 2>/dev/null
    management=$(uuid)
    echo "$management" >"$DIR/management-token"
    tls_config() {
      local ports
      ports=$(free_ports 4) || die "no free ports"
      # shellcheck disable=SC2086  # four ports
      write_config "$DIR" offkv-tls $ports </dev/null
      https=$(cat "$DIR/http_port")
      # The HTTP port becomes the HTTPS one: plain HTTP is off.
      sed -i -e "s/^  http = $https\$/  http = -1/" -e "s/^  https = -1\$/  https = $https/" \
        "$DIR/agent.hcl"
      cat >>"$DIR/agent.hcl" <<HCL
tls {
  defaults {
    ca_file = "$DIR/ca.pem"
    cert_file = "$DIR/server.pem"
    key_file = "$DIR/server-key.pem"
    verify_incoming = false
    verify_outgoing = false
  }
  https { verify_incoming = false }
}
acl {
  enabled = true
  default_policy = "deny"
  down_policy = "deny"
  enable_token_persistence = false
  tokens {
    initial_management = "$management"
    agent = "$management"
  }
}
HCL
    }
    tls_config
    launch_and_wait "$DIR" tls_config https --cacert "$DIR/ca.pem" \
      -H "X-Consul-Token: $management" -- -dev
    https=$(cat "$DIR/http_port")
    base="https://127.0.0.1:$https"
    auth=(--cacert "$DIR/ca.pem" -H "X-Consul-Token: $management")
    # The ACL system may still be initialising right after the election.
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
      if curl -fsS --max-time 5 "${auth[@]}" -X PUT --data-binary \
        '{"Name":"offkv-test","Rules":"key_prefix \"\" { policy = \"write\" }\nsession_prefix \"\" { policy = \"write\" }"}' \
        "$base/v1/acl/policy" >"$DIR/policy.json" 2>"$DIR/policy.err"; then
        break
      fi
      sleep 0.2
    done
    [[ -s $DIR/policy.json ]] || die "cannot create the ACL policy: $(cat "$DIR/policy.err")"
    token=$(uuid)
    curl -fsS --max-time 5 "${auth[@]}" -X PUT --data-binary \
      "{\"SecretID\":\"$token\",\"Description\":\"offkv tests\",\"Policies\":[{\"Name\":\"offkv-test\"}]}" \
      "$base/v1/acl/token" >"$DIR/token.json" || die "cannot create the ACL token"
    echo "$token" >"$DIR/token"
    # A second token that may read keys (and keep a session) but not write them.
    curl -fsS --max-time 5 "${auth[@]}" -X PUT --data-binary \
      '{"Name":"offkv-read","Rules":"key_prefix \"\" { policy = \"read\" }\nsession_prefix \"\" { policy = \"write\" }"}' \
      "$base/v1/acl/policy" >/dev/null || die "cannot create the read-only ACL policy"
    read_token=$(uuid)
    curl -fsS --max-time 5 "${auth[@]}" -X PUT --data-binary \
      "{\"SecretID\":\"$read_token\",\"Description\":\"offkv tests, read only\",\"Policies\":[{\"Name\":\"offkv-read\"}]}" \
      "$base/v1/acl/token" >/dev/null || die "cannot create the read-only ACL token"
    echo "$read_token" >"$DIR/read-token"
    echo "$https" >"$DIR/port"
    echo "consuls://127.0.0.1:$https?tls_ca_file=$DIR/ca.pem&token=$token" >"$DIR/url"
    echo "consul.sh: Consul with TLS and ACLs on 127.0.0.1:$https (pid $(cat "$DIR/pid"))"
    ;;
  leader)
    for n in 1 2 3; do
      [[ -f $DIR/m$n/pid ]] || continue
      leader=$(http_get "http://127.0.0.1:$(cat "$DIR/m$n/http_port")/v1/status/leader" \
        2>/dev/null || true)
      [[ $leader == \"*:*\" ]] || continue
      port=${leader##*:}
      port=${port%\"}
      for m in 1 2 3; do
        if [[ $(cat "$DIR/m$m/server_port") == "$port" ]]; then
          echo "$m"
          exit 0
        fi
      done
    done
    die "no member of $DIR knows a leader"
    ;;
  stop-member | kill-member)
    n=${3:?member number}
    kill_member "$DIR/m$n" KILL
    ;;
  pause-member)
    signal_member "$DIR/m${3:?member number}" STOP
    ;;
  resume-member)
    signal_member "$DIR/m${3:?member number}" CONT
    ;;
  start-member)
    n=${3:?member number}
    if [[ -f $DIR/m$n/pid ]] && kill -0 "$(cat "$DIR/m$n/pid")" 2>/dev/null; then
      die "member $n of $DIR is running (pid $(cat "$DIR/m$n/pid"))"
    fi
    # Once, on its own ports: they lie outside the ephemeral range (free_ports), so
    # nothing took them while it was down; an agent that ends anyway is reported (how,
    # its log, who holds its ports) rather than started again.
    launch "$DIR/m$n"
    wait_leader "$DIR/m$n" http || die "member $n ended while starting"
    wait_voters "$DIR/m$n" "offkv-server-$n" || die "member $n ended while rejoining"
    ;;
  stop)
    [[ -d $DIR ]] || exit 0
    for d in "$DIR" "$DIR"/m1 "$DIR"/m2 "$DIR"/m3; do
      [[ -d $d ]] && kill_member "$d"
    done
    rm -rf "$DIR"
    ;;
  *) die "unknown command $cmd" ;;
esac
