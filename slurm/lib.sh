# shellcheck shell=bash disable=SC2034  # MONCIM_LAUNCH and MONCIM_USR1 are read by the scripts
# Shared by slurm/*.sbatch (sourced, not run). Slurm runs a spooled copy of a batch script, so
# the scripts find the checkout through the job's Command= (the path given to sbatch) and then
# source this file. Environment knobs (all optional):
#   MONCIM_ROOT      the moncim checkout (default: the directory above the submitted script)
#   MONCIM_BIN       the moncim binary (default: $MONCIM_ROOT/build/bench/moncim)
#   MONCIM_LAUNCHER  srun (default) | mpirun | none: how the MPI ranks are started
#   MONCIM_SRUN_MPI  srun's --mpi plugin (default pmix)
#   MONCIM_RESUME    1: pass --resume even on the first run (continue an existing output)

moncim_log() { echo "moncim-slurm[${SLURM_JOB_ID:-?}]: $*" >&2; }

moncim_die() {
  moncim_log "error: $*"
  exit 2
}

# The moncim binary: $MONCIM_BIN, else the build directory of the checkout.
moncim_bin() {
  local bin=${MONCIM_BIN:-$MONCIM_ROOT/build/bench/moncim}
  [ -x "$bin" ] || moncim_die "no moncim binary at $bin: build it (make build) or set MONCIM_BIN"
  echo "$bin"
}

# Threads and pinning for the OpenMP threads inside each rank (one job runs on one rank).
moncim_threads_env() {
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  # Threads stay near their rank's first core, one place per core; both only act inside the
  # CPU set Slurm (srun --cpu-bind) or mpirun (--bind-to core) gives the rank.
  export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
  export OMP_PLACES=${OMP_PLACES:-cores}
  # OpenBLAS calls run inside the OpenMP-parallel jobs: its own threads would oversubscribe.
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
}

# Fills the array MONCIM_LAUNCH with the command prefix that starts $SLURM_NTASKS ranks of
# ${SLURM_CPUS_PER_TASK:-1} CPUs each, according to $MONCIM_LAUNCHER.
moncim_launcher() {
  local ntasks=${SLURM_NTASKS:-1} cpt=${SLURM_CPUS_PER_TASK:-1}
  case "${MONCIM_LAUNCHER:-srun}" in
  srun)
    # Slurm >= 22.05 no longer passes the job's --cpus-per-task to srun: give it explicitly.
    # Open MPI must be built with PMIx (Debian's and most clusters' are): srun --mpi=list shows
    # the plugins. pmi2 does not work with Debian's Open MPI 4.1 (MPI_Init aborts).
    MONCIM_LAUNCH=(srun "--mpi=${MONCIM_SRUN_MPI:-pmix}" --ntasks="$ntasks" --cpus-per-task="$cpt"
      --cpu-bind=cores --kill-on-bad-exit=1)
    ;;
  mpirun)
    # Open MPI's mpirun reads the allocation from Slurm; PE=c reserves c cores per rank.
    # As root it also needs OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.
    MONCIM_LAUNCH=(mpirun -np "$ntasks" --map-by "slot:PE=$cpt" --bind-to core)
    ;;
  none)
    # One process, no launcher (MPI singleton): for --ntasks=1.
    [ "$ntasks" -eq 1 ] || moncim_die "MONCIM_LAUNCHER=none runs one rank, but --ntasks=$ntasks"
    MONCIM_LAUNCH=()
    ;;
  *) moncim_die "MONCIM_LAUNCHER='$MONCIM_LAUNCHER': expected srun, mpirun or none" ;;
  esac
}

# Runs "$@" in the background and waits for it. A SIGUSR1 to the batch shell (sbatch
# --signal=B:USR1@SECONDS, sent that long before the time limit, or `scancel --signal=USR1
# --batch JOBID`) stops it with SIGTERM (the results file is safe against kills at any moment,
# results/SCHEMA.md) and requeues this job: the requeued run resumes the same output. Returns
# the command's exit status; does not return after a successful requeue.
moncim_run_requeueable() {
  MONCIM_USR1=0
  # USR1, not TERM, to the launcher: srun and mpirun both forward USR1 to every rank, while
  # mpirun answers TERM by killing the ranks about a second later (no time for moncim's --grace).
  trap 'MONCIM_USR1=1; moncim_log "SIGUSR1 (time limit near): stopping the sweep"; kill -USR1 "$MONCIM_PID" 2>/dev/null' USR1
  "$@" &
  MONCIM_PID=$!
  local rc
  while :; do
    wait "$MONCIM_PID"
    rc=$?
    kill -0 "$MONCIM_PID" 2>/dev/null || break # else wait was interrupted by the signal
  done
  trap '' USR1 # a late signal must not kill the shell of a finished sweep
  if [ "$MONCIM_USR1" -eq 1 ]; then
    moncim_log "sweep stopped (status $rc); requeueing job $SLURM_JOB_ID to resume it"
    if scontrol requeue "$SLURM_JOB_ID"; then
      # Slurm now ends this run; the requeued one starts with SLURM_RESTART_COUNT > 0.
      sleep 300 &
      wait $! || true
      exit 0
    fi
    moncim_log "requeue refused (JobRequeue=0 on this cluster?): resubmit the same command" \
      "with MONCIM_RESUME=1 and the same -o to finish the sweep"
    return 3
  fi
  return "$rc"
}

# 1 when this run must continue its output: a requeued run or MONCIM_RESUME=1.
moncim_resuming() {
  [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] || [ "${MONCIM_RESUME:-0}" = 1 ]
}
