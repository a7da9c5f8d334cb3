#!/usr/bin/env bash
# The benchmark of offkv against the native clients, in one command (bench/README.md):
# builds the C++ benchmark, starts ZooKeeper, etcd and Consul on 127.0.0.1 with the
# test scripts, runs bench/native (C API vs ZooKeeper C client, raw etcd gRPC stubs,
# raw libcurl), then bench/python/run.sh and bench/go/run.sh when they exist, with
#   --zk URL --etcd URL --consul URL [--quick]
# and stops the servers at exit.
#
#   bench/run.sh [--quick] [--build-dir DIR] [--no-python] [--no-go]
#
# --quick: tiny counts, for a CI smoke (figures not meaningful).
# The build directory defaults to build-bench/ at the top of the repository; the
# Markdown tables go to DIR/results.md. JOBS (default 2) sets the build's parallelism.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build-bench
QUICK=()
RUN_PYTHON=1
RUN_GO=1
while (($#)); do
  case $1 in
    --quick) QUICK=(--quick) ;;
    --build-dir) BUILD=$(realpath -m "$2"); shift ;;
    --no-python) RUN_PYTHON=0 ;;
    --no-go) RUN_GO=0 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

started=$(date +%s)
say() { printf '\n== %s\n' "$*"; }

# ---- build ----
say "building offkv_bench in $BUILD"
configure=(-S "$ROOT" -B "$BUILD" -DOFFKV_BUILD_BENCH=ON -DOFFKV_WITH_ZK=ON
  -DOFFKV_WITH_ETCD=ON -DOFFKV_WITH_CONSUL=ON)
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  configure+=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOFFKV_BUILD_TESTS=OFF
    -DOFFKV_BUILD_TOOLS=OFF)
  if command -v ccache >/dev/null; then
    configure+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
fi
mkdir -p "$BUILD"
cmake "${configure[@]}" >"$BUILD/bench-configure.log" 2>&1 ||
  { cat "$BUILD/bench-configure.log" >&2; exit 1; }
cmake --build "$BUILD" -j "${JOBS:-2}" --target offkv_bench

# ---- servers ----
SERVERS=$(mktemp -d "${TMPDIR:-/tmp}/offkv-bench.XXXXXX")
stop_servers() {
  for s in zookeeper etcd consul; do
    [[ -d $SERVERS/$s ]] && bash "$ROOT/tests/servers/$s.sh" stop "$SERVERS/$s" >/dev/null 2>&1 || true
  done
  rm -rf "$SERVERS"
}
trap stop_servers EXIT
say "starting ZooKeeper, etcd and Consul under $SERVERS"
pids=()
for s in zookeeper etcd consul; do
  bash "$ROOT/tests/servers/$s.sh" start "$SERVERS/$s" >"$SERVERS/$s.log" 2>&1 &
  pids+=($!)
done
i=0
for s in zookeeper etcd consul; do
  if ! wait "${pids[$i]}"; then
    cat "$SERVERS/$s.log" >&2
    echo "bench/run.sh: $s did not start" >&2
    exit 1
  fi
  i=$((i + 1))
done
ZK=$(cat "$SERVERS/zookeeper/url")
ETCD=$(cat "$SERVERS/etcd/url")
CONSUL=$(cat "$SERVERS/consul/url")
echo "zk: $ZK  etcd: $ETCD  consul: $CONSUL"

# Server versions, for the report's header.
zk_version() {
  local port=${ZK##*:}
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 0
  printf 'srvr' >&3
  timeout 2 cat <&3 | sed -n 's/^Zookeeper version: \([^-,]*\).*/\1/p'
  exec 3<&- 3>&-
}
etcd_version() {
  curl -s "http://${ETCD#etcd://}/version" | sed -n 's/.*"etcdserver":"\([^"]*\)".*/\1/p'
}
consul_version() {
  curl -s "http://${CONSUL#consul://}/v1/agent/self" |
    sed -n 's/.*"Version": *"\([^"]*\)".*/\1/p' | head -1
}
VERSIONS="ZooKeeper $(zk_version || true), etcd $(etcd_version || true), Consul $(consul_version || true)"

status=0
# ---- C/C++ ----
say "C API vs native clients (bench/native)"
"$BUILD/bench/offkv_bench" --zk "$ZK" --etcd "$ETCD" --consul "$CONSUL" \
  --versions "$VERSIONS" --markdown "$BUILD/results.md" "${QUICK[@]}" || status=1

# ---- the other languages' benchmarks, when present ----
for lang in python go; do
  runner=$ROOT/bench/$lang/run.sh
  wanted=$RUN_PYTHON
  [[ $lang == go ]] && wanted=$RUN_GO
  if [[ $wanted == 1 && -f $runner ]]; then
    say "$lang (bench/$lang/run.sh)"
    bash "$runner" --zk "$ZK" --etcd "$ETCD" --consul "$CONSUL" "${QUICK[@]}" || status=1
  fi
done

say "done in $(($(date +%s) - started)) s (exit status $status)"
exit $status
