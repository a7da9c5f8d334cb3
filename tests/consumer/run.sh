#!/usr/bin/env bash
# Installs a build of offkv into a temporary prefix and builds a small C consumer
# against it twice: through find_package(offkv) and through pkg-config. Both
# binaries must run and pass their checks.
#
# usage: run.sh BUILD_DIR PROJECT_DIR
# environment: CMAKE (cmake binary), CC (C compiler), CMAKE_GENERATOR,
#              CMAKE_MAKE_PROGRAM (all optional)
set -euo pipefail

build_dir=$(cd "$1" && pwd)
project_dir=$(cd "$2" && pwd)
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

step "consumer install test passed"
