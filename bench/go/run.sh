#!/usr/bin/env bash
# The Go benchmark: offkv's Go binding vs go.etcd.io/etcd/client/v3 and
# github.com/hashicorp/consul/api on servers that are already running (bench/run.sh
# starts them; so do tests/servers/*.sh). Sets up what it needs on a fresh machine:
# liboffkv built from this source tree and installed into build-bench/go-lib/prefix
# (scripts/binding-lib.sh, as bindings/go/test.sh does; incremental after the first
# time), the Go modules pinned in bench/go/go.mod (module and build caches under
# ~/.cache unless GOMODCACHE / GOCACHE say otherwise). Then builds and runs the
# benchmark.
#
#   bench/go/run.sh [--zk URL] --etcd etcd://127.0.0.1:P --consul consul://127.0.0.1:P \
#                   [--quick] [--out FILE.md]
#
# --zk is accepted and ignored (no native Go ZooKeeper client is compared). Results:
# stdout and --out (default build-bench/go.md, build-bench/go-quick.md with --quick).
#
# Environment: OFFKV_JOBS (build parallelism, default 2), OFFKV_PREFIX (use an
# installed liboffkv instead of building one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || { echo "bench/go/run.sh: go is not installed" >&2; exit 1; }

args=("$@")
quick=0 out=
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --out) out=${2:-}; shift ;;
    --out=*) out=${1#--out=} ;;
  esac
  shift
done
if [[ -z $out ]]; then
  suffix=; ((quick)) && suffix=-quick
  out=$root/build-bench/go$suffix.md
  args+=(--out "$out")
fi

t0=$(date +%s)
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi
export OFFKV_GOBENCH_BUILD_DIR=${OFFKV_GOBENCH_BUILD_DIR:-$root/build-bench/go-lib}
# Always both: a different set would reconfigure and rebuild the library (minutes).
export OFFKV_GOBENCH_BACKENDS=${OFFKV_GOBENCH_BACKENDS:-etcd consul}
# shellcheck source=../../scripts/binding-lib.sh
source "$root/scripts/binding-lib.sh"
prefix=$(offkv_binding_prefix gobench)
pc=$(find "$prefix" -name offkv.pc -path '*/pkgconfig/*' | head -1)
[[ -n $pc ]] || { echo "bench/go/run.sh: no offkv.pc under $prefix" >&2; exit 1; }
libdir=$(cd "$(dirname "$pc")/.." && pwd)
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# The rpath lets build-bench/offkv-go-bench run on its own too (perf, --only).
export CGO_LDFLAGS="-Wl,-rpath,$libdir${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
export CGO_ENABLED=1 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
cache=${XDG_CACHE_HOME:-$HOME/.cache}
export GOMODCACHE=${GOMODCACHE:-$cache/offkv-go-mod}
export GOCACHE=${GOCACHE:-$cache/go-build}
bin=$root/build-bench/offkv-go-bench
(cd "$here" && go build -o "$bin" .)
echo "== bench/go: set-up took $(($(date +%s) - t0)) s" >&2

t1=$(date +%s)
"$bin" "${args[@]}"
echo "== bench/go: benchmark took $(($(date +%s) - t1)) s" >&2
