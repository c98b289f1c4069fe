#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds with warnings as errors, runs every test (unit, CLI, the
# multi-node NUMA guest tier), the unit tests again under ASan+UBSan, every
# fuzzer for a while, and make distcheck.  Exit status 0 only if all pass.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0
failures=()

stage() { # stage NAME COMMAND...: runs and records one stage
	local name=$1
	shift
	echo
	echo "=== $name ==="
	local t0=$SECONDS
	if "$@"; then
		echo "=== $name: ok ($((SECONDS - t0)) s) ==="
	else
		echo "=== $name: FAILED ($((SECONDS - t0)) s) ==="
		failures+=("$name")
		return 1
	fi
}

# Adds up the automake harness's counts from the logs of one build tree.
# A skipped test counts as failed: every test here must run.
count() {
	local log=$1/test-suite.log p f e s
	[ -f "$log" ] || return 0
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -n 1)
	f=$(sed -n 's/^# FAIL: *//p' "$log" | head -n 1)
	e=$(sed -n 's/^# ERROR: *//p' "$log" | head -n 1)
	s=$(sed -n 's/^# SKIP: *//p' "$log" | head -n 1)
	if [ "${s:-0}" -gt 0 ]; then
		echo "skipped, counted as failed (every test must run here):"
		grep '^SKIP: ' "$log"
	fi
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${s:-0}))
}

build_in() { # build_in DIR CONFIGURE-ARGS...: configure out of tree, make
	local dir=$1
	shift
	mkdir -p "$dir" && (cd "$dir" && "$top/configure" -q "$@" &&
		make -j"$jobs")
}

show_failing_logs() { # show_failing_logs DIR: the failed checks first, then the end
	find "$1" -name '*.log' -path '*tests*' -newer "$1/Makefile" \
		-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
		while read -r log; do
			echo "--- $log: failed checks"
			grep -E '^(FAIL|ERROR)' "$log" | head -n 20
			echo "--- $log: last lines"
			tail -n 40 "$log"
		done
}

timings() { # timings DIR: the slowest tests, and the VM tier's share
	find "$1" -name '*.log' -path '*tests*' -newer "$1/Makefile" \
		-exec grep -H '^wall-seconds: ' {} + 2>/dev/null |
		sed "s|^$1/||; s|\.log:wall-seconds: | |" | sort -k2 -rn |
		awk '{ all += $2; n++ }
		     $1 ~ /^tests\/vm\// || $1 ~ /^tests\/spank\/vm-/ { vm += $2; nvm++ }
		     n <= 10 { rows = rows sprintf("  %7.1f s  %s\n", $2, $1) }
		     END { if (!n) exit
			   printf "slowest tests:\n%s", rows
			   printf "test time: %.0f s in %d tests; VM tier (QEMU guests): %.0f s in %d tests\n", all, n, vm, nvm }'
}

check_in() { # check_in DIR TARGET: make TARGET, show failing logs
	(cd "$1" && make -j"$jobs" "$2") || {
		show_failing_logs "$1"
		return 1
	}
}

# The tarball builds, installs and passes the host tests; the guest tier
# ran from the same sources in "make check" (see Makefile.am: GUEST_TESTS).
distcheck() {
	local host
	host=$(make -s --no-print-directory -C build/ci print-host-tests) &&
		[ -n "$host" ] || return 1
	make -C build/ci -j"$jobs" distcheck TESTS="$host" || {
		show_failing_logs "$(ls -d build/ci/numamigrate-*/_build/sub 2>/dev/null | head -n 1)"
		return 1
	}
}

if ! stage "dependencies" scripts/deps.sh || ! stage "autoreconf" autoreconf -fi
then
	echo "tests: 0 passed, 1 failed"
	exit 1
fi

stage "build (-Werror)" build_in build/ci --enable-werror
stage "make check" check_in build/ci check
count build/ci
timings build/ci

stage "ASan+UBSan build" build_in build/asan --enable-werror --enable-sanitizers
stage "ASan+UBSan check-unit" check_in build/asan check-unit
count build/asan

stage "fuzz build (clang)" build_in build/fuzz CC=clang --enable-werror --enable-fuzzing
# each fuzzer that runs clean counts as a passed test
rm -f build/fuzz/fuzz-*.log
if stage "fuzzing" make -C build/fuzz fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
then passed=$((passed + $(ls build/fuzz/fuzz-*.log | wc -l)))
else failed=$((failed + 1)); fi

stage "make distcheck" distcheck
[ ${#failures[@]} -eq 0 ] || failed=$((failed > 0 ? failed : ${#failures[@]}))

echo
if [ ${#failures[@]} -ne 0 ]; then
	echo "failed stages: ${failures[*]}"
fi
echo "tests: $passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ] && [ "$failed" -eq 0 ]
