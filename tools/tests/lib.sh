# Shared by the CLI test scripts (sourced): the comparison every case ends with.
# The sourcing script sets tmp (a scratch dir), cases and failures (counters).

# compare NAME WANT_RC RC WANT_STDOUT WANT_STDERR  (against $tmp/out and $tmp/err)
compare() {
  local name=$1 want_rc=$2 rc=$3 ok=1
  printf '%s' "$4" >"$tmp/want_out"
  printf '%s' "$5" >"$tmp/want_err"
  cases=$((cases + 1))
  [ "$rc" = "$want_rc" ] || ok=0
  cmp -s "$tmp/out" "$tmp/want_out" || ok=0
  cmp -s "$tmp/err" "$tmp/want_err" || ok=0
  if [ $ok = 1 ]; then
    echo "ok   $name"
    return
  fi
  failures=$((failures + 1))
  echo "FAIL $name: exit $rc (want $want_rc)"
  echo "--- stdout diff (want, got)"
  diff "$tmp/want_out" "$tmp/out" | head -n 40
  echo "--- stderr diff (want, got)"
  diff "$tmp/want_err" "$tmp/err" | head -n 40
}
