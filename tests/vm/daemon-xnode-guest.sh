#!/bin/bash
# Runs inside the 4-node guest (tests/vm/daemon-xnode.test): the real
# daemon path.  numamigrated moves nm-workload (2 processes x 2 threads,
# 4K + THP + anonymous + shared memory) from nodes 0-1 to 2-3 while it
# sits in a cpuset cgroup (and, killed mid-move back, the restarted daemon
# puts the cpuset back), then back with an explicit map outside it.
# Then an unprivileged user's move of a process that maps root's /dev/shm
# file: its own memory moves, root's shared pages stay (shared_skipped).
# Then the cpusets a move may touch: a shared one is left alone (an
# unprivileged user's move), pages park only inside an unprivileged
# user's allocation, and an ancestor widened for root's parking is
# narrowed again.
set -u
top_builddir=$1
. "$(dirname "$0")/daemon-guest-lib.sh"
numactl -H | head -n 1
write_config
start_daemon

# A cpuset cgroup of the job's own, as Slurm's task/cgroup makes.
echo +cpuset >/sys/fs/cgroup/cgroup.subtree_control ||
	{ echo "FAIL: cannot enable the cpuset controller"; exit 1; }
CG=/sys/fs/cgroup/nmjob
mkdir "$CG" && echo 0-3 >"$CG/cpuset.cpus" && echo 0-1 >"$CG/cpuset.mems" ||
	{ echo "FAIL: cannot make the cpuset cgroup $CG"; exit 1; }
start_nmw --cgroup "$CG" --size 24M --procs 2 --threads 2 --kinds 4k,thp,shared --node 0-1
P="$NMW_PIDS"
"$NUMAMIGRATE" register --socket "$SOCK" --pid "$P" --rank 0,1 --job 77 >"$T/out" 2>&1 &&
	ok "registered job 77" || fail "register: $(cat "$T/out")"

# 1. 0-1 -> 2-3, watching cpuset.mems while it runs.
"$PLACEMENT" snap "$T/before1.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 2-3 --json >"$T/m1.json" 2>"$T/err" &
MOVER=$!
: >"$T/mems"
while kill -0 "$MOVER" 2>/dev/null; do
	cat "$CG/cpuset.mems" >>"$T/mems"
	sleep 0.01
done
wait "$MOVER" && ok "move --to 2-3" || fail "move --to 2-3: $(cat "$T/err")"
sed 's/^/  move: /' "$T/err"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('  result:', {k: d.get(k) for k in ('pages_moved','pages_failed','frozen_seconds','seconds','engine','pages_by_engine','pages_skipped_file','cpu_map')}, 'map', d['plan']['map'])" "$T/m1.json"
json_check "$T/m1.json" "d['ok'] and d['pages_failed'] == 0 and d['processes'] == 2 and d['pages_moved'] > 0"
json_check "$T/m1.json" "sorted(d['plan']['map'].values()) == [2, 3] and d['cpu_map'] == d['plan']['map']"
json_check "$T/m1.json" "d['pages_by_engine']['syscall'] == d['pages_moved'] and d['pages_by_engine']['kmod'] == 0"
json_check "$T/m1.json" "d['pages_skipped_file'] > 0 and not d['engine_cancelled'] and 0 < d['frozen_seconds'] <= d['seconds']"
echo "  cpuset.mems during the move: $(uniq "$T/mems" | tr '\n' ' ')"
grep -qx "0-3" "$T/mems" && ok "cpuset.mems widened to 0-3 during the move" ||
	fail "cpuset.mems never widened to 0-3"
[ "$(cat "$CG/cpuset.mems")" = 2-3 ] && ok "cpuset.mems narrowed to 2-3" ||
	fail "cpuset.mems is $(cat "$CG/cpuset.mems"), want 2-3"
"$PLACEMENT" check "$T/before1.json" "$T/m1.json" "$P" &&
	ok "every job page on its mapped node, threads re-pinned in order" ||
	fail "placement after the move to 2-3"
running "$P" && ok "job running after the move" || fail "job not running after the move"
"$NUMAMIGRATE" status --socket "$SOCK" --json >"$T/st.json"
json_check "$T/st.json" "d['jobs'][0]['job'] == 77 and d['jobs'][0]['tasks'] == 2 and d['moves'] == []"

# 1b. The daemon killed mid-move (2-3 -> 0-1) with the cpuset widened:
# the restart thaws the job and puts cpuset.mems back to 2-3, and the
# kernel (cgroup v2) takes the pages the dead move had moved back with it.
stop_daemon
write_config "[testing]
batch_delay_ms = 300"
start_daemon
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 0-1 --threads 1 --json >"$T/mk.json" 2>"$T/err" &
MOVER=$!
if wait_phase moving $((4 << 20)); then
	mems=$(cat "$CG/cpuset.mems")
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	[ "$mems" = 0-3 ] && ok "daemon killed mid-move, cpuset.mems widened to $mems" ||
		fail "cpuset.mems mid-move is $mems, want 0-3"
else
	fail "never saw the engine moving: $(cat "$T/err")"
fi
wait "$MOVER"
echo "  journal after the crash: $(ls "$JOURNAL" | tr '\n' ' ')"
echo "  memory per node after the crash: $("$PLACEMENT" nodes "$P")"
ls "$JOURNAL" | grep -q '^cpusets-.*\.json$' && ok "the widened cpusets are journaled" ||
	fail "no cpuset journal after the crash"
write_config
start_daemon
[ "$(cat "$CG/cpuset.mems")" = 2-3 ] && ok "restart put cpuset.mems back to 2-3" ||
	fail "cpuset.mems is $(cat "$CG/cpuset.mems") after the restart, want 2-3"
grep -q "recovery: .*/cpusets-.*: a move died with its cpusets widened: 1 put back" "$T/daemon.log" ||
	fail "cpuset recovery not logged: $(grep recovery "$T/daemon.log")"
[ -z "$(ls -A "$JOURNAL")" ] || fail "journal left after recovery: $(ls "$JOURNAL")"
after=$("$PLACEMENT" nodes "$P")
echo "  memory per node after recovery: $after"
python3 -c "import sys; d = eval(sys.argv[1]); sys.exit(0 if d and set(d) <= {2, 3} else 1)" "$after" &&
	ok "every job page back on 2-3" || fail "job pages outside 2-3 after recovery: $after"
running "$P" && ok "job running after recovery" || fail "job not running after recovery"

# 2. Back with an explicit map, outside the cgroup: no cpuset to narrow,
# so nothing but the engine moves pages, and a file's page cache stays.
for p in $NMW_PID ${P//,/ }; do echo "$p" >/sys/fs/cgroup/cgroup.procs; done
rmdir "$CG" || fail "cannot remove $CG"
"$PLACEMENT" snap "$T/before2.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 2-3:0-1 --json >"$T/m2.json" 2>"$T/err" &&
	ok "move --map 2-3:0-1" || fail "move --map 2-3:0-1: $(cat "$T/err")"
json_check "$T/m2.json" "d['ok'] and d['pages_failed'] == 0 and d['plan']['map']['2'] == 0 and d['plan']['map']['3'] == 1 and d['pages_skipped_file'] > 0"
"$PLACEMENT" check "$T/before2.json" "$T/m2.json" "$P" --file-unchanged &&
	ok "back on 0-1, threads re-pinned, page cache of files not moved" ||
	fail "placement after the move back"
running "$P" && ok "job running after the move back" || fail "job not running after the move back"
stop_nmw

# 3. Shared memory of others: root's /dev/shm file (0644, 4 MiB on node 0)
# mapped read-only and read by uid 4242's process (its own 16 MiB on node
# 0 too).  4242 moves it to node 2: its own pages go, root's stay on 0 and
# the result lists them as skipped (main moved them with MOVE_ALL).
SHM=/dev/shm/nm-foreign.$$
numactl --membind=0 dd if=/dev/urandom of="$SHM" bs=1M count=4 status=none &&
	chmod 0644 "$SHM" || fail "cannot write $SHM"
numactl --membind=0 setpriv --reuid 4242 --regid 4242 --clear-groups /usr/bin/python3 -c '
import mmap, sys, time
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED)
s = sum(m[i] for i in range(0, len(m), 4096))
own = bytearray(16 << 20)
for i in range(0, len(own), 4096):
    own[i] = 1
print("ready", flush=True)
time.sleep(600)' "$SHM" >"$T/u.out" 2>&1 &
U=$!
EXTRA_PIDS="$EXTRA_PIDS $U"
for _ in $(seq 300); do grep -q ready "$T/u.out" && break; sleep 0.1; done
grep -q ready "$T/u.out" || fail "uid 4242's process did not start: $(cat "$T/u.out")"
# numa_count PID PATTERN NODE: pages on NODE of PID's mappings whose
# numa_maps line holds PATTERN (the file's path; anon= for private memory)
numa_count() {
	awk -v pat="$2" -v key="N$3=" 'index($0, pat) {
		for (i = 1; i <= NF; i++)
			if (index($i, key) == 1) s += substr($i, length(key) + 1)
	} END { print s + 0 }' "/proc/$1/numa_maps"
}
echo "  before: shm N0=$(numa_count $U "$SHM" 0) anon N0=$(numa_count $U anon= 0) N2=$(numa_count $U anon= 2)"
[ "$(numa_count $U "$SHM" 0)" = 1024 ] || fail "root's file is not all on node 0 before the move"
setpriv --reuid 4242 --regid 4242 --clear-groups "$NUMAMIGRATE" move --socket "$SOCK" --pid "$U" --to 2 --json \
	>"$T/m3.json" 2>"$T/err" && ok "uid 4242 moves its process to node 2" ||
	fail "move by uid 4242: $(cat "$T/err")"
echo "  after:  shm N0=$(numa_count $U "$SHM" 0) N2=$(numa_count $U "$SHM" 2) anon N0=$(numa_count $U anon= 0) N2=$(numa_count $U anon= 2)"
json_check "$T/m3.json" "d['ok'] and d['pages_failed'] == 0 and d['pages_moved'] >= 4096"
json_check "$T/m3.json" "(lambda k: k['pages'] == 1024 and k['bytes'] == 4 << 20 and len(k['mappings']) == 1 and k['mappings'][0]['path'] == '$SHM' and k['mappings'][0]['owner'] == 0 and k['mappings'][0]['pages'] == 1024 and k['mappings'][0]['pid'] == $U)(d['shared_skipped'])"
[ "$(numa_count $U "$SHM" 0)" = 1024 ] && ok "root's shared pages stayed on node 0" ||
	fail "root's shared pages moved: $(grep "$SHM" "/proc/$U/numa_maps")"
[ "$(numa_count $U anon= 2)" -ge 4096 ] && ok "uid 4242's own memory moved to node 2" ||
	fail "uid 4242's own memory did not move: $(grep anon= "/proc/$U/numa_maps" | head -n 5)"
grep -q "is another user's shared memory: not moved" "$T/daemon.log" || fail "no log line for the skipped mapping"
kill "$U"
rm -f "$SHM"
# 4. A cpuset shared with a process the move leaves out: an unprivileged
# user's 'move --pid' goes on within its nodes and changes nothing of it.
ensure_user nmtest
CGS=/sys/fs/cgroup/nmshared
mkdir "$CGS" && echo 0-3 >"$CGS/cpuset.cpus" && echo 0-2 >"$CGS/cpuset.mems" ||
	{ echo "FAIL: cannot make the cpuset cgroup $CGS"; exit 1; }
sleep 600 &
BY=$!
EXTRA_PIDS="$EXTRA_PIDS $BY"
echo "$BY" >"$CGS/cgroup.procs"
start_nmw --cgroup "$CGS" --user nmtest --size 8M --procs 1 --threads 1 --kinds 4k --node 0
P="$NMW_PIDS"
"$PLACEMENT" snap "$T/before3.json" "$P"
run_as nmtest "$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 1 --json >"$T/m3.json" 2>"$T/err" &&
	ok "nmtest: move --pid in a shared cpuset" || fail "nmtest: move in a shared cpuset: $(cat "$T/err")"
json_check "$T/m3.json" "d['ok'] and d['pages_failed'] == 0 and d['pages_moved'] > 0"
json_check "$T/m3.json" "[c['cgroup'] for c in d['cpusets_left_alone']] == ['$CGS'] and 'process $BY,' in d['cpusets_left_alone'][0]['reason']"
[ "$(cat "$CGS/cpuset.mems")" = 0-2 ] && ok "the shared cpuset.mems stays 0-2" ||
	fail "the shared cpuset.mems is $(cat "$CGS/cpuset.mems"), want 0-2"
"$PLACEMENT" check "$T/before3.json" "$T/m3.json" "$P" &&
	ok "the user's pages on node 1" || fail "placement after the move in a shared cpuset"
run_as nmtest "$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --to 0 >"$T/out" 2>&1 ||
	fail "nmtest: move back: $(cat "$T/out")"
grep -q "^cpuset: *$CGS left alone: it holds process $BY," "$T/out" &&
	ok "the summary says the cpuset was left alone, and why" ||
	fail "no 'left alone' line: $(cat "$T/out")"
[ "$(cat "$CGS/cpuset.mems")" = 0-2 ] || fail "the shared cpuset.mems is $(cat "$CGS/cpuset.mems") after the move back"
stop_nmw
kill "$BY"

# Nodes 0-1 all but full (too little room to interleave a swap in
# chunks), 2 and 3 with room (3 the most): a swap of 0 and 1 parks pages
# on a spare.
stop_daemon
write_config "[testing]
free = 0=512K,1=512K,2=64M,3=256M"
start_daemon

# 5. An unprivileged user's swap parks only inside its allocation (0-2).
CGU=/sys/fs/cgroup/nmuser
mkdir "$CGU" && echo 0-3 >"$CGU/cpuset.cpus" && echo 0-2 >"$CGU/cpuset.mems" ||
	{ echo "FAIL: cannot make the cpuset cgroup $CGU"; exit 1; }
start_nmw --cgroup "$CGU" --user nmtest --size 16M --procs 2 --threads 1 --kinds 4k --node 0-1
P="$NMW_PIDS"
"$PLACEMENT" snap "$T/before4.json" "$P"
run_as nmtest "$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 0,1:1,0 --json >"$T/m4.json" 2>"$T/err" &&
	ok "nmtest: swap 0,1:1,0" || fail "nmtest: swap: $(cat "$T/err")"
echo "  steps: $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['plan']['steps'])" "$T/m4.json" 2>&1)"
json_check "$T/m4.json" "d['ok'] and d['pages_failed'] == 0 and d['cpusets_left_alone'] == []"
json_check "$T/m4.json" "any(s['parked'] for s in d['plan']['steps']) and all(s['to'] in (0, 1, 2) for s in d['plan']['steps'])"
[ "$(cat "$CGU/cpuset.mems")" = 0-2 ] && ok "the user's cpuset.mems is 0-2 again" ||
	fail "the user's cpuset.mems is $(cat "$CGU/cpuset.mems"), want 0-2"
"$PLACEMENT" check "$T/before4.json" "$T/m4.json" "$P" &&
	ok "swapped: every page on its mapped node" || fail "placement after the swap"
stop_nmw

# 6. Root's swap may park on node 3; the ancestor widened for it (job,
# above the job's step cpuset) is narrowed again after.
CGA=/sys/fs/cgroup/nmanc
mkdir "$CGA" "$CGA/job" "$CGA/job/step" &&
	echo +cpuset >"$CGA/cgroup.subtree_control" &&
	echo 0-3 >"$CGA/job/cpuset.cpus" && echo 0-1 >"$CGA/job/cpuset.mems" &&
	echo +cpuset >"$CGA/job/cgroup.subtree_control" &&
	echo 0-3 >"$CGA/job/step/cpuset.cpus" && echo 0-1 >"$CGA/job/step/cpuset.mems" ||
	{ echo "FAIL: cannot make the cpuset cgroups under $CGA"; exit 1; }
start_nmw --cgroup "$CGA/job/step" --size 16M --procs 2 --threads 1 --kinds 4k --node 0-1
P="$NMW_PIDS"
"$PLACEMENT" snap "$T/before5.json" "$P"
"$NUMAMIGRATE" move --socket "$SOCK" --pid "$P" --map 0,1:1,0 --json >"$T/m5.json" 2>"$T/err" &
MOVER=$!
: >"$T/mems5"
while kill -0 "$MOVER" 2>/dev/null; do
	cat "$CGA/job/cpuset.mems" >>"$T/mems5"
	sleep 0.01
done
wait "$MOVER" && ok "root: swap 0,1:1,0" || fail "root: swap: $(cat "$T/err")"
echo "  ancestor cpuset.mems during the move: $(uniq "$T/mems5" | tr '\n' ' ')"
# The widening lasts about a second: a loaded guest may not sample it.
# The proof that it happened is below: pages parked on node 3, none
# failed, which the ancestor's 0-1 would have refused.
grep -qx "0-1,3" "$T/mems5" && ok "the ancestor was seen widened to 0-1,3 for the spare" ||
	echo "  (the ancestor's widening was too short to sample here)"
json_check "$T/m5.json" "d['ok'] and d['pages_failed'] == 0"
json_check "$T/m5.json" "any(s['parked'] and s['to'] == 3 for s in d['plan']['steps'])"
[ "$(cat "$CGA/job/step/cpuset.mems")" = 0-1 ] && [ "$(cat "$CGA/job/cpuset.mems")" = 0-1 ] &&
	ok "step and its ancestor back to 0-1 (the spare node 3 gone)" ||
	fail "cpuset.mems: step $(cat "$CGA/job/step/cpuset.mems"), ancestor $(cat "$CGA/job/cpuset.mems"); want 0-1, 0-1"
"$PLACEMENT" check "$T/before5.json" "$T/m5.json" "$P" &&
	ok "swapped: every page on its mapped node" || fail "placement after root's swap"
stop_nmw
finish
