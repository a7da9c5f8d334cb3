#!/usr/bin/env bash
# Tests of `offkv elect` and `offkv members` (tools/recipes.cpp) against mem://.
#   cli_recipes_test.sh PATH/TO/offkv
# Exit status, stdout and stderr are asserted exactly; where a member key carries its
# random token, stdout is matched against a pattern instead.
set -u

OFFKV=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
cases=0
HINT="Try 'offkv --help'."

report() {  # NAME OK
  cases=$((cases + 1))
  if [ "$2" = 1 ]; then
    echo "ok   $1"
  else
    failures=$((failures + 1))
    echo "FAIL $1: exit $rc"
    echo "--- stdout"; cat "$tmp/out"
    echo "--- stderr"; cat "$tmp/err"
  fi
}

# expect NAME RC STDOUT STDERR ARGS...   (stdin from this function's stdin)
expect() {
  local name=$1 want_rc=$2 want_out=$3 want_err=$4 ok=1
  shift 4
  "$OFFKV" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  printf '%s' "$want_out" >"$tmp/want_out"
  printf '%s' "$want_err" >"$tmp/want_err"
  [ "$rc" = "$want_rc" ] || ok=0
  cmp -s "$tmp/out" "$tmp/want_out" || ok=0
  cmp -s "$tmp/err" "$tmp/want_err" || ok=0
  report "$name" $ok
}

# matches NAME RC STDOUT_REGEX   (against the last run's $tmp/out; stderr must be empty)
matches() {
  local ok=1
  [ "$rc" = "$2" ] || ok=0
  grep -Eqz "^$3\$" "$tmp/out" || ok=0
  [ -s "$tmp/err" ] && ok=0
  report "$1" $ok
}

MEMBER='/[a-z/]+/member-[0-9a-f]{16}-[0-9]{10}'

# elected NAME: the last run printed "LEADER KEY" then "NOT_LEADER KEY withdrawn" for
# one member KEY, nothing on stderr, exit 0.
elected() {
  local ok=1 key
  [ "$rc" = 0 ] || ok=0
  [ -s "$tmp/err" ] && ok=0
  [ "$(wc -l <"$tmp/out")" = 2 ] || ok=0
  key=$(sed -n '1s/^LEADER //p' "$tmp/out")
  printf '%s\n' "$key" | grep -Eqx "$MEMBER" || ok=0
  [ "$(sed -n 2p "$tmp/out")" = "NOT_LEADER $key withdrawn" ] || ok=0
  report "$1" $ok
}

# ---- --help and usage ----
"$OFFKV" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
ok=1
grep -Eq '^  elect \[--label L\] GROUP PAYLOAD$' "$tmp/out" || ok=0
grep -Eq '^  members \[--watch\] \[--label L\] GROUP$' "$tmp/out" || ok=0
report "--help lists elect and members" $ok

expect "elect without operands" 2 "" $'offkv: elect: expected elect [--label L] GROUP PAYLOAD\n'"$HINT"$'\n' \
  mem://r elect </dev/null
expect "elect with one operand" 2 "" $'offkv: elect: expected elect [--label L] GROUP PAYLOAD\n'"$HINT"$'\n' \
  mem://r elect /g </dev/null
expect "members without a group" 2 "" \
  $'offkv: members: expected members [--watch] [--label L] GROUP\n'"$HINT"$'\n' mem://r members </dev/null
expect "members with an unknown option" 2 "" \
  $'offkv: members: unknown option \'--bogus\'\n'"$HINT"$'\n' mem://r members --bogus /g </dev/null
expect "elect is refused in script mode" 2 "" \
  $'offkv: elect: not available in script mode\n'"$HINT"$'\n' mem://r - <<<'elect /g p'
expect "members --watch is refused in script mode" 2 "" \
  $'offkv: members: --watch is not available in script mode\n'"$HINT"$'\n' \
  mem://r - <<<'members --watch /g'
expect "elect on an invalid group: EINVAL at once" 1 "" \
  $'offkv: elect a//b: invalid argument, key or URL: invalid key \'a//b\': must start with \'/\'\n' \
  mem://r elect a//b p </dev/null
expect "members of an invalid group: EINVAL" 1 "" \
  $'offkv: members a//b: invalid argument, key or URL: invalid key \'a//b\': must start with \'/\'\n' \
  mem://r members a//b </dev/null

# ---- elect ----
timeout --preserve-status -s INT 1 "$OFFKV" mem://r elect /svc/leader host-a:5050 \
  >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
elected "elect: LEADER, then SIGINT withdraws (NOT_LEADER first), exit 0"
timeout --preserve-status -s TERM 1 "$OFFKV" mem://r elect /svc/leader host-a:5050 \
  >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
elected "elect: SIGTERM too"

# ---- members ----
expect "members of a group that does not exist: nothing, exit 0" 0 "" "" \
  mem://r members /none </dev/null
expect "members lists KEY PAYLOAD by sequence and ignores other children" 0 \
  '/g
/g/member-0123456789abcdef-0000000000
/g/config
/g/member-fedcba9876543210-0000000001
/g/member-0123456789abcdef-0000000000 p1
/g/member-fedcba9876543210-0000000001 two words
/g/member-fedcba9876543210-0000000001 two words
' "" mem://r - <<'EOF'
create /g
create --ephemeral --sequential /g/member-0123456789abcdef- p1
create /g/config x
create --ephemeral --sequential /g/member-fedcba9876543210- "two words"
members /g
session other
close
session main
rm /g/member-0123456789abcdef-0000000000
members /g
EOF
timeout --preserve-status -s INT 1 "$OFFKV" mem://r members --watch /svc \
  >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
matches "members --watch: the first membership, then SIGINT, exit 0" 0 $'MEMBERS 0\n'

# ---- --label: Mesos' layout (GROUP/L_<sequence>), only those members count ----
expect "members --label lists only that label's members, by sequence" 0 \
  $'/m\n/m/json.info_0000000002\n/m/json.info_0000000001\n/m/info_0000000000\n/m/json.info_0000000001 b\n/m/json.info_0000000002 a\n' \
  "" mem://l - <<'EOF'
create /m ""
create --ephemeral /m/json.info_0000000002 a
create --ephemeral /m/json.info_0000000001 b
create --ephemeral /m/info_0000000000 legacy
members --label json.info /m
EOF
expect "members --label with '_': EINVAL" 1 "" \
  $'offkv: members /m: invalid argument, key or URL: member label \'a_b\' contains \'_\' (Mesos reads a member\'s name up to its first \'_\' as the label)\n' \
  mem://l members --label a_b /m </dev/null

echo "cli recipes: $((cases - failures))/$cases cases passed"
[ "$failures" = 0 ]
