#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run tests/vm/vmtests.sh on Debian's 6.1 cloud kernel under qemu (TCG).
#
#   tests/vm/run.sh            (or: make vmtest, which builds what it needs)
#
# 1. fetches linux-image-6.1.*-cloud-amd64 with apt-get download (cached in
#    $OUTPUT/vm/, default .output/vm/) and takes its vmlinuz;
# 2. builds a busybox initramfs with ./leaktrace-static, the targets of
#    VM_TARGETS with their shared libraries and ld.so, libjemalloc.so.2,
#    vmcheck (tests/vm/vmcheck.c, static) and tests/vm/{init,vmtests}.sh;
# 3. boots it: qemu-system-x86_64 -accel tcg -cpu max (KVM is not used);
#    the VM prints "VMTEST PASS|FAIL|SKIP name" on the serial console;
# 4. prints one line per test and the closing line
#    "N passed, N failed, N skipped". Exit status 1 if any test failed.
#
# The same tests on the host's own kernel, without qemu: tests/vm/host_checks.sh.
#
# Everything is skipped (never passed) when qemu, busybox or the kernel
# cannot be had, or when qemu cannot start; a test without a result (VM
# timeout, panic) is failed. The whole run is bounded by VM_TIMEOUT.
#
# Environment: OUTPUT (.output), LEAKTRACE_STATIC (./leaktrace-static),
#   VM_KERNEL_PKG (default: the newest linux-image-6.1.0-N-cloud-amd64),
#   VM_QEMU (qemu-system-x86_64), VM_TIMEOUT (seconds for qemu, default 480), VM_SCALE (timeout factor in
#   the VM, default 10), VM_MEM (MiB, 1024), VM_SMP (1), VM_KEEP=1 keeps the
#   initramfs tree. The console log is $OUTPUT/vm/console.log.
set -u
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-.output}
VM=$OUTPUT/vm
LT=${LEAKTRACE_STATIC:-./leaktrace-static}
VM_TIMEOUT=${VM_TIMEOUT:-480}
VM_SCALE=${VM_SCALE:-10}
VM_MEM=${VM_MEM:-1024}
VM_SMP=${VM_SMP:-1}
# Targets copied into the VM (tests/targets/NAME), with their shared libraries.
VM_TARGETS="leaker leaker_nopvalloc leaker_nofp threads timers fpalloc fdleak fdleak_nofp sampleleak"
# Sources whose /* LEAK:<marker> */ line numbers the tests need (NAME.lines).
VM_SOURCES="leaker threads timers fpalloc fdleak"
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
QEMU=${VM_QEMU:-qemu-system-x86_64}

TESTS=$(sh tests/vm/vmtests.sh --list)
NTESTS=$(echo "$TESTS" | wc -w)
mkdir -p "$VM"

skip_all() {
	for t in $TESTS; do
		echo "SKIP vm.$t: $*"
	done
	echo "0 passed, 0 failed, $NTESTS skipped"
	exit 0
}

fail_all() {
	for t in $TESTS; do
		echo "FAIL vm.$t: $*"
	done
	echo "0 passed, $NTESTS failed, 0 skipped"
	exit 1
}

# ---------------------------------------------------------------- tools

need_tools() {
	for tool in "$QEMU" busybox dpkg-deb; do
		command -v "$tool" >/dev/null 2>&1 || return 1
	done
	[ -f /usr/share/qemu/bios-256k.bin ] || [ -f /usr/share/seabios/bios-256k.bin ]
}
if ! need_tools && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "vm: installing qemu-system-x86 and busybox-static (scripts/install-deps.sh)"
	scripts/install-deps.sh --if-missing >"$VM/install.log" 2>&1 || tail -n 5 "$VM/install.log"
fi
need_tools || skip_all "$QEMU, busybox or dpkg-deb not installed and not installable" \
	"(apt-get install qemu-system-x86 busybox-static)"

[ -x "$LT" ] || skip_all "$LT not built (make leaktrace-static)"
if ldd "$LT" >/dev/null 2>&1; then
	fail_all "$LT is not a static executable (ldd lists libraries)"
fi
for t in $VM_TARGETS; do
	[ -x "tests/targets/$t" ] || skip_all "tests/targets/$t not built (make targets)"
done

# ---------------------------------------------------------------- kernel

kernel_deb() {	# the cached kernel package, newest first
	ls "$VM"/linux-image-6.1.*-cloud-amd64*_amd64.deb 2>/dev/null | sort -V | tail -n 1
}
deb=$(kernel_deb)
if [ -n "${VM_KERNEL_PKG:-}" ] && ! echo "$deb" | grep -q "/${VM_KERNEL_PKG}_"; then
	deb=""
fi
if [ -z "$deb" ]; then
	pick() {
		apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
			grep -E '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' | sort -V | tail -n 1
	}
	pkg=${VM_KERNEL_PKG:-$(pick)}
	if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >"$VM/apt.log" 2>&1
		pkg=$(pick)
	fi
	[ -n "$pkg" ] || skip_all "no linux-image-6.1.0-*-cloud-amd64 package known to apt"
	echo "vm: apt-get download $pkg"
	(cd "$VM" && apt-get download "$pkg") >"$VM/apt.log" 2>&1
	deb=$(kernel_deb)
	[ -n "$deb" ] || skip_all "apt-get download $pkg failed: $(grep -E '^E:' "$VM/apt.log" | head -n 1)"
fi
kver=$(basename "$deb" | sed -E 's/^linux-image-([^_]+)_.*/\1/')
vmlinuz=$VM/kernel/boot/vmlinuz-$kver
if [ ! -f "$vmlinuz" ]; then
	rm -rf "$VM/kernel"
	mkdir -p "$VM/kernel"
	# only ./boot: the VM loads no modules (dpkg-deb -x would unpack them all)
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$VM/kernel" --wildcards './boot/*' ||
		fail_all "cannot unpack $deb"
fi
[ -f "$vmlinuz" ] || fail_all "no $vmlinuz in $deb"

# ---------------------------------------------------------------- initramfs

root=$VM/root
rm -rf "$root"
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib64 \
	"$root"/proc "$root"/sys "$root"/dev "$root"/tmp "$root"/vm "$root"/t "$root"/etc
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s ../bin "$root/usr/bin"

copy_libs() {	# copy_libs FILE: its shared libraries (and ld.so) into $root
	ldd "$1" 2>/dev/null | sed -nE 's@.*(^|[[:space:]])(/[^[:space:]]+) \(0x.*@\2@p' |
	while read -r lib; do
		dst=$root/usr/${lib#/usr/}
		[ -e "$dst" ] && continue
		mkdir -p "$(dirname "$dst")"
		cp -L "$lib" "$dst" || exit 1
	done
}

# shellcheck disable=SC2046	# pkg-config's flags are meant to split
build_stackprobe() {
	${CLANG:-clang} -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ivmlinux/x86 \
		-c tests/vm/stackprobe.bpf.c -o "$VM/stackprobe.bpf.o" &&
		${BPFTOOL:-bpftool} gen skeleton "$VM/stackprobe.bpf.o" name stackprobe_bpf \
			>"$VM/stackprobe.skel.h" &&
		cc -O2 -Wall -static -I"$VM" tests/vm/stackprobe.c -o "$VM/stackprobe" \
			$(pkg-config --static --libs libbpf)
}

bb=$(command -v busybox)
if ! cp -L "$bb" "$root/bin/busybox" || ! copy_libs "$bb"; then
	fail_all "cannot copy busybox"
fi
for applet in $("$bb" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cp "$LT" "$root/bin/leaktrace"
if ! cc -O2 -static -Wall -o "$VM/vmcheck" tests/vm/vmcheck.c -lm 2>"$VM/vmcheck.log"; then
	cat "$VM/vmcheck.log"
	fail_all "cannot build tests/vm/vmcheck.c"
fi
cp "$VM/vmcheck" "$root/bin/vmcheck"
# stackprobe: optional diagnostic (kernel stacks at function entries)
if build_stackprobe >"$VM/stackprobe.log" 2>&1; then
	cp "$VM/stackprobe" "$root/bin/stackprobe"
else
	echo "vm: cannot build tests/vm/stackprobe.c (see $VM/stackprobe.log); no kernel_stack info"
fi
for t in $VM_TARGETS; do
	cp "tests/targets/$t" "$root/t/$t"
	copy_libs "tests/targets/$t" || fail_all "cannot copy the libraries of $t"
done
if [ -f "$JEMALLOC" ]; then
	cp -L "$JEMALLOC" "$root$JEMALLOC"
	copy_libs "$JEMALLOC"
fi
# line numbers of the LEAK markers: marker=line
for src in $VM_SOURCES; do
	grep -n '/\* LEAK:[A-Za-z0-9_]* \*/$' "tests/targets/$src.c" |
		sed -E 's@^([0-9]+):.*/\* LEAK:([A-Za-z0-9_]+) \*/$@\2=\1@' >"$root/t/$src.lines"
done
cp tests/vm/init.sh "$root/init"
cp tests/vm/vmtests.sh "$root/vm/vmtests.sh"
chmod 0755 "$root/init"
printf 'SCALE=%s\nIN_VM=1\n' "$VM_SCALE" >"$root/vm/env"
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$VM/initramfs.cpio" ||
	fail_all "busybox cpio failed"
[ "${VM_KEEP:-0}" = 1 ] || rm -rf "$root"

# ---------------------------------------------------------------- boot

echo "vm: booting $kver under qemu TCG (timeout ${VM_TIMEOUT} s, timeouts x$VM_SCALE in the VM)"
t0=$(date +%s)
timeout -k 10 "$VM_TIMEOUT" "$QEMU" -accel tcg -cpu max -m "$VM_MEM" -smp "$VM_SMP" \
	-nographic -no-reboot -kernel "$vmlinuz" -initrd "$VM/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 loglevel=4" </dev/null >"$VM/console.raw" 2>&1
qrc=$?
tr -d '\r' <"$VM/console.raw" >"$VM/console.log"
rm -f "$VM/console.raw"
# the VM's own lines, without what the firmware or the kernel put before them
sed -n 's/^.*\(VM\(TEST\|INFO\|LOG\) \)/\1/p' "$VM/console.log" >"$VM/vm.log"
echo "vm: qemu exited with status $qrc after $(($(date +%s) - t0)) s; console: $VM/console.log"

# loglevel=4 hides the boot messages: any kernel line or VM line will do
if [ ! -s "$VM/vm.log" ] && ! grep -q -E '^\[ *[0-9]+\.[0-9]+\]|Kernel panic' "$VM/console.log"; then
	skip_all "qemu could not start the kernel (status $qrc):" \
		"$(head -c 300 "$VM/console.log" | tr '\n' ' ' | tr -cd '[:print:]')"
fi

# ---------------------------------------------------------------- results

pass=0 fail=0 skip=0
sed -n 's/^VMINFO /    info: /p' "$VM/vm.log"
for t in $TESTS; do
	line=$(grep -E "^VMTEST (PASS|FAIL|SKIP) $t(:|\$)" "$VM/vm.log" | tail -n 1)
	case $line in
	"VMTEST PASS $t")
		echo "PASS vm.$t"
		pass=$((pass + 1))
		;;
	"VMTEST SKIP $t"*)
		echo "SKIP vm.${line#VMTEST SKIP }"
		skip=$((skip + 1))
		;;
	"VMTEST FAIL $t"*)
		echo "FAIL vm.${line#VMTEST FAIL }"
		sed -n "s/^VMLOG $t: /    | /p" "$VM/vm.log"
		fail=$((fail + 1))
		;;
	*)
		if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
			echo "FAIL vm.$t: no result: the VM ran out of time (VM_TIMEOUT=${VM_TIMEOUT} s)"
		else
			echo "FAIL vm.$t: no result (qemu status $qrc)"
		fi
		fail=$((fail + 1))
		;;
	esac
done
if ! grep -q '^VMTEST END' "$VM/vm.log"; then
	tail -n 25 "$VM/console.log" | tr -cd '[:print:]\n' | sed 's/^/    | /'
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
