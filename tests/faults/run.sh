#!/usr/bin/env bash
# The fault suite's entry for CTest (tests/faults/CMakeLists.txt):
#
#   run.sh checkers          the checkers' own tests (they must catch hand-made violations)
#   run.sh zk|etcd|consul    the fault suite on a 3-member cluster of that backend
#
# Environment: OFFKV_BUILD_DIR (the CMake build tree: its core/liboffkv.so is the
# library tested, its headers are capi/ of this checkout), FAULTS_WORK (a scratch
# directory: the test binary, pkg-config file, clusters, histories). Go caches under
# ~/.cache and ~/go as usual; porcupine comes from the Go module proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
what=${1:?usage: run.sh checkers|zk|etcd|consul}
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
  zk | etcd | consul) ;;
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
FAULTS_BACKEND=$what FAULTS_SERVERS_DIR=$root/tests/servers FAULTS_WORK=$work \
  "$work/faults.test" -test.run '^TestFaults$' -test.v -test.count=1 -test.timeout 280s 2>&1 |
  tee "$log" || rc=$?
# A skipped TestFaults must not pass.
if ((rc == 0)) && ! grep -q -- '--- PASS: TestFaults' "$log"; then
  echo "tests/faults/run.sh: TestFaults did not pass" >&2
  rc=1
fi
exit "$rc"
