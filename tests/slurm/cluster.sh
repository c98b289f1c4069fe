#!/bin/bash
# cluster.sh: a real, throw-away Slurm 22.05 cluster (munged, slurmctld, one
# slurmd) living entirely under one directory, for the integration tests.
#
#   tests/slurm/cluster.sh start DIR [--plugstack FILE] [--preempt]
#   tests/slurm/cluster.sh stop DIR
#   tests/slurm/cluster.sh env DIR        # prints export lines (SLURM_CONF...)
#   tests/slurm/cluster.sh status DIR
#
# or sourced by a test script (bash), which then calls nmc_start, nmc_stop,
# nmc_env, as_user and the nmc_* job helpers below.  Sourcing changes no
# shell option.  See tests/slurm/README.md.
#
# Environment:
#   NMC_CGROUP=auto|v1|v2|none  cgroup plugins (default auto: v1 on a hybrid
#                               host, v2 on pure cgroup2, none otherwise)
#   NMC_TIMEOUT=S               bound of every wait in start/stop (default 60)
#   NMC_USER=name               the unprivileged job user (default nmuser)
#   NMC_DEBUG=level             SlurmctldDebug/SlurmdDebug (default info)

NMC_USER=${NMC_USER:-nmuser}

nmc_msg() { echo "cluster.sh: $*" >&2; }

# nmc_abs PATH: absolute path without resolving symlinks.
nmc_abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}

# Per-cluster names and paths; sets NMC_* variables for DIR.
nmc_paths() {
	local dir
	dir=$(nmc_abs "$1") || return 1
	dir=${dir%/}
	NMC_DIR=$dir
	NMC_CONF=$dir/etc/slurm.conf
	NMC_WORK=$dir/work
	NMC_LOG=$dir/log
	NMC_RUN=$dir/run
	NMC_MUNGE_SOCKET=$dir/munge/run/munge.socket
	NMC_HASH=$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
	# Unique node name, so parallel clusters never share cgroup paths
	# (Debian builds Slurm with --enable-multiple-slurmd: slurm_<node>).
	NMC_NODE=nm$(printf '%06x' $((NMC_HASH % 16777216)))
}

# Is PID alive and started by this cluster (marker in its environment)?
nmc_pid_is_ours() {
	[ -n "$1" ] && [ -d "/proc/$1" ] &&
		grep -qzxF "NMC_CLUSTER=$NMC_DIR" "/proc/$1/environ" 2>/dev/null
}

# Every process that carries this cluster's marker or SLURM_CONF: the
# daemons, slurmstepd (inherits slurmd's environment) and job tasks.
# Processes of the caller's own session (this script, its pipelines, an
# srun it started) are not counted: the daemons and slurmstepd run in
# sessions of their own.  One grep over all environ files (an exec costs
# ~40 ms under QEMU/TCG).
nmc_our_pids() {
	local s mysid
	s=$(cat /proc/$$/stat) || return 0
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	mysid=$4
	env -u SLURM_CONF -u NMC_CLUSTER grep -lzxF \
		-e "NMC_CLUSTER=$NMC_DIR" -e "SLURM_CONF=$NMC_CONF" \
		/proc/[0-9]*/environ 2>/dev/null |
		env -u SLURM_CONF -u NMC_CLUSTER awk -v sid="$mysid" '{
			split($0, a, "/"); f = "/proc/" a[3] "/stat"
			if ((getline line < f) > 0) {
				sub(/.*\) /, "", line); split(line, b, " ")
				if (b[4] != sid) print a[3]
			}
			close(f)
		}'
	return 0
}

# Listening TCP ports (decimal), from /proc/net/tcp{,6}.
nmc_listening_ports() {
	local f
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' "$f"
	done | while read -r hex; do echo $((16#$hex)); done | sort -un
}

# Two free consecutive ports, first one derived from the directory's hash.
nmc_pick_ports() {
	local used base tries=0
	used=" $(nmc_listening_ports | tr '\n' ' ') "
	base=$((20000 + (NMC_HASH % 6000) * 2))
	while [ $tries -lt 500 ]; do
		case $used in
		*" $base "* | *" $((base + 1)) "*) ;;
		*)
			echo "$base"
			return 0
			;;
		esac
		base=$((base + 2))
		[ $base -ge 32000 ] && base=20000
		tries=$((tries + 1))
	done
	nmc_msg "no free port pair in 20000-32000"
	return 1
}

# Which cgroup plugins can work here: prints v1, v2 or none.
nmc_detect_cgroup() {
	local want=${NMC_CGROUP:-auto} fstype
	fstype=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)
	case $want in
	v1 | v2 | none)
		echo "$want"
		return 0
		;;
	auto) ;;
	*)
		nmc_msg "NMC_CGROUP=$want: use auto, v1, v2 or none"
		return 1
		;;
	esac
	if [ "$fstype" = cgroup2fs ]; then
		# Pure cgroup v2 (the QEMU guest): cgroup/v2 with IgnoreSystemd.
		if [ -w /sys/fs/cgroup/cgroup.subtree_control ] &&
			grep -qw cpuset /sys/fs/cgroup/cgroup.controllers &&
			grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
			echo v2
			return 0
		fi
		nmc_msg "cgroup2 at /sys/fs/cgroup lacks writable cpuset/cpu controllers: falling back to proctrack/linuxproc, task/affinity (no cgroup freezer, no cpuset)"
		echo none
		return 0
	fi
	# Hybrid or legacy: v1 controllers under /sys/fs/cgroup/<controller>.
	if [ -f /sys/fs/cgroup/freezer/cgroup.procs ] &&
		[ -f /sys/fs/cgroup/cpuset/cpuset.cpus ] &&
		[ -w /sys/fs/cgroup/freezer ] && [ -w /sys/fs/cgroup/cpuset ]; then
		echo v1
		return 0
	fi
	nmc_msg "no usable cgroup hierarchy (/sys/fs/cgroup is '${fstype:-missing}', no writable v1 freezer+cpuset): falling back to proctrack/linuxproc, task/affinity (no cgroup freezer, no cpuset)"
	echo none
}

# Creates the job user if missing.
nmc_ensure_user() {
	if ! id "$NMC_USER" >/dev/null 2>&1; then
		useradd --no-create-home --shell /bin/bash --user-group \
			--comment "numamigrate test user" "$NMC_USER" || {
			nmc_msg "cannot create user $NMC_USER"
			return 1
		}
	fi
}

# nmc_wait SECONDS DESCRIPTION CMD...: polls CMD every 0.1 s.
nmc_wait() {
	local limit=$1 what=$2 end
	shift 2
	end=$((SECONDS + limit))
	while ! "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			nmc_msg "timed out after ${limit}s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

nmc_log_tails() {
	local f
	for f in "$NMC_DIR"/munge/munged.log "$NMC_LOG"/slurmctld.log \
		"$NMC_LOG"/slurmd.log "$NMC_LOG"/munged.out \
		"$NMC_LOG"/slurmctld.out "$NMC_LOG"/slurmd.out; do
		[ -s "$f" ] || continue
		echo "---- last lines of $f" >&2
		tail -n 25 "$f" >&2
	done
}

nmc_write_conf() {
	local port=$1 cg=$2 preempt=$3 plugstack=$4 node_line host mem cpus
	local defmem proctrack task
	node_line=$(slurmd -C 2>/dev/null | head -n 1)
	case $node_line in
	NodeName=*CPUs=*RealMemory=*) ;;
	*)
		nmc_msg "'slurmd -C' printed no node line: '$node_line'"
		return 1
		;;
	esac
	# Keep the hardware fields, use our own node name and address.
	node_line=$(printf '%s\n' "$node_line" | tr ' ' '\n' |
		grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' |
		tr '\n' ' ')
	mem=$(printf '%s\n' "$node_line" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
	cpus=$(printf '%s\n' "$node_line" | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
	# Room for several jobs at once (a suspended job keeps its memory).
	defmem=$((mem / cpus / 4))
	[ $defmem -lt 64 ] && defmem=64
	host=$(hostname -s 2>/dev/null || hostname)
	case $host in
	'' | *[!A-Za-z0-9_.-]*)
		nmc_msg "the host name '$host' cannot be a Slurm host name; set one (hostname NAME)"
		return 1
		;;
	esac
	if [ "$cg" = none ]; then
		proctrack=proctrack/linuxproc
		task=task/affinity
	else
		proctrack=proctrack/cgroup
		task=task/cgroup,task/affinity
	fi
	mkdir -p "$NMC_DIR/etc" || return 1
	if [ -n "$plugstack" ]; then
		cp "$plugstack" "$NMC_DIR/etc/plugstack.conf" || return 1
	else
		: >"$NMC_DIR/etc/plugstack.conf"
	fi
	cat >"$NMC_CONF" <<EOF
# Generated by tests/slurm/cluster.sh for $NMC_DIR
ClusterName=$NMC_NODE
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$NMC_MUNGE_SOCKET
StateSaveLocation=$NMC_DIR/state
SlurmdSpoolDir=$NMC_DIR/spool/%n
SlurmctldPidFile=$NMC_RUN/slurmctld.pid
SlurmdPidFile=$NMC_RUN/slurmd.pid
SlurmctldLogFile=$NMC_LOG/slurmctld.log
SlurmdLogFile=$NMC_LOG/slurmd.log
SlurmctldDebug=${NMC_DEBUG:-info}
SlurmdDebug=${NMC_DEBUG:-info}
PlugStackConfig=$NMC_DIR/etc/plugstack.conf
ProctrackType=$proctrack
TaskPlugin=$task
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SwitchType=switch/none
# Per-cluster TmpFS: mpi/pmix makes spmix_appdir_<uid>_<job>.<step> there,
# which would collide in /tmp between clusters (job ids restart).
TmpFS=$NMC_DIR/tmp
FirstJobId=$((1000 + NMC_HASH % 900000))
NodeName=$NMC_NODE NodeHostname=$host NodeAddr=127.0.0.1 $node_line State=UNKNOWN
EOF
	if [ "$preempt" = 1 ]; then
		cat >>"$NMC_CONF" <<EOF
PreemptType=preempt/partition_prio
PreemptMode=SUSPEND,GANG
PartitionName=low Nodes=$NMC_NODE Default=YES MaxTime=INFINITE State=UP PriorityTier=1 OverSubscribe=FORCE:1
PartitionName=high Nodes=$NMC_NODE Default=NO MaxTime=INFINITE State=UP PriorityTier=2 OverSubscribe=FORCE:1
EOF
	else
		cat >>"$NMC_CONF" <<EOF
PartitionName=debug Nodes=$NMC_NODE Default=YES MaxTime=INFINITE State=UP
EOF
	fi
	case $cg in
	v1)
		cat >"$NMC_DIR/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
		;;
	v2)
		# No systemd/dbus here: IgnoreSystemd=yes makes slurmd create
		# /sys/fs/cgroup/system.slice/<node>_slurmstepd.scope itself.
		cat >"$NMC_DIR/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v2
CgroupMountpoint=/sys/fs/cgroup
IgnoreSystemd=yes
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
		;;
	none)
		cat >"$NMC_DIR/etc/cgroup.conf" <<EOF
# no cgroup plugin in use (proctrack/linuxproc)
CgroupPlugin=cgroup/v1
EOF
		;;
	esac
}

nmc_start_munge() {
	local m=$NMC_DIR/munge
	mkdir -p "$m/run" || return 1
	chmod 700 "$m" && chmod 755 "$m/run" || return 1
	# A private socket dir must be reachable by the job user: the munge
	# dir itself is 711 (no listing), the socket dir 755.
	chmod 711 "$m"
	if [ ! -s "$m/munge.key" ]; then
		dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none ||
			return 1
	fi
	chmod 400 "$m/munge.key"
	rm -f "$NMC_MUNGE_SOCKET" "$NMC_MUNGE_SOCKET.lock"
	NMC_CLUSTER=$NMC_DIR setsid munged --foreground --force \
		--key-file="$m/munge.key" --socket="$NMC_MUNGE_SOCKET" \
		--pid-file="$m/munged.pid" --log-file="$m/munged.log" \
		--seed-file="$m/munged.seed" \
		</dev/null >"$NMC_LOG/munged.out" 2>&1 &
	echo $! >"$NMC_RUN/munged.dpid"
	nmc_wait "$NMC_TIMEOUT" "munged's socket $NMC_MUNGE_SOCKET" \
		test -S "$NMC_MUNGE_SOCKET" || return 1
	if ! munge -n -S "$NMC_MUNGE_SOCKET" | unmunge -S "$NMC_MUNGE_SOCKET" >/dev/null; then
		nmc_msg "munge -n | unmunge failed with socket $NMC_MUNGE_SOCKET"
		return 1
	fi
}

nmc_node_state() {
	sinfo -h -N -n "$NMC_NODE" -o %T 2>/dev/null | head -n 1
}

nmc_node_idle() {
	[ "$(SLURM_CONF=$NMC_CONF nmc_node_state)" = idle ]
}

# Waits for the node to be idle; fails at once when a daemon died.
nmc_wait_idle() {
	local end=$((SECONDS + NMC_TIMEOUT)) d
	while ! nmc_node_idle; do
		for d in munged slurmctld slurmd; do
			if ! nmc_pid_is_ours "$(cat "$NMC_RUN/$d.dpid" 2>/dev/null)"; then
				nmc_msg "$d died while the cluster was starting"
				return 1
			fi
		done
		if [ $SECONDS -ge $end ]; then
			nmc_msg "timed out after ${NMC_TIMEOUT}s waiting for node $NMC_NODE to be idle"
			return 1
		fi
		sleep 0.2
	done
}

# Slurm 22.05 resolves addresses with AI_ADDRCONFIG: with no IPv4 address
# but 127.0.0.1 (the QEMU guest: loopback only) getaddrinfo() fails even
# for "127.0.0.1" and the daemons cannot bind.  In a throw-away guest
# (NUMA_VM=1) or with NMC_FIX_NET=1, add a /32 address to lo and make the
# host name resolvable; elsewhere, say what is missing.
nmc_prepare_net() {
	local host fix=0
	[ "${NUMA_VM:-0}" = 1 ] || [ "${NMC_FIX_NET:-0}" = 1 ] && fix=1
	if ! ip -4 -o addr show 2>/dev/null | awk '{ print $4 }' |
		grep -qv '^127\.0\.0\.1/'; then
		if [ $fix = 1 ]; then
			# A dummy interface also gives OpenMPI's mpirun (ORTE
			# out-of-band TCP) a non-loopback interface to use.
			if { ip link add nmc0 type dummy 2>/dev/null ||
				{ modprobe dummy 2>/dev/null &&
					ip link add nmc0 type dummy; }; } &&
				: >"$NMC_RUN/added-link" &&
				ip addr add 10.254.254.1/24 dev nmc0 &&
				ip link set nmc0 up; then
				nmc_msg "no IPv4 address but 127.0.0.1: added dummy interface nmc0 10.254.254.1/24 (Slurm resolves with AI_ADDRCONFIG; mpirun needs a non-loopback interface)"
			elif ip addr add 10.254.254.1/32 dev lo; then
				: >"$NMC_RUN/added-addr"
				nmc_msg "no IPv4 address but 127.0.0.1 and no dummy interface: added 10.254.254.1/32 to lo (enough for Slurm; mpirun then needs OMPI_MCA_oob_tcp_if_include=lo)"
			else
				nmc_msg "no IPv4 address but 127.0.0.1, and none could be added"
				return 1
			fi
		else
			nmc_msg "this machine has no IPv4 address but 127.0.0.1: Slurm's getaddrinfo(AI_ADDRCONFIG) will fail; add one (ip addr add 10.254.254.1/32 dev lo) or set NMC_FIX_NET=1"
			return 1
		fi
	fi
	host=$(hostname -s 2>/dev/null || hostname)
	if ! getent hosts "$host" >/dev/null 2>&1; then
		if [ $fix = 1 ]; then
			echo "127.0.1.1 $host" >>/etc/hosts &&
				nmc_msg "host name $host did not resolve: added it to /etc/hosts"
		else
			nmc_msg "warning: host name $host does not resolve (munged and Slurm may complain)"
		fi
	fi
	return 0
}

# nmc_start DIR [--plugstack FILE] [--preempt]
nmc_start() {
	local dir=${1:?nmc_start DIR}
	local plugstack='' preempt=0 port cg t0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--plugstack)
			plugstack=${2:?--plugstack FILE}
			[ -r "$plugstack" ] || {
				nmc_msg "--plugstack $plugstack: not readable"
				return 1
			}
			shift 2
			;;
		--preempt)
			preempt=1
			shift
			;;
		*)
			nmc_msg "start: unknown option '$1'"
			return 1
			;;
		esac
	done
	NMC_TIMEOUT=${NMC_TIMEOUT:-60}
	if [ "$(id -u)" -ne 0 ]; then
		nmc_msg "start needs root (slurmd runs as root)"
		return 1
	fi
	local bin
	for bin in munged munge unmunge slurmctld slurmd srun sbatch scontrol sinfo squeue scancel; do
		command -v "$bin" >/dev/null || {
			nmc_msg "'$bin' not found: install munge slurmctld slurmd slurm-client (scripts/deps.sh)"
			return 1
		}
	done
	nmc_paths "$dir" || return 1
	if nmc_pid_is_ours "$(cat "$NMC_RUN/slurmctld.dpid" 2>/dev/null)" ||
		nmc_pid_is_ours "$(cat "$NMC_RUN/slurmd.dpid" 2>/dev/null)" ||
		nmc_pid_is_ours "$(cat "$NMC_RUN/munged.dpid" 2>/dev/null)"; then
		nmc_msg "a cluster is already running in $NMC_DIR (stop it first)"
		return 1
	fi
	t0=$(date +%s.%N)
	mkdir -p "$NMC_DIR" "$NMC_LOG" "$NMC_RUN" "$NMC_DIR/state" \
		"$NMC_DIR/spool" "$NMC_WORK" "$NMC_DIR/tmp" || return 1
	chmod 1777 "$NMC_DIR/tmp"
	# The job user must reach the config, the socket and the work dir.
	chmod 755 "$NMC_DIR" "$NMC_LOG" "$NMC_RUN"
	chmod 1777 "$NMC_WORK"
	rm -rf "$NMC_DIR/state"/* "$NMC_DIR/spool"/*
	nmc_ensure_user || return 1
	cg=$(nmc_detect_cgroup) || return 1
	port=$(nmc_pick_ports) || return 1
	nmc_write_conf "$port" "$cg" "$preempt" "$plugstack" || return 1
	chmod 755 "$NMC_DIR/etc"
	chmod 644 "$NMC_DIR"/etc/*.conf
	echo "$cg" >"$NMC_RUN/cgroup"

	nmc_prepare_net || return 1
	mkdir -p "$NMC_DIR/spool/$NMC_NODE"
	if [ "$cg" = v2 ]; then
		# cgroup/v2 with IgnoreSystemd puts slurmstepd's scope in
		# system.slice, whose children need the controllers.
		if [ ! -d /sys/fs/cgroup/system.slice ]; then
			mkdir /sys/fs/cgroup/system.slice &&
				: >"$NMC_RUN/made-system.slice"
		fi
		local c
		for c in cpuset cpu memory pids; do
			grep -qw $c /sys/fs/cgroup/system.slice/cgroup.subtree_control ||
				echo "+$c" >/sys/fs/cgroup/system.slice/cgroup.subtree_control ||
				nmc_msg "cannot enable the $c controller in /sys/fs/cgroup/system.slice"
		done
	fi
	if ! nmc_start_munge; then
		nmc_log_tails
		nmc_stop "$NMC_DIR"
		return 1
	fi
	NMC_CLUSTER=$NMC_DIR SLURM_CONF=$NMC_CONF setsid slurmctld -D -c -i \
		-f "$NMC_CONF" </dev/null >"$NMC_LOG/slurmctld.out" 2>&1 &
	echo $! >"$NMC_RUN/slurmctld.dpid"
	NMC_CLUSTER=$NMC_DIR SLURM_CONF=$NMC_CONF setsid slurmd -D \
		-N "$NMC_NODE" -f "$NMC_CONF" \
		</dev/null >"$NMC_LOG/slurmd.out" 2>&1 &
	echo $! >"$NMC_RUN/slurmd.dpid"
	if ! nmc_wait_idle; then
		local d
		for d in munged slurmctld slurmd; do
			nmc_pid_is_ours "$(cat "$NMC_RUN/$d.dpid")" ||
				nmc_msg "$d is not running"
		done
		nmc_msg "node state: '$(SLURM_CONF=$NMC_CONF nmc_node_state)'"
		nmc_log_tails
		nmc_stop "$NMC_DIR"
		return 1
	fi
	nmc_msg "cluster up in $NMC_DIR: node $NMC_NODE, ports $port-$((port + 1)), cgroup $cg$([ "$preempt" = 1 ] && echo ", partitions low/high (preemption)"), $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }')"
	export SLURM_CONF=$NMC_CONF
}

# Thaws whatever this cluster froze (so that leftovers can be killed).
nmc_thaw_cgroups() {
	local f
	for f in /sys/fs/cgroup/freezer/slurm_"$NMC_NODE"/freezer.state \
		/sys/fs/cgroup/freezer/slurm_"$NMC_NODE"/*/freezer.state \
		/sys/fs/cgroup/freezer/slurm_"$NMC_NODE"/*/*/freezer.state \
		/sys/fs/cgroup/freezer/slurm_"$NMC_NODE"/*/*/*/freezer.state; do
		[ -f "$f" ] && echo THAWED >"$f" 2>/dev/null
	done
	[ -d /sys/fs/cgroup/system.slice/"${NMC_NODE}"_slurmstepd.scope ] &&
		find /sys/fs/cgroup/system.slice/"${NMC_NODE}"_slurmstepd.scope \
			-name cgroup.freeze -exec sh -c 'echo 0 > "$1"' _ {} \; 2>/dev/null
	return 0
}

# Removes the (empty) cgroup directories this cluster's slurmd made.
nmc_remove_cgroups() {
	local top
	for top in /sys/fs/cgroup/*/slurm_"$NMC_NODE" \
		/sys/fs/cgroup/system.slice/"${NMC_NODE}"_slurmstepd.scope; do
		[ -d "$top" ] || continue
		find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	if [ -f "$NMC_RUN/added-link" ]; then
		ip link del nmc0 2>/dev/null
		rm -f "$NMC_RUN/added-link"
	fi
	if [ -f "$NMC_RUN/added-addr" ]; then
		ip addr del 10.254.254.1/32 dev lo 2>/dev/null
		rm -f "$NMC_RUN/added-addr"
	fi
	if [ -f "$NMC_RUN/made-system.slice" ]; then
		rmdir /sys/fs/cgroup/system.slice 2>/dev/null
		rm -f "$NMC_RUN/made-system.slice"
	fi
	return 0
}

# Kills every remaining process of this cluster; returns 1 if any survive.
nmc_kill_leftovers() {
	local pids left
	pids=$(nmc_our_pids)
	[ -z "$pids" ] && return 0
	nmc_msg "killing leftover processes: ${pids//$'\n'/ }"
	nmc_thaw_cgroups
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null
	sleep 1
	pids=$(nmc_our_pids)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	sleep 0.3
	left=$(nmc_our_pids)
	if [ -n "$left" ]; then
		nmc_msg "processes still alive after SIGKILL: ${left//$'\n'/ }"
		return 1
	fi
}

# nmc_stop DIR: resume suspended jobs, cancel all, stop the daemons.
nmc_stop() {
	local dir=${1:?nmc_stop DIR} d pid pids='' end j rc=0
	nmc_paths "$dir" || return 1
	NMC_TIMEOUT=${NMC_TIMEOUT:-60}
	if [ ! -d "$NMC_RUN" ]; then
		nmc_msg "stop: $NMC_DIR holds no cluster"
		return 0
	fi
	if nmc_pid_is_ours "$(cat "$NMC_RUN/slurmctld.dpid" 2>/dev/null)"; then
		export SLURM_CONF=$NMC_CONF
		# slurmd hangs on shutdown while a job is suspended.
		for j in $(squeue -h -t SUSPENDED -o %i 2>/dev/null); do
			scontrol resume "$j" 2>/dev/null
		done
		for j in $(squeue -h -o %i 2>/dev/null); do
			scancel "$j" 2>/dev/null
		done
		end=$((SECONDS + NMC_TIMEOUT))
		while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do
			if [ $SECONDS -ge $end ]; then
				nmc_msg "stop: jobs still queued after ${NMC_TIMEOUT}s:"
				squeue >&2
				rc=1
				break
			fi
			for j in $(squeue -h -t SUSPENDED -o %i 2>/dev/null); do
				scontrol resume "$j" 2>/dev/null
			done
			sleep 0.2
		done
	fi
	for d in slurmctld slurmd munged; do
		pid=$(cat "$NMC_RUN/$d.dpid" 2>/dev/null)
		nmc_pid_is_ours "$pid" && pids="$pids $pid"
	done
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null
		end=$((SECONDS + 20))
		for pid in $pids; do
			while nmc_pid_is_ours "$pid"; do
				if [ $SECONDS -ge $end ]; then
					nmc_msg "stop: pid $pid ignored SIGTERM for 20s; SIGKILL"
					kill -KILL "$pid" 2>/dev/null
					sleep 0.2
					rc=1
					break
				fi
				sleep 0.1
			done
		done
		# Reap if they are our children (sourced use).
		wait $pids 2>/dev/null
	fi
	nmc_kill_leftovers || rc=1
	nmc_remove_cgroups
	rm -f "$NMC_RUN"/*.dpid
	return $rc
}

nmc_env() {
	nmc_paths "${1:?nmc_env DIR}" || return 1
	printf 'export SLURM_CONF=%q\n' "$NMC_CONF"
	printf 'export NMC_DIR=%q NMC_NODE=%q NMC_WORK=%q\n' \
		"$NMC_DIR" "$NMC_NODE" "$NMC_WORK"
}

nmc_status() {
	local d pid any=0
	nmc_paths "${1:?nmc_status DIR}" || return 1
	for d in munged slurmctld slurmd; do
		pid=$(cat "$NMC_RUN/$d.dpid" 2>/dev/null)
		if nmc_pid_is_ours "$pid"; then
			echo "$d: running, pid $pid"
			any=1
		else
			echo "$d: not running"
		fi
	done
	[ $any = 1 ] && SLURM_CONF=$NMC_CONF sinfo -N 2>&1
	return $((1 - any))
}

# as_user CMD...: runs CMD as the job user in the work dir, with SLURM_CONF
# (su/runuser would drop it) and a HOME it can write.
as_user() {
	if [ -z "${NMC_CONF:-}" ]; then
		nmc_msg "as_user needs a cluster: call nmc_start or nmc_paths DIR first"
		return 1
	fi
	(
		cd "$NMC_WORK" || exit 1
		runuser -u "$NMC_USER" -- env SLURM_CONF="$NMC_CONF" \
			HOME="$NMC_WORK" USER="$NMC_USER" LOGNAME="$NMC_USER" \
			PATH="$PATH" "$@"
	)
}

# ---- job helpers for tests ----------------------------------------------

# nmc_job_field JOB FIELD: e.g. JobState, ExitCode, Partition.
nmc_job_field() {
	scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' |
		sed -n "s/^$2=//p" | head -n 1
}

# nmc_wait_job_state JOB STATE SECONDS: waits until the job is in STATE
# (a regular expression over JobState, e.g. 'RUNNING' or 'COMPLETED|FAILED').
nmc_wait_job_state() {
	local job=$1 want=$2 limit=$3 end st
	end=$((SECONDS + limit))
	while :; do
		st=$(nmc_job_field "$job" JobState)
		if printf '%s\n' "$st" | grep -qxE "$want"; then
			return 0
		fi
		if [ $SECONDS -ge $end ]; then
			nmc_msg "job $job: state '$st' after ${limit}s, wanted /$want/"
			return 1
		fi
		sleep 0.1
	done
}

# nmc_job_pids JOB: pids of every step of the job (scontrol listpids, root).
nmc_job_pids() {
	scontrol listpids "$1" 2>/dev/null |
		awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	cmd=${1:-}
	[ $# -ge 2 ] || {
		echo "usage: $0 start DIR [--plugstack FILE] [--preempt] | stop DIR | env DIR | status DIR" >&2
		exit 2
	}
	shift
	case $cmd in
	start) nmc_start "$@" ;;
	stop) nmc_stop "$@" ;;
	env) nmc_env "$@" ;;
	status) nmc_status "$@" ;;
	*)
		echo "usage: $0 start DIR [--plugstack FILE] [--preempt] | stop DIR | env DIR | status DIR" >&2
		exit 2
		;;
	esac
fi
