#!/usr/bin/env bash
# ABI check of liboffkv.so against the checked-in baseline abi/liboffkv.abi, with
# libabigail (scripts/deps.sh abi): abidw dumps the library's ABI, abidiff compares it
# with the baseline. Only what capi/offkv.h declares counts: the exported offkv_*
# functions and the types of the public header.
#
# usage: scripts/abi-check.sh [--update] [BUILD_DIR]
#   BUILD_DIR  a CMake build dir of this checkout (default: build); configured here
#              (RelWithDebInfo, no tests) if it has no CMakeCache.txt. Only the
#              library target is built. It needs debug info (-g: RelWithDebInfo or
#              Debug), which abidw reads.
#   --update   rewrite the baseline from this build instead of checking.
#
# Exit status: 0 when the ABI is the baseline's or only grew compatibly (new
# functions; fields appended to the growable structs listed in
# scripts/abi-appends.py, offkv.h "Structs and ABI"), and those additions are printed; 1 on any incompatible
# change (a function removed or its signature changed, a type changed other than by
# an allowed append, an enum value changed ...), with abidiff's report; 2 when the
# check itself could not run.
#
# Updating the baseline, deliberately: when a release adds to the ABI (the check
# passes and prints the additions), or when a major version is bumped (the only time
# an incompatible change is allowed), run
#   scripts/abi-check.sh --update BUILD_DIR
# and commit abi/liboffkv.abi with the header change, saying why in the message. Never
# update it to silence a failure within a major version: fix the header instead.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
update=0
if [[ ${1:-} == --update ]]; then
  update=1
  shift
fi
build=${1:-$root/build}
baseline=$root/abi/liboffkv.abi

for tool in abidw abidiff python3; do
  command -v "$tool" >/dev/null ||
    { echo "abi-check: $tool missing: run scripts/deps.sh abi" >&2; exit 2; }
done

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOFFKV_BUILD_TESTS=OFF -DOFFKV_BUILD_TOOLS=OFF >/dev/null || exit 2
fi
cmake --build "$build" --target offkv >/dev/null || { echo "abi-check: build failed" >&2; exit 2; }

lib=$(find "$build" -name 'liboffkv.so.*.*.*' -type f | head -n 1)
[[ -n $lib ]] || { echo "abi-check: no liboffkv.so.X.Y.Z under $build" >&2; exit 2; }
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
  echo "abi-check: $lib has no debug info; build with RelWithDebInfo or Debug" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The public headers dir holds only offkv.h: capi/ also has internal.hpp, whose full
# definitions of the opaque handles (offkv_client ...) are not ABI. abidw matches
# headers by file name; the handles stay declaration-only. Locations, the library's
# path and its DT_NEEDED list (which backends were built) are left out so the dump
# depends on the header and the exported functions only.
mkdir "$work/public"
cp "$root/capi/offkv.h" "$work/public/"
current=$work/current.abi
abidw --exported-interfaces-only --headers-dir "$work/public" --drop-private-types \
  --no-show-locs --no-corpus-path --no-elf-needed --out-file "$current" "$lib" ||
  { echo "abi-check: abidw failed" >&2; exit 2; }

if ((update)); then
  mkdir -p "$(dirname "$baseline")"
  cp "$current" "$baseline"
  echo "abi-check: baseline $baseline written from $lib"
  exit 0
fi
[[ -f $baseline ]] || { echo "abi-check: no baseline $baseline (see --update)" >&2; exit 2; }

# 1. Everything but additions: added functions are hidden (--no-added-syms) and
#    fields appended to the growable structs are taken out of a copy of the dump
#    (abi-appends.py; libabigail's has_data_member_inserted_at suppression also hides
#    a changed member type, so it is not used); whatever is left is incompatible.
python3 "$root/scripts/abi-appends.py" "$baseline" "$current" "$work/no-appends.abi" \
  >"$work/appends.txt" || { echo "abi-check: abi-appends.py failed" >&2; exit 2; }
set +e
abidiff --no-added-syms "$baseline" "$work/no-appends.abi" >"$work/breaking.txt" 2>&1
breaking=$?
set -e
if ((breaking & 1)); then
  cat "$work/breaking.txt" >&2
  echo "abi-check: abidiff failed (status $breaking)" >&2
  exit 2
fi
if ((breaking & 12)); then
  cat "$work/breaking.txt"
  echo "abi-check: INCOMPATIBLE change against $baseline (abidiff status $breaking)."
  echo "abi-check: fix capi/offkv.h (only append, docs/c-api.md \"Structs and ABI\")."
  exit 1
fi

# 2. The additions, for the record.
set +e
abidiff "$baseline" "$current" >"$work/all.txt" 2>&1
all=$?
set -e
if ((all & 4)); then
  echo "abi-check: compatible additions against $baseline:"
  cat "$work/appends.txt" "$work/all.txt"
  echo "abi-check: OK (update the baseline with --update when releasing them)"
else
  echo "abi-check: OK, the ABI is the baseline's"
fi
