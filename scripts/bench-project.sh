#!/usr/bin/env bash
# Benchmark of `moncim project`: a random 4096x4096 F32 weight projected to Monarch
# with nblocks 4 and 64 (rank-1 Monarch). Targets on a 2-core machine: < 30 s and < 5 s.
# Figure of merit: wall time of the whole command (read + project + write), min/median/max over
# REPS runs; the projection time alone (from --json) is shown too.
#
#   scripts/bench-project.sh            (MONCIM=path/to/moncim, REPS=3, N=4096, NBLOCKS="4 64")
# Exit status 1 if a target is missed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MONCIM=${MONCIM:-$here/build/bench/moncim}
PY=${PYTHON:-/usr/bin/python3}
REPS=${REPS:-3}
N=${N:-4096}
NBLOCKS=${NBLOCKS:-"4 64"}
[ -x "$MONCIM" ] || { echo "bench-project: $MONCIM not built (make build)" >&2; exit 1; }
"$PY" -c 'import numpy' 2>/dev/null ||
  { echo "bench-project: $PY lacks numpy (apt-get install python3-numpy)" >&2; exit 1; }

work=$(mktemp -d /tmp/moncim-bench-project.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Untimed setup: the random weight, written as safetensors (8-byte little-endian header length,
# JSON header, raw little-endian F32 data).
"$PY" - "$work/w.safetensors" "$N" <<'EOF'
import json, struct, sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
w = np.random.default_rng(2026).standard_normal((n, n), dtype=np.float32)
h = json.dumps({"w": {"dtype": "F32", "shape": [n, n], "data_offsets": [0, w.nbytes]}}).encode()
h += b" " * (-len(h) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.write(w.astype("<f4").tobytes())
EOF

echo "# moncim project, random ${N}x${N} F32, $(nproc) cores, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}, $REPS runs each"
echo "# $("$MONCIM" --version)"
printf "%-8s %9s %9s %9s %12s %10s %8s  %s\n" nblocks min_s median_s max_s project_s rel_err target result
status=0
for nb in $NBLOCKS; do
  case $nb in 4) target=30 ;; 64) target=5 ;; *) target=${TARGET:-0} ;; esac
  "$MONCIM" project --in "$work/w.safetensors" --tensor w --nblocks "$nb" \
    --out "$work/m.safetensors" --json >/dev/null # warm-up: page cache, library loading
  walls=() projs=() rel=
  for _ in $(seq "$REPS"); do
    t0=$(date +%s.%N)
    "$MONCIM" project --in "$work/w.safetensors" --tensor w --nblocks "$nb" \
      --out "$work/m.safetensors" --json >"$work/out.json"
    t1=$(date +%s.%N)
    walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    read -r p rel < <("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["time_project_s"], j["rel_err"])' "$work/out.json")
    projs+=("$p")
  done
  read -r mn md mx < <(printf "%s\n" "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}')
  pmin=$(printf "%s\n" "${projs[@]}" | sort -g | head -1)
  res=ok
  if [ "$target" != 0 ] && awk -v m="$md" -v t="$target" 'BEGIN {exit !(m >= t)}'; then
    res=MISSED
    status=1
  fi
  printf "%-8s %9.3f %9.3f %9.3f %12.3f %10.6f %7ss  %s\n" "$nb" "$mn" "$md" "$mx" "$pmin" "$rel" \
    "$target" "$res"
done
exit $status
