#!/usr/bin/env bash
# The Java binding's tests: uses liboffkv installed in OFFKV_PREFIX, or builds and
# installs it into a private prefix; then `mvn -B verify`, which builds the JNI glue
# with CMake, packs it and liboffkv into the jar, and runs the JUnit 5 suite (Surefire)
# against that jar. The last lines are Surefire's summary and Maven's result.
#
#   bindings/java/test.sh [extra mvn arguments, e.g. -Dtest=WatchesTest]
#
# Environment:
#   OFFKV_TEST_URL          real servers to test besides mem://, separated by spaces
#   OFFKV_TEST_URL_FILE     files holding such URLs, separated by ':' (as written by
#                           tests/servers/*.sh); a missing file FAILS the tests
#   OFFKV_PREFIX            use liboffkv installed there (PREFIX/lib/cmake/offkv)
#                           instead of building it
#   OFFKV_JAVA_BUILD_DIR    CMake build dir when building (default: <repo>/build-java);
#                           the library is installed into $OFFKV_JAVA_BUILD_DIR/prefix
#   OFFKV_JAVA_BACKENDS     backends to compile in, e.g. "zk etcd" (default: those of
#                           the test URLs' schemes; mem is always in)
#   OFFKV_JOBS              build parallelism (default 2)
#   MAVEN_ARGS_EXTRA        extra arguments for mvn (e.g. -o, -Dmaven.repo.local=DIR)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

for tool in java mvn cmake; do
  command -v $tool >/dev/null || { echo "bindings/java/test.sh: $tool is not installed (bash scripts/deps.sh java)" >&2; exit 1; }
done

# ---- The library ----
# shellcheck source=../../scripts/binding-lib.sh
source "$root/scripts/binding-lib.sh"
prefix=$(offkv_binding_prefix java)
[[ -n $(find "$prefix" -path '*/cmake/offkv/offkvConfig.cmake' -print -quit 2>/dev/null) ]] ||
  { echo "bindings/java/test.sh: no liboffkv installed under $prefix" >&2; exit 1; }
prefix=$(cd "$prefix" && pwd)

# ---- The binding ----
# A fresh native build each time (the prefix may have changed); Maven's own cache of
# downloaded artifacts is ~/.m2 as usual.
rm -rf "$here/target/native-build"
echo "bindings/java/test.sh: mvn verify with liboffkv from $prefix"
exec mvn -B -f "$here/pom.xml" -Doffkv.prefix="$prefix" ${MAVEN_ARGS_EXTRA:-} verify "$@"
