#!/usr/bin/env bash
# A throwaway single-node Slurm cluster on localhost, everything (munge key and socket,
# slurm.conf, state, spool, logs, pid files) inside one folder, for the tests.
#
#   tests/cluster/slurm_cluster.sh start DIR   start munged, slurmctld and slurmd; wait until
#                                              the node is idle; write DIR/env.sh
#   tests/cluster/slurm_cluster.sh stop DIR    kill the daemons and any job still running
#   source DIR/env.sh                          point sbatch, squeue, scontrol at it
#
# Needs root (slurmd launches jobs as their user) and Debian's slurmctld, slurmd,
# slurm-client and munge (scripts/setup.sh installs them). Nothing outside DIR is used or
# changed: no systemd, no /etc/slurm, no system munged. Keep DIR short: a unix socket path
# holds at most 107 bytes.
set -euo pipefail

log() { echo "[slurm_cluster] $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

read_pid() { [[ -s $1 ]] && tr -dc '0-9' <"$1" || true; }
# Running, not a zombie: a container's PID 1 may never reap the daemons we stop.
alive() {
  local stat
  [[ -n ${1:-} ]] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${stat##*) } != Z* ]]
}

# Two free TCP ports above the kernel's ephemeral range, so no outgoing connection takes
# one between this check and the daemon's bind(). /proc/net/tcp lists ports in hex.
free_ports() {
  local low high port picked=()
  read -r low high </proc/sys/net/ipv4/ip_local_port_range
  local first=$((high + 1)) span=$((65535 - high))
  ((span > 1000)) || { first=10000 span=$((low - 10000)); }
  while ((${#picked[@]} < 2)); do
    port=$((first + (RANDOM * 32768 + RANDOM) % span))
    [[ " ${picked[*]} " == *" $port "* ]] && continue
    grep -qiE "^ *[0-9]+: [0-9a-f]+:$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 \
      2>/dev/null && continue
    picked+=("$port")
  done
  echo "${picked[@]}"
}

# Processes of the cluster in DIR: the daemons carry TAGCLIP_SLURM_CLUSTER=DIR in their
# environment; slurmstepd rewrites its environment with its title, so it is known by its
# working folder or its open log file, both under DIR.
cluster_pids() {
  local dir=$1 proc pid name target
  for proc in /proc/[0-9]*; do
    pid=${proc#/proc/}
    name=$(cat "$proc/comm" 2>/dev/null) || continue
    [[ $name == slurm* || $name == munged ]] || continue
    if grep -qzxF "TAGCLIP_SLURM_CLUSTER=$dir" "$proc/environ" 2>/dev/null; then
      echo "$pid"
      continue
    fi
    for target in "$proc/cwd" "$proc"/fd/*; do
      target=$(readlink "$target" 2>/dev/null) || continue
      if [[ $target == "$dir" || $target == "$dir"/* ]]; then
        echo "$pid"
        break
      fi
    done
  done
}

# The processes of jobs: everything in the sessions of the cluster's slurmstepds.
job_pids() {
  local sessions=" $* " proc fields
  (($#)) || return 0
  for proc in /proc/[0-9]*; do
    fields=$(cat "$proc/stat" 2>/dev/null) || continue
    fields=${fields##*) }
    read -r -a fields <<<"$fields"
    [[ $sessions == *" ${fields[3]} "* && ${fields[0]} != Z ]] && echo "${proc#/proc/}"
  done
}

step_sessions() {
  local pid fields
  for pid in $(cluster_pids "$1"); do
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == slurmstepd ]] || continue
    fields=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    fields=${fields##*) }
    read -r -a fields <<<"$fields"
    echo "${fields[3]}"
  done | sort -u
}

show_logs() {
  local file
  for file in "$1"/log/*; do
    [[ -s $file ]] || continue
    echo "----- $file (last 30 lines)" >&2
    tail -n 30 "$file" >&2
  done
}

start() {
  local dir=$1 tool
  [[ $(id -u) == 0 ]] || die "needs root: slurmd starts jobs as their user"
  for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$tool" >/dev/null ||
      die "$tool not found: scripts/setup.sh installs slurmctld slurmd slurm-client munge"
  done
  # The daemons talk over 127.0.0.1, which Slurm resolves with AI_ADDRCONFIG: glibc then
  # wants an IPv4 address other than 127.0.0.1. A fresh network namespace (unshare -n) has
  # none, and its loopback is down: bring lo up with a second loopback address.
  if ! getent ahostsv4 127.0.0.1 >/dev/null; then
    command -v ip >/dev/null || die "127.0.0.1 does not resolve and ip (iproute2) is missing"
    ip link set lo up && ip addr add 127.0.0.2/8 dev lo ||
      die "cannot set up the loopback interface"
    getent ahostsv4 127.0.0.1 >/dev/null || die "127.0.0.1 still does not resolve"
    log "isolated network: loopback brought up with 127.0.0.2 beside 127.0.0.1"
  fi
  # start wipes its subfolders: only in a new folder or one it made before.
  if [[ -d $dir && -n $(ls -A "$dir") && ! -f $dir/.tagclip-slurm-cluster ]]; then
    die "$dir is not empty and not a cluster folder of this script"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  touch "$dir/.tagclip-slurm-cluster"
  local socket=$dir/munge/socket
  ((${#socket} < 100)) || die "$dir is too long a path for munge's socket"
  rm -rf "${dir:?}"/{munge,etc,state,spool,log,run}
  # munged refuses a socket folder that others cannot traverse (mktemp -d gives 0700).
  chmod 0755 "$dir"
  mkdir -m 0755 "$dir"/{munge,etc,state,spool,log,run}
  dd if=/dev/urandom of="$dir/munge/key" bs=128 count=1 status=none
  chmod 0400 "$dir/munge/key"
  TAGCLIP_SLURM_CLUSTER=$dir munged --force --socket="$socket" --key-file="$dir/munge/key" \
    --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/seed" </dev/null >"$dir/log/munged.out" 2>&1 ||
    { show_logs "$dir"; die "munged did not start"; }

  local cpus memory ports hardware
  hardware=$(slurmd -C | head -n 1)  # "NodeName=x CPUs=2 ... RealMemory=24151"
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hardware")
  memory=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hardware")
  read -r -a ports <<<"$(free_ports)"
  # Fast scheduling, no accounting database, no cgroups. proctrack/linuxproc, not pgid:
  # with pgid a step waits for its process group to empty, and zombies left under a
  # container's non-reaping PID 1 count, so a requeue hangs in COMPLETING. cred_expire (5 s, Slurm's minimum) is also how long
  # a requeued task waits before it starts again. MinJobAge keeps finished tasks visible
  # to scontrol.
  cat >"$dir/etc/slurm.conf" <<CONF
ClusterName=tagclip-test
SlurmctldHost=localhost
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=5
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=1,sched_min_interval=0,bf_interval=1
ReturnToService=2
KillWait=2
InactiveLimit=0
MinJobAge=86400
JobRequeue=1
NodeName=localnode NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$((memory * 9 / 10)) State=UNKNOWN
PartitionName=test Nodes=localnode Default=YES MaxTime=INFINITE State=UP
CONF
  echo "export SLURM_CONF=$dir/etc/slurm.conf" >"$dir/env.sh"
  export SLURM_CONF=$dir/etc/slurm.conf
  TAGCLIP_SLURM_CLUSTER=$dir slurmctld -c -f "$SLURM_CONF" </dev/null >"$dir/log/slurmctld.out" 2>&1 ||
    { show_logs "$dir"; stop "$dir"; die "slurmctld did not start"; }
  TAGCLIP_SLURM_CLUSTER=$dir slurmd -N localnode -f "$SLURM_CONF" </dev/null >"$dir/log/slurmd.out" 2>&1 ||
    { show_logs "$dir"; stop "$dir"; die "slurmd did not start"; }
  local state="" started=$SECONDS
  while ((SECONDS - started < 60)); do
    state=$(timeout 10 sinfo -h -N -n localnode -o %t 2>/dev/null || true)
    [[ $state == idle ]] && break
    sleep 0.2
  done
  if [[ $state != idle ]]; then
    show_logs "$dir"
    stop "$dir"
    die "the node is '$state', not idle, after 60 s"
  fi
  log "up: SLURM_CONF=$SLURM_CONF, $cpus CPUs, ports ${ports[*]}"
}

stop() {
  local dir=$1 name pid waited
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd -P)
  # slurmd leaves running jobs behind when it exits: kill them first.
  local jobs
  jobs=$(job_pids $(step_sessions "$dir"))
  [[ -z $jobs ]] || kill -KILL $jobs 2>/dev/null || true
  for name in slurmd slurmctld munged; do
    pid=$(read_pid "$dir/run/$name.pid")
    alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
  done
  for name in slurmd slurmctld munged; do
    pid=$(read_pid "$dir/run/$name.pid")
    for ((waited = 0; waited < 100; waited++)); do
      alive "$pid" || break
      sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  done
  local left
  for ((waited = 0; waited < 50; waited++)); do
    left=$(cluster_pids "$dir")
    [[ -z $left ]] && break
    kill -KILL $left 2>/dev/null || true
    sleep 0.1
  done
  [[ -z $left ]] || die "processes of $dir still running: $left"
  log "stopped $dir"
}

case "${1:-}:$#" in
  start:2) start "$2" ;;
  stop:2) stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
