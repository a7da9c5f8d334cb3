#!/usr/bin/env bash
# The main job: installs what is needed, builds offkv (mem:// only, no server) and runs
# the demo: two clients in one process, watches, an ephemeral vanishing, CAS, a txn.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OFFKV_DEMO_BUILD_DIR:-$root/build-demo}

bash "$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOFFKV_BUILD_TESTS=OFF -DOFFKV_BUILD_TOOLS=ON >/dev/null
cmake --build "$build" --target offkv-demo offkv-cli -j "$(nproc)"
exec "$build/examples/offkv-demo"
