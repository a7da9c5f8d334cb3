#!/usr/bin/env bash
# Tests of the offkv tool's subtree and operator commands (tree, dump, load, txn,
# copy, lock) on one backend.
#   cli_bulk_test.sh PATH/TO/offkv BACKEND SECTION
#     BACKEND  mem, or zk / etcd / consul: the server's URL is the first line of the
#              file named by OFFKV_TEST_URL_FILE (a missing server fails the test)
#     SECTION  tree dump txn copy lock
#   cli_bulk_test.sh PATH/TO/offkv servers copy10k
#     a 10,000-node ZooKeeper subtree copied to etcd and to Consul (URLs from the files
#     named by OFFKV_ZK_URL_FILE, OFFKV_ETCD_URL_FILE, OFFKV_CONSUL_URL_FILE); prints
#     how long each step took.
#
# Every case asserts the exit status, stdout and stderr exactly, except that the
# library's detail after "<offkv_strerror(code)>: " is cut off (it differs between
# backends; cli_test.sh asserts it on mem://). Each run works under a prefix of its own
# (URL/offkv-cli-SECTION-PID-x), removed at the end. A mem:// store lives only inside
# one process: cases that need state use script mode (`offkv URL -`), the same on
# every backend.
set -u

OFFKV=$1
BACKEND=$2
SECTION=$3
tmp=$(mktemp -d)
failures=0
cases=0
HINT="Try 'offkv --help'."
run_id=offkv-cli-$SECTION-$$

# The library's detail after the error text differs by backend: cut it.
cut_detail() {
  sed -E -e 's/(: (invalid argument, key or URL|no such node|node already exists|version mismatch|ephemeral nodes cannot have children|value, key or transaction too large|timed out|session expired)): .*$/\1/' \
    -e 's/(: not JSON): .*$/\1/'
}

# expect NAME RC STDOUT STDERR ARGS...   (stdin: this function's)
expect() {
  local name=$1 want_rc=$2 want_out=$3 want_err=$4
  shift 4
  "$OFFKV" "$@" >"$tmp/out" 2>"$tmp/err.raw"
  local rc=$?
  cut_detail <"$tmp/err.raw" >"$tmp/err"
  compare "$name" "$want_rc" "$rc" "$want_out" "$want_err"
}

# compare(): tools/tests/lib.sh
. "$(dirname "$0")/lib.sh"

# assert NAME COMMAND...: a case that passes when COMMAND succeeds.
assert() {
  local name=$1
  shift
  cases=$((cases + 1))
  if "$@"; then
    echo "ok   $name"
  else
    failures=$((failures + 1))
    echo "FAIL $name"
  fi
}

die() {
  echo "FAIL $*"
  exit 1
}

b64() { printf "$1" | base64 -w0; }

# URL with /PATH appended to its prefix (before any ?options).
prefixed() {
  local url=$1 path=$2
  case $url in
    *\?*) echo "${url%%\?*}$path?${url#*\?}" ;;
    *) echo "$url$path" ;;
  esac
}

server_url() {  # server_url FILE: its first line, or the test fails
  local file=$1
  [ -n "$file" ] || die "no server: the URL file variable is not set"
  [ -r "$file" ] || die "no server: cannot read '$file'"
  local url
  url=$(head -n 1 "$file")
  [ -n "$url" ] || die "no server: '$file' is empty"
  echo "$url"
}

# Everything the run made: the nodes under each prefix, then the prefix itself where
# the backend keeps it as a node (ZooKeeper).
bases=()
cleanup() {
  local base url key
  for base in "${bases[@]}"; do
    for x in a b c d e; do
      url=$(prefixed "$base" "/$run_id-$x")
      "$OFFKV" --timeout 5000 "$url" ls / 2>/dev/null | while read -r key; do
        "$OFFKV" --timeout 5000 "$url" rm "$key" 2>/dev/null
      done
      "$OFFKV" --timeout 5000 "$base" rm "/$run_id-$x" >/dev/null 2>&1
    done
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Five stores of this run: A..E (separate prefixes on a server; separate mem://
# stores, each empty in a new process).
setup_urls() {
  if [ "$BACKEND" = mem ]; then
    A=mem://a B=mem://b C=mem://c D=mem://d E=mem://e
    return
  fi
  local base
  base=$(server_url "${OFFKV_TEST_URL_FILE:-}") || exit 1
  bases+=("$base")
  A=$(prefixed "$base" "/$run_id-a") B=$(prefixed "$base" "/$run_id-b")
  C=$(prefixed "$base" "/$run_id-c") D=$(prefixed "$base" "/$run_id-d")
  E=$(prefixed "$base" "/$run_id-e")
  "$OFFKV" --timeout 10000 "$A" ls / >/dev/null || die "$BACKEND server at $base unreachable"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; false after SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.05
  done
}

section_tree() {
  expect "tree: KEY and every node below it, parents first, siblings bytewise" 0 "/t
/t/a
/t/a/x
/t/a-b
2
/t/a/y
/t/a/y/z
1
/t version=1 bytes=0
/t/a version=2 bytes=5
/t/a/x version=1 bytes=5
/t/a/y version=1 bytes=0
/t/a/y/z version=1 bytes=0
/t/a-b version=1 bytes=1
/t/a/x version=1 bytes=5
/t version=1 bytes=0
/t/a version=2 bytes=5
/t/a/x version=1 bytes=5
/t/a/y version=1 bytes=0
/t/a/y/z version=1 bytes=0
/t/a-b version=1 bytes=1
/u version=1 bytes=5
/t/e
/t/e version=1 bytes=3
" "offkv: tree /nope: no such node
" "$A" - <<'EOF'
create /t
create /t/a hello
create /t/a/x "bin\x00\xff"
create /t/a-b 1
set /t/a again
create /t/a/y
create /t/a/y/z ''
set /u other
tree /t
tree /t/a/x
tree /
-tree /nope
session e
create --ephemeral /t/e eph                 # tree shows ephemeral nodes too
tree /t/e
EOF
  expect "tree: an empty store prints nothing" 0 "" "" "$E" tree /
  expect "tree: COMMAND URL spelling" 0 "" "" tree "$E" /
  expect "tree: no KEY is a usage error" 2 "" $'offkv: tree: expected tree KEY\n'"$HINT"$'\n' \
    "$E" tree
  expect "tree: invalid key" 1 "" $'offkv: tree bad: invalid argument, key or URL\n' \
    "$E" tree bad
  expect "tree: absent KEY" 1 "" $'offkv: tree /nope: no such node\n' "$E" tree /nope
}

section_dump() {
  local q='quote\" and \\\\ backslash'
  expect "dump: JSON lines in tree order, values in base64; ephemerals skipped" 0 "/t
/t/a
2
/t/a/bin
/t/empty
/t/q
/t/u
/t/é\"x
/t/eph
{\"key\":\"/t\",\"value\":\"\",\"version\":1}
{\"key\":\"/t/a\",\"value\":\"$(b64 'hello again')\",\"version\":2}
{\"key\":\"/t/a/bin\",\"value\":\"$(b64 '\x00\n\xff\x01')\",\"version\":1}
{\"key\":\"/t/empty\",\"value\":\"\",\"version\":1}
{\"key\":\"/t/q\",\"value\":\"$(b64 'quote" and \\ backslash')\",\"version\":1}
{\"key\":\"/t/u\",\"value\":\"$(b64 '\xc3\xa9t\xc3\xa9')\",\"version\":1}
{\"key\":\"/t/é\\\"x\",\"value\":\"$(b64 'k')\",\"version\":1}
1
" "offkv: dump /t/eph: ephemeral, skipped
" "$A" - <<'EOF'
create /t
create /t/a hello
set /t/a "hello again"
create /t/a/bin "\x00\n\xff\x01"
create /t/empty
create /t/q "quote\" and \\ backslash"
create /t/u "\xc3\xa9t\xc3\xa9"
create '/t/é"x' k
session e
create --ephemeral /t/eph x
session main
dump /t
session e
ls /t/a/bin                                 # (prints nothing: keeps e open past dump)
exists /t/eph
EOF
  # The same script's dump, as a file (lines 10 to 16 of its output).
  sed -n '10,16p' "$tmp/out" >"$tmp/dump1"
  sed 's/,"version":[0-9]*}$/}/' "$tmp/dump1" >"$tmp/dump1.nov"

  # Into an empty store: the same dump again, byte for byte, except the versions
  # (every node is created: version 1).
  printf '{"key":"/t/a","value":"%s","version":2}\n{"key":"/t/new","value":""}\n' \
    "$(b64 'changed')" >"$tmp/changes"
  "$OFFKV" "$B" - >"$tmp/out" 2>"$tmp/err" <<EOF
load $tmp/dump1
dump /t
load $tmp/dump1
load --dry-run $tmp/changes
load $tmp/changes
get /t/a
tree /t
EOF
  local rc=$?
  compare "load: into an empty store, again (unchanged), changes (dry run, then done)" \
    0 $rc "loaded 7 nodes: 7 created, 0 updated, 0 unchanged, 43 bytes written
$(sed 's/}$/,"version":1}/' "$tmp/dump1.nov")
loaded 7 nodes: 0 created, 0 updated, 7 unchanged, 0 bytes written
update /t/a
create /t/new
dry run: 2 nodes: 1 to create, 1 to update, 0 unchanged, 7 bytes to write
loaded 2 nodes: 1 created, 1 updated, 0 unchanged, 7 bytes written
changed
/t version=1 bytes=0
/t/a version=2 bytes=7
/t/a/bin version=1 bytes=4
/t/empty version=1 bytes=0
/t/new version=1 bytes=0
/t/q version=1 bytes=22
/t/u version=1 bytes=5
/t/é\"x version=1 bytes=1
" ""
  sed -n '2,8p' "$tmp/out" | sed 's/,"version":[0-9]*}$/}/' >"$tmp/dump2.nov"
  assert "dump | load | dump: identical but for the versions" cmp -s "$tmp/dump1.nov" \
    "$tmp/dump2.nov"

  # A value of the largest size, random bytes; the lines in any order (load sorts).
  head -c 262144 /dev/urandom >"$tmp/big.bin"
  local big
  big=$(base64 -w0 <"$tmp/big.bin")
  printf '{"key":"/big/v","value":"%s"}\n\n{"version":7,"value":"","key":"/big"}\n' \
    "$big" >"$tmp/big.jsonl"
  expect "load: 256 KiB of random bytes, child line first; dump gives them back" 0 \
    "loaded 2 nodes: 2 created, 0 updated, 0 unchanged, 262144 bytes written
{\"key\":\"/big\",\"value\":\"\",\"version\":1}
{\"key\":\"/big/v\",\"value\":\"$big\",\"version\":1}
" "" "$C" - <<EOF
load $tmp/big.jsonl
dump /big
EOF
  expect "load FILE '-': stdin (COMMAND URL spelling)" 0 \
    $'loaded 7 nodes: 7 created, 0 updated, 0 unchanged, 43 bytes written\n' "" \
    load "$D" - <"$tmp/dump1"

  # Bad input: nothing is written.
  local f=$tmp/bad
  bad_load() {  # bad_load NAME STDERR LINES...
    local name=$1 err=$2
    shift 2
    printf '%s\n' "$@" >"$f"
    expect "load: $name" 1 "" "$err" "$E" load "$f"
  }
  bad_load "not JSON" "offkv: load $f:2: not JSON
" '{"key":"/ok","value":""}' '{"key":'
  bad_load "not an object" "offkv: load $f:1: not a JSON object
" '["/a",""]'
  bad_load "no key" "offkv: load $f:1: \"key\" must be a string
" '{"value":""}'
  bad_load "key not a string" "offkv: load $f:1: \"key\" must be a string
" '{"key":1,"value":""}'
  bad_load "no value" "offkv: load $f:1: \"value\" must be a string (base64)
" '{"key":"/a"}'
  bad_load "value not base64" "offkv: load $f:1: \"value\" of '/a' is not base64
" '{"key":"/a","value":"QQ="}'
  bad_load "value not canonical base64" "offkv: load $f:1: \"value\" of '/a' is not base64
" '{"key":"/a","value":"QR=="}'
  bad_load "version not an integer" "offkv: load $f:1: \"version\" must be an integer
" '{"key":"/a","value":"","version":"1"}'
  bad_load "unknown field" "offkv: load $f:1: unknown field \"ttl\"
" '{"key":"/a","value":"","ttl":5}'
  bad_load "key not a key" "offkv: load $f:1: \"key\" 'a/b' is not a key (/a/b)
" '{"key":"a/b","value":""}'
  bad_load "the same key twice" "offkv: load $f:3: '/a' is also on line 1
" '{"key":"/a","value":""}' '{"key":"/b","value":""}' '{"key":"/a","value":"QQ=="}'
  bad_load "an invalid key (the library says so before anything is written)" \
    "offkv: load /a//b: invalid argument, key or URL
" '{"key":"/ok","value":""}' '{"key":"/a//b","value":""}'
  local children=() i
  for i in $(seq 10 30); do children+=("{\"key\":\"/ok/c$i\",\"value\":\"\"}"); done
  bad_load "an invalid key below new nodes, after more than a transaction's worth" \
    "offkv: load /ok/x$(printf '\001'): invalid argument, key or URL
" '{"key":"/ok","value":""}' "${children[@]}" '{"key":"/ok/x\u0001","value":""}'
  printf '{"key":"/big","value":"%s"}\n' "$(head -c 262145 /dev/zero | base64 -w0)" >"$f"
  expect "load: a value above the limit" 1 "" \
    "offkv: load $f:1: the value of '/big' is 262145 bytes; the limit is 262144
" "$E" load "$f"
  expect "load: after all these, nothing was written" 0 "" "" "$E" tree /
  printf '{"key":"/p/c","value":""}\n' >"$f"
  expect "load: a parent neither in the file nor in the store" 1 \
    $'loaded 0 nodes: 0 created, 0 updated, 0 unchanged, 0 bytes written\n' \
    $'offkv: load /p/c: no such node\n' "$E" load "$f"
  printf '%s\n' '{"key":"/ok","value":""}' "${children[@]}" \
    '{"key":"/ok/zz/x","value":"QQ=="}' >"$f"
  expect "load: a write fails: the summary counts what was written before" 1 \
    $'loaded 16 nodes: 16 created, 0 updated, 0 unchanged, 0 bytes written\n' \
    $'offkv: load /ok/zz/x: no such node\n' "$D" load "$f"
  expect "load: no such file" 1 "" \
    "offkv: load: cannot open '$tmp/nofile': No such file or directory
" "$E" load "$tmp/nofile"
  expect "load: an empty file" 0 \
    $'loaded 0 nodes: 0 created, 0 updated, 0 unchanged, 0 bytes written\n' "" \
    "$E" load /dev/null
  expect "load: FILE missing" 2 "" $'offkv: load: expected load [--dry-run] FILE\n'"$HINT"$'\n' \
    "$E" load
  expect "load: '-' in script mode" 2 "" \
    $'offkv: load: FILE \'-\' (stdin) is not available in script mode\n'"$HINT"$'\n' \
    "$E" - <<<'load -'
  expect "dump: absent KEY" 1 "" $'offkv: dump /nope: no such node\n' "$E" dump /nope
  expect "dump: KEY missing" 2 "" $'offkv: dump: expected dump KEY\n'"$HINT"$'\n' "$E" dump
}

section_txn() {
  cat >"$tmp/t1" <<'EOF'
# one transaction: checks first, then the ops in order
check /a 1
check /a any          # exists, any version
check /nope 0         # absent
create /q "two words"
create --sequential /q/j- 'x'
set /a "new\tvalue"
erase /old
erase /old2 1

EOF
  printf 'check /a 5\nset /a x\n' >"$tmp/t2"
  printf 'set /b x\ncheck /a 2\ncreate /a\n' >"$tmp/t3"
  printf 'create --ephemeral /eph\n' >"$tmp/t4"
  expect "txn: results per op; failures name the item (checks first) and line" 0 \
    "1
/old
/old2
create /q version=1
create /q/j-0000000000 version=1
set /a version=2
erase /old version=0
erase /old2 version=0
new	value
/a
/q
/a
/q
create /eph version=1
/a
/eph
/q
/a
/q
" "offkv: txn: item 0 (line 1: check /a): version mismatch
offkv: txn: item 2 (line 3: create /a): node already exists
" "$A" - <<EOF
set /a 1
create /old
create /old2
txn $tmp/t1
get /a
ls /
-txn $tmp/t2
-txn $tmp/t3
ls /                 # nothing of t2 and t3 was applied
session e
txn $tmp/t4          # an ephemeral created by a transaction of session e
session main
ls /
session e
close
session main
ls /
EOF
  printf 'create /s1 one\ncreate /s1/s2 "two"\n' >"$tmp/t5"
  expect "txn: from stdin" 0 $'create /s1 version=1\ncreate /s1/s2 version=1\n' "" \
    "$B" txn <"$tmp/t5"
  expect "txn: FILE operand, COMMAND URL spelling" 0 "" "" txn "$C" /dev/null
  : >"$tmp/t6"
  for i in $(seq 17); do echo "create /k$i" >>"$tmp/t6"; done
  expect "txn: more than OFFKV_MAX_TXN_OPS items" 1 "" \
    $'offkv: txn: value, key or transaction too large\n' "$C" txn "$tmp/t6"
  expect "txn: invalid key" 1 "" $'offkv: txn: invalid argument, key or URL\n' \
    "$C" txn <<<'set bad x'
  expect "txn: unknown operation" 2 "" \
    "offkv: txn: line 2: unknown operation 'frob' (check, create, set, erase)
$HINT
" "$C" txn <<<$'set /a 1\nfrob /a'
  expect "txn: VERSION not a number" 2 "" \
    $'offkv: txn: line 1: check: VERSION \'x\' is not a number\n'"$HINT"$'\n' \
    "$C" txn <<<'check /a x'
  expect "txn: missing operand" 2 "" \
    $'offkv: txn: line 1: set: expected set KEY VALUE\n'"$HINT"$'\n' "$C" txn <<<'set /a'
  expect "txn: unknown option" 2 "" \
    $'offkv: txn: line 1: create: unknown option \'--bogus\'\n'"$HINT"$'\n' \
    "$C" txn <<<'create --bogus /a'
  expect "txn: unbalanced quote" 2 "" \
    $'offkv: txn: line 1: unbalanced " in: set /a "x\n'"$HINT"$'\n' "$C" txn <<<'set /a "x'
  expect "txn: after all these, nothing was written" 0 "" "" "$C" tree /
  expect "txn: in script mode FILE is needed" 2 "" \
    $'offkv: txn: FILE is needed in script mode (stdin is the script)\n'"$HINT"$'\n' \
    "$C" - <<<'txn'
  expect "txn: no such FILE" 1 "" \
    "offkv: txn: cannot open '$tmp/nofile': No such file or directory
" "$C" txn "$tmp/nofile"
}

section_copy() {
  expect "copy: dry run, copy, re-run (unchanged), a change; extra nodes stay" 0 "/t
/t/a
/t/a/b
/t/bin
/t/m
/t/m/e
/t/x
2
create /t
create /t/a
create /t/a/b
create /t/bin
create /t/m
create /t/x
dry run: 6 nodes: 6 to create, 0 to update, 0 unchanged, 9 bytes to write, 1 ephemeral skipped
copied 6 nodes: 6 created, 0 updated, 0 unchanged, 9 bytes written, 1 ephemeral skipped
copied 6 nodes: 0 created, 0 updated, 6 unchanged, 0 bytes written, 1 ephemeral skipped
2
update /t/a/b
dry run: 6 nodes: 0 to create, 1 to update, 5 unchanged, 7 bytes to write, 1 ephemeral skipped
copied 6 nodes: 0 created, 1 updated, 5 unchanged, 7 bytes written, 1 ephemeral skipped
/t/extra
copied 6 nodes: 0 created, 0 updated, 6 unchanged, 0 bytes written, 1 ephemeral skipped
/t version=1 bytes=0
/t/a version=1 bytes=1
/t/a/b version=2 bytes=7
/t/bin version=1 bytes=3
/t/extra version=1 bytes=0
/t/m version=1 bytes=0
/t/x version=1 bytes=3
{\"key\":\"/t/bin\",\"value\":\"$(b64 '\x00\n\xff')\",\"version\":1}
copied 6 nodes: 6 created, 0 updated, 0 unchanged, 14 bytes written, 1 ephemeral skipped
/t version=1 bytes=0
/t/a version=1 bytes=1
/t/a/b version=1 bytes=7
/t/bin version=1 bytes=3
/t/m version=1 bytes=0
/t/x version=1 bytes=3
copied 0 nodes: 0 created, 0 updated, 0 unchanged, 0 bytes written, 0 ephemeral skipped
" "offkv: copy /t/m/e: ephemeral, skipped
offkv: stat /t: no such node
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /t/m/e: ephemeral, skipped
offkv: copy /nope: no such node
offkv: copy /t/a: no such node
" "$A" - <<EOF
create /t
create /t/a 1
create /t/a/b bb
create /t/bin "\x00\n\xff"
create /t/m
session e
create --ephemeral /t/m/e eph     # a member of something: not copied
session main
create /t/x
set /t/x xxx                       # version 2 here, 1 in the copy
copy --dry-run $A $B /t
session b $B
-stat /t                           # the dry run wrote nothing
session main
copy $A $B /t
copy $A $B /t
set /t/a/b changed
copy --dry-run $A $B /t
copy $A $B /t
session b
create /t/extra
session main
copy $A $B /t
session b
tree /t
dump /t/bin
session main
copy $A $C                         # no KEY: everything
session c $C
tree /
session main
-copy $A $D /nope                  # absent at the source: nothing done, no summary
-copy $A $D /t/a                   # its parent /t is not in D
EOF

  expect "copy: between stores of different backends (here mem:// and $BACKEND)" 0 \
    "/m
/m/v
/m/v/w
copied 3 nodes: 3 created, 0 updated, 0 unchanged, 8 bytes written, 0 ephemeral skipped
/m version=1 bytes=0
/m/v version=1 bytes=5
/m/v/w version=1 bytes=3
copied 3 nodes: 3 created, 0 updated, 0 unchanged, 8 bytes written, 0 ephemeral skipped
/m version=1 bytes=0
/m/v version=1 bytes=5
/m/v/w version=1 bytes=3
" "" mem://src - <<EOF
create /m
create /m/v "\x00five"
create /m/v/w www
copy mem://src $E /m
session s $E
tree /m
copy $E mem://back /m
session k mem://back
tree /m
EOF

  script -qec "'$OFFKV' copy '$A' '$C'" /dev/null >"$tmp/tty" 2>&1
  local rc=$?
  assert "copy: exit 0 on a terminal" [ $rc = 0 ]
  assert "copy: progress on a terminal (stderr)" grep -q $'\r\033\\[Koffkv copy: listing' \
    "$tmp/tty"
  assert "copy: the summary after the progress line is erased" grep -q \
    $'\r\033\\[Kcopied [0-9]* nodes: ' "$tmp/tty"

  expect "copy: a bad source URL" 1 "" \
    $'offkv: open mem://: invalid argument, key or URL\n' copy mem:// "$E"
  expect "copy: KEY invalid" 1 "" $'offkv: copy a: invalid argument, key or URL\n' \
    copy "$E" "$D" a
  expect "copy: one URL" 2 "" \
    $'offkv: copy: expected copy [--dry-run] SRC-URL DST-URL [KEY]\n'"$HINT"$'\n' copy "$E"
  expect "copy: a URL before it" 2 "" \
    $'offkv: copy: no URL before it: offkv copy [--dry-run] SRC-URL DST-URL [KEY]\n'"$HINT"$'\n' \
    "$E" copy "$E" "$D"
  expect "copy: unknown option" 2 "" \
    $'offkv: copy: unknown option \'--force\'\n'"$HINT"$'\n' copy --force "$E" "$D"
}

# lock_cmd MARK: a command for `lock` that appends "start MARK" and "end MARK" to
# $tmp/log with a pause between them.
lock_cmd() {
  echo "echo start $1 >>'$tmp/log'; sleep 0.3; echo end $1 >>'$tmp/log'"
}

section_lock() {
  expect "lock: COMMAND's output and exit status" 3 $'in /l\n' "" \
    "$A" lock /l -- sh -c 'echo in /l; exit 3'
  expect "lock: COMMAND's exit status 2 is not a usage error" 2 "" "" \
    "$A" lock /l -- sh -c 'exit 2'
  expect "lock: without --; killed by SIGKILL: 128+9" 137 "" "" \
    "$A" lock /l sh -c 'kill -KILL $$'
  expect "lock: COMMAND URL spelling; --wait 0 (try once)" 0 "" "" \
    lock --wait 0 "$A" /l true
  expect "lock: no such command: 127" 127 "" \
    $'offkv: lock /l: cannot run \'no-such-command-xyz\': No such file or directory\n' \
    "$A" lock /l -- no-such-command-xyz
  expect "lock: not runnable: 126" 126 "" \
    "offkv: lock /l: cannot run '$tmp': Permission denied
" "$A" lock /l -- "$tmp"
  expect "lock: invalid key" 1 "" $'offkv: lock bad: invalid argument, key or URL\n' \
    "$A" lock bad -- true
  expect "lock: no COMMAND" 2 "" \
    $'offkv: lock: expected lock [--wait MS] KEY [--] COMMAND [ARGS...]\n'"$HINT"$'\n' \
    "$A" lock /l --
  expect "lock: no KEY" 2 "" \
    $'offkv: lock: expected lock [--wait MS] KEY [--] COMMAND [ARGS...]\n'"$HINT"$'\n' \
    "$A" lock
  expect "lock: --wait not a number" 2 "" \
    $'offkv: lock: --wait \'soon\' is not a number\n'"$HINT"$'\n' \
    "$A" lock --wait soon /l true
  expect "lock: --wait negative" 2 "" \
    $'offkv: lock: --wait \'-1\' must be 0..2147483647 milliseconds\n'"$HINT"$'\n' \
    "$A" lock --wait -1 /l true
  expect "lock: not in script mode" 2 "" \
    $'offkv: lock: not available in script mode\n'"$HINT"$'\n' "$A" - <<<'lock /l true'

  # SIGTERM to offkv goes to COMMAND; offkv waits for it, releases, exits with its status.
  rm -f "$tmp/started"
  # (started is written once the sleep runs: a signal before it would find no \$!.)
  "$OFFKV" "$A" lock /l -- sh -c "trap 'kill \$!; echo got TERM; exit 7' TERM
sleep 30 & touch '$tmp/started'; wait" >"$tmp/out" 2>"$tmp/err" &
  local pid=$!
  wait_for 20 test -e "$tmp/started" || echo "(COMMAND did not start)"
  kill -TERM $pid
  wait $pid
  compare "lock: SIGTERM is passed on; COMMAND's status (7)" 7 $? $'got TERM\n' ""
  # SIGINT alike, to offkv alone, once COMMAND runs (a background job starts with
  # SIGINT ignored: env gives it back its default).
  rm -f "$tmp/started"
  env --default-signal=INT "$OFFKV" "$A" lock /l -- sh -c "trap 'kill \$!; echo got INT; exit 9' INT
sleep 30 & touch '$tmp/started'; wait" >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  wait_for 20 test -e "$tmp/started" || echo "(COMMAND did not start)"
  kill -INT $pid
  wait $pid
  compare "lock: SIGINT is passed on; COMMAND's status (9)" 9 $? $'got INT\n' ""
  expect "lock: released after the signals" 0 "" "" "$A" lock --wait 0 /l true

  if [ "$BACKEND" = mem ]; then
    # A mem:// store lives inside one process: two offkv processes never share a
    # lock. Exclusion is tested on the servers (and in-process by the conformance
    # suite).
    return
  fi

  # Exclusion: three processes at once; no two critical sections overlap.
  : >"$tmp/log"
  local pids=() i
  for i in 1 2 3; do
    "$OFFKV" "$A" lock /x -- sh -c "$(lock_cmd $i)" >"$tmp/out$i" 2>&1 &
    pids+=($!)
  done
  local statuses=""
  for i in 0 1 2; do
    wait "${pids[$i]}"
    statuses="$statuses$?"
  done
  cases=$((cases + 1))
  if [ "$statuses" = 000 ] && [ "$(wc -l <"$tmp/log")" = 6 ] &&
    awk 'NR % 2 == 1 { if ($1 != "start") exit 1; m = $2 }
         NR % 2 == 0 { if ($1 != "end" || $2 != m) exit 1 }' "$tmp/log"; then
    echo "ok   lock: three processes, never two inside at once"
  else
    failures=$((failures + 1))
    echo "FAIL lock: three processes, never two inside at once (exit statuses $statuses)"
    cat "$tmp/log" "$tmp"/out[123]
  fi

  # Waiting: --wait times out; a signal ends the wait and runs nothing.
  rm -f "$tmp/held" "$tmp/ran"
  "$OFFKV" "$A" lock /w -- sh -c "touch '$tmp/held'; exec sleep 30" >/dev/null 2>&1 &
  local holder=$!
  wait_for 20 test -e "$tmp/held" || echo "(the holder did not start)"
  expect "lock: --wait MS times out while another process holds it" 1 "" \
    $'offkv: lock /w: timed out\n' "$A" lock --wait 300 /w -- touch "$tmp/ran"
  "$OFFKV" "$A" lock /w -- touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err" &
  local waiter=$!
  sleep 1
  kill -TERM $waiter
  wait $waiter
  compare "lock: SIGTERM while waiting: nothing run, 128+15" 143 $? "" ""
  assert "lock: the waiter's COMMAND never ran" test ! -e "$tmp/ran"
  kill -TERM $holder
  wait $holder
  local rc=$?
  assert "lock: the holder's COMMAND ended by SIGTERM: 143 (got $rc)" [ $rc = 143 ]
  expect "lock: free again once the holder is gone" 0 "" "" \
    "$A" lock --wait 10000 /w -- touch "$tmp/ran"
  assert "lock: and its COMMAND ran" test -e "$tmp/ran"
}

# timed NAME FUNCTION ARGS...: runs it and prints how long it took.
timed() {
  local timed_what=$1 timed_start timed_end  # (names the command will not use)
  shift
  timed_start=$(date +%s%N)
  "$@"
  timed_end=$(date +%s%N)
  echo "time $timed_what: $(((timed_end - timed_start) / 1000000)) ms"
}

section_copy10k() {
  local zk etcd consul
  zk=$(server_url "${OFFKV_ZK_URL_FILE:-}") || exit 1
  etcd=$(server_url "${OFFKV_ETCD_URL_FILE:-}") || exit 1
  consul=$(server_url "${OFFKV_CONSUL_URL_FILE:-}") || exit 1
  bases+=("$zk" "$etcd" "$consul")
  local Z ET CO
  Z=$(prefixed "$zk" "/$run_id-a")
  ET=$(prefixed "$etcd" "/$run_id-a")
  CO=$(prefixed "$consul" "/$run_id-a")

  # 10,000 nodes: /big, 99 directories of 100 leaves each (127,294 bytes of values,
  # NUL and 0xff included), made in a mem:// store and dumped.
  awk 'BEGIN {
    print "create /big"
    for (d = 0; d < 99; d++) {
      printf "create /big/d%02d dir-%d\n", d, d
      for (n = 0; n < 100; n++) printf "create /big/d%02d/n%03d \"value %d.%d\\x00\\xff\"\n", d, n, d, n
    }
    print "dump /big"
  }' >"$tmp/gen"
  "$OFFKV" mem://gen - <"$tmp/gen" | tail -n +10001 >"$tmp/big.jsonl"
  assert "10,000 nodes to copy" [ "$(wc -l <"$tmp/big.jsonl")" = 10000 ]
  timed "load into ZooKeeper" expect "load 10,000 nodes into ZooKeeper" 0 \
    $'loaded 10000 nodes: 10000 created, 0 updated, 0 unchanged, 127294 bytes written\n' \
    "" "$Z" load "$tmp/big.jsonl"

  # Two ephemeral nodes in the subtree, held by a script session until its stdin ends.
  mkfifo "$tmp/fifo"
  "$OFFKV" "$Z" - <"$tmp/fifo" >"$tmp/holder" 2>&1 &
  local holder=$!
  exec 3>"$tmp/fifo"
  printf 'create --ephemeral /big/d00/eph1\ncreate --ephemeral /big/d50/eph2\n' >&3
  wait_for 20 "$OFFKV" "$Z" exists /big/d50/eph2 >/dev/null ||
    echo "(the ephemeral nodes did not appear)"

  local skipped="offkv: copy /big/d00/eph1: ephemeral, skipped
offkv: copy /big/d50/eph2: ephemeral, skipped
"
  timed "copy ZooKeeper -> etcd" expect "copy 10,000 nodes from ZooKeeper to etcd" 0 \
    $'copied 10000 nodes: 10000 created, 0 updated, 0 unchanged, 127294 bytes written, 2 ephemeral skipped\n' \
    "$skipped" copy "$Z" "$ET" /big
  timed "copy ZooKeeper -> Consul" expect "copy 10,000 nodes from ZooKeeper to Consul" 0 \
    $'copied 10000 nodes: 10000 created, 0 updated, 0 unchanged, 127294 bytes written, 2 ephemeral skipped\n' \
    "$skipped" copy "$Z" "$CO" /big
  timed "copy ZooKeeper -> etcd again" expect "copy again: nothing changes" 0 \
    $'copied 10000 nodes: 0 created, 0 updated, 10000 unchanged, 0 bytes written, 2 ephemeral skipped\n' \
    "$skipped" copy "$Z" "$ET" /big
  expect "a change at the source" 0 $'2\n' "" "$Z" set /big/d42/n042 changed
  timed "copy ZooKeeper -> etcd, one change" expect "copy to etcd: the change only" 0 \
    $'copied 10000 nodes: 0 created, 1 updated, 9999 unchanged, 7 bytes written, 2 ephemeral skipped\n' \
    "$skipped" copy "$Z" "$ET" /big
  timed "copy ZooKeeper -> Consul, one change" expect "copy to Consul: the change only" 0 \
    $'copied 10000 nodes: 0 created, 1 updated, 9999 unchanged, 7 bytes written, 2 ephemeral skipped\n' \
    "$skipped" copy "$Z" "$CO" /big

  exec 3>&-  # the holder's script ends: its session and ephemeral nodes go
  wait $holder
  assert "the ephemeral nodes' session ended cleanly" [ $? = 0 ]

  local url name
  for name in zk etcd consul; do
    case $name in
      zk) url=$Z ;;
      etcd) url=$ET ;;
      consul) url=$CO ;;
    esac
    timed "tree on $name" eval '"$OFFKV" "$url" tree /big >"$tmp/tree.$name" 2>"$tmp/err"'
    assert "tree on $name: 10,000 lines, nothing on stderr" \
      [ "$(wc -l <"$tmp/tree.$name")" = 10000 -a ! -s "$tmp/err" ]
    timed "dump on $name" eval '"$OFFKV" "$url" dump /big >"$tmp/dump.$name" 2>"$tmp/err"'
    assert "dump on $name: 10,000 lines, nothing on stderr" \
      [ "$(wc -l <"$tmp/dump.$name")" = 10000 -a ! -s "$tmp/err" ]
  done
  assert "tree: etcd's is ZooKeeper's" cmp "$tmp/tree.zk" "$tmp/tree.etcd"
  assert "tree: Consul's is ZooKeeper's" cmp "$tmp/tree.zk" "$tmp/tree.consul"
  assert "dump (values and versions): etcd's is ZooKeeper's" cmp "$tmp/dump.zk" \
    "$tmp/dump.etcd"
  assert "dump (values and versions): Consul's is ZooKeeper's" cmp "$tmp/dump.zk" \
    "$tmp/dump.consul"
  assert "tree: the changed node is at version 2 everywhere" grep -qx \
    '/big/d42/n042 version=2 bytes=7' "$tmp/tree.consul"
}

main() {
  if [ "$SECTION" = copy10k ]; then
    section_copy10k
  else
    case "$BACKEND" in
      mem | zk | etcd | consul) ;;
      *) die "unknown backend '$BACKEND'" ;;
    esac
    setup_urls
    case "$SECTION" in
      tree | dump | txn | copy | lock) "section_$SECTION" ;;
      *) die "unknown section '$SECTION'" ;;
    esac
  fi
  echo "$BACKEND $SECTION: $((cases - failures))/$cases cases passed"
  [ "$failures" = 0 ]
}

# One line: bash has read the whole file before anything runs.
main; exit $?
