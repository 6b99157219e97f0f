#!/bin/sh
# Run every test: unit binaries (no root), then the integration suite (root,
# real BPF). Adds up their closing lines and prints one:
#   N passed, N failed, N skipped
# Usage: tests/run.sh [FILTER]   (FILTER: a substring of test names)
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-.output}
filter=${1:-}
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

add() {	# add the closing line of the output in $log
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $1: no closing line (crashed?)"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
}

for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "== unit: $(basename "$t")"
	"$t" $filter >"$log" 2>&1
	grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$log"
	add "$(basename "$t")"
done

# the pure tests need neither root nor BPF: as an unprivileged user too
if [ -z "$filter" ] && [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	echo "== pure tests as uid 65534 (docs, help, man page, command-line refusals)"
	setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		/usr/bin/python3 tests/integration/run.py --pure 2>&1 | tee "$log" |
		grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	add pure-unprivileged
fi

echo "== integration"
python3 tests/integration/run.py $filter 2>&1 | tee "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
add integration

# the static build is what an SRE copies to a host: it passes the same suite
if [ -z "$filter" ] && [ -x ./leaktrace-static ]; then
	echo "== integration, static build (./leaktrace-static)"
	LEAKTRACE="$PWD/leaktrace-static" LEAKTRACE_SUITE_NAME=static \
		python3 tests/integration/run.py 2>&1 | tee "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	add integration-static
fi

if [ -z "$filter" ] || [ "$filter" = vm ]; then
	# the VM subset on this host's kernel too (fentry and kprobe hooks skip
	# here, each with leaktrace's one-line refusal as the reason)
	echo "== vm subset on the host kernel"
	tests/vm/host_checks.sh 2>&1 | tee "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	add vm-host

	echo "== vm (Debian 6.1 under qemu TCG)"
	tests/vm/run.sh 2>&1 | tee "$log" | grep -v -E '^[0-9]+ passed, [0-9]+ failed'
	add vm
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
