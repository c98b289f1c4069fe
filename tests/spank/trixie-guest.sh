#!/bin/bash
# Runs inside a Debian 13 guest (see trixie.test): the given SPANK plugin
# tests, one after another, against the project as built in that root.
# Usage: trixie-guest.sh TOP_SRCDIR TOP_BUILDDIR TEST...
# Exit: 99 if any test had a hard error, else 1 if any failed, else 0.
set -u
export top_srcdir=$1 top_builddir=$2
shift 2
hard=0 failed=0
for t in "$@"; do
	echo "=== $t"
	t0=$SECONDS
	bash "$top_srcdir/tests/spank/$t"
	r=$?
	echo "=== $t: exit $r ($((SECONDS - t0)) s)"
	case $r in
	0) ;;
	99) hard=1 ;;
	*) failed=1 ;;
	esac
done
((hard)) && exit 99
((failed)) && exit 1
exit 0
