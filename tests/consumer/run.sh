#!/usr/bin/env bash
# Installs a build of offkv into a temporary prefix and builds a small C consumer
# against it twice: through find_package(offkv) and through pkg-config. Both
# binaries must run and pass their checks.
#
# With SOURCE_DIR and STATIC_BUILD_DIR it then does the same for a static liboffkv:
# configures SOURCE_DIR in STATIC_BUILD_DIR with BUILD_SHARED_LIBS=OFF (library only;
# the directory is kept, so a later run rebuilds only what changed), installs it into
# another temp prefix, checks that liboffkv.a defines no global symbol outside
# offkv_*, and links the consumer statically through find_package(offkv) and
# through `pkg-config --static`.
#
# usage: run.sh BUILD_DIR PROJECT_DIR [SOURCE_DIR STATIC_BUILD_DIR]
# environment: CMAKE (cmake binary), CC (C compiler), CMAKE_GENERATOR,
#              CMAKE_MAKE_PROGRAM (all optional); for the static build also CXX,
#              CMAKE_BUILD_TYPE, COMPILER_LAUNCHER (e.g. ccache),
#              OFFKV_STATIC_BACKENDS ("zk etcd consul": the backends to build in,
#              each required), OFFKV_JOBS (parallel jobs, default 2)
set -euo pipefail

build_dir=$(cd "$1" && pwd)
project_dir=$(cd "$2" && pwd)
source_dir=${3:-}
static_build_dir=${4:-}
cmake_bin=${CMAKE:-cmake}
cc=${CC:-cc}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offkv-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "install $build_dir into $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix"

# The library directory is whatever GNUInstallDirs chose (lib, lib64, lib/<triplet>).
config=$(find "$prefix" -path '*/cmake/offkv/offkvConfig.cmake' -print -quit)
[[ -n $config ]] || fail "offkvConfig.cmake not installed"
libdir=$(dirname "$(dirname "$(dirname "$config")")")
echo "libdir: $libdir"

step "check the installed files"
for f in "$prefix/include/offkv.h" \
         "$libdir/cmake/offkv/offkvConfig.cmake" \
         "$libdir/cmake/offkv/offkvConfigVersion.cmake" \
         "$libdir/cmake/offkv/offkvTargets.cmake" \
         "$libdir/pkgconfig/offkv.pc"; do
  [[ -f $f ]] || fail "missing $f"
  echo "ok $f"
done
real=$(find "$libdir" -maxdepth 1 -name 'liboffkv.so.*.*.*' -type f -print -quit)
[[ -n $real ]] || fail "no liboffkv.so.X.Y.Z in $libdir"
soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
[[ -n $soname ]] || fail "$real has no SONAME"
[[ -L $libdir/$soname ]] || fail "missing SONAME symlink $libdir/$soname"
[[ -L $libdir/liboffkv.so ]] || fail "missing development symlink $libdir/liboffkv.so"
[[ $(readlink -f "$libdir/liboffkv.so") == "$(readlink -f "$real")" ]] ||
  fail "liboffkv.so does not point at $real"
echo "ok $real, $soname, liboffkv.so"

export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step "consumer through find_package(offkv)"
gen=()
[[ -n ${CMAKE_GENERATOR:-} ]] && gen+=(-G "$CMAKE_GENERATOR")
[[ -n ${CMAKE_MAKE_PROGRAM:-} ]] && gen+=("-DCMAKE_MAKE_PROGRAM=$CMAKE_MAKE_PROGRAM")
# Only the temp prefix may satisfy find_package: never a system-wide offkv.
"$cmake_bin" -S "$project_dir" -B "$tmp/cmake-build" "${gen[@]}" \
  -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
grep -q "offkv_DIR:PATH=$libdir/cmake/offkv" "$tmp/cmake-build/CMakeCache.txt" ||
  fail "find_package did not find the offkv in $prefix: $(grep offkv_DIR "$tmp/cmake-build/CMakeCache.txt")"
"$cmake_bin" --build "$tmp/cmake-build"
"$tmp/cmake-build/offkv-consumer"

step "consumer through pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists --print-errors offkv
flags=$(pkg-config --cflags --libs offkv)
echo "pkg-config --cflags --libs offkv: $flags"
[[ $(pkg-config --modversion offkv) == "$(sed -n 's/^#define OFFKV_VERSION_STRING "\(.*\)"/\1/p' "$prefix/include/offkv.h")" ]] ||
  fail "offkv.pc version differs from the header's"
# shellcheck disable=SC2086  # word splitting of compiler flags is intended
(set -x; "$cc" -std=c99 -Wall -Wextra -Werror -o "$tmp/offkv-consumer-pc" \
  "$project_dir/main.c" $flags)
"$tmp/offkv-consumer-pc"

if [[ -z $source_dir ]]; then
  step "consumer install test passed (shared library only)"
  exit 0
fi

# ---------------------------------------------------------------- static library
# The shared library's exported symbols: the static one must define the same globals.
mapfile -t shared_exports < <(nm -D --defined-only "$real" | awk '{print $NF}' |
  sed 's/@.*//' | grep -v '^OFFKV_0$' | sort -u)
unset LD_LIBRARY_PATH PKG_CONFIG_PATH

static_flags=(-DBUILD_SHARED_LIBS=OFF -DOFFKV_BUILD_TESTS=OFF -DOFFKV_BUILD_TOOLS=OFF
  "-DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "-DCMAKE_C_COMPILER=$cc")
[[ -n ${CXX:-} ]] && static_flags+=("-DCMAKE_CXX_COMPILER=$CXX")
if [[ -n ${COMPILER_LAUNCHER:-} ]]; then
  static_flags+=("-DCMAKE_C_COMPILER_LAUNCHER=$COMPILER_LAUNCHER"
    "-DCMAKE_CXX_COMPILER_LAUNCHER=$COMPILER_LAUNCHER")
fi
static_backends=${OFFKV_STATIC_BACKENDS-zk etcd consul}
for b in zk etcd consul; do
  on=OFF
  [[ " $static_backends " == *" $b "* ]] && on=ON
  static_flags+=("-DOFFKV_WITH_${b^^}=$on")
done

# ccache: leave the build directory out of the hash (debug info names it), so that
# a fresh build tree at any path reuses the objects of an earlier run.
export CCACHE_NOHASHDIR=1
step "static liboffkv (backends: mem $static_backends): configure and build in $static_build_dir"
started=$SECONDS
"$cmake_bin" -S "$source_dir" -B "$static_build_dir" "${gen[@]}" "${static_flags[@]}" |
  sed -n '/offkv .* configuration:/,$p'
"$cmake_bin" --build "$static_build_dir" -j "${OFFKV_JOBS:-2}"
echo "static build: $((SECONDS - started)) s"

static_prefix=$tmp/static-prefix
step "install the static liboffkv into $static_prefix"
"$cmake_bin" --install "$static_build_dir" --prefix "$static_prefix" >/dev/null
config=$(find "$static_prefix" -path '*/cmake/offkv/offkvConfig.cmake' -print -quit)
[[ -n $config ]] || fail "offkvConfig.cmake not installed"
static_libdir=$(dirname "$(dirname "$(dirname "$config")")")
archive=$static_libdir/liboffkv.a
[[ -f $archive ]] || fail "no $archive"
if compgen -G "$static_libdir/liboffkv.so*" >/dev/null; then
  fail "a static build installed a shared liboffkv: $(ls "$static_libdir"/liboffkv.so*)"
fi
grep -q 'offkv_LIBRARY_KIND "static"' "$config" || fail "$config does not say static"
echo "ok $archive, $config"

step "symbols of liboffkv.a: only offkv_* global"
# nm -g: global (and weak) symbols; --defined-only drops the undefined references
# (libstdc++, ZooKeeper, gRPC, curl), which must stay global to be resolved.
mapfile -t static_globals < <(nm -g --defined-only "$archive" | awk 'NF == 3 {print $3}' | sort -u)
echo "global defined symbols: ${#static_globals[@]}"
outside=$(printf '%s\n' "${static_globals[@]}" | grep -v '^offkv_' || true)
[[ -z $outside ]] || fail "liboffkv.a defines global symbols outside offkv_*:
$(head -20 <<<"$outside")"
local_count=$(nm --defined-only "$archive" | awk 'NF == 3 && $2 ~ /^[a-z]$/' | wc -l)
echo "local defined symbols: $local_count"
if [[ ${shared_exports[*]} != "${static_globals[*]}" ]]; then
  diff <(printf '%s\n' "${shared_exports[@]}") <(printf '%s\n' "${static_globals[@]}") || true
  fail "liboffkv.a's global symbols differ from liboffkv.so's exports"
fi
echo "ok: the same ${#static_globals[@]} offkv_* symbols as liboffkv.so exports"

# A consumer of a static liboffkv has no liboffkv.so to load.
check_static() {
  if readelf -d "$1" | grep -q 'NEEDED.*liboffkv'; then
    fail "$1 needs a shared liboffkv: $(readelf -d "$1" | grep NEEDED)"
  fi
  "$1"
}

step "static consumer through find_package(offkv)"
"$cmake_bin" -S "$project_dir" -B "$tmp/static-cmake-build" "${gen[@]}" \
  -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$static_prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
grep -q "offkv_DIR:PATH=$static_libdir/cmake/offkv" "$tmp/static-cmake-build/CMakeCache.txt" ||
  fail "find_package did not find the offkv in $static_prefix"
"$cmake_bin" --build "$tmp/static-cmake-build" --verbose
check_static "$tmp/static-cmake-build/offkv-consumer"

step "static consumer through pkg-config --static"
export PKG_CONFIG_PATH="$static_libdir/pkgconfig"
flags=$(pkg-config --static --cflags --libs offkv)
echo "pkg-config --static --cflags --libs offkv: $flags"
# shellcheck disable=SC2086  # word splitting of compiler flags is intended
(set -x; "$cc" -std=c99 -Wall -Wextra -Werror -o "$tmp/offkv-consumer-static-pc" \
  "$project_dir/main.c" $flags)
check_static "$tmp/offkv-consumer-static-pc"

step "consumer install test passed (shared and static)"
