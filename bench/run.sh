#!/bin/sh
# Overhead benchmark (`make bench`): see bench/bench.py and bench/README-section.md.
#   BENCH_INSTALL=1  first install bpftrace, bcc (memleak-bpfcc) and kernel headers
#   BENCH_PAIRS=N    malloc+free pairs per thread per run (default 200000)
#   BENCH_RUNS=N     runs per mode and thread count (default 3)
#   BENCH_SKIP=LIST  modes to leave out, comma-separated (e.g. bcc,memory)
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: must run as root (uprobes, /proc/PID/mem)" >&2
	exit 1
fi
if [ "${BENCH_INSTALL:-0}" = 1 ]; then
	bench/install.sh
fi
[ -x ./leaktrace ] || make --no-print-directory leaktrace
make --no-print-directory -C bench
python3 bench/bench.py "$@" || exit
case ",${BENCH_SKIP:-}," in
*,fds,*) ;;
*) python3 bench/fds.py ;;
esac
# --inject: the workload and redis-server, untraced vs in-process sampling vs BPF sampling
case ",${BENCH_SKIP:-}," in
*,inject,*) ;;
*) python3 bench/inject_bench.py ;;
esac
# the Go figures: a 100,000-goroutine snapshot, a 30,000-bucket Go heap, --go-ancestry per new goroutine
make --no-print-directory go-targets
exec python3 bench/go_bench.py
