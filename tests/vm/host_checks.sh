#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run the VM test subset (tests/vm/vmtests.sh) on this host's own kernel,
# as root, without qemu: the same targets and checks as `make vmtest`.
#
#   tests/vm/host_checks.sh [NAME...]     (after: make leaktrace-static targets)
#
# Host mode differs in one way: a --hooks fentry/kprobe test whose leaktrace
# refuses the hook with exit status 1 and one stderr line is skipped with
# that line as the reason (tests/integration/test_timers.py checks those
# refusals); anything else is a failure. Timeouts are not scaled (SCALE=1).
# Prints one line per test and "N passed, N failed, N skipped"; exit status
# 1 if any test failed. Environment: OUTPUT (.output), LEAKTRACE_STATIC
# (./leaktrace-static), SCALE (1).
set -u
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
LT=${LEAKTRACE_STATIC:-./leaktrace-static}
dir=$OUTPUT/vm/host
mkdir -p "$dir"
TESTS=$(sh tests/vm/vmtests.sh --list)
[ $# -gt 0 ] && TESTS="$*"

skip_all() {
	for t in $TESTS; do
		echo "SKIP host.$t: $*"
	done
	echo "0 passed, 0 failed, $(echo "$TESTS" | wc -w) skipped"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip_all "not root"
[ -x "$LT" ] || skip_all "$LT not built (make leaktrace-static)"
if ! cc -O2 -Wall -o "$dir/vmcheck" tests/vm/vmcheck.c -lm 2>"$dir/vmcheck.log"; then
	cat "$dir/vmcheck.log"
	skip_all "cannot build tests/vm/vmcheck.c"
fi

# shellcheck disable=SC2086	# TESTS are words
IN_VM=0 LT=$LT T=tests/targets VMCHECK=$dir/vmcheck SRC=tests/targets SCALE=${SCALE:-1} \
	WORK=$dir/work STACKPROBE=/nonexistent sh tests/vm/vmtests.sh $TESTS >"$dir/vm.log" 2>&1

pass=0 fail=0 skip=0
for t in $TESTS; do
	line=$(grep -E "^VMTEST (PASS|FAIL|SKIP) $t(:|\$)" "$dir/vm.log" | tail -n 1)
	case $line in
	"VMTEST PASS $t")
		echo "PASS host.$t"
		pass=$((pass + 1))
		;;
	"VMTEST SKIP $t"*)
		echo "SKIP host.${line#VMTEST SKIP }"
		skip=$((skip + 1))
		;;
	"VMTEST FAIL $t"*)
		echo "FAIL host.${line#VMTEST FAIL }"
		sed -n "s/^VMLOG $t: /    | /p" "$dir/vm.log"
		fail=$((fail + 1))
		;;
	*)
		echo "FAIL host.$t: no result (see $dir/vm.log)"
		fail=$((fail + 1))
		;;
	esac
done
sed -n 's/^VMINFO /    info: /p' "$dir/vm.log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
