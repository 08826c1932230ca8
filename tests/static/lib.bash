# Shared by the checks of the built tree (tests/static/*.sh): TAP lines and their count.
passed=0 failed=0

# check DESC CMD...: "ok - DESC" when CMD succeeds, else "not ok - DESC".
check() {
	local desc=$1
	shift
	if "$@"; then
		echo "ok - $desc"
		passed=$((passed + 1))
	else
		echo "not ok - $desc"
		failed=$((failed + 1))
	fi
}

# static_finish: the totals, and the status (non-zero after any failure).
static_finish() {
	echo "# $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
