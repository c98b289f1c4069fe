#!/bin/bash
# Runs inside the 4-node guest (see vm-move.test): Slurm (cgroup v2) with
# the plugin, numamigrated, a 4-rank MPI job on NUMA nodes 0-1 (ranks 0,1
# on node 0's CPU, ranks 2,3 on node 1's), then a move request 0-1:2-3
# through srun.  Afterwards every rank's memory and CPUs are on the mapped
# node, ranks that shared a node still do, data and MPI traffic intact,
# the job completes normally.
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
nms_start_daemon
nms_start_cluster

pd=$NMC_WORK/pids
as_user mkdir -p "$pd"
t0=$SECONDS
as_user srun --mpi=pmix -n 4 --cpu-bind=map_cpu:0,0,1,1 \
	"$MPI/nm-mpi-churn" -s 16M -t 0 -f "$pd/stop" -p "$pd" \
	>"$T/job.out" 2>"$T/job.err" &
srun_pid=$!
wait_for 180 test -s "$pd/rank-3.pid" ||
	{ fail "the MPI job did not start in 180 s: $(cat "$T/job.err")"; finish; }
j=$(squeue -h -u "$NMC_USER" -o %i | head -n 1)
echo "job $j started in $((SECONDS - t0)) s"
wait_for 60 lines_at_least 4 'phase=start' "$T/job.out" ||
	fail "no start placement lines"
wait_for 30 job_tasks_registered "$j" 4 || fail "job $j: 4 tasks not registered"

# line RANK PHASE: the rank's last placement line of that phase
line() { grep "^rank=$1 .*phase=$2" "$T/job.out" | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# nodes_only LINE NODE: all pages of the line on NODE
nodes_only() {
	local n
	for n in $(field "$1" nodes | tr ',' ' '); do
		[ "${n%%:*}" = "$2" ] || return 1
	done
}
for r in 0 1 2 3; do
	want=$((r / 2))
	l=$(line $r start)
	[ "$(field "$l" cpus)" = $want ] && nodes_only "$l" $want ||
		fail "before: rank $r not on node $want: $l"
done

t1=$SECONDS
as_user srun --jobid="$j" --overlap --migrate-nodes=0-1:2-3 true >"$T/mv.out" 2>&1
rc=$?
cat "$T/mv.out"
if [ $rc -eq 0 ] && grep -q "^numamigrate: job $j on .*: moved (0-1:2-3): 4 processes, [0-9]* pages (.*) moved, 0 pages failed, map 0->2,1->3" "$T/mv.out"; then
	ok "srun --jobid=$j --overlap --migrate-nodes=0-1:2-3 true ($((SECONDS - t1)) s)"
else
	fail "move request: exit $rc"
fi
# The engine must be what moved the pages: 0 pages for a non-empty plan
# means a cpuset write migrated them behind its back.
if grep -q "moved (0-1:2-3): 4 processes, 0 pages" "$T/mv.out"; then
	fail "numamigrated moved 0 pages for a plan of $(sed -n 's/.*plan moves \([0-9]*\) bytes.*/\1/p' "$T/daemon.log" | tail -n 1) bytes"
fi

for r in 0 1 2 3; do
	kill -USR1 "$(cat "$pd/rank-$r.pid")" || fail "rank $r is gone"
done
wait_for 60 lines_at_least 4 'phase=usr1' "$T/job.out" ||
	fail "no placement lines after SIGUSR1"
for r in 0 1 2 3; do
	want=$((2 + r / 2))
	l=$(line $r usr1)
	if [ "$(field "$l" cpus)" = $want ] && nodes_only "$l" $want; then
		ok "rank $r: CPUs and all $(field "$l" pages) pages on node $want"
	else
		fail "after: rank $r not on node $want: $l"
	fi
done
[ "$(field "$(line 0 usr1)" cpus)" = "$(field "$(line 1 usr1)" cpus)" ] &&
	[ "$(field "$(line 2 usr1)" cpus)" = "$(field "$(line 3 usr1)" cpus)" ] &&
	[ "$(field "$(line 0 usr1)" cpus)" != "$(field "$(line 2 usr1)" cpus)" ] &&
	ok "ranks 0,1 still share a node, ranks 2,3 another" ||
	fail "rank locality not kept"

as_user touch "$pd/stop"
wait $srun_pid
rc=$?
[ $rc -eq 0 ] || fail "the MPI job exited $rc: $(tail -n 5 "$T/job.err")"
n=$(grep -c 'result=ok' "$T/job.out")
[ "$n" -eq 4 ] && ! grep -q 'result=FAIL' "$T/job.out" &&
	ok "all 4 ranks: data and ring messages intact ($(grep -o 'iterations=[0-9]*' "$T/job.out" | head -n 1))" ||
	fail "results: $(grep result= "$T/job.out")"
st=$(nmc_job_field "$j" JobState)
[ "$st" = COMPLETED ] && ok "job $j COMPLETED" || fail "job $j is $st"
grep "move [0-9]*:" "$T/daemon.log"
[ $fails -eq 0 ] || cat "$T/job.out" "$T/job.err"
finish
