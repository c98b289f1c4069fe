#!/bin/bash
# Runs inside the 4-node guest (tests/vm/engine-xnode.test): nm-workload on
# nodes 0-1, in a cpuset cgroup of its own, moved to 2-3 by the move entry
# point the daemon uses, then verified three ways; the cpuset's nodes must
# follow (widened to old and new for the move, narrowed to the new).
set -u
top_builddir=$1
. "$(dirname "$0")/lib.sh"
numactl -H | head -n 1

# A cpuset cgroup of the job's own, as Slurm's task/cgroup makes: the
# kernel refuses to move a page outside its nodes.
echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control ||
	{ echo "FAIL: cannot enable the cpuset controller"; exit 1; }
CG=/sys/fs/cgroup/nmengine
mkdir "$CG" && echo 0-3 >"$CG/cpuset.cpus" && echo 0-1 >"$CG/cpuset.mems" ||
	{ echo "FAIL: cannot make the cpuset cgroup $CG"; exit 1; }
# Narrowing a v2 cpuset migrates the page cache its tasks map as well.
follow=--files-may-follow
# want_mems NODES: the cpuset's nodes after a move
want_mems() {
	local got
	got=$(cat "$CG/cpuset.mems")
	[ "$got" = "$1" ] || { echo "FAIL: $CG/cpuset.mems is $got, want $1"; exit 1; }
	echo "ok: cpuset.mems is $1"
}

start_workload --cgroup "$CG" --size 24M --procs 2 --threads 2 --node 0-1
"$CHECK" --pids "$job_pids" --to 2-3 --min-moved-pct 99 $follow ||
	{ echo "FAIL: nm-move-check 0-1 -> 2-3"; exit 1; }
want_mems 2-3
# and back: a second move of the same job, by an explicit map
"$CHECK" --pids "$job_pids" --map 2-3:0-1 --min-moved-pct 99 $follow ||
	{ echo "FAIL: nm-move-check 2-3 -> 0-1"; exit 1; }
want_mems 0-1
stop_workload 0
echo "ok: moved 0-1 -> 2-3 -> 0-1 in a cpuset, every page on its mapped node, workload verified"
