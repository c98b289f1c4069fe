#!/bin/bash
# Part 2 of the demo, run on a multi-node kernel as root: four "ranks"
# (memhog processes, two on each of nodes 0 and 1), the plan to move them to
# nodes 2-3 computed from their live placement, then the real move through
# numamigrated, with every rank's CPUs and memory per node before and after.
set -euo pipefail
nm=$1
nmd=$(dirname "$nm")/numamigrated
pids=()
tmp=$(mktemp -d)
daemon=
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# rank, pid, CPUs, MiB of anonymous memory per node (from numa_maps)
placement() {
	local rank=0 pid
	printf '   %4s %6s %-6s %s\n' rank pid cpus "MiB per node"
	for pid in "${pids[@]}"; do
		printf '   %4d %6d %-6s %s\n' "$rank" "$pid" \
			"$(sed -n 's/^Cpus_allowed_list:\s*//p' /proc/$pid/status)" \
			"$(awk '!/ file=/ || / anon=/ { for (i = 1; i <= NF; i++)
				if ($i ~ /^N[0-9]+=/) { split(substr($i, 2), a, "=");
				mib[a[1]] += a[2] * 4 / 1024 } }
				END { for (n in mib) printf "%s:%.0f ", n, mib[n] }' \
				/proc/$pid/numa_maps)"
		rank=$((rank + 1))
	done
}

for rank in 0 1 2 3; do
	node=$((rank / 2))
	numactl --cpunodebind=$node --membind=$node memhog -r100000 32M >/dev/null &
	pids+=($!)
done
sleep 2
numactl -H | sed -n '1,/^node distances/p' | grep -v '^node distances'
list=$(IFS=,; echo "${pids[*]}")
last=$(( $(ls -d /sys/devices/system/node/node[0-9]* | wc -l) - 1 ))

echo
echo "   numamigrate plan --pid $list --to 2-$last"
echo
"$nm" plan --pid "$list" --to "2-$last"

echo
echo "== 3. The move itself, through numamigrated (freeze, move, re-pin, thaw)"
cat >"$tmp/nm.conf" <<CONF
[daemon]
socket = $tmp/nm.sock
journal_dir = $tmp/journal
CONF
"$nmd" --foreground --config "$tmp/nm.conf" >"$tmp/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
	"$nm" status --socket "$tmp/nm.sock" >/dev/null 2>&1 && break
	sleep 0.1
done
echo
echo "   before:"
placement
echo
echo "   numamigrate move --pid $list --to 2-$last"
# (the progress bar goes to stderr: the guest console would show every frame)
if ! "$nm" move --socket "$tmp/nm.sock" --pid "$list" --to "2-$last" \
	2>"$tmp/move.err" | sed 's/^/   /'; then
	cat "$tmp/move.err" "$tmp/daemon.log" >&2
	exit 1
fi
echo
echo "   after:"
placement
