#!/usr/bin/env bash
# The ZooKeeper CLI from Debian's zookeeper package, unmodified, driven by
# zkcli.script against offkv-zkd on one backend. Its output (less log lines, zxids and
# times) must be zkcli.expected line for line; the watch events it prints, which may
# interleave with the commands' output, must be the expected ones as a set.
# zkcli.expected is ZooKeeper 3.8's own output for the script but for the differences
# docs/zkd.md lists (ip ACLs are refused, so the tree has one node less).
# usage: zkcli_test.sh OFFKV-ZKD BACKEND [ZKD-ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
zkd=$1 backend=$2
shift 2
zkcli=${ZKCLI:-/usr/share/zookeeper/bin/zkCli.sh}
[[ -x $zkcli ]] || { echo "FAIL: $zkcli is missing (apt-get install zookeeper)"; exit 1; }

url=$(zkd_url "$backend" zkcli)
zkd_start "$zkd" "$url" "$@"

[[ $(four_letter "$ZKD_PORT" ruok) == imok ]] || { echo "FAIL: ruok"; exit 1; }
four_letter "$ZKD_PORT" srvr | grep -q '^Mode: standalone' || { echo "FAIL: srvr"; exit 1; }
[[ $(four_letter "$ZKD_PORT" dump) == "dump is not executed because it is not in the whitelist." ]] ||
  { echo "FAIL: dump"; exit 1; }

out=$ZKD_DIR/zkcli.out
timeout 120 "$zkcli" -server "127.0.0.1:$ZKD_PORT" <"$here/zkcli.script" >"$out" 2>&1 ||
  { cat "$out"; echo "FAIL: zkCli.sh exited with $?"; exit 1; }

# Sequence numbers differ by backend (docs/zkd.md): each distinct one becomes its rank
# of first appearance (seq-#1, seq-#2).
renumber() {
  perl -pe 's{seq-(\d{10})}{"seq-#" . ($n{$1} //= ++$k)}ge'
}
# zkCli prints each event as "\nWATCHER::\n" and "\nWatchedEvent ...\n" from its event
# thread, possibly in the middle of a command's output line: both are cut out of the
# text (joining such a line again) before it is split into lines.
filter() {
  {
    perl -0777 -pe 's/\nWATCHER::\n//g; s/\nWatchedEvent [^\n]*\n//g' "$1" |
      grep -v -e '^20..-' -e '^SLF4J' -e '^$' -e 'Zxid = ' -e 'time = ' -e '^Connecting to' || true
    echo "-- events"
    grep -o 'WatchedEvent [^ ]* [^ ]* path:[^ ]*' "$1" | sort || true
  } | renumber
}
if ! diff -u "$here/zkcli.expected" <(filter "$out"); then
  echo "--- zkd log"
  cat "$ZKD_LOG"
  echo "FAIL: zkCli.sh output differs on $backend"
  exit 1
fi
echo "zkcli on $backend: 1 passed, 0 failed"
