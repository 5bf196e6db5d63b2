#!/usr/bin/env bash
# `make run`: the default study end to end on this machine.
#   1. jobs/default.sweep under mpirun with one rank per core (OMP_NUM_THREADS=1 per rank)
#      into results/default.h5; an existing file is resumed (only missing jobs run; moncim
#      refuses a file that holds a different sweep), --force starts it over;
#   2. moncim report results/default.h5 (the summary tables);
#   3. results/plot.py: PNG figures into results/figures/.
#
#   scripts/run-default.sh [--force] [--np N]
# Environment: MONCIM (the binary, default build/bench/moncim), MONCIM_EXECUTOR (passed as
# --executor, e.g. "synthetic" to exercise the harness without the real pipeline), MONCIM_SWEEP,
# MONCIM_OUT, MONCIM_FIGURES (defaults below), PYTHON (default /usr/bin/python3: Debian's, which
# has h5py and matplotlib).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MONCIM=${MONCIM:-$here/build/bench/moncim}
SWEEP=${MONCIM_SWEEP:-$here/jobs/default.sweep}
OUT=${MONCIM_OUT:-$here/results/default.h5}
FIGS=${MONCIM_FIGURES:-$here/results/figures}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
NP=$(nproc)
force=0

while [ $# -gt 0 ]; do
  case $1 in
  --force) force=1 ;;
  --np)
    [ $# -ge 2 ] || { echo "run-default: --np needs a value" >&2; exit 2; }
    NP=$2
    shift
    ;;
  -h | --help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "run-default: unknown option '$1' (try --help)" >&2
    exit 2
    ;;
  esac
  shift
done
case $NP in '' | *[!0-9]* | 0) echo "run-default: --np '$NP': expected a positive integer" >&2; exit 2 ;; esac
[ -x "$MONCIM" ] || { echo "run-default: $MONCIM is not built (make build)" >&2; exit 1; }
[ -f "$SWEEP" ] || { echo "run-default: sweep file $SWEEP not found" >&2; exit 1; }

mpi=(mpirun -np "$NP" --oversubscribe -x OMP_NUM_THREADS=1)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root) # Open MPI refuses root without it
args=(sweep "$SWEEP" -o "$OUT")
if [ -e "$OUT" ] && [ $force -eq 0 ]; then
  args+=(--resume)
  echo "run-default: $OUT exists: resuming it (only missing jobs run; --force starts over)" >&2
elif [ -e "$OUT" ]; then
  args+=(--force)
fi
[ -n "${MONCIM_EXECUTOR:-}" ] && args+=(--executor "$MONCIM_EXECUTOR")
mkdir -p "$(dirname "$OUT")"

echo "run-default: ${mpi[*]} $MONCIM ${args[*]}" >&2
sweep_rc=0
OMP_NUM_THREADS=1 "${mpi[@]}" "$MONCIM" "${args[@]}" || sweep_rc=$?
if [ $sweep_rc -ne 0 ]; then
  # moncim said why above (a refused output, an unknown executor, failed jobs, ...).
  echo "run-default: the sweep failed (exit $sweep_rc): no report, no figures." >&2
  [ -f "$OUT" ] && echo "run-default: what $OUT holds: $MONCIM report $OUT" >&2
  exit $sweep_rc
fi

"$MONCIM" report "$OUT"
mkdir -p "$FIGS"
"$PY" "$here/results/plot.py" "$OUT" -o "$FIGS"

echo
echo "run-default: results  $OUT   (h5py/pandas: results/SCHEMA.md; tables: moncim report $OUT)"
echo "run-default: figures  $FIGS/"
ls -1 "$FIGS"/*.png 2>/dev/null | sed 's/^/  /'
