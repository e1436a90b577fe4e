/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guarded memory access for the trap path (the kernel's exception-table
 * idea, as src/arch/x86_64/safe-access.S): if the marked load faults, the
 * fault handler moves the context to kp_ppc_safe_fault, which returns
 * -EFAULT to the caller. Leaf functions: no TOC, LR untouched.
 */
#include "asm.h"

	ABI_HEADER
	.text

	/* int kp_ppc_safe_read64(const uint64_t *src, uint64_t *dst) */
C_FUNC(kp_ppc_safe_read64)
	.hidden	kp_ppc_safe_read64
	.globl	kp_ppc_safe_read64_insn
	.hidden	kp_ppc_safe_read64_insn
kp_ppc_safe_read64_insn:
	ld	5, 0(3)
	std	5, 0(4)
	li	3, 0
	blr
	.globl	kp_ppc_safe_fault
	.hidden	kp_ppc_safe_fault
kp_ppc_safe_fault:
	li	3, -14			/* -EFAULT */
	blr
C_END(kp_ppc_safe_read64)

	.section .note.GNU-stack,"",@progbits
