#!/bin/sh
# Install what leaktrace needs to build and test, on Debian/Ubuntu. Idempotent.
# golang-go is for the tests only: they read pprof output with `go tool pprof`.
# libmicrohttpd-dev: the --serve HTTP server. prometheus (with promtool) is for
# the tests only: tests/integration/test_serve.py scrapes --serve's /metrics
# with a Prometheus server of its own, on a free loopback port.
# redis-server and redis-tools are for the tests and the benchmark only:
# --inject is tested and measured on Debian's redis-server (jemalloc) under
# redis-benchmark, each run on a free loopback port of its own.
# --if-missing: do nothing (not even apt-get update) when everything is there.
set -eu

PKGS="clang llvm libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev libcapstone-dev \
pkg-config make gcc g++ libc6-dev python3 util-linux libjemalloc2 libtcmalloc-minimal4 binutils \
libzstd-dev liblzma-dev libbz2-dev busybox-static qemu-system-x86 golang-go \
libmicrohttpd-dev prometheus gdb redis-server redis-tools"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# bpftool's package name differs on older Ubuntu (linux-tools-*); accept any bpftool on PATH.
if command -v bpftool >/dev/null 2>&1; then
	missing=$(echo "$missing" | sed 's/ bpftool//')
fi

if [ -z "$missing" ]; then
	[ "${1:-}" = "--if-missing" ] && exit 0
	echo "install-deps: everything is installed"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The prometheus package enables and starts a service on :9090; the tests do
# not use it. Stop the one this script just installed (not one already there).
case " $missing " in
*" prometheus "*)
	if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet prometheus 2>/dev/null; then
		systemctl disable --now prometheus >/dev/null 2>&1 || true
	fi
	;;
esac
