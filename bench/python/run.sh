#!/usr/bin/env bash
# The Python benchmark: offkv's Python binding vs kazoo / python-etcd3 / py-consul on
# servers that are already running (bench/run.sh starts them; so do
# tests/servers/*.sh). Sets up what it needs on a fresh machine:
#   - a virtualenv (default ~/.cache/offkv-bench-venv) with the pinned native clients
#   - the offkv binding built from this source tree as bindings/python/test.sh builds
#     it (pip install ./bindings/python, scikit-build-core), rebuilt only when the
#     sources changed (the build tree is kept in build-bench/python-build)
# then runs bench/python/bench.py.
#
#   bench/python/run.sh --zk zk://127.0.0.1:P --etcd etcd://127.0.0.1:P \
#                       --consul consul://127.0.0.1:P [--quick] [--out FILE.md]
#
# Any backend may be left out. Results: stdout and --out (default
# build-bench/python.md, build-bench/python-quick.md with --quick).
#
# Environment: PYTHON (default python3), OFFKV_BENCH_VENV, PIP_CACHE_DIR (default
# ~/.cache/offkv-pip), OFFKV_JOBS (build parallelism, default 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
venv=${OFFKV_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-bench-venv}
build=$root/build-bench/python-build

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
  out=$root/build-bench/python$suffix.md
  args+=(--out "$out")
fi

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
export CMAKE_BUILD_PARALLEL_LEVEL=${OFFKV_JOBS:-2}
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi

t0=$(date +%s)
# Native clients, pinned. python-etcd3 0.12.0 (its last release) ships protobuf code
# generated for protobuf 3.x: protobuf 4+ refuses it, so protobuf 3.20.3 (pure
# Python on 3.11: no C extension wheel of it exists for 3.11).
pins=(kazoo==2.11.0 etcd3==0.12.0 py-consul==1.8.0 "protobuf==3.20.3" "grpcio>=1.60")
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import kazoo, etcd3, consul' 2>/dev/null; then
  echo "== bench/python: virtualenv $venv ($("$python" --version 2>&1))" >&2
  "$python" -m venv "$venv"
fi
py=$venv/bin/python
"$py" -m pip install --quiet "${pins[@]}" >&2

# The binding, rebuilt when the library's or the binding's sources changed.
stamp=$(cd "$root" && { git ls-files -s -- . ':!bench' ':!docs'; git diff -- . ':!bench' ':!docs';
  git ls-files --others --exclude-standard -- . ':!bench' ':!docs'; } 2>/dev/null | sha256sum | cut -c1-16)
stamp_file=$build/.offkv-bench-stamp
if [[ $(cat "$stamp_file" 2>/dev/null) != "$stamp" ]] || ! "$py" -c 'import offkv' 2>/dev/null; then
  echo "== bench/python: pip install ./bindings/python (build tree $build; minutes the first time)" >&2
  mkdir -p "$build"
  "$py" -m pip install --quiet --force-reinstall --no-deps \
    --config-settings=build-dir="$build" "$root/bindings/python" >&2
  echo "$stamp" >"$stamp_file"
fi
echo "== bench/python: set-up took $(($(date +%s) - t0)) s; offkv backends: $("$py" -c 'import offkv; print(*offkv.backends())')" >&2

t1=$(date +%s)
"$py" "$here/bench.py" "${args[@]}"
echo "== bench/python: benchmark took $(($(date +%s) - t1)) s" >&2
