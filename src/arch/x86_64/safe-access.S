/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guarded memory accessors for the trap path: the kernel's exception-table
 * idea. If the marked instruction faults, our fault handler moves the
 * context to kp_x86_safe_fault, which returns -EFAULT to the caller. So the
 * emulation of call/ret/jmp *mem can touch the program's memory without
 * turning its bad pointer into a crash inside libkprobe.
 */
	.text

	/* int kp_x86_safe_read64(const uint64_t *src, uint64_t *dst) */
	.globl	kp_x86_safe_read64
	.hidden	kp_x86_safe_read64
	.globl	kp_x86_safe_read64_insn
	.hidden	kp_x86_safe_read64_insn
	.type	kp_x86_safe_read64, @function
kp_x86_safe_read64:
kp_x86_safe_read64_insn:
	movq	(%rdi), %rax
	movq	%rax, (%rsi)
	xorl	%eax, %eax
	ret
	.size	kp_x86_safe_read64, . - kp_x86_safe_read64

	/* int kp_x86_safe_write64(uint64_t *dst, uint64_t val) */
	.globl	kp_x86_safe_write64
	.hidden	kp_x86_safe_write64
	.globl	kp_x86_safe_write64_insn
	.hidden	kp_x86_safe_write64_insn
	.type	kp_x86_safe_write64, @function
kp_x86_safe_write64:
kp_x86_safe_write64_insn:
	movq	%rsi, (%rdi)
	xorl	%eax, %eax
	ret
	.size	kp_x86_safe_write64, . - kp_x86_safe_write64

	.globl	kp_x86_safe_fault
	.hidden	kp_x86_safe_fault
	.type	kp_x86_safe_fault, @function
kp_x86_safe_fault:
	movl	$-14, %eax		/* -EFAULT */
	ret
	.size	kp_x86_safe_fault, . - kp_x86_safe_fault

	.section .note.GNU-stack,"",@progbits
