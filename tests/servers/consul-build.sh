#!/usr/bin/env bash
# Builds the real Consul agent (github.com/hashicorp/consul, pinned in
# tests/tools/consul/go.mod, an MPL-2.0 release) from the Go module proxy with the
# machine's Go toolchain, for the tests. Debian has no consul package.
#
#   consul-build.sh            builds if needed; prints the binary's path on stdout
#
# The binary goes to $OFFKV_CACHE_DIR/consul-<version>-<stamp>/consul (default
# OFFKV_CACHE_DIR=$HOME/.cache/offkv); <stamp> hashes go.mod, go.sum and main.go, so
# a second run with the same pin is a no-op. Go's own caches (GOMODCACHE, GOCACHE)
# stay where `go env` says. Parallel callers wait on a lock: one build at a time.
#
# Environment: OFFKV_CACHE_DIR, GO (default: go on PATH, else /usr/local/go/bin/go),
# OFFKV_GO_JOBS (go build -p, default 2), GOTOOLCHAIN (default local; set e.g.
# go1.22.12 to fetch a toolchain through the module proxy if the local Go cannot
# build the pinned release).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The pin: tests/tools/consul in the source tree, consul-tool/ beside this script when
# installed with offkv-test-server.
TOOL_DIR=$HERE/../tools/consul
[[ -d $TOOL_DIR ]] || TOOL_DIR=$HERE/consul-tool
TOOL_DIR=$(cd "$TOOL_DIR" && pwd)
CACHE=${OFFKV_CACHE_DIR:-${HOME:-/root}/.cache/offkv}
JOBS=${OFFKV_GO_JOBS:-2}

die() { echo "consul-build.sh: $*" >&2; exit 1; }

GO=${GO:-}
if [[ -z $GO ]]; then
  if command -v go >/dev/null 2>&1; then GO=$(command -v go)
  elif [[ -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go
  else die "no Go toolchain (install Go or set GO=/path/to/go)"; fi
fi

version=$(awk '$1 == "require" && $2 == "github.com/hashicorp/consul" { print $3 }
               $1 == "github.com/hashicorp/consul" { print $2 }' "$TOOL_DIR/go.mod" | head -1)
[[ -n $version ]] || die "no github.com/hashicorp/consul requirement in $TOOL_DIR/go.mod"
stamp=$(cat "$TOOL_DIR/go.mod" "$TOOL_DIR/go.sum" "$TOOL_DIR/main.go" | sha256sum | cut -c1-12)
out_dir="$CACHE/consul-$version-$stamp"
bin="$out_dir/consul"

mkdir -p "$CACHE"
exec 9>"$CACHE/consul-build.lock"
flock 9

# (Captured first: `grep -q` closing the pipe early would fail it under pipefail.)
if [[ -x $bin ]] && [[ $("$bin" version 2>/dev/null | head -1) == "Consul $version" ]]; then
  echo "$bin"
  exit 0
fi

echo "consul-build.sh: building Consul $version with $("$GO" version) (-p $JOBS)" >&2
start=$(date +%s)
tmp="$out_dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
# go.sum is complete and checked in: no checksum-database lookups are needed. The two
# modules below have no entry in the checksum database that the proxy mirrors; go.sum
# pins their hashes.
(
  cd "$TOOL_DIR"
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-mod=readonly
  export GONOSUMDB=${GONOSUMDB:-github.com/hashicorp/hcp-sdk-go,github.com/hashicorp/consul/envoyextensions}
  "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$tmp/consul" .
) >&2 || { rm -rf "$tmp"; die "go build of Consul $version failed (see above)"; }
"$tmp/consul" version >&2 || { rm -rf "$tmp"; die "the built binary does not run"; }
rm -rf "$out_dir"
mv "$tmp" "$out_dir"
echo "consul-build.sh: built $bin in $(($(date +%s) - start)) s" >&2
echo "$bin"
