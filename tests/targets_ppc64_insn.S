/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ppc64 probe targets for the instruction-level live tests: test_insn.c
 * (t_pi_*), test_fault.c and test_signals.c (t_pf_*),
 * test_regs_preserved.c (t_pr_*) and test_foreign_trap.c (t_pt_*). The
 * general targets are in targets_ppc64.S; both files are linked into every
 * live test, so every name here has one of the prefixes above.
 *
 * As in targets_x86_64.S: each function follows the ELF ABI so the tests
 * call it from C through a pointer; a global label *_site marks a probed
 * instruction, and other labels mark where execution must continue after
 * it (the successor, a branch target, a return address), so that a
 * post_handler can compare instruction_pointer(regs) with them. Labels are
 * globals of no type: they do not split the enclosing function in the
 * symbol table. A function whose code address the tests compare with an
 * ip has a label *_entry at its first instruction (on ELFv1 the function's
 * symbol is its descriptor, not its code).
 *
 * Functions made with FUNC use no TOC: on ELFv2 they have only a global
 * entry (st_other 0), so a probe on the name lands on the first
 * instruction. FUNC_TOC functions set r2 up at their global entry, as
 * compiled code does, and reach data and code TOC-relative.
 */

#if defined(_CALL_ELF) && _CALL_ELF == 2
	.abiversion 2
#define FUNC(name)	.globl name; .type name, @function; name:
#define END(name)	.size name, . - name
/* The global entry computes r2 from r12 (the caller put the entry there);
 * callers in this object enter after it, at the local entry. */
#define FUNC_TOC(name)	FUNC(name)					\
			0: addis %r2, %r12, (.TOC. - 0b)@ha;		\
			addi %r2, %r2, (.TOC. - 0b)@l;			\
			.localentry name, . - name
/* The code of a function, as a branch target. */
#define CODE(name)	name
#else
/* ELFv1: the function's symbol is its descriptor in .opd; the code is at
 * .L.name, as GCC lays it out, and r2 comes from the descriptor. */
#define FUNC(name)	.globl name; .section ".opd", "aw"; .balign 8;	\
			name: .quad .L.name, .TOC.@tocbase, 0;		\
			.previous; .type name, @function; .L.name:
#define END(name)	.size name, . - .L.name
#define FUNC_TOC(name)	FUNC(name)
#define CODE(name)	.L.name
#endif
#define LABEL(name)	.globl name; name:

/* A stack frame of 32 bytes (the ELFv2 minimum; the callees here are
 * leaves, so it does on ELFv1 too) with LR saved in the caller's frame,
 * and its undoing. */
#define PROLOGUE	mflr %r0; std %r0, 16(%r1); stdu %r1, -32(%r1)
#define EPILOGUE	addi %r1, %r1, 32; ld %r0, 16(%r1); mtlr %r0

/* Where t_pi_ba and t_pi_bla branch to: an absolute address that ba/bla
 * can reach (below 32 MiB). test_insn.c maps a page there with the code
 * `addi r3, r3, 7; blr`, or skips those two cases. */
#define T_PI_ABS	0x01000000

	.data
	.balign 8
LABEL(t_pi_data)
	.quad	0x1122334455667788
/* t_pi_stored sits between two guard words: a store resolved against the
 * wrong base hits a neighbour. */
LABEL(t_pi_guard0)
	.quad	0x0badc0de0badc0de
LABEL(t_pi_stored)
	.quad	0
LABEL(t_pi_guard1)
	.quad	0x0badc0de0badc0de
/* T_PI_ABS, for the C side. */
LABEL(t_pi_abs)
	.quad	T_PI_ABS

	.text

/* ======================================================================
 * test_insn.c: one kind of instruction per site.
 * ====================================================================== */

/* long t_pi_mul3(long x): 3 * x. The callee of the call vectors. */
	.p2align 4
FUNC(t_pi_mul3)
LABEL(t_pi_mul3_entry)
	mulli	%r3, %r3, 3
	blr
END(t_pi_mul3)

/*
 * long t_pi_bl_back(long x): 3 * x + 2 through a bl backwards (to
 * t_pi_mul3, above). The prologue's mflr, std and stdu and the epilogue's
 * mtlr are probed too (test_insn.c).
 */
	.p2align 4
FUNC(t_pi_bl_back)
LABEL(t_pi_mflr_site)
	mflr	%r0
	std	%r0, 16(%r1)
LABEL(t_pi_stdu_site)
	stdu	%r1, -32(%r1)		/* the frame and its back chain */
LABEL(t_pi_stdu_next)
LABEL(t_pi_bl_back_site)
	bl	CODE(t_pi_mul3)
LABEL(t_pi_bl_back_ret)
	/* + 0 if the back chain stdu stored is the caller's r1. */
	ld	%r4, 0(%r1)
	addi	%r5, %r1, 32
	subf	%r4, %r5, %r4
	add	%r3, %r3, %r4
	addi	%r3, %r3, 2
	addi	%r1, %r1, 32
	ld	%r0, 16(%r1)
LABEL(t_pi_mtlr_site)
	mtlr	%r0
LABEL(t_pi_mtlr_next)
	blr
END(t_pi_bl_back)

/* long t_pi_bl_fwd(long x): 3 * x + 1 through a bl forwards (to
 * t_pi_mul3b, below). */
	.p2align 4
FUNC(t_pi_bl_fwd)
	PROLOGUE
LABEL(t_pi_bl_fwd_site)
	bl	CODE(t_pi_mul3b)
LABEL(t_pi_bl_fwd_ret)
	addi	%r3, %r3, 1
	EPILOGUE
	blr
END(t_pi_bl_fwd)

/* long t_pi_mul3b(long x): 3 * x, after its caller. */
	.p2align 4
FUNC(t_pi_mul3b)
LABEL(t_pi_mul3b_entry)
	mulli	%r3, %r3, 3
	blr
END(t_pi_mul3b)

/* long t_pi_b_fwd(long x): x + 1; the b skips the + 100. */
	.p2align 4
FUNC(t_pi_b_fwd)
LABEL(t_pi_b_fwd_site)
	b	1f
	addi	%r3, %r3, 100
1:
LABEL(t_pi_b_fwd_target)
	addi	%r3, %r3, 1
	blr
END(t_pi_b_fwd)

/* long t_pi_b_back(long x): x + 2; the probed b goes backwards. */
	.p2align 4
FUNC(t_pi_b_back)
	b	2f
1:
LABEL(t_pi_b_back_target)
	addi	%r3, %r3, 2
	blr
	addi	%r3, %r3, 100		/* never executed */
2:
LABEL(t_pi_b_back_site)
	b	1b
END(t_pi_b_back)

/* long t_pi_ba(long x): x + 7, by a tail branch to the code at T_PI_ABS
 * (ba: the target is the absolute address). */
	.p2align 4
FUNC(t_pi_ba)
LABEL(t_pi_ba_site)
	ba	T_PI_ABS
END(t_pi_ba)

/* long t_pi_bla(long x): x + 8, by a call to the code at T_PI_ABS. */
	.p2align 4
FUNC(t_pi_bla)
	PROLOGUE
LABEL(t_pi_bla_site)
	bla	T_PI_ABS
LABEL(t_pi_bla_ret)
	addi	%r3, %r3, 1
	EPILOGUE
	blr
END(t_pi_bla)

/* long t_pi_beq(long x): x == 0 ? 10 : 20; beq on cr0, taken for 0. */
	.p2align 4
FUNC(t_pi_beq)
	cmpdi	%r3, 0
LABEL(t_pi_beq_site)
	beq	1f
LABEL(t_pi_beq_fall)
	li	%r3, 20
	blr
1:
LABEL(t_pi_beq_target)
	li	%r3, 10
	blr
END(t_pi_beq)

/*
 * long t_pi_bne7(long x), x in {0, 1}: x != 0 ? 40 : 30; bne on cr7. cr0
 * is set the other way (its eq bit is cr7's negated), so a branch that
 * reads the wrong field, or numbers CR bits from the wrong end (cr7's eq
 * bit is 30 from the MSB, cr0's eq bit is 30 from the LSB), goes the
 * wrong way for both arguments.
 */
	.p2align 4
FUNC(t_pi_bne7)
	cmpdi	%cr7, %r3, 0
	cmpdi	%cr0, %r3, 1
LABEL(t_pi_bne7_site)
	bne	%cr7, 1f
LABEL(t_pi_bne7_fall)
	li	%r3, 30
	blr
1:
LABEL(t_pi_bne7_target)
	li	%r3, 40
	blr
END(t_pi_bne7)

/* long t_pi_bne_back(long n): n for n >= 1; the backward bne runs n times,
 * taken n - 1 times. */
	.p2align 4
FUNC(t_pi_bne_back)
	mr	%r4, %r3
	li	%r3, 0
1:
LABEL(t_pi_bne_back_top)
	addi	%r3, %r3, 1
	addi	%r4, %r4, -1
	cmpdi	%r4, 0
LABEL(t_pi_bne_back_site)
	bne	1b
LABEL(t_pi_bne_back_fall)
	blr
END(t_pi_bne_back)

/*
 * long t_pi_bdnz(long n): n + (CTR << 32) for n >= 1: a loop counted in
 * CTR, whose bdnz runs n times, taken n - 1 times, and leaves CTR 0.
 */
	.p2align 4
FUNC(t_pi_bdnz)
	mtctr	%r3
	li	%r3, 0
1:
LABEL(t_pi_bdnz_top)
	addi	%r3, %r3, 1
LABEL(t_pi_bdnz_site)
	bdnz	1b
LABEL(t_pi_bdnz_fall)
	mfctr	%r4
	sldi	%r4, %r4, 32
	add	%r3, %r3, %r4
	blr
END(t_pi_bdnz)

/* long t_pi_bdz(long n): n - 1 for n >= 1; the bdz runs n times and is
 * taken the last time, when the decrement leaves CTR 0. */
	.p2align 4
FUNC(t_pi_bdz)
	mtctr	%r3
	li	%r3, 0
1:
LABEL(t_pi_bdz_site)
	bdz	2f
LABEL(t_pi_bdz_fall)
	addi	%r3, %r3, 1
	b	1b
2:
LABEL(t_pi_bdz_target)
	blr
END(t_pi_bdz)

/*
 * long t_pi_bcl(void): &t_pi_data, computed from the address that
 * `bcl 20,31,$+4` leaves in LR: the PIC idiom (a branch always taken to
 * the next instruction, only to read its address).
 */
	.p2align 4
FUNC(t_pi_bcl)
	mflr	%r0
LABEL(t_pi_bcl_site)
	bcl	20, 31, 1f
1:
LABEL(t_pi_bcl_next)
	mflr	%r3
	mtlr	%r0
	addis	%r3, %r3, (t_pi_data - 1b)@ha
	addi	%r3, %r3, (t_pi_data - 1b)@l
	blr
END(t_pi_bcl)

/* long t_pi_blr(long x): x ^ 0x5a, probed on its blr. */
	.p2align 4
FUNC(t_pi_blr)
	xori	%r3, %r3, 0x5a
LABEL(t_pi_blr_site)
	blr
END(t_pi_blr)

/* long t_pi_blrl(long x): 3 * x + 3, calling t_pi_mul3 through LR. */
	.p2align 4
FUNC_TOC(t_pi_blrl)
	PROLOGUE
	addis	%r12, %r2, CODE(t_pi_mul3)@toc@ha
	addi	%r12, %r12, CODE(t_pi_mul3)@toc@l
	mtlr	%r12
LABEL(t_pi_blrl_site)
	blrl
LABEL(t_pi_blrl_ret)
	addi	%r3, %r3, 3
	EPILOGUE
	blr
END(t_pi_blrl)

/* long t_pi_bctr(long x): 3 * x, a tail call through CTR. */
	.p2align 4
FUNC_TOC(t_pi_bctr)
	addis	%r12, %r2, CODE(t_pi_mul3)@toc@ha
	addi	%r12, %r12, CODE(t_pi_mul3)@toc@l
	mtctr	%r12
LABEL(t_pi_bctr_site)
	bctr
END(t_pi_bctr)

/* long t_pi_bctrl(long x): 3 * x + 4, calling t_pi_mul3 through CTR. */
	.p2align 4
FUNC_TOC(t_pi_bctrl)
	PROLOGUE
	addis	%r12, %r2, CODE(t_pi_mul3)@toc@ha
	addi	%r12, %r12, CODE(t_pi_mul3)@toc@l
	mtctr	%r12
LABEL(t_pi_bctrl_site)
	bctrl
LABEL(t_pi_bctrl_ret)
	addi	%r3, %r3, 4
	EPILOGUE
	blr
END(t_pi_bctrl)

/* long t_pi_beqlr(long x): x == 0 ? 10 : 20; a conditional return (bclr)
 * on cr0, taken for 0. */
	.p2align 4
FUNC(t_pi_beqlr)
	cmpdi	%r3, 0
	li	%r3, 10
LABEL(t_pi_beqlr_site)
	beqlr
LABEL(t_pi_beqlr_fall)
	li	%r3, 20
	blr
END(t_pi_beqlr)

/*
 * long t_pi_bnectr(long x), x in {0, 1}: x != 0 ? 40 : 30; a conditional
 * branch through CTR (bcctr) on cr6, with cr0 the other way as in
 * t_pi_bne7.
 */
	.p2align 4
FUNC_TOC(t_pi_bnectr)
	addis	%r12, %r2, t_pi_bnectr_target@toc@ha
	addi	%r12, %r12, t_pi_bnectr_target@toc@l
	mtctr	%r12
	cmpdi	%cr6, %r3, 0
	cmpdi	%cr0, %r3, 1
LABEL(t_pi_bnectr_site)
	bnectr	%cr6
LABEL(t_pi_bnectr_fall)
	li	%r3, 30
	blr
LABEL(t_pi_bnectr_target)
	li	%r3, 40
	blr
END(t_pi_bnectr)

/* long t_pi_lnia(void): the address of t_pi_lnia_next, from lnia r3
 * (addpcis r3, 0). */
	.p2align 4
FUNC(t_pi_lnia)
LABEL(t_pi_lnia_site)
	lnia	%r3
LABEL(t_pi_lnia_next)
	blr
END(t_pi_lnia)

/* long t_pi_addpcis(long x): x + t_pi_addpcis_next - 0x20000, from
 * addpcis into r9 (a negative D, and rT other than the argument's). */
	.p2align 4
FUNC(t_pi_addpcis)
LABEL(t_pi_addpcis_site)
	addpcis	%r9, -2
LABEL(t_pi_addpcis_next)
	add	%r3, %r3, %r9
	blr
END(t_pi_addpcis)

/* long t_pi_load(void): t_pi_data, by a TOC-relative load (the linker
 * may turn the addis into a nop and the load into one off r2). */
	.p2align 4
FUNC_TOC(t_pi_load)
	addis	%r9, %r2, t_pi_data@toc@ha
LABEL(t_pi_load_site)
	ld	%r3, t_pi_data@toc@l(%r9)
LABEL(t_pi_load_next)
	blr
END(t_pi_load)

/* long t_pi_store(long x): stores x in t_pi_stored, TOC-relative, and
 * returns it reloaded. */
	.p2align 4
FUNC_TOC(t_pi_store)
	addis	%r9, %r2, t_pi_stored@toc@ha
LABEL(t_pi_store_site)
	std	%r3, t_pi_stored@toc@l(%r9)
LABEL(t_pi_store_next)
	ld	%r3, t_pi_stored@toc@l(%r9)
	blr
END(t_pi_store)

/* long t_pi_mfcr(long x): cr7 after cmpdi cr7, x, 5: 8 (x < 5), 4
 * (x > 5) or 2 (x == 5), read by mfcr. */
	.p2align 4
FUNC(t_pi_mfcr)
	cmpdi	%cr7, %r3, 5
LABEL(t_pi_mfcr_site)
	mfcr	%r3
LABEL(t_pi_mfcr_next)
	clrldi	%r3, %r3, 60
	blr
END(t_pi_mfcr)

/* long t_pi_mtcrf(long x): x & 0xf000000f, through cr0 and cr7 (mtcrf
 * 0x81: two fields, so not the one-field mtocrf form). */
	.p2align 4
FUNC(t_pi_mtcrf)
LABEL(t_pi_mtcrf_site)
	mtcrf	0x81, %r3
LABEL(t_pi_mtcrf_next)
	mfcr	%r3
	lis	%r4, 0xf000
	ori	%r4, %r4, 0xf
	and	%r3, %r3, %r4
	blr
END(t_pi_mtcrf)

/*
 * long t_pi_getpid(void): getpid() by sc, plus 1 << 32 if CR0[SO] is set
 * after it. The call succeeds, so the kernel clears SO; it is set before,
 * so a CR restored from before the sc shows.
 */
	.p2align 4
FUNC(t_pi_getpid)
	crset	so
	li	%r0, 20			/* __NR_getpid */
LABEL(t_pi_sc_site)
	sc
LABEL(t_pi_sc_next)
	mfcr	%r4
	rlwinm	%r4, %r4, 4, 31, 31	/* CR0[SO] */
	sldi	%r4, %r4, 32
	add	%r3, %r3, %r4
	blr
END(t_pi_getpid)

/* long t_pi_close_bad(void): close(-1) by sc: EBADF (9) in r3 and CR0[SO]
 * set (cleared before), so 9 + (1 << 32). */
	.p2align 4
FUNC(t_pi_close_bad)
	crclr	so
	li	%r0, 6			/* __NR_close */
	li	%r3, -1
LABEL(t_pi_sc_fail_site)
	sc
LABEL(t_pi_sc_fail_next)
	mfcr	%r4
	rlwinm	%r4, %r4, 4, 31, 31
	sldi	%r4, %r4, 32
	add	%r3, %r3, %r4
	blr
END(t_pi_close_bad)

/* ---- what register_kprobe() must refuse (never called) ---- */

/*
 * The prefixed pld first (the 64-byte alignment keeps it from crossing a
 * 64-byte boundary, where the assembler would put a nop in front of it);
 * t_pi_pld_site + 4 is its suffix, no instruction boundary.
 */
	.p2align 6
FUNC(t_pi_refused)
LABEL(t_pi_pld_site)
	.machine push
	.machine power10
	pld	%r3, 0(%r4), 0
	.machine pop
LABEL(t_pi_lwarx_site)
	lwarx	%r5, 0, %r3
LABEL(t_pi_stwcx_site)
	stwcx.	%r5, 0, %r3
LABEL(t_pi_ldarx_site)
	ldarx	%r5, 0, %r3
LABEL(t_pi_stdcx_site)
	stdcx.	%r5, 0, %r3
LABEL(t_pi_trap_site)
	trap
LABEL(t_pi_tw_site)
	tweq	%r3, %r4
LABEL(t_pi_td_site)
	tdlt	%r3, %r4
LABEL(t_pi_twi_site)
	twgti	%r3, 5
LABEL(t_pi_tdi_site)
	tdnei	%r3, 0
LABEL(t_pi_bctar_site)
	bctar	20, 0			/* btar */
LABEL(t_pi_bcctr_bo2_site)
	.long	0x4e000420		/* bcctr 16, 0: BO_2 clear, invalid */
	blr
END(t_pi_refused)

/* ======================================================================
 * test_fault.c and test_signals.c: faults out of line.
 * ====================================================================== */

/* long t_pf_load(const long *p): *p; the probed load runs from a slot. */
	.p2align 4
FUNC(t_pf_load)
LABEL(t_pf_load_site)
	ld	%r3, 0(%r3)
LABEL(t_pf_load_next)
	blr
END(t_pf_load)

/* long t_pf_plain(const long *p): the same load, never probed. */
	.p2align 4
FUNC(t_pf_plain)
	ld	%r3, 0(%r3)
	blr
END(t_pf_plain)

/* long *t_pf_stdu(long *p, long v): stores v at p + 1 and returns p + 1
 * (a store with update: r3 changes only if the store is done). */
	.p2align 4
FUNC(t_pf_stdu)
LABEL(t_pf_stdu_site)
	stdu	%r4, 8(%r3)
LABEL(t_pf_stdu_next)
	blr
END(t_pf_stdu)

/* long t_pf_illegal(long x): an illegal instruction (the word 0, primary
 * opcode 0), which raises SIGILL wherever it runs. Never returns
 * normally: the program's SIGILL handler leaves by siglongjmp. */
	.p2align 4
FUNC(t_pf_illegal)
	mr	%r4, %r3
LABEL(t_pf_illegal_site)
	.long	0
	blr
END(t_pf_illegal)

/* ======================================================================
 * test_regs_preserved.c: the state a hit must leave as it was.
 * ====================================================================== */

/* Register lists for .irp (the C preprocessor joins the lines). */
#define PR_VSX_ALL	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, \
			15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, \
			28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, \
			41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, \
			54, 55, 56, 57, 58, 59, 60, 61, 62, 63
#define PR_NONVOLATILE	14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, \
			26, 27, 28, 29, 30, 31
/* Loaded from in[] before the sites (r3, the base, last) and stored to
 * out[] after (r31, the base there, from where it was put aside). */
#define PR_LOADED	4, 5, 6, 7, 8, 9, 10, 11, 12, PR_NONVOLATILE
#define PR_STORED	2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, \
			17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, \
			30

/*
 * void t_pr_vsx(const uint8_t in[1056], uint8_t out[1056]): loads the 64
 * VSX registers (vs0-vs31 hold f0-f31, vs32-vs63 are v0-v31) from in[0..
 * 1023] (lxvd2x), VSCR from the vector at in[1024] (mtvscr) and FPSCR from
 * the double at in[1040] (mtfsf), runs three probed sites (a nop and an mr
 * run from slots, a b emulated), then stores them all to out the same way
 * (stxvd2x, mfvscr, mffs). The caller's VSX registers, VSCR and FPSCR are
 * saved in the frame and given back.
 */
#define PR_VSX_FRAME	1104	/* 32 + 64 * 16 + FPSCR, pad, VSCR */
	.p2align 4
FUNC(t_pr_vsx)
	stdu	%r1, -PR_VSX_FRAME(%r1)
	addi	%r6, %r1, 32		/* the save area */
	.irp	n, PR_VSX_ALL
	li	%r5, \n * 16
	stxvd2x	\n, %r6, %r5
	.endr
	mffs	%f0
	stfd	%f0, 1024(%r6)
	mfvscr	%v0
	li	%r5, 1040
	stvx	%v0, %r6, %r5		/* r1 + 1072: 16-aligned */
	/* The program's state. */
	li	%r5, 1024
	lxvd2x	32, %r3, %r5		/* v0 */
	mtvscr	%v0
	lfd	%f0, 1040(%r3)
	mtfsf	0xff, %f0
	.irp	n, PR_VSX_ALL
	li	%r5, \n * 16
	lxvd2x	\n, %r3, %r5
	.endr
LABEL(t_pr_vsx_nop)
	nop
LABEL(t_pr_vsx_mr)
	mr	%r7, %r3
LABEL(t_pr_vsx_b)
	b	1f
1:	.irp	n, PR_VSX_ALL
	li	%r5, \n * 16
	stxvd2x	\n, %r4, %r5
	.endr
	mffs	%f0
	stfd	%f0, 1040(%r4)
	mfvscr	%v0
	li	%r5, 1024
	stxvd2x	32, %r4, %r5
	/* The caller's state back. */
	lfd	%f0, 1024(%r6)
	mtfsf	0xff, %f0
	li	%r5, 1040
	lvx	%v0, %r6, %r5
	mtvscr	%v0
	.irp	n, PR_VSX_ALL
	li	%r5, \n * 16
	lxvd2x	\n, %r6, %r5
	.endr
	addi	%r1, %r1, PR_VSX_FRAME
	blr
END(t_pr_vsx)

/*
 * void t_pr_gprs(const unsigned long in[36], unsigned long out[36]): puts
 * in[n] in rn for every GPR but r1 and r13 (the stack and thread
 * pointers, which signal delivery needs), in[32] in CR (all eight
 * fields), in[33] in XER, in[34] in CTR and in[35] in LR; runs two probed
 * sites (a nop run from a slot, a b emulated); and stores them all to out
 * the same way (out[1] and out[13] are left alone). The nonvolatile
 * registers, r2 and the caller's CR fields are saved and given back.
 */
#define PR_GPRS_FRAME	224	/* 32 + r2, out, a temporary, r14-r31 */
	.p2align 4
FUNC(t_pr_gprs)
	mflr	%r0
	std	%r0, 16(%r1)
	mfcr	%r0
	stw	%r0, 8(%r1)
	stdu	%r1, -PR_GPRS_FRAME(%r1)
	std	%r2, 24(%r1)
	std	%r4, 32(%r1)		/* out */
	.irp	n, PR_NONVOLATILE
	std	\n, 48 + (\n - 14) * 8(%r1)
	.endr
	ld	%r0, 256(%r3)
	mtcrf	0xff, %r0
	ld	%r0, 264(%r3)
	mtxer	%r0
	ld	%r0, 272(%r3)
	mtctr	%r0
	ld	%r0, 280(%r3)
	mtlr	%r0
	ld	%r0, 0(%r3)
	ld	%r2, 16(%r3)
	.irp	n, PR_LOADED
	ld	\n, \n * 8(%r3)
	.endr
	ld	%r3, 24(%r3)
LABEL(t_pr_gprs_nop)
	nop
LABEL(t_pr_gprs_b)
	b	1f
1:	std	%r31, 40(%r1)
	ld	%r31, 32(%r1)		/* out */
	std	%r0, 0(%r31)
	.irp	n, PR_STORED
	std	\n, \n * 8(%r31)
	.endr
	ld	%r0, 40(%r1)		/* r31 */
	std	%r0, 248(%r31)
	mfcr	%r0
	std	%r0, 256(%r31)
	mfxer	%r0
	std	%r0, 264(%r31)
	mfctr	%r0
	std	%r0, 272(%r31)
	mflr	%r0
	std	%r0, 280(%r31)
	/* The caller's registers back. */
	ld	%r2, 24(%r1)
	.irp	n, PR_NONVOLATILE
	ld	\n, 48 + (\n - 14) * 8(%r1)
	.endr
	addi	%r1, %r1, PR_GPRS_FRAME
	lwz	%r0, 8(%r1)
	mtcrf	0xff, %r0
	ld	%r0, 16(%r1)
	mtlr	%r0
	blr
END(t_pr_gprs)

/*
 * long t_pr_redzone(long x): a leaf function keeping data in the 288
 * bytes below r1 (ELFv2's protected zone, which signal delivery must not
 * touch) across a probed nop (run from a slot) and a probed b (emulated).
 * Returns 7 when all three words (-8, -144, -288 from r1) survived; each
 * lost word clears a bit.
 */
	.p2align 4
FUNC(t_pr_redzone)
	std	%r3, -8(%r1)
	not	%r4, %r3
	std	%r4, -144(%r1)
	xori	%r4, %r3, 0x5555
	std	%r4, -288(%r1)
LABEL(t_pr_redzone_nop)
	nop
LABEL(t_pr_redzone_b)
	b	1f
1:	li	%r5, 0
	ld	%r4, -8(%r1)
	cmpd	%r4, %r3
	bne	2f
	ori	%r5, %r5, 1
2:	ld	%r4, -144(%r1)
	not	%r6, %r3
	cmpd	%r4, %r6
	bne	3f
	ori	%r5, %r5, 2
3:	ld	%r4, -288(%r1)
	xori	%r6, %r3, 0x5555
	cmpd	%r4, %r6
	bne	4f
	ori	%r5, %r5, 4
4:	mr	%r3, %r5
	blr
END(t_pr_redzone)

/* ======================================================================
 * test_foreign_trap.c: traps that are the program's own.
 * ====================================================================== */

/*
 * long t_pt_trap(long x): x + 1, with a `trap` of the program's own (the
 * very word libkprobe's breakpoints are) after the first instruction. A
 * trap reports its own address, not the next one as int3 does on x86_64,
 * so the program's SIGTRAP handler steps over it, to t_pt_trap_after; or
 * to t_pt_trap_end, past the addi too, and then the function returns x.
 */
	.p2align 4
FUNC(t_pt_trap)
	mr	%r4, %r3
LABEL(t_pt_trap_site)
	trap
LABEL(t_pt_trap_after)
	addi	%r3, %r4, 1
LABEL(t_pt_trap_end)
	blr
END(t_pt_trap)

/* long t_pt_tdeqi(long x): x + 2; the program's conditional trap (tdeqi)
 * fires for x == 0 only, and its handler steps over it. */
	.p2align 4
FUNC(t_pt_tdeqi)
	addi	%r4, %r3, 2
LABEL(t_pt_tdeqi_site)
	tdeqi	%r3, 0
LABEL(t_pt_tdeqi_after)
	mr	%r3, %r4
	blr
END(t_pt_tdeqi)

	.section .note.GNU-stack, "", @progbits
