#!/usr/bin/env bash
# The Go binding's tests: builds and installs liboffkv into a private prefix (or uses
# an installed one), then runs gofmt, go vet, the suite under GOEXPERIMENT=cgocheck2
# (full cgo pointer checks) and the suite under -race (default cgocheck=1). The last
# lines are `go test`'s own summary.
#
#   bindings/go/test.sh
#
# Environment:
#   OFFKV_TEST_URL        real servers to test besides mem://, separated by spaces
#   OFFKV_TEST_URL_FILE   files holding such URLs, separated by ':' (as written by
#                         tests/servers/*.sh); a missing file FAILS the tests
#   OFFKV_PREFIX          use liboffkv installed there (PREFIX/lib/pkgconfig/offkv.pc)
#                         instead of building it
#   OFFKV_GO_BUILD_DIR    CMake build dir when building (default: <repo>/build-go);
#                         the library is installed into $OFFKV_GO_BUILD_DIR/prefix
#   OFFKV_GO_BACKENDS     backends to compile in, e.g. "zk etcd" (default: those of
#                         the test URLs' schemes; mem is always in)
#   OFFKV_JOBS            build parallelism (default 2)
#   OFFKV_GO_CGOCHECK2=0  skip the cgocheck2 pass
#   OFFKV_GO_TEST_FLAGS   extra flags for go test (e.g. -v, -run Election)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

command -v go >/dev/null || { echo "bindings/go/test.sh: go is not installed" >&2; exit 1; }

# ---- The library ----
if [[ -n ${OFFKV_PREFIX:-} ]]; then
  prefix=$OFFKV_PREFIX
else
  build=${OFFKV_GO_BUILD_DIR:-$root/build-go}
  prefix=$build/prefix
  backends=${OFFKV_GO_BACKENDS:-}
  if [[ -z $backends ]]; then
    urls=${OFFKV_TEST_URL:-}
    IFS=: read -ra files <<<"${OFFKV_TEST_URL_FILE:-}"
    for f in "${files[@]}"; do [[ -r $f ]] && urls+=" $(cat "$f")"; done
    for u in $urls; do
      case $u in
        zk://*) backends+=" zk" ;;
        etcd://* | etcds://*) backends+=" etcd" ;;
        consul://* | consuls://*) backends+=" consul" ;;
      esac
    done
  fi
  flags=(-DOFFKV_BUILD_TESTS=OFF -DOFFKV_BUILD_TOOLS=OFF)
  for b in zk etcd consul; do
    if [[ " $backends " == *" $b "* ]]; then flags+=("-DOFFKV_WITH_${b^^}=ON"); else flags+=("-DOFFKV_WITH_${b^^}=OFF"); fi
  done
  echo "bindings/go/test.sh: building liboffkv (backends: mem${backends:+ $backends}) into $prefix"
  cmake -S "$root" -B "$build" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$build" -j "${OFFKV_JOBS:-2}"
  cmake --install "$build" --prefix "$prefix" >/dev/null
fi
libdir=$(dirname "$(find "$prefix" -name offkv.pc -path '*/pkgconfig/*' | head -1)")/..
[[ -f $libdir/pkgconfig/offkv.pc ]] || { echo "bindings/go/test.sh: no offkv.pc under $prefix" >&2; exit 1; }
libdir=$(cd "$libdir" && pwd)
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CGO_ENABLED=1

# ---- The binding ----
cd "$here"
extra=(${OFFKV_GO_TEST_FLAGS:-})
unformatted=$(gofmt -l .)
[[ -z $unformatted ]] || { echo "bindings/go/test.sh: not gofmt'ed: $unformatted" >&2; exit 1; }
go vet ./...
if [[ ${OFFKV_GO_CGOCHECK2:-1} != 0 ]]; then
  echo "bindings/go/test.sh: go test with GOEXPERIMENT=cgocheck2"
  GOEXPERIMENT=cgocheck2 go test -count=1 "${extra[@]}" ./...
fi
echo "bindings/go/test.sh: go test -race"
go test -race -count=1 "${extra[@]}" ./...
