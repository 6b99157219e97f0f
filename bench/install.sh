#!/bin/sh
# Bench-only peers: bpftrace, bcc's memleak (bpfcc-tools) and the kernel
# headers memleak compiles against. Run by bench/run.sh only when
# BENCH_INSTALL=1 (it changes the system: apt packages and the
# /lib/modules/$(uname -r)/build and source symlinks). Idempotent.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/install.sh: must run as root" >&2
	exit 1
fi

missing=""
for p in bpftrace bpfcc-tools linux-headers-amd64; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "bench/install.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# memleak-bpfcc compiles its BPF C against /lib/modules/$(uname -r)/build
# (generated headers, .config) and .../source (the rest). This kernel ships no
# headers package: point both where Debian's own linux-headers-*-amd64 points
# its /lib/modules/VER-amd64/build and source (enough for memleak: README, "Performance").
kdir=/lib/modules/$(uname -r)
if [ ! -e "$kdir/build/include/generated" ] || [ ! -e "$kdir/source/include/linux/kconfig.h" ]; then
	hdr=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$hdr" ]; then
		echo "bench/install.sh: no /usr/src/linux-headers-*-amd64 after installing linux-headers-amd64" >&2
		exit 1
	fi
	ver=${hdr#/usr/src/linux-headers-}
	src=$(readlink -f "/lib/modules/$ver/source" 2>/dev/null || true)
	[ -n "$src" ] && [ -d "$src" ] || src=${hdr%-amd64}-common
	mkdir -p "$kdir"
	ln -sfn "$hdr" "$kdir/build"
	ln -sfn "$src" "$kdir/source"
	echo "bench/install.sh: $kdir/build -> $hdr, source -> $src"
fi
