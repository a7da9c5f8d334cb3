#!/usr/bin/env bash
# Captures the seed corpora of fuzz_consul_decode and fuzz_etcd_decode from real
# servers: offkv writes a few nodes (the offkv CLI), then the answers Consul and etcd
# give to the reads and transactions offkv makes are saved with the 5-byte header the
# targets read (decoder, status, index, path, ops). Run from the repository root:
#
#   bash tests/servers/consul.sh start /tmp/c1; bash tests/servers/etcd.sh start /tmp/e1
#   bash tests/fuzz/make_seeds.sh build-dev/tools/offkv /tmp/c1/url /tmp/e1/url
#
# The servers should be fresh (the seeds hold what is stored at the root).
set -euo pipefail
cli=$1
consul_url=$(cat "$2")
etcd_url=$(cat "$3")
out=tests/fuzz/corpus

write_nodes() {  # the same small tree on each backend
  "$cli" "$1" - <<'EOF'
set /a one
set /a two
create /a/b
create /a/b/c leaf
create --sequential /a/b s
create --sequential /a/b s
set /svc payload
create /svc/x
EOF
}

# ---- Consul: HTTP bodies ----
write_nodes "$consul_url" >/dev/null || true  # a second run finds them there
base=http://${consul_url#consul://}
c=$out/fuzz_consul_decode
mkdir -p "$c"
seed() {  # seed FILE MODE STATUS_SELECTOR INDEX PATH_SELECTOR NOPS < body
  { printf "\\x$(printf %02x "$2")\\x$(printf %02x "$3")\\x$(printf %02x "$4")"
    printf "\\x$(printf %02x "$5")\\x$(printf %02x "$6")"; cat; } >"$c/$1"
}
# Status selectors: 0 = 200, 3 = 404, 4 = 409. Paths: 0 /, 1 /a, 2 /a/b, 3 /svc.
curl -sf "$base/v1/kv/offkv/n/a" | seed key-a 0 0 9 1 0
curl -sf "$base/v1/kv/offkv/n/a/b/c" | seed key-abc 0 0 9 2 0
printf '' | seed key-absent 0 3 9 1 0
curl -sf "$base/v1/kv/offkv/s/a" | seed key-counter 0 0 9 1 0
curl -sf "$base/v1/kv/offkv/n/?keys&separator=/" | seed children-root 1 0 9 0 0
curl -sf "$base/v1/kv/offkv/n/a/b/?keys&separator=/" | seed children-ab 1 0 9 2 0
curl -sf "$base/v1/kv/offkv/n/a/?recurse" | seed subtree-a 2 0 9 1 0
curl -sf "$base/v1/kv/offkv/n/?recurse" | seed subtree-root 2 0 9 0 0
# A txn that succeeds (a get: the entry comes back), one that fails (409).
curl -sf -X PUT "$base/v1/txn" \
  -d '[{"KV":{"Verb":"get","Key":"offkv/n/a"}},{"KV":{"Verb":"check-index","Key":"offkv/n/svc","Index":0}}]' \
  -o /dev/null -w '' || true
curl -s -X PUT "$base/v1/txn" -d '[{"KV":{"Verb":"get","Key":"offkv/n/a"}}]' |
  seed txn-ok 3 0 9 0 1
curl -s -X PUT "$base/v1/txn" \
  -d '[{"KV":{"Verb":"get","Key":"offkv/n/a"}},{"KV":{"Verb":"check-not-exists","Key":"offkv/n/svc"}}]' |
  seed txn-conflict 3 1 9 0 2
curl -s -X PUT "$base/v1/txn" -d '[{"KV":{"Verb":"get","Key":"offkv/n/nope"}}]' |
  seed txn-absent 3 1 9 0 1
curl -sf "$base/v1/kv/offkv/n/?keys" | seed keys-raw 4 0 0 0 0

# ---- etcd: protobuf messages, from etcdctl's JSON ----
write_nodes "$etcd_url" >/dev/null || true
endpoint=${etcd_url#etcd://}
e=$out/fuzz_etcd_decode
mkdir -p "$e"
ctl() { ETCDCTL_API=3 etcdctl --endpoints "$endpoint" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ctl get --prefix offkv/ -w json >"$tmp/range-all.json"
# (A shell argument cannot hold the NUL of a slot key: prefixes instead.)
ctl get --prefix offkv/n$'\x01'a -w json >"$tmp/range-a.json"
ctl get --prefix offkv/n$'\x01'a$'\x01'b -w json >"$tmp/range-children.json"
ctl get offkv/nope -w json >"$tmp/range-empty.json"
printf 'version("offkv/s\x01a") > "0"\n\nget offkv/s\x01a\nget --prefix offkv/n\x01svc\n\nget offkv/n\n\n' |
  ctl txn -w json >"$tmp/txn-success.json" || true
printf 'version("offkv/s\x01a") = "99"\n\nput offkv/x y\n\nget --prefix offkv/n\x01a\nget offkv/s\x01a\n\n' |
  ctl txn -w json >"$tmp/txn-failure.json" || true
# Watch responses: events while offkv changes the tree.
(timeout 6 env ETCDCTL_API=3 etcdctl --endpoints "$endpoint" watch --prefix offkv/ -w json \
  >"$tmp/watch.json" 2>/dev/null || true) &
sleep 1.5
"$cli" "$etcd_url" - >/dev/null <<'EOF'
set /a three
create /a/new
rm /a/b
set /svc again
EOF
wait
python3 tests/fuzz/etcd_json_to_seed.py "$tmp" "$e"
echo "seeds: $(ls "$c" | wc -l) consul, $(ls "$e" | wc -l) etcd"
