# Shared by the SPANK plugin tests: a throw-away Slurm cluster
# (tests/slurm/cluster.sh) whose plugstack.conf loads the freshly built
# plugin, and numamigrated in the foreground on a private socket.
#
# Exit status of a test: 0 pass, 1 fail, 99 hard error (not root, the
# plugin or the daemon not built, Slurm missing, the cluster cannot
# start).  Never a silent skip.  NMS_KEEP=1 keeps the directory.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
NUMAMIGRATE=${NUMAMIGRATE:-$top_builddir/helper/numamigrate}
NUMAMIGRATED=${NUMAMIGRATED:-$top_builddir/helper/numamigrated}
PLUGIN=${NM_SPANK_PLUGIN:-$top_builddir/spank/.libs/numamigrate.so}
MPI=$top_builddir/tests/mpi
# shellcheck source=tests/slurm/cluster.sh
. "$top_srcdir/tests/slurm/cluster.sh"
# shellcheck source=tests/wait.sh
. "$top_srcdir/tests/wait.sh"

fails=0
T=
DAEMON_PID=
CLUSTER=

ok() { echo "ok: $*"; }
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
hard_error() {
	echo "ERROR (hard): $*"
	exit 99
}

nms_cleanup() {
	local rc=$? f
	trap - EXIT
	if [ -n "$CLUSTER" ]; then
		nmc_stop "$CLUSTER" || { echo "FAIL: stopping the cluster"; rc=1; }
	fi
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ -n "$T" ]; then
		if [ "$rc" -ne 0 ]; then
			for f in "$T/daemon.log" "$T"/c/log/slurmd.log \
				"$T"/c/log/slurmctld.log; do
				[ -s "$f" ] || continue
				echo "---- last lines of $f"
				tail -n 40 "$f"
			done
		fi
		if [ "$rc" -ne 0 ] || [ "${NMS_KEEP:-0}" = 1 ]; then
			echo "test directory kept in $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# ---- prerequisites: hard errors --------------------------------------------
[ "$(id -u)" -eq 0 ] ||
	hard_error "needs root: it starts slurmd, munged, numamigrated"
[ -f "$PLUGIN" ] ||
	hard_error "$PLUGIN is not built (configure found no slurm/spank.h? install libslurm-dev)"
[ -x "$NUMAMIGRATED" ] && [ -x "$NUMAMIGRATE" ] ||
	hard_error "$NUMAMIGRATED or $NUMAMIGRATE is not built"
for bin in srun sbatch salloc scontrol squeue slurmd slurmctld munged; do
	command -v $bin >/dev/null ||
		hard_error "'$bin' not found: install slurmctld slurmd slurm-client munge (scripts/deps.sh)"
done

T=$(mktemp -d "${TMPDIR:-/tmp}/nm-spank-test.XXXXXX") || hard_error "mktemp"
chmod 755 "$T"
trap nms_cleanup EXIT
trap 'exit 1' INT TERM HUP
SOCK=$T/nm.sock

# nms_start_daemon [EXTRA INI TEXT]: numamigrated in the foreground; the
# socket is 0666 so the job user's CLI and raw-socket tests reach it.
nms_start_daemon() {
	cat >"$T/nm.conf" <<CONF
[daemon]
socket = $SOCK
socket_mode = 0666
journal_dir = $T/journal
log_level = debug
$*
CONF
	"$NUMAMIGRATED" --foreground --config "$T/nm.conf" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		"$NUMAMIGRATE" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/  log: /' "$T/daemon.log"
	hard_error "numamigrated did not start"
}

# nms_start_cluster [PLUGIN ARGS...] [-- CLUSTER OPTIONS]: plugstack.conf
# loads the plugin ('required': a plugin that fails to load is an error
# here, unlike the 'optional' of production).
nms_start_cluster() {
	local args=() copts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	copts=("$@")
	[ ${#args[@]} -gt 0 ] || args=("socket=$SOCK" repack=auto engine=auto)
	echo "required $PLUGIN ${args[*]}" >"$T/plugstack.conf"
	CLUSTER=$T/c
	NMC_DEBUG=${NMC_DEBUG:-debug} nmc_start "$CLUSTER" \
		--plugstack "$T/plugstack.conf" "${copts[@]}" || {
		CLUSTER=
		hard_error "the Slurm cluster could not start; see the messages above"
	}
	SLURMD_LOG=$CLUSTER/log/slurmd.log
}

# nms_status FILE: the daemon's registry as JSON (root: every job).
nms_status() {
	"$NUMAMIGRATE" status --socket "$SOCK" --json >"$1" 2>&1
}

# json_true FILE PYTHON-EXPRESSION over d: quietly, whether it holds.
json_true() {
	/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null
}

# json_check FILE PYTHON-EXPRESSION over d: a failed check when it does not.
json_check() {
	if ! json_true "$1" "$2"; then
		fail "JSON check: $2"
		head -c 1500 "$1" | sed 's/^/  json: /'
		return 1
	fi
}


# job_tasks_registered JOB N: the daemon has N tasks of JOB.
job_tasks_registered() {
	nms_status "$T/st.json" &&
		/usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len([t for t in d['tasks'] if t.get('job') == int(sys.argv[2])]) == int(sys.argv[3]) else 1)" \
			"$T/st.json" "$1" "$2" 2>/dev/null
}

# submit_user SBATCH-ARGS...: sbatch as the job user; prints the job id.
submit_user() {
	as_user sbatch --parsable "$@" 2>"$T/sbatch.err" | cut -d';' -f1
}

finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}

# NMS_LIB_EXTRA: a file that redefines some of the above for another setup
# (tests/install/installed.sh: the daemon and plugin the Debian packages
# installed).
if [ -n "${NMS_LIB_EXTRA:-}" ]; then
	# shellcheck source=tests/install/installed.sh
	. "$NMS_LIB_EXTRA" || hard_error "cannot read $NMS_LIB_EXTRA"
fi
