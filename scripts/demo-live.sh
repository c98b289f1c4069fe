#!/bin/bash
# Part 2 of the demo, run on a multi-node kernel: four "ranks" (memhog
# processes, two on each of nodes 0 and 1), then the plan to move them to
# the other nodes, computed from their live placement.
set -euo pipefail
nm=$1
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT

nodes=$(ls -d /sys/devices/system/node/node[0-9]* | wc -l)
for rank in 0 1 2 3; do
	node=$((rank / 2))
	numactl --cpunodebind=$node --membind=$node memhog -r100000 32M >/dev/null &
	pids+=($!)
done
sleep 2
numactl -H | sed -n '1,/^node distances/p' | grep -v '^node distances'
echo
last=$((nodes - 1))
echo "   numamigrate plan --pid $(IFS=,; echo "${pids[*]}") --to 2-$last"
echo
"$nm" plan --pid "$(IFS=,; echo "${pids[*]}")" --to "2-$last"
