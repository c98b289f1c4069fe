# Shared by the engine script tests: run nm-workload, move it with
# nm-move-check, stop the workload and require that it verified its memory.
set -u
: "${top_builddir:?run through make check}"
WORKLOAD=$top_builddir/tests/workload/nm-workload
CHECK=$top_builddir/tests/engine/nm-move-check
wl_out=$(mktemp) wl_pid=
trap '[ -n "$wl_pid" ] && kill -9 "$wl_pid" 2>/dev/null; rm -f "$wl_out"' EXIT

# start_workload [--cgroup DIR] ARGS...: sets $wl_pid (supervisor) and
# $job_pids (workers); with --cgroup, all of it runs in cgroup DIR.
start_workload() {
	local cg=
	if [ "${1:-}" = --cgroup ]; then cg=$2; shift 2; fi
	if [ -n "$cg" ]; then
		bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' wl \
			"$cg" "$WORKLOAD" "$@" >"$wl_out" 2>&1 &
	else
		"$WORKLOAD" "$@" >"$wl_out" 2>&1 &
	fi
	wl_pid=$!
	for _ in $(seq 1 600); do
		grep -q '^ready' "$wl_out" && break
		kill -0 "$wl_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q '^ready' "$wl_out"; then
		echo "FAIL: nm-workload did not get ready"
		sed 's/^/  workload: /' "$wl_out"
		exit 1
	fi
	job_pids=$(sed -n 's/^pids: //p' "$wl_out")
	# The job is the workers, alone in its cgroup as Slurm's tasks are
	# (a cgroup shared with a process not moved is left alone): the
	# supervisor, which only waits and checks, leaves it.
	if [ -n "$cg" ]; then
		echo "$wl_pid" >/sys/fs/cgroup/cgroup.procs ||
			{ echo "FAIL: cannot move the supervisor out of $cg"; exit 1; }
	fi
	echo "workload: supervisor $wl_pid, job $job_pids"
}

# stop_workload WANT: SIGUSR1, wait, compare its exit status with WANT
stop_workload() {
	local want=$1 rc
	kill -USR1 "$wl_pid"
	wait "$wl_pid"
	rc=$?
	wl_pid=
	sed 's/^/  workload: /' "$wl_out"
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: nm-workload exited $rc, wanted $want"
		exit 1
	fi
}
