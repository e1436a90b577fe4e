/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For the .S files: SET_FLAGS sets the flags to the RFLAGS image in rdx
 * (clobbering rax and rcx), without POPF where possible.
 *
 * POPF costs about 6 ns here. When only arithmetic flags can differ from
 * what user code always runs with (IF and bit 1 set, nothing else: DF
 * clear, no TF or AC), SAHF sets SF, ZF, AF, PF and CF, and an add that
 * overflows or not sets OF. Anything else takes POPF. Uses the stack (8
 * bytes, CFI kept) on the POPF way only.
 */
#ifndef LIBKPROBE_X86_64_FLAGS_H
#define LIBKPROBE_X86_64_FLAGS_H

/* The flags a handler may change (as arch_regs_to_uc() lets it): the
 * arithmetic ones and DF. */
#define USER_FLAGS	0xcd5
#define ARITH_FLAGS	0x8d5

.macro SET_FLAGS
	movl	%edx, %ecx
	andl	$~ARITH_FLAGS, %ecx
	cmpl	$0x202, %ecx
	jne	20f
	cmpb	$0, kp_x86_sahf_ok(%rip)
	je	20f
	btl	$11, %edx		/* CF = OF wanted */
	setc	%al
	addb	$0x7f, %al		/* 1 + 0x7f overflows, 0 + 0x7f not */
	movb	%dl, %ah
	sahf
	jmp	21f
20:	pushq	%rdx
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
21:
.endm

#endif
