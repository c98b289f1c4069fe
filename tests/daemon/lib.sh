# Shared by the daemon tests: numamigrated in the foreground on a private
# socket and journal, a stand-in workload, and checks.  Needs root: a test
# that cannot get it fails, it does not skip.
set -u
: "${NUMAMIGRATE:?run through make check}"
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"
NUMAMIGRATED=${NUMAMIGRATED:-$top_builddir/helper/numamigrated}
HERE=$top_srcdir/tests/daemon
fails=0
T=$(mktemp -d /tmp/nm-daemon-test.XXXXXX)
chmod 755 "$T"
SOCK=$T/nm.sock
JOURNAL=$T/journal
DAEMON_PID=
WORKLOAD_PID=
EXTRA_PIDS=

cleanup() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null
	for p in $WORKLOAD_PID $EXTRA_PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$DAEMON_PID" ] && wait "$DAEMON_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: these tests need root (numamigrated freezes and moves processes)"
	exit 1
fi
[ -x "$NUMAMIGRATED" ] || { echo "FAIL: $NUMAMIGRATED not built"; exit 1; }

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
ok() { echo "ok: $*"; }

# write_config [EXTRA INI TEXT]: the daemon's config with test paths
write_config() {
	cat >"$T/nm.conf" <<CONF
[daemon]
socket = $SOCK
socket_mode = 0666
journal_dir = $JOURNAL
log_level = debug
$*
CONF
}

start_daemon() {
	"$NUMAMIGRATED" --foreground --config "$T/nm.conf" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		"$NUMAMIGRATE" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL: numamigrated did not start:"
	sed 's/^/  log: /' "$T/daemon.log"
	exit 1
}

stop_daemon() {
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# start_workload NPROC MIB [USER]: sets WPIDS "P,P" and WORKLOAD_PID
start_workload() {
	local n=$1 mib=$2 user=${3:-}
	mkdir -p "$T/w" && chmod 777 "$T/w"
	: >"$T/w.out${user:+.$user}"
	if [ -n "$user" ]; then
		setpriv --reuid "$user" --regid "$user" --init-groups \
			/usr/bin/python3 "$HERE/workload.py" "$n" "$mib" "$T/w" >"$T/w.out.$user" &
	else
		python3 "$HERE/workload.py" "$n" "$mib" "$T/w" >"$T/w.out" &
	fi
	local pid=$! out="$T/w.out${user:+.$user}"
	for _ in $(seq 300); do
		grep -q '^pids:' "$out" && break
		sleep 0.05
	done
	WPIDS=$(sed -n 's/^pids: //p' "$out")
	[ -n "$WPIDS" ] || { echo "FAIL: workload did not start"; exit 1; }
	if [ -z "$user" ]; then WORKLOAD_PID=$pid; fi
	EXTRA_PIDS="$EXTRA_PIDS $pid ${WPIDS//,/ }"
}

state_of() { sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status"; }

# Python from the system: a user's own (pyenv) may be unreadable to others.
python3() { /usr/bin/python3 "$@"; }

# Every workload process has checked its data again since the call, and
# found it intact.
check_data() {
	local p before after
	for p in ${1//,/ }; do
		before=$(cut -d' ' -f2 "$T/w/status.$p")
		for _ in $(seq 100); do
			after=$(cut -d' ' -f2 "$T/w/status.$p")
			[ "$after" != "$before" ] && break
			sleep 0.05
		done
		if grep -q BAD "$T/w/status.$p"; then
			fail "process $p: its data changed"
		elif [ "$after" = "$before" ]; then
			fail "process $p: not running (no check since)"
		fi
	done
}

# json_check FILE PYTHON-EXPRESSION over d
json_check() {
	if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null; then
		fail "JSON check: $2"
		head -c 1500 "$1" | sed 's/^/  json: /'
		return 1
	fi
}

# status_until FILE EXPR: status --json (as root) into FILE, polled for up
# to 10 s until the Python expression EXPR over d holds
status_until() {
	for _ in $(seq 200); do
		"$NUMAMIGRATE" status --socket "$SOCK" --json >"$1" 2>/dev/null &&
			python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null &&
			return 0
		sleep 0.05
	done
	return 1
}

# run_as USER CMD...: as an unprivileged user
run_as() {
	local u=$1
	shift
	setpriv --reuid "$u" --regid "$u" --init-groups "$@"
}

ensure_user() { # ensure_user [NAME]: an unprivileged user (default nmtest)
	local u=${1:-nmtest}
	id "$u" >/dev/null 2>&1 || useradd --system --no-create-home "$u" ||
		{ echo "FAIL: cannot create user $u"; exit 1; }
}

finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed; daemon log:"
		sed 's/^/  log: /' "$T/daemon.log" | tail -n 40
		exit 1
	fi
	exit 0
}
