/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The return trampoline of kretprobes, and the breakpoints of
 * jprobe_return() and of a resumed optimized hit. ELFv2 and ELFv1 (asm.h).
 *
 * A return stub (retstub.c) branches here through LR just after the
 * probed function's blr, with r11 = its index and r12 = the address of
 * the stub page's { this address, libkprobe's TOC pointer }, and the
 * caller's r12, r11 and r0 saved at -8, -16 and -24 from r1, the
 * caller's stack pointer. CTR, XER and CR may be volatile at a return but
 * the caller sees them as the function left them, and r3/r4, f1-f8 and
 * v2-v9 may hold the return value: all of them are saved, so a handler in
 * C changes nothing it did not mean to. The real return address goes back
 * into LR before the final blr, so the caller sees LR as a plain return
 * would have left it.
 *
 * Frame, from the new r1 up (FRAME bytes, 16-byte aligned):
 *   0    back chain, CR, LR and TOC save words, parameter save area
 *        (ELFv1's 112 bytes, more than ELFv2's 32 need)
 *   112  struct pt_regs (44 words)
 *   464  the real return address, written by the C side: the unwind info
 *        below says LR is saved here, so a stack walked from a return
 *        handler goes on to the real caller
 *   472  FPSCR
 *   480  f0-f13
 *   592  v2-v9 (16 bytes each)
 */
#include "asm.h"

	ABI_HEADER

#define REGS	112
#define GPR(n)	(REGS + 8 * (n))
#define NIP	GPR(32)
#define CTR	GPR(35)
#define LNK	GPR(36)
#define XER	GPR(37)
#define CCR	GPR(38)
#define RA	464
#define FPSCR	472
#define FPR(n)	(480 + 8 * (n))
#define VR(n)	(592 + 16 * ((n) - 2))
#define FRAME	720

	.text
	/* Only ever branched to (from a stub), never called: a code label,
	 * with no ELFv1 descriptor. */
	.globl	kp_kretprobe_trampoline
	.hidden	kp_kretprobe_trampoline
#if PPC_ELFV2
	.type	kp_kretprobe_trampoline, @function
#endif
	.p2align 4
	nop			/* unwinders may look up "address - 1" */
kp_kretprobe_trampoline:
	.cfi_startproc
	.cfi_def_cfa 1, 0
	stdu	1, -FRAME(1)
	.cfi_def_cfa_offset FRAME
	.cfi_offset 65, RA - FRAME		/* LR */
	std	3, GPR(3)(1)
	/* The caller's r0, r11 and r12, from below its r1 (the stub's),
	 * before the vector save area below overwrites them. */
	ld	3, FRAME - 24(1)
	std	3, GPR(0)(1)
	ld	3, FRAME - 16(1)
	std	3, GPR(11)(1)
	ld	3, FRAME - 8(1)
	std	3, GPR(12)(1)
	ld	3, GPR(3)(1)
	std	2, GPR(2)(1)
	std	4, GPR(4)(1)
	std	5, GPR(5)(1)
	std	6, GPR(6)(1)
	std	7, GPR(7)(1)
	std	8, GPR(8)(1)
	std	9, GPR(9)(1)
	std	10, GPR(10)(1)
	std	13, GPR(13)(1)
	std	14, GPR(14)(1)
	std	15, GPR(15)(1)
	std	16, GPR(16)(1)
	std	17, GPR(17)(1)
	std	18, GPR(18)(1)
	std	19, GPR(19)(1)
	std	20, GPR(20)(1)
	std	21, GPR(21)(1)
	std	22, GPR(22)(1)
	std	23, GPR(23)(1)
	std	24, GPR(24)(1)
	std	25, GPR(25)(1)
	std	26, GPR(26)(1)
	std	27, GPR(27)(1)
	std	28, GPR(28)(1)
	std	29, GPR(29)(1)
	std	30, GPR(30)(1)
	std	31, GPR(31)(1)
	addi	0, 1, FRAME
	std	0, GPR(1)(1)			/* r1 after the return */
	li	0, 0
	std	0, NIP(1)			/* the C side sets it */
	std	0, GPR(33)(1)			/* msr */
	std	3, GPR(34)(1)			/* orig_gpr3 */
	std	0, GPR(39)(1)			/* softe ... result */
	std	0, GPR(40)(1)
	std	0, GPR(41)(1)
	std	0, GPR(42)(1)
	std	0, GPR(43)(1)
	mfctr	0
	std	0, CTR(1)
	mflr	0
	std	0, LNK(1)
	mfxer	0
	std	0, XER(1)
	mfcr	0
	std	0, CCR(1)
	stfd	0, FPR(0)(1)
	stfd	1, FPR(1)(1)
	stfd	2, FPR(2)(1)
	stfd	3, FPR(3)(1)
	stfd	4, FPR(4)(1)
	stfd	5, FPR(5)(1)
	stfd	6, FPR(6)(1)
	stfd	7, FPR(7)(1)
	stfd	8, FPR(8)(1)
	stfd	9, FPR(9)(1)
	stfd	10, FPR(10)(1)
	stfd	11, FPR(11)(1)
	stfd	12, FPR(12)(1)
	stfd	13, FPR(13)(1)
	mffs	0
	stfd	0, FPSCR(1)
	li	0, VR(2)
	stvx	2, 1, 0
	li	0, VR(3)
	stvx	3, 1, 0
	li	0, VR(4)
	stvx	4, 1, 0
	li	0, VR(5)
	stvx	5, 1, 0
	li	0, VR(6)
	stvx	6, 1, 0
	li	0, VR(7)
	stvx	7, 1, 0
	li	0, VR(8)
	stvx	8, 1, 0
	li	0, VR(9)
	stvx	9, 1, 0

	/* Our TOC, from the stub page's lits (retstub.c): r12 = &lits. */
	ld	2, 8(12)
	addi	3, 1, REGS			/* struct pt_regs * */
	clrldi	4, 11, 32			/* index */
	addi	5, 1, RA			/* return address slot */
	li	6, 0				/* not light */
	bl	kp_kretprobe_trampoline_handler
	nop
	mtlr	3				/* the real return address */

	li	0, VR(2)
	lvx	2, 1, 0
	li	0, VR(3)
	lvx	3, 1, 0
	li	0, VR(4)
	lvx	4, 1, 0
	li	0, VR(5)
	lvx	5, 1, 0
	li	0, VR(6)
	lvx	6, 1, 0
	li	0, VR(7)
	lvx	7, 1, 0
	li	0, VR(8)
	lvx	8, 1, 0
	li	0, VR(9)
	lvx	9, 1, 0
	lfd	0, FPSCR(1)
	mtfsf	0xff, 0
	lfd	0, FPR(0)(1)
	lfd	1, FPR(1)(1)
	lfd	2, FPR(2)(1)
	lfd	3, FPR(3)(1)
	lfd	4, FPR(4)(1)
	lfd	5, FPR(5)(1)
	lfd	6, FPR(6)(1)
	lfd	7, FPR(7)(1)
	lfd	8, FPR(8)(1)
	lfd	9, FPR(9)(1)
	lfd	10, FPR(10)(1)
	lfd	11, FPR(11)(1)
	lfd	12, FPR(12)(1)
	lfd	13, FPR(13)(1)
	ld	0, CCR(1)
	mtcr	0
	ld	0, XER(1)
	mtxer	0
	ld	0, CTR(1)
	mtctr	0
	/* What a handler may have changed, r1 excepted. */
	ld	0, GPR(0)(1)
	ld	2, GPR(2)(1)
	ld	3, GPR(3)(1)
	ld	4, GPR(4)(1)
	ld	5, GPR(5)(1)
	ld	6, GPR(6)(1)
	ld	7, GPR(7)(1)
	ld	8, GPR(8)(1)
	ld	9, GPR(9)(1)
	ld	10, GPR(10)(1)
	ld	11, GPR(11)(1)
	ld	12, GPR(12)(1)
	ld	13, GPR(13)(1)
	ld	14, GPR(14)(1)
	ld	15, GPR(15)(1)
	ld	16, GPR(16)(1)
	ld	17, GPR(17)(1)
	ld	18, GPR(18)(1)
	ld	19, GPR(19)(1)
	ld	20, GPR(20)(1)
	ld	21, GPR(21)(1)
	ld	22, GPR(22)(1)
	ld	23, GPR(23)(1)
	ld	24, GPR(24)(1)
	ld	25, GPR(25)(1)
	ld	26, GPR(26)(1)
	ld	27, GPR(27)(1)
	ld	28, GPR(28)(1)
	ld	29, GPR(29)(1)
	ld	30, GPR(30)(1)
	ld	31, GPR(31)(1)
	addi	1, 1, FRAME
	.cfi_def_cfa_offset 0
	blr
	.cfi_endproc
	.size	kp_kretprobe_trampoline, . - kp_kretprobe_trampoline


	/*
	 * void jprobe_return(void): the end of a jprobe's entry function.
	 * Trap; the break handler puts the registers and the stack back as
	 * they were at the probed function's entry and runs it. Never returns.
	 */
C_FUNC(jprobe_return)
	.globl	kp_jprobe_return_bp
	.hidden	kp_jprobe_return_bp
kp_jprobe_return_bp:
	trap
	trap
C_END(jprobe_return)

	/* Where a jump-optimized hit resumes through a signal return; no
	 * jump optimization on ppc64, so never reached, but the core knows
	 * the address. */
	.globl	kp_opt_resume_bp
	.hidden	kp_opt_resume_bp
kp_opt_resume_bp:
	trap
	.size	kp_opt_resume_bp, . - kp_opt_resume_bp

	.section .note.GNU-stack,"",@progbits
