#!/usr/bin/env bash
# Runs each named fuzz target for FUZZ_SECONDS (default 60) on its seed corpus in $FUZZ_DIR
# (the build's fuzz/ directory), one after the other; exits 1 on the first finding, whose input
# is kept in $FUZZ_DIR/artifacts/. The counts line ("Done N runs in S second(s)") of each run
# is repeated at the end.
set -uo pipefail
secs=${FUZZ_SECONDS:-60}
dir=${FUZZ_DIR:?FUZZ_DIR is the build tree\'s fuzz/ directory}
mkdir -p "$dir/artifacts" "$dir/logs"
summary=()
for t in "$@"; do
  log="$dir/logs/$t.log"
  echo "fuzz: $t for ${secs}s (log $log)" >&2
  # -max_len 65536: large enough for every seed header, small enough to stay fast. -timeout is
  # wall time: 60 s keeps a loaded shared machine (the CI box, a busy node) from faking a hang.
  "$dir/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=60 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" >"$log" 2>&1
  rc=$?
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $t FOUND A PROBLEM (exit $rc); input in $dir/artifacts/" >&2
    exit 1
  fi
  summary+=("$t: $done_line")
done
printf 'fuzz: %s\n' "${summary[@]}" >&2
echo "fuzz: ${#summary[@]} passed, 0 failed"
