#!/bin/bash
# Runs inside the 4-node guest (tests/vm/engine-xnode.test): nm-workload on
# nodes 0-1, moved to 2-3 by the engine, then verified three ways.
set -u
top_builddir=$1
. "$(dirname "$0")/lib.sh"
numactl -H | head -n 1
start_workload --size 24M --procs 2 --threads 2 --node 0-1
"$CHECK" --pids "$job_pids" --to 2-3 --min-moved-pct 99 ||
	{ echo "FAIL: nm-move-check 0-1 -> 2-3"; exit 1; }
# and back: a second move of the same job, by an explicit map
"$CHECK" --pids "$job_pids" --map 2-3:0-1 --min-moved-pct 99 ||
	{ echo "FAIL: nm-move-check 2-3 -> 0-1"; exit 1; }
stop_workload 0
echo "ok: moved 0-1 -> 2-3 -> 0-1, every page on its mapped node, workload verified"
