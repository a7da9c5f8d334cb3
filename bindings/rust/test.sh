#!/usr/bin/env bash
# The Rust binding's tests: builds and installs liboffkv into a private prefix (or uses
# an installed one), then runs cargo fmt --check, cargo clippy -D warnings and cargo
# test (unit, integration and doc tests). The last lines are cargo test's own summary.
#
#   bindings/rust/test.sh
#
# Environment:
#   OFFKV_TEST_URL          real servers to test besides mem://, separated by spaces
#   OFFKV_TEST_URL_FILE     files holding such URLs, separated by ':' (as written by
#                           tests/servers/*.sh); a missing file FAILS the tests
#   OFFKV_PREFIX            use liboffkv installed there (PREFIX/lib/pkgconfig/offkv.pc)
#                           instead of building it
#   OFFKV_RUST_BUILD_DIR    CMake build dir when building (default: <repo>/build-rust);
#                           the library is installed into $OFFKV_RUST_BUILD_DIR/prefix
#   OFFKV_RUST_BACKENDS     backends to compile in, e.g. "zk etcd" (default: those of
#                           the test URLs' schemes; mem is always in)
#   OFFKV_JOBS              build parallelism (default 2)
#   CARGO_TARGET_DIR        default ${XDG_CACHE_HOME:-$HOME/.cache}/offkv/cargo-target,
#                           so that fresh clones reuse compiled dependencies
#   OFFKV_RUST_TEST_FLAGS   extra arguments for cargo test (e.g. "--test watch")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# rustup installs into ~/.cargo/bin, which a non-login shell may not have on PATH.
[[ -x $HOME/.cargo/bin/cargo ]] && ! command -v cargo >/dev/null && PATH=$HOME/.cargo/bin:$PATH
command -v cargo >/dev/null || { echo "bindings/rust/test.sh: cargo is not installed (rustup)" >&2; exit 1; }

# ---- The library ----
# shellcheck source=../../scripts/binding-lib.sh
source "$root/scripts/binding-lib.sh"
prefix=$(offkv_binding_prefix rust)
pc=$(find "$prefix" -name offkv.pc -path '*/pkgconfig/*' 2>/dev/null | head -1)
[[ -n $pc ]] || { echo "bindings/rust/test.sh: no offkv.pc under $prefix" >&2; exit 1; }
libdir=$(cd "$(dirname "$pc")/.." && pwd)
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/offkv/cargo-target}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-${OFFKV_JOBS:-2}}

# ---- The binding ----
cd "$here"
extra=(${OFFKV_RUST_TEST_FLAGS:-})
echo "bindings/rust/test.sh: cargo fmt --check"
cargo fmt --all --check
echo "bindings/rust/test.sh: cargo clippy (library: $libdir)"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "bindings/rust/test.sh: cargo test"
cargo test --locked --workspace --no-fail-fast "${extra[@]}"
