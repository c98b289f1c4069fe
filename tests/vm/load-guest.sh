#!/bin/bash
# Runs inside the 4-node guest (tests/vm/load.test): one numamigrated, ten
# registered jobs (nm-workload, 1 process, 4k and THP memory) and 100
# concurrent clients (tests/vm/nm-load-clients): a mover per job, moving
# it to another node and back (jobs on 0<->1 and on 2<->3 are
# disjoint, 1<->2 and 3<->0 overlap both), 10 registering and
# unregistering, the rest asking for status.  Then: nothing frozen or
# queued, the journal empty, and every job verifies all its memory.
set -u
top_builddir=$1
. "$(dirname "$0")/daemon-guest-lib.sh"
CLIENTS=$top_builddir/tests/vm/nm-load-clients
[ -x "$CLIENTS" ] || { echo "FAIL: $CLIENTS not built"; exit 1; }
numactl -H | head -n 1
# 100 clients of root's at once: more than the default 64 slots.
write_config "max_clients = 128"
start_daemon

# job HOME AWAY: jobs 101-110
# The jobs rewrite all their memory (checking it) in bursts: a pass, then
# 2 s asleep.  Single-threaded TCG runs the 4 vCPUs on one host thread in
# turn, each busy one for its whole slice: jobs computing without pause
# on every vCPU (nice does not reach across vCPUs) made each wakeup of the
# daemon or a client wait for the others' slices (a ping alone took 60 ms
# instead of 10) and left the daemon a fraction of the one emulated CPU
# it has on real hardware to itself.  Nice 19 all the same.
PAIRS="0:1 1:0 0:1 2:3 3:2 2:3 1:2 3:0 0:1 2:3"
JOBPIDS= SUPERS= SLEEPERS= json=
j=100
for pair in $PAIRS; do
	j=$((j + 1))
	home=${pair%%:*} away=${pair##*:}
	nice -n 19 "$WORKLOAD" --size 4M --kinds 4k,thp --procs 1 --threads 1 --pause 2000 \
		--node "$home" >"$T/nmw.$j" 2>&1 &
	SUPERS="$SUPERS $!"
	EXTRA_PIDS="$EXTRA_PIDS $!"
done
j=100
for pair in $PAIRS; do
	j=$((j + 1))
	for _ in $(seq 600); do
		grep -q '^ready' "$T/nmw.$j" && break
		sleep 0.1
	done
	p=$(sed -n 's/^pids: //p' "$T/nmw.$j")
	[ -n "$p" ] || { echo "FAIL: workload of job $j did not start"; cat "$T/nmw.$j"; exit 1; }
	EXTRA_PIDS="$EXTRA_PIDS ${p//,/ }"
	JOBPIDS="$JOBPIDS ${p//,/ }"
	"$NUMAMIGRATE" register --socket "$SOCK" --pid "$p" --job "$j" >"$T/out" 2>&1 ||
		fail "register job $j: $(cat "$T/out")"
	json="$json${json:+,}{\"job\": $j, \"pids\": [$p], \"nodes\": [${pair%%:*}, ${pair##*:}]}"
done
for _ in $(seq 10); do
	sleep 600 &
	SLEEPERS="$SLEEPERS${SLEEPERS:+,}$!"
	EXTRA_PIDS="$EXTRA_PIDS $!"
done
echo "{\"jobs\": [$json], \"sleepers\": [$SLEEPERS]}" >"$T/jobs.json"

# The guest's CPU time (ticks of all its vCPUs): busy (nice: the jobs)
# and idle, from /proc/stat's cpu line.
cpu_ticks() { awk '/^cpu / { print $2 + $4 + $7 + $8, $3, $5 + $6 }' /proc/stat; }

# One process, one epoll loop for the 100 clients: they share the
# emulated CPU with the daemon they measure.
read -r busy0 nice0 idle0 <<<"$(cpu_ticks)"
"$CLIENTS" "$SOCK" "$T/jobs.json" &&
	ok "100 clients: every status within 1 s, every move done or refused with a reason" ||
	fail "the load run (above)"
read -r busy1 nice1 idle1 <<<"$(cpu_ticks)"
awk -v hz="$(getconf CLK_TCK)" -v b=$((busy1 - busy0)) -v n=$((nice1 - nice0)) \
	-v i=$((idle1 - idle0)) 'BEGIN { printf "load: guest CPU while the clients ran: " \
	"%.1f s busy, %.1f s nice (the jobs), %.1f s idle\n", b / hz, n / hz, i / hz }'

# The daemon's longest silence while moves ran (from the first move
# request to the 20th move done): every request logs a line at debug, so
# a long gap is a stall of all answering.
awk '/ debug: move from / { on = 1 } / ok: / { if (++done == 20) on = 0 }
	on && / debug: (status|register|unregister|ping) from / { split($1, t, ":");
		s = t[1] * 3600 + t[2] * 60 + t[3]; if (p && s - p > g) { g = s - p; at = $1 }; p = s }
	END { printf "load: longest gap between requests while moves ran: %.3f s (before %s)\n", g, at }' \
	"$T/daemon.log"
# Its CPU time beside the clients' (above): what status costs the daemon,
# by thread (the threads gone: the moves' connections and engines).
cat "/proc/$DAEMON_PID"/task/*/stat | awk -v hz="$(getconf CLK_TCK)" \
	-v all="$(awk '{ print $14 + $15 }' "/proc/$DAEMON_PID/stat")" '
	{ gsub(/[()]/, "", $2); t[$2] += $14 + $15; live += $14 + $15 }
	END { printf "load: numamigrated CPU %.1f s:", all / hz
		for (n in t) printf " %s %.1f s,", n, t[n] / hz
		printf " threads gone %.1f s\n", (all - live) / hz }'
"$NUMAMIGRATE" status --socket "$SOCK" --json >"$T/st.json"
json_check "$T/st.json" "d['moves'] == [] and d['queue'] == [] and d['frozen'] == [] and len(d['jobs']) == 10"
for p in $JOBPIDS; do
	[ "$(state_of "$p")" != T ] || fail "process $p left stopped"
done
[ -z "$(ls -A "$JOURNAL")" ] || fail "journal not empty: $(ls "$JOURNAL")"
grep -c ': ok: ' "$T/daemon.log" | sed 's/^/daemon log: moves ok: /'

# Every job checks all its memory and exits 0.
verified=0
for s in $SUPERS; do kill -USR1 "$s"; done
j=100
for s in $SUPERS; do
	j=$((j + 1))
	if wait "$s" && grep -q "all workers verified OK" "$T/nmw.$j"; then
		verified=$((verified + 1))
	else
		fail "job $j: its data did not survive: $(tail -n 3 "$T/nmw.$j")"
	fi
done
[ "$verified" -eq 10 ] && ok "all 10 jobs verified their memory"
# How busy the jobs were: each one's passes over its memory.
echo "load: passes of each job: $(sed -n 's/.* verified, \([0-9]*\) passes$/\1/p' "$T"/nmw.* | tr '\n' ' ')"
finish
