// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/probeoff.c: hand-assembled byte sequences, the real
 * glibc 2.36 / libstdc++ functions of docs/design.md, "Probes" (read through elfsym), and
 * objdump as the independent disassembler for the real ones.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsym.h"
#include "probeoff.h"
#include "test.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

/* ---------------------------------------------------------------------- */
/* helpers                                                                */


/* Expected result: offsets in order with their emulated flag. */
struct want {
	int n;
	uint32_t off[PROBEOFF_MAX];
	bool emu[PROBEOFF_MAX];
};

static bool check_choice(const struct probe_choice *pc, const struct want *w, const char *name)
{
	bool ok = true;
	int i;

	ok &= ASSERT_EQ(pc->n, w->n, name);
	for (i = 0; ok && i < w->n; i++) {
		ok &= ASSERT_EQ(pc->off[i], w->off[i], name);
		ok &= ASSERT_EQ(pc->emulated[i], w->emu[i], name);
	}
	if (!ok)
		for (i = 0; i < pc->n; i++)
			fprintf(stderr, "      got [%d] +0x%x %s: %s\n", i, pc->off[i],
				pc->emulated[i] ? "emulated" : "single-stepped", pc->why[i]);
	return ok;
}

/* Invariants every result must satisfy, whatever the code. */
static bool check_invariants(const struct probe_choice *pc, size_t len, const char *name)
{
	bool ok = true, zero = false, zero_emulated = false;
	int i, first_ss = -1;

	if (!ASSERT_TRUE(pc->n >= 1 && pc->n <= PROBEOFF_MAX, name))
		return false;
	for (i = 0; i < pc->n; i++) {
		if (pc->off[i] == 0) {
			zero = true;
			zero_emulated = pc->emulated[i];
		}
		ok &= ASSERT_TRUE(pc->off[i] == 0 || pc->off[i] < len, name);
		ok &= ASSERT_TRUE(pc->why[i][0] != 0, name);
		if (!pc->emulated[i] && first_ss < 0)
			first_ss = i;
		/* emulated ones first, each group in address order */
		if (i > 0 && pc->emulated[i])
			ok &= ASSERT_TRUE(pc->emulated[i - 1] && pc->off[i] > pc->off[i - 1], name);
		if (i > 0 && !pc->emulated[i] && !pc->emulated[i - 1] && pc->off[i - 1] != 0)
			ok &= ASSERT_TRUE(pc->off[i] > pc->off[i - 1], name);
	}
	ok &= ASSERT_TRUE(zero, name);
	/* the single-stepped ones start with +0 when +0 is not emulated */
	if (!zero_emulated && first_ss >= 0)
		ok &= ASSERT_EQ(pc->off[first_ss], 0, name);
	return ok;
}

/* Does the kernel emulate these bytes? (push reg, jmp/jcc/call rel, nop 0x90) */
static bool bytes_emulable(const uint8_t *c, size_t left)
{
	size_t p = 0;

	if (left >= 1 && (c[0] == 0x90 || (c[0] >= 0x50 && c[0] <= 0x57)))
		return true;
	if (left >= 2 && c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57)
		return true;
	while (p < left && (c[p] == 0xf2 || c[p] == 0x2e || c[p] == 0x3e))
		p++;
	if (p >= left)
		return false;
	if (c[p] == 0xeb || c[p] == 0xe8 || c[p] == 0xe9 || (c[p] >= 0x70 && c[p] <= 0x7f))
		return true;
	return p + 1 < left && c[p] == 0x0f && c[p + 1] >= 0x80 && c[p + 1] <= 0x8f;
}

static bool choose(const uint8_t *code, size_t len, struct probe_choice *pc, const char *name)
{
	return ASSERT_EQ(probe_choose(code, len, pc), 0, name) && check_invariants(pc, len, name);
}

#define CHOOSE_WANT(name, bytes, ...) do {					\
	static const uint8_t ___c[] = bytes;					\
	struct want ___w = __VA_ARGS__;						\
	struct probe_choice ___pc;						\
	if (choose(___c, sizeof(___c), &___pc, name))				\
		check_choice(&___pc, &___w, name);				\
} while (0)

#define B(...) { __VA_ARGS__ }
#define E true
#define S false

/* The instruction objdump shows at VADDR in PATH ("je", "push", ...). */
static bool objdump_mnemonic(const char *path, uint64_t vaddr, char *mn, size_t mnlen, char *ops,
			     size_t opslen)
{
	char *out = test__run_cmd("objdump -d --no-show-raw-insn --start-address=0x%llx "
			    "--stop-address=0x%llx '%s' 2>/dev/null",
			    (unsigned long long)vaddr, (unsigned long long)vaddr + 16, path);
	char key[32], *p;
	bool ok = false;

	if (!out)
		return false;
	snprintf(key, sizeof(key), "%llx:\t", (unsigned long long)vaddr);
	p = strstr(out, key);
	if (p) {
		char m[64] = "", o[128] = "";

		p += strlen(key);
		if (sscanf(p, "%63s %127[^\n]", m, o) >= 1) {
			snprintf(mn, mnlen, "%s", m);
			snprintf(ops, opslen, "%s", o);
			ok = true;
		}
	}
	free(out);
	return ok;
}

/* ---------------------------------------------------------------------- */
/* synthetic code                                                         */

static void test_args(void)
{
	struct probe_choice pc;
	uint8_t c[1] = { 0x55 };
	uint64_t t = 0;

	ASSERT_EQ(probe_choose(c, 1, NULL), -EINVAL, "NULL pc");
	ASSERT_EQ(probe_choose(NULL, 4, &pc), -EINVAL, "NULL code");
	/* no code at all: still offset 0 */
	ASSERT_EQ(probe_choose(NULL, 0, &pc), 0, "empty");
	ASSERT_EQ(pc.n, 1, "empty n");
	ASSERT_EQ(pc.off[0], 0, "empty off");
	ASSERT_FALSE(pc.emulated[0], "empty not emulated");
	ASSERT_EQ(probe_is_tail_jump(NULL, 5, 0, &t), 0, "tail NULL code");
	ASSERT_EQ(probe_is_tail_jump(c, 1, 0, NULL), 0, "tail NULL target");
}

static void test_push_first(void)
{
	struct probe_choice pc;
	static const uint8_t rbp[] = { 0x55, 0x48, 0x89, 0xe5, 0xc3 };	/* push %rbp; mov %rsp,%rbp; ret */
	static const uint8_t r12[] = { 0x41, 0x54, 0x55, 0x53 };	/* push %r12; push %rbp; push %rbx */

	if (choose(rbp, sizeof(rbp), &pc, "push rbp")) {
		check_choice(&pc, &(struct want){ 1, { 0 }, { E } }, "push rbp");
		ASSERT_STREQ(pc.why[0], "push %rbp at +0x0 (emulated)", "push rbp why");
	}
	if (choose(r12, sizeof(r12), &pc, "push r12")) {
		/* nothing after a push: it moved rsp */
		check_choice(&pc, &(struct want){ 1, { 0 }, { E } }, "push r12");
		ASSERT_STREQ(pc.why[0], "push %r12 at +0x0 (emulated)", "push r12 why");
	}
	/* rex.W push rax (48 50) and push ax (66 50) are not what the kernel emulates */
	CHOOSE_WANT("rex.W push", B(0x48, 0x50, 0xc3), { 1, { 0 }, { S } });
	CHOOSE_WANT("push ax", B(0x48, 0x85, 0xff, 0x66, 0x50, 0xc3), { 2, { 0, 3 }, { S, S } });
	/* every GPR push, low and high */
	CHOOSE_WANT("push rdi", B(0x57), { 1, { 0 }, { E } });
	CHOOSE_WANT("push r15", B(0x41, 0x57), { 1, { 0 }, { E } });
}

static void test_je_after_test(void)
{
	struct probe_choice pc;
	/* free: test %rdi,%rdi; je rel32; push %rbp */
	static const uint8_t fr[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00, 0x55 };

	if (choose(fr, sizeof(fr), &pc, "free-like")) {
		check_choice(&pc, &(struct want){ 2, { 3, 0 }, { E, S } }, "free-like");
		ASSERT_STREQ(pc.why[0], "je at +0x3 (emulated)", "je why");
		ASSERT_STREQ(pc.why[1], "test at +0x0 (single-stepped)", "test why");
	}
	/* je rel8 */
	CHOOSE_WANT("je rel8", B(0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0x55, 0xc3),
		    { 2, { 3, 0 }, { E, S } });
	/* jmp rel32 and call rel32 at 0 are emulated; nothing past them */
	CHOOSE_WANT("jmp at 0", B(0xe9, 0x10, 0x00, 0x00, 0x00, 0x55), { 1, { 0 }, { E } });
	CHOOSE_WANT("call at 0", B(0xe8, 0x00, 0x00, 0x00, 0x00, 0x55), { 1, { 0 }, { E } });
	/* bnd jmp is still emulated */
	CHOOSE_WANT("bnd jmp", B(0x48, 0x85, 0xff, 0xf2, 0xe9, 0x00, 0x01, 0x00, 0x00),
		    { 2, { 3, 0 }, { E, S } });
	/* ret and an indirect jmp are candidates, single-stepped */
	CHOOSE_WANT("ret", B(0xc3, 0x55), { 1, { 0 }, { S } });
	CHOOSE_WANT("jmp *%rax", B(0x48, 0x85, 0xff, 0xff, 0xe0, 0x55), { 2, { 0, 3 }, { S, S } });
	/* a 66-prefixed jcc is not emulated by the kernel */
	CHOOSE_WANT("66 jcc", B(0x48, 0x85, 0xff, 0x66, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00),
		    { 2, { 0, 3 }, { S, S } });
}

static void test_argument_register_writes(void)
{
	/* mov %rsi,%rdi; push %rbx: the push would see a changed rdi */
	CHOOSE_WANT("mov rsi,rdi", B(0x48, 0x89, 0xf7, 0x53), { 1, { 0 }, { S } });
	/* sub-registers: xor %edi,%edi / mov $0,%dl / mov %sil,%cl / xchg %esi,%eax */
	CHOOSE_WANT("xor edi", B(0x31, 0xff, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("mov dl", B(0xb2, 0x00, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("mov sil,cl", B(0x40, 0x88, 0xf1, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("xchg esi,eax", B(0x96, 0x53), { 1, { 0 }, { S } });
	/* implicit writers: mul writes rdx, cqo writes rdx, rep stos writes rdi/rcx */
	CHOOSE_WANT("mul", B(0x48, 0xf7, 0xe6, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("cqo", B(0x48, 0x99, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("rep stos", B(0xf3, 0xab, 0x53), { 1, { 0 }, { S } });
	/* control: writing a non-argument register is fine */
	CHOOSE_WANT("mov rdi,rax", B(0x48, 0x89, 0xf8, 0x53), { 2, { 3, 0 }, { E, S } });
	CHOOSE_WANT("mov $1,eax", B(0xb8, 0x01, 0x00, 0x00, 0x00, 0x41, 0x54),
		    { 2, { 5, 0 }, { E, S } });
	/* r8/r9 are not guarded */
	CHOOSE_WANT("mov rdi,r8", B(0x49, 0x89, 0xf8, 0x53), { 2, { 3, 0 }, { E, S } });
}

static void test_rsp_and_memory_writes(void)
{
	/* sub $8,%rsp; push %rbx */
	CHOOSE_WANT("sub rsp", B(0x48, 0x83, 0xec, 0x08, 0x53), { 1, { 0 }, { S } });
	/* lea -8(%rsp),%rsp; push */
	CHOOSE_WANT("lea rsp", B(0x48, 0x8d, 0x64, 0x24, 0xf8, 0x53), { 1, { 0 }, { S } });
	/* pop %rbx; push */
	CHOOSE_WANT("pop", B(0x5b, 0x53), { 1, { 0 }, { S } });
	/* mov %rdi,(%rsp): overwrites the return address */
	CHOOSE_WANT("mov to [rsp]", B(0x48, 0x89, 0x3c, 0x24, 0x53), { 1, { 0 }, { S } });
	/* mov %eax,0x10(%rip): rip-relative write */
	CHOOSE_WANT("rip write", B(0x89, 0x05, 0x10, 0x00, 0x00, 0x00, 0x53), { 1, { 0 }, { S } });
	/* lock incl (%rax) */
	CHOOSE_WANT("lock inc", B(0xf0, 0xff, 0x00, 0x53), { 1, { 0 }, { S } });
	/* enter (capstone does not list its rsp write): not walkable */
	CHOOSE_WANT("enter", B(0xc8, 0x08, 0x00, 0x00, 0x53), { 1, { 0 }, { S } });
	/* control: rip-relative read (glibc's cmpb $0,x(%rip)) is fine */
	CHOOSE_WANT("rip read", B(0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54),
		    { 2, { 7, 0 }, { E, S } });
}

static void test_branch_targets(void)
{
	/*
	 * 0: test %rdi,%rdi
	 * 3: push %rbx        <- target of the jmp below
	 * 4: jmp 3
	 */
	CHOOSE_WANT("loop to +3", B(0x48, 0x85, 0xff, 0x53, 0xeb, 0xfd), { 1, { 0 }, { S } });
	/* control: the same without the back edge */
	CHOOSE_WANT("no loop", B(0x48, 0x85, 0xff, 0x53, 0xc3, 0x90), { 2, { 3, 0 }, { E, S } });
	/* a target inside the test instruction also stops the walk */
	CHOOSE_WANT("target +1", B(0x48, 0x85, 0xff, 0x53, 0xeb, 0xfb), { 1, { 0 }, { S } });
	/* a loop back to the entry does not exclude later candidates... */
	CHOOSE_WANT("target +0", B(0x48, 0x85, 0xff, 0x53, 0xeb, 0xfa), { 2, { 3, 0 }, { E, S } });
	/* ...and a jcc whose target is far is itself a candidate */
	CHOOSE_WANT("jcc target", B(0x48, 0x85, 0xff, 0x74, 0x03, 0x53, 0x90, 0x90, 0xc3),
		    { 2, { 3, 0 }, { E, S } });
	/* a forward jcc to the next insn: that next insn is excluded, jcc itself is fine */
	CHOOSE_WANT("jcc to next", B(0x90, 0x74, 0x00, 0x53), { 2, { 0, 1 }, { E, E } });
	/* nop; nop; and a later rel32 jmp to +1 */
	CHOOSE_WANT("rel32 to +1", B(0x90, 0x90, 0x53, 0xe9, 0xf9, 0xff, 0xff, 0xff),
		    { 1, { 0 }, { E } });
	/* a call target counts too */
	CHOOSE_WANT("call to +2", B(0x90, 0x90, 0x53, 0xe8, 0xfa, 0xff, 0xff, 0xff),
		    { 2, { 0, 1 }, { E, E } });
}

static void test_nops_and_endbr(void)
{
	struct probe_choice pc;
	static const uint8_t endbr_push[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x53, 0x48, 0x89, 0xfb };
	uint8_t nops[32];
	int i;

	if (choose(endbr_push, sizeof(endbr_push), &pc, "endbr push")) {
		check_choice(&pc, &(struct want){ 2, { 4, 0 }, { E, S } }, "endbr push");
		ASSERT_STREQ(pc.why[0], "push %rbx at +0x4 (emulated)", "endbr push why");
		ASSERT_STREQ(pc.why[1], "endbr64 at +0x0 (single-stepped)", "endbr why");
	}
	/* nopl (0f 1f 00) is walked over but not emulated; 90 is emulated */
	CHOOSE_WANT("nopl 90 push", B(0x0f, 0x1f, 0x00, 0x90, 0x53), { 3, { 3, 4, 0 }, { E, E, S } });
	CHOOSE_WANT("nopw", B(0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55), { 2, { 6, 0 }, { E, S } });
	/* 66 90 (xchg %ax,%ax) is not the one-byte nop */
	CHOOSE_WANT("66 90", B(0x66, 0x90, 0x55), { 2, { 2, 0 }, { E, S } });

	/* more candidates than slots: emulated first, capped at PROBEOFF_MAX */
	memset(nops, 0x90, sizeof(nops));
	if (choose(nops, sizeof(nops), &pc, "nop sled")) {
		ASSERT_EQ(pc.n, PROBEOFF_MAX, "nop sled n");
		for (i = 0; i < pc.n; i++) {
			ASSERT_EQ(pc.off[i], i, "nop sled off");
			ASSERT_TRUE(pc.emulated[i], "nop sled emulated");
		}
	}
	/* +0 single-stepped, many emulated after it: +0 keeps the last slot */
	nops[0] = 0x48;
	nops[1] = 0x85;
	nops[2] = 0xff;
	if (choose(nops, sizeof(nops), &pc, "test + nops")) {
		ASSERT_EQ(pc.n, PROBEOFF_MAX, "test + nops n");
		for (i = 0; i < PROBEOFF_MAX - 1; i++) {
			ASSERT_EQ(pc.off[i], 3 + i, "test + nops off");
			ASSERT_TRUE(pc.emulated[i], "test + nops emulated");
		}
		ASSERT_EQ(pc.off[PROBEOFF_MAX - 1], 0, "test + nops last is +0");
		ASSERT_FALSE(pc.emulated[PROBEOFF_MAX - 1], "+0 single-stepped");
	}
}

static void test_undecodable_and_traps(void)
{
	struct probe_choice pc;
	static const uint8_t bad0[] = { 0x06, 0x53 };	/* push %es: invalid in 64-bit mode */

	if (choose(bad0, sizeof(bad0), &pc, "bad at 0")) {
		check_choice(&pc, &(struct want){ 1, { 0 }, { S } }, "bad at 0");
		ASSERT_TRUE(strstr(pc.why[0], "undecodable") != NULL, "bad why");
	}
	CHOOSE_WANT("bad after test", B(0x48, 0x85, 0xff, 0x06, 0x53), { 1, { 0 }, { S } });
	/* truncated: test with its modrm cut off */
	CHOOSE_WANT("truncated", B(0x48, 0x85), { 1, { 0 }, { S } });
	/* truncated jcc after a nop: the nop is still fine */
	CHOOSE_WANT("truncated jcc", B(0x90, 0x0f, 0x84, 0x00), { 1, { 0 }, { E } });
	/* syscall, int3, ud2: never a candidate past 0 */
	CHOOSE_WANT("syscall", B(0x90, 0x0f, 0x05), { 1, { 0 }, { E } });
	CHOOSE_WANT("int3", B(0x90, 0xcc), { 1, { 0 }, { E } });
	CHOOSE_WANT("ud2", B(0x90, 0x0f, 0x0b), { 1, { 0 }, { E } });
	/* cpuid and rdtsc write argument registers */
	CHOOSE_WANT("cpuid", B(0x0f, 0xa2, 0x53), { 1, { 0 }, { S } });
	CHOOSE_WANT("rdtsc", B(0x0f, 0x31, 0x53), { 1, { 0 }, { S } });
}

static void test_tail_jump_synthetic(void)
{
	static const uint8_t jmp8[] = { 0xeb, 0x10 };
	static const uint8_t endbr_jmp32[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0xf7, 0x02, 0xff, 0xff };
	static const uint8_t not_first[] = { 0x90, 0xe9, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t cut[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0xe9, 0xf7, 0x02 };
	static const uint8_t call[] = { 0xe8, 0x00, 0x00, 0x00, 0x00 };
	uint64_t t = 0;

	ASSERT_EQ(probe_is_tail_jump(jmp8, sizeof(jmp8), 0x1000, &t), 1, "jmp rel8");
	ASSERT_EQ(t, 0x1012, "jmp rel8 target");
	/* _Znam in libstdc++ 6.0.30: a95d0: endbr64; jmp 998d0 */
	ASSERT_EQ(probe_is_tail_jump(endbr_jmp32, sizeof(endbr_jmp32), 0xa95d0, &t), 1, "endbr jmp32");
	ASSERT_EQ(t, 0x998d0, "endbr jmp32 target");
	ASSERT_EQ(probe_is_tail_jump(not_first, sizeof(not_first), 0, &t), 0, "nop; jmp");
	ASSERT_EQ(probe_is_tail_jump(cut, sizeof(cut), 0, &t), 0, "truncated jmp");
	ASSERT_EQ(probe_is_tail_jump(call, sizeof(call), 0, &t), 0, "call");
}

/* ---------------------------------------------------------------------- */
/* real functions                                                         */

struct real_case {
	const char *lib;
	const char *func;
	uint32_t off;		/* expected first (emulated) candidate */
	const char *mnemonic;	/* what objdump shows there */
};

static bool read_func(struct elf_file *ef, const char *func, uint8_t *buf, size_t cap,
		      size_t *len, uint64_t *vaddr)
{
	struct elf_sym s;
	size_t want;
	int n;

	if (!ASSERT_EQ(elf_file__find_func(ef, func, &s, 1), 1, func))
		return false;
	want = s.size > 64 ? s.size : 64;
	if (want > cap)
		want = cap;
	n = elf_file__read(ef, s.vaddr, buf, want);
	if (!ASSERT_GE(n, 16, func))
		return false;
	*len = n;
	*vaddr = s.vaddr;
	return true;
}

static void test_real_glibc_and_libstdcxx(void)
{
	static const struct real_case cases[] = {
		{ LIBC, "malloc", 0, "push" },
		{ LIBC, "calloc", 0, "push" },
		{ LIBC, "realloc", 0, "push" },
		{ LIBC, "free", 3, "je" },
		{ LIBC, "posix_memalign", 7, "push" },
		{ LIBC, "memalign", 7, "je" },
		{ LIBC, "aligned_alloc", 7, "je" },
		{ LIBC, "valloc", 7, "push" },
		{ LIBC, "pvalloc", 7, "push" },
		{ LIBSTDCXX, "_Znwm", 0xc, "push" },
	};
	struct elf_file *libc = NULL, *cxx = NULL;
	uint8_t buf[4096];
	size_t i;

	libc = elf_file__open(LIBC);
	cxx = elf_file__open(LIBSTDCXX);
	if (!libc || !cxx) {
		test__skip("libc or libstdc++ not found");
		goto out;
	}
	{
		const char *v = gnu_get_libc_version();

		if (strcmp(v, "2.36")) {
			test__skip("not glibc 2.36");
			goto out;
		}
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct real_case *c = &cases[i];
		struct elf_file *ef = !strcmp(c->lib, LIBC) ? libc : cxx;
		struct probe_choice pc;
		char mn[64], ops[128];
		uint64_t vaddr;
		size_t len;
		int k;

		if (!read_func(ef, c->func, buf, sizeof(buf), &len, &vaddr))
			continue;
		if (!choose(buf, len, &pc, c->func))
			continue;
		ASSERT_EQ(pc.off[0], c->off, c->func);
		ASSERT_TRUE(pc.emulated[0], c->func);
		/* objdump agrees on what sits there */
		if (ASSERT_TRUE(objdump_mnemonic(c->lib, vaddr + pc.off[0], mn, sizeof(mn),
						 ops, sizeof(ops)), "objdump"))
			ASSERT_STREQ(mn, c->mnemonic, c->func);
		/* every candidate is an instruction boundary objdump also sees */
		for (k = 0; k < pc.n; k++)
			ASSERT_TRUE(objdump_mnemonic(c->lib, vaddr + pc.off[k], mn, sizeof(mn),
						     ops, sizeof(ops)), c->func);
		/* and +0 is always there */
		for (k = 0; k < pc.n && pc.off[k]; k++)
			;
		ASSERT_TRUE(k < pc.n, c->func);
	}

	/* exact lists and why strings */
	{
		struct probe_choice pc;
		uint64_t vaddr;
		size_t len;

		if (read_func(libc, "malloc", buf, sizeof(buf), &len, &vaddr) &&
		    choose(buf, len, &pc, "malloc")) {
			check_choice(&pc, &(struct want){ 1, { 0 }, { E } }, "malloc");
			ASSERT_STREQ(pc.why[0], "push %r12 at +0x0 (emulated)", "malloc why");
		}
		if (read_func(libc, "free", buf, sizeof(buf), &len, &vaddr) &&
		    choose(buf, len, &pc, "free")) {
			check_choice(&pc, &(struct want){ 2, { 3, 0 }, { E, S } }, "free");
			ASSERT_STREQ(pc.why[0], "je at +0x3 (emulated)", "free why");
			ASSERT_STREQ(pc.why[1], "test at +0x0 (single-stepped)", "free why 0");
		}
		/* endbr64; test; mov $1,%eax (not an argument register); push %rbx */
		if (read_func(cxx, "_Znwm", buf, sizeof(buf), &len, &vaddr) &&
		    choose(buf, len, &pc, "_Znwm")) {
			check_choice(&pc, &(struct want){ 4, { 0xc, 0, 4, 7 }, { E, S, S, S } },
				     "_Znwm");
			ASSERT_STREQ(pc.why[0], "push %rbx at +0xc (emulated)", "_Znwm why");
		}
		/* reallocarray: mov %rdx,%rax; mul %rsi writes rdx -> nothing emulated */
		if (read_func(libc, "reallocarray", buf, sizeof(buf), &len, &vaddr) &&
		    choose(buf, len, &pc, "reallocarray")) {
			ASSERT_FALSE(pc.emulated[0], "reallocarray not emulated");
			ASSERT_EQ(pc.off[0], 0, "reallocarray +0");
		}
	}
out:
	elf_file__free(libc);
	elf_file__free(cxx);
}

static void test_real_tail_jumps(void)
{
	static const struct {
		const char *func;
		const char *plt;	/* PLT stub it jumps to */
	} cases[] = {
		{ "_Znam", "_Znwm" },
		{ "_ZdlPv", "free" },
		{ "_ZdaPv", "_ZdlPv" },
		{ "_ZdlPvm", "_ZdlPv" },
		{ "_ZdaPvm", "_ZdaPv" },
	};
	struct elf_file *cxx, *libc;
	uint8_t buf[256];
	uint64_t vaddr, t;
	size_t i, len;

	cxx = elf_file__open(LIBSTDCXX);
	libc = elf_file__open(LIBC);
	if (!cxx || !libc) {
		test__skip("libstdc++ or libc not found");
		goto out;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char mn[64], ops[128], want[64];
		const char *name = NULL;

		if (!read_func(cxx, cases[i].func, buf, sizeof(buf), &len, &vaddr))
			continue;
		if (!ASSERT_EQ(probe_is_tail_jump(buf, len, vaddr, &t), 1, cases[i].func))
			continue;
		/* objdump: "jmp    998d0 <_Znwm@plt>" at +4 */
		if (ASSERT_TRUE(objdump_mnemonic(LIBSTDCXX, vaddr + 4, mn, sizeof(mn), ops,
						 sizeof(ops)), "objdump")) {
			ASSERT_STREQ(mn, "jmp", cases[i].func);
			ASSERT_EQ(strtoull(ops, NULL, 16), t, cases[i].func);
			snprintf(want, sizeof(want), "<%s@plt>", cases[i].plt);
			ASSERT_TRUE(strstr(ops, want) != NULL, cases[i].func);
		}
		if (ASSERT_EQ(elf_file__plt_name(cxx, t, &name), 0, cases[i].func))
			ASSERT_STREQ(name, cases[i].plt, cases[i].func);
	}
	/* real functions are not tail jumps */
	if (read_func(cxx, "_Znwm", buf, sizeof(buf), &len, &vaddr))
		ASSERT_EQ(probe_is_tail_jump(buf, len, vaddr, &t), 0, "_Znwm");
	if (read_func(libc, "malloc", buf, sizeof(buf), &len, &vaddr))
		ASSERT_EQ(probe_is_tail_jump(buf, len, vaddr, &t), 0, "malloc");
	if (read_func(libc, "free", buf, sizeof(buf), &len, &vaddr))
		ASSERT_EQ(probe_is_tail_jump(buf, len, vaddr, &t), 0, "free");
out:
	elf_file__free(cxx);
	elf_file__free(libc);
}

/* Every libc function: invariants hold and emulated candidates have emulable bytes. */
static void test_all_libc_functions(void)
{
	struct elf_file *ef;
	char *out, *line, *save;
	uint8_t buf[4096];
	int funcs = 0, emulated = 0;

	ef = elf_file__open(LIBC);
	out = test__run_cmd("nm -D --defined-only '%s'", LIBC);
	if (!ef || !out) {
		test__skip("libc or nm not available");
		goto out;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char addr[32], type[4], name[256], *at;
		struct probe_choice pc;
		uint64_t vaddr;
		size_t len;
		struct elf_sym s;
		int n, k;

		if (sscanf(line, "%31s %3s %255s", addr, type, name) != 3 ||
		    (strcmp(type, "T") && strcmp(type, "W") && strcmp(type, "i")))
			continue;
		at = strchr(name, '@');
		if (at)
			*at = 0;
		if (elf_file__find_func(ef, name, &s, 1) != 1)
			continue;
		vaddr = s.vaddr;
		len = s.size > 64 ? s.size : 64;
		if (len > sizeof(buf))
			len = sizeof(buf);
		n = elf_file__read(ef, vaddr, buf, len);
		if (!ASSERT_GE(n, 1, name))
			continue;
		if (!choose(buf, n, &pc, name))
			break;
		funcs++;
		emulated += pc.emulated[0];
		for (k = 0; k < pc.n; k++) {
			if (!pc.emulated[k])
				continue;
			if (!ASSERT_TRUE(bytes_emulable(buf + pc.off[k], n - pc.off[k]), name))
				break;
		}
	}
	ASSERT_GE(funcs, 2000, "functions checked");
	/* most glibc functions start with something emulable (push, jmp, ...) */
	ASSERT_GE(emulated, funcs / 2, "emulated share");
out:
	free(out);
	elf_file__free(ef);
}

static const struct test_case tests[] = {
	TEST_CASE(test_args),
	TEST_CASE(test_push_first),
	TEST_CASE(test_je_after_test),
	TEST_CASE(test_argument_register_writes),
	TEST_CASE(test_rsp_and_memory_writes),
	TEST_CASE(test_branch_targets),
	TEST_CASE(test_nops_and_endbr),
	TEST_CASE(test_undecodable_and_traps),
	TEST_CASE(test_tail_jump_synthetic),
	TEST_CASE(test_real_glibc_and_libstdcxx),
	TEST_CASE(test_real_tail_jumps),
	TEST_CASE(test_all_libc_functions),
};

int main(int argc, char **argv)
{
	return test__main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
}
