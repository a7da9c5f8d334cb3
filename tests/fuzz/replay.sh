#!/usr/bin/env bash
# Runs a fuzz target once on every file of the given directories (the seed corpus and
# the regression inputs), without fuzzing: a non-zero exit on any crash, leak or
# sanitizer report. usage: replay.sh TARGET_BINARY DIR...
set -euo pipefail
bin=$1
shift
files=()
for dir in "$@"; do
  [[ -d $dir ]] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -type f ! -name '.*' -print0 | sort -z)
done
if ((${#files[@]} == 0)); then
  echo "replay.sh: no input in $*" >&2
  exit 1
fi
echo "replay.sh: $(basename "$bin") on ${#files[@]} inputs"
# Given files (not directories), libFuzzer runs each once and exits.
exec "$bin" -rss_limit_mb=2048 -timeout=60 "${files[@]}"
