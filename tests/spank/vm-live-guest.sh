#!/bin/bash
# Runs inside the 4-node guest (see vm-live.test): Slurm (cgroup v2) with
# the plugin and numamigrated; a 4-rank MPI job (nm-mpi-churn, 256 MiB per
# rank, rewriting its buffer and passing ring messages all the time) on
# NUMA nodes 0-1 is moved 0-1:2-3 live, then a fresh identical job is moved
# frozen, each by its owner's 'srun --jobid=J --overlap --migrate-nodes=
# 0-1:2-3 --migrate-mode=MODE true'.  Each time: every rank's pages and CPUs on the mapped node, data
# and messages intact, the job completes.  The live move must keep the
# job frozen for at most a tenth of the frozen move's time, and the job
# must have kept iterating while its pages moved.  Both result rows and
# the job's iteration rate before, during and after each move are printed.
. "$(dirname "$0")/lib.sh"
[ -x "$MPI/nm-mpi-churn" ] ||
	hard_error "$MPI/nm-mpi-churn is not built (make mpi-programs)"
[ "$(cat /sys/devices/system/node/online 2>/dev/null)" = 0-3 ] ||
	hard_error "not the 4-node guest: nodes $(cat /sys/devices/system/node/online)"
for n in 0 1 2 3; do
	[ "$(cat /sys/devices/system/node/node$n/cpulist)" = $n ] ||
		hard_error "node $n has CPUs '$(cat /sys/devices/system/node/node$n/cpulist)', expected $n"
done
# Only numamigrated may move pages here: no automatic NUMA balancing.
if [ -w /proc/sys/kernel/numa_balancing ]; then
	echo 0 >/proc/sys/kernel/numa_balancing
fi
# Large enough that data, not the fixed costs of a freeze and a scan, make
# up a frozen move's time, as in the jobs this is for.
SIZE=${NMS_LIVE_SIZE:-256M}
nms_start_daemon
nms_start_cluster

# Every line of the job's output gets the time it arrived (t=SECONDS),
# with shell builtins only: a process start costs tenths of a second here.
stamp() {
	local l
	while IFS= read -r l; do
		printf '%s t=%s\n' "$l" "$EPOCHREALTIME"
	done
}

line() { grep "^rank=$2 .*phase=$3" "$T/$1.out" | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
nodes_only() {
	local n
	for n in $(field "$1" nodes | tr ',' ' '); do
		[ "${n%%:*}" = "$2" ] || return 1
	done
}

# start_job NAME: the MPI job on nodes 0-1 (ranks 0,1 on CPU 0, 2,3 on 1);
# sets J and JOB_PID.
start_job() {
	local pd=$NMC_WORK/$1.pids t0=$SECONDS r l
	as_user mkdir -p "$pd"
	(
		as_user srun -u --mpi=pmix -n 4 --cpu-bind=map_cpu:0,0,1,1 \
			"$MPI/nm-mpi-churn" -s "$SIZE" -t 0 -P 1 -f "$pd/stop" \
			-p "$pd" 2>"$T/$1.err" | stamp >"$T/$1.out"
		exit "${PIPESTATUS[0]}"
	) &
	JOB_PID=$!
	wait_for 300 test -s "$pd/rank-3.pid" ||
		{ fail "$1: the MPI job did not start in 300 s: $(cat "$T/$1.err")"; finish; }
	J=$(squeue -h -u "$NMC_USER" -o %i | head -n 1)
	echo "$1: job $J started in $((SECONDS - t0)) s"
	# Each rank prints it once its memory is filled.  The first touch of
	# 1 GiB of guest memory varies from tens of seconds to minutes with
	# how much of QEMU's memory the host has to fault in: a hang net.
	wait_for 480 lines_at_least 4 'phase=start' "$T/$1.out" ||
		fail "$1: not 4 start placement lines in 480 s: $(grep -c 'phase=start' "$T/$1.out")"
	wait_for 30 job_tasks_registered "$J" 4 ||
		fail "$1: job $J: 4 tasks not registered"
	for r in 0 1 2 3; do
		l=$(line "$1" $r start)
		[ "$(field "$l" cpus)" = $((r / 2)) ] && nodes_only "$l" $((r / 2)) ||
			fail "$1: before: rank $r not on node $((r / 2)): $l"
	done
	# a few ticks before the move, for the rate before it
	wait_for 60 lines_at_least 3 '^rank=0 .*phase=tick' "$T/$1.out" ||
		fail "$1: no ticks before the move"
}

# ticks_after N TIME FILE: rank 0 printed N ticks after TIME.
ticks_after() {
	awk -v n="$1" -v t="$2" '/^rank=0 .*phase=tick/ {
		sub(/.* t=/, ""); if ($0 + 0 > t + 0) c++ } END { exit !(c >= n) }' "$3"
}

# check_after NAME [BASE [USR1S]]: every rank's CPUs and pages on node
# BASE + r/2 (default 2) once its USR1S-th (default 1) SIGUSR1 line is out.
check_after() {
	local r want l pd=$NMC_WORK/$1.pids base=${2:-2} n=${3:-1}
	# ticks after the move, for the rate after it
	wait_for 120 ticks_after 3 "$MOVE_T1" "$T/$1.out" || echo "note: $1: fewer than 3 ticks in 120 s after the move"
	for r in 0 1 2 3; do
		kill -USR1 "$(cat "$pd/rank-$r.pid")" || fail "$1: rank $r is gone"
	done
	# A rank answers at its next iteration, which a loaded guest slows.
	wait_for 240 lines_at_least $((4 * n)) 'phase=usr1' "$T/$1.out" ||
		fail "$1: no placement lines in 240 s after SIGUSR1"
	for r in 0 1 2 3; do
		want=$((base + r / 2))
		l=$(line "$1" $r usr1)
		if [ "$(field "$l" cpus)" = $want ] && nodes_only "$l" $want; then
			ok "$1: rank $r: CPUs and all $(field "$l" pages) pages on node $want"
		else
			fail "$1: after: rank $r not on node $want: $l"
		fi
	done
}

# stop_job NAME: the job ends normally, its data and messages intact.
stop_job() {
	local rc n st
	as_user touch "$NMC_WORK/$1.pids/stop"
	wait "$JOB_PID"
	rc=$?
	[ $rc -eq 0 ] || fail "$1: the MPI job exited $rc: $(tail -n 5 "$T/$1.err")"
	n=$(grep -c 'result=ok' "$T/$1.out")
	[ "$n" -eq 4 ] && ! grep -q 'result=FAIL' "$T/$1.out" &&
		ok "$1: all 4 ranks: data and ring messages intact ($(grep -o 'iterations=[0-9]*' "$T/$1.out" | head -n 1))" ||
		fail "$1: results: $(grep result= "$T/$1.out")"
	st=$(nmc_job_field "$J" JobState)
	[ "$st" = COMPLETED ] && ok "$1: job $J COMPLETED" || fail "$1: job $J is $st"
}

# rates NAME: rank 0's iterations per second before, during, after the
# move (from its ticks' arrival times); "during" also counts the ticks.
rates() {
	/usr/bin/python3 - "$T/$1.out" "$T/$1.window" "$1" <<'PY'
import re, sys
t0, t1 = map(float, open(sys.argv[2]).read().split())
ticks = []
for l in open(sys.argv[1]):
    m = re.match(r'rank=0 .*phase=(?:tick|usr1) iter=(\d+).* t=([0-9.]+)', l)
    if m:
        ticks.append((float(m.group(2)), int(m.group(1))))
def rate(sel):
    if len(sel) < 2 or sel[-1][0] <= sel[0][0]:
        return None
    return (sel[-1][1] - sel[0][1]) / (sel[-1][0] - sel[0][0])
before = [x for x in ticks if x[0] < t0][-4:]
during = [x for x in ticks if t0 <= x[0] <= t1]
after = [x for x in ticks if x[0] > t1][:4]
# across the move: the last tick before it to the first after it
across = [before[-1], after[0]] if before and after else []
fmt = lambda r: "-" if r is None else "%.1f" % r
print("%s: iterations/s of rank 0: before %s, during %s (%d ticks in "
      "%.1f s), across the move %s, after %s" % (sys.argv[3],
      fmt(rate(before)), fmt(rate(during)), len(during), t1 - t0,
      fmt(rate(across)), fmt(rate(after))))
# exit 0 when the job iterated during the move: two ticks inside it
# with more iterations at the second
sys.exit(0 if len(during) >= 2 and during[-1][1] > during[0][1] else 3)
PY
}

# srun_move NAME MODE: the row's move, through Slurm by the job's owner
# (srun --migrate-mode=MODE); its figures from the daemon's log line into
# $T/NAME.json.
srun_move() {
	local rc extra=
	[ "$2" = live ] && extra=', live: [0-9]* passes'
	MOVE_T0=$EPOCHREALTIME
	as_user srun --jobid="$J" --overlap --migrate-nodes=0-1:2-3 \
		--migrate-mode="$2" true >"$T/srun-$1.out" 2>&1
	rc=$?
	MOVE_T1=$EPOCHREALTIME
	echo "$MOVE_T0 $MOVE_T1" >"$T/$1.window"
	cat "$T/srun-$1.out"
	if [ $rc -eq 0 ] && grep -q "^numamigrate: job $J on .*: moved (0-1:2-3): 4 processes, [1-9][0-9]* pages (.*) moved, 0 pages failed, map 0->2,1->3.*$extra" "$T/srun-$1.out"; then
		ok "$1: srun --jobid=$J --overlap --migrate-nodes=0-1:2-3 --migrate-mode=$2 true"
	else
		fail "$1: srun --migrate-mode=$2: exit $rc"
	fi
	/usr/bin/python3 - "$T/daemon.log" "$J" >"$T/$1.json" <<'PY'
import json, re, sys
pat = (r"move \d+: job %s: ok: (\d+) pages moved, (\d+) not moved, (\w+), "
       r"(\d+) live passes ([0-9.]+) s \((\d+) bytes\), frozen ([0-9.]+) s "
       r"\((\d+) bytes\), ([0-9.]+) s in all" % sys.argv[2])
m = [x for x in map(lambda l: re.search(pat, l), open(sys.argv[1])) if x][-1]
print(json.dumps({"mode": m.group(3), "pages_moved": int(m.group(1)),
                  "pages_failed": int(m.group(2)), "passes": int(m.group(4)),
                  "live_seconds": float(m.group(5)),
                  "bytes_moved_live": int(m.group(6)),
                  "frozen_seconds": float(m.group(7)),
                  "bytes_moved_frozen": int(m.group(8)),
                  "seconds": float(m.group(9))}))
PY
	json_check "$T/$1.json" "d['mode'] == '$2' and d['pages_failed'] == 0 and d['pages_moved'] > 0"
}

# row NAME: the result's figures, one line.
row() {
	/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%-6s mode=%s passes=%d bytes_moved_live=%d bytes_moved_frozen=%d "
      "live_seconds=%.3f frozen_seconds=%.3f pages_moved=%d seconds=%.3f"
      % (sys.argv[2], d["mode"], d["passes"], d["bytes_moved_live"],
         d["bytes_moved_frozen"], d["live_seconds"], d["frozen_seconds"],
         d["pages_moved"], d["seconds"]))' "$T/$1.json" "$1"
}

start_job live
srun_move live live
check_after live
if rates live; then
	ok "live: the job kept iterating while its pages moved"
else
	fail "live: the job did not iterate during the live move"
fi
stop_job live

start_job frozen
srun_move frozen frozen
check_after frozen
rates frozen
stop_job frozen

echo "---- result rows"
row live
row frozen
/usr/bin/python3 -c '
import json, sys
l = json.load(open(sys.argv[1])); f = json.load(open(sys.argv[2]))
ok = (l["passes"] >= 1 and l["bytes_moved_live"] > 0 and
      l["bytes_moved_live"] > l["bytes_moved_frozen"] and
      l["frozen_seconds"] * 10 <= f["frozen_seconds"])
print("live frozen %.3f s, frozen move frozen %.3f s: ratio %.3f"
      % (l["frozen_seconds"], f["frozen_seconds"],
         l["frozen_seconds"] / f["frozen_seconds"]))
sys.exit(0 if ok else 1)' "$T/live.json" "$T/frozen.json" &&
	ok "the live move was frozen at most a tenth as long as the frozen one" ||
	fail "the live move's frozen time or its live bytes"
grep "move [0-9]*:" "$T/daemon.log"
[ $fails -eq 0 ] || { cat "$T/live.err" "$T/frozen.err"; grep -h 'error=' "$T/live.out" "$T/frozen.out"; }
finish
