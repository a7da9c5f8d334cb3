#!/usr/bin/env bash
# The fault suite's entry for CTest (tests/faults/CMakeLists.txt):
#
#   run.sh checkers          the checkers' own tests (they must catch hand-made violations)
#   run.sh zk|etcd|consul    the fault suite on a 3-member cluster of that backend
#   run.sh partition         etcd across two network namespaces, the leader cut off
#                            (needs root and iproute2)
#
# Environment: OFFKV_BUILD_DIR (the CMake build tree: its core/liboffkv.so is the
# library tested, its headers are capi/ of this checkout), FAULTS_WORK (a scratch
# directory: the test binary, pkg-config file, clusters, histories). Go caches under
# ~/.cache and ~/go as usual; porcupine comes from the Go module proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
what=${1:?usage: run.sh checkers|zk|etcd|consul|partition}
build=${OFFKV_BUILD_DIR:?OFFKV_BUILD_DIR must name the build tree}
work=${FAULTS_WORK:?FAULTS_WORK must name a scratch directory}

command -v go >/dev/null || { echo "tests/faults/run.sh: go is not installed" >&2; exit 1; }
[[ -f $build/core/liboffkv.so ]] || { echo "tests/faults/run.sh: no $build/core/liboffkv.so" >&2; exit 1; }

# cgo against the build tree rather than an installed prefix: a .pc file of our own.
mkdir -p "$work/pkgconfig"
cat >"$work/pkgconfig/offkv.pc" <<PC
Name: offkv
Description: liboffkv of the build tree $build
Version: 0.1.0
Cflags: -I$root/capi
Libs: -L$build/core -loffkv
PC
export PKG_CONFIG_PATH=$work/pkgconfig
export LD_LIBRARY_PATH=$build/core${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CGO_ENABLED=1
cd "$here"

if [[ $what == checkers ]]; then
  unformatted=$(gofmt -l .)
  [[ -z $unformatted ]] || { echo "tests/faults/run.sh: not gofmt'ed: $unformatted" >&2; exit 1; }
  go vet ./...
  exec go test -count=1 -v -run '^TestCheck' .
fi

case $what in
  zk | etcd | consul | partition) ;;
  *) echo "tests/faults/run.sh: unknown case $what" >&2; exit 2 ;;
esac
# One build of the test binary serves every case (the lock: ctest may start the
# checkers case meanwhile).
(
  flock 9
  go test -c -o "$work/faults.test" .
) 9>"$work/build.lock"
log=$work/$what.out
rc=0
if [[ $what != partition ]]; then
  FAULTS_BACKEND=$what FAULTS_SERVERS_DIR=$root/tests/servers FAULTS_WORK=$work \
    "$work/faults.test" -test.run '^TestFaults$' -test.v -test.count=1 -test.timeout 280s 2>&1 |
    tee "$log" || rc=$?
  test=TestFaults
else
  # Two network namespaces of our own joined by a veth pair with loopback-range
  # addresses (route_localnet), so no packet can leave them (partition.go). Fixed
  # names: a run killed before its trap left them, the next run removes them first.
  command -v ip >/dev/null || { echo "tests/faults/run.sh: no ip (iproute2: scripts/deps.sh faults)" >&2; exit 1; }
  ((EUID == 0)) || { echo "tests/faults/run.sh: the partition case needs root (network namespaces)" >&2; exit 1; }
  # The namespace names are fixed and the cleanup below kills what runs in them: one
  # partition run per machine (RUN_SERIAL only orders the tests of one ctest). The lock
  # is this script's alone (8>&- below): a killed run's leftovers must not hold it.
  exec 8>/run/lock/offkv-faults-partition.lock
  flock -w 120 8 || { echo "tests/faults/run.sh: another partition run holds /run/lock/offkv-faults-partition.lock" >&2; exit 1; }
  ns_a=offkv-faults-a ns_b=offkv-faults-b addr_a=127.77.0.1 addr_b=127.77.0.2
  cleanup() {
    local ns pid
    for ns in $ns_a $ns_b; do
      ip netns list 2>/dev/null | grep -qw "^$ns" || continue
      # What still runs there was started by a run of this script (etcd, workers).
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    done
  }
  cleanup
  trap cleanup EXIT
  ip netns add $ns_a
  ip netns add $ns_b
  ip link add faults-a netns $ns_a type veth peer name faults-b netns $ns_b
  for ns in $ns_a $ns_b; do
    ip -n $ns link set lo up
    # 127.0.0.1 alone on lo, so the rest of 127/8 can be routed over the veth pair.
    ip -n $ns addr del 127.0.0.1/8 dev lo
    ip -n $ns addr add 127.0.0.1/32 dev lo
    ip netns exec $ns sysctl -qw net.ipv4.conf.all.route_localnet=1
  done
  ip netns exec $ns_a sysctl -qw net.ipv4.conf.faults-a.route_localnet=1
  ip netns exec $ns_b sysctl -qw net.ipv4.conf.faults-b.route_localnet=1
  ip -n $ns_a addr add $addr_a/30 dev faults-a
  ip -n $ns_b addr add $addr_b/30 dev faults-b
  ip -n $ns_a link set faults-a up
  ip -n $ns_b link set faults-b up
  FAULTS_NS_B=$ns_b FAULTS_ADDR_A=$addr_a FAULTS_ADDR_B=$addr_b FAULTS_WORK=$work \
    ip netns exec $ns_a "$work/faults.test" -test.run '^TestPartition$' -test.v -test.count=1 \
    -test.timeout 280s 8>&- 2>&1 | tee "$log" || rc=$?
  test=TestPartition
fi
# A skipped test must not pass.
if ((rc == 0)) && ! grep -q -- "--- PASS: $test" "$log"; then
  echo "tests/faults/run.sh: $test did not pass" >&2
  rc=1
fi
exit "$rc"
