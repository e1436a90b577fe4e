/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kp_optprobe_common: where every jump-optimized probe's detour calls
 * (the detour's layout is in optprobe.c). No signal is involved: the
 * handlers run on the thread's own stack, in its ordinary context.
 *
 * On entry, with S the probed code's rsp:
 *   rsp = S - 136: the detour's return address R (its relocated copy of the
 *   replaced instructions), pushed below S's 128-byte red zone;
 *   R - 35 holds the detour's struct kp_slot *, R - 27 the probed address.
 *
 * Frame, from S down:
 *   S - 128 .. S       the red zone: never written
 *   S - 136            R, then the resume address; "ret $128" pops it
 *   S - 304            struct pt_regs (168 bytes), anchored in rbx
 *   below, 64-aligned  the XSAVE (or FXSAVE) area: x87, MXCSR and every
 *                      vector register the kernel enabled (XCR0)
 *
 * C sees struct pt_regs at the probed address; kp_optprobe_handler()
 * returns where to go on: R to run the relocated instructions, or the
 * address a handler set. Every register, the flags (as a handler left the
 * ones it may change) and the vector state are as they were, or as the
 * handler set them in pt_regs; rsp is S again.
 *
 * The frame's unwind info makes it look like a signal frame interrupting
 * the probed code at the probed address, so a backtrace from a handler goes
 * through to the probed function and its callers.
 */
	.text

#define R15	0
#define R14	8
#define R13	16
#define R12	24
#define RBP	32
#define RBX	40
#define R11	48
#define R10	56
#define R9	64
#define R8	72
#define RAX	80
#define RCX	88
#define RDX	96
#define RSI	104
#define RDI	112
#define ORIG_RAX 120
#define RIP	128
#define CS	136
#define EFLAGS	144
#define RSP	152
#define SS	160
#define PT_REGS	168
/* From pt_regs to S: pt_regs, R, the red zone. */
#define TO_S	(PT_REGS + 8 + 128)

#define SAVE_FX		0
#define SAVE_X		1
#define SAVE_XC		2
#define XSTATE_BV	512
/* The fast way's area: 16 registers of 32 bytes, then MXCSR. */
#define FAST_MXCSR	512
#define FAST_SIZE	576

	.globl	kp_optprobe_common
	.hidden	kp_optprobe_common
	.type	kp_optprobe_common, @function
	.p2align 4
kp_optprobe_common:
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_def_cfa %rsp, 136
	.cfi_undefined %rip
	leaq	-PT_REGS(%rsp), %rsp
	.cfi_adjust_cfa_offset PT_REGS
	movq	%r15, R15(%rsp)
	movq	%r14, R14(%rsp)
	movq	%r13, R13(%rsp)
	movq	%r12, R12(%rsp)
	movq	%rbp, RBP(%rsp)
	movq	%rbx, RBX(%rsp)
	movq	%r11, R11(%rsp)
	movq	%r10, R10(%rsp)
	movq	%r9, R9(%rsp)
	movq	%r8, R8(%rsp)
	movq	%rax, RAX(%rsp)
	movq	%rcx, RCX(%rsp)
	movq	%rdx, RDX(%rsp)
	movq	%rsi, RSI(%rsp)
	movq	%rdi, RDI(%rsp)
	.cfi_rel_offset %r15, R15
	.cfi_rel_offset %r14, R14
	.cfi_rel_offset %r13, R13
	.cfi_rel_offset %r12, R12
	.cfi_rel_offset %rbp, RBP
	.cfi_rel_offset %rbx, RBX
	pushfq
	.cfi_adjust_cfa_offset 8
	popq	EFLAGS(%rsp)		/* rsp-relative after the pop */
	.cfi_adjust_cfa_offset -8
	movq	$-1, ORIG_RAX(%rsp)
	movq	PT_REGS(%rsp), %rax	/* R */
	movq	-27(%rax), %rdx
	movq	%rdx, RIP(%rsp)		/* the probed address */
	.cfi_rel_offset %rip, RIP
	movq	-35(%rax), %rdi		/* the detour's slot */
	leaq	TO_S(%rsp), %rax
	movq	%rax, RSP(%rsp)
	xorl	%eax, %eax
	movw	%cs, %ax
	movq	%rax, CS(%rsp)
	movw	%ss, %ax
	movq	%rax, SS(%rsp)

	movq	%rsp, %rbx
	.cfi_def_cfa_register %rbx
	andq	$-64, %rsp

	/*
	 * The fast way, when XGETBV(1) says that only SSE and AVX state is in
	 * use (no x87 in use, no AVX-512): save xmm or ymm 0-15 and MXCSR
	 * with plain moves, a few ns, where XSAVE/XRSTOR cost about 200 ns
	 * here. r12 (saved in pt_regs) remembers the way taken.
	 */
	xorl	%r12d, %r12d
	cmpb	$0, kp_x86_fast_ok(%rip)
	je	8f
	movl	$1, %ecx
	xgetbv
	testl	kp_x86_slow_mask(%rip), %eax
	jnz	8f
	movl	$1, %r12d
	subq	$FAST_SIZE, %rsp
	stmxcsr	FAST_MXCSR(%rsp)
	cmpb	$0, kp_x86_has_avx(%rip)
	je	9f
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	%ymm\n, \n * 32(%rsp)
	.endr
	vzeroupper
	jmp	5f
9:	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	%xmm\n, \n * 32(%rsp)
	.endr
	jmp	5f

8:	subq	kp_x86_save_size(%rip), %rsp
	movl	kp_x86_save_kind(%rip), %ecx
	cmpl	$SAVE_FX, %ecx
	je	1f
	/* XRSTOR faults on a header with reserved bytes set; XSAVE and
	 * XSAVEC write only its first 8 or 16. */
	xorl	%eax, %eax
	movq	%rax, XSTATE_BV(%rsp)
	movq	%rax, XSTATE_BV+8(%rsp)
	movq	%rax, XSTATE_BV+16(%rsp)
	movq	%rax, XSTATE_BV+24(%rsp)
	movq	%rax, XSTATE_BV+32(%rsp)
	movq	%rax, XSTATE_BV+40(%rsp)
	movq	%rax, XSTATE_BV+48(%rsp)
	movq	%rax, XSTATE_BV+56(%rsp)
	movl	kp_x86_save_mask(%rip), %eax
	movl	kp_x86_save_mask+4(%rip), %edx
	cmpl	$SAVE_XC, %ecx
	je	2f
	xsave64	(%rsp)
	jmp	3f
2:	xsavec64 (%rsp)
	/* XSAVEC skips MXCSR when SSE and AVX are in their initial state,
	 * but XRSTOR loads it all the same: store it ourselves. */
	stmxcsr	24(%rsp)
3:	/* XSTATE_BV says which components are not in their initial state:
	 * only those need resetting for C code. */
	testb	$1, XSTATE_BV(%rsp)
	jz	4f
	fninit				/* C wants an empty x87 stack */
4:	testb	$4, XSTATE_BV(%rsp)
	jz	5f
	vzeroupper			/* no AVX-SSE transition stalls */
	jmp	5f
1:	fxsave64 (%rsp)
	fninit
5:	cld

	movq	%rbx, %rsi		/* struct pt_regs * */
	call	kp_optprobe_handler
	movq	%rax, PT_REGS(%rbx)	/* where "ret $128" goes */

	testl	%r12d, %r12d
	jz	8f
	/* x87 was in its initial state: if a handler used it, so is it
	 * again (FNINIT sets exactly that state). */
	movl	$1, %ecx
	xgetbv
	testb	$1, %al
	jz	1f
	fninit
1:	ldmxcsr	FAST_MXCSR(%rsp)
	cmpb	$0, kp_x86_has_avx(%rip)
	je	9f
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	\n * 32(%rsp), %ymm\n
	.endr
	jmp	7f
9:	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	\n * 32(%rsp), %xmm\n
	.endr
	jmp	7f

8:	movl	kp_x86_save_kind(%rip), %ecx
	cmpl	$SAVE_FX, %ecx
	je	6f
	movl	kp_x86_save_mask(%rip), %eax
	movl	kp_x86_save_mask+4(%rip), %edx
	xrstor64 (%rsp)
	jmp	7f
6:	fxrstor64 (%rsp)
7:	movq	%rbx, %rsp
	.cfi_def_cfa_register %rsp
	pushq	EFLAGS(%rsp)
	.cfi_adjust_cfa_offset 8
	popfq
	.cfi_adjust_cfa_offset -8
	/* From here on nothing may change the flags: mov and lea only. */
	movq	R15(%rsp), %r15
	movq	R14(%rsp), %r14
	movq	R13(%rsp), %r13
	movq	R12(%rsp), %r12
	movq	RBP(%rsp), %rbp
	movq	RBX(%rsp), %rbx
	movq	R11(%rsp), %r11
	movq	R10(%rsp), %r10
	movq	R9(%rsp), %r9
	movq	R8(%rsp), %r8
	movq	RAX(%rsp), %rax
	movq	RCX(%rsp), %rcx
	movq	RDX(%rsp), %rdx
	movq	RSI(%rsp), %rsi
	movq	RDI(%rsp), %rdi
	leaq	PT_REGS(%rsp), %rsp
	.cfi_def_cfa_offset 136
	.cfi_undefined %rip
	ret	$128
	.cfi_endproc
	.size	kp_optprobe_common, . - kp_optprobe_common

	/* See kp_optprobe_handler(): the trap that applies the registers a
	 * handler chose, stack pointer included. Never returns here. */
	.globl	kp_opt_resume_bp
	.hidden	kp_opt_resume_bp
	.type	kp_opt_resume_bp, @function
kp_opt_resume_bp:
	int3
	ud2
	.size	kp_opt_resume_bp, . - kp_opt_resume_bp

	.section .note.GNU-stack,"",@progbits
