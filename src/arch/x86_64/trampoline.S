/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The return trampoline of kretprobes, and jprobe_return()'s breakpoint.
 *
 * A return stub (retstub.c) jumps here just after the probed function's
 * ret: rsp is the caller's stack pointer, and the slot below it, which
 * held the stub's address, now holds the stub's index (every register is
 * still the function's, as it returned), with bit 31 set if the stub
 * called the function (a call-in). That slot is where we put the real
 * return address before calling into C, so that unwinding from a return
 * handler runs through this frame to the real caller.
 *
 * Frame, from the entry rsp (CFA) down:
 *   -8      return address slot (our last jump goes through it)
 *   -176    struct pt_regs (168 bytes)
 *   -688    fxsave area (512 bytes): x87 (long double results), MXCSR and
 *           xmm0-15 (double results) survive C code in the handler;
 *           unused on the light path
 * The entry rsp is 16-byte aligned, as after any ret to ABI-conforming code.
 */
#include "flags.h"

	.text

#define REGS	512
#define FRAME	688
#define CALLIN	31		/* the index's bit: ARCH_RET_CALLIN_BIT */

/*
 * RET_EXIT: the flags, as the function returned them but for those a
 * handler may change, every general register, and back to the real caller.
 */
.macro RET_EXIT callin
	movq	REGS+144(%rsp), %rdx
	andl	$USER_FLAGS, %edx
	andq	$~USER_FLAGS, %r13
	orq	%r13, %rdx
	SET_FLAGS
	/* From here on nothing may change the flags: mov and lea only. */
	movq	REGS+0(%rsp), %r15
	movq	REGS+8(%rsp), %r14
	movq	REGS+16(%rsp), %r13
	movq	REGS+24(%rsp), %r12
	movq	REGS+32(%rsp), %rbp
	movq	REGS+40(%rsp), %rbx
	movq	REGS+56(%rsp), %r10
	movq	REGS+64(%rsp), %r9
	movq	REGS+72(%rsp), %r8
	movq	REGS+80(%rsp), %rax
	movq	REGS+88(%rsp), %rcx
	movq	REGS+96(%rsp), %rdx
	movq	REGS+104(%rsp), %rsi
	movq	REGS+112(%rsp), %rdi
	movq	REGS+48(%rsp), %r11
.if \callin
	/*
	 * The stub called the function, whose ret popped the stub's entry
	 * off the return stack predictor: the next one is the real
	 * caller's, and a ret is predicted.
	 */
	leaq	FRAME-8(%rsp), %rsp
	.cfi_def_cfa_offset 8
	ret
.else
	/*
	 * Back to the real caller by an indirect jump, not a ret: the
	 * function's own ret already popped the caller's entry off the
	 * return stack predictor (and mispredicted into the stub), so a ret
	 * here would mispredict again, and so would every ret of the
	 * caller's callers after it. The jump is predicted like any other
	 * (7-10 ns less per hit here). A signal between the two instructions
	 * leaves the slot alone: the kernel skips the red zone.
	 */
	leaq	FRAME(%rsp), %rsp
	.cfi_def_cfa_offset 0
	jmp	*-8(%rsp)
.endif
.endm

	.globl	kp_kretprobe_trampoline
	.hidden	kp_kretprobe_trampoline
	.type	kp_kretprobe_trampoline, @function
	.p2align 4
	nop			/* unwinders may look up "address - 1" */
kp_kretprobe_trampoline:
	.cfi_startproc
	.cfi_def_cfa %rsp, 0
	.cfi_offset %rip, -8
	leaq	-FRAME(%rsp), %rsp		/* lea: the flags are still the function's */
	.cfi_def_cfa_offset FRAME
	movq	%r15, REGS+0(%rsp)
	movq	%r14, REGS+8(%rsp)
	movq	%r13, REGS+16(%rsp)
	movq	%r12, REGS+24(%rsp)
	movq	%rbp, REGS+32(%rsp)
	movq	%rbx, REGS+40(%rsp)
	movq	%r11, REGS+48(%rsp)
	movq	%r10, REGS+56(%rsp)
	movq	%r9, REGS+64(%rsp)
	movq	%r8, REGS+72(%rsp)
	movq	%rax, REGS+80(%rsp)
	movq	%rcx, REGS+88(%rsp)
	movq	%rdx, REGS+96(%rsp)
	movq	%rsi, REGS+104(%rsp)
	movq	%rdi, REGS+112(%rsp)
	movq	$-1, REGS+120(%rsp)		/* orig_rax */
	movq	$0, REGS+128(%rsp)		/* rip: the C side sets it */
	movq	kp_x86_user_cs(%rip), %rax
	movq	%rax, REGS+136(%rsp)
	pushfq
	.cfi_adjust_cfa_offset 8
	popq	%r13			/* the flags (r13 is saved) */
	.cfi_adjust_cfa_offset -8
	movq	%r13, REGS+144(%rsp)
	leaq	FRAME(%rsp), %rax
	movq	%rax, REGS+152(%rsp)		/* rsp after the return */
	movq	kp_x86_user_ss(%rip), %rax
	movq	%rax, REGS+160(%rsp)
	movl	FRAME-8(%rsp), %r12d		/* index (r12 is saved) */
	movl	%r12d, %r14d
	andl	$~(1 << CALLIN), %r14d		/* without the bit (r14 too) */
	cld
	/*
	 * The light path first (docs/design.md): a return handler known to
	 * touch only general registers runs without the vector and x87
	 * state saved. 0 back: it is not one; save the state and call again.
	 */
	movq	kp_errno_off(%rip), %r15	/* errno, kept here (r15 is */
	movl	%fs:(%r15), %r15d		/* saved): ARCH_RET_KEEPS_ERRNO */
	cmpb	$0, kp_x86_light_ok(%rip)
	je	1f
	leaq	REGS(%rsp), %rdi		/* struct pt_regs * */
	movl	%r14d, %esi			/* index */
	leaq	FRAME-8(%rsp), %rdx		/* return address slot */
	movl	$1, %ecx			/* light */
	call	kp_kretprobe_trampoline_handler
	testq	%rax, %rax
	jnz	2f
1:	fxsave64 (%rsp)
	fninit				/* C code wants an empty x87 stack */
	leaq	REGS(%rsp), %rdi
	movl	%r14d, %esi
	leaq	FRAME-8(%rsp), %rdx
	xorl	%ecx, %ecx
	call	kp_kretprobe_trampoline_handler
	fxrstor64 (%rsp)
2:	movq	kp_errno_off(%rip), %rcx
	movl	%r15d, %fs:(%rcx)
	btl	$CALLIN, %r12d
	jc	3f
	.cfi_remember_state
	RET_EXIT 0
	.cfi_restore_state
3:	RET_EXIT 1
	.cfi_endproc
	.size	kp_kretprobe_trampoline, . - kp_kretprobe_trampoline

	/*
	 * void jprobe_return(void): the end of a jprobe's entry function.
	 * Trap; the break handler puts the registers and the stack back as
	 * they were at the probed function's entry and runs it. Never returns.
	 */
	.globl	jprobe_return
	.type	jprobe_return, @function
jprobe_return:
	.cfi_startproc
	.globl	kp_jprobe_return_bp
	.hidden	kp_jprobe_return_bp
kp_jprobe_return_bp:
	int3
	ud2
	.cfi_endproc
	.size	jprobe_return, . - jprobe_return

	.section .note.GNU-stack,"",@progbits
