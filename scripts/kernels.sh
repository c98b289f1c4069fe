#!/bin/bash
# kernels.sh: fetch a Debian kernel that is not the host's own (image,
# modules, headers, kbuild) and unpack it into a cache outside the source
# tree, without installing it on the host, so that tests/vm/numa-vm can
# boot it (--kernel SERIES) and the module can be built against it.
#
#   scripts/kernels.sh [SERIES]    SERIES: 6.12 (default, bookworm-backports),
#                                  5.10 (bullseye)
#
# Prints the unpacked root (ROOT/boot/vmlinuz-VER, ROOT/lib/modules/VER,
# ROOT/usr/src/linux-headers-VER) on stdout.  Cache: $NUMAMIGRATE_KERNELS
# (default /var/cache/numamigrate/kernels); a second call is a no-op.
# Exit: 0 ok, 1 failure (one line on stderr), 2 bad arguments.
set -u -o pipefail
prog=kernels.sh

die() {
	echo "$prog: $*" >&2
	exit 1
}

series=${1:-6.12}
# Debian names a kernel VERSION-amd64 (6.12.N+deb12-amd64, 5.10.0-N-amd64);
# PATTERN matches VERSION's first part; bullseye's kbuild package is named
# by the series, later ones by the whole version.
case $series in
6.12) suite=bookworm-backports pattern='6\.12\.[0-9]*+deb12' kbuild_name= ;;
5.10) suite=bullseye pattern='5\.10\.0-[0-9]*' kbuild_name=5.10 ;;
*)
	echo "$prog: unknown kernel series '$series' (known: 6.12, 5.10)" >&2
	exit 2
	;;
esac

cache=${NUMAMIGRATE_KERNELS:-/var/cache/numamigrate/kernels}
dir=$cache/$series
root=$dir/root

ready() {
	[[ -s $dir/version ]] || return 1
	local v
	v=$(<"$dir/version")
	[[ -r $root/boot/vmlinuz-$v && -s $root/lib/modules/$v/modules.dep &&
		-f $root/usr/src/linux-headers-$v/Makefile ]]
}
if ready; then
	echo "$root"
	exit 0
fi

mkdir -p "$dir" || die "cannot create $dir (set NUMAMIGRATE_KERNELS)"
exec {lockfd}>>"$cache/.lock" || die "cannot open $cache/.lock"
flock -w 1800 "$lockfd" || die "timed out waiting for $cache/.lock"
if ready; then
	echo "$root"
	exit 0
fi

# A private apt configuration: Debian's archive for $suite only, its own
# lists and package cache, so the host's own apt state is not touched.
apt=$dir/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" || die "cannot create $apt"
echo "deb http://deb.debian.org/debian $suite main" >"$apt/sources.list"
A=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
	-o APT::Sandbox::User=root)
echo "$prog: fetching the $series kernel from $suite into $dir" >&2
apt-get "${A[@]}" -qq update >"$dir/apt.log" 2>&1 ||
	die "apt-get update for $suite failed (see $dir/apt.log)"
# The newest linux-image-<PATTERN>-amd64-unsigned.
v=$(apt-cache "${A[@]}" pkgnames linux-image- 2>/dev/null |
	sed -n "s/^linux-image-\(${pattern}-amd64\)-unsigned\$/\1/p" |
	sort -V | tail -n 1)
[[ -n $v ]] || die "no linux-image-$series.*-amd64-unsigned in $suite"
base=${v%-amd64}
kbuild=linux-kbuild-${kbuild_name:-$base}
pkgs=("linux-image-$v-unsigned" "linux-headers-$v" "linux-headers-$base-common" "$kbuild")
debs=$dir/debs
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root" || die "cannot create $debs"
(cd "$debs" && apt-get "${A[@]}" -qq download "${pkgs[@]}") >>"$dir/apt.log" 2>&1 ||
	die "apt-get download ${pkgs[*]} failed (see $dir/apt.log)"
for d in "$debs"/*.deb; do
	dpkg-deb -x "$d" "$root" || die "cannot unpack $d"
done
# The headers' Makefile includes the common tree by its installed path.
sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/linux-headers-$v/Makefile" ||
	die "cannot adapt $root/usr/src/linux-headers-$v/Makefile"
# The image package leaves modules.dep to its postinst (depmod).
depmod -b "$root" "$v" || die "depmod for $v failed"
[[ -r $root/boot/vmlinuz-$v ]] || die "no boot/vmlinuz-$v in the image package"
[[ -f $root/usr/src/linux-headers-$v/Makefile ]] || die "no headers for $v"
# The packages' downloads are not needed once unpacked.
rm -rf "$debs" "$apt/cache/archives"
echo "$v" >"$dir/version"
echo "$prog: $series kernel $v ready in $root" >&2
echo "$root"
