// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ppc64 return stubs and their unwind info: the same design as
 * src/arch/x86_64/retstub.c (read that first), with the return address in
 * the link register.
 *
 * A kretprobe's entry handler puts stub k's address in LR; the probed
 * function saves it, restores it and returns into stub k, which runs
 *
 *	std	r12, -8(r1)		; the caller's r12, r11 and r0,
 *	std	r11, -16(r1)		;   below its stack pointer
 *	std	r0, -24(r1)
 *	lis	r11, index@h
 *	ori	r11, r11, index@l
 *	bcl	20, 31, 1f
 *   1:	mflr	r12
 *	addi	r12, r12, lits - 1b	; r12 = &lits
 *	ld	r0, 0(r12)		; lits[0]: &kp_kretprobe_trampoline
 *	mtlr	r0
 *	blr
 *
 * Through LR, not CTR: CTR is volatile too, but the caller must see it as
 * the function left it (the trampoline hands it to the handler in
 * pt_regs and restores it), while LR is the trampoline's to set: it puts
 * the real return address there before its own blr.
 *
 * and the trampoline, having saved the function's r2, takes libkprobe's
 * TOC pointer from lits[1]. (So the trampoline finds its TOC the same way
 * under ELFv2 and ELFv1, where no code can name the TOC's address.)
 *
 * Stubs are 48 bytes apart and the first word of each is a trap that never
 * runs, so that "return address - 1" (where unwinders look a return
 * address up) falls inside the stub's own FDE. One executable mapping
 * (laid out by src/core/retstub.c) holds the stubs and, at its end, lits;
 * read-write pages after it hold
 * two .eh_frames (one FDE per stub: LR saved at &ret_table[k]; the CFA
 * as arch_ret_cie() says) and the search table for libunwind.
 *
 * Registration time only (kprobe_mutex held).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ehframe.h"
#include "internal.h"

extern const char kp_kretprobe_trampoline[];

#define DW_LR		65	/* the link register's DWARF number */
/* Where a caller saves its TOC pointer: 24(r1) in ELFv2, 40(r1) in ELFv1;
 * and the load that takes it back after a call. */
#if defined(_CALL_ELF) && _CALL_ELF == 2
#define PPC_TOC_SLOT	24
#else
#define PPC_TOC_SLOT	40
#endif
#define PPC_LD_R2_TOC	(0xe8410000u | PPC_TOC_SLOT)	/* ld r2,slot(r1) */

/*
 * CIE: version 1, "zR", code align 4, data align -8, RA column LR,
 * pointers absolute. Two flavours of the stub's frame, as on x86_64:
 *
 * for libgcc: CFA = r1 + 16 and r1 = CFA - 16. libgcc tells frames apart
 *   by the CFA of the frame below them when it installs a C++ landing
 *   pad; with CFA = r1 (the function has popped its frame), the stub
 *   would be told by the function's CFA, which is also the caller's SP,
 *   what tells the caller: libgcc would take the stub for the handler's
 *   frame and abort.
 * for libunwind: CFA = r1, which libunwind takes for the caller's r1.
 */
void arch_ret_cie(uint8_t *p, bool for_libgcc)
{
	static const uint8_t gcc_rules[] = {
		0x0c, 1, 16,		/* DW_CFA_def_cfa: r1 + 16 */
		0x14, 1, 2,		/* DW_CFA_val_offset: r1 = CFA - 16 */
	};
	static const uint8_t unw_rules[] = {
		0x0c, 1, 0,		/* DW_CFA_def_cfa: r1 + 0 */
	};

	if (for_libgcc)
		kp_eh_cie(p, ARCH_RET_CIE_SIZE, 4, 0x78, DW_LR, gcc_rules,
			  sizeof(gcc_rules));
	else
		kp_eh_cie(p, ARCH_RET_CIE_SIZE, 4, 0x78, DW_LR, unw_rules,
			  sizeof(unw_rules));
}

/*
 * FDE for [start, start + len): LR saved at *ret_slot ("saved at", not
 * "has the value": x86_64's retstub.c says why libgcc needs that), and r2.
 *
 * r2, the TOC pointer: a caller that may reach another module's code
 * saves its r2 in its TOC slot (24(r1) in ELFv2, 40(r1) in ELFv1) before
 * the call and reloads it after (the word at the return address is
 * `ld r2,slot(r1)`); libgcc, finding no rule for r2, reads that word and
 * takes r2 from CFA + slot, which is right only where the CFA is the
 * caller's r1. So the stub says it: r2 is *(r1 + slot) if the word at the
 * real return address is that load, else what it is now.
 */
void arch_ret_fde(uint8_t *p, const uint8_t *cie, uintptr_t start,
		  size_t len, const uintptr_t *ret_slot, bool for_libgcc)
{
	uint8_t *q = kp_eh_fde(p, ARCH_RET_FDE_SIZE, cie, start, len, DW_LR,
			       ret_slot);

	(void)for_libgcc;			/* the CIEs differ, not these */
	*q++ = 0x16;				/* DW_CFA_val_expression */
	*q++ = 2;				/* r2 */
	*q++ = 29;				/* expression length */
	*q++ = 0x0e;				/* DW_OP_const8u ret_slot */
	q = kp_put64(q, (uintptr_t)ret_slot);
	*q++ = 0x06;				/* DW_OP_deref: ra */
	*q++ = 0x94;				/* DW_OP_deref_size 4 */
	*q++ = 4;
	*q++ = 0x0c;				/* DW_OP_const4u */
	q = kp_put32(q, PPC_LD_R2_TOC);
	*q++ = 0x29;				/* DW_OP_eq */
	*q++ = 0x28;				/* DW_OP_bra +5 */
	*q++ = 5;
	*q++ = 0;
	*q++ = 0x72;				/* DW_OP_breg2 0: r2 now */
	*q++ = 0;
	*q++ = 0x2f;				/* DW_OP_skip +3 */
	*q++ = 3;
	*q++ = 0;
	*q++ = 0x71;				/* DW_OP_breg1 slot */
	*q++ = PPC_TOC_SLOT;
	*q++ = 0x06;				/* DW_OP_deref: saved r2 */
	kp_eh_pad(p, q, ARCH_RET_FDE_SIZE);
}

/* D-form and friends, for the stub's code. */
static uint32_t d_form(unsigned int op, unsigned int rt, unsigned int ra,
		       uint16_t d)
{
	return op << 26 | rt << 21 | ra << 16 | d;
}

/* The stub page's lits: { &kp_kretprobe_trampoline, our TOC pointer }. */
static uint8_t *lits_of(uint8_t *code)
{
	return code + ARCH_RET_CODE - 16;
}

/* trap everywhere, and lits at the end. */
void arch_ret_code_init(uint8_t *code, size_t len)
{
	uintptr_t toc;

	for (size_t off = 0; off < len; off += 4)
		kp_put32(code + off, PPC_TRAP);
	/* Our TOC pointer: r2, here in libkprobe's own code. */
	__asm__("mr %0, 2" : "=r"(toc));
	kp_put64(lits_of(code), (uintptr_t)kp_kretprobe_trampoline);
	kp_put64(lits_of(code) + 8, toc);
}

void arch_ret_stub(uint8_t *code, uint8_t *s, unsigned int index)
{
	uint8_t *anchor = s + 24;		/* 1: */

	/* The three registers the stub needs go below r1 first: they are
	 * the caller's to keep (GCC's -fipa-ra keeps values in volatile
	 * registers across a call to a function it knows leaves them
	 * alone). At a return nothing lives there, and a signal frame
	 * leaves the protected zone alone. */
	kp_put32(s + 0, d_form(62, 12, 1, (uint16_t)-8));	/* std r12 */
	kp_put32(s + 4, d_form(62, 11, 1, (uint16_t)-16));	/* std r11 */
	kp_put32(s + 8, d_form(62, 0, 1, (uint16_t)-24));	/* std r0 */
	kp_put32(s + 12, d_form(15, 11, 0, index >> 16));	/* lis */
	kp_put32(s + 16, d_form(24, 11, 11, index & 0xffff));	/* ori */
	kp_put32(s + 20, 0x429f0005u);			/* bcl 20,31,1f */
	kp_put32(s + 24, 0x7d8802a6u);			/* mflr r12 */
	kp_put32(s + 28, d_form(14, 12, 12,		/* addi r12, r12, D */
			     (uint16_t)(lits_of(code) - anchor)));
	kp_put32(s + 32, d_form(58, 0, 12, 0));		/* ld r0, 0(r12) */
	kp_put32(s + 36, 0x7c0803a6u);			/* mtlr r0 */
	kp_put32(s + 40, 0x4e800020u);			/* blr */
}
