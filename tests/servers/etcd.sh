#!/usr/bin/env bash
# Starts and stops real etcd 3.4 servers (Debian packages etcd-server, etcd-client)
# for tests, on 127.0.0.1 with free client and peer ports, data under DIR. No systemd.
#
#   etcd.sh start DIR            one member, plain; writes DIR/url (etcd://127.0.0.1:PORT)
#   etcd.sh start-cluster DIR    3 members; DIR/url lists all three client ports
#   etcd.sh start-tls DIR        one member with TLS (self-signed CA made here with
#                                openssl, client certificates required) and auth on:
#                                writes DIR/url (etcds://...), DIR/ca.pem,
#                                DIR/client.pem, DIR/client-key.pem, DIR/other-ca.pem,
#                                user alice / password secret (read-write on offkv/),
#                                user bob / password bobpw (no permissions)
#   etcd.sh leader DIR           prints the number (1..3) of the cluster's leader
#   etcd.sh stop-member DIR N    stops member N (1..3)
#   etcd.sh start-member DIR N   starts member N again and waits until it is healthy
#   etcd.sh kill-member DIR N    SIGKILLs member N (a crash; start-member restarts it)
#   etcd.sh pause-member DIR N   SIGSTOPs member N (frozen: sockets open, no answers)
#   etcd.sh resume-member DIR N  SIGCONTs member N
#   etcd.sh stop DIR             stops everything started in DIR, removes DIR
#
# Environment: ETCD (default: etcd), ETCDCTL (default: etcdctl).
set -euo pipefail

ETCD=${ETCD:-etcd}
ETCDCTL=${ETCDCTL:-etcdctl}
WAIT_SECONDS=${ETCD_WAIT_SECONDS:-60}
TOKEN="offkv-test-$$-$RANDOM"  # one per cluster started by this call
export ETCDCTL_API=3

die() { echo "etcd.sh: $*" >&2; exit 1; }

# free_port, kill_member, signal_member
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# etcdctl against one member dir (TLS flags when the member uses TLS).
ctl() {  # member dir, etcdctl args...
  local dir=$1
  shift
  local args=(--endpoints "$(cat "$dir/endpoint")" --dial-timeout 2s --command-timeout 5s)
  if [[ -f $dir/../ca.pem && $(cat "$dir/endpoint") == https* ]]; then
    local top
    top=$(cd "$dir/.." && pwd)
    args+=(--cacert "$top/ca.pem" --cert "$top/client.pem" --key "$top/client-key.pem")
  fi
  "$ETCDCTL" "${args[@]}" "$@"
}

# Returns 3 if etcd ended while starting (its log is printed).
wait_healthy() {  # member dir
  local dir=$1 i
  for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
    if ctl "$dir" endpoint health >/dev/null 2>&1; then return 0; fi
    if [[ -f $dir/pid ]] && ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      tail -30 "$dir/server.log" >&2 || true
      echo "etcd.sh: etcd in $dir $(how_it_ended "$(cat "$dir/pid")") while starting" >&2
      rm -f "$dir/pid"
      return 3
    fi
    sleep 0.2
  done
  tail -30 "$dir/server.log" >&2 || true
  die "etcd in $dir did not become healthy within ${WAIT_SECONDS}s"
}

# Writes the member's command line to DIR/mN/cmd (relaunched by start-member).
configure_member() {  # member dir, name, client port, peer port, initial cluster, scheme, extra...
  local dir=$1 name=$2 cport=$3 pport=$4 cluster=$5 scheme=$6
  shift 6
  mkdir -p "$dir/data"
  chmod 700 "$dir/data"
  echo "$scheme://127.0.0.1:$cport" >"$dir/endpoint"
  # --max-request-bytes: a transaction of OFFKV_MAX_TXN_OPS values of
  # OFFKV_MAX_VALUE_SIZE is ~4 MiB, above etcd's 1.5 MiB default (docs/etcd-notes.md).
  local cmd=("$ETCD" --name "$name" --data-dir "$dir/data"
    --listen-client-urls "$scheme://127.0.0.1:$cport"
    --advertise-client-urls "$scheme://127.0.0.1:$cport"
    --listen-peer-urls "http://127.0.0.1:$pport"
    --initial-advertise-peer-urls "http://127.0.0.1:$pport"
    --initial-cluster "$cluster" --initial-cluster-state new
    --initial-cluster-token "$TOKEN"
    --max-request-bytes 10485760
    --heartbeat-interval 100 --election-timeout 1000
    --logger zap --log-level warn --log-outputs stderr
    "$@")
  printf '%q ' "${cmd[@]}" >"$dir/cmd"
}

launch() {  # member dir
  local dir=$1
  (cd "$dir" && eval "exec setsid $(cat "$dir/cmd")" >>"$dir/server.log" 2>&1 </dev/null) &
  echo $! >"$dir/pid"
}


make_certs() {  # dir
  local dir=$1
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3 -keyout ca-key.pem -out ca.pem \
      -subj "/CN=offkv test CA" 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 3 -keyout other-ca-key.pem \
      -out other-ca.pem -subj "/CN=offkv unrelated CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr \
      -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
      >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3 \
      -extfile server.ext -out server.pem 2>/dev/null
    # The client certificate's CN is no etcd user: access comes from the password.
    openssl req -newkey rsa:2048 -nodes -keyout client-key.pem -out client.csr \
      -subj "/CN=offkv-test-client" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3 \
      -extfile client.ext -out client.pem 2>/dev/null
    chmod 600 ./*-key.pem
  )
}

cmd=${1:-}
DIR=${2:-}
[[ -n $cmd && -n $DIR ]] || die "usage: $0 start|start-cluster|start-tls|leader|compact|stop-member|start-member|kill-member|pause-member|resume-member|stop DIR [N]"

case $cmd in
  start)
    [[ -d $DIR ]] && "$0" stop "$DIR"  # a leftover from an aborted run
    mkdir -p "$DIR/m1"
    DIR=$(cd "$DIR" && pwd)
    # An etcd that ends while starting (a port taken between free_port and its bind,
    # say) is started again on fresh ports, up to 3 times in all.
    for attempt in 1 2 3; do
      cport=$(free_port) pport=$(free_port)
      rm -rf "$DIR/m1/data"
      configure_member "$DIR/m1" m1 "$cport" "$pport" "m1=http://127.0.0.1:$pport" http
      launch "$DIR/m1"
      rc=0
      wait_healthy "$DIR/m1" || rc=$?
      ((rc == 0)) && break
      ((attempt < 3)) || die "etcd in $DIR/m1 ended while starting, 3 times"
      echo "etcd.sh: starting it again (attempt $((attempt + 1)) of 3)" >&2
    done
    echo "etcd://127.0.0.1:$cport" >"$DIR/url"
    echo "etcd.sh: etcd on 127.0.0.1:$cport (pid $(cat "$DIR/m1/pid"))"
    ;;
  start-cluster)
    [[ -d $DIR ]] && "$0" stop "$DIR"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    declare -a cports pports
    cluster="" hosts=""
    for n in 1 2 3; do
      cports[$n]=$(free_port)
      pports[$n]=$(free_port)
      cluster+="${cluster:+,}m$n=http://127.0.0.1:${pports[$n]}"
      hosts+="${hosts:+,}127.0.0.1:${cports[$n]}"
    done
    # Progress notifications every second (etcd's default: 10 minutes), so the
    # cluster tests see a watch's resume revision follow the store.
    for n in 1 2 3; do
      mkdir -p "$DIR/m$n"
      configure_member "$DIR/m$n" "m$n" "${cports[$n]}" "${pports[$n]}" "$cluster" http \
        --experimental-watch-progress-notify-interval 1s
    done
    for n in 1 2 3; do launch "$DIR/m$n"; done
    for n in 1 2 3; do wait_healthy "$DIR/m$n"; done
    echo "etcd://$hosts" >"$DIR/url"
    echo "etcd.sh: etcd cluster on $hosts"
    ;;
  start-tls)
    [[ -d $DIR ]] && "$0" stop "$DIR"
    mkdir -p "$DIR/m1"
    DIR=$(cd "$DIR" && pwd)
    make_certs "$DIR"
    cport=$(free_port) pport=$(free_port)
    configure_member "$DIR/m1" m1 "$cport" "$pport" "m1=http://127.0.0.1:$pport" https \
      --cert-file "$DIR/server.pem" --key-file "$DIR/server-key.pem" \
      --trusted-ca-file "$DIR/ca.pem" --client-cert-auth
    launch "$DIR/m1"
    wait_healthy "$DIR/m1"
    m=$DIR/m1
    ctl "$m" user add root:rootpw --interactive=false >/dev/null
    ctl "$m" user grant-role root root >/dev/null
    ctl "$m" user add alice:secret --interactive=false >/dev/null
    ctl "$m" user add bob:bobpw --interactive=false >/dev/null
    ctl "$m" role add offkv >/dev/null
    ctl "$m" role grant-permission offkv readwrite offkv/ --prefix=true >/dev/null
    ctl "$m" user grant-role alice offkv >/dev/null
    ctl "$m" auth enable >/dev/null
    echo "etcds://127.0.0.1:$cport" >"$DIR/url"
    echo "etcd.sh: etcd with TLS and auth on 127.0.0.1:$cport (pid $(cat "$m/pid"))"
    ;;
  leader)
    for n in 1 2 3; do
      [[ -f $DIR/m$n/pid ]] || continue
      if ctl "$DIR/m$n" endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
sys.exit(0 if s["header"]["member_id"] == s["leader"] else 1)'; then
        echo "$n"
        exit 0
      fi
    done
    die "no leader found in $DIR"
    ;;
  compact)  # compacts the store at its current revision through member N (default 1)
    n=${3:-1}
    rev=$(ctl "$DIR/m$n" endpoint status -w json | python3 -c '
import json, sys
print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
    ctl "$DIR/m$n" compact "$rev" --physical >/dev/null
    echo "$rev"
    ;;
  stop-member)
    n=${3:?member number}
    kill_member "$DIR/m$n"
    ;;
  start-member)
    n=${3:?member number}
    launch "$DIR/m$n"
    wait_healthy "$DIR/m$n"
    ;;
  kill-member)
    signal_member "$DIR/m${3:?member number}" KILL
    ;;
  pause-member)
    signal_member "$DIR/m${3:?member number}" STOP
    ;;
  resume-member)
    signal_member "$DIR/m${3:?member number}" CONT
    ;;
  stop)
    [[ -d $DIR ]] || exit 0
    for d in "$DIR"/m1 "$DIR"/m2 "$DIR"/m3; do
      [[ -d $d ]] && kill_member "$d"
    done
    rm -rf "$DIR"
    ;;
  *) die "unknown command $cmd" ;;
esac
