#!/bin/bash
# Runs inside the 4-node guest (tests/vm/live-faults.test): faults during
# the live phase of a live move (--mode live) through numamigrated, each
# ending with the job running, its data intact and its placement
# consistent (every thread on the node holding most of its process's
# memory).  The job: nm-workload, 2 processes x 2 threads of 4K pages, the
# first on node 0, the second on node 1; then (case 5) a job whose memory
# NUMA balancing may move, moved with it off and on.  The engine sleeps
# 200 ms after each 4 MiB batch ([testing]), so the live phase lasts many
# seconds however slow the checks that decide when to strike.
set -u
top_builddir=$1
. "$(dirname "$0")/daemon-guest-lib.sh"
numactl -H | head -n 1
SLOW="[testing]
batch_delay_ms = 200"
write_config "$SLOW"
start_daemon
SIZE=96M
start_nmw --size "$SIZE" --procs 2 --threads 2 --kinds 4k --node 0-1
P=$NMW_PIDS P1=${NMW_PIDS%%,*} P2=${NMW_PIDS##*,}
journal_empty() { [ -z "$(ls -A "$JOURNAL" 2>/dev/null)" ]; }
summary() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  result:', {k: d.get(k) for k in ('ok','mode','passes','bytes_moved_live','bytes_moved_frozen','live_seconds','frozen_seconds','pages_moved','pages_failed','failed_by_reason','tasks_exited','cpu_map','seconds')})" "$1"
}
# consistent WHAT: every thread where its memory mostly is
consistent() {
	if "$PLACEMENT" consistent "$P" >"$T/cons.out" 2>&1; then
		ok "$1: placement consistent ($(tr '\n' ';' <"$T/cons.out"))"
	else
		fail "$1: placement inconsistent"
		sed 's/^/  /' "$T/cons.out"
	fi
}
# live_move ARGS...: a slowed live move of the job in the background
# cpu_ticks PIDS: user + system CPU ticks of the processes, summed
cpu_ticks() {
	local p n=0
	for p in ${1//,/ }; do
		n=$((n + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$n"
}
# wait_for_move: until the daemon reports a move in progress; 1 when the
# move ended first, or after 120 s
wait_for_move() {
	local end=$((SECONDS + 120))
	while [ $SECONDS -lt $end ]; do
		"$NUMAMIGRATE" status --socket "$SOCK" --json >"$T/st.json" 2>/dev/null &&
			python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get('moves') else 1)" \
				"$T/st.json" && return 0
		[ -n "${MOVER:-}" ] && ! kill -0 "$MOVER" 2>/dev/null && return 1
		sleep 0.1
	done
	return 1
}
live_move() {
	MOVER=
	"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" "$@" --threads 1 \
		--mode live --json >"$T/m.json" 2>"$T/err" &
	MOVER=$!
}

# 1. A deadline on the live phase (live_timeout = 8 s, the slowed passes
# take many seconds): the passes stop, the frozen pass moves the rest, the
# move completes.
stop_daemon
write_config "$SLOW
[move]
live_timeout = 8"
start_daemon
"$PLACEMENT" snap "$T/b.json" "$P"
live_move --to 2-3
# That the job runs during a live pass is checked in cases 3 and 4; here
# what counts is that the deadline ends the live phase.
wait "$MOVER" && ok "deadline: the move completed" || fail "deadline: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['mode'] == 'live' and d['passes'] >= 1 and d['bytes_moved_live'] > 0 and d['bytes_moved_frozen'] > 0 and d['pages_failed'] == 0"
grep -q "live phase ends after .*the live phase's time is up" "$T/daemon.log" &&
	ok "deadline: the live phase ended on its time" ||
	fail "deadline: no 'time is up' in the log"
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" && ok "deadline: every page and thread on 2-3" ||
	fail "deadline: placement after the move"
consistent deadline
journal_empty || fail "deadline: journal left"
running "$P" || fail "deadline: job not running afterwards"

# 2. The target fills up during the live phase: the move 2-3 -> 0-1 is
# planned (room enough), then, during a pause before the live phase
# ([testing] delay_ms, ended by removing delay_file once ready), another
# program fills node 1 (process 2's target).  Process 2's pages stay where
# they are (no room), its threads with them; process 1 moves; the job runs
# on.
stop_daemon
write_config "$SLOW
delay_ms = 600000
delay_file = $T/hold"
touch "$T/hold"
start_daemon
echo "  target full: memory per node before: $("$PLACEMENT" nodes "$P")"
live_move --map 2-3:0-1
hog=
if wait_for_move; then
	free1=$(node_free 1)
	hogmb=$((free1 / 1048576 - 16))
	"$WORKLOAD" --size "${hogmb}M" --procs 1 --threads 1 --kinds 4k \
		--node 1 >"$T/hog.out" 2>&1 &
	hog=$!
	EXTRA_PIDS="$EXTRA_PIDS $hog"
	# The move waits for it (delay_file): a slow host only makes this longer.
	end=$((SECONDS + 400))
	until grep -q '^ready' "$T/hog.out" || [ $SECONDS -ge $end ]; do
		sleep 0.2
	done
	grep -q '^ready' "$T/hog.out" &&
		ok "target full: node 1 ($((free1 >> 20)) MiB free) filled with $hogmb MiB after the plan" ||
		fail "target full: the program filling node 1 did not get ready"
else
	fail "target full: never saw the move start: $(cat "$T/err"); status: $(cat "$T/st.json" 2>/dev/null)"
fi
rm -f "$T/hold"
wait "$MOVER"
rc=$?
MOVER=
summary "$T/m.json"
echo "  move exit $rc; memory per node: $("$PLACEMENT" nodes "$P")"
json_check "$T/m.json" "d['mode'] == 'live' and not d['ok'] and d['failed_by_reason']['nomem'] > 0 and d['cpu_map']['3'] == 3" &&
	ok "target full: the move failed on a full node 1, node 3's CPUs kept"
consistent "target full"
running "$P" && ok "target full: job running" || fail "target full: job not running"
journal_empty || fail "target full: journal left"
if [ -n "$hog" ]; then
	kill -USR1 "$hog" 2>/dev/null
	wait "$hog"
fi
stop_daemon
write_config "$SLOW"
start_daemon
# Everything back on 0-1 for the next cases.
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 0-1 --json >"$T/m.json" 2>"$T/err" ||
	echo "  (move back: $(cat "$T/err"))"
consistent "after the move back"

# 3. numamigrated SIGKILLed during the live phase: the job was never
# frozen and keeps running; the restarted daemon finds nothing to thaw;
# the move run again completes, placement consistent.
live_move --to 2-3
if wait_phase "moving live" $((8 << 20)); then
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	ok "daemon killed during the live phase"
else
	fail "daemon kill: never saw the live pass: $(cat "$T/err")"
fi
wait "$MOVER"
MOVER=
[ "$(state_of "$P1")" != T ] && [ "$(state_of "$P2")" != T ] &&
	running "$P" && ok "daemon kill: the job keeps running" ||
	fail "daemon kill: job not running: $(state_of "$P1") $(state_of "$P2")"
echo "  memory per node after the kill: $("$PLACEMENT" nodes "$P")"
# The threads were re-pinned to 2-3 before the first pass; most of the
# memory is still on 0-1: the restarted daemon puts them back with it.
write_config "$SLOW"
start_daemon
journal_empty || fail "daemon kill: journal left after the restart"
consistent "daemon kill, after the restart"
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --mode live --json \
	>"$T/m.json" 2>"$T/err" && ok "daemon kill: the live move again" ||
	fail "daemon kill: the move again: $(cat "$T/err")"
summary "$T/m.json"
consistent "daemon kill, moved again"

# 4. A task exits during the live phase: the rest moves, the job runs.
live_move --map 2-3:0-1
if wait_phase "moving live" $((8 << 20)); then
	kill -KILL "$P2" && ok "task $P2 killed during the live phase"
else
	fail "task exit: never saw the live pass: $(cat "$T/err")"
fi
wait "$MOVER" && ok "task exit: the move completed" || fail "task exit: $(cat "$T/err")"
MOVER=
summary "$T/m.json"
json_check "$T/m.json" "$P2 in d['tasks_exited'] and d['pages_failed'] == 0 and d['mode'] == 'live'"
P=$P1
consistent "task exit"
running "$P1" && ok "task exit: survivor running" || fail "task exit: survivor not running"
journal_empty || fail "task exit: journal left"
kill -USR1 "$NMW_PID"
wait "$NMW_PID"
sed 's/^/  workload: /' "$T/nmw.out" | grep -v ': 4k '
grep -q "^worker $P1: OK" "$T/nmw.out" && ok "survivor verified all its memory" ||
	fail "survivor's data did not survive"
NMW_PID=

# 5. Automatic NUMA balancing on and off: a job whose memory has the
# default policy (--local: first touch, threads pinned), which the kernel's
# balancer may move, moved live 0-1 -> 2-3 with numa_balancing off, then
# back 2-3 -> 0-1 with it on.  The move re-pins the threads first, so the
# balancer's hinting faults pull the job's pages the same way as the move.
# What move_pages(2) cannot do with it on: move a page whose PTE the
# balancer has made a NUMA hinting fault (it reads as not present, and
# stays so while the job is frozen), or one it has in flight: the engine
# tries such pages again, then reports them "gone" (or "busy"); the
# balancer moves them on the job's next touch, towards its re-pinned
# threads, i.e. the mapped node.  And it moves a page the job shares with
# a process outside it (the workload's supervisor, after fork) after that
# process's faults.  So with it on: no failure but "gone" or "busy"; the
# placement check counts the shared mappings without checking them,
# checks the private ones (nearly all of the job) allowing the pages the
# move reported, and runs up to 3 times a second apart (a page in flight
# is counted on no node).
# The job is 64 MiB: the live phase must not end before its first pass
# (live_threshold, 64 MiB by default).
stop_daemon
write_config "$SLOW
[move]
live_threshold = 4M"
start_daemon
start_nmw --size 32M --procs 2 --threads 2 --kinds 4k --node 0-1 --local
P=$NMW_PIDS
# vmstat_of KEY: the kernel's counter
vmstat_of() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
placed() {
	local i
	for i in 1 2 3; do
		"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" "$@" >"$T/pl.out" 2>&1 && return 0
		sleep 1
	done
	return 1
}
for bal in 0 1; do
	echo "$bal" >/proc/sys/kernel/numa_balancing ||
		{ fail "numa_balancing: cannot set it to $bal"; continue; }
	if [ "$bal" = 0 ]; then
		how="--to 2-3" only=
		want="d['ok'] and d['pages_failed'] == 0 and d['pages_moved'] > 15000"
	else
		how="--map 2-3:0-1" only=--private-only
		want="d['pages_failed'] == d['failed_by_reason']['gone'] + d['failed_by_reason']['busy']"
	fi
	"$PLACEMENT" snap "$T/b.json" "$P"
	h0=$(vmstat_of numa_hint_faults) m0=$(vmstat_of numa_pages_migrated)
	# shellcheck disable=SC2086
	live_move $how
	wait "$MOVER"
	rc=$?
	MOVER=
	echo "  numa_balancing=$bal: move exit $rc $(cat "$T/err")"
	[ "$rc" = 0 ] || [ "$bal" = 1 ] || fail "numa_balancing=$bal: the move failed"
	summary "$T/m.json"
	echo "  numa_balancing=$bal: the balancer took $(($(vmstat_of numa_hint_faults) - h0)) hinting faults and migrated $(($(vmstat_of numa_pages_migrated) - m0)) pages during the move"
	json_check "$T/m.json" "$want and d['mode'] == 'live' and d['passes'] >= 1"
	gone=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['pages_failed'])" "$T/m.json")
	# shellcheck disable=SC2086
	placed $only --allow-off="${gone:-0}" && ok "numa_balancing=$bal: every page and thread on its mapped node ($(tail -n 1 "$T/pl.out"))" ||
		{ fail "numa_balancing=$bal: placement after the move"; sed 's/^/  /' "$T/pl.out"; }
	consistent "numa_balancing=$bal"
	running "$P" || fail "numa_balancing=$bal: job not running afterwards"
done
echo 0 >/proc/sys/kernel/numa_balancing
stop_nmw
finish
