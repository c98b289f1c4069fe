#!/bin/bash
# Runs inside the 4-node guest (tests/vm/daemon-faults.test): faults of
# real cross-node moves through numamigrated, each ending with the job
# running and its data intact.  The job: nm-workload, 2 processes x 2
# threads of 4K pages on nodes 0-1, together larger than node 3's free
# memory, each smaller than its own node's.
set -u
top_builddir=$1
. "$(dirname "$0")/daemon-guest-lib.sh"
numactl -H | head -n 1
# For the faults that must land mid-move, the engine sleeps 200 ms after
# each 4 MiB batch ([testing]): a move of the job then takes over 20 s on
# any host, however slow the checks that decide when to strike.
SLOW="[testing]
batch_delay_ms = 200"
write_config "$SLOW"
start_daemon
f3=$(node_free 3)
size=$((f3 * 6 / 10 / 1048576))
echo "node 3 has $((f3 >> 20)) MiB free: job of 2 x $size MiB"
start_nmw --size "${size}M" --procs 2 --threads 2 --kinds 4k --node 0-1
P=$NMW_PIDS P1=${NMW_PIDS%%,*} P2=${NMW_PIDS##*,}
journal_empty() { [ -z "$(ls -A "$JOURNAL" 2>/dev/null)" ]; }
summary() {
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  result:', {k: d.get(k) for k in ('pages_moved','pages_failed','failed_by_reason','tasks_exited','pages_of_exited_tasks','was_stopped','deadline_exceeded','engine_cancelled','pages_attempted','frozen_seconds','engine_seconds','seconds')})" "$1"
}

# 1. A target without room: refused before anything moves.
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 3 >"$T/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "cannot move" "$T/out" && ok "no room on node 3: refused: $(cat "$T/out")" ||
	fail "no room on node 3: exit $rc: $(cat "$T/out")"
"$PLACEMENT" same "$T/b.json" "$P" && ok "nothing moved" || fail "a refused move moved pages"
journal_empty || fail "journal left by a refused move"
running "$P" && ok "job running after the refusal" || fail "job not running after the refusal"

# 2. numamigrated SIGKILLed while its engine moves pages; the restarted
# daemon thaws the job from its journal; a new move then completes.
MOVER=
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --threads 1 --json >"$T/m.json" 2>"$T/err" &
MOVER=$!
if wait_phase moving $((16 << 20)); then
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	ok "daemon killed mid-engine ($(python3 -c "import json; m=json.load(open('$T/st.json'))['moves'][0]; print(m['bytes_done'] >> 20, 'of', m['bytes_total'] >> 20, 'MiB moved')"))"
else
	fail "never saw the engine moving (move too fast?): $(cat "$T/err")"
fi
wait "$MOVER"
MOVER=
[ "$(state_of "$P1")" = T ] && [ "$(state_of "$P2")" = T ] && ok "job left frozen by the crash" ||
	fail "job not frozen after the crash: $(state_of "$P1") $(state_of "$P2")"
journal_empty && fail "no journal after the crash"
echo "  memory per node after the crash: $("$PLACEMENT" nodes "$P")"
write_config
start_daemon
[ "$(state_of "$P1")" != T ] && [ "$(state_of "$P2")" != T ] && ok "restart thawed the job" ||
	fail "restart did not thaw: $(state_of "$P1") $(state_of "$P2")"
grep -q "recovery: thawed" "$T/daemon.log" || fail "recovery not logged"
journal_empty || fail "journal left after recovery: $(ls "$JOURNAL")"
running "$P" && ok "job running after recovery" || fail "job not running after recovery"
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --json >"$T/m.json" 2>"$T/err" &&
	ok "the move again, after recovery" || fail "move after recovery: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['pages_failed'] == 0"
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" && ok "every page on 2-3" ||
	fail "placement after the move following recovery"

# 3. Suspended (SIGSTOP, as Slurm suspends): moved, and still suspended.
kill -STOP ${P//,/ }
sleep 0.2
"$PLACEMENT" snap "$T/b.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 2-3:0-1 --json >"$T/m.json" 2>"$T/err" &&
	ok "move of a suspended job" || fail "move of a suspended job: $(cat "$T/err")"
summary "$T/m.json"
json_check "$T/m.json" "d['ok'] and d['was_stopped'] is True and d['pages_failed'] == 0 and d['pages_moved'] > 0"
sleep 0.5
[ "$(state_of "$P1")" = T ] && [ "$(state_of "$P2")" = T ] && ok "still suspended after the move" ||
	fail "the move resumed a suspended job: $(state_of "$P1") $(state_of "$P2")"
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P" && ok "suspended job's pages on 0-1" ||
	fail "placement of the suspended job"
kill -CONT ${P//,/ }
running "$P" && ok "job running once resumed" || fail "job not running once resumed"

# 4. Frozen past the deadline (1 s) mid-engine (the slowed move takes over
# 20 s): the watchdog cancels the engine
# and thaws the job; no batch starts after that.
stop_daemon
write_config "[move]
frozen_deadline = 1
$SLOW"
start_daemon
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 0-1:2-3 --threads 1 --json >"$T/m.json" 2>"$T/err"
rc=$?
summary "$T/m.json"
[ $rc -eq 1 ] && grep -q deadline "$T/err" && ok "deadline reported: $(cat "$T/err")" ||
	fail "deadline: exit $rc: $(cat "$T/err")"
json_check "$T/m.json" "d['deadline_exceeded'] and d['engine_cancelled'] and d['failed_by_reason']['cancelled'] > 0"
json_check "$T/m.json" "d['pages_moved'] > 0 and d['frozen_seconds'] < 2"
# No batch started after the watchdog: the cancelled pages were never
# handed to the kernel (the batch in flight then still finishes).
json_check "$T/m.json" "d['pages_attempted'] + d['failed_by_reason']['cancelled'] <= d['plan']['bytes_moved'] // 4096 * 1.02 and d['pages_attempted'] < d['plan']['bytes_moved'] // 4096"
"$PLACEMENT" snap "$T/c1.json" "$P"
sleep 1
"$PLACEMENT" same "$T/c1.json" "$P" && ok "nothing moves after the cancelled move returned" ||
	fail "pages still moving after the cancelled move"
grep -q "stopping the engine" "$T/daemon.log" || fail "watchdog cancel not logged"
running "$P" && ok "job running after the watchdog" || fail "job not running after the watchdog"
# Back to the default deadline: the finishing move may take over 1 s.
stop_daemon
write_config "$SLOW"
start_daemon
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 0-1:2-3 --json >"$T/m.json" 2>"$T/err" ||
	fail "move after the cancelled one: $(cat "$T/err")"
echo "  memory per node: $("$PLACEMENT" nodes "$P")"

# 5. A task exits while the engine moves: the rest moves, the job runs.
"$PLACEMENT" snap "$T/b.json" "$P1"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 2-3:0-1 --threads 1 --json >"$T/m.json" 2>"$T/err" &
MOVER=$!
wait_phase moving $((16 << 20)) && kill -KILL "$P2" && ok "task $P2 killed mid-engine" ||
	fail "never saw the engine moving: $(cat "$T/err")"
wait "$MOVER" && ok "move with a task exiting" || fail "move with a task exiting: $(cat "$T/err")"
MOVER=
summary "$T/m.json"
json_check "$T/m.json" "$P2 in d['tasks_exited'] and d['pages_failed'] == 0 and d['pages_moved'] > 0"
"$PLACEMENT" check "$T/b.json" "$T/m.json" "$P1" && ok "the survivor's pages on 0-1" ||
	fail "placement of the survivor"
running "$P1" && ok "survivor running" || fail "survivor not running"
journal_empty || fail "journal left"

# The survivor verifies all of its memory (the supervisor reports the
# killed worker, so its exit status is 1 here).
kill -USR1 "$NMW_PID"
wait "$NMW_PID"
sed 's/^/  workload: /' "$T/nmw.out" | grep -v ': 4k '
grep -q "^worker $P1: OK" "$T/nmw.out" && ok "survivor verified all its memory" ||
	fail "survivor's data did not survive"
NMW_PID=
finish
