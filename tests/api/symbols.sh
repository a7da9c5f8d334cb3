#!/usr/bin/env bash
# Checks liboffkv's dynamic ABI:
#  - every defined dynamic symbol is offkv_* (plus the version node OFFKV_0),
#  - the SONAME is liboffkv.so.<major>,
#  - every OFFKV_API function declared in offkv.h is exported, and every exported
#    function is declared there.
# usage: symbols.sh LIBRARY HEADER MAJOR
set -euo pipefail
lib=$1 header=$2 major=$3
failures=0
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }

[[ -f $lib ]] || { echo "no library at $lib" >&2; exit 1; }
echo "library: $lib"

# nm prints "ADDR TYPE NAME[@[@]VERSION]".
mapfile -t defined < <(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
(( ${#defined[@]} > 0 )) || { echo "nm found no defined dynamic symbols" >&2; exit 1; }
exported=()
for sym in "${defined[@]}"; do
  case $sym in
    OFFKV_0) ;;                      # the version node of core/offkv.map
    offkv_*) exported+=("$sym") ;;
    *) fail "exported symbol outside the offkv_ namespace: $sym" ;;
  esac
done
echo "exported offkv_ symbols: ${#exported[@]}"

# Every offkv_ symbol carries the OFFKV_0 version.
while read -r sym; do
  fail "symbol without the OFFKV_0 version: $sym"
done < <(nm -D --defined-only "$lib" | awk '{print $NF}' | grep '^offkv_' | grep -v '@@OFFKV_0$' || true)

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [[ $soname == "liboffkv.so.$major" ]]; then
  echo "SONAME: $soname"
else
  fail "SONAME is '$soname', expected liboffkv.so.$major"
fi

# Declarations: "OFFKV_API <type> [*]offkv_name(" possibly across lines.
mapfile -t declared < <(tr '\n' ' ' < "$header" | grep -oE 'OFFKV_API[^;(]*\(' |
  grep -oE 'offkv_[A-Za-z0-9_]+[[:space:]]*\($' | tr -d ' (' | sort -u)
echo "OFFKV_API functions declared in $(basename "$header"): ${#declared[@]}"
(( ${#declared[@]} >= 30 )) || fail "parsed only ${#declared[@]} declarations from $header"
missing=$(comm -23 <(printf '%s\n' "${declared[@]}") <(printf '%s\n' "${exported[@]}"))
[[ -z $missing ]] || fail "declared in the header but not exported: $(echo $missing)"
extra=$(comm -13 <(printf '%s\n' "${declared[@]}") <(printf '%s\n' "${exported[@]}"))
[[ -z $extra ]] || fail "exported but not declared with OFFKV_API: $(echo $extra)"

if (( failures )); then
  echo "$failures ABI check(s) failed" >&2
  exit 1
fi
echo "ABI OK: ${#exported[@]} symbols, all declared, all offkv_*, SONAME $soname"
