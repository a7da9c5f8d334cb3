#!/usr/bin/env bash
# Tests of the offkv command-line tool against mem://.
#   cli_test.sh PATH/TO/offkv SECTION     (SECTION: usage nodes errors ephemeral
#                                          watch signals)
# Every case asserts the exit status, stdout and stderr exactly. mem:// stores live
# only inside one process, so cases that need state use script mode (`offkv URL -`).
# CTest sets OFFKV_VERSION (the project version) and OFFKV_WITH_ETCD (1 if the etcd
# backend is compiled in).
set -u

OFFKV=$1
SECTION=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
cases=0
HINT="Try 'offkv --help'."

# expect NAME RC STDOUT STDERR ARGS...
# Runs `offkv ARGS...` with this function's stdin and compares everything exactly.
expect() {
  local name=$1 want_rc=$2 want_out=$3 want_err=$4
  shift 4
  "$OFFKV" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  compare "$name" "$want_rc" "$rc" "$want_out" "$want_err"
}

# compare(): tools/tests/lib.sh
. "$(dirname "$0")/lib.sh"

section_usage() {
  "$OFFKV" --help >"$tmp/help" 2>"$tmp/err"
  local rc=$?
  head -n 3 "$tmp/help" >"$tmp/out"
  compare "--help: usage on stdout, exit 0" 0 $rc \
    "usage: offkv [--timeout MS] [--stats] URL COMMAND [ARGS...]
       offkv [--timeout MS] [--stats] URL -      (script mode: commands from stdin)
       offkv --help | --version
" ""
  for c in get stat exists set cas create rm ls watch tree dump load copy txn lock wait \
    session close; do
    cases=$((cases + 1))
    if grep -Eq "^  $c( |\$)" "$tmp/help"; then echo "ok   --help lists $c"; else
      echo "FAIL --help does not list $c"; failures=$((failures + 1)); fi
  done
  "$OFFKV" -h >"$tmp/out" 2>"$tmp/err"
  compare "-h is --help" 0 $? "$(cat "$tmp/help")"$'\n' ""

  expect "--version" 0 "offkv ${OFFKV_VERSION:-0.1.0}"$'\n' "" --version </dev/null
  expect "no arguments" 2 "" $'offkv: missing URL\n'"$HINT"$'\n' </dev/null
  expect "no command" 2 "" $'offkv: missing COMMAND (or \'-\' for script mode)\n'"$HINT"$'\n' \
    mem://u </dev/null
  expect "unknown command" 2 "" $'offkv: unknown command \'frob\'\n'"$HINT"$'\n' \
    mem://u frob /a </dev/null
  expect "unknown global option" 2 "" $'offkv: unknown option \'--bogus\'\n'"$HINT"$'\n' \
    --bogus mem://u ls / </dev/null
  expect "unknown command option" 2 "" \
    $'offkv: create: unknown option \'--bogus\'\n'"$HINT"$'\n' \
    mem://u create --bogus /a </dev/null
  expect "missing KEY" 2 "" $'offkv: get: expected get [-v] KEY\n'"$HINT"$'\n' \
    mem://u get </dev/null
  expect "too many operands" 2 "" $'offkv: set: expected set KEY VALUE\n'"$HINT"$'\n' \
    mem://u set /a b c </dev/null
  expect "cas without VERSION" 2 "" \
    $'offkv: cas: expected cas KEY VALUE VERSION\n'"$HINT"$'\n' mem://u cas /a v </dev/null
  expect "cas bad VERSION" 2 "" \
    $'offkv: cas: VERSION \'1x\' is not a number\n'"$HINT"$'\n' mem://u cas /a v 1x </dev/null
  expect "rm bad --version" 2 "" \
    $'offkv: rm: --version \'v\' is not a number\n'"$HINT"$'\n' mem://u rm --version v /a \
    </dev/null
  expect "rm --version without KEY" 2 "" \
    $'offkv: rm: expected rm [--version V] KEY\n'"$HINT"$'\n' mem://u rm --version 1 \
    </dev/null
  expect "--timeout without value" 2 "" $'offkv: --timeout needs a value\n'"$HINT"$'\n' \
    --timeout </dev/null
  expect "--timeout not a number" 2 "" \
    $'offkv: --timeout: MS \'soon\' is not a number\n'"$HINT"$'\n' \
    --timeout soon mem://u ls / </dev/null
  expect "--timeout 0" 2 "" \
    $'offkv: --timeout: MS \'0\' must be 1..2147483647 milliseconds\n'"$HINT"$'\n' \
    --timeout 0 mem://u ls / </dev/null
  expect "--timeout accepted" 0 "" "" --timeout 500 mem://u ls / </dev/null
  expect "watch: two modes" 2 "" \
    $'offkv: watch: --recursive and --children exclude each other\n'"$HINT"$'\n' \
    mem://u watch --recursive --children /a </dev/null
  expect "script-only command" 2 "" \
    $'offkv: wait: only in script mode (offkv URL -)\n'"$HINT"$'\n' mem://u wait </dev/null
  expect "'-' takes no arguments" 2 "" \
    $'offkv: script mode \'-\' takes no arguments\n'"$HINT"$'\n' mem://u - ls </dev/null

  expect "script: usage error ends the script with 2" 2 $'1\n' \
    $'offkv: unknown command \'frob\'\n'"$HINT"$'\n' mem://u - <<'EOF'
set /a 1
frob
set /b 2
EOF
  expect "script: VALUE - is refused" 2 "" \
    $'offkv: set: VALUE \'-\' (stdin) is not available in script mode\n'"$HINT"$'\n' \
    mem://u - <<'EOF'
set /a -
EOF
  expect "script: unbalanced quote" 2 "" \
    $'offkv: unbalanced " in: set /a "x\n'"$HINT"$'\n' mem://u - <<'EOF'
set /a "x
EOF
  expect "script: bad wait MS" 2 "" \
    $'offkv: wait: MS \'0\' must be 1..2147483647 milliseconds\n'"$HINT"$'\n' \
    mem://u - <<'EOF'
wait 0
EOF
  expect "script: empty input" 0 "" "" mem://u - </dev/null
  expect "script: a session keeps its URL" 2 "" \
    $'offkv: session: \'main\' is on mem://u, not mem://v\n'"$HINT"$'\n' mem://u - <<'EOF'
session main mem://v
EOF
  expect "script: a session on another URL" 0 $'1\n/k\n' \
    $'offkv: get /k: no such node: cannot get \'/k\': no such node\n' mem://u - <<'EOF'
session other mem://v
set /k 1
session main
-get /k
session other mem://v
ls /
EOF
}

section_nodes() {
  expect "script: every node command" 0 "1
hello
/dir
/dir/a
/dir/b0000000000
/dir/b0000000001
/dir/a
/dir/b0000000000
/dir/b0000000001
/a
/dir
2
2
2
3
/dir/a
/dir/b0000000001
/dir/b0000000001
1
1
two words
2
'single' \"double\" tab	end
/empty

1
x#y
/a
/empty
/q
/x#y
" "version=1
version=1
" mem://nodes - <<'EOF'
# comments and blank lines are skipped

set /a hello            # a trailing comment
get /a
create /dir
create /dir/a
create --sequential /dir/b
create --sequential /dir/b payload
ls /dir
ls /
set /a again
stat /a
exists /a
cas /a third 2
rm /dir/b0000000000
ls /dir
rm --version 1 /dir/b0000000001
create --ephemeral /dir/b0000000001
stat /dir/b0000000001
set /q 'two words'
get -v /q
set /q "'single' \"double\" tab\tend"
get /q
create /empty
get -v /empty
set /x#y x#y
get /x#y
rm /dir
ls /
EOF

  "$OFFKV" mem://bytes - >"$tmp/out" 2>"$tmp/err" <<'EOF'
set /bin "a\x00b\nc\xff"
get /bin
EOF
  local rc=$?
  od -An -c "$tmp/out" | tr -s ' ' >"$tmp/od"
  mv "$tmp/od" "$tmp/out"
  compare "script: values are bytes (NUL, newline, \\xHH)" 0 $rc " 1 \\n a \\0 b \\n c 377 \\n
" ""

  # (stdin through < <(...), not a pipe: a pipe would run expect in a subshell and
  # lose its failure count)
  expect "set VALUE - reads stdin" 0 $'1\n' "" mem://one set /k - < <(printf 'from\nstdin')
  expect "create KEY - reads stdin" 0 $'/k\n' "" mem://one create /k - < <(printf 'x')
  expect "one-shot: ls / on an empty store" 0 "" "" mem://one ls / </dev/null
  expect "URL options are accepted" 0 "" "" \
    'mem://one?operation_timeout_ms=100&read_consistency=serializable' ls / </dev/null
  expect "URL prefix: keys are relative to it" 0 $'1\n/k\nv\n' "" mem://pfx/app - <<'EOF'
set /k v
ls /
get /k
EOF
}

section_errors() {
  # --stats: the session's counters on stderr after the command (here: one get, one
  # ENOENT), also when the command failed.
  "$OFFKV" --stats mem://st get /nope >"$tmp/out" 2>"$tmp/err" </dev/null
  local rc=$?
  cases=$((cases + 1))
  if [ $rc = 1 ] && grep -q '^stats of session main:$' "$tmp/err" &&
    grep -Eq '^  ops\.get +1$' "$tmp/err" && grep -Eq '^  errors\.ENOENT +1$' "$tmp/err" &&
    grep -Eq '^  session\.CONNECTED +1$' "$tmp/err" && [ ! -s "$tmp/out" ]; then
    echo "ok   --stats prints the counters after a failed get"
  else
    failures=$((failures + 1))
    echo "FAIL --stats prints the counters after a failed get: exit $rc"
    cat "$tmp/err"
  fi
  expect "get absent: ENOENT, exit 1" 1 "" \
    $'offkv: get /nope: no such node: cannot get \'/nope\': no such node\n' \
    mem://e get /nope </dev/null
  expect "stat absent: exit 1 with a message" 1 "" \
    $'offkv: stat /nope: no such node: \'/nope\' does not exist\n' \
    mem://e stat /nope </dev/null
  expect "exists absent: exit 1, silent" 1 "" "" mem://e exists /nope </dev/null
  expect "rm absent: ENOENT" 1 "" \
    $'offkv: rm /nope: no such node: cannot erase \'/nope\': no such node\n' \
    mem://e rm /nope </dev/null
  expect "ls absent: ENOENT" 1 "" \
    $'offkv: ls /nope: no such node: cannot list \'/nope\': no such node\n' \
    mem://e ls /nope </dev/null
  expect "invalid key: EINVAL" 1 "" \
    $'offkv: get nokey: invalid argument, key or URL: invalid key \'nokey\': must start with \'/\'\n' \
    mem://e get nokey </dev/null
  expect "trailing slash: EINVAL" 1 "" \
    $'offkv: set /a/: invalid argument, key or URL: invalid key \'/a/\': empty segment (\'//\' or trailing \'/\')\n' \
    mem://e set /a/ v </dev/null
  expect "root is not a key: EINVAL" 1 "" \
    $'offkv: get /: invalid argument, key or URL: invalid key \'/\': the root \'/\' is not a key\n' \
    mem://e get / </dev/null
  expect "/zookeeper is reserved: EINVAL" 1 "" \
    $'offkv: set /zookeeper/x: invalid argument, key or URL: invalid key \'/zookeeper/x\': /zookeeper is reserved (ZooKeeper\'s own tree)\n' \
    mem://e set /zookeeper/x v </dev/null
  expect "missing parent: ENOENT" 1 "" \
    $'offkv: create /a/b: no such node: cannot create \'/a/b\': parent \'/a\' does not exist\n' \
    mem://e create /a/b </dev/null
  expect "cas negative version: EINVAL" 1 "" \
    $'offkv: cas /a: invalid argument, key or URL: cas on \'/a\': expected version -1 is negative\n' \
    mem://e cas /a v -1 </dev/null
  expect "cas 0 on absent creates" 0 $'1\n' "" mem://e cas /a v 0 </dev/null
  expect "value above 256 KiB: ETOOBIG" 1 "" \
    $'offkv: set /big: value, key or transaction too large: value for \'/big\' is 262145 bytes; the limit is 262144\n' \
    mem://e set /big - < <(head -c 262145 /dev/zero)
  expect "value of exactly 256 KiB" 0 $'1\n' "" \
    mem://e set /big - < <(head -c 262144 /dev/zero)
  expect "bad URL: EINVAL" 1 "" \
    $'offkv: open mem://: invalid argument, key or URL: invalid URL \'mem://\': mem:// needs a store name: mem://NAME\n' \
    mem:// ls / </dev/null
  expect "unknown URL option: EINVAL" 1 "" \
    $'offkv: open mem://e?bogus=1: invalid argument, key or URL: invalid URL \'mem://e?bogus=1\': unknown option \'bogus\' (known: session_timeout_ms, connect_timeout_ms, operation_timeout_ms, tls_ca_file, tls_cert_file, tls_key_file, username, password, token, read_consistency, zk_acl)\n' \
    'mem://e?bogus=1' ls / </dev/null
  if [ "${OFFKV_WITH_ETCD:-0}" = 0 ]; then
    expect "backend compiled out: EUNSUPPORTED" 1 "" \
      $'offkv: open etcd://127.0.0.1:2379: not supported: offkv was built without the etcd backend (OFFKV_WITH_ETCD=OFF)\n' \
      etcd://127.0.0.1:2379 ls / </dev/null
  fi

  expect "script: EEXIST, EVERSION, ENOENT; '-' lines go on" 0 $'1\n1\n2\n/a\n/b\n' \
    "offkv: create /a: node already exists: '/a' already exists
offkv: cas /a: version mismatch: cas on '/a': expected version 5, found version 1
offkv: cas /b: version mismatch: cas on '/b': expected no node, found version 1
offkv: rm /a: version mismatch: erase of '/a': expected version 7, found version 2
offkv: get /gone: no such node: cannot get '/gone': no such node
" mem://e2 - <<'EOF'
set /a 1
-create /a
-cas /a x 5
set /b x
-cas /b y 0
cas /a x 1
-rm --version 7 /a
-get /gone
ls /
EOF
  expect "script: the first failure ends the script, exit 1" 1 $'1\n' \
    $'offkv: create /a: node already exists: \'/a\' already exists\n' mem://e3 - <<'EOF'
set /a 1
create /a
set /never-run 1
EOF
  expect "script: exists on an absent key ends the script silently" 1 "" "" \
    mem://e4 - <<'EOF'
exists /nope
set /never-run 1
EOF
}

section_ephemeral() {
  expect "script: ephemerals live as long as their session" 0 "/m
/m/n0000000000
/m/n0000000001
/m/n0000000000
/m/n0000000001
/m/n0000000002
/m/n0000000002
" "offkv: create /m/n0000000000/child: ephemeral nodes cannot have children: cannot create '/m/n0000000000/child': parent '/m/n0000000000' is ephemeral
" mem://eph - <<'EOF'
create /m
session B
create --ephemeral --sequential /m/n
create --ephemeral --sequential /m/n
-create /m/n0000000000/child
session main
ls /m
close                      # main had no ephemerals: nothing changes
create --ephemeral --sequential /m/n
session B
close                      # B's two ephemerals vanish at once
session main
ls /m
EOF
}

section_watch() {
  expect "script: exists watch loop (one-shot, re-armed by wait)" 0 "1
CREATED /w version=1
2
CHANGED /w version=2
3
4
CHANGED /w version=3
DELETED /w version=0
1
CREATED /w version=1
" "offkv: wait: timed out: no event within 200 ms
" mem://w1 - <<'EOF'
watch /w                  # absent: fires on creation
set /w a
wait
set /w b
wait
set /w c
set /w d                  # the watch fired on c and is re-armed only by wait:
wait                      # the change to version 4 is not reported
-wait 200
rm /w
wait
set /w again
wait
EOF

  expect "script: children watch; ENOENT once its node is gone" 1 "/p
/p/c
CHILDREN /p version=-1
2
CHILDREN /p version=-1
DELETED /p version=0
" "offkv: watch /p: no such node: cannot list '/p': no such node
" mem://w2 - <<'EOF'
create /p
watch --children /p
create /p/c
wait
set /p/c changed-values-are-not-children-events
rm /p/c
wait
rm /p
wait
EOF

  expect "script: recursive watch sees every change below the key" 0 "1
/r/a
/r/a/b
1
2
3
CREATED /r version=1
CREATED /r/a version=1
CREATED /r/a/b version=1
CHANGED /r/a version=2
CHANGED /r/a version=3
DELETED /r/a/b version=0
DELETED /r/a version=0
DELETED /r version=0
" "offkv: wait: timed out: no event within 100 ms
" mem://w3 - <<'EOF'
watch --recursive /r
set /r 1
create /r/a
create /r/a/b
set /other not-below-r
set /r/a x
set /r/a y
rm /r
wait
wait
wait
wait
wait
wait
wait
wait
-wait 100
EOF

  expect "script: another session's close: DELETED, then CHILDREN" 0 "/g
/g/m0000000000
CHILDREN /g version=-1
DELETED /g/m0000000000 version=0
CHILDREN /g version=-1
" "" mem://w4 - <<'EOF'
create /g
watch --children /g
session B
create --ephemeral --sequential /g/m
session main
wait
watch /g/m0000000000
session B
close
session main
wait
wait
EOF

  expect "script: closing the session ends its one-shot watch (ENDED)" 0 \
    $'ENDED /x version=-1\n' "" mem://w5 - <<'EOF'
session B
watch /x
close
wait
EOF
  expect "script: closing the session ends its persistent watch (ENDED)" 0 \
    $'/y\nCREATED /y version=1\nENDED /y version=-1\n' "" mem://w5 - <<'EOF'
session B
watch --recursive /y
create /y
close
wait
wait
EOF

  expect "script: watch on an invalid key: EINVAL" 1 "" \
    "offkv: watch bad: invalid argument, key or URL: invalid key 'bad': must start with '/'
" mem://w6 - <<'EOF'
watch bad
EOF
  expect "script: wait with nothing armed times out" 1 "" \
    $'offkv: wait: timed out: no event within 50 ms\n' mem://w7 - <<'EOF'
wait 50
EOF
  expect "script: wait default timeout comes from --timeout" 1 "" \
    $'offkv: wait: timed out: no event within 30 ms\n' --timeout 30 mem://w8 - <<'EOF'
wait
EOF
}

# The one-shot `watch` runs until SIGINT or SIGTERM and then exits 0, printing
# nothing more (nothing changes in a fresh mem:// store of another process).
section_signals() {
  timeout --preserve-status -s INT 1 "$OFFKV" mem://s watch /k >"$tmp/out" 2>"$tmp/err"
  compare "watch: SIGINT ends it cleanly, exit 0" 0 $? "" ""
  timeout --preserve-status -s TERM 1 "$OFFKV" mem://s watch --recursive / \
    >"$tmp/out" 2>"$tmp/err"
  compare "watch --recursive: SIGTERM ends it cleanly, exit 0" 0 $? "" ""
  timeout --preserve-status -s TERM 1 "$OFFKV" mem://s watch --children / \
    >"$tmp/out" 2>"$tmp/err"
  compare "watch --children /: SIGTERM ends it cleanly, exit 0" 0 $? "" ""
  expect "watch --children on an absent key: ENOENT at once" 1 "" \
    $'offkv: watch /nope: no such node: cannot list \'/nope\': no such node\n' \
    mem://s watch --children /nope </dev/null
  expect "watch on an invalid key: EINVAL at once" 1 "" \
    $'offkv: watch a//b: invalid argument, key or URL: invalid key \'a//b\': must start with \'/\'\n' \
    mem://s watch a//b </dev/null
}

case "$SECTION" in
  usage | nodes | errors | ephemeral | watch | signals) "section_$SECTION" ;;
  *)
    echo "unknown section '$SECTION'" >&2
    exit 2
    ;;
esac
echo "$SECTION: $((cases - failures))/$cases cases passed"
[ "$failures" = 0 ]
