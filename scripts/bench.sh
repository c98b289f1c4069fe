#!/bin/bash
# The benchmark suite (not a test): how fast numamigrate moves a job, how
# long the job is stopped, what the move costs the job afterwards and how
# that grows, beside the kernel's own ways (migrate_pages(2), cgroup
# cpuset.mems) and the machine's own node-to-node copy bandwidth, plus the
# planner's plan quality over a corpus of scenarios.
#
#   ./scripts/bench.sh [--quick] [--dry] [--out DIR] [--build DIR]
#
# Natively when this host has NUMA nodes 0 and 1 with CPUs (root needed);
# otherwise in a 2-node QEMU guest (tests/vm/numa-vm: TCG, so its figures
# are ratios inside one run, never speeds).  Writes DIR (default
# bench-results/<UTC date and time>/): results.json (one record per
# measurement), report.md (tables, the machine and kernel they came from)
# and PNG plots (gnuplot).  --quick: small sizes, one repetition (a few
# minutes); --dry: only the host parts (plan quality, report), no moves.
# --build DIR: an already configured build tree (default build/bench,
# configured and built here when missing).  Env (to look at a part):
# BENCH_METHODS, BENCH_PARTS, BENCH_TRACE (tests/bench/bench-guest.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
prog=bench
die() { echo "$prog: $*" >&2; exit 1; }
usage() { sed -n '8,/^set -e/{/^set -e/d;p}' "$0" | sed 's/^# \{0,1\}//'; }
bad() { echo "$prog: $*" >&2; exit 2; }

mode=full dry=0 out='' build=''
while (($#)); do
	case $1 in
	--quick) mode=quick ;;
	--dry) dry=1 ;;
	--out) (($# >= 2)) || bad "--out needs a directory"; out=$2; shift ;;
	--build) (($# >= 2)) || bad "--build needs a directory"; build=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
out=${out:-$top/bench-results/$(date -u +%Y-%m-%dT%H%M%SZ)}
mkdir -p "$out/raw"
out=$(cd "$out" && pwd -P)
start=$(date +%s)

# ---- build -----------------------------------------------------------------
"$top/scripts/deps.sh"
if [ -z "$build" ]; then
	build=$top/build/bench
	if [ ! -f "$build/Makefile" ]; then
		echo "$prog: configuring in $build"
		if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ]; then
			(cd "$top" && autoreconf -fi) >/dev/null || die "autoreconf failed"
		fi
		mkdir -p "$build"
		(cd "$build" && "$top/configure" -q) || die "configure failed"
	fi
fi
build=$(cd "$build" && pwd -P) || die "no build directory $build"
echo "$prog: building in $build"
nice -n 10 make -C "$build" -j2 -s >"$out/raw/build.log" 2>&1 || { tail -n 20 "$out/raw/build.log" >&2; die "build failed"; }
nice -n 10 make -C "$build" -s tests/kmod/nm-kmod-test >>"$out/raw/build.log" 2>&1 ||
	die "building nm-kmod-test failed (see $out/raw/build.log)"

# ---- 4. plan quality (host) --------------------------------------------------
echo "$prog: plan quality over the corpus (tests/data topologies)"
python3 "$top/tests/bench/plan-corpus.py" "$build/helper/numamigrate" \
	"$top/tests/data" "$out/raw/plan.jsonl" --count 240 --seed 13

# ---- 1, 2, 3, 5. moves: natively or in the guest ------------------------------
cpu_nodes() {
	local n c=0
	for n in /sys/devices/system/node/node[0-9]*; do
		[ -n "$(tr -d '\n' <"$n/cpulist")" ] && c=$((c + 1))
	done
	echo "$c"
}
# kmod_build KVER KBUILD DIR: numamigrate.ko and the test DMA provider
kmod_build() {
	local f
	mkdir -p "$3/uapi" "$3/test"
	for f in Kbuild Makefile numamigrate.c uapi/numamigrate.h test/nm_dmatest_provider.c; do
		cp "$top/kmod/$f" "$3/$f"
	done
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$2" M="$3" modules >"$3/build.log" 2>&1 &&
		[ -f "$3/numamigrate.ko" ] && [ -f "$3/test/nm_dmatest_provider.ko" ]
}

if ((dry)); then
	echo "moves: not run (--dry)" >"$out/raw/where.txt"
elif [ "$(cpu_nodes)" -ge 2 ]; then
	[ "$(id -u)" -eq 0 ] || die "moving jobs needs root"
	echo "native: $(uname -r)" >"$out/raw/where.txt"
	if [ ! -c /dev/numamigrate ]; then
		echo "the kernel module is not loaded (modprobe numamigrate or insmod kmod/build/numamigrate.ko): kmod rows left out" \
			>"$out/raw/kmod-why.txt"
	fi
	"$top/tests/bench/bench-guest.sh" "$build" "$out" "$mode" 2>&1 | tee "$out/raw/guest.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || die "the measurements failed (see $out/raw/guest.log)"
else
	vm=$top/tests/vm/numa-vm
	why=$("$vm" --check 2>&1) || die "no multi-node NUMA here and no guest: $why"
	kver=$(for f in /boot/vmlinuz-*-amd64; do
		v=${f#/boot/vmlinuz-}
		[[ -r $f && -f /lib/modules/$v/modules.dep ]] && echo "$v"
	done | sort -V | tail -n 1)
	kdir=$out/raw/kmod
	load='echo "kernel module: not built"'
	if [ -f "/lib/modules/$kver/build/Makefile" ] && kmod_build "$kver" "/lib/modules/$kver/build" "$kdir"; then
		load="insmod $kdir/test/nm_dmatest_provider.ko && insmod $kdir/numamigrate.ko || echo 'kernel module: insmod failed'"
	else
		echo "the kernel module could not be built for $kver (linux-headers-$kver; see raw/kmod/build.log): kmod rows left out" \
			>"$out/raw/kmod-why.txt"
	fi
	echo "guest: numa-vm --nodes 2 --cpus 4, kernel $kver (QEMU TCG)" >"$out/raw/where.txt"
	mem=768 limit=600
	[ "$mode" = full ] && mem=1536 limit=1800
	share=(--share "$out")
	case "$build/" in "$top"/*) ;; *) share+=(--share "$build") ;; esac
	case "$out/" in "$top"/*) share=("${share[@]:2}") ;; esac
	echo "$prog: measuring in a 2-node guest (4 vCPUs, one emulator thread each)"
	for v in BENCH_METHODS BENCH_PARTS BENCH_TRACE; do
		[ -n "${!v:-}" ] && export "NUMA_VM_ENV_$v=${!v}"
	done
	# shellcheck disable=SC2016 # expanded in the guest
	NUMA_VM_TCG_THREADS=multi "$vm" --nodes 2 --cpus 4 --mem-per-node "$mem" \
		--timeout "$limit" "${share[@]}" -- bash -c '
			eval "$1"
			"$2" "$3" "$4" "$5"
		' guest "$load" "$top/tests/bench/bench-guest.sh" "$build" "$out" "$mode" \
		2>&1 | tee "$out/raw/guest.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || die "the guest run failed (see $out/raw/guest.log)"
fi

# ---- the report ----------------------------------------------------------------
echo "$(($(date +%s) - start))" >"$out/raw/seconds.txt"
python3 "$top/tests/bench/bench-report.py" "$out" "$mode" || die "the report failed"
echo "$prog: $out/results.json, $out/report.md and $(cd "$out" && echo ./*.png | wc -w) plots ($(cat "$out/raw/seconds.txt") s)"
