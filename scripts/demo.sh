#!/bin/bash
# The main job, end to end, from a fresh Debian 12 machine: installs what is
# missing, builds numamigrate, plans moving a 96-rank MPI job on a 24-node
# machine (beside what the kernel's migrate_pages(2) would do), then plans
# and carries out a move of real processes through numamigrated on a real
# multi-node kernel: this machine when it has two NUMA nodes or more,
# otherwise a 4-node QEMU guest.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/deps.sh
if [ ! -x build/demo/helper/numamigrate ] || [ configure.ac -nt build/demo/Makefile ]; then
	echo "== building numamigrate"
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build/demo
	(cd build/demo && ../../configure -q && make -s -j"$(nproc)") >/dev/null
fi
nm=$top/build/demo/helper/numamigrate

echo
echo "== 1. A 96-rank job on nodes 0-7 of a 24-node SGI-style machine, moved to 4-11"
echo "   numamigrate plan --topology tests/data/192em64t-24n8c2t.xml --job tests/data/job-96ranks-24node.json --to 4-11"
echo
"$nm" plan --topology tests/data/192em64t-24n8c2t.xml \
	--job tests/data/job-96ranks-24node.json --to 4-11 |
	awk 'NR <= 12 || /^ +9[0-5] / || /order of moves/ || f { print } /order of moves/ { f = 1 }
	     NR == 13 { print "   ... (96 ranks)" }'

live=$top/scripts/demo-live.sh
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
echo
if [ "$nodes" -ge 2 ]; then
	echo "== 2. Real processes on this machine's $nodes NUMA nodes"
	"$live" "$nm"
else
	echo "== 2. Real processes on a real 4-node kernel (QEMU guest: this machine has $nodes NUMA node)"
	tests/vm/numa-vm --nodes 4 --cpus 4 --mem-per-node 512 --timeout 300 -- "$live" "$nm"
fi
