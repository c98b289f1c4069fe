#!/bin/bash
# Runs inside the 4-node guest (see vm-install.test), as an administrator
# would on a compute node: install the three Debian packages from DEBDIR
# with dpkg -i (DKMS builds the module for this kernel), load the module,
# enable the plugin with the packaged plugstack.conf.d snippet, run the
# demo's Slurm job move (tests/spank/vm-move-guest.sh) against the
# installed daemon, CLI and plugin only, then purge the packages and check
# nothing is left: no process, no module, no files.
#
#   vm-install-guest.sh DEBDIR VERSION
#
# Exit: 0 pass, 1 fail, 99 hard error.
set -u
DEBS=${1:?DEBDIR}
NM_VERSION=${2:?VERSION}
: "${top_srcdir:?}" "${top_builddir:?}"
KVER=$(uname -r)
SPANKDIR=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null ||
	echo x86_64-linux-gnu)/slurm-wlm
PKGS=(numamigrate numamigrate-dkms slurm-wlm-numamigrate-plugin)
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
hard_error() { echo "ERROR (hard): $*"; exit 99; }
# elapsed START: seconds since START ($SECONDS)
elapsed() { echo $((SECONDS - $1)); }

for p in "${PKGS[@]}"; do
	ls "$DEBS/${p}_${NM_VERSION}_"*.deb >/dev/null 2>&1 ||
		hard_error "$DEBS has no $p $NM_VERSION package"
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed &&
		hard_error "$p is already installed in the guest"
done
[ -d "/lib/modules/$KVER/build" ] ||
	hard_error "no kernel headers for the guest's kernel $KVER (linux-headers-amd64)"
# The guest's root is the host's under a tmpfs overlay: dpkg writes there.
# man-db's trigger would re-index every page of the host over 9p, which
# takes minutes under TCG and tests nothing of ours (buildds skip it too).
rm -f /var/lib/man-db/auto-update

# ---- install ----------------------------------------------------------------
t=$SECONDS
if DEBIAN_FRONTEND=noninteractive dpkg -i "$DEBS"/*_"$NM_VERSION"_*.deb \
	>"/tmp/dpkg-install.log" 2>&1; then
	ok "dpkg -i ${PKGS[*]} ($(elapsed $t) s, DKMS build included)"
else
	cat /tmp/dpkg-install.log
	fail "dpkg -i failed"
	exit 1
fi
grep -E 'Building|DKMS|dkms' /tmp/dpkg-install.log
dkms status numamigrate 2>/dev/null | grep -q "numamigrate/$NM_VERSION, $KVER, .*: installed" &&
	ok "dkms: numamigrate/$NM_VERSION installed for $KVER" ||
	fail "dkms status: $(dkms status numamigrate 2>&1)"
modinfo -F version numamigrate >/dev/null 2>&1 ||
	fail "modinfo numamigrate: the module is not in /lib/modules/$KVER"
modinfo -n numamigrate 2>/dev/null | grep -q "/updates/dkms/" ||
	fail "numamigrate.ko is not DKMS's: $(modinfo -n numamigrate 2>&1)"
if grep -q '^numamigrate ' /proc/modules && [ -c /dev/numamigrate ]; then
	ok "the package loaded the module: /dev/numamigrate"
else
	fail "the module is not loaded after dpkg -i: $(dmesg | tail -n 3)"
fi
[ -f /usr/lib/modules-load.d/numamigrate.conf ] ||
	fail "no modules-load.d entry: the module would not load at boot"
[ -d /run/numamigrate ] || fail "/run/numamigrate not created (tmpfiles)"
dpkg-query -W -f='${Conffiles}\n' numamigrate | grep -q ' /etc/numamigrate.conf ' ||
	fail "/etc/numamigrate.conf is not a conffile"
[ "$(numamigrate --version)" = "numamigrate $NM_VERSION" ] &&
	[ "$(numamigrated --version)" = "numamigrated $NM_VERSION" ] &&
	ok "numamigrate and numamigrated --version: $NM_VERSION" ||
	fail "versions: '$(numamigrate --version)', '$(numamigrated --version)', package $NM_VERSION"
for page in numamigrate.1 numamigrated.8 numamigrate.conf.5 numamigrate-spank.8; do
	man -w "${page%.*}" 2>/dev/null | grep -q "/${page}.gz$" ||
		fail "man ${page%.*}: not installed"
done
grep -q '^#optional ' /etc/slurm/plugstack.conf.d/numamigrate.conf &&
	! grep -q '^optional' /etc/slurm/plugstack.conf.d/numamigrate.conf ||
	fail "the plugstack.conf.d snippet is not installed disabled"

# ---- enable the plugin, move the demo's job ---------------------------------------
sed -i 's/^#optional /optional /' /etc/slurm/plugstack.conf.d/numamigrate.conf
t=$SECONDS
# Nothing of the build tree on PATH; the guest's own variables (NUMA_VM)
# stay.
env PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	top_srcdir="$top_srcdir" top_builddir="$top_builddir" \
	NMC_TIMEOUT="${NMC_TIMEOUT:-120}" NMS_KEEP="${NMS_KEEP:-0}" \
	NUMAMIGRATE=/usr/bin/numamigrate NUMAMIGRATED=/usr/sbin/numamigrated \
	NM_SPANK_PLUGIN="$SPANKDIR/numamigrate.so" NM_VERSION="$NM_VERSION" \
	NMS_LIB_EXTRA="$top_srcdir/tests/install/installed.sh" \
	bash "$top_srcdir/tests/spank/vm-move-guest.sh"
rc=$?
case $rc in
0) ok "the demo's job move with the installed packages ($(elapsed $t) s)" ;;
99) hard_error "the job move test could not run (above)" ;;
*) fail "the demo's job move with the installed packages: exit $rc" ;;
esac

# ---- remove ------------------------------------------------------------------------
t=$SECONDS
if DEBIAN_FRONTEND=noninteractive dpkg --purge "${PKGS[@]}" \
	>/tmp/dpkg-purge.log 2>&1; then
	ok "dpkg --purge ($(elapsed $t) s)"
else
	cat /tmp/dpkg-purge.log
	fail "dpkg --purge failed"
fi
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' &&
		fail "$p is still installed"
done
left=
for p in numamigrated slurmd slurmctld slurmstepd; do
	left+=$(pgrep -a -x "$p")
done
[ -z "$left" ] && ok "nothing left running" || fail "still running: $left"
grep -qw '^numamigrate' /proc/modules && fail "the module is still loaded" ||
	ok "the module is unloaded"
for f in /usr/bin/numamigrate /usr/sbin/numamigrated /etc/numamigrate.conf \
	/lib/systemd/system/numamigrated.service \
	/etc/systemd/system/multi-user.target.wants/numamigrated.service \
	"$SPANKDIR/numamigrate.so" /etc/slurm/plugstack.conf.d/numamigrate.conf \
	"/usr/src/numamigrate-$NM_VERSION" "/var/lib/dkms/numamigrate" \
	"/lib/modules/$KVER/updates/dkms/numamigrate.ko"; do
	[ -e "$f" ] && fail "left behind: $f"
done
[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
