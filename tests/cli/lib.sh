# Shared by the CLI tests: run numamigrate, check exit status and output.
set -u
: "${NUMAMIGRATE:?run through make check}"
: "${TESTDATA:?run through make check}"
fails=0
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# expect STATUS DESCRIPTION -- ARGS...: runs numamigrate ARGS
expect() {
	local want=$1 what=$2 rc
	shift 3
	"$NUMAMIGRATE" "$@" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, wanted $want: numamigrate $*"
		sed 's/^/  stdout: /' "$out" | head -n 20
		sed 's/^/  stderr: /' "$err"
		fails=$((fails + 1))
		return 1
	fi
	echo "ok: $what"
}

# the last command's stderr is one line containing TEXT
stderr_is_one_line_with() {
	if [ "$(wc -l <"$err")" -ne 1 ] || ! grep -qF -- "$1" "$err"; then
		echo "FAIL: stderr should be one line with '$1':"
		sed 's/^/  stderr: /' "$err"
		fails=$((fails + 1))
	fi
}

stdout_has() {
	if ! grep -qE -- "$1" "$out"; then
		echo "FAIL: stdout lacks /$1/:"
		sed 's/^/  stdout: /' "$out" | head -n 40
		fails=$((fails + 1))
	fi
}

# jq-free JSON field check through python3's json module
json_check() {
	if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$out" 2>/dev/null; then
		echo "FAIL: JSON check failed: $1"
		head -c 2000 "$out" | sed 's/^/  stdout: /'
		fails=$((fails + 1))
	fi
}

finish() {
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	exit 0
}
