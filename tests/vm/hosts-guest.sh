#!/bin/bash
# Runs inside the 4-node Debian 13 guest (see hosts-trixie.test): two Slurm
# hosts in one guest.  Host A is the guest itself (hostname hosta,
# 10.77.0.1); host B (hostb, 10.77.0.2) is a UTS + network + mount
# namespace joined to A by a veth pair, with its own slurmd and its own
# numamigrated (its own socket and journal: B's mount namespace binds its
# own directories over the shared paths).  Both hosts share the kernel,
# so both see NUMA nodes 0-3; slurmctld and munged run on A, and munged's
# socket (a path) serves both.
#
# A 4-rank nm-mpi-churn job, 2 ranks per host (srun -N2 --mpi=pmix), bound
# to NUMA nodes 0-1 on each host, is then
#   1. moved 0-1:2-3 by one 'srun --jobid=J --overlap --migrate-nodes=...':
#      both hosts' ranks move, the step's output has one line per host;
#   2. moved back by 'numamigrate move J --map 2-3:0-1' from A: A's
#      helper over its Unix socket, B's over TCP with a MUNGE credential;
#   3. with B's helper killed, moved again, by the CLI and by srun: the
#      report names hostb, A's move completes, nothing is left frozen,
#      and the srun move back leaves both hosts on the same nodes;
# and at the end every rank's data and ring messages are intact.
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
NUMAMIGRATE=$top_builddir/helper/numamigrate
NUMAMIGRATED=$top_builddir/helper/numamigrated
PLUGIN=$top_builddir/spank/.libs/numamigrate.so
MPI=$top_builddir/tests/mpi
USER_=nmuser
A_IP=10.77.0.1
B_IP=10.77.0.2
NM_PORT=7390

fails=0
ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
hard_error() {
	echo "ERROR (hard): $*"
	exit 99
}
# shellcheck source=tests/wait.sh
. "$top_srcdir/tests/wait.sh"

for f in "$NUMAMIGRATE" "$NUMAMIGRATED" "$MPI/nm-mpi-churn"; do
	[ -x "$f" ] || hard_error "$f is not built"
done
[ -f "$PLUGIN" ] || hard_error "$PLUGIN is not built"
[ "$(cat /sys/devices/system/node/online 2>/dev/null)" = 0-3 ] ||
	hard_error "not the 4-node guest: nodes $(cat /sys/devices/system/node/online)"
for n in 0 1 2 3; do
	[ "$(cat /sys/devices/system/node/node$n/cpulist)" = $n ] ||
		hard_error "node $n has CPUs '$(cat /sys/devices/system/node/node$n/cpulist)', expected $n"
done
for bin in srun slurmd slurmctld munged unshare nsenter ip; do
	command -v $bin >/dev/null || hard_error "'$bin' not found in the guest"
done
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] ||
	hard_error "/sys/fs/cgroup is not cgroup2"
if [ -w /proc/sys/kernel/numa_balancing ]; then
	echo 0 >/proc/sys/kernel/numa_balancing
fi

T=/tmp/nm-hosts
rm -rf "$T"
mkdir -p "$T"/{etc,log,pid,state,spool,work,tmp,run,munge/run} \
	"$T"/a/journal "$T"/b/{run,tmp,journal} || hard_error "mkdir $T"
chmod 755 "$T" "$T"/etc "$T"/log "$T"/run "$T"/b "$T"/b/run
chmod 1777 "$T"/work "$T"/tmp "$T"/b/tmp
B_PID=
DPIDS=()

cleanup() {
	local rc=$? p
	trap - EXIT
	scancel --full -u "$USER_" >/dev/null 2>&1
	for p in "${DPIDS[@]}" $B_PID; do
		kill "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ]; then
		for f in "$T"/log/*.log "$T"/a/daemon.log "$T"/b/daemon.log; do
			[ -s "$f" ] || continue
			echo "---- last lines of $f"
			tail -n 30 "$f"
		done
	fi
	exit "$rc"
}
trap cleanup EXIT

# in_b CMD...: runs CMD in host B's namespaces.
in_b() { nsenter -t "$B_PID" --uts --net --mount -- "$@"; }
# as_user CMD...: the job user, on host A.
as_user() {
	(cd "$T/work" && runuser -u "$USER_" -- env SLURM_CONF="$T/etc/slurm.conf" \
		HOME="$T/work" USER="$USER_" LOGNAME="$USER_" "$@")
}

# ---- two hosts ---------------------------------------------------------------
id "$USER_" >/dev/null 2>&1 || useradd --no-create-home --user-group "$USER_" ||
	hard_error "useradd $USER_"
modprobe veth 2>/dev/null
hostname hosta || hard_error "cannot set the host name"
printf '%s hosta\n%s hostb\n' "$A_IP" "$B_IP" >>/etc/hosts
ip link set lo up
unshare --uts --net --mount --propagation private sleep infinity &
B_PID=$!
# A new network namespace can take seconds in a busy TCG guest (the
# kernel waits for RCU grace periods); a dead unshare fails at once.
in_new_ns() {
	kill -0 "$B_PID" 2>/dev/null || return 2
	[ "$(readlink "/proc/$B_PID/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}
t0=$SECONDS
until in_new_ns; do
	[ $? = 2 ] && hard_error "unshare --uts --net --mount exited"
	[ $((SECONDS - t0)) -ge 90 ] &&
		hard_error "unshare --uts --net --mount: no new namespace after 90 s"
	sleep 0.2
done
ip link add veth-a type veth peer name veth-b ||
	hard_error "cannot create a veth pair (module veth)"
ip link set veth-b netns "$B_PID" &&
	ip addr add "$A_IP/24" dev veth-a && ip link set veth-a up ||
	hard_error "cannot set up host A's side of the veth pair"
in_b sh -c "hostname hostb && ip link set lo up &&
	ip addr add $B_IP/24 dev veth-b && ip link set veth-b up &&
	mount --bind $T/b/run $T/run && mount --bind $T/b/tmp $T/tmp" ||
	hard_error "cannot set up host B's namespaces"
[ "$(in_b hostname)" = hostb ] || hard_error "host B's name is not hostb"

# ---- munge, Slurm ------------------------------------------------------------
MSOCK=$T/munge/run/munge.socket
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
chmod 711 "$T/munge"
chmod 755 "$T/munge/run"
setsid munged --foreground --force --key-file="$T/munge/munge.key" \
	--socket="$MSOCK" --pid-file="$T/munge/munged.pid" \
	--log-file="$T/log/munged.log" --seed-file="$T/munge/munged.seed" \
	</dev/null >/dev/null 2>&1 &
DPIDS+=($!)
wait_for 30 test -S "$MSOCK" || hard_error "munged did not start"
in_b sh -c "munge -n -S $MSOCK | unmunge -S $MSOCK" >/dev/null ||
	hard_error "munge does not work from host B"

node_hw=$(slurmd -C | head -n 1 | tr ' ' '\n' |
	grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' |
	tr '\n' ' ')
case $node_hw in *CPUs=4*) ;; *) hard_error "slurmd -C: '$node_hw'" ;; esac
cat >"$T/etc/slurm.conf" <<EOF
ClusterName=nmhosts
SlurmctldHost=hosta($A_IP)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/pid/slurmctld.pid
SlurmdPidFile=$T/pid/slurmd-%n.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=debug
PlugStackConfig=$T/etc/plugstack.conf
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=128
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SwitchType=switch/none
TmpFS=$T/tmp
NodeName=hosta NodeHostname=hosta NodeAddr=$A_IP $node_hw State=UNKNOWN
NodeName=hostb NodeHostname=hostb NodeAddr=$B_IP $node_hw State=UNKNOWN
PartitionName=debug Nodes=hosta,hostb Default=YES MaxTime=INFINITE State=UP
EOF
# No systemd here: slurmd makes system.slice/<node>_slurmstepd.scope itself.
cat >"$T/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v2
CgroupMountpoint=/sys/fs/cgroup
IgnoreSystemd=yes
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
echo "required $PLUGIN socket=$T/run/nm.sock repack=auto engine=auto" \
	>"$T/etc/plugstack.conf"
chmod 644 "$T"/etc/*
mkdir -p /sys/fs/cgroup/system.slice
for c in cpuset cpu memory pids; do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	echo "+$c" >/sys/fs/cgroup/system.slice/cgroup.subtree_control 2>/dev/null
done
export SLURM_CONF=$T/etc/slurm.conf

# start_helper HOST IP: that host's numamigrated, its socket at
# $T/run/nm.sock as that host sees it, its TCP listener on IP.
start_helper() {
	local h=$1 ip=$2 dir=$T/${1#host}
	cat >"$dir/nm.conf" <<CONF
[daemon]
socket = $T/run/nm.sock
socket_mode = 0666
journal_dir = $dir/journal
log_level = debug
[tcp]
enabled = yes
address = $ip
port = $NM_PORT
munge_socket = $MSOCK
[slurm]
conf = $SLURM_CONF
CONF
	chmod 644 "$dir/nm.conf"
	if [ "$h" = hosta ]; then
		"$NUMAMIGRATED" --foreground --config "$dir/nm.conf" \
			>>"$dir/daemon.log" 2>&1 &
	else
		nsenter -t "$B_PID" --uts --net --mount -- \
			"$NUMAMIGRATED" --foreground --config "$dir/nm.conf" \
			>>"$dir/daemon.log" 2>&1 &
	fi
	echo $! >"$dir/daemon.pid"
	DPIDS+=($!)
}
start_helper hosta $A_IP
start_helper hostb $B_IP
wait_for 30 "$NUMAMIGRATE" status --socket "$T/run/nm.sock" ||
	hard_error "host A's numamigrated did not start: $(tail -n 3 "$T/a/daemon.log")"
wait_for 30 in_b "$NUMAMIGRATE" status --socket "$T/run/nm.sock" ||
	hard_error "host B's numamigrated did not start: $(tail -n 3 "$T/b/daemon.log")"
# The two helpers are two: each socket is its own daemon's.
[ -S "$T/b/run/nm.sock" ] &&
	[ "$(stat -c %i "$T/b/run/nm.sock")" != "$(stat -c %i "$T/run/nm.sock")" ] ||
	hard_error "hosts A and B share one numamigrated socket"

t0=$SECONDS
setsid slurmctld -D -c -i -f "$SLURM_CONF" </dev/null >"$T/log/slurmctld.out" 2>&1 &
DPIDS+=($!)
setsid slurmd -D -N hosta -f "$SLURM_CONF" </dev/null >"$T/log/slurmd-a.out" 2>&1 &
DPIDS+=($!)
in_b setsid slurmd -D -N hostb -f "$SLURM_CONF" </dev/null >"$T/log/slurmd-b.out" 2>&1 &
DPIDS+=($!)
both_idle() { [ "$(sinfo -h -N -o %T | sort -u | tr '\n' ' ')" = "idle " ] && [ "$(sinfo -h -N -o %N | wc -l)" = 2 ]; }
wait_for 120 both_idle ||
	hard_error "the two Slurm nodes did not become idle: $(sinfo -N 2>&1 | tr '\n' ' ') $(cat "$T"/log/slurm*.out)"
echo "cluster up: hosta ($A_IP), hostb ($B_IP), $((SECONDS - t0)) s"

# ---- the job -------------------------------------------------------------------
pd=$T/work/pids
as_user mkdir -p "$pd"
t0=$SECONDS
# MPI between the hosts over TCP (the veth pair), in a host over shared memory.
# -c 2: the step's cpuset holds all 4 CPUs of each host (numamigrated
# widens a cpuset's memory nodes, not its CPUs; srun --exclusive would give
# the step only the 2 CPUs its tasks use).
# OpenMPI 4.1 calls its shared-memory transport vader, 5.0 sm.
shm=sm
ompi_info 2>/dev/null | grep -q 'MCA btl: vader' && shm=vader
as_user env OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,$shm,tcp \
	OMPI_MCA_btl_tcp_if_include=10.77.0.0/24 \
	srun --mpi=pmix -N 2 --ntasks-per-node=2 -c 2 \
	--cpu-bind=map_cpu:0,1 \
	"$MPI/nm-mpi-churn" -s 16M -t 0 -f "$pd/stop" -p "$pd" \
	>"$T/job.out" 2>"$T/job.err" &
srun_pid=$!
all_pids() { for r in 0 1 2 3; do test -s "$pd/rank-$r.pid" || return 1; done; }
wait_for 240 all_pids ||
	hard_error "the MPI job did not start in 240 s: $(tail -n 5 "$T/job.err")"
j=$(squeue -h -u "$USER_" -o %i | head -n 1)
echo "job $j started in $((SECONDS - t0)) s on $(squeue -h -j "$j" -o %N)"
wait_for 60 lines_at_least 4 'phase=start' "$T/job.out" ||
	fail "no start placement lines"

# registered HOST N: that host's helper has N tasks of the job.
registered() {
	local st
	if [ "$1" = hosta ]; then
		st=$("$NUMAMIGRATE" status --socket "$T/run/nm.sock" --json)
	else
		st=$(in_b "$NUMAMIGRATE" status --socket "$T/run/nm.sock" --json)
	fi
	python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if len([t for t in d['tasks'] if t.get('job') == int(sys.argv[2])]) == int(sys.argv[3]) else 1)" \
		"$st" "$j" "$2"
}
wait_for 30 registered hosta 2 || fail "hosta's helper: 2 tasks of job $j not registered"
wait_for 30 registered hostb 2 || fail "hostb's helper: 2 tasks of job $j not registered"

line() { grep "^rank=$1 .*phase=$2" "$T/job.out" | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
nodes_only() {
	local n
	for n in $(field "$1" nodes | tr ',' ' '); do
		[ "${n%%:*}" = "$2" ] || return 1
	done
}
# Ranks 0,1 on hosta, 2,3 on hostb; local rank L on CPU L (node L).
host_of() { [ "$1" -lt 2 ] && echo hosta || echo hostb; }
for r in 0 1 2 3; do
	l=$(line $r start)
	[ "$(field "$l" host)" = "$(host_of $r)" ] &&
		[ "$(field "$l" cpus)" = $((r % 2)) ] && nodes_only "$l" $((r % 2)) ||
		fail "before: rank $r not on $(host_of $r) node $((r % 2)): $l"
done

# check_placement WHAT A_BASE B_BASE: after SIGUSR1, each rank on its
# host's node BASE + local rank, CPUs and every page.
usr1_round=0
check_placement() {
	local what=$1 r want base
	usr1_round=$((usr1_round + 1))
	for r in 0 1 2 3; do
		kill -USR1 "$(cat "$pd/rank-$r.pid")" || fail "rank $r is gone"
	done
	wait_for 60 lines_at_least $((4 * usr1_round)) 'phase=usr1' "$T/job.out" ||
		fail "$what: no placement lines after SIGUSR1"
	for r in 0 1 2 3; do
		[ $r -lt 2 ] && base=$2 || base=$3
		want=$((base + r % 2))
		l=$(line $r usr1)
		if [ "$(field "$l" cpus)" = $want ] && nodes_only "$l" $want; then
			ok "$what: rank $r on $(host_of $r): CPUs and all $(field "$l" pages) pages on node $want"
		else
			fail "$what: rank $r on $(host_of $r) not on node $want: $l"
		fi
	done
}
# none_frozen WHAT: no rank stopped, no rank's cgroup frozen.
none_frozen() {
	local r p st cg
	for r in 0 1 2 3; do
		p=$(cat "$pd/rank-$r.pid")
		st=$(awk '/^State:/ { print $2 }' "/proc/$p/status")
		cg=$(sed -n 's/^0:://p' "/proc/$p/cgroup")
		if [ "$st" = T ] || grep -qx 'frozen 1' "/sys/fs/cgroup$cg/cgroup.events"; then
			fail "$1: rank $r (pid $p, state $st, cgroup $cg) is frozen"
			return
		fi
	done
	ok "$1: no rank stopped or frozen"
}

# ---- 1. one srun moves both hosts ---------------------------------------------
t1=$SECONDS
as_user srun --jobid="$j" --overlap --migrate-nodes=0-1:2-3 true >"$T/mv1.out" 2>&1
rc=$?
cat "$T/mv1.out"
n=0
for h in hosta hostb; do
	if grep -q "^numamigrate: job $j on $h: moved (0-1:2-3): 2 processes, [1-9][0-9]* pages (.*) moved, 0 pages failed, map 0->2,1->3" "$T/mv1.out"; then
		n=$((n + 1))
	else
		fail "srun move: no 'moved' line for $h"
	fi
done
[ $rc -eq 0 ] && [ $n = 2 ] &&
	ok "srun --jobid=$j --overlap --migrate-nodes=0-1:2-3 true: both hosts moved, one line each ($((SECONDS - t1)) s)" ||
	fail "srun move: exit $rc"
check_placement "after srun move" 2 2
# On failure: each rank's cgroup and the CPUs it may use.
if [ $fails -ne 0 ]; then
	for r in 0 1 2 3; do
		p=$(cat "$pd/rank-$r.pid")
		cg=$(sed -n 's/^0:://p' "/proc/$p/cgroup")
		echo "rank $r pid $p cgroup $cg cpuset $(cat "/sys/fs/cgroup$cg/cpuset.cpus" "/sys/fs/cgroup$cg/cpuset.cpus.effective" 2>&1 | tr '\n' ' ') $(grep Cpus_allowed_list "/proc/$p/status")"
		for t in /proc/$p/task/*; do echo "  thread ${t##*/}: $(grep Cpus_allowed_list $t/status)"; done
	done
fi

# ---- 2. the CLI on hosta moves both, hostb over MUNGE TCP -------------------
t1=$SECONDS
as_user "$NUMAMIGRATE" move "$j" --map 2-3:0-1 --config "$T/a/nm.conf" \
	--socket "$T/run/nm.sock" --json >"$T/mv2.json" 2>"$T/mv2.err"
rc=$?
cat "$T/mv2.json" "$T/mv2.err"
python3 - "$T/mv2.json" <<'PY' && [ $rc -eq 0 ] &&
import json, sys
d = json.load(open(sys.argv[1]))
h = {x["host"]: x for x in d["hosts"]}
sys.exit(0 if d["ok"] and set(h) == {"hosta", "hostb"} and
         h["hosta"]["via"] == "unix" and h["hostb"]["via"] == "tcp" and
         all(x["ok"] and x["result"]["pages_moved"] > 0 and
             x["result"]["processes"] == 2 for x in h.values()) else 1)
PY
	ok "numamigrate move $j --map 2-3:0-1 on hosta: hosta via unix, hostb via tcp, both moved ($((SECONDS - t1)) s)" ||
	fail "CLI move over TCP: exit $rc"
check_placement "after CLI move" 0 0
grep -q "tcp $A_IP" "$T/b/daemon.log" ||
	fail "hostb's helper logged no request from tcp $A_IP"

# ---- 3. hostb's helper down ------------------------------------------------
bpid=$(cat "$T/b/daemon.pid")
kill "$bpid"
wait_for 20 sh -c "! kill -0 $bpid" || hard_error "hostb's helper did not stop"
t1=$SECONDS
as_user "$NUMAMIGRATE" move "$j" --map 0-1:2-3 --config "$T/a/nm.conf" \
	--socket "$T/run/nm.sock" >"$T/mv3.out" 2>&1
rc=$?
cat "$T/mv3.out"
[ $rc -ne 0 ] && grep -q '^hostb .* tcp  *unreachable' "$T/mv3.out" &&
	grep -q '^hosta .* unix  *ok' "$T/mv3.out" &&
	grep -q "job $j: 1 of 2 hosts failed" "$T/mv3.out" &&
	ok "CLI move with hostb's helper down: exit $rc, hostb named unreachable, hosta moved ($((SECONDS - t1)) s)" ||
	fail "CLI move with hostb's helper down: exit $rc"
none_frozen "after the CLI move with hostb's helper down"
check_placement "hostb's helper down, after the CLI move" 2 0

t1=$SECONDS
as_user srun --jobid="$j" --overlap --migrate-nodes=2-3:0-1 true >"$T/mv4.out" 2>&1
rc=$?
cat "$T/mv4.out"
[ $rc -ne 0 ] &&
	grep -q "^numamigrate: job $j on hosta: moved (2-3:0-1): 2 processes" "$T/mv4.out" &&
	grep -q "^numamigrate: job $j on hostb: move 2-3:0-1 failed: " "$T/mv4.out" &&
	ok "srun move with hostb's helper down: exit $rc, hostb's failure named, hosta moved ($((SECONDS - t1)) s)" ||
	fail "srun move with hostb's helper down: exit $rc"
none_frozen "after the srun move with hostb's helper down"
check_placement "hostb's helper down, after the srun move" 0 0

# ---- the job ends well -----------------------------------------------------------
as_user touch "$pd/stop"
wait $srun_pid
rc=$?
[ $rc -eq 0 ] || fail "the MPI job exited $rc: $(tail -n 5 "$T/job.err")"
n=$(grep -c 'result=ok' "$T/job.out")
[ "$n" -eq 4 ] && ! grep -q 'result=FAIL' "$T/job.out" &&
	ok "all 4 ranks on both hosts: data and ring messages intact ($(grep -o 'iterations=[0-9]*' "$T/job.out" | head -n 1))" ||
	fail "results: $(grep result= "$T/job.out")"
grep -h "move [0-9]*:" "$T/a/daemon.log" "$T/b/daemon.log"
if [ $fails -ne 0 ]; then
	cat "$T/job.out" "$T/job.err"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
