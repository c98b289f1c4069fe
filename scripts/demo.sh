#!/bin/bash
# The main job, end to end, from a fresh Debian 12 machine: installs what is
# missing, builds numamigrate (CLI, daemon, SPANK plugin, MPI test programs)
# in build/demo, plans moving a 96-rank MPI job on a 24-node machine (beside
# what the kernel's migrate_pages(2) would do), then runs the real thing: a
# throw-away Slurm cluster with the plugin and numamigrated, a 4-rank MPI job
# on NUMA nodes 0-1 moved to 2-3 with 'srun --jobid=J --overlap
# --migrate-nodes=0-1:2-3 true', every rank's CPUs and memory per node shown
# before and after (scripts/demo-live.sh).  That part runs on this machine
# when its NUMA nodes 0-3 all have CPUs, otherwise in a 4-node QEMU guest.
# Exit 0 only if everything worked; otherwise "demo: FAILED: ..." and 1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

scripts/deps.sh || fail "installing the Debian packages (scripts/deps.sh)"
build=$top/build/demo
echo "== building numamigrate, its SPANK plugin and the MPI test programs in build/demo"
mkdir -p "$build"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	autoreconf -fi >"$build/autoreconf.log" 2>&1 ||
		{ tail -n 30 "$build/autoreconf.log" >&2; fail "autoreconf -fi"; }
fi
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && ../../configure -q) || fail "configure"
fi
(cd "$build" && make -s -j"$(nproc)" all mpi-programs) >"$build/make.log" 2>&1 ||
	{ tail -n 30 "$build/make.log" >&2; fail "make (see build/demo/make.log)"; }
[ -f "$build/spank/.libs/numamigrate.so" ] ||
	fail "the SPANK plugin was not built: configure found no slurm/spank.h (libslurm-dev)"
nm=$build/helper/numamigrate

echo
echo "== 1. A 96-rank job on nodes 0-7 of a 24-node SGI-style machine, moved to 4-11"
echo "   numamigrate plan --topology tests/data/192em64t-24n8c2t.xml --job tests/data/job-96ranks-24node.json --to 4-11"
echo
"$nm" plan --topology tests/data/192em64t-24n8c2t.xml \
	--job tests/data/job-96ranks-24node.json --to 4-11 |
	awk 'NR <= 12 || /^ +9[0-5] / || /order of moves/ || f { print } /order of moves/ { f = 1 }
	     NR == 13 { print "   ... (96 ranks)" }' ||
	fail "numamigrate plan (part 1)"

live=$top/scripts/demo-live.sh
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
host_ok=1
for n in 0 1 2 3; do
	[ -n "$(cat /sys/devices/system/node/node$n/cpulist 2>/dev/null)" ] || host_ok=0
done
echo
if [ $host_ok = 1 ]; then
	echo "== 2. A Slurm MPI job moved with --migrate-nodes, on this machine's $nodes NUMA nodes"
	echo
	"${as_root[@]}" "$live" "$build" || exit 1
else
	echo "== 2. A Slurm MPI job moved with --migrate-nodes, in a 4-node QEMU guest"
	if [ "$nodes" -lt 4 ]; then
		echo "   (this machine has $nodes NUMA node$([ "$nodes" = 1 ] || echo s); the guest runs Debian's kernel"
	else
		echo "   (NUMA nodes 0-3 of this machine do not all have CPUs; the guest runs Debian's kernel"
	fi
	echo "   under TCG, so every step is slow)"
	echo
	rc=0
	"${as_root[@]}" tests/vm/numa-vm --nodes 4 --cpus 4 --mem-per-node 768 \
		--timeout "${DEMO_VM_TIMEOUT:-1800}" -- \
		env NMC_TIMEOUT=120 bash "$live" "$build" || rc=$?
	case $rc in
	0) ;;
	124) fail "the QEMU guest timed out (DEMO_VM_TIMEOUT=${DEMO_VM_TIMEOUT:-1800} s)" ;;
	125) fail "the QEMU guest could not run (tests/vm/numa-vm exit 125; see above)" ;;
	*) exit 1 ;; # demo-live.sh said why
	esac
fi
echo
echo "== done"
