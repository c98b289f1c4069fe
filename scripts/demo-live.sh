#!/bin/bash
# Part 2 of the demo (scripts/demo.sh), run as root on a kernel whose NUMA
# nodes 0-3 all have CPUs: the 4-node QEMU guest, or a big enough host.
#
#   scripts/demo-live.sh BUILDDIR
#
# Starts numamigrated and a throw-away Slurm cluster (tests/slurm/cluster.sh)
# whose plugstack.conf loads the SPANK plugin, runs a 4-rank MPI job
# (srun --mpi=pmix, nm-mpi-churn) as an unprivileged user on NUMA nodes 0-1,
# shows every rank's CPUs and memory per node, moves the job with
# 'srun --jobid=J --overlap --migrate-nodes=0-1:2-3 true', shows them again,
# and stops the job, which checks its data and MPI messages.  Every step is
# checked: exit 0 only when the move did what it says; otherwise one
# "demo: FAILED: ..." line (after the relevant log lines) and exit 1.
# Everything it started is stopped on exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)
build=$(cd "${1:?usage: demo-live.sh BUILDDIR}" && pwd -P) || exit 1
nm=$build/helper/numamigrate
nmd=$build/helper/numamigrated
plugin=$build/spank/.libs/numamigrate.so
churn=$build/tests/mpi/nm-mpi-churn
size=${DEMO_RANK_MEM:-64M}
# shellcheck source=tests/slurm/cluster.sh
. "$top/tests/slurm/cluster.sh"

T=
cluster=
daemon=
srun_pid=
logs=()

# die MESSAGE: the tails of the logs that matter, then one line; exit 1.
die() {
	local f
	for f in "${logs[@]}"; do
		[ -s "$f" ] || continue
		echo "---- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
	echo "demo: FAILED: $*" >&2
	exit 1
}

cleanup() {
	local rc=$?
	trap - EXIT
	if [ -n "$cluster" ]; then
		# Cancels the job (if still there), stops the daemons and
		# kills anything of the cluster that is left.
		if ! nmc_stop "$cluster" >>"$T/cluster.log" 2>&1; then
			tail -n 15 "$T/cluster.log" >&2
			echo "demo: FAILED: stopping the Slurm cluster" >&2
			rc=1
		fi
	fi
	if [ -n "$srun_pid" ]; then
		kill "$srun_pid" 2>/dev/null
		wait "$srun_pid" 2>/dev/null
	fi
	if [ -n "$daemon" ]; then
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
	fi
	[ -z "$T" ] || rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM HUP

# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# ---- what this needs -------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (it starts slurmd, munged, numamigrated)"
for f in "$nm" "$nmd" "$churn"; do
	[ -x "$f" ] || die "$f is not built"
done
[ -f "$plugin" ] ||
	die "$plugin is not built (configure found no slurm/spank.h: install libslurm-dev)"
for n in 0 1 2 3; do
	[ -n "$(cat /sys/devices/system/node/node$n/cpulist 2>/dev/null)" ] ||
		die "NUMA node $n is missing or has no CPUs"
done
nodes=$(cd /sys/devices/system/node && ls -d node[0-9]* | sed 's/node//' | sort -n | tr '\n' ' ')
cpulist() { cat "/sys/devices/system/node/node$1/cpulist"; }
first_cpu() { cpulist "$1" | sed 's/[-,].*//'; }
c0=$(first_cpu 0)
c1=$(first_cpu 1)

T=$(mktemp -d /tmp/nm-demo.XXXXXX) || die "mktemp"
chmod 755 "$T"

echo "   This kernel's NUMA nodes:"
for n in $nodes; do
	printf '     node %s: CPUs %-6s %5d MiB\n' "$n" "$(cpulist "$n")" \
		$(($(sed -n 's/.*MemTotal: *\([0-9]*\) kB/\1/p' "/sys/devices/system/node/node$n/meminfo") / 1024))
done

# ---- numamigrated and Slurm --------------------------------------------------
sock=$T/nm.sock
nmc_paths "$T/c" # the cluster's NMC_CONF, NMC_NODE
cat >"$T/nm.conf" <<CONF
[daemon]
socket = $sock
socket_mode = 0666
journal_dir = $T/journal
[slurm]
conf = $NMC_CONF
node_name = $NMC_NODE
CONF
logs=("$T/daemon.log")
"$nmd" --foreground --config "$T/nm.conf" >"$T/daemon.log" 2>&1 &
daemon=$!
wait_for 20 "$nm" status --socket "$sock" || die "numamigrated did not start"

echo "required $plugin socket=$sock" >"$T/plugstack.conf"
logs+=("$T/cluster.log")
t0=$SECONDS
nmc_start "$T/c" --plugstack "$T/plugstack.conf" >"$T/cluster.log" 2>&1 ||
	die "the Slurm cluster could not start"
cluster=$T/c
logs=("$T/daemon.log" "$NMC_LOG/slurmd.log")
echo
echo "   numamigrated on $sock; a Slurm $(sinfo -V | awk '{ print $2 }') cluster up in $((SECONDS - t0)) s"
echo "   (munged, slurmctld, slurmd; node $NMC_NODE, cgroup $(cat "$NMC_RUN/cgroup")); its plugstack.conf:"
echo "     required ${plugin#"$top"/} socket=$sock"

# ---- the MPI job -------------------------------------------------------------
# (as_user runs in $NMC_WORK: pids/ is there)
pd=$NMC_WORK/pids
as_user mkdir -p "$pd"
job=(srun --mpi=pmix -n 4 --exclusive "--cpu-bind=map_cpu:$c0,$c0,$c1,$c1"
	"$churn" -s "$size" -t 0 -f pids/stop -p pids)
echo
echo "   As user $NMC_USER: ${job[*]/#$top\//} &"
t0=$SECONDS
logs+=("$T/job.err")
as_user "${job[@]}" >"$T/job.out" 2>"$T/job.err" &
srun_pid=$!
wait_for 240 test -s "$pd/rank-3.pid" ||
	die "the MPI job did not start within 240 s"
j=$(squeue -h -u "$NMC_USER" -o %i | head -n 1)
[ -n "$j" ] || die "the MPI job is not in the queue"
pids=()
for r in 0 1 2 3; do
	read -r "pids[r]" <"$pd/rank-$r.pid"
done
# The plugin registers every task with numamigrated.
registered() {
	"$nm" status --socket "$sock" >"$T/status" 2>&1 &&
		grep -q "^  job $j: 4 tasks" "$T/status"
}
wait_for 60 registered || die "the 4 tasks of job $j were not registered with numamigrated"
started() { [ "$(grep -c 'phase=start' "$T/job.out")" -eq 4 ]; }
wait_for 60 started || die "the ranks printed no start line"
echo "   job $j: 4 ranks running after $((SECONDS - t0)) s; the plugin registered them:"
echo
echo "   numamigrate status"
sed -e '/^$/d' -e '/moves* in progress/d' -e 's/^/     /' "$T/status"

# table N0 N1 N2 N3: prints rank, pid, CPUs (Cpus_allowed_list) and MiB of
# anonymous memory (mappings with no file, /proc/PID/numa_maps) on each
# NUMA node, for every rank; fails with one line per rank that is not
# where it should be: rank r on node Nr, every thread on Nr's CPUs and at
# least 99% of its anonymous memory there.  One awk for the whole table
# (a fork costs seconds in a busy TCG guest).
table() {
	local r files=() want=() n
	for r in 0 1 2 3; do
		n=$((r + 1))
		want[r]=${!n}:$(cpulist "${!n}")
		files+=("/proc/${pids[r]}/status" "/proc/${pids[r]}/numa_maps" \
			/proc/"${pids[r]}"/task/*/status)
	done
	awk -v nodes="$nodes" -v pids="${pids[*]}" -v want="${want[*]}" '
		function expand(l, set,   n, p, i, r, c) {
			n = split(l, p, ",")
			for (i = 1; i <= n; i++) {
				split(p[i], r, "-")
				for (c = r[1] + 0; c <= (r[2] == "" ? r[1] : r[2]) + 0; c++)
					set[c] = 1
			}
		}
		BEGIN {
			nn = split(nodes, node, " "); split(pids, pid, " "); split(want, w, " ")
			for (r = 1; r <= 4; r++) rank[pid[r]] = r
		}
		{ split(FILENAME, f, "/"); r = rank[f[3]] }
		FILENAME ~ /\/task\// && /^Cpus_allowed_list:/ {
			split(w[r], x, ":"); delete ok; delete got
			expand(x[2], ok); expand($2, got)
			for (c in got) if (!(c in ok)) {
				bad[r] = bad[r] " thread " f[5] " may run on CPUs " $2 ";"
				break
			}
			next
		}
		FILENAME ~ /\/task\// { next }
		/^Cpus_allowed_list:/ { cpus[r] = $2; next }
		FILENAME ~ /numa_maps$/ && !/ file=/ {
			ps = 4
			for (i = 1; i <= NF; i++) if ($i ~ /^kernelpagesize_kB=/) ps = substr($i, 19)
			for (i = 1; i <= NF; i++)
				if ($i ~ /^N[0-9]+=/) {
					split(substr($i, 2), a, "=")
					kb[r, a[1]] += a[2] * ps; total[r] += a[2] * ps
				}
		}
		END {
			printf "   %4s %7s %6s", "rank", "pid", "CPUs"
			for (i = 1; i <= nn; i++) printf " %7s", "node" node[i]
			printf "\n"
			for (r = 1; r <= 4; r++) {
				printf "   %4d %7d %6s", r - 1, pid[r], cpus[r]
				for (i = 1; i <= nn; i++) printf " %7.1f", kb[r, node[i]] / 1024
				printf "\n"
				split(w[r], x, ":")
				if (total[r] == 0 || kb[r, x[1]] * 100 < total[r] * 99)
					bad[r] = bad[r] sprintf(" %.1f of its %.1f MiB on node %d;",
						kb[r, x[1]] / 1024, total[r] / 1024, x[1])
			}
			for (r = 1; r <= 4; r++)
				if (r in bad) {
					printf "rank %d (node %d wanted):%s\n", r - 1, substr(w[r], 1, index(w[r], ":") - 1), bad[r] > "/dev/stderr"
					err = 1
				}
			exit err
		}' "${files[@]}"
}

echo
echo "   Every rank's CPUs (Cpus_allowed_list) and MiB of anonymous memory on each"
echo "   NUMA node (/proc/PID/numa_maps), before:"
echo
table 0 0 1 1 2>"$T/check" || die "before the move, not every rank is where srun put it: $(tr '\n' ' ' <"$T/check")"

plist=$(IFS=,; echo "${pids[*]}")
echo
echo "   numamigrate plan --pid $plist --map 0-1:2-3     (a dry run)"
echo
"$nm" plan --pid "$plist" --map 0-1:2-3 >"$T/plan" 2>&1 ||
	{ logs+=("$T/plan"); die "numamigrate plan failed"; }
sed 's/^/   /' "$T/plan"

echo
echo "   As user $NMC_USER: srun --jobid=$j --overlap --migrate-nodes=0-1:2-3 true"
t0=$SECONDS
as_user srun --jobid="$j" --overlap --migrate-nodes=0-1:2-3 true >"$T/move" 2>&1
rc=$?
sed 's/^/   /' "$T/move"
echo "   (srun returned after $((SECONDS - t0)) s, starting the step included)"
[ $rc -eq 0 ] || die "the move request failed (srun exit $rc)"
grep -q "moved (0-1:2-3): 4 processes, [1-9][0-9]* pages .* 0 pages failed" "$T/move" ||
	die "the move request did not report 4 processes moved with no failed page"

echo
echo "   After:"
echo
table 2 2 3 3 2>"$T/check" || die "after the move, not every rank is on its new node: $(tr '\n' ' ' <"$T/check")"

# ---- the job ends and checks itself --------------------------------------------
as_user touch "$pd/stop"
wait "$srun_pid"
rc=$?
srun_pid=
echo
echo "   The job, stopped (touch its stop file): every rank verifies its whole buffer"
echo "   and its ring messages:"
grep 'result=' "$T/job.out" | sort -t= -k2 -n | sed 's/^/   /'
[ $rc -eq 0 ] || die "the MPI job exited $rc"
[ "$(grep -c 'result=ok' "$T/job.out")" -eq 4 ] ||
	die "not every rank reported result=ok"
st=$(nmc_job_field "$j" JobState)
[ "$st" = COMPLETED ] || die "job $j ended $st"
echo "   job $j: COMPLETED"
