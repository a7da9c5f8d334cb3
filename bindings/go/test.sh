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
# shellcheck source=../../scripts/binding-lib.sh
source "$root/scripts/binding-lib.sh"
prefix=$(offkv_binding_prefix go)
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
