#!/bin/bash
# distro.sh: a Debian release other than the host's, as a root file system
# that tests/vm/numa-vm can boot (--distro NAME), and the project built
# for it inside that root, so that the SPANK plugin and the daemon match
# that release's Slurm, OpenMPI, PMIx and munge.
#
#   scripts/distro.sh NAME            prints the root, made once with debootstrap
#   scripts/distro.sh NAME --build    also (re)builds this source tree in it
#                                     and prints the build tree's path
#                                     inside the root
#
# NAME: trixie (Debian 13: Slurm 24.11, OpenMPI 5, PMIx 5).  The root is
# ROOT=$NUMAMIGRATE_DISTROS/NAME/root (default /var/cache/numamigrate/
# distros); the build tree is /var/build/numamigrate-HASH inside it (HASH:
# of the source tree's path, so that several trees share one root),
# configured against this source tree at its own path (bound into the root
# while it builds, shared at the same path in the guest).
# Exit: 0 ok, 1 failure (one line on stderr), 2 bad arguments.
set -u -o pipefail
prog=distro.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	echo "$prog: $*; usage: $prog trixie [--build]" >&2
	exit 2
}

name=${1:-}
build=0
case ${2:-} in
--build) build=1 ;;
'') ;;
*) usage "unknown argument '$2'" ;;
esac
case $name in
trixie) ;;
'') usage "no release named" ;;
*) usage "unknown release '$name' (known: trixie)" ;;
esac
(($(id -u) == 0)) || die "needs root (debootstrap, chroot)"

# What the root holds: the runtime the tests use, and what the project
# needs to build (scripts/deps.sh's list, as that release names it).
packages=(
	# runtime: Slurm, munge, MPI, NUMA tools, what the guest's init needs
	slurmd slurmctld slurm-client munge openmpi-bin numactl hwloc kmod
	busybox-static procps iproute2 util-linux passwd python3 psmisc
	# build
	autoconf automake autoconf-archive libtool pkg-config make gcc
	libnuma-dev libhwloc-dev libjansson-dev libcmocka-dev libinih-dev
	libmunge-dev libslurm-dev libopenmpi-dev libpmix-dev nettle-dev
)

top=$(cd "$(dirname "$0")/.." && pwd -P) || die "cannot find the source tree"
cache=${NUMAMIGRATE_DISTROS:-/var/cache/numamigrate/distros}
dir=$cache/$name
root=$dir/root
key="$name ${packages[*]}"

mkdir -p "$dir" || die "cannot create $dir (set NUMAMIGRATE_DISTROS)"
exec {lockfd}>>"$dir/.lock" || die "cannot open $dir/.lock"
flock -w 3600 "$lockfd" || die "timed out waiting for $dir/.lock"

if [[ $(cat "$dir/root.key" 2>/dev/null) != "$key" ]]; then
	command -v debootstrap >/dev/null || die "debootstrap not found (scripts/deps.sh installs it)"
	echo "$prog: building the $name root in $root (debootstrap, about a minute)" >&2
	rm -rf "$root" "$dir/root.key"
	list=$(
		IFS=,
		echo "${packages[*]}"
	)
	if ! debootstrap --variant=minbase --include="$list" "$name" "$root" \
		http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1; then
		tail -n 5 "$dir/debootstrap.log" >&2
		die "debootstrap $name failed (see $dir/debootstrap.log)"
	fi
	# Packages' downloads are not needed once installed.
	rm -rf "$root"/var/cache/apt/archives/*.deb
	echo "$key" >"$dir/root.key"
fi

if ((build == 0)); then
	echo "$root"
	exit 0
fi

# Build this tree inside the root, the test programs included (make
# check with no tests).  The source is bound read-only at its
# own path; the build tree lives in the root.  Mounts are private to this
# process (unshare) and go away with it.
bdir=/var/build/numamigrate-$(printf '%s' "$top" | sha256sum | cut -c1-12)
# The root's autotools may differ from the host's: the generated files
# come from the host (autoreconf, or the host build's make) and must be
# current, since the source is read-only in the root.
[[ -x $top/configure ]] || die "$top/configure is missing: run autoreconf -fi first"
stale=$(find "$top" -maxdepth 3 \( -name 'Makefile.am' -o -name '*.am' -o -name configure.ac \) \
	-newer "$top/Makefile.in" -not -path '*/build/*' -print -quit)
[[ -z $stale ]] || die "$stale is newer than $top/Makefile.in: run make in a host build (or autoreconf -fi) first"
mkdir -p "$root$top" "$root$bdir" || die "cannot create directories in $root"
echo "$prog: building $top for $name in $root$bdir" >&2
# shellcheck disable=SC2016 # expanded inside the new mount namespace
if ! unshare -m bash -c '
	root=$1 top=$2 bdir=$3
	mount --bind "$top" "$root$top" && mount -o remount,bind,ro "$root$top" &&
		mount -t proc proc "$root/proc" || exit 1
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		bash -c "cd $bdir && { [ -f Makefile ] || $top/configure -q --enable-werror; } &&
			nice -n 10 make -j2 && nice -n 10 make -j2 check TESTS="
' build "$root" "$top" "$bdir" >"$dir/build.log" 2>&1; then
	tail -n 20 "$dir/build.log" >&2
	die "building the project in the $name root failed (see $dir/build.log)"
fi
echo "$bdir"
