/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * long arch_syscall(long nr, long a, long b, long c): a system call without
 * libc, for code that runs before a jump-optimized hit saved the vector
 * state (the light path, docs/design.md): it touches general registers
 * only, and so does the kernel's entry, which preserves the rest. Returns
 * what the kernel returns: a negative errno on failure. errno is left alone.
 * Async-signal-safe.
 */
	.text
	.globl	arch_syscall
	.hidden	arch_syscall
	.type	arch_syscall, @function
	.p2align 4
arch_syscall:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	syscall
	ret
	.cfi_endproc
	.size	arch_syscall, . - arch_syscall

	.section .note.GNU-stack,"",@progbits
