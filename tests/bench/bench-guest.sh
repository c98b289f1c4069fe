#!/bin/bash
# The measuring half of scripts/bench.sh (a benchmark, not a test): runs as
# root on a kernel with NUMA nodes 0 and 1 that both have CPUs -- the
# multi-node guest (tests/vm/numa-vm) or a real host -- and appends one JSON
# line per measurement to OUT/raw/*.jsonl; tests/bench/bench-report.py turns
# them into results.json, report.md and the plots.
#
#   bench-guest.sh BUILDDIR OUT quick|full
#
# The job is tests/bench/nm-bench-job (PROCS x THREADS, SIZE in all, 4 KiB
# pages or THP, MAPS mappings per process) in its own cgroup, bound to node
# 0 (numactl), written once and then quiet; each move takes it to node 1.
# Methods: numactl's migratepages per process (migrate_pages(2)); a cgroup
# v2 cpuset.cpus + cpuset.mems rewrite (the kernel's in-cgroup migration);
# numamigrate move --engine syscall at 1, 2, ... all worker threads;
# --engine kmod when /dev/numamigrate exists; --mode frozen/live when the
# CLI offers --mode.  Right after each move the job reads and writes all its
# memory once (the cost to the job afterwards); the same job never moved is
# the reference.  Also: the daemon's fixed cost (a job with nothing to
# move), the node-to-node memcpy bandwidth, and nm-kmod-test's benchmark
# (the module's CPU and DMA copies, the test DMA provider in a guest).
set -u
top_builddir=$(cd "$1" && pwd -P) || exit 2
OUT=$2 MODE=$3
top_srcdir=$(cd "$(dirname "$0")/../.." && pwd -P)
NUMAMIGRATE=$top_builddir/helper/numamigrate
export top_srcdir top_builddir NUMAMIGRATE
# shellcheck source=../daemon/lib.sh
. "$top_srcdir/tests/daemon/lib.sh"
JOB=$top_builddir/tests/bench/nm-bench-job
COPY=$top_builddir/tests/bench/nm-bench-copy
RAW=$OUT/raw
mkdir -p "$RAW"
for p in "$JOB" "$COPY"; do
	[ -x "$p" ] || { echo "bench: $p is not built"; exit 1; }
done
command -v migratepages >/dev/null || { echo "bench: migratepages (numactl) missing"; exit 1; }
[ -d /sys/devices/system/node/node1 ] || { echo "bench: no NUMA node 1"; exit 1; }
CG=/sys/fs/cgroup
[ -f $CG/cgroup.subtree_control ] || { echo "bench: no cgroup v2 at $CG"; exit 1; }
echo +cpuset >$CG/cgroup.subtree_control || { echo "bench: cannot enable the cpuset controller"; exit 1; }
# Automatic NUMA balancing would move pages behind every method's back.
balancing=$(cat /proc/sys/kernel/numa_balancing 2>/dev/null || echo 0)
echo 0 >/proc/sys/kernel/numa_balancing 2>/dev/null
trap 'echo "$balancing" >/proc/sys/kernel/numa_balancing 2>/dev/null; cleanup' EXIT

write_config
start_daemon
CPUS0=$(cat /sys/devices/system/node/node0/cpulist)
CPUS1=$(cat /sys/devices/system/node/node1/cpulist)
ncpu1=$(awk -F, '{n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n}' <<<"$CPUS1")
python3 - "$RAW/machine.json" "$ncpu1" <<'PY'
import json, os, platform, sys
mem = {}
for n in (0, 1):
    with open(f"/sys/devices/system/node/node{n}/meminfo") as f:
        mem[n] = int([l for l in f if "MemTotal" in l][0].split()[3]) * 1024
model = "?"
with open("/proc/cpuinfo") as f:
    for l in f:
        if l.startswith("model name"):
            model = l.split(":", 1)[1].strip(); break
virt = os.path.exists("/sys/firmware/qemu_fw_cfg") or "QEMU" in model
thp = open("/sys/kernel/mm/transparent_hugepage/enabled").read().split("[")[1].split("]")[0]
json.dump({"hostname": platform.node(), "kernel": platform.release(), "cpu_model": model,
           "cpus": os.cpu_count(), "nodes": len([d for d in os.listdir("/sys/devices/system/node") if d.startswith("node")]),
           "node_mem_bytes": mem, "dst_node_cpus": int(sys.argv[2]), "thp": thp,
           "virtual": virt}, open(sys.argv[1], "w"))
PY
echo "bench: $(uname -r), $(nproc) CPUs, node 0 CPUs $CPUS0, node 1 CPUs $CPUS1, mode $MODE"

# ---- methods ---------------------------------------------------------------
# Worker thread counts: 1, 2, 4, ... below the destination's CPUs, then all.
THREADS=()
for ((t = 1; t < ncpu1; t *= 2)); do THREADS+=("$t"); done
METHODS=(migratepages cpuset)
for t in "${THREADS[@]}"; do METHODS+=("syscall-t$t"); done
METHODS+=(syscall-all)
KMOD=0
if [ -c /dev/numamigrate ]; then KMOD=1; METHODS+=(kmod-all); fi
LIVE=0
if "$NUMAMIGRATE" move --help 2>&1 | grep -q -- '--mode'; then
	LIVE=1; METHODS+=(frozen-all live-all)
fi
# The scaling sweeps: the kernel's two ways, one (full run) and all
# workers, the module.
SWEEP=(migratepages cpuset syscall-all)
[ "$MODE" = full ] && SWEEP+=(syscall-t1)
((KMOD)) && SWEEP+=(kmod-all)
((LIVE)) && SWEEP+=(live-all)
# BENCH_METHODS="m1 m2 ...", BENCH_PARTS="copy main noop size procs maps
# kmod": a subset (to look at one method or part); BENCH_TRACE=1: a shell
# trace in OUT/raw/trace.log.
if [ -n "${BENCH_METHODS:-}" ]; then
	read -r -a METHODS <<<"$BENCH_METHODS"
	SWEEP=("${METHODS[@]}")
fi
PARTS=${BENCH_PARTS:-copy main noop size procs maps kmod}
want() { [[ " $PARTS " == *" $1 "* ]]; }
if [ "${BENCH_TRACE:-0}" = 1 ]; then
	exec {trace}>"$RAW/trace.log"
	BASH_XTRACEFD=$trace
	set -x
fi
printf '%s\n' "${METHODS[@]}" >"$RAW/methods.txt"
{ echo "kmod=$KMOD"; echo "live=$LIVE"; } >"$RAW/availability.txt"

# ---- probes ----------------------------------------------------------------
# busy: CPU seconds (all CPUs, not idle/iowait) so far; bash builtins only
# (a process start costs tenths of a second under TCG)
busy() {
	local u n sy irq sirq st
	read -r _ u n sy _ _ irq sirq st _ </proc/stat
	echo $(((u + n + sy + irq + sirq + st) * 10))
}
# pcpu PIDS: CPU milliseconds of these processes (all their threads)
pcpu() {
	local p s=0 f
	for p in ${1//,/ }; do
		read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
		s=$((s + (f[13] + f[14]) * 10))
	done
	echo "$s"
}
# nap SECONDS: sleep without starting a process (read on a FIFO we hold)
mkfifo "$T/nap"
exec {NAP}<>"$T/nap"
nap() { read -r -t "$1" -u "$NAP" _ 2>/dev/null; }

# ---- the job ---------------------------------------------------------------
JOBN=0 JOB_PID='' JOB_PIDS='' JOB_CG='' JOB_LINE=''
# job_lines: the job's output so far in JOBL, its last line in JOBLAST
# (no process started)
job_lines() {
	mapfile -t JOBL <"$T/job.out"
	JOBLAST=
	((${#JOBL[@]})) && JOBLAST=${JOBL[${#JOBL[@]} - 1]}
	return 0
}

# start_job NODE KIND SIZE_MIB PROCS THREADS MAPS METHOD: the job in a
# fresh cgroup, bound to NODE; sets JOB_PID (supervisor), JOB_PIDS, JOB_CG
start_job() {
	local node=$1 kind=$2 size=$3 procs=$4 threads=$5 maps=$6 cpus i
	JOBN=$((JOBN + 1))
	JOB_CG=$CG/nmbench-$$-$JOBN
	mkdir "$JOB_CG" || { echo "bench: cannot create $JOB_CG"; exit 1; }
	# Only the cpuset method confines the job's cgroup: migrate_pages(2)
	# may not leave a cpuset, and the daemon widens one itself.
	if [ "$7" = cpuset ]; then
		read -r cpus <"/sys/devices/system/node/node$node/cpulist"
		if ! { echo "$cpus" >"$JOB_CG/cpuset.cpus" && echo "$node" >"$JOB_CG/cpuset.mems"; }; then
			echo "bench: cannot set the job's cpuset"
			exit 1
		fi
	fi
	: >"$T/job.out"
	bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' job "$JOB_CG" \
		numactl --membind="$node" --cpunodebind="$node" "$JOB" \
		--size "$((size / procs))M" --procs "$procs" --threads "$threads" \
		--kind "$kind" --maps "$maps" >"$T/job.out" 2>&1 &
	JOB_PID=$!
	EXTRA_PIDS="$EXTRA_PIDS $JOB_PID"
	for ((i = 0; i < 6000; i++)); do
		job_lines
		[[ $JOBLAST == ready ]] && break
		kill -0 "$JOB_PID" 2>/dev/null || break
		nap 0.05
	done
	[[ $JOBLAST == ready ]] || { echo "bench: the job did not start: ${JOBL[*]}"; exit 1; }
	JOB_PIDS=${JOBL[0]#pids: }
	EXTRA_PIDS="$EXTRA_PIDS ${JOB_PIDS//,/ }"
}

# job_ask SIGNAL: one request to the job; its answer line in JOB_LINE
job_ask() {
	local n i
	job_lines
	n=${#JOBL[@]}
	kill "-$1" "$JOB_PID"
	for ((i = 0; i < 12000; i++)); do
		job_lines
		((${#JOBL[@]} > n)) && { JOB_LINE=$JOBLAST; return 0; }
		nap 0.05
	done
	echo "bench: the job did not answer $1"
	exit 1
}

stop_job() {
	kill -TERM "$JOB_PID" 2>/dev/null
	wait "$JOB_PID" 2>/dev/null
	rmdir "$JOB_CG" 2>/dev/null
	JOB_PID=
}

# move METHOD FROM TO: moves the job; writes $T/move.json (seconds of the
# daemon, frozen, bytes, pages failed: the daemon's own figures) or "{}"
move() {
	local method=$1 from=$2 to=$3 p eng thr mode=()
	echo '{}' >"$T/move.json"
	case $method in
	migratepages)
		for p in ${JOB_PIDS//,/ }; do
			migratepages "$p" "$from" "$to" || echo "bench: migratepages $p failed"
		done
		;;
	cpuset)
		# CPUs first (threads follow), then mems (the pages follow).
		cat "/sys/devices/system/node/node$to/cpulist" >"$JOB_CG/cpuset.cpus" &&
			echo "$to" >"$JOB_CG/cpuset.mems" || echo "bench: cpuset write failed"
		;;
	*)
		eng=${method%%-*} thr=${method#*-t}
		case $eng in frozen | live) mode=(--mode "$eng"); eng=syscall ;; esac
		[ "$eng" = kmod ] && eng=kmod
		thr=(--threads "$thr")
		case $method in *-all) thr=() ;; esac
		"$NUMAMIGRATE" move --socket "$SOCK" --pid "$JOB_PIDS" --to "$to" \
			--engine "$eng" "${thr[@]}" "${mode[@]}" --json >"$T/move.json" 2>"$T/err" ||
			{
				# A partial move still reports its figures (pages_failed).
				echo "bench: $method: $(cat "$T/err")"
				[ -s "$T/move.json" ] || echo '{}' >"$T/move.json"
			}
		;;
	esac
}

# measure PART METHOD KIND SIZE_MIB PROCS THREADS MAPS REP: one fresh job,
# one move node 0 -> 1 (METHOD none: not moved), one pass; one JSON line

# jnum FILE KEY: a number (or true/false) of a flat JSON object, else "null"
jnum() {
	local json re="\"$2\": *([-0-9.eE+]+|true|false)"
	read -r -d '' json <"$1"
	[[ $json =~ $re ]] && echo "${BASH_REMATCH[1]}" || echo null
}

# measure PART METHOD KIND SIZE_MIB PROCS THREADS MAPS REP: one fresh job,
# one move node 0 -> 1 (METHOD none: not moved), one pass; one JSON line.
# Only builtins between the probes: a process start costs tenths of a
# second under TCG.
measure() {
	local part=$1 method=$2 kind=$3 size=$4 procs=$5 threads=$6 maps=$7 rep=$8
	local from=0 to=1 b0 b1 d0 d1 j0 j1 t0 t1 w0 w1 pass bytes failed left
	local frozen ok secs dsecs esecs
	[ "$part" = noop ] && from=1
	echo '{}' >"$T/move.json"
	start_job "$from" "$kind" "$size" "$procs" "$threads" "$maps" "$method"
	job_ask USR2
	read -r -a w0 <<<"$JOB_LINE"
	d0=$(pcpu "$DAEMON_PID") j0=$(pcpu "$JOB_PIDS") b0=$(busy)
	t0=${EPOCHREALTIME/./}
	[ "$method" != none ] && move "$method" "$from" "$to"
	t1=${EPOCHREALTIME/./}
	b1=$(busy) d1=$(pcpu "$DAEMON_PID") j1=$(pcpu "$JOB_PIDS")
	job_ask USR2
	read -r -a w1 <<<"$JOB_LINE"
	job_ask USR1
	pass=${JOB_LINE#pass }
	stop_job
	# where: N0 N1 OTHER THP (4 KiB pages); left on the source node:
	left=${w1[1 + from]}
	[[ $method == none || $from == "$to" ]] && left=0
	bytes=$(jnum "$T/move.json" bytes_moved) failed=$(jnum "$T/move.json" pages_failed)
	frozen=$(jnum "$T/move.json" frozen_seconds) ok=$(jnum "$T/move.json" ok)
	dsecs=$(jnum "$T/move.json" seconds) esecs=$(jnum "$T/move.json" engine_seconds)
	case $method in
	none | migratepages | cpuset)
		bytes=$(((w1[1 + to] - w0[1 + to]) * 4096)) failed=$left frozen=0 ok=true ;;
	*) [ "$bytes" = null ] && { ok=false bytes=0 failed=$left frozen=0; } ;;
	esac
	secs=$(printf '%d.%06d' $(((t1 - t0) / 1000000)) $(((t1 - t0) % 1000000)))
	printf '{"part": "%s", "method": "%s", "page_kind": "%s", "size_bytes": %d, "processes": %d, "threads": %d, "mappings": %d, "rep": %d, "seconds": %s, "frozen_seconds": %s, "bytes": %d, "cpu_seconds": %s, "daemon_cpu_seconds": %s, "pages_failed": %d, "pages_left_on_source": %d, "daemon_seconds": %s, "engine_seconds": %s, "thp_pages_before": %d, "thp_pages_after": %d, "pass_seconds": %s, "ok": %s}\n' \
		"$part" "$method" "$kind" $((size << 20)) "$procs" "$threads" "$maps" "$rep" \
		"$secs" "$frozen" "$bytes" "$(ms $((b1 - b0 - (j1 - j0))))" "$(ms $((d1 - d0)))" \
		"$failed" "$left" "$dsecs" "$esecs" "${w0[4]}" "${w1[4]}" "$pass" "$ok" >>"$RAW/moves.jsonl"
	printf 'bench: %-5s %-13s %-3s %5d MiB %2dp x%d %5d maps: %.3f s, frozen %.3f s, %d MiB, cpu %s s, failed %d, pass %s s, THP pages %d -> %d%s\n' \
		"$part" "$method" "$kind" "$size" "$procs" "$threads" "$maps" "$secs" "$frozen" \
		$((bytes >> 20)) "$(ms $((b1 - b0 - (j1 - j0))))" "$failed" "$pass" "${w0[4]}" "${w1[4]}" \
		"$([ "$ok" = true ] || echo ', NOT OK')"
}
# ms N: N milliseconds as seconds (0 when negative)
ms() { (($1 > 0)) && printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)) || echo 0; }

# ---- the plan of the run ---------------------------------------------------
if [ "$MODE" = quick ]; then
	MAIN=64 REPS=1 SIZES=(16 64 256) PROCS=(1 16) PSIZE=64
	MAPS=(1 4096) MSIZE=64 COPYMB=64 COPYREPS=3
else
	MAIN=128 REPS=2 SIZES=(16 32 64 256) PROCS=(1 2 4 8 16) PSIZE=64
	MAPS=(1 64 1024 16384) MSIZE=64 COPYMB=128 COPYREPS=5
fi

# 5. The limit first: memcpy node 0 -> node 1 with the engines' thread counts.
want copy && for t in "${THREADS[@]}" "$ncpu1"; do
	"$COPY" 0 1 "$COPYMB" "$t" "$COPYREPS" | sed 's/^{/{"part": "copy", /' >>"$RAW/copy.jsonl" ||
		{ echo "bench: nm-bench-copy failed"; exit 1; }
done
if want copy; then
	sort -u "$RAW/copy.jsonl" -o "$RAW/copy.jsonl"
	sed 's/^/bench: copy /' "$RAW/copy.jsonl"
fi

# 1 + 3. Speed, downtime and the cost afterwards: 2 processes x 2 threads.
want main && for kind in 4k thp; do
	for rep in $(seq "$REPS"); do
		measure main none "$kind" "$MAIN" 2 2 1 "$rep"
		for m in "${METHODS[@]}"; do measure main "$m" "$kind" "$MAIN" 2 2 1 "$rep"; done
	done
done
# The fixed cost: a job already on the target (nothing to move).
want noop && for m in "${METHODS[@]}"; do measure noop "$m" 4k 16 2 2 1 1; done
# 2. Scaling: size (4k, 2 processes), processes (1 thread each), mappings.
want size && for s in "${SIZES[@]}"; do
	for m in "${SWEEP[@]}"; do measure size "$m" 4k "$s" 2 2 1 1; done
done
want procs && for p in "${PROCS[@]}"; do
	for m in "${SWEEP[@]}"; do measure procs "$m" 4k "$PSIZE" "$p" 1 1 1; done
done
want maps && for k in "${MAPS[@]}"; do
	for m in "${SWEEP[@]}"; do measure maps "$m" 4k "$MSIZE" 1 1 "$k" 1; done
done
stop_daemon

# The module's own benchmark: CPU-thread and DMA copies (nm-kmod-test).
KT=$top_builddir/tests/kmod/nm-kmod-test
if ((KMOD)) && want kmod && [ -x "$KT" ]; then
	"$KT" --src 0 --dst 1 --mb 4 --bench-mb "$MAIN" --threads "$ncpu1" --rounds "$REPS" \
		--fuzz-iterations 100 >"$RAW/kmod-test.txt" 2>&1 ||
		echo "bench: nm-kmod-test exited $? (its table is still used)"
	sed -n '/^benchmark:/,$p' "$RAW/kmod-test.txt"
fi
echo "bench: guest part done"
