/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampler's entry stubs and event functions (x86-64, System V).
 *
 * A hooked function's first bytes are replaced by `jmp lt_hook_N`. The
 * stub goes straight to trampoline N (the displaced instructions, then a
 * jump back into the function) while the sampler is inactive: one load
 * and one branch. Otherwise lt_common asks lt_decide() whether the call is
 * sampled. An unsampled call restores its arguments and jumps to the
 * trampoline: the hooked function returns to its caller directly.
 *
 * A sampled allocation calls the original through the trampoline, lets
 * lt_after() note the block, restores the entry's stack and frame and
 * tail-jumps to lt_event_alloc, which returns the original's result to
 * the caller. At lt_event_alloc's first byte (where leaktrace's uprobe
 * sits) rsp points at the caller's return address and every callee-saved
 * register holds the caller's value, exactly as at the hooked function's
 * entry: the stack walkers start there as if at a uprobe on the function.
 * A sampled free tail-jumps to lt_event_free the same way, which then
 * jumps to the original free.
 */
#include "sampler_abi.h"

	.text
	.globl lt_hook_0

/* Stub N: inactive -> trampoline N; else lt_common with N in eax. */
.macro hook n
	.globl lt_hook_\n
	.type lt_hook_\n, @function
	.p2align 4
lt_hook_\n:
	cmpl $0, lt_ctl+4(%rip)
	je lt_tramp + \n * LT_SMP_TRAMP_SLOT
	movl $\n, %eax
	jmp lt_common
	.size lt_hook_\n, . - lt_hook_\n
.endm

	hook 0
	hook 1
	hook 2
	hook 3
	hook 4
	hook 5
	hook 6
	hook 7
	hook 8
	hook 9
	hook 10
	hook 11
	hook 12
	hook 13
	hook 14
	hook 15
	hook 16
	hook 17
	hook 18
	hook 19
	hook 20
	hook 21
	hook 22
	hook 23
	hook 24
	hook 25
	hook 26
	hook 27
	hook 28
	hook 29
	hook 30
	hook 31

/* The entry's arguments back from struct lt_call. */
.macro args_back
	mov 0(%rsp), %rdi
	mov 8(%rsp), %rsi
	mov 16(%rsp), %rdx
	mov 24(%rsp), %rcx
.endm

/*
 * struct lt_call on the stack (see sampler.c), at rsp:
 *   0 a0 (rdi), 8 a1 (rsi), 16 a2 (rdx), 24 a3 (rcx), 32 slot, 40 ret,
 *   48 ev[0..5] (rdi, rsi, rdx, rcx, r8, r9 of the event), 96 size, 104 flags
 * 112 bytes, padded to 128: rsp stays 16-aligned for the calls.
 */
	.type lt_common, @function
	.p2align 4
lt_common:
	.cfi_startproc
	/*
	 * The fast paths, in registers no hooked function takes an argument
	 * in (rcx, r8-r11): a free of NULL or with no sampled block; a malloc
	 * whose thread has its slot where the hash puts it and stays above 0.
	 */
	lea lt_ctl(%rip), %r11
	movl LT_SMP_CTL_KIND(%r11,%rax,4), %r10d
	cmp $LT_SMP_KIND_FREE, %r10d
	jne 5f
	test %rdi, %rdi
	jz 7f
	cmpq $0, LT_SMP_CTL_LIVE(%r11)
	je 7f
	/* the filter: no sampled block hashes where this pointer does */
	mov %rdi, %r9
	shr $4, %r9
	movabs $0x9E3779B97F4A7C15, %r10
	imul %r10, %r9
	shr $46, %r9
	lea lt_filter(%rip), %r10
	cmpb $0, (%r10,%r9)
	je 7f
	jmp 6f
5:	cmp $LT_SMP_KIND_MALLOC, %r10d
	jne 6f
	mov %fs:0, %r8
	mov %r8, %r9
	movabs $0x9E3779B97F4A7C15, %r10
	imul %r10, %r9
	shr $52, %r9
	shl $5, %r9
	lea lt_threads(%rip), %r10
	add %r9, %r10
	cmp (%r10), %r8
	jne 6f
	cmpl $0, 24(%r10)
	jne 6f
	mov LT_SMP_CTL_GENERATION(%r11), %r9
	cmp %r9d, 28(%r10)
	jne 6f
	mov 8(%r10), %r9
	sub %rdi, %r9
	jle 6f
	mov %r9, 8(%r10)
7:	shl $6, %rax
	lea lt_tramp(%rip), %r11
	add %rax, %r11
	jmp *%r11
6:	push %rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	mov %rsp, %rbp
	.cfi_def_cfa_register %rbp
	sub $128, %rsp
	mov %rdi, 0(%rsp)
	mov %rsi, 8(%rsp)
	mov %rdx, 16(%rsp)
	mov %rcx, 24(%rsp)
	mov %rax, 32(%rsp)
	mov %rsp, %rdi
	call lt_decide
	test %eax, %eax
	jnz 2f
	/* not sampled: the original, with the caller's frame */
1:	mov 32(%rsp), %rax
	args_back
	leave
	.cfi_def_cfa %rsp, 8
	shl $6, %rax
	lea lt_tramp(%rip), %r11
	add %rax, %r11
	jmp *%r11
	.cfi_def_cfa %rbp, 16
2:	cmp $2, %eax
	je 4f
	/* a sampled allocation: call the original */
	mov 32(%rsp), %rax
	shl $6, %rax
	lea lt_tramp(%rip), %r11
	add %rax, %r11
	args_back
	call *%r11
	mov %rax, 40(%rsp)
	mov %rsp, %rdi
	call lt_after
	test %eax, %eax
	jz 3f
	mov 48(%rsp), %rdi
	mov 56(%rsp), %rsi
	mov 64(%rsp), %rdx
	mov 72(%rsp), %rcx
	mov 80(%rsp), %r8
	mov 88(%rsp), %r9
	mov 40(%rsp), %rax
	leave
	.cfi_def_cfa %rsp, 8
	jmp lt_event_alloc
	.cfi_def_cfa %rbp, 16
3:	mov 40(%rsp), %rax
	leave
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_def_cfa %rbp, 16
	/* a sampled free: the event, which goes on to the original */
4:	mov 32(%rsp), %rax
	args_back
	leave
	.cfi_def_cfa %rsp, 8
	jmp lt_event_free
	.cfi_endproc
	.size lt_common, . - lt_common

/*
 * The probed event functions. Each starts with a one-byte nop (x86
 * uprobes refuse some first instructions; the kernel emulates 0x90).
 */
	.globl lt_event_alloc
	.type lt_event_alloc, @function
	.p2align 4
lt_event_alloc:
	nop
	ret
	.size lt_event_alloc, . - lt_event_alloc

/* rax: the hook's slot: go on to its trampoline (the original free). */
	.globl lt_event_free
	.type lt_event_free, @function
	.p2align 4
lt_event_free:
	nop
	shl $6, %rax
	lea lt_tramp(%rip), %r11
	add %rax, %r11
	jmp *%r11
	.size lt_event_free, . - lt_event_free

	.section .note.GNU-stack, "", @progbits
