#!/bin/bash
# Runs inside the 4-node guest (tests/vm/repack.test), one CPU per node:
# a real Slurm cluster with preemption by suspension whose plugstack.conf
# loads the freshly built SPANK plugin; no Prolog/Epilog scripts.  Jobs are
# submitted by the unprivileged job user; the plugin registers their tasks
# (task_post_fork) and records their --migrate-nodes policy (job prolog),
# and the preemptor's slurm_spank_job_prolog / slurm_spank_job_epilog ask
# numamigrated to repack and restore.
#
# Round 1: a low-priority nm-workload job (--migrate-nodes=auto) with its
# memory on nodes 0-1 is preempted by a high-priority job on CPUs 0-1; its
# memory goes to nodes 2-3 while it is suspended and comes back when the
# high job ends, before Slurm resumes it.  The daemon is restarted in
# between: the evacuation record in its journal directory is what
# restores.  Round 2: the same with --migrate-nodes=never: the suspended
# job is skipped by policy and its memory never moves.  Round 3: round 1
# with [slurm] restore_mode = live: the epilog answers once the job's
# threads are re-pinned and its pages start flowing back, and Slurm
# resumes it while they do.  Every job verifies every word of its memory.
set -u
top_srcdir=$1 top_builddir=$2
NM=$top_builddir/helper/numamigrate
NMD=$top_builddir/helper/numamigrated
W=$top_builddir/tests/workload/nm-workload
PLUGIN=$top_builddir/spank/.libs/numamigrate.so
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
hard() { echo "ERROR: $*"; exit 99; }
for b in "$NM" "$NMD" "$W"; do [ -x "$b" ] || hard "$b is not built"; done
[ -f "$PLUGIN" ] || hard "$PLUGIN is not built (no slurm/spank.h at configure time?)"
[ "$(cat /sys/devices/system/node/online 2>/dev/null)" = 0-3 ] ||
	hard "not the 4-node guest: nodes $(cat /sys/devices/system/node/online)"
for n in 0 1 2 3; do
	[ "$(cat /sys/devices/system/node/node$n/cpulist)" = $n ] ||
		hard "node $n has CPUs '$(cat /sys/devices/system/node/node$n/cpulist)', expected $n"
done
# Only numamigrated may move pages here.
[ -w /proc/sys/kernel/numa_balancing ] && echo 0 >/proc/sys/kernel/numa_balancing
export NMC_TIMEOUT=${NMC_TIMEOUT:-240}
# shellcheck source=tests/slurm/cluster.sh
. "$top_srcdir/tests/slurm/cluster.sh"
# shellcheck source=tests/wait.sh
. "$top_srcdir/tests/wait.sh"
T=$(mktemp -d /tmp/nm-repack.XXXXXX) && chmod 755 "$T" || hard "mktemp"
SOCK=$T/nm.sock
DPID=
t0=$SECONDS
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	nmc_stop "$T/c" >/dev/null 2>&1
	if [ "$fails" -ne 0 ]; then
		echo "---- daemon log"; tail -n 80 "$T/daemon.log"
		echo "---- slurmd log (numamigrate, suspend/resume)"
		grep -a 'numamigrate\|action=' "$T"/c/log/slurmd.log | tail -n 60
		echo "---- job outputs"; tail -n 5 "$NMC_WORK"/*.out
	fi
}
trap cleanup EXIT
elapsed() { echo "$((SECONDS - t0)) s"; }

numactl -H | head -n 3
echo "required $PLUGIN socket=$SOCK repack=auto engine=auto" >"$T/plugstack.conf"
NMC_DEBUG=debug nmc_start "$T/c" --preempt --plugstack "$T/plugstack.conf" >"$T/cluster.log" 2>&1 ||
	{ cat "$T/cluster.log"; hard "the Slurm cluster did not start"; }
SLURMD_LOG=$T/c/log/slurmd.log
cat >"$T/nm.conf" <<EOF
[daemon]
socket = $SOCK
journal_dir = $T/journal
log_level = debug
[slurm]
conf = $SLURM_CONF
EOF
start_daemon() {
	"$NMD" --foreground --config "$T/nm.conf" >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 300); do
		"$NM" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/daemon.log"
	hard "numamigrated did not start"
}
start_daemon
echo "cluster and daemon up after $(elapsed)"

# Bytes per node of PIDS' memory, e.g. "0:67M 1:67M 2:0M 3:0M".
per_node() {
	local p
	for p in ${1//,/ }; do cat "/proc/$p/numa_maps"; done | awk '
		{ ps = 4; for (i = 1; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, a, "="); ps = a[2] }
		  for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), a, "="); kb[a[1]] += a[2] * ps } }
		END { for (n = 0; n < 4; n++) printf "%d:%dM ", n, kb[n] / 1024; print "" }'
}
# mib NUMBERS NODE: the MiB of NODE in per_node's output
mib() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2:\([0-9]*\)M$/\1/p"; }
# on_nodes NUMBERS A B [SLACK]: at least 60 MiB on nodes A and B, at most
# SLACK (default 2) on the others
on_nodes() {
	local n v
	for n in 0 1 2 3; do
		v=$(mib "$1" $n)
		if [ "$n" = "$2" ] || [ "$n" = "$3" ]; then
			[ "${v:-0}" -ge 60 ] || return 1
		else
			[ "${v:-0}" -le "${4:-2}" ] || return 1
		fi
	done
}
# same_place NUMBERS1 NUMBERS2: every node within 2 MiB
same_place() {
	local n a b
	for n in 0 1 2 3; do
		a=$(mib "$1" $n) b=$(mib "$2" $n)
		[ $((a > b ? a - b : b - a)) -le 2 ] || return 1
	done
}
# stopped (T), or in a frozen cgroup v2 (frozen by itself or an ancestor)
held() {
	local cg
	[ "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status")" = T ] && return 0
	cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
	grep -qx 'frozen 1' "/sys/fs/cgroup$cg/cgroup.events" 2>/dev/null
}
all_held() {
	local p
	for p in ${1//,/ }; do held "$p" || return 1; done
}
# plugin_line JOB OP: the plugin's last outcome of OP for JOB in slurmd's log
# The plugin logs one "job {...}" line per job acted on, then "ok {...}".
plugin_line() { grep -a "numamigrate: job $1: $2: ok " "$SLURMD_LOG" | tail -n 1 | sed 's/^.*numamigrate: /numamigrate: /'; }
have_plugin_line() { [ -n "$(plugin_line "$1" "$2")" ]; }
# job_line JOB WHAT OTHER: the plugin's line about job OTHER
job_line() { grep -a "numamigrate: job $1: $2: job {\"job\":$3," "$SLURMD_LOG" | tail -n 1 | sed 's/^.*numamigrate: /numamigrate: /'; }
# logline PATTERN FILE: number of the first line matching PATTERN (grep -E)
logline() { grep -anE "$1" "$2" | head -n 1 | cut -d: -f1; }
# registered JOB: the job's tasks in the daemon's registry, "pid step rank uid"
registered() {
	"$NM" status --socket "$SOCK" --json 2>/dev/null | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]:
    if t.get("job") == int(sys.argv[1]):
        print(t["pid"], t.get("step", -1), t["rank"], t["uid"])' "$1"
}
have_registered() { [ -n "$(registered "$1")" ]; }
# sub SBATCH-ARGS...: sbatch as the job user; prints the job id
sub() { as_user sbatch --parsable "$@" 2>>"$T/sbatch.err" | cut -d';' -f1; }
ready() { grep -q '^ready' "$1" 2>/dev/null; }
ended() { printf '%s\n' "$(nmc_job_field "$1" JobState)" | grep -qxE 'COMPLETED|FAILED|CANCELLED|TIMEOUT'; }
JUID=$(id -u "$NMC_USER") || hard "no job user $NMC_USER"
BATCH=4294967291 # SLURM_BATCH_SCRIPT: the batch step's id

# start_victim NAME POLICY SIZE: a 4-CPU low job (the whole node) whose
# workload keeps SIZE of 4k and of THP memory per process on nodes 0-1;
# sets JOB and PIDS.  Its batch script is the workload: the plugin
# registers the batch step's task, whose descendants are the workers.
# It ignores SIGTSTP (as programs with their own TSTP handling do), so
# only Slurm's SIGSTOP/freeze holds it: held() then sees that Slurm's
# freeze survived the repack's own freeze and thaw.
start_victim() {
	local out=$NMC_WORK/$1.out sup reg
	JOB=$(sub -p low -n 4 --migrate-nodes="$2" -o "$out" \
		--wrap "trap '' TSTP; exec $W --procs 2 --threads 1 --node 0-1 --size $3 --kinds 4k,thp")
	[ -n "$JOB" ] || hard "sbatch $1: $(cat "$T/sbatch.err")"
	nmc_wait_job_state "$JOB" RUNNING 300 || hard "$1 job $JOB not running"
	wait_for 600 ready "$out" || { cat "$out"; hard "the $1 job's workload is not ready"; }
	PIDS=$(sed -n 's/^pids: //p' "$out")
	# Registered by the plugin's task_post_fork (as root, for the user).
	wait_for 120 have_registered "$JOB" || fail "$1 job $JOB: no task registered by the plugin"
	sup=$(awk '/^PPid:/ { print $2 }' "/proc/${PIDS%%,*}/status")
	reg=$(registered "$JOB")
	echo "numamigrate status: job $JOB: task(s) 'pid step rank uid': $reg"
	[ "$reg" = "$sup $BATCH 0 $JUID" ] &&
		ok "$1 job $JOB: the plugin registered its batch task (pid $sup, the workers' parent, uid $JUID)" ||
		fail "$1 job $JOB: registered '$reg', expected '$sup $BATCH 0 $JUID'"
	# Its own job prolog recorded its policy.
	wait_for 60 have_plugin_line "$JOB" policy
	case $(plugin_line "$JOB" policy) in
	*": policy: ok {\"job\":$JOB,\"policy\":\"$2\"}"*) ok "$1 job $JOB: policy $2 recorded by its job prolog" ;;
	*) fail "$1 job $JOB: policy: '$(plugin_line "$JOB" policy)'" ;;
	esac
}

# start_preemptor NAME: a 2-CPU high job (it gets CPUs 0-1, i.e. nodes 0-1)
# whose workload runs until SIGUSR1; sets HIGH.
start_preemptor() {
	HIGH=$(sub -p high -n 2 -o "$NMC_WORK/$1.out" \
		--wrap "exec $W --procs 2 --threads 1 --node 0-1 --size 32M --kinds 4k")
	[ -n "$HIGH" ] || hard "sbatch $1: $(cat "$T/sbatch.err")"
}

# stop_job JOB NAME: SIGUSR1 to its workload (stop and verify), wait for the end.
stop_job() {
	wait_for 600 ready "$NMC_WORK/$2.out" || fail "$2 job $1's workload never got ready"
	scancel -b -s USR1 "$1"
	wait_for 600 ended "$1" || fail "$2 job $1 did not end: $(nmc_job_field "$1" JobState)"
	if [ "$(nmc_job_field "$1" JobState)" = COMPLETED ] &&
		grep -q 'all workers verified OK' "$NMC_WORK/$2.out"; then
		ok "$2 job $1: all workers verified OK"
	else
		fail "$2 job $1: $(nmc_job_field "$1" JobState): $(tail -n 3 "$NMC_WORK/$2.out")"
	fi
}

# preempt NAME VICTIM: starts preemptor NAME (sets HIGH), waits until Slurm
# suspends VICTIM and the preemptor's prolog has logged its repack; sets
# vline (the plugin's line about VICTIM) and line (the outcome).
preempt() {
	start_preemptor "$1"
	nmc_wait_job_state "$2" SUSPENDED 300 && ok "job $2 suspended by job $HIGH ($(elapsed))" ||
		fail "job $2 not suspended"
	wait_for 900 have_plugin_line "$HIGH" repack || fail "no repack outcome from job $HIGH's job prolog in slurmd's log"
	line=$(plugin_line "$HIGH" repack)
	vline=$(job_line "$HIGH" repack "$2")
	echo "slurmd: $vline"
	echo "slurmd: $line"
}

cd "$NMC_WORK" || hard "cd $NMC_WORK"

# ---- round 1: --migrate-nodes=auto: evacuated and brought back ----------
echo "== round 1: a suspended job with policy auto"
start_victim low auto 64M
LOW=$JOB LP=$PIDS
BEFORE=$(per_node "$LP")
echo "low job $LOW (pids $LP) before:  $BEFORE"
# (a few MiB elsewhere: what a worker touched before binding its memory)
on_nodes "$BEFORE" 0 1 8 || fail "low job not on nodes 0-1"

preempt high "$LOW"
# Slurm runs the preemptor's prolog before it stops the victim (SIGTSTP,
# then SIGSTOP/freeze after the grace time): at repack time the victim may
# or may not be stopped yet, so was_stopped is not asserted; Slurm's state is.
case $vline in
*": repack: job {\"job\":$LOW,\"policy\":\"auto\",\"suspended\":true,"*'"to":"2-3","result":{'*'"pages_failed":0,'*)
	ok "job $HIGH's prolog: repack of suspended job $LOW to nodes 2-3 (plugin's line)" ;;
*) fail "repack outcome of job $LOW in slurmd's log" ;;
esac
case $line in
*": repack: ok {\"job\":$HIGH,"*'"moved":true'*) ok "job $HIGH's prolog: repack ok" ;;
*) fail "repack summary in slurmd's log" ;;
esac
grep -q "repack for job $HIGH: job $LOW: moved to nodes 2-3" "$T/daemon.log" &&
	grep -q "repack for job $HIGH (nodes 0-1): 1 suspended job(s), 1 moved" "$T/daemon.log" &&
	grep -q "move [0-9]*: suspended job $LOW: ok: [0-9]* pages moved, 0 not moved" "$T/daemon.log" &&
	ok "daemon: $(grep "move [0-9]*: suspended job $LOW: ok" "$T/daemon.log" | sed 's/.*\(move [0-9]*:\)/\1/')" ||
	fail "daemon log: no repack move of job $LOW off nodes 0-1"
DURING=$(per_node "$LP")
echo "low job $LOW during:           $DURING"
on_nodes "$DURING" 2 3 && ok "suspended job's memory is on nodes 2-3, none left on the preemptor's nodes 0-1" ||
	fail "memory not moved: $DURING"
wait_for 120 all_held "$LP" && ok "suspended job's processes are frozen by Slurm (after the repack's own freeze and thaw)" ||
	for p in ${LP//,/ }; do held "$p" || fail "process $p of suspended job $LOW runs"; done
[ "$(nmc_job_field "$LOW" JobState)" = SUSPENDED ] || fail "job $LOW is no longer suspended"
[ -f "$T/journal/repack-$HIGH.json" ] && ok "evacuation recorded: $(cat "$T/journal/repack-$HIGH.json")" ||
	fail "no record in the journal"

# A daemon restart: the record, not memory, drives the restore.
kill "$DPID"; wait "$DPID"; DPID=
n=$(wc -l <"$T/daemon.log")
start_daemon
tail -n +$((n + 1)) "$T/daemon.log" | grep -q "repack record for job $HIGH: 1 job(s)" &&
	ok "record loaded after a restart; registry now: $("$NM" status --socket "$SOCK" --json | tr -d ' \n' | head -c 200)" ||
	fail "record not loaded after restart"
DURING2=$(per_node "$LP")
same_place "$DURING" "$DURING2" || fail "memory moved while suspended: $DURING2"

stop_job "$HIGH" high
wait_for 600 have_plugin_line "$HIGH" restore || fail "no restore outcome from job $HIGH's job epilog in slurmd's log"
line=$(job_line "$HIGH" restore "$LOW")
echo "slurmd: $line"
echo "slurmd: $(plugin_line "$HIGH" restore)"
case $line in
*": restore: job {\"job\":$LOW,\"from\":\"2-3\",\"to\":\"0-1\",\"result\":{"*'"pages_failed":0,'*)
	ok "job $HIGH's epilog: restore of job $LOW from nodes 2-3 to 0-1 (plugin's line)" ;;
*) fail "restore outcome in slurmd's log" ;;
esac
grep -q "restore for job $HIGH: job $LOW: moved back" "$T/daemon.log" &&
	grep -q "move [0-9]*: restore of job $LOW: ok: [0-9]* pages moved, 0 not moved" "$T/daemon.log" &&
	ok "daemon: $(grep "move [0-9]*: restore of job $LOW: ok" "$T/daemon.log" | sed 's/.*\(move [0-9]*:\)/\1/')" ||
	fail "daemon log: no restore move of job $LOW"
nmc_wait_job_state "$LOW" RUNNING 300 && ok "Slurm resumed job $LOW" || fail "job $LOW not resumed"
AFTER=$(per_node "$LP")
echo "low job $LOW after:            $AFTER"
on_nodes "$AFTER" 0 1 && ok "memory back on nodes 0-1" || fail "memory not back: $AFTER"
# The memory was home before Slurm resumed the job: the epilog's outcome
# is in slurmd's log before slurmd's resume of the job.
r=$(logline "numamigrate: job $HIGH: restore: ok" "$SLURMD_LOG")
s=$(logline "jobid=$LOW uid=[0-9]+ action=resume" "$SLURMD_LOG")
[ -n "$r" ] && [ -n "$s" ] && [ "$r" -lt "$s" ] &&
	ok "restore done (slurmd.log line $r) before Slurm resumed job $LOW (line $s)" ||
	fail "restore (line '$r') not before the resume of job $LOW (line '$s')"
[ ! -e "$T/journal/repack-$HIGH.json" ] && ok "record removed after the restore" || fail "record left"
stop_job "$LOW" low
echo "round 1 done after $(elapsed)"

# ---- round 2: --migrate-nodes=never: skipped, never moved ---------------
echo "== round 2: a suspended job with policy never"
start_victim never never 32M
NEV=$JOB NP=$PIDS
NB=$(per_node "$NP")
echo "never job $NEV (pids $NP) before: $NB"
on_nodes "$NB" 0 1 8 || fail "never job not on nodes 0-1"
preempt high2 "$NEV"
case $vline in
*": repack: job {\"job\":$NEV,\"policy\":\"never\",\"suspended\":true,"*'"moved":false,"reason":"its policy is never"}') ;;
*) fail "repack outcome for the never job in slurmd's log" ;;
esac
case $line in
*": repack: ok {\"job\":$HIGH,"*'"moved":false'*)
	ok "job $HIGH's prolog: suspended job $NEV skipped by policy (plugin's lines)" ;;
*) fail "repack summary for the never job in slurmd's log" ;;
esac
grep -q "repack for job $HIGH: job $NEV: not moved: its policy is never" "$T/daemon.log" &&
	ok "daemon: job $NEV not moved: its policy is never" || fail "daemon log: no skip of job $NEV"
wait_for 120 all_held "$NP" || fail "never job's processes are not stopped/frozen"
ND=$(per_node "$NP")
echo "never job $NEV during:           $ND"
same_place "$NB" "$ND" && ok "suspended never job's memory did not move" || fail "never job's memory moved: $ND"
stop_job "$HIGH" high2
wait_for 600 have_plugin_line "$HIGH" restore || fail "no restore outcome from job $HIGH's job epilog"
echo "slurmd: $(plugin_line "$HIGH" restore)"
nmc_wait_job_state "$NEV" RUNNING 300 && ok "Slurm resumed job $NEV" || fail "job $NEV not resumed"
NA=$(per_node "$NP")
echo "never job $NEV after:            $NA"
same_place "$NB" "$NA" && ok "never job's memory is where it was" || fail "never job's memory moved: $NA"
grep -q "suspended job $NEV\|restore of job $NEV" "$T/daemon.log" && fail "the daemon moved job $NEV"
[ -z "$(ls "$T/journal"/repack-*.json 2>/dev/null)" ] || fail "a repack record is left: $(ls "$T/journal")"
stop_job "$NEV" never

# ---- round 3: [slurm] restore_mode = live: resumed while pages flow back --
# The engine sleeps 250 ms after each 4 MiB batch ([testing]), so the
# restore's live passes outlast the time Slurm takes to resume the job.
echo "== round 3: a live restore"
kill "$DPID"; wait "$DPID"; DPID=
cat >>"$T/nm.conf" <<EOF
restore_mode = live
[testing]
batch_delay_ms = 250
EOF
start_daemon
start_victim live auto 32M
LIV=$JOB LVP=$PIDS
VB=$(per_node "$LVP")
echo "live job $LIV (pids $LVP) before: $VB"
preempt high3 "$LIV"
VD=$(per_node "$LVP")
echo "live job $LIV during:           $VD"
on_nodes "$VD" 2 3 && ok "suspended job $LIV's memory is on nodes 2-3" || fail "job $LIV not evacuated: $VD"
wait_for 120 all_held "$LVP" || fail "job $LIV's processes are not held by Slurm"
n=$(wc -l <"$T/daemon.log")
stop_job "$HIGH" high3
wait_for 600 have_plugin_line "$HIGH" restore || fail "no restore outcome from job $HIGH's job epilog"
echo "slurmd: $(job_line "$HIGH" restore "$LIV")"
echo "slurmd: $(plugin_line "$HIGH" restore)"
case $(job_line "$HIGH" restore "$LIV") in
*": restore: job {\"job\":$LIV,\"from\":\"2-3\",\"to\":\"0-1\",\"restoring\":\"live\"}"*)
	ok "job $HIGH's epilog answered while job $LIV's pages flow back (plugin's line)" ;;
*) fail "the epilog's restore line for job $LIV does not say restoring live" ;;
esac
nmc_wait_job_state "$LIV" RUNNING 300 && ok "Slurm resumed job $LIV" || fail "job $LIV not resumed"
wait_for 600 grep -q "restore for job $HIGH: live restore ended" "$T/daemon.log" ||
	fail "the live restore of job $LIV never ended"
tail -n +$((n + 1)) "$T/daemon.log" | grep "restore for job $HIGH\|restore of job $LIV" | sed 's/^/  daemon: /'
# secs: the seconds of the day of the first line on stdin, slurmd's
# [YYYY-MM-DDTHH:MM:SS.mmm] or the daemon's HH:MM:SS.mmm.
secs() {
	sed -n 's/^\[\{0,1\}\([0-9-]*T\)\{0,1\}\([0-9][0-9]\):\([0-9][0-9]\):\([0-9.]*\).*/\2 \3 \4/p' |
		head -n 1 | awk '{ printf "%.3f", $1 * 3600 + $2 * 60 + $3 }'
}
t_answer=$(grep "restore for job $HIGH: answered after" "$T/daemon.log" | tail -n 1 | secs)
t_end=$(grep "restore for job $HIGH: live restore ended" "$T/daemon.log" | tail -n 1 | secs)
t_resume=$(grep -a "jobid=$LIV uid=[0-9]* action=resume" "$SLURMD_LOG" | tail -n 1 | secs)
echo "  live restore: epilog answered at $t_answer, Slurm resumed job $LIV at $t_resume, restore ended at $t_end (seconds of the day)"
python3 -c "import sys; a, r, e = map(float, sys.argv[1:]); sys.exit(0 if a <= r < e else 1)" \
	"${t_answer:-0}" "${t_resume:-0}" "${t_end:--1}" &&
	ok "Slurm resumed job $LIV after the epilog's answer and before its restore ended" ||
	fail "not answered <= resumed < restore ended"
grep -q "move [0-9]*: restore of job $LIV: ok: [0-9]* pages moved, 0 not moved, live" "$T/daemon.log" &&
	ok "daemon: $(grep "move [0-9]*: restore of job $LIV: ok" "$T/daemon.log" | sed 's/.*\(move [0-9]*:\)/\1/')" ||
	fail "daemon log: no live restore move of job $LIV"
VA=$(per_node "$LVP")
echo "live job $LIV after:            $VA"
on_nodes "$VA" 0 1 && ok "job $LIV's memory back on nodes 0-1" || fail "memory not back: $VA"
for p in ${LVP//,/ }; do held "$p" && fail "process $p of job $LIV is held after its restore"; done
[ ! -e "$T/journal/repack-$HIGH.json" ] && ok "record removed after the live restore" || fail "record left"
[ -z "$(ls "$T/journal"/move-* 2>/dev/null)" ] || fail "a freeze journal is left: $(ls "$T/journal")"
stop_job "$LIV" live

grep -aq 'numamigrate: job [0-9]*: [a-z]*: .*(job continues)' "$SLURMD_LOG" &&
	fail "the plugin logged an error: $(grep -a '(job continues)' "$SLURMD_LOG" | head -n 3)"
echo "done after $(elapsed)"
[ $fails -eq 0 ] && echo "repack-guest: PASS" || echo "repack-guest: $fails check(s) failed"
exit $((fails ? 1 : 0))
