#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The tests that run inside the VM (busybox sh, no python). tests/vm/run.sh
# puts this file, vmcheck, the static leaktrace and the targets into the
# initramfs; /init runs it with IN_VM=1. It also runs on the host's own
# kernel (host mode, IN_VM unset): tests/vm/host_checks.sh [NAME...], or
#   LT=./leaktrace-static T=tests/targets VMCHECK=.output/vm/vmcheck \
#   SRC=tests/targets SCALE=1 sh tests/vm/vmtests.sh [NAME...]
# In host mode a --hooks fentry/kprobe test whose leaktrace refuses the hook
# with exit status 1 and one stderr line is skipped, with that line as the
# reason (test_timers.py checks the refusal itself); in the VM it fails.
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
# VM_TARGETS in tests/vm/run.sh (its shared libraries are copied for it),
# and its name to VM_SOURCES there if the test needs its LEAK marker lines
# (marker_line MARKER NAME).
#   sh vmtests.sh --list      prints the names of TESTS
set -u

TESTS="leaker_exact caller_frame jemalloc sigkill_cleanup threads
timers_fentry timers_kprobe timers_tracepoint
timers_exec_fentry timers_exec_kprobe timers_exec_tracepoint
fp_caller_frame uretprobe_pending
dwarf_leaker_nofp dwarf_leaker dwarf_threads dwarf_uretprobe_pending
fds_fentry fds_kprobe fds_tracepoint
fds_exec_fentry fds_exec_kprobe fds_exec_tracepoint
fds_dwarf_nofp mmap sample"

LT=${LT:-/bin/leaktrace}
T=${T:-/t}
VMCHECK=${VMCHECK:-/bin/vmcheck}
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
STACKPROBE=${STACKPROBE:-/bin/stackprobe}	# optional: tests/vm/stackprobe.c
LIBC=${LIBC:-/usr/lib/x86_64-linux-gnu/libc.so.6}
SCALE=${SCALE:-10}		# qemu TCG is about 10x slower
WORK=${WORK:-/tmp/vmtests}
IN_VM=${IN_VM:-0}		# 1 inside the VM (from /vm/env); else host mode
# Line numbers of the /* LEAK:<marker> */ comments in the targets' sources.
# run.sh writes them to $T/NAME.lines (marker=line); on the host they come
# from SRC/NAME.c.
SRC=${SRC:-}

if [ "${1:-}" = "--list" ]; then
	# shellcheck disable=SC2086	# one line
	echo $TESTS
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

marker_line() {	# marker_line MARKER [TARGET]: line of /* LEAK:MARKER */ in TARGET.c (leaker)
	if [ -n "$SRC" ]; then
		grep -n "/\* LEAK:$1 \*/\$" "$SRC/${2:-leaker}.c" | cut -d: -f1
	else
		sed -n "s/^$1=//p" "$T/${2:-leaker}.lines"
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

start_target() {	# start_target DIR NAME [PRELOAD [ARGS]]: sets tpid; 1 on failure
	# shellcheck disable=SC2086	# ARGS are words
	if [ -n "${3:-}" ]; then
		LD_PRELOAD=$3 "$T/$2" ${4:-} >"$1/t.out" 2>"$1/t.err" </dev/null &
	else
		"$T/$2" ${4:-} >"$1/t.out" 2>"$1/t.err" </dev/null &
	fi
	tpid=$!
	if ! waitfor "$1/t.out" '^READY' "$TARGET_T" "$tpid"; then
		why="target $2 printed no READY line"
		cat "$1/t.err" >>"$1/diag"
		return 1
	fi
	return 0
}

start_tracer() {	# start_tracer DIR ARGS...: sets lpid; 1 if not ready (lrc: its exit status)
	d=$1
	shift
	lrc=""
	"$LT" "$@" >"$d/lt.out" 2>"$d/lt.err" </dev/null &
	lpid=$!
	if ! waitfor "$d/lt.err" '^leaktrace: ready' "$READY_T" "$lpid"; then
		if alive "$lpid"; then
			why="leaktrace printed no 'leaktrace: ready' within ${READY_T} s"
		else
			wait "$lpid"
			lrc=$?
			why="leaktrace exited with status $lrc before it was ready"
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
# trace DIR NAME [PRELOAD [TARGET_ARGS [LEAKTRACE_ARGS...]]]; the report is
# DIR/lt.out, the target's maps after DONE DIR/maps.
trace() {
	_d=$1 _n=$2 _p=${3:-} _a=${4:-}
	shift 2
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	rm -rf "$_d"
	mkdir -p "$_d"
	start_target "$_d" "$_n" "$_p" "$_a" || return 1
	start_tracer "$_d" -p "$tpid" --format json -T 0 "$@" 60 || return 1
	set -- "$_d" "$_n"
	kill -USR1 "$tpid"
	if ! waitfor "$1/t.out" '^DONE' "$TARGET_T" "$tpid"; then
		why="target $2 printed no DONE after SIGUSR1"
		cat "$1/t.err" >>"$1/diag"
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

# ---------------------------------------------------------------- threads

# threads: 7 live from spawn_forever, 5 exited-unjoined from spawn_unjoined;
# the joined, detached and pre-attach ones are not reported.
t_threads() {
	d=$WORK/threads dir=$WORK/threads
	trace "$d" threads "" "" --track threads || return 1
	why=""
	if ! "$VMCHECK" threads "$d/lt.out" threads threads.c 7 5 \
		"spawn_forever:7:0:run_forever:$(marker_line spawn_forever threads)" \
		"spawn_unjoined:0:5:run_unjoined:$(marker_line spawn_unjoined threads)" \
		>"$d/check" 2>&1; then
		why=$(head -n 1 "$d/check")
		cat "$d/check" >>"$d/diag"
		return 1
	fi
}

# ---------------------------------------------------------------- timers

# Was the hook refused the way a kernel without it refuses it: status 1,
# one stderr line? Host mode only; in the VM every hook must work.
hook_refused() {	# hook_refused DIR HOOK
	[ "$IN_VM" != 1 ] && [ "$2" != tracepoint ] && [ "${lrc:-}" = 1 ] &&
		[ "$(grep -c . "$1/lt.err")" -eq 1 ]
}

# After a failed attach in the VM: the same attach with -vvv (libbpf and the
# verifier log) into DIR/diag, the last lines of it.
vvv_log() {	# vvv_log DIR HOOK
	[ -n "${lrc:-}" ] && [ -n "${tpid:-}" ] && alive "$tpid" || return 0
	timeout $((READY_T + 10)) "$LT" -vvv -p "$tpid" --track timers --hooks "$2" --once 1 \
		>/dev/null 2>"$1/vvv.err" </dev/null
	echo "--- leaktrace -vvv --hooks $2 (exit status $?), last lines:" >>"$1/diag"
	tail -n 30 "$1/vvv.err" >>"$1/diag"
}

# The timer set (test_timers.py) with one --hooks HOW; HOOKS is how the
# report's "hooks" field must start.
timers_hook() {	# timers_hook HOW HOOKS
	d=$WORK/timers_$1 dir=$WORK/timers_$1
	if ! trace "$d" timers "" "" --track timers --hooks "$1"; then
		if hook_refused "$d" "$1"; then
			why="host kernel refuses --hooks $1 (expected; test_timers.py checks it): $(grep . "$d/lt.err")"
			return 2
		fi
		vvv_log "$d" "$1"
		return 1
	fi
	why=""
	if ! "$VMCHECK" timers "$d/lt.out" timers timers.c 36 "$2" \
		"leak_timerfd_periodic:25:timerfd:25:1000000000:$(marker_line leak_timerfd_periodic timers)" \
		"leak_timerfd_oneshot:4:timerfd:0:0:$(marker_line leak_timerfd_oneshot timers)" \
		"leak_posix_periodic:7:posix:7:1000000000:$(marker_line leak_posix_periodic timers)" \
		>"$d/check" 2>&1; then
		why=$(head -n 1 "$d/check")
		cat "$d/check" >>"$d/diag"
		return 1
	fi
}

# timers --exec: 3 CLOEXEC periodic timerfds, then exec: none stays open.
timers_exec_hook() {	# timers_exec_hook HOW HOOKS
	d=$WORK/timers_exec_$1 dir=$WORK/timers_exec_$1
	if ! trace "$d" timers "" --exec --track timers --hooks "$1"; then
		if hook_refused "$d" "$1"; then
			why="host kernel refuses --hooks $1 (expected; test_timers.py checks it): $(grep . "$d/lt.err")"
			return 2
		fi
		vvv_log "$d" "$1"
		return 1
	fi
	why=""
	if ! "$VMCHECK" timers "$d/lt.out" timers timers.c 0 "$2" >"$d/check" 2>&1; then
		why="after exec: $(head -n 1 "$d/check")"
		cat "$d/check" >>"$d/diag"
		return 1
	fi
}

t_timers_fentry() { timers_hook fentry "fentry on timerfd_release"; }
t_timers_kprobe() { timers_hook kprobe "kprobe on timerfd_release"; }
t_timers_tracepoint() { timers_hook tracepoint "tracepoints: "; }
t_timers_exec_fentry() { timers_exec_hook fentry "fentry on timerfd_release"; }
t_timers_exec_kprobe() { timers_exec_hook kprobe "kprobe on timerfd_release"; }
t_timers_exec_tracepoint() { timers_exec_hook tracepoint "tracepoints: "; }

# ---------------------------------------------------------------- fds

# fdleak's fd leaks (tests/integration/test_fds.py): FUNC:OPEN:KINDS:LINE.
fds_specs() {	# fds_specs: one spec per leaking function
	for f in leak_files:12:file=12 leak_tcp_clients:7:tcp=7 leak_tcp_accepted:7:tcp=7 \
		leak_pipes:10:pipe=10 leak_eventfds:4:eventfd=4 leak_dup:2:file=2; do
		echo "$f:$(marker_line "${f%%:*}" fdleak)"
	done
}

# The fd set with one --hooks HOW; HOOKS is how the report's "hooks" field
# must start. The same 42 fds at the same lines under every hook.
fds_hook() {	# fds_hook HOW HOOKS
	d=$WORK/fds_$1 dir=$WORK/fds_$1
	if ! trace "$d" fdleak "" "" --track fds --hooks "$1"; then
		if hook_refused "$d" "$1"; then
			why="host kernel refuses --hooks $1 (expected; test_fds.py checks it): $(grep . "$d/lt.err")"
			return 2
		fi
		vvv_log "$d" "$1"
		return 1
	fi
	why=""
	# shellcheck disable=SC2046	# one word per spec
	if ! "$VMCHECK" fds "$d/lt.out" fdleak fdleak.c 42 "$2" $(fds_specs) >"$d/check" 2>&1; then
		why=$(head -n 1 "$d/check")
		cat "$d/check" >>"$d/diag"
		return 1
	fi
}

# fdleak --exec: 3 CLOEXEC files and 2 without, then exec: no tracked fd stays.
fds_exec_hook() {	# fds_exec_hook HOW HOOKS
	d=$WORK/fds_exec_$1 dir=$WORK/fds_exec_$1
	if ! trace "$d" fdleak "" --exec --track fds --hooks "$1"; then
		if hook_refused "$d" "$1"; then
			why="host kernel refuses --hooks $1 (expected; test_fds.py checks it): $(grep . "$d/lt.err")"
			return 2
		fi
		vvv_log "$d" "$1"
		return 1
	fi
	why=""
	if ! "$VMCHECK" fds "$d/lt.out" fdleak fdleak.c 0 "$2" >"$d/check" 2>&1; then
		why="after exec: $(head -n 1 "$d/check")"
		cat "$d/check" >>"$d/diag"
		return 1
	fi
}

# filp_close on 6.1; filp_flush on kernels that have it (close(2) calls it directly)
t_fds_fentry() { fds_hook fentry "fentry on filp_"; }
t_fds_kprobe() { fds_hook kprobe "kprobe on filp_"; }
t_fds_tracepoint() { fds_hook tracepoint "tracepoints: "; }
t_fds_exec_fentry() { fds_exec_hook fentry "fentry on filp_"; }
t_fds_exec_kprobe() { fds_exec_hook kprobe "kprobe on filp_"; }
t_fds_exec_tracepoint() { fds_exec_hook tracepoint "tracepoints: "; }

# fdleak_nofp (no frame pointers) with --stacks dwarf --mmap: the fd and mmap
# stacks are walked from the syscalls' saved registers with the tables (no
# wrapper probes): the same counts at the same lines, whole stacks to main.
t_fds_dwarf_nofp() {
	d=$WORK/fds_dwarf dir=$WORK/fds_dwarf
	trace "$d" fdleak_nofp "" "" --track fds,mmap --stacks dwarf || return 1
	why=""
	r=$d/lt.out
	# shellcheck disable=SC2046	# one word per spec
	vmcheck_all "$d" "fds $r fdleak_nofp fdleak.c 42 - $(fds_specs | tr '\n' ' ')" \
		"mmap $r fdleak_nofp fdleak.c 6316032 9 leak_mmap_big:6291456:6:$(marker_line leak_mmap_big fdleak) leak_mmap_partial:24576:3:$(marker_line leak_mmap_partial fdleak)" \
		"whole $r fds fdleak_nofp leak_files,main" \
		"whole $r fds fdleak_nofp leak_tcp_accepted,main" \
		"whole $r mmap fdleak_nofp leak_mmap_partial,main"
}

# --mmap (frame pointers): 6 x 1 MiB, and 3 x 4 pages with 2 pages of each unmapped.
t_mmap() {
	d=$WORK/mmap dir=$WORK/mmap
	trace "$d" fdleak "" "" --track mmap || return 1
	why=""
	r=$d/lt.out
	vmcheck_all "$d" "mmap $r fdleak fdleak.c 6316032 9 leak_mmap_big:6291456:6:$(marker_line leak_mmap_big fdleak) leak_mmap_partial:24576:3:$(marker_line leak_mmap_partial fdleak)"
}

# Sampled mode (--sample, 4 seeds) on sampleleak at a tenth of its counts:
# on 6.1 (no uprobe sessions) through entry and return probes, whose
# return exits early for an unsampled call. Every run within the binomial
# model's bounds, no site that does not leak, the means within 3 SE
# (vmcheck sample; tests/integration/test_sample.py is the full-size test).
SAMPLE_RATE=8192
SAMPLE_SPECS=leak_kb:1000:1000,leak_100k:10:102400,leak_64:100:64,leak_1m:5:1048576,leak_24:2000:24
t_sample() {
	d=$WORK/sample dir=$WORK/sample
	rm -rf "$d"
	mkdir -p "$d"
	reps=""
	for seed in 1 2 3 4; do
		"$LT" -v -c "$T/sampleleak 10" --sample "$SAMPLE_RATE" --sample-seed "$seed" --format json -T 0 \
			--track mem --stacks fp >"$d/lt$seed.out" 2>"$d/lt.err" </dev/null &
		lpid=$!
		waitpid_t "$lpid" "$READY_T"
		rc=$?
		lpid=""
		if [ "$rc" -ne 0 ]; then
			why="leaktrace -c sampleleak --sample-seed $seed: exit status $rc"
			return 1
		fi
		reps="$reps $d/lt$seed.out"
	done
	if [ "$IN_VM" = 1 ] && ! grep -q "with return probes (no uprobe sessions here)" "$d/lt.err"; then
		why="-v does not say the sampled probes are return probes on this kernel"
		return 1
	fi
	# shellcheck disable=SC2086	# the reports are words
	vmcheck_all "$d" "sample $SAMPLE_RATE sampleleak $SAMPLE_SPECS $reps"
}

# ---------------------------------------------------------------- caller frame

# One shared run of fpalloc (its own allocator in the executable) for
# fp_caller_frame and uretprobe_pending; all three trackers.
fp_state=""
fp_run() {
	if [ -z "$fp_state" ]; then
		if trace "$WORK/fpalloc" fpalloc; then
			fp_state=ok
		else
			fp_state="$why"
		fi
		cleanup
	fi
	[ "$fp_state" = ok ] && return 0
	why="fpalloc run: $fp_state"
	return 1
}

vmcheck_all() {	# vmcheck_all DIR "ARGS"...: every vmcheck must pass; output in DIR/$t.check
	_cd=$1 _cf=$1/$t.check
	shift
	: >"$_cf"
	for _c in "$@"; do
		# shellcheck disable=SC2086	# ARGS are words
		if ! "$VMCHECK" $_c >"$_cd/one" 2>&1; then
			# the reason: the last line that is neither a detail nor a stack title
			why="${why:+$why; }${_c%% *}: $(grep -v -e '^ ' -e '^[a-z]* site [0-9]*.*:$' \
				"$_cd/one" | tail -n 1)"
			echo "--- failed: vmcheck $_c" >>"$_cf"
		fi
		cat "$_cd/one" >>"$_cf"
	done
	cat "$_cf" >>"$_cd/diag"
	[ -z "$why" ]
}

# fpalloc's malloc starts with push %rbp: the kernel adds the caller to the
# stack at the entry probe, leaktrace must not add it again. stack[0] is the
# leaking function exactly once, stack[1] its caller run_set; exact bytes.
# posix_memalign is probed at a je (leaktrace adds [rsp] itself), and calls
# malloc; realloc(NULL, n) calls malloc: one block each, the outer call's.
t_fp_caller_frame() {
	dir=$WORK/fpalloc
	fp_run || return 1
	why=""
	r=$WORK/fpalloc/lt.out
	vmcheck_all "$dir" \
		"site $r fpalloc fp_leak 3 963" \
		"site $r fpalloc fp_memalign_leak 2 2000" \
		"site $r fpalloc fp_realloc_leak 2 444" \
		"site $r fpalloc fp_pending 1 77" \
		"absent $r memory fpalloc fp_freed" \
		"top $r fpalloc fp_leak fpalloc.c $(marker_line fp_leak fpalloc)" \
		"top $r fpalloc fp_memalign_leak fpalloc.c $(marker_line fp_memalign_leak fpalloc)" \
		"top $r fpalloc fp_realloc_leak fpalloc.c $(marker_line fp_realloc_leak fpalloc)" \
		"stack $r memory fpalloc fp_leak,run_set,main" \
		"stack $r memory fpalloc fp_memalign_leak,run_set,main" \
		"stack $r memory fpalloc fp_realloc_leak,run_set,main" \
		"stack $r memory fpalloc fp_pending,run_set,main" || return 1
	grep -A 3 '^memory site 1' "$dir/$t.check" | head -n 4 | sed 's/^/VMINFO fp_caller_frame: /'
}

# Stacks taken while a return probe is pending: fpalloc's malloc, called
# from fp_pending, creates a timerfd and a thread (start_trim) while its
# uretprobe has replaced malloc's return address with the [uprobes]
# trampoline. No frame of any site is in [uprobes]; those stacks start at
# start_trim, malloc, and go on to fp_pending, run_set, main unless the site
# is flagged truncated.
t_uretprobe_pending() {
	dir=$WORK/fpalloc
	fp_run || return 1
	why=""
	r=$WORK/fpalloc/lt.out
	vmcheck_all "$dir" \
		"frames $r $dir/maps" \
		"threads $r fpalloc fpalloc.c 1 0 start_trim:1:0:trim_thread:$(marker_line start_trim_thread fpalloc)" \
		"timers $r fpalloc fpalloc.c 1 - start_trim:1:timerfd:1:1000000000:$(marker_line start_trim_timer fpalloc)" \
		"stack $r threads fpalloc start_trim,malloc/fp_pending,run_set,main" \
		"stack $r timers fpalloc start_trim,malloc/fp_pending,run_set,main" || return 1
	sed -n '/^threads site 1/,/^timers site 1/p' "$dir/$t.check" | grep -v '^timers' |
		sed 's/^/VMINFO uretprobe_pending: /'
	grep '^[0-9]* frames of' "$dir/$t.check" | sed 's/^/VMINFO uretprobe_pending: /'
}

# ---------------------------------------------------------------- --stacks dwarf

# Every leaking function of leaker.c: "func allocs bytes" (LEAKER_EXPECT in
# tests/integration/harness.py, and grow_origin's block grown to 4447 B).
LEAKER_ALL="leak_malloc:3:3003 leak_calloc:4:1332 grow_origin:1:4447
leak_realloc_null:2:2474 leak_reallocarray:2:2674 leak_posix_memalign:3:4500
leak_aligned_alloc:2:3328 leak_memalign:3:5280 leak_valloc:2:3600
leak_pvalloc:2:3800 leak_realloc_fail_orig:1:1234 thread_first_malloc:10:23450"

# The callers a leaking function's stack must go through to its outermost
# frame: main (run_all is inlined into it), or the thread's own routine.
dwarf_path() {	# dwarf_path FUNC
	case $1 in
	grow_origin) echo grow_origin,leak_realloc_grow,main ;;
	thread_first_malloc) echo thread_first_malloc,thread_main ;;
	*) echo "$1,main" ;;
	esac
}

# What leaktrace -v said about the unwind tables: VMINFO lines, and the
# walk mode of the target must be .eh_frame (--stacks dwarf).
dwarf_info() {	# dwarf_info DIR
	sed -n 's/^leaktrace: unwind: /VMINFO '"$t"': /p' "$1/lt.err"
	if ! grep -q '^leaktrace: unwind: pid [0-9]*: stacks walked with .eh_frame tables' \
		"$1/lt.err"; then
		why="no 'leaktrace: unwind: pid N: stacks walked with .eh_frame tables' line in leaktrace -v"
		return 1
	fi
}

# leaker (leaker_nofp: -O2 -fomit-frame-pointer; leaker: frame pointers)
# with --stacks dwarf: the stacks are walked in BPF with the .eh_frame
# tables. Every leaking function: exact allocs and bytes, stack[0] itself at
# its LEAK line, and each of its sites not truncated (the walk reached _start,
# or clone3 for the threads), through main (thread_main for the threads);
# none of the freed_ functions.
dwarf_leaker() {	# dwarf_leaker EXE
	e=$1 d=$WORK/dwarf_$1 dir=$WORK/dwarf_$1
	trace "$d" "$e" "" "" -v --stacks dwarf || return 1
	why=""
	dwarf_info "$d" || return 1
	r=$d/lt.out
	set --
	for spec in $LEAKER_ALL; do
		f=${spec%%:*} n=${spec#*:}
		set -- "$@" "site $r $e $f ${n%:*} ${n#*:}" \
			"top $r $e $f leaker.c $(marker_line "$f")" \
			"whole $r memory $e $(dwarf_path "$f")"
	done
	for f in freed_malloc freed_calloc freed_pin_hold freed_realloc freed_realloc_zero \
		freed_realloc_null freed_reallocarray freed_posix_memalign freed_aligned_alloc \
		freed_memalign freed_valloc freed_pvalloc freed_thread_malloc; do
		set -- "$@" "absent $r memory $e $f"
	done
	vmcheck_all "$d" "$@" || return 1
	# two of the stacks, for the record
	for f in leak_malloc,main thread_first_malloc,thread_main; do
		"$VMCHECK" whole "$r" memory "$e" "$f" | sed -n '2,/^memory site 2/p' |
			grep '^    ' | sed "s/^/VMINFO $t: /"
	done
}

t_dwarf_leaker_nofp() { dwarf_leaker leaker_nofp; }
t_dwarf_leaker() { dwarf_leaker leaker; }

# threads with --stacks dwarf: the thread stacks are taken in pthread_create
# (libc, walked with its .eh_frame table). The counts of t_threads, and each
# site of spawn_forever and spawn_unjoined not truncated, through main.
t_dwarf_threads() {
	d=$WORK/dwarf_threads dir=$WORK/dwarf_threads
	trace "$d" threads "" "" -v --track threads --stacks dwarf || return 1
	why=""
	dwarf_info "$d" || return 1
	r=$d/lt.out
	f=spawn_forever:7:0:run_forever:$(marker_line spawn_forever threads)
	u=spawn_unjoined:0:5:run_unjoined:$(marker_line spawn_unjoined threads)
	vmcheck_all "$d" "threads $r threads threads.c 7 5 $f $u" \
		"whole $r threads threads spawn_forever,main" \
		"whole $r threads threads spawn_unjoined,main" || return 1
	"$VMCHECK" whole "$r" threads threads spawn_forever,main | sed -n '2,/^threads site 2/p' |
		grep '^    ' | sed "s/^/VMINFO $t: /"
}

# fpalloc with --stacks dwarf: start_trim runs inside fpalloc's malloc while
# malloc's return probe is pending, so its thread's and its timer's creation
# stacks pass through the uretprobe trampoline. The walker takes the real
# return address from the task's return instances: both stacks are whole,
# through malloc and fp_pending to main, and so is fp_pending's own block.
t_dwarf_uretprobe_pending() {
	d=$WORK/dwarf_fpalloc dir=$WORK/dwarf_fpalloc
	trace "$d" fpalloc "" "" -v --stacks dwarf || return 1
	why=""
	dwarf_info "$d" || return 1
	r=$d/lt.out
	vmcheck_all "$d" "site $r fpalloc fp_pending 1 77" \
		"whole $r threads fpalloc start_trim,malloc,fp_pending,run_set,main" \
		"whole $r timers fpalloc start_trim,malloc,fp_pending,run_set,main" \
		"whole $r memory fpalloc fp_pending,run_set,main" || return 1
	"$VMCHECK" whole "$r" threads fpalloc start_trim,malloc,fp_pending,run_set,main |
		sed -n '2,/^threads site 2/p' | grep '^    ' | sed "s/^/VMINFO $t: /"
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

# Not a test either: with a return probe pending on fpalloc's malloc, does
# the kernel's stack at start_trim (called from that malloc) hold the
# [uprobes] trampoline instead of malloc's return address into fp_pending?
info_pending_stack() {
	[ -x "$STACKPROBE" ] || return 0
	d=$WORK/pstack
	rm -rf "$d"
	mkdir -p "$d"
	start_target "$d" fpalloc || { cleanup; return 0; }
	"$STACKPROBE" "$tpid" "$TARGET_T" "ret:$T/fpalloc:malloc" "$T/fpalloc:start_trim" \
		>"$d/sp.out" 2>&1 &
	spid=$!
	waitfor "$d/sp.out" '^attached|cannot' "$READY_T" "$spid"
	kill -USR1 "$tpid"
	wait "$spid"
	sed 's/^/VMINFO pending_stack: /' "$d/sp.out"
	cleanup
}

info_kernel_stack
info_pending_stack
# shellcheck disable=SC2086	# one line
echo "VMTEST PLAN" $TESTS
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
