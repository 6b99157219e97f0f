#!/bin/sh
# make demo: run the bundled leaky service under leaktrace for ~8 s.
# Reports every 3 s, then a final report when the demo exits.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: leaktrace needs root (CAP_BPF, CAP_PERFMON); run: sudo make demo" >&2
	exit 1
fi
echo "demo: ./leaktrace -c 'examples/demo 8' -T 3 3"
exec ./leaktrace -c 'examples/demo 8' -T 3 3
