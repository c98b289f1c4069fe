# Shared by the daemon tests that run inside the multi-node guest
# (tests/vm/daemon-*.test): tests/daemon/lib.sh (numamigrated in the
# foreground on a private socket and journal, checks), plus nm-workload as
# the job and tests/vm/nm-placement.py to check where its pages and
# threads are.  Usage: top_builddir=DIR; . daemon-guest-lib.sh
: "${top_builddir:?}"
top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
NUMAMIGRATE=$top_builddir/helper/numamigrate
export top_srcdir top_builddir NUMAMIGRATE
# shellcheck source=../daemon/lib.sh
. "$top_srcdir/tests/daemon/lib.sh"
WORKLOAD=$top_builddir/tests/workload/nm-workload
PLACEMENT=$top_srcdir/tests/vm/nm-placement.py
[ -x "$WORKLOAD" ] || { echo "FAIL: $WORKLOAD not built"; exit 1; }
[ "$(cat /proc/sys/kernel/numa_balancing)" = 0 ] ||
	{ echo "FAIL: the guest runs with NUMA balancing on"; exit 1; }
NMW_PID= NMW_PIDS=

# start_nmw [--cgroup DIR] [--user USER] ARGS...: nm-workload, ready; sets
# NMW_PID (the supervisor) and NMW_PIDS (the workers: the job, "P1,P2").
# In DIR the workers are alone, as Slurm's tasks are in theirs: the
# supervisor, which only waits and checks, leaves it once they run.
start_nmw() {
	local cg= user=root
	if [ "${1:-}" = --cgroup ]; then cg=$2; shift 2; fi
	if [ "${1:-}" = --user ]; then user=$2; shift 2; fi
	: >"$T/nmw.out"
	if [ -n "$cg" ]; then
		bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' nmw \
			"$cg" setpriv --reuid "$user" --regid "$user" --init-groups \
			"$WORKLOAD" "$@" >"$T/nmw.out" 2>&1 &
	else
		"$WORKLOAD" "$@" >"$T/nmw.out" 2>&1 &
	fi
	NMW_PID=$!
	EXTRA_PIDS="$EXTRA_PIDS $NMW_PID"
	for _ in $(seq 1200); do
		grep -q '^ready' "$T/nmw.out" && break
		kill -0 "$NMW_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready' "$T/nmw.out"; then
		echo "FAIL: nm-workload did not get ready"
		sed 's/^/  workload: /' "$T/nmw.out"
		exit 1
	fi
	NMW_PIDS=$(sed -n 's/^pids: //p' "$T/nmw.out")
	EXTRA_PIDS="$EXTRA_PIDS ${NMW_PIDS//,/ }"
	if [ -n "$cg" ]; then
		echo "$NMW_PID" >/sys/fs/cgroup/cgroup.procs ||
			{ echo "FAIL: cannot move the supervisor out of $cg"; exit 1; }
	fi
	echo "workload: supervisor $NMW_PID, job $NMW_PIDS, memory per node" \
		"$("$PLACEMENT" nodes "$NMW_PIDS")"
}

# stop_nmw: SIGUSR1; every worker verifies all its memory; must exit 0.
stop_nmw() {
	local rc
	kill -CONT ${NMW_PIDS//,/ } 2>/dev/null
	kill -USR1 "$NMW_PID"
	wait "$NMW_PID"
	rc=$?
	sed 's/^/  workload: /' "$T/nmw.out" | grep -v '^  workload: worker .*: 4k '
	if [ "$rc" -eq 0 ] && grep -q "all workers verified OK" "$T/nmw.out"; then
		ok "workload verified all its memory (exit 0)"
	else
		fail "workload exited $rc: its data did not survive"
	fi
	NMW_PID=
}

# running PIDS: each is running (not stopped) and using CPU.
running() {
	local p t0 t1 bad=0
	for p in ${1//,/ }; do
		t0=$(awk '{print $14}' "/proc/$p/stat" 2>/dev/null)
		sleep 0.5
		t1=$(awk '{print $14}' "/proc/$p/stat" 2>/dev/null)
		if [ -z "$t1" ] || [ "$(state_of "$p")" = T ] || [ "$t1" -le "$t0" ]; then
			bad=1
		fi
	done
	return $bad
}

# wait_phase PHASE [MIN_BYTES]: until the daemon reports the move in PHASE
# with at least MIN_BYTES done; 1 if the move ended first.
wait_phase() {
	local want=$1 min=${2:-0}
	for _ in $(seq 1200); do
		"$NUMAMIGRATE" status --socket "$SOCK" --json >"$T/st.json" 2>/dev/null || return 1
		python3 -c "
import json, sys
m = json.load(open(sys.argv[1])).get('moves', [])
sys.exit(0 if m and m[0]['phase'] == sys.argv[2] and m[0]['bytes_done'] >= int(sys.argv[3]) else 1)" \
			"$T/st.json" "$want" "$min" && return 0
		[ -n "${MOVER:-}" ] && ! kill -0 "$MOVER" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# node_free NODE: free bytes of a node
node_free() {
	awk '/MemFree/ {print $4 * 1024}' "/sys/devices/system/node/node$1/meminfo"
}
