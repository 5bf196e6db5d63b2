#!/usr/bin/env bash
# Tests slurm/*.sbatch against a real one-node Slurm (scripts/slurm-local.sh), as root:
#   (a) sbatch slurm/sweep.sbatch (2 ranks x 1 thread, srun) on a small synthetic sweep: the
#       HDF5 file holds every job; the same script with MONCIM_LAUNCHER=mpirun, 1 rank x 2
#       threads, writes the reference for (c)
#   (b) the job-array form, 3 parts + the dependent merge job: the merged file equals (a)'s
#       single run except timing columns (tests/sweep_mpi.py's comparison)
#   (c) SIGUSR1 to a running sweep (what --signal=B:USR1@SECONDS sends before the time limit):
#       the job requeues itself (Restarts=1), the second run resumes, every job is done, the
#       jobs of the first run are kept, and the file equals the uninterrupted run
# and prints the squeue / scontrol / sacct lines that show it. Builds nothing: run `make build`
# first (`make test-slurm` does). Stops the Slurm it started on exit; never waits unboundedly.
#   usage: tests/slurm/run.sh [BUILD_DIR]     (default: build)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
BIN=$BUILD/bench/moncim
[ -x "$BIN" ] || {
  echo "test-slurm: no $BIN: run make build first" >&2
  exit 1
}
[ "$BUILD" = "$SRC/build" ] || export MONCIM_BIN=$BIN # else the scripts' default path is tested
PY=/usr/bin/python3                                   # Debian's, with python3-h5py
[ -x $PY ] || PY=python3
# A cluster of its own (directory, ports), so that a Slurm started by hand is left alone.
export MONCIM_SLURM_DIR=${MONCIM_SLURM_DIR:-/tmp/moncim-slurm-test}
export MONCIM_SLURM_PORT=${MONCIM_SLURM_PORT:-16827}
export SLURM_CONF=$MONCIM_SLURM_DIR/slurm.conf
SLURM_LOCAL=$SRC/scripts/slurm-local.sh
SB=$SRC/slurm
T0=$(date +%s)
DEADLINE=$((T0 + ${MONCIM_SLURM_TEST_TIMEOUT:-300})) # hard cap for every wait below
WORK=$(mktemp -d /tmp/moncim-slurm-work.XXXXXX)
EVIDENCE=$WORK/evidence.txt
: >"$EVIDENCE"

h5check() { $PY "$SRC/tests/slurm/check.py" "$@"; } # complete | equal | runs | kept (check.py)

log() { echo "test-slurm [$(($(date +%s) - T0))s]: $*" >&2; }

cleanup() {
  local rc=$?
  set +e
  if [ $rc -ne 0 ]; then
    echo "test-slurm: FAILED; job logs and files kept in $WORK" >&2
    for f in "$WORK"/slurm-*.out; do
      [ -f "$f" ] && { echo "==== $f" && tail -n 30 "$f"; } >&2
    done
    echo "==== slurmctld.log" >&2
    tail -n 20 "$MONCIM_SLURM_DIR/log/slurmctld.log" >&2
  fi
  bash "$SLURM_LOCAL" stop
  [ $rc -eq 0 ] && rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# States of every job (array tasks included) of job id $1, one per line.
states() { scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
field() { scontrol -o show job "$1" 2>/dev/null | head -1 | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }

# Waits until every job of $1 reached a final state (at most $2 seconds); fails otherwise.
wait_done() {
  local id=$1 limit=$(($(date +%s) + $2)) st
  [ $limit -le $DEADLINE ] || limit=$DEADLINE
  while :; do
    st=$(states "$id" | sort -u | tr '\n' ' ')
    if [ -n "$st" ] && ! echo "$st" | grep -qE 'PENDING|RUNNING|CONFIGURING|COMPLETING|REQUEUE|SUSPENDED|RESIZING|SIGNALING|STAGE'; then
      echo "$st"
      return 0
    fi
    [ "$(date +%s)" -lt $limit ] || fail "job $id not finished after waiting (states: $st)"
    sleep 1
  done
}

# Waits until command "$@" succeeds (at most $1 seconds).
wait_for() {
  local limit=$(($(date +%s) + $1))
  shift
  [ $limit -le $DEADLINE ] || limit=$DEADLINE
  until "$@"; do
    [ "$(date +%s)" -lt $limit ] || return 1
    sleep 0.5
  done
}

snapshot() { # title: squeue as it stands, into the evidence
  {
    echo "--- $1"
    squeue -o '%.12i %.20j %.10T %.10M %.6D %.4C %R'
  } >>"$EVIDENCE"
}

log "starting the local Slurm ($MONCIM_SLURM_DIR)"
bash "$SLURM_LOCAL" start
cd "$WORK"
{
  echo "--- sinfo"
  sinfo -N -o '%N %c %m %T'
} >>"$EVIDENCE"

# ---------------------------------------------------------------- submissions (a), (a2), (b)
ja=$(sbatch --parsable -J t-sweep --ntasks=2 --cpus-per-task=1 "$SB/sweep.sbatch" "$SRC/tests/slurm/small.sweep")
jr=$(OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 MONCIM_LAUNCHER=mpirun \
  sbatch --parsable -J t-sweep-mpirun --ntasks=1 --cpus-per-task=2 "$SB/sweep.sbatch" \
  "$SRC/tests/slurm/slow.sweep" -o ref-slow.h5)
jb=$(sbatch --parsable -J t-array --array=0-2 "$SB/sweep-array.sbatch" "$SRC/tests/slurm/small.sweep")
log "submitted (a) sweep $ja, (a2) mpirun reference $jr, (b) array $jb"
snapshot "(a) $ja, (a2) $jr, (b) $jb submitted: they share the node's 2 CPUs"

# ---------------------------------------------------------------- (a)
st=$(wait_done "$ja" 120)
[ "$st" = "COMPLETED " ] || fail "(a) job $ja ended $st"
grep -q "2 ranks x 1 threads, launcher srun, output results/$ja.h5" "slurm-t-sweep-$ja.out" ||
  fail "(a) log lacks the ranks x threads line"
n=$(h5check complete "results/$ja.h5")
h5check runs "results/$ja.h5" sweep >/dev/null
rep=$("$BIN" report "results/$ja.h5")
[[ "$rep" == *"$n jobs, $n done, 0 failed, 0 pending"* ]] || fail "(a) moncim report: $rep"
log "(a) job $ja COMPLETED: results/$ja.h5 holds all $n jobs (2 ranks x 1 thread, srun)"

# The first array task submits the merge job and logs its id.
t0log=$WORK/slurm-t-array-${jb}_0.out
wait_for 120 grep -qs "merge job [0-9]* will write" "$t0log" || fail "array task 0 submitted no merge job"
jm=$(sed -n 's/.*merge job \([0-9]*\) will write.*/\1/p' "$t0log" | head -1)
snapshot "(b) array $jb and its merge job $jm (pending on Dependency)"
dep=$(scontrol -o show job "$jm" | grep -o "Dependency=[^ ]*")
[[ "$dep" == "Dependency=afterok:${jb}"* ]] || fail "merge job $jm: $dep, expected afterok:$jb"
echo "merge job $jm: $dep" >>"$EVIDENCE"

# ---------------------------------------------------------------- (b)
st=$(wait_done "$jb" 120)
[ "$st" = "COMPLETED " ] || fail "(b) array $jb ended $st"
st=$(wait_done "$jm" 60)
[ "$st" = "COMPLETED " ] || fail "(b) merge job $jm ended $st"
for i in 0 1 2; do
  h5check runs "results/$jb/part-$i-of-3.h5" sweep >/dev/null
done
h5check complete "results/$jb.h5" >/dev/null
h5check runs "results/$jb.h5" merge,sweep,sweep,sweep >/dev/null
h5check equal "results/$ja.h5" "results/$jb.h5" \
  "(b) merged array $jb vs single run $ja" >/dev/null
log "(b) array $jb (3 parts) + merge $jm COMPLETED: results/$jb.h5 equals the single run $ja"

# ---------------------------------------------------------------- (a2)
st=$(wait_done "$jr" 120)
[ "$st" = "COMPLETED " ] || fail "(a2) job $jr ended $st"
grep -q "1 ranks x 2 threads, launcher mpirun" "slurm-t-sweep-mpirun-$jr.out" || fail "(a2) log"
grep -q "moncim sweep: .* 1 ranks x 2 threads" "slurm-t-sweep-mpirun-$jr.out" ||
  fail "(a2) moncim did not get 2 OpenMP threads"
nslow=$(h5check complete ref-slow.h5)
log "(a2) job $jr COMPLETED under mpirun, 1 rank x 2 threads: ref-slow.h5 holds all $nslow jobs"

# ---------------------------------------------------------------- (c)
jc=$(sbatch --parsable -J t-requeue --ntasks=2 --cpus-per-task=1 "$SB/sweep.sbatch" \
  "$SRC/tests/slurm/slow.sweep" -v)
clog=$WORK/slurm-t-requeue-$jc.out
log "(c) submitted $jc; SIGUSR1 once 3 jobs are done"
three_done() {
  local n
  n=$(grep -cs 'done job' "$clog" || true)
  [ "${n:-0}" -ge 3 ]
}
wait_for 90 three_done || fail "(c) job $jc did not get 3 jobs done"
snapshot "(c) job $jc running, before SIGUSR1"
scancel --signal=USR1 --batch "$jc"
requeued() { [ "$(field "$jc" Restarts)" = 1 ]; }
wait_for 60 requeued || fail "(c) job $jc was not requeued (Restarts=$(field "$jc" Restarts))"
snapshot "(c) job $jc requeued after SIGUSR1 (pending until it may start again)"
{
  echo "--- (c) scontrol show job $jc after the requeue"
  scontrol show job "$jc" | grep -E 'JobId|JobState|Restarts'
} >>"$EVIDENCE"
st=$(wait_done "$jc" 150)
[ "$st" = "COMPLETED " ] || fail "(c) job $jc ended $st"
[ "$(field "$jc" Restarts)" = 1 ] || fail "(c) job $jc restarted $(field "$jc" Restarts) times"
grep -q "SIGUSR1 (time limit near): stopping the sweep" "$clog" || fail "(c) no SIGUSR1 in the log"
grep -q "run 2 on" "$clog" || fail "(c) the requeued run did not start"
kept=$(sed -n 's/.* to run (\([0-9]*\) already in results.*/\1/p' "$clog" | tail -1)
{ [ -n "$kept" ] && [ "$kept" -ge 3 ] && [ "$kept" -lt "$nslow" ]; } ||
  fail "(c) the resumed run found '$kept' jobs done (expected 3..$((nslow - 1)))"
h5check complete "results/$jc.h5" >/dev/null
h5check runs "results/$jc.h5" sweep,resume >/dev/null
h5check kept "results/$jc.h5" 0 "$kept" >/dev/null
h5check equal ref-slow.h5 "results/$jc.h5" \
  "(c) requeued and resumed $jc vs uninterrupted $jr" >/dev/null
log "(c) job $jc: SIGUSR1, requeued (Restarts=1), resumed with $kept of $nslow jobs kept," \
  "COMPLETED; equals the uninterrupted run $jr"

# ---------------------------------------------------------------- evidence
{
  echo "--- (c) job $jc log (the moncim-slurm and moncim header lines)"
  grep -E 'moncim-slurm|to run|DUE TO JOB REQUEUE' "$clog"
  echo "--- scontrol: final state and restart count"
  for j in $ja $jr $jb $jm $jc; do
    scontrol -o show job "$j" | awk '{ for (i = 1; i <= NF; i++)
      if ($i ~ /^(JobId|ArrayJobId|ArrayTaskId|JobName|JobState|Restarts|Dependency)=/) printf "%s ", $i
      print "" }'
  done
  echo "--- sacct --completion (no slurmdbd: the jobcomp/filetxt log, one line per end of a run;"
  echo "    the requeue of $jc ended its first run, logged with the state it went back to, PENDING)"
  ids=$(for j in $ja $jr $jb $jm $jc; do scontrol -o show job "$j" | sed -n 's/^JobId=\([0-9]*\) .*/\1/p'; done | sort -nu | paste -sd,)
  sacct -c -j "$ids" 2>&1 | grep -v "Unknown type"
} >>"$EVIDENCE"
cat "$EVIDENCE"
log "all 3 scenarios passed in $(($(date +%s) - T0)) s"
echo "test-slurm: 4 passed, 0 failed"
