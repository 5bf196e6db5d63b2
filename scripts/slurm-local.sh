#!/usr/bin/env bash
# A real one-node Slurm on this machine, for testing slurm/*.sbatch (tests/slurm/run.sh).
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge if missing (apt-get, root), write
#                                   a private config and start munged, slurmctld and slurmd
#   scripts/slurm-local.sh status   what runs, sinfo; exit 0 only if the node takes jobs
#   scripts/slurm-local.sh stop     stop every daemon `start` started (by pid file), keep files
#   scripts/slurm-local.sh env      print `export SLURM_CONF=...` for eval in a shell
#
# Everything lives in $MONCIM_SLURM_DIR (default /tmp/moncim-slurm): slurm.conf, its own munge
# key and socket, state, spool, logs, pid files. Nothing under /etc is changed, and the system's
# munged/slurmd (if any) are left alone: the daemons use their own ports ($MONCIM_SLURM_PORT,
# default 16817, and the next one) and munge socket. Client commands need SLURM_CONF pointing
# at the private slurm.conf (see `env`). Runs as root (the CI user): the daemons run as root, so
# jobs run as root too. `start` is idempotent: a running, healthy cluster is left as it is.
set -euo pipefail

DIR=${MONCIM_SLURM_DIR:-/tmp/moncim-slurm}
PORT=${MONCIM_SLURM_PORT:-16817}
CONF=$DIR/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket.2
export SLURM_CONF=$CONF
export PATH=$PATH:/usr/sbin:/sbin # the daemons live there; not on every PATH

say() { echo "slurm-local: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

install_packages() {
  # slurm-wlm pulls slurmctld, slurmd, slurm-client and the plugins; munge authenticates.
  local pkgs=(slurm-wlm munge) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  for b in slurmctld slurmd sbatch munged; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=(slurm-wlm)
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root or apt-get install them"
  say "installing ${missing[*]} (apt-get)"
  # The packages' postinst scripts would start the system daemons (with /etc configs we do not
  # use): forbid service starts for the duration of the install, if nobody else did so already.
  local policy=/usr/sbin/policy-rc.d ours=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    ours=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  [ $ours -eq 1 ] && rm -f "$policy"
  [ $rc -eq 0 ] || die "apt-get install ${missing[*]} failed"
}

# pid of the daemon recorded in pid file $1, if that process still runs $2; else nothing.
pid_of() {
  local f=$1 name=$2 pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] || return 1
  grep -q "$name" "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  # MB of memory, a little under the total so that slurmd's own measurement never falls short.
  mem=$(free -m | awk '/^Mem:/ {print int($2 * 0.95)}')
  mkdir -p "$DIR"/{state,spool,log,munge,run}
  chmod 700 "$DIR/munge"
  cat >"$CONF.new" <<EOF
# Written by scripts/slurm-local.sh: a one-node cluster on $host for tests. Do not edit.
ClusterName=moncim-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long (default 120 s) before it may start again.
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups needed (containers, CI): processes are tracked by their process tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# Quick turnaround for tests: schedule and check signals/time limits often.
SchedulerParameters=sched_interval=2,bf_interval=5
MessageTimeout=20
KillWait=10
# Open MPI 4.1 in Debian is built with PMIx, so srun --mpi=pmix can start its ranks.
MpiDefault=none
ReturnToService=2
# No slurmdbd: 'sacct --completion' reads the job completion log instead.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
# Finished jobs stay visible to scontrol/squeue for 10 minutes (Restarts= count, states).
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.new" "$CONF"
  [ -s "$DIR/munge/munge.key" ] || {
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$DIR/munge/munge.key"
  }
}

start_munge() {
  pid_of "$DIR/run/munged.pid" munged >/dev/null && return 0
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  # --force: munged refuses /tmp paths and root's own key without it.
  munged --force --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" || die "munged did not start (see $DIR/log/munged.log)"
}

wait_for() { # seconds, command...
  local t=$1 i
  shift
  for ((i = 0; i < t * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}

node_up() {
  local st
  st=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
  case "$st" in idle* | mixed* | allocated* | completing*) return 0 ;; esac
  return 1
}

start() {
  install_packages
  if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null &&
    pid_of "$DIR/run/slurmd.pid" slurmd >/dev/null && node_up; then
    say "already running ($CONF)"
    return 0
  fi
  write_config
  start_munge
  # Daemons run niced: the jobs they start inherit it and leave the CPUs to interactive work.
  if ! pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    # -c: start clean (no jobs from an earlier life of this test cluster); -i: ignore bad state.
    nice -n 10 slurmctld -c -i -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  fi
  wait_for 30 scontrol ping || die "slurmctld does not answer (see $DIR/log/slurmctld.log)"
  if ! pid_of "$DIR/run/slurmd.pid" slurmd >/dev/null; then
    nice -n 10 slurmd -f "$CONF" -N "$(hostname -s)" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  fi
  if ! wait_for 60 node_up; then
    # A node left DOWN/DRAINED by an earlier life: bring it back once.
    scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
    wait_for 30 node_up || die "node not up: $(sinfo -N -l 2>&1) (see $DIR/log/slurmd.log)"
  fi
  say "running: SLURM_CONF=$CONF ($(sinfo -h -N -o '%N %c CPUs %m MB %T'))"
}

stop_one() { # name
  local pid
  pid=$(pid_of "$DIR/run/$1.pid" "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.25
  done
  say "$1 ($pid) ignored SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  if pid_of "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    # Cancel what is left so that no job step outlives its slurmd.
    scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    queue_empty() { [ -z "$(squeue -h 2>/dev/null)" ]; }
    wait_for 15 queue_empty || true
  fi
  stop_one slurmd
  # Job processes that survived their slurmstepd (tracked by linuxproc, now without slurmd).
  local p
  for p in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if grep -qs "$DIR" "/proc/$p/cmdline" "/proc/$p/environ"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  stop_one slurmctld
  stop_one munged
  say "stopped"
}

status() {
  local rc=0 d pid
  for d in munged slurmctld slurmd; do
    if pid=$(pid_of "$DIR/run/$d.pid" "$d"); then
      echo "$d: running (pid $pid)"
    else
      echo "$d: not running"
      rc=1
    fi
  done
  if [ $rc -eq 0 ]; then
    sinfo -N -l || rc=1
    node_up || rc=1
  fi
  return $rc
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
env) echo "export SLURM_CONF=$CONF" ;;
*)
  echo "usage: $0 start|stop|status|env" >&2
  exit 2
  ;;
esac
