# Shared by the repack tests: the daemon test library (numamigrated on a
# private socket and journal; root; never skips) plus, on request, a real
# throw-away Slurm cluster (tests/slurm/cluster.sh) the daemon asks.
# shellcheck source=tests/daemon/lib.sh
. "$top_srcdir/tests/daemon/lib.sh"
# shellcheck source=tests/slurm/cluster.sh
. "$top_srcdir/tests/slurm/cluster.sh"
CLUSTER=

repack_cleanup() {
	if [ -n "$CLUSTER" ]; then
		nmc_stop "$CLUSTER" >/dev/null 2>&1 ||
			echo "warning: stopping the Slurm cluster failed"
	fi
	cleanup
}
trap repack_cleanup EXIT

# start_cluster [--preempt]: a Slurm cluster under $T/c; exports SLURM_CONF.
start_cluster() {
	CLUSTER=$T/c
	if ! nmc_start "$CLUSTER" "$@" >"$T/cluster.log" 2>&1; then
		echo "FAIL: the Slurm cluster did not start:"
		sed 's/^/  cluster: /' "$T/cluster.log" | tail -n 30
		exit 1
	fi
}

# submit ARGS...: sbatch as root in the cluster's work dir; prints the id
submit() {
	(cd "$NMC_WORK" && sbatch --parsable "$@") | cut -d';' -f1
}

# pids of a job, comma-separated (scontrol listpids)
job_pids() { nmc_job_pids "$1" | paste -sd, -; }

# reply FILE: one JSON request on stdin to the daemon, raw, reply in FILE
raw_request() {
	python3 -c '
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
b = sys.stdin.buffer.read().strip()
s.sendall(struct.pack(">I", len(b)) + b)
buf = b""
while True:
    c = s.recv(65536)
    if not c: break
    buf += c
n = struct.unpack(">I", buf[:4])[0]
print(buf[4:4 + n].decode())' "$SOCK"
}

# held PID: stopped (T) or in a frozen cgroup, as a Slurm suspend leaves it
held() {
	local cg
	[ "$(state_of "$1")" = T ] && return 0
	cg=$(sed -n 's/^[0-9]*:freezer://p' "/proc/$1/cgroup" 2>/dev/null)
	if [ -n "$cg" ] && [ -f "/sys/fs/cgroup/freezer$cg/freezer.state" ]; then
		[ "$(cat "/sys/fs/cgroup/freezer$cg/freezer.state")" = FROZEN ] && return 0
	fi
	cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null)
	[ -n "$cg" ] && [ "$(cat "/sys/fs/cgroup$cg/cgroup.freeze" 2>/dev/null)" = 1 ]
}

# wait_running PIDS SECONDS: until no process of PIDS is held.  Slurm
# reports the job RUNNING before slurmstepd has sent SIGCONT or thawed it.
wait_running() {
	local p end=$((SECONDS + $2)) any
	while :; do
		any=0
		for p in ${1//,/ }; do held "$p" && any=1; done
		[ $any = 0 ] && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# wait_held PIDS SECONDS: every pid held (Slurm's SIGSTOP/freeze follows
# its SIGTSTP by the suspend grace time)
wait_held() {
	local p end=$((SECONDS + $2)) all
	while :; do
		all=1
		for p in ${1//,/ }; do held "$p" || all=0; done
		[ $all = 1 ] && return 0
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}
