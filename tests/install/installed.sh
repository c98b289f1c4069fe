# Sourced by tests/spank/lib.sh when NMS_LIB_EXTRA names it (see
# tests/install/vm-install-guest.sh): the SPANK tests' daemon and cluster,
# as the Debian packages installed them.  numamigrated is started with
# its unit's ExecStart= line and the packaged /etc/numamigrate.conf (no
# systemd in the guest: this does what systemd would, RuntimeDirectory=
# included); the cluster loads the plugin through Slurm's own
# /etc/slurm/plugstack.conf, which includes the packaged snippet.
UNIT=/lib/systemd/system/numamigrated.service
SOCK=/run/numamigrate/numamigrated.sock
PLUGSTACK=/etc/slurm/plugstack.conf

nms_start_daemon() {
	local cmd
	cmd=$(sed -n 's/^ExecStart=//p' "$UNIT")
	[ -n "$cmd" ] || hard_error "no ExecStart= in $UNIT"
	case $cmd in
	/usr/sbin/numamigrated\ *) ;;
	*) hard_error "$UNIT runs '$cmd', not the installed /usr/sbin/numamigrated" ;;
	esac
	install -d -m 0755 /run/numamigrate
	echo "starting the unit's command: $cmd"
	# shellcheck disable=SC2086  # the unit's words, as systemd splits them
	$cmd >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 200); do
		"$NUMAMIGRATE" status --socket "$SOCK" >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/  log: /' "$T/daemon.log"
	hard_error "the installed numamigrated did not start"
}

nms_start_cluster() {
	grep -q '^include /etc/slurm/plugstack.conf.d/\*\.conf' "$PLUGSTACK" ||
		hard_error "$PLUGSTACK does not include plugstack.conf.d/*.conf"
	CLUSTER=$T/c
	NMC_DEBUG=${NMC_DEBUG:-debug} nmc_start "$CLUSTER" \
		--plugstack "$PLUGSTACK" || {
		CLUSTER=
		hard_error "the Slurm cluster could not start; see the messages above"
	}
	SLURMD_LOG=$CLUSTER/log/slurmd.log
	if wait_for 30 grep -q "numamigrate ${NM_VERSION:?}: plugin loaded" \
		"$SLURMD_LOG"; then
		ok "slurmd loaded plugin version $NM_VERSION from the packaged snippet"
	else
		fail "slurmd's log has no 'numamigrate $NM_VERSION: plugin loaded'"
	fi
}
