#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# /init of the test VM (busybox). Mounts what leaktrace needs, runs
# /vm/vmtests.sh with the serial console as stdout, powers off.
export PATH=/bin:/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf
# shellcheck disable=SC3045	# busybox sh has ulimit -l
ulimit -l unlimited
hostname vmtest
# loopback: fdleak connects TCP sockets to itself
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
[ -f /vm/env ] && . /vm/env
export SCALE IN_VM
echo "VMINFO kernel $(uname -r); $(grep -c ^processor /proc/cpuinfo) cpu(s);" \
	"BTF $([ -e /sys/kernel/btf/vmlinux ] && echo yes || echo no)"
echo "VMINFO $(/bin/leaktrace --version 2>&1 | head -n 1)"
sh /vm/vmtests.sh 2>&1
sync
poweroff -f
