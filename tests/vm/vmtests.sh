#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The tests that run inside the VM (busybox sh, no python). tests/vm/run.sh
# puts this file, vmcheck, the static leaktrace and the targets into the
# initramfs; /init runs it. It also runs on the host for debugging:
#   LT=./leaktrace-static T=tests/targets VMCHECK=.output/vm/vmcheck \
#   SRC=tests/targets SCALE=1 sh tests/vm/vmtests.sh [NAME...]
#
# Prints, one line each:
#   VMTEST PLAN name...          first: the tests that will run
#   VMTEST PASS name
#   VMTEST FAIL name: reason     (details follow as "VMLOG name: ..." lines)
#   VMTEST SKIP name: reason
#   VMTEST END
#
# Adding a test: write t_NAME (return 0 pass, 1 fail, 2 skip; put the reason
# in $why), add NAME to TESTS below, and add any new target binary to
# VM_TARGETS in tests/vm/run.sh (its shared libraries are copied for it).
# Hook for later: threads and timers targets (t_threads, t_timers).
#   sh vmtests.sh --list      prints the names of TESTS
set -u

TESTS="leaker_exact caller_frame jemalloc sigkill_cleanup"

LT=${LT:-/bin/leaktrace}
T=${T:-/t}
VMCHECK=${VMCHECK:-/bin/vmcheck}
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
STACKPROBE=${STACKPROBE:-/bin/stackprobe}	# optional: tests/vm/stackprobe.c
LIBC=${LIBC:-/usr/lib/x86_64-linux-gnu/libc.so.6}
SCALE=${SCALE:-10}		# qemu TCG is about 10x slower
WORK=${WORK:-/tmp/vmtests}
# Line numbers of the /* LEAK:<marker> */ comments in leaker.c. run.sh
# writes them to $T/leaker.lines (marker=line); on the host they come from SRC.
SRC=${SRC:-}

if [ "${1:-}" = "--list" ]; then
	echo "$TESTS"
	exit 0
fi
[ $# -gt 0 ] && TESTS="$*"

READY_T=$((30 * SCALE))		# leaktrace attach
TARGET_T=$((10 * SCALE))	# target READY / DONE
STOP_T=$((20 * SCALE))		# leaktrace exit after a signal
SETTLE_DS=$((2 * SCALE))	# pause after DONE, in tenths of a second

why=""
mkdir -p "$WORK"

log() {	# log NAME FILE: the file's lines as "VMLOG NAME: ..." (last 40)
	[ -f "$2" ] || return 0
	tail -n 40 "$2" | sed "s/^/VMLOG $1: /"
}

marker_line() {	# marker_line MARKER
	if [ -n "$SRC" ]; then
		grep -n "/\* LEAK:$1 \*/\$" "$SRC/leaker.c" | cut -d: -f1
	else
		sed -n "s/^$1=//p" "$T/leaker.lines"
	fi
}

alive() {	# alive PID: running, not a zombie
	[ -d /proc/"$1" ] && ! grep -q '^State:[[:space:]]*Z' /proc/"$1"/status 2>/dev/null
}

waitfor() {	# waitfor FILE REGEX SECONDS [PID]: 0 once a line of FILE matches
	n=$(($3 * 10))	# 1 after SECONDS, or as soon as PID is gone
	while [ "$n" -gt 0 ]; do
		grep -q -E "$2" "$1" 2>/dev/null && return 0
		[ -n "${4:-}" ] && ! alive "$4" && ! grep -q -E "$2" "$1" 2>/dev/null && return 1
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

waitpid_t() {	# waitpid_t PID SECONDS: exit status of PID (a child), or 124 on timeout
	n=$(($2 * 10))
	while [ "$n" -gt 0 ] && alive "$1"; do
		sleep 0.1
		n=$((n - 1))
	done
	alive "$1" && return 124
	wait "$1"
}

start_target() {	# start_target DIR NAME [PRELOAD]: sets tpid; 1 on failure
	if [ -n "${3:-}" ]; then
		LD_PRELOAD=$3 "$T/$2" >"$1/t.out" 2>"$1/t.err" </dev/null &
	else
		"$T/$2" >"$1/t.out" 2>"$1/t.err" </dev/null &
	fi
	tpid=$!
	if ! waitfor "$1/t.out" '^READY' "$TARGET_T" "$tpid"; then
		why="target $2 printed no READY line"
		cat "$1/t.err" >>"$1/diag"
		return 1
	fi
	return 0
}

start_tracer() {	# start_tracer DIR ARGS...: sets lpid; 1 if not ready
	d=$1
	shift
	"$LT" "$@" >"$d/lt.out" 2>"$d/lt.err" </dev/null &
	lpid=$!
	if ! waitfor "$d/lt.err" '^leaktrace: ready' "$READY_T" "$lpid"; then
		if alive "$lpid"; then
			why="leaktrace printed no 'leaktrace: ready' within ${READY_T} s"
		else
			wait "$lpid"
			why="leaktrace exited with status $? before it was ready"
		fi
		kill -9 "$lpid" 2>/dev/null
		return 1
	fi
	return 0
}

cleanup() {	# kill what a test left running
	for p in ${lpid:-} ${tpid:-}; do
		kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	lpid="" tpid=""
}

# The standard flow: target, attach, SIGUSR1, DONE, settle, SIGINT, final report.
# trace DIR NAME [PRELOAD]; the report is DIR/lt.out.
trace() {
	rm -rf "$1"
	mkdir -p "$1"
	start_target "$1" "$2" "${3:-}" || return 1
	start_tracer "$1" -p "$tpid" --format json -T 0 60 || return 1
	kill -USR1 "$tpid"
	if ! waitfor "$1/t.out" '^DONE' "$TARGET_T" "$tpid"; then
		why="target $2 printed no DONE after SIGUSR1"
		return 1
	fi
	sleep "$((SETTLE_DS / 10)).$((SETTLE_DS % 10))"
	if ! alive "$tpid"; then
		why="target $2 died while traced"
		return 1
	fi
	cat /proc/"$tpid"/maps >"$1/maps" 2>/dev/null
	kill -INT "$lpid"
	waitpid_t "$lpid" "$STOP_T"
	rc=$?
	lpid=""
	if [ "$rc" -ne 0 ]; then
		why="leaktrace exit status after SIGINT: expected 0, got $rc"
		return 1
	fi
	return 0
}

# One shared run of leaker for leaker_exact and caller_frame.
leaker_state=""
leaker_run() {
	if [ -z "$leaker_state" ]; then
		if trace "$WORK/leaker" leaker; then
			leaker_state=ok
		else
			leaker_state="$why"
		fi
		cleanup
	fi
	[ "$leaker_state" = ok ] && return 0
	why="leaker run: $leaker_state"
	return 1
}

check_sites() {	# check_sites REPORT EXE "func allocs bytes"...: all must match
	rep=$1 exe=$2 bad=0
	shift 2
	for spec in "$@"; do
		# shellcheck disable=SC2086
		if ! "$VMCHECK" site "$rep" "$exe" $spec >>"$(dirname "$rep")/diag" 2>&1; then
			bad=$((bad + 1))
			why="${why:+$why; }$(echo $spec | cut -d' ' -f1) wrong"
		fi
	done
	return "$bad"
}

# leaker under glibc: exact bytes and allocs (from tests/integration/harness.py).
t_leaker_exact() {
	dir=$WORK/leaker
	leaker_run || return 1
	why=""
	check_sites "$WORK/leaker/lt.out" leaker "leak_malloc 3 3003" "leak_calloc 4 1332" \
		"thread_first_malloc 10 23450" || return 1
}

# stack[0] of leak_malloc is leak_malloc itself at the LEAK:leak_malloc line:
# the caller of malloc (push %r12, no frame of its own) is taken from [rsp].
t_caller_frame() {
	dir=$WORK/leaker
	leaker_run || return 1
	line=$(marker_line leak_malloc)
	if [ -z "$line" ]; then
		why="no LEAK:leak_malloc line number"
		return 1
	fi
	if ! "$VMCHECK" top "$WORK/leaker/lt.out" leaker leak_malloc leaker.c "$line" \
		>"$WORK/leaker/top" 2>&1; then
		why=$(grep -v '^ \|^site ' "$WORK/leaker/top" | head -n 1)
		cat "$WORK/leaker/top" >>"$WORK/leaker/diag"
		return 1
	fi
	# the stack, for the record
	sed -n '1,5s/^/VMINFO caller_frame: /p' "$WORK/leaker/top"
}

# leaker_nopvalloc under LD_PRELOAD=libjemalloc.so.2 (jemalloc's malloc at +7).
t_jemalloc() {
	if [ ! -e "$JEMALLOC" ]; then
		why="$JEMALLOC not in the VM"
		return 2
	fi
	d=$WORK/jemalloc dir=$WORK/jemalloc
	trace "$d" leaker_nopvalloc "$JEMALLOC" || { cleanup; return 1; }
	cleanup
	why=""
	if ! grep -q libjemalloc "$d/maps"; then
		why="libjemalloc is not mapped in the target: LD_PRELOAD did not take effect"
		return 1
	fi
	check_sites "$d/lt.out" leaker_nopvalloc "leak_malloc 3 3003" "leak_calloc 4 1332" \
		"leak_posix_memalign 3 4500" "leak_aligned_alloc 2 3328" \
		"thread_first_malloc 10 23450" || return 1
}

# SIGKILL of leaktrace leaves no probe behind: while traced every addr= of
# `leaktrace -v` holds int3, after the kill the original byte is back, and
# the target still runs.
t_sigkill_cleanup() {
	d=$WORK/sigkill dir=$WORK/sigkill
	rm -rf "$d"
	mkdir -p "$d"
	start_target "$d" leaker || { cleanup; return 1; }
	"$VMCHECK" snap "$tpid" "$d/snap" >>"$d/diag" 2>&1
	start_tracer "$d" -v -p "$tpid" --format json -T 0 60 || { cleanup; return 1; }
	sleep 1
	if ! "$VMCHECK" probes "$tpid" "$d/snap" "$d/lt.err" cc >"$d/cc" 2>&1; then
		why="while traced: $(head -n 1 "$d/cc")"
		cat "$d/cc" >>"$d/diag"
		cleanup
		return 1
	fi
	kill -9 "$lpid"
	waitpid_t "$lpid" "$STOP_T"
	lpid=""
	n=$((2 * SCALE * 10))	# RESTORE_WAIT of test_cleanup.py, in tenths
	while :; do
		"$VMCHECK" probes "$tpid" "$d/snap" "$d/lt.err" orig >"$d/orig" 2>&1 && break
		n=$((n - 1))
		if [ "$n" -le 0 ]; then
			why="after SIGKILL: $(head -n 1 "$d/orig")"
			cat "$d/orig" >>"$d/diag"
			cleanup
			return 1
		fi
		sleep 0.1
	done
	kill -USR1 "$tpid"
	if ! waitfor "$d/t.out" '^DONE' "$TARGET_T" "$tpid" || ! alive "$tpid"; then
		why="the target did not run on after leaktrace was killed"
		cleanup
		return 1
	fi
	cleanup
	grep -E '^leaktrace: (attaching|tracepoints|ready)' "$d/lt.err" | cat - "$d/cc" "$d/orig" |
		sed 's/^/VMINFO sigkill_cleanup: /'
}

# Not a test: what this kernel's user stacks hold at a function entry. Does
# it add the immediate caller for push %rbp functions (leak_malloc) and for
# the others (glibc malloc, push %r12)? Printed as VMINFO lines.
info_kernel_stack() {
	[ -x "$STACKPROBE" ] || return 0
	d=$WORK/stack
	rm -rf "$d"
	mkdir -p "$d"
	start_target "$d" leaker || { cleanup; return 0; }
	"$STACKPROBE" "$tpid" "$TARGET_T" "$T/leaker:leak_malloc" "$LIBC:malloc" \
		>"$d/sp.out" 2>&1 &
	spid=$!
	waitfor "$d/sp.out" '^attached|cannot' "$READY_T" "$spid"
	kill -USR1 "$tpid"
	wait "$spid"
	sed 's/^/VMINFO kernel_stack: /' "$d/sp.out"
	cleanup
}

info_kernel_stack
echo "VMTEST PLAN $TESTS"
for t in $TESTS; do
	why="" dir=""
	"t_$t"
	rc=$?
	cleanup
	case $rc in
	0) echo "VMTEST PASS $t" ;;
	2) echo "VMTEST SKIP $t: $why" ;;
	*)
		echo "VMTEST FAIL $t: ${why:-failed}"
		if [ -n "$dir" ]; then
			log "$t" "$dir/diag"
			log "$t" "$dir/lt.err"
		fi
		;;
	esac
done
echo "VMTEST END"
