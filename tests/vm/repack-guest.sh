#!/bin/bash
# Runs inside the 4-node guest (tests/vm/repack.test), one CPU per node:
# a real Slurm cluster with preemption by suspension; the Prolog and
# Epilog of every job ask numamigrated to repack and restore, as the
# SPANK plugin's job prolog/epilog will.  A low-priority nm-workload job
# with its memory on nodes 0-1 is preempted by a high-priority job on
# CPUs 0-1; its memory goes to nodes 2-3 while it is suspended, comes
# back when the high job ends (before Slurm resumes it), and both jobs
# verify every word of their memory.  The daemon is restarted in between:
# the evacuation record in its journal directory is what restores.
set -u
top_srcdir=$1 top_builddir=$2
NM=$top_builddir/helper/numamigrate
NMD=$top_builddir/helper/numamigrated
W=$top_builddir/tests/workload/nm-workload
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
hard() { echo "ERROR: $*"; exit 99; }
for b in "$NM" "$NMD" "$W"; do [ -x "$b" ] || hard "$b is not built"; done
export NMC_TIMEOUT=${NMC_TIMEOUT:-240}
# shellcheck source=tests/slurm/cluster.sh
. "$top_srcdir/tests/slurm/cluster.sh"
T=$(mktemp -d /tmp/nm-repack.XXXXXX) && chmod 755 "$T" || hard "mktemp"
SOCK=$T/nm.sock
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	nmc_stop "$T/c" >/dev/null 2>&1
	if [ $fails -ne 0 ]; then
		echo "---- daemon log"; tail -n 60 "$T/daemon.log"
		echo "---- hooks"; cat "$T/hooks.log"
		echo "---- slurmd"; tail -n 30 "$T"/c/log/slurmd.log
	fi
}
trap cleanup EXIT

numactl -H | head -n 3
nmc_start "$T/c" --preempt >"$T/cluster.log" 2>&1 ||
	{ cat "$T/cluster.log"; hard "the Slurm cluster did not start"; }
cat >"$T/nm.conf" <<EOF
[daemon]
socket = $SOCK
socket_mode = 0666
journal_dir = $T/journal
log_level = debug
[slurm]
conf = $SLURM_CONF
EOF
start_daemon() {
	"$NMD" --foreground --config "$T/nm.conf" >>"$T/daemon.log" 2>&1 &
	DPID=$!
	for _ in $(seq 200); do
		"$NM" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$T/daemon.log"
	hard "numamigrated did not start"
}
start_daemon

# The preemptor's node-side moments: Prolog and Epilog, as root on the node.
for h in prolog:repack epilog:restore; do
	cat >"$T/${h%%:*}.sh" <<EOF
#!/bin/sh
echo "\$(date +%T.%N) ${h%%:*} of job \$SLURM_JOB_ID" >>$T/hooks.log
$NM ${h##*:} --socket $SOCK --json "\$SLURM_JOB_ID" >$T/${h##*:}-\$SLURM_JOB_ID.tmp 2>>$T/hooks.log ||
	echo "${h##*:} of \$SLURM_JOB_ID failed: exit \$?" >>$T/hooks.log
mv $T/${h##*:}-\$SLURM_JOB_ID.tmp $T/${h##*:}-\$SLURM_JOB_ID.json
exit 0
EOF
	chmod 755 "$T/${h%%:*}.sh"
done
printf 'Prolog=%s\nEpilog=%s\n' "$T/prolog.sh" "$T/epilog.sh" >>"$SLURM_CONF"
scontrol reconfigure || hard "scontrol reconfigure"
sleep 3

# Bytes per node of PIDS' memory, e.g. "0:67M 1:67M 2:0M 3:0M".
per_node() {
	local p
	for p in ${1//,/ }; do cat "/proc/$p/numa_maps"; done | awk '
		{ ps = 4; for (i = 1; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) { split($i, a, "="); ps = a[2] }
		  for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), a, "="); kb[a[1]] += a[2] * ps } }
		END { for (n = 0; n < 4; n++) printf "%d:%dM ", n, kb[n] / 1024; print "" }'
}
mib_on() { # mib_on PIDS NODE
	per_node "$1" | tr ' ' '\n' | sed -n "s/^$2:\([0-9]*\)M$/\1/p"
}
# stopped (T), or in a frozen cgroup v2 (frozen by itself or an ancestor)
held() {
	local cg
	[ "$(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status")" = T ] && return 0
	cg=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
	grep -qx 'frozen 1' "/sys/fs/cgroup$cg/cgroup.events" 2>/dev/null
}
why_running() {
	echo "state $(sed -n 's/^State:\s*//p' "/proc/$1/status"), cgroup $(sed -n 's/^0:://p' "/proc/$1/cgroup"): $(tr '\n' ' ' <"/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")/cgroup.events")"
}
wait_file() { for _ in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

cd "$NMC_WORK" || hard "cd $NMC_WORK"
LOW=$(sbatch --parsable -p low -n 4 -o "$T/low.out" \
	--wrap "exec $W --procs 2 --threads 1 --node 0-1 --size 64M --kinds 4k,thp" | cut -d';' -f1)
nmc_wait_job_state "$LOW" RUNNING 120 || hard "low job $LOW not running"
for _ in $(seq 1200); do grep -q '^ready' "$T/low.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$T/low.out" || { cat "$T/low.out"; hard "the low job's workload is not ready"; }
LP=$(sed -n 's/^pids: //p' "$T/low.out")
"$NM" register --socket "$SOCK" --pid "$LP" --job "$LOW" >/dev/null || fail "register $LOW"
"$NM" policy --socket "$SOCK" "$LOW" auto >/dev/null || fail "policy $LOW"
BEFORE=$(per_node "$LP")
echo "low job $LOW (pids $LP) before:  $BEFORE"
[ "$(mib_on "$LP" 0)" -ge 60 ] && [ "$(mib_on "$LP" 1)" -ge 60 ] || fail "low job not on nodes 0-1"

HIGH=$(sbatch --parsable -p high -n 2 -o "$T/high.out" \
	--wrap "exec $W --procs 2 --threads 1 --node 0-1 --size 32M --kinds 4k --seconds 30" | cut -d';' -f1)
nmc_wait_job_state "$LOW" SUSPENDED 120 && ok "job $LOW suspended by job $HIGH" ||
	fail "job $LOW not suspended"
wait_file "$T/repack-$HIGH.json" 300 || fail "no repack reply from job $HIGH's prolog"
cat "$T/repack-$HIGH.json"
python3 - "$T/repack-$HIGH.json" "$LOW" <<'PY' && ok "repack: job $LOW moved off nodes 0-1 to 2-3" || fail "repack reply"
import json, sys
d = json.load(open(sys.argv[1])); low = int(sys.argv[2])
j = {x['job']: x for x in d['jobs']}[low]
assert d['ok'] and d['moved'] and d['nodes'] == '0-1', d
assert j['suspended'] and j['moved'] and j['to'] == '2-3', j
m = j['result']['map']
assert {m['0'], m['1']} == {2, 3}, m
# Slurm runs the preemptor's prolog before it stops the victim (SIGTSTP,
# then SIGSTOP/freeze after the grace time): at repack time the victim may
# or may not be stopped yet, so was_stopped is not asserted; Slurm state is.
assert j['result']['pages_failed'] == 0, j['result']
PY
DURING=$(per_node "$LP")
echo "low job $LOW during:           $DURING"
[ "$(mib_on "$LP" 0)" -le 2 ] && [ "$(mib_on "$LP" 1)" -le 2 ] &&
	[ "$(mib_on "$LP" 2)" -ge 60 ] && [ "$(mib_on "$LP" 3)" -ge 60 ] &&
	ok "suspended job's memory is on nodes 2-3" || fail "memory not moved: $DURING"
for p in ${LP//,/ }; do held "$p" || fail "process $p of suspended job $LOW runs: $(why_running "$p")"; done
[ "$(nmc_job_field "$LOW" JobState)" = SUSPENDED ] || fail "job $LOW is no longer suspended"
[ -f "$T/journal/repack-$HIGH.json" ] && ok "evacuation recorded: $(cat "$T/journal/repack-$HIGH.json")" ||
	fail "no record in the journal"

# A daemon restart: the record, not memory, drives the restore.
kill "$DPID"; wait "$DPID"; DPID=
start_daemon
grep -q "repack record for job $HIGH: 1 job(s)" "$T/daemon.log" && ok "record loaded after a restart" ||
	fail "record not loaded after restart"

nmc_wait_job_state "$HIGH" 'COMPLETED|FAILED|CANCELLED' 600 || fail "high job $HIGH did not end"
wait_file "$T/restore-$HIGH.json" 300 || fail "no restore reply from job $HIGH's epilog"
cat "$T/restore-$HIGH.json"
python3 - "$T/restore-$HIGH.json" "$LOW" <<'PY' && ok "restore: job $LOW moved back" || fail "restore reply"
import json, sys
d = json.load(open(sys.argv[1])); low = int(sys.argv[2])
j = {x['job']: x for x in d['jobs']}[low]
assert d['ok'] and d['restored'], d
assert j['restored'] and j['from'] == '2-3' and j['to'] == '0-1', j
print("restore moved", j['result'].get('bytes_moved'), "bytes (as the engine counts)")
assert j['result']['pages_failed'] == 0, j['result']
PY
nmc_wait_job_state "$LOW" RUNNING 120 && ok "Slurm resumed job $LOW" || fail "job $LOW not resumed"
AFTER=$(per_node "$LP")
echo "low job $LOW after:            $AFTER"
[ "$(mib_on "$LP" 0)" -ge 60 ] && [ "$(mib_on "$LP" 1)" -ge 60 ] &&
	[ "$(mib_on "$LP" 2)" -le 2 ] && [ "$(mib_on "$LP" 3)" -le 2 ] &&
	ok "memory back on nodes 0-1" || fail "memory not back: $AFTER"
grep -q "prolog of job $HIGH" "$T/hooks.log" && grep -q "epilog of job $HIGH" "$T/hooks.log" || fail "hooks did not run"
# restore came before the resume: the epilog ran while the job was suspended
grep -q "restore of job $LOW.*was_stopped\|move .*restore of job $LOW" "$T/daemon.log" || fail "no restore move logged"
[ ! -e "$T/journal/repack-$HIGH.json" ] && ok "record removed after the restore" || fail "record left"

# Both jobs' data: every word checked.
sleep 3
scancel -b -s USR1 "$LOW"
nmc_wait_job_state "$LOW" 'COMPLETED|FAILED' 300 || fail "low job did not end"
cat "$T/high.out" "$T/low.out" | grep -E '^(worker|nm-workload)'
[ "$(nmc_job_field "$HIGH" JobState)" = COMPLETED ] && grep -q 'all workers verified OK' "$T/high.out" &&
	ok "high job verified" || fail "high job: $(nmc_job_field "$HIGH" JobState)"
[ "$(nmc_job_field "$LOW" JobState)" = COMPLETED ] && grep -q 'all workers verified OK' "$T/low.out" &&
	ok "low job verified its memory after evacuation and return" || fail "low job: $(nmc_job_field "$LOW" JobState)"
grep -q "refused\|failed" "$T/hooks.log" && fail "a hook failed: $(cat "$T/hooks.log")"
[ $fails -eq 0 ] && echo "repack-guest: PASS" || echo "repack-guest: $fails check(s) failed"
exit $((fails ? 1 : 0))
