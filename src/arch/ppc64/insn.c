// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ppc64 decoder and branch emulator: pure functions of an instruction
 * word, its address and a few registers, so that they build and are tested
 * on any host (tests/test_ppc64_insn.c).
 *
 * Power ISA 3.1, Book I: every instruction whose effect depends on its own
 * address is a relative branch (b, bc and their absolute and link forms),
 * a branch through LR or CTR with the link bit (which writes the address
 * after it into LR), or addpcis. Those are emulated; everything else runs
 * unchanged from a slot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch-insn.h"

#define OPCD(i)		((i) >> 26)
#define XO10(i)		(((i) >> 1) & 0x3ff)
#define BO(i)		(((i) >> 21) & 0x1f)
#define BI(i)		(((i) >> 16) & 0x1f)

/* Sign-extend the low @bits bits of @v. */
static int64_t sext(uint64_t v, unsigned int bits)
{
	uint64_t m = 1ull << (bits - 1);

	v &= (1ull << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

bool ppc_is_prefix(uint32_t insn)
{
	return OPCD(insn) == 1;
}

/* Opcode 31 forms that cannot run apart from their partner, or trap. */
static bool x31_refused(unsigned int xo)
{
	switch (xo) {
	case 4:		/* tw */
	case 68:	/* td */
	case 20:	/* lwarx */
	case 52:	/* lbarx */
	case 84:	/* ldarx */
	case 116:	/* lharx */
	case 276:	/* lqarx */
	case 150:	/* stwcx. */
	case 182:	/* stqcx. */
	case 214:	/* stdcx. */
	case 694:	/* stbcx. */
	case 726:	/* sthcx. */
		return true;
	}
	return false;
}

static void name(struct arch_insn *ai, const char *base)
{
	snprintf(ai->mnemonic, sizeof(ai->mnemonic), "%s", base);
}

/* The conditional branches' names: the extended mnemonic for "always"
 * (BO = 1z1zz), the basic one otherwise. */
static void name_bc(struct arch_insn *ai, const char *always,
		    const char *basic)
{
	bool aa = ai->insn & 2;

	snprintf(ai->mnemonic, sizeof(ai->mnemonic), "%s%s%s",
		 (ai->bo & 0x14) == 0x14 ? always : basic,
		 ai->lk ? "l" : "", aa ? "a" : "");
}

int ppc_decode(uint32_t insn, uint64_t addr, struct arch_insn *ai)
{
	unsigned int op = OPCD(insn);

	memset(ai, 0, sizeof(*ai));
	ai->insn = insn;
	memcpy(ai->bytes, &insn, sizeof(insn));
	ai->kind = PPC_OOL;

	switch (op) {
	case 1:
		name(ai, "prefixed");
		return -EOPNOTSUPP;
	case 2:
		name(ai, "tdi");
		return -EOPNOTSUPP;
	case 3:
		name(ai, "twi");
		return -EOPNOTSUPP;
	case 18: {			/* I-form: b, ba, bl, bla */
		int64_t li = sext(insn & 0x03fffffc, 26);

		ai->kind = PPC_B;
		ai->lk = insn & 1;
		ai->target = (insn & 2) ? (uint64_t)li : addr + (uint64_t)li;
		snprintf(ai->mnemonic, sizeof(ai->mnemonic), "b%s%s",
			 ai->lk ? "l" : "", (insn & 2) ? "a" : "");
		return 0;
	}
	case 16: {			/* B-form: bc, bca, bcl, bcla */
		int64_t bd = sext(insn & 0xfffc, 16);

		ai->kind = PPC_BC;
		ai->lk = insn & 1;
		ai->bo = BO(insn);
		ai->bi = BI(insn);
		ai->target = (insn & 2) ? (uint64_t)bd : addr + (uint64_t)bd;
		name_bc(ai, "b", "bc");
		return 0;
	}
	case 19:
		if (((insn >> 1) & 0x1f) == 2) {	/* DX-form: addpcis */
			uint64_t d = ((insn >> 6) & 0x3ff) << 6 |
				     ((insn >> 16) & 0x1f) << 1 | (insn & 1);

			ai->kind = PPC_ADDPCIS;
			ai->rt = (insn >> 21) & 0x1f;
			ai->value = sext(d, 16) * 65536;
			name(ai, "addpcis");
			return 0;
		}
		ai->bo = BO(insn);
		ai->bi = BI(insn);
		ai->lk = insn & 1;
		switch (XO10(insn)) {
		case 16:
			ai->kind = PPC_BCLR;
			name_bc(ai, "blr", "bclr");
			return 0;
		case 528:
			ai->kind = PPC_BCCTR;
			name_bc(ai, "bctr", "bcctr");
			/* "If BO_2 = 0, the instruction form is invalid." */
			return (ai->bo & 4) ? 0 : -EOPNOTSUPP;
		case 560:
			name_bc(ai, "btar", "bctar");
			return -EOPNOTSUPP;
		}
		break;
	case 31:
		if (x31_refused(XO10(insn))) {
			name(ai, XO10(insn) == 4 ? "tw" :
				 XO10(insn) == 68 ? "td" : "larx/stcx.");
			return -EOPNOTSUPP;
		}
		break;
	}
	/* Out of line: no branch fields (opcode 19 has non-branches too). */
	ai->lk = false;
	ai->bo = ai->bi = 0;
	/* The caller names it better if it can (Capstone). */
	snprintf(ai->mnemonic, sizeof(ai->mnemonic), "opcode %u", op);
	return 0;
}

/* CR bit @bi, numbered from the most significant, as the ISA does. */
static bool cr_bit(uint32_t cr, unsigned int bi)
{
	return (cr >> (31 - bi)) & 1;
}

/* BO's two tests, with the CTR decrement (BO_2 clear) first. */
static bool bo_taken(unsigned int bo, unsigned int bi, uint32_t cr,
		     uint64_t *ctr)
{
	bool ctr_ok = true, cond_ok = true;

	if (!(bo & 4)) {
		*ctr -= 1;
		ctr_ok = (*ctr != 0) != !!(bo & 2);
	}
	if (!(bo & 16))
		cond_ok = cr_bit(cr, bi) == !!(bo & 8);
	return ctr_ok && cond_ok;
}

uint64_t ppc_emulate(const struct arch_insn *ai, uint64_t addr,
		     struct ppc_branch_regs *r)
{
	uint64_t next = addr + 4, target = next;

	switch (ai->kind) {
	case PPC_B:
		target = ai->target;
		break;
	case PPC_BC:
		if (bo_taken(ai->bo, ai->bi, r->cr, &r->ctr))
			target = ai->target;
		break;
	case PPC_BCLR:
		/* The target is LR before this instruction writes it. */
		if (bo_taken(ai->bo, ai->bi, r->cr, &r->ctr))
			target = r->lr & ~3ull;
		break;
	case PPC_BCCTR:
		if (bo_taken(ai->bo | 4, ai->bi, r->cr, &r->ctr))
			target = r->ctr & ~3ull;
		break;
	case PPC_ADDPCIS:
		r->nip = next;
		return next + (uint64_t)ai->value;
	default:
		return 0;
	}
	if (ai->lk)
		r->lr = next;
	r->nip = target;
	return 0;
}
