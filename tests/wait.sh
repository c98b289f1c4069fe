# Polling for the shell tests (sourced).

# wait_for SECONDS CMD...: runs CMD (its output dropped) every 0.1 s until
# it succeeds; 1 when SECONDS pass first.  CMD is run anew each time, so a
# condition on a count must be a command (lines_at_least), not a "$(...)"
# argument, which the shell would expand once, before the first try.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# lines_at_least N ERE FILE: FILE has at least N lines matching ERE.
lines_at_least() {
	[ "$(grep -cE -- "$2" "$3" 2>/dev/null)" -ge "$1" ]
}
