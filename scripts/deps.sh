#!/bin/bash
# Installs the Debian 12 packages numamigrate needs to build and test, if any
# are missing.  Sourced or run by scripts/test.sh and scripts/demo.sh.
set -euo pipefail

packages=(
	# build
	autoconf automake autoconf-archive libtool pkg-config make gcc
	clang libclang-rt-14-dev
	libnuma-dev numactl hwloc libhwloc-dev libjansson-dev libcmocka-dev
	libinih-dev util-linux passwd
	libmunge-dev munge libslurm-dev nettle-dev
	python3
	# the manual pages and the systemd unit checked (tests/man, tests/install)
	groff-base man-db systemd
	# the Debian packages (debian/) and their installed-system test
	dpkg-dev debhelper dh-dkms dkms fakeroot lintian
	# the multi-node NUMA guest (tests/vm) and the kernel module
	qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static
	# newer kernels from Debian's archive (scripts/kernels.sh): BTF for 6.12 modules
	dwarves
	# a Debian 13 root for the VM tier's second stack (scripts/distro.sh)
	debootstrap
	cpio xz-utils zstd
	# checkpatch.pl for kmod/ (tests/kmod/checkpatch.test)
	linux-source-6.1 perl
	# a real Slurm cluster with MPI for the integration tests
	slurmctld slurmd slurm-client openmpi-bin libopenmpi-dev libpmix-dev
	# the plots of scripts/bench.sh
	gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "numamigrate: installing Debian packages: ${missing[*]}"
sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "numamigrate: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
