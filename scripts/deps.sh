#!/usr/bin/env bash
# Installs what building and testing offkv needs on Debian 12, and nothing when it is
# already there (so a second run costs a few seconds).
#
# usage: scripts/deps.sh [GROUP...]
#   build   compiler, CMake, Ninja, pkg-config, ccache (always installed)
#   test    Catch2 and clang-format for the C++ tests
#   zk      ZooKeeper C client and a ZooKeeper server (Java) for the zk tests
#   etcd    gRPC/Protobuf toolchain and an etcd server for the etcd tests
#   consul  libcurl and nlohmann/json (the Consul server is built from Go sources by
#           tests/servers/consul-build.sh)
#   java    a JDK and Maven for bindings/java (the machine's OpenJDK 17)
#   rust    libclang for bindgen (bindings/rust); cargo itself comes from rustup
#   fuzz    clang with its libFuzzer and sanitizer runtimes (tests/fuzz)
#   faults  iproute2 for the fault suite's network namespaces (tests/faults)
#   abi     libabigail's abidiff for the ABI check
set -euo pipefail

declare -A packages=(
  [build]="cmake ninja-build g++ pkg-config binutils ccache"
  [test]="catch2 clang-format"
  [zk]="libzookeeper-mt-dev zookeeper default-jre-headless"
  [etcd]="libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler etcd-server etcd-client openssl"
  [consul]="libcurl4-openssl-dev nlohmann-json3-dev openssl"
  [java]="openjdk-17-jdk-headless maven"
  [rust]="libclang-dev clang"
  [fuzz]="clang libclang-rt-14-dev"
  [faults]="iproute2"
  [abi]="abigail-tools"
)

wanted=(${packages[build]})
for group in "$@"; do
  [[ -n ${packages[$group]+x} ]] || { echo "deps.sh: unknown group '$group'" >&2; exit 2; }
  wanted+=(${packages[$group]})
done

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "deps.sh: all packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo -n)
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
