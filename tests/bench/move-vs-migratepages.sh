#!/bin/bash
# Benchmark (not a test): `numamigrate move` through numamigrated with
# --threads 1, 2 and all (the destination node's CPUs) against numactl's
# `migratepages PID 0 1`, on the same job: one process holding SIZE of
# 4 KiB pages, and separately SIZE of THP, moved node 0 -> node 1.  Runs
# everything in ONE 2-node QEMU guest (tests/vm/numa-vm) and prints a
# side-by-side table: wall seconds (the client's whole call), the daemon's
# own seconds for the move, MB/s over the wall time, the engine's
# own MB/s, and the seconds the job was frozen (migratepages does not
# freeze the job: its column shows the wall time of the call, the time
# the job ran beside the migration).
#
#   tests/bench/move-vs-migratepages.sh [BUILDDIR] [SIZE_MIB] [REPS]
#
# BUILDDIR: where numamigrated, numamigrate were built (default: the
# current directory); SIZE_MIB default 256; REPS default 2 (best wall
# time of REPS fresh jobs is shown).  Env: NUMA_VM_CPUS (default 4: two
# CPUs per node), NUMA_VM_TCG_THREADS (default multi).  Under TCG only the
# ratios between rows mean anything.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
top_srcdir=$(cd "$here/../.." && pwd -P)
if [ "${1:-}" != --in-guest ]; then
	build=$(cd "${1:-.}" && pwd -P) || exit 2
	[ -x "$build/helper/numamigrated" ] || { echo "no $build/helper/numamigrated: give the build directory" >&2; exit 2; }
	share=()
	case "$build/" in "$top_srcdir"/*) ;; *) share=(--share "$build") ;; esac
	# One emulator thread per vCPU (the tests use one for all on a small
	# host): workers on different vCPUs then really run in parallel.
	export NUMA_VM_TCG_THREADS=${NUMA_VM_TCG_THREADS:-multi}
	exec "$top_srcdir/tests/vm/numa-vm" --nodes 2 --cpus "${NUMA_VM_CPUS:-4}" \
		--mem-per-node 1024 --timeout 590 "${share[@]}" -- \
		"$here/move-vs-migratepages.sh" --in-guest "$build" "${2:-256}" "${3:-2}"
fi
top_builddir=$2 size=$3 reps=$4
. "$top_srcdir/tests/vm/daemon-guest-lib.sh"
write_config
start_daemon
command -v migratepages >/dev/null || { echo "migratepages (numactl) missing"; exit 1; }
echo "guest: $(uname -r), $(nproc) CPUs; node 1 CPUs $(cat /sys/devices/system/node/node1/cpulist); THP $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"

# hold KIND: a quiet process on node 0 holding $size MiB; sets HOLDER
hold() {
	numactl --membind=0 --cpunodebind=0 python3 -c '
import mmap, sys, time, signal
kind, size = sys.argv[1], int(sys.argv[2]) << 20
m = mmap.mmap(-1, size + (2 << 20), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
m.madvise(mmap.MADV_HUGEPAGE if kind == "thp" else mmap.MADV_NOHUGEPAGE)
for off in range(0, len(m), 4096):
    m[off] = 1
print("ready", flush=True)
signal.pause()' "$1" "$size" >"$T/hold.out" &
	HOLDER=$!
	for _ in $(seq 600); do grep -q ready "$T/hold.out" && return 0; sleep 0.1; done
	echo "holder did not start"; exit 1
}
unhold() { kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; }
on_node1() { "$PLACEMENT" nodes "$HOLDER" | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read()).get(1, 0) * 4096)'; }
thp_pages() { awk '/AnonHugePages/ {s += $2} END {print s / 4}' "/proc/$HOLDER/smaps"; }

res=$T/results
: >"$res"
for kind in 4k thp; do
	for method in t1 t2 tall migratepages; do
		for rep in $(seq "$reps"); do
			hold "$kind"
			th=$(thp_pages)
			t0=$(date +%s.%N)
			case $method in
			migratepages)
				migratepages "$HOLDER" 0 1 || echo "migratepages failed"
				t1=$(date +%s.%N)
				bytes=$(on_node1)
				echo "$kind $method $rep $(echo "$t1 - $t0" | bc) $bytes - - - $th" >>"$res"
				;;
			*)
				# all: no --threads, the daemon's default (threads = 0:
				# as many workers as the destination node has CPUs)
				n=(--threads "${method#t}"); [ "$method" = tall ] && n=()
				"$NUMAMIGRATE" move --socket "$SOCK" --pid "$HOLDER" --to 1 \
					--engine syscall "${n[@]}" --json >"$T/m.json" 2>"$T/err" ||
					{ echo "move failed: $(cat "$T/err")"; exit 1; }
				t1=$(date +%s.%N)
				python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pages_failed"] == 0
print(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), d["bytes_moved"],
      d["seconds"], d["engine_seconds"], d["frozen_seconds"], sys.argv[6])' \
					"$T/m.json" "$kind" "$method" "$rep" "$(echo "$t1 - $t0" | bc)" "$th" >>"$res"
				;;
			esac
			unhold
		done
	done
done
python3 - "$res" "$size" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
best = {}
for kind, method, rep, wall, nbytes, daemon, eng, frozen, thp in rows:
    key = (kind, method)
    if key not in best or float(wall) < float(best[key][0]):
        best[key] = (wall, nbytes, daemon, eng, frozen, thp)
names = {"t1": "numamigrate --threads 1", "t2": "numamigrate --threads 2",
         "tall": "numamigrate (all dst CPUs)", "migratepages": "migratepages 0 1"}
print(f"\n{sys.argv[2]} MiB per job, node 0 -> node 1, best wall time of the reps "
      f"(all reps: {len(rows)} runs)")
print(f"{'job':5} {'method':28} {'wall s':>7} {'daemon s':>8} {'MB/s':>7} "
      f"{'engine MB/s':>11} {'job frozen s':>12} {'MiB moved':>9}")
for kind in ("4k", "thp"):
    base = None
    for method in ("t1", "t2", "tall", "migratepages"):
        wall, nbytes, daemon, eng, frozen, thp = best[(kind, method)]
        wall, nbytes = float(wall), int(nbytes)
        dm = f"{float(daemon):8.2f}" if daemon != "-" else f"{'-':>8}"
        mbs = nbytes / wall / 1e6
        emb = f"{nbytes / float(eng) / 1e6:11.0f}" if eng != "-" else f"{'-':>11}"
        fz = f"{float(frozen):12.2f}" if frozen != "-" else f"{'(' + format(wall, '.2f') + ' run)':>12}"
        print(f"{kind:5} {names[method]:28} {wall:7.2f} {dm} {mbs:7.0f} {emb} {fz} "
              f"{nbytes / 1048576:9.0f}")
print("\nall runs: job method rep wall_s bytes daemon_s engine_s frozen_s thp_pages_before")
for r in rows:
    print("  " + " ".join(r))
PY
stop_daemon
