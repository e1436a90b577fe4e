/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probe targets whose exact instructions the live tests need: the ppc64
 * counterparts of tests/targets_x86_64.S, under the same names where the
 * role is the same, so that the C tests stay arch-neutral. (The targets of
 * single instructions, branches and the like, are in targets_ppc64_insn.S.)
 *
 * C gives no control over which instruction sits at which offset; these do.
 * Every function follows the ELF ABI so the tests call it from C through a
 * pointer. A global label marks a probed instruction, and other labels mark
 * where execution must continue after it, so a post_handler can compare
 * instruction_pointer(regs) with them. Labels are globals of no type: they
 * do not split the enclosing function in the symbol table.
 *
 * None of these functions uses the TOC, so on ELFv2 each has only a global
 * entry point (st_other 0) and a probe on its name or address lands on its
 * first instruction. The targets never called (the refused instructions)
 * are never executed, so Power10 instructions among them are fine on any
 * processor.
 */

#if defined(_CALL_ELF) && _CALL_ELF == 2
	.abiversion 2
#define FUNC(name)	.globl name; .type name, @function; name:
#define END(name)	.size name, . - name
#else
/* ELFv1: the function's symbol is its descriptor in .opd; the code is at
 * .L.name, as GCC lays it out. */
#define FUNC(name)	.globl name; .section ".opd", "aw"; .balign 8;	\
			name: .quad .L.name, .TOC.@tocbase, 0; .previous;	\
			.type name, @function; .L.name:
#define END(name)	.size name, . - .L.name
#endif
#define LABEL(name)	.globl name; name:

	.text

/*
 * long t_add(long a, long b): a + b, in three 4-byte instructions, as on
 * x86_64: the first copies a into a scratch register (r5 here, rax there;
 * testutil.h's T_ADD_DST), the second (t_add_second, t_add + 4) adds b to
 * it into the return register, the third returns. Size 12 (T_ADD_SIZE).
 */
	.p2align 4
FUNC(t_add)
	mr	%r5, %r3
LABEL(t_add_second)
	add	%r3, %r5, %r4
LABEL(t_add_ret)
	blr
END(t_add)

/*
 * long t_straddle(void): 7. Its first word is the last of a 64 KiB page
 * (the largest ppc64 page size, so also of a 4 KiB one) and the rest is on
 * the next page: t_straddle_second, page-aligned, is in another mapping
 * once patching has split the text at page granularity.
 */
	.p2align 16
	.skip	65532
FUNC(t_straddle)
	nop
LABEL(t_straddle_second)
	li	%r3, 7
	blr
END(t_straddle)

/* ---- what register_kprobe() must refuse (never called) ---- */

/*
 * An 8-byte first instruction, as the 10-byte movabs on x86_64: a prefixed
 * (Power10) pli. t_long_first + 4 is its suffix, a word that is no
 * instruction boundary (and one that would decode alone: li r3,0x5678);
 * t_long_first + 8 is the blr. The 64-byte alignment
 * keeps the prefixed instruction from crossing a 64-byte boundary, which
 * would make the assembler put a nop in front of it.
 */
	.p2align 6
FUNC(t_long_first)
	.machine push
	.machine power10
	pli	%r3, 0x12345678		/* 06001234 38605678 */
	.machine pop
LABEL(t_long_first_ret)
	blr
END(t_long_first)

/* trap (tw 31,0,0): the breakpoint itself, as int3 on x86_64. */
	.p2align 4
FUNC(t_bad_trap)
	trap
	blr
END(t_bad_trap)

/* A conditional trap word (tw with TO = eq). */
	.p2align 4
FUNC(t_bad_tw)
	tweq	%r3, %r4
	blr
END(t_bad_tw)

/* A trap word immediate (twi). */
	.p2align 4
FUNC(t_bad_twi)
	tweqi	%r3, 0
	blr
END(t_bad_twi)

/* A trap doubleword (td). */
	.p2align 4
FUNC(t_bad_td)
	tdne	%r3, %r4
	blr
END(t_bad_td)

/* A trap doubleword immediate (tdi). */
	.p2align 4
FUNC(t_bad_tdi)
	tdnei	%r3, 0
	blr
END(t_bad_tdi)

/*
 * Load-reserve/store-conditional pairs, atomic increments of *r3: either
 * half run out of line apart from the other loses or fakes the reservation
 * (a trap between them clears it, and the store would then always fail:
 * the loop would never end). Both halves are refused.
 */
	.p2align 4
FUNC(t_bad_lwarx)
1:	lwarx	%r5, 0, %r3
	addi	%r5, %r5, 1
LABEL(t_bad_stwcx)
	stwcx.	%r5, 0, %r3
	bne-	1b
	blr
END(t_bad_lwarx)

	.p2align 4
FUNC(t_bad_ldarx)
1:	ldarx	%r5, 0, %r3
	addi	%r5, %r5, 1
LABEL(t_bad_stdcx)
	stdcx.	%r5, 0, %r3
	bne-	1b
	blr
END(t_bad_ldarx)

	.p2align 4
FUNC(t_bad_lbarx)
1:	lbarx	%r5, 0, %r3
	addi	%r5, %r5, 1
LABEL(t_bad_stbcx)
	stbcx.	%r5, 0, %r3
	bne-	1b
	blr
END(t_bad_lbarx)

	.p2align 4
FUNC(t_bad_lharx)
1:	lharx	%r5, 0, %r3
	addi	%r5, %r5, 1
LABEL(t_bad_sthcx)
	sthcx.	%r5, 0, %r3
	bne-	1b
	blr
END(t_bad_lharx)

/* The quadword pair (r6:r7; *r3 16-byte aligned). */
	.p2align 4
FUNC(t_bad_lqarx)
1:	lqarx	%r6, 0, %r3
	addi	%r7, %r7, 1
LABEL(t_bad_stqcx)
	stqcx.	%r6, 0, %r3
	bne-	1b
	blr
END(t_bad_lqarx)

/* A prefixed (Power10) instruction other than t_long_first's pli: its
 * suffix would run alone out of line. */
	.p2align 6
FUNC(t_bad_prefixed)
	.machine push
	.machine power10
	paddi	%r3, %r4, 1
	.machine pop
	blr
END(t_bad_prefixed)

/* bctar: a branch through the target address register, which is not in
 * struct pt_regs (so it cannot be emulated). */
	.p2align 4
FUNC(t_bad_bctar)
	bctar	20, 0, 0		/* btar */
	blr
END(t_bad_bctar)

/* bcctr with BO_2 clear (decrement CTR and branch to it: bdnzctr), an
 * invalid form the assembler will not write. */
	.p2align 4
FUNC(t_bad_bcctr)
	.long	0x4e000420		/* bcctr 16, 0 */
	blr
END(t_bad_bcctr)

	.section .note.GNU-stack, "", @progbits
