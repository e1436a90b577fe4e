// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit test of the ppc64 decoder and branch emulator
 * (src/arch/ppc64/insn.c).
 *
 * On every host it proves, from vectors whose words come from the GNU
 * assembler (powerpc64le-linux-gnu-as -a64 -mpower10) and whose expected
 * results were worked out from Power ISA 3.1 Book I (Branch Facility):
 *  - ppc_decode() sorts each word right: emulated (b, bc, bclr, bcctr,
 *    addpcis), refused (traps, every larx and stcx., prefixed, bctar,
 *    bcctr with BO_2 clear) or run out of line (everything else), with
 *    the target, BO, BI, LK, rT and D that the emulator needs;
 *  - ppc_emulate() moves nip, LR and CTR as the processor does: sign
 *    extension of LI and BD up to their extremes, AA, the CTR decrement
 *    and both CTR tests on all 64 bits, CR bits numbered from the MSB, LR
 *    written by the link forms taken or not, bclr's target read before
 *    that write, no CTR decrement for bcctr, and addpcis' rT;
 *  - every one of the 32 BO values against the ISA's table of BO
 *    encodings (Figure 40), for bc, bclr and bcctr.
 *
 * On ppc64 it also runs each branch and addpcis on the processor, in a
 * stub written into an executable mapping, and checks that ppc_emulate()
 * agrees with where the processor went and what it left in LR, CTR and
 * rT: the vectors above, then every BO x a few BI x CR x CTR values for
 * bc, bclr and bcctr with and without link, b/bl/ba/bla up to LI's
 * extremes, and addpcis with each bit of D.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch-insn.h"

#define A	0x10002000ull	/* where most vectors lie */
#define LR0	0x10004000ull	/* a return address */
#define CTR0	0x10008000ull	/* a function pointer */
#define HIGH	0x7fffb7f40000ull	/* a shared library's text */

/* CR bits, numbered from the MSB as the ISA does: cr0 is the top nibble. */
#define CR0_LT	0x80000000u
#define CR0_GT	0x40000000u
#define CR0_EQ	0x20000000u
#define CR7_LT	0x00000008u
#define CR7_GT	0x00000004u
#define CR7_EQ	0x00000002u

static int failures;

/* Report a mismatch (the first few in full); the test fails at its end,
 * after every row ran, with their count. */
static void bad(const char *text, uint32_t insn, const char *what,
		const char *fmt, ...)
{
	va_list ap;

	if (failures++ >= 20) {
		if (failures == 21)
			fprintf(stderr, "  ...\n");
		return;
	}
	fprintf(stderr, "  %-24s %08x  %s: ", text, insn, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- Part 1: decode vectors ------------------------------------------ */

struct dvec {
	const char *text;	/* what the assembler was given */
	uint32_t insn;		/* what it produced */
	uint64_t addr;
	int ret;
	enum ppc_kind kind;	/* checked when ret == 0 */
	uint8_t bo, bi;		/* bc, bclr, bcctr */
	bool lk;		/* branches */
	uint64_t target;	/* b, bc */
	uint8_t rt;		/* addpcis */
	int64_t value;		/* addpcis: D << 16 */
	const char *mnemonic;
	const char *what;
};

#define B(t, w, at, tgt, l, m, why) { .text = t, .insn = w, .addr = at, \
	.kind = PPC_B, .lk = l, .target = tgt, .mnemonic = m, .what = why }
#define BC(t, w, o, i, tgt, l, m, why) { .text = t, .insn = w, .addr = A, \
	.kind = PPC_BC, .bo = o, .bi = i, .lk = l, .target = tgt, \
	.mnemonic = m, .what = why }
#define XL(k, t, w, o, i, l, m, why) { .text = t, .insn = w, .addr = A, \
	.kind = k, .bo = o, .bi = i, .lk = l, .mnemonic = m, .what = why }
#define PCIS(t, w, r, d, why) { .text = t, .insn = w, .addr = A, \
	.kind = PPC_ADDPCIS, .rt = r, .value = d, .mnemonic = "addpcis", \
	.what = why }
#define NO(t, w, m, why) { .text = t, .insn = w, .addr = A, \
	.ret = -EOPNOTSUPP, .mnemonic = m, .what = why }
#define OOL(t, w, m, why) { .text = t, .insn = w, .addr = A, \
	.kind = PPC_OOL, .mnemonic = m, .what = why }

static const struct dvec dvecs[] = {
	/* I-form: LI is 24 bits and two zeros, sign-extended. */
	B("b .+0x100", 0x48000100, A, A + 0x100, 0, "b", "forward"),
	B("b .-0x100", 0x4bffff00, A, A - 0x100, 0, "b", "backward"),
	B("bl .+0x100", 0x48000101, A, A + 0x100, 1, "bl", "link"),
	B("bl .-0x2000000", 0x4a000001, A, A - 0x2000000, 1, "bl",
	  "most negative LI"),
	B("b .+0x1fffffc", 0x49fffffc, A, A + 0x1fffffc, 0, "b",
	  "most positive LI"),
	B("ba 0x1fffffc", 0x49fffffe, A, 0x1fffffc, 0, "ba",
	  "AA: the target is LI, not addr + LI"),
	B("ba 0x100", 0x48000102, HIGH, 0x100, 0, "ba",
	  "AA: the address plays no part"),
	B("bla -0x2000000", 0x4a000003, A, 0xfffffffffe000000, 1, "bla",
	  "AA: negative LI extended to 64 bits"),
	B("b .-0x2000000", 0x4a000000, 0x1000000, 0xffffffffff000000, 0, "b",
	  "wraps below 0 modulo 2^64"),
	B("b .+0x1fffffc", 0x49fffffc, 0xfffffffffffff000, 0x1ffeffc, 0, "b",
	  "wraps above 2^64"),
	B("b .+0x100", 0x48000100, HIGH, HIGH + 0x100, 0, "b",
	  "an address above 4 GiB"),

	/* B-form: BD is 14 bits and two zeros, sign-extended. */
	BC("bdnz .+8", 0x42000008, 16, 0, A + 8, 0, "bc", "BO=1a00t"),
	BC("bdz .-8", 0x4240fff8, 18, 0, A - 8, 0, "bc", "BO=1a01t"),
	BC("bdnzt 4*cr7+eq,.+16", 0x411e0010, 8, 30, A + 16, 0, "bc",
	   "BO=0100z, cr7.eq"),
	BC("bdzf lt,.-0x20", 0x4040ffe0, 2, 0, A - 0x20, 0, "bc",
	   "BO=0001z, cr0.lt"),
	BC("beq .+0x40", 0x41820040, 12, 2, A + 0x40, 0, "bc", "cr0.eq"),
	BC("beq cr7,.+0x40", 0x419e0040, 12, 30, A + 0x40, 0, "bc",
	   "cr7.eq"),
	BC("bne .+0x40", 0x40820040, 4, 2, A + 0x40, 0, "bc", "cr0.eq false"),
	BC("bne cr7,.-0x40", 0x409effc0, 4, 30, A - 0x40, 0, "bc",
	   "cr7.eq false"),
	BC("blt .+0xc", 0x4180000c, 12, 0, A + 0xc, 0, "bc", "cr0.lt"),
	BC("blt cr7,.+0x7ffc", 0x419c7ffc, 12, 28, A + 0x7ffc, 0, "bc",
	   "cr7.lt, most positive BD"),
	BC("bgt .-0x8000", 0x41818000, 12, 1, A - 0x8000, 0, "bc",
	   "cr0.gt, most negative BD"),
	BC("bgt cr7,.-0xc", 0x419dfff4, 12, 29, A - 0xc, 0, "bc", "cr7.gt"),
	BC("bc 20,0,.+0x10", 0x42800010, 20, 0, A + 0x10, 0, "b",
	   "BO=1z1zz: branch always"),
	BC("bcl 20,31,.+4", 0x429f0005, 20, 31, A + 4, 1, "bl",
	   "the PIC idiom: link to the next instruction"),
	BC("beql .+0x20", 0x41820021, 12, 2, A + 0x20, 1, "bcl",
	   "conditional link"),
	BC("bdnzl .+0x20", 0x42000021, 16, 0, A + 0x20, 1, "bcl",
	   "CTR and link"),
	BC("beqa 0x1000", 0x41821002, 12, 2, 0x1000, 0, "bca",
	   "AA: the target is BD"),
	BC("bcla 20,lt,-0x8000", 0x42808003, 20, 0, 0xffffffffffff8000, 1,
	   "bla", "AA: negative BD extended to 64 bits"),
	BC("beq+ .+8", 0x41e20008, 15, 2, A + 8, 0, "bc",
	   "BO=011at with both hint bits"),
	BC("bdnz- .+8", 0x43000008, 24, 0, A + 8, 0, "bc",
	   "BO=1a00t with a=1"),
	BC("bdnz+ .+8", 0x43200008, 25, 0, A + 8, 0, "bc",
	   "BO=1a00t with a=1, t=1"),

	/* XL-form through LR and CTR: no target until run. */
	XL(PPC_BCLR, "blr", 0x4e800020, 20, 0, 0, "blr", "return"),
	XL(PPC_BCLR, "blrl", 0x4e800021, 20, 0, 1, "blrl", "call via LR"),
	XL(PPC_BCLR, "bnelr", 0x4c820020, 4, 2, 0, "bclr", "conditional"),
	XL(PPC_BCLR, "bnelr cr7", 0x4c9e0020, 4, 30, 0, "bclr", "on cr7"),
	XL(PPC_BCLR, "bdnzlr", 0x4e000020, 16, 0, 0, "bclr",
	   "decrements CTR"),
	XL(PPC_BCLR, "bdzlr", 0x4e400020, 18, 0, 0, "bclr", "BO_3"),
	XL(PPC_BCLR, "beqlrl", 0x4d820021, 12, 2, 1, "bclrl",
	   "conditional, link"),
	XL(PPC_BCLR, "bdnzlrl", 0x4e000021, 16, 0, 1, "bclrl",
	   "CTR and link"),
	XL(PPC_BCCTR, "bctr", 0x4e800420, 20, 0, 0, "bctr", "jump via CTR"),
	XL(PPC_BCCTR, "bctrl", 0x4e800421, 20, 0, 1, "bctrl", "call via CTR"),
	XL(PPC_BCCTR, "beqctr", 0x4d820420, 12, 2, 0, "bcctr", "conditional"),
	XL(PPC_BCCTR, "bgtctr cr7", 0x4d9d0420, 12, 29, 0, "bcctr", "on cr7"),
	XL(PPC_BCCTR, "bnectrl cr7", 0x4c9e0421, 4, 30, 1, "bcctrl",
	   "conditional, link"),
	/* gas refuses "bcctr 16,0" ("invalid counter access"); by hand. */
	NO(".long 0x4e000420", 0x4e000420, "bcctr",
	   "bcctr 16,0: BO_2 clear is an invalid form"),
	NO(".long 0x4c000421", 0x4c000421, "bcctrl",
	   "bcctrl 0,0: BO_2 clear is an invalid form"),
	NO("bctar 20,0", 0x4e800460, "btar", "TAR is not in pt_regs"),
	NO("bctar 12,2", 0x4d820460, "bctar", "TAR, conditional"),

	/* DX-form: D = d0 (10 bits) || d1 (5) || d2 (1), shifted by 16. */
	PCIS("addpcis 3,-1", 0x4c7fffc5, 3, -0x10000, "negative D"),
	PCIS("lnia 3", 0x4c600004, 3, 0, "D = 0"),
	PCIS("addpcis 4,0x7fff", 0x4c9f7fc5, 4, 0x7fff0000, "largest D"),
	PCIS("addpcis 5,-0x8000", 0x4ca08004, 5, -0x80000000ll,
	     "smallest D"),
	PCIS("addpcis 9,0x5555", 0x4d2a5545, 9, 0x55550000, "d0 d1 d2 mixed"),
	PCIS("addpcis 9,-0x5556", 0x4d35aa84, 9, -0x55560000ll,
	     "d0 d1 d2 mixed, negative"),
	PCIS("addpcis 3,1", 0x4c600005, 3, 0x10000, "d2 alone"),
	PCIS("addpcis 3,2", 0x4c610004, 3, 0x20000, "d1 alone"),
	PCIS("addpcis 3,0x40", 0x4c600044, 3, 0x400000, "d0 alone"),
	PCIS("subpcis 7,1", 0x4cffffc5, 7, -0x10000, "subpcis is addpcis"),

	/* Traps: a probe's own breakpoint is one. */
	NO("twi 31,3,5", 0x0fe30005, "twi", "trap word immediate"),
	NO("twlgti 3,1", 0x0c230001, "twi", "conditional"),
	NO("tdi 0,3,0", 0x08030000, "tdi", "TO=0 still refused"),
	NO("tw 4,3,4", 0x7c832008, "tw", "tweq"),
	NO("td 31,0,0", 0x7fe00088, "td", "trap doubleword"),
	NO("trap", PPC_TRAP, "tw", "the breakpoint itself"),

	/* Reservations do not survive a trip through the trap handler. */
	NO("lwarx 3,0,4", 0x7c602028, "larx/stcx.", "lwarx"),
	NO("lbarx 3,0,4", 0x7c602068, "larx/stcx.", "lbarx"),
	NO("lharx 3,0,4", 0x7c6020e8, "larx/stcx.", "lharx"),
	NO("ldarx 3,0,4", 0x7c6020a8, "larx/stcx.", "ldarx"),
	NO("ldarx 3,0,4,1", 0x7c6020a9, "larx/stcx.", "ldarx, EH=1"),
	NO("lqarx 6,0,4", 0x7cc02228, "larx/stcx.", "lqarx"),
	NO("stwcx. 3,0,4", 0x7c60212d, "larx/stcx.", "stwcx."),
	NO("stbcx. 3,0,4", 0x7c60256d, "larx/stcx.", "stbcx."),
	NO("sthcx. 3,0,4", 0x7c6025ad, "larx/stcx.", "sthcx."),
	NO("stdcx. 3,0,4", 0x7c6021ad, "larx/stcx.", "stdcx."),
	NO("stqcx. 6,0,4", 0x7cc0216d, "larx/stcx.", "stqcx."),

	/* Power10 prefixes: the suffix must not run alone. */
	NO("pld 3,0x10(4)", 0x04000000, "prefixed", "pld's prefix"),
	NO("paddi 3,4,0x12345", 0x06000001, "prefixed", "paddi's prefix"),
	NO("pld 3,0x20(0),1", 0x04100000, "prefixed", "PC-relative pld"),

	/* Everything else runs out of line, LK or not. */
	OOL("mflr 0", 0x7c0802a6, "opcode 31", "prologue"),
	OOL("mtctr 12", 0x7d8903a6, "opcode 31", "before bctrl"),
	OOL("std 31,-8(1)", 0xfbe1fff8, "opcode 62", "store"),
	OOL("stdu 1,-32(1)", 0xf821ffe1, "opcode 62",
	    "bit 31 set, yet no link"),
	OOL("addi 3,3,1", 0x38630001, "opcode 14", "arithmetic"),
	OOL("ld 9,0(3)", 0xe9230000, "opcode 58", "load"),
	OOL("sc", 0x44000002, "opcode 17", "system call"),
	OOL("isel 3,4,5,2", 0x7c64289e, "opcode 31", "reads CR only"),
	OOL("mfcr 3", 0x7c600026, "opcode 31", "reads CR only"),
	OOL("lwsync", 0x7c2004ac, "opcode 31", "barrier"),
	OOL("isync", 0x4c00012c, "opcode 19", "opcode 19, not a branch"),
	OOL("crclr 4*cr1+eq", 0x4cc63182, "opcode 19",
	    "opcode 19, not a branch"),
	OOL("ldx 3,4,5", 0x7c64282a, "opcode 31", "XO 21, next to ldarx's"),
	OOL("stdx 3,4,5", 0x7c64292a, "opcode 31", "XO 149, next to stwcx.'s"),
	OOL("stwx 3,4,5", 0x7c64292e, "opcode 31", "XO 151, next to stwcx.'s"),
	OOL("nop", 0x60000000, "opcode 24", "ori 0,0,0"),
	/* The suffixes: harmless alone, refused only through their prefix. */
	OOL("(pld's suffix)", 0xe4640010, "opcode 57", "not a prefix"),
	OOL("(paddi's suffix)", 0x38642345, "opcode 14", "not a prefix"),
};

#define CHECK(cond, fmt, ...) do {					\
	if (!(cond))							\
		bad(v->text, v->insn, v->what, fmt, __VA_ARGS__);	\
} while (0)

static void decode_vectors(void **state)
{
	(void)state;
	failures = 0;
	for (size_t n = 0; n < sizeof(dvecs) / sizeof(dvecs[0]); n++) {
		const struct dvec *v = &dvecs[n];
		struct arch_insn ai;
		int ret = ppc_decode(v->insn, v->addr, &ai);

		CHECK(ret == v->ret, "returns %d, want %d", ret, v->ret);
		CHECK(ai.insn == v->insn && !memcmp(ai.bytes, &v->insn, 4),
		      "keeps %08x", ai.insn);
		CHECK(!strcmp(ai.mnemonic, v->mnemonic),
		      "named \"%s\", want \"%s\"", ai.mnemonic, v->mnemonic);
		if (v->ret)
			continue;
		CHECK(ai.kind == v->kind, "kind %d, want %d", ai.kind, v->kind);
		if (v->kind == PPC_OOL) {
			CHECK(!ai.lk, "lk %d on a non-branch", ai.lk);
			continue;
		}
		if (v->kind == PPC_ADDPCIS) {
			CHECK(ai.rt == v->rt && ai.value == v->value && !ai.lk,
			      "rt %u value %#llx lk %d, want rt %u value %#llx",
			      ai.rt, (long long)ai.value, ai.lk, v->rt,
			      (long long)v->value);
			continue;
		}
		CHECK(ai.lk == v->lk, "lk %d, want %d", ai.lk, v->lk);
		if (v->kind != PPC_B)
			CHECK(ai.bo == v->bo && ai.bi == v->bi,
			      "bo %u bi %u, want bo %u bi %u",
			      ai.bo, ai.bi, v->bo, v->bi);
		if (v->kind == PPC_B || v->kind == PPC_BC)
			CHECK(ai.target == v->target,
			      "target %#llx, want %#llx",
			      (unsigned long long)ai.target,
			      (unsigned long long)v->target);
	}
	assert_int_equal(failures, 0);
}
#undef CHECK

/* A prefixed instruction's two words: only the first says "prefix". */
static void prefix_words(void **state)
{
	static const uint32_t pairs[][2] = {
		{ 0x04000000, 0xe4640010 },	/* pld 3,0x10(4) */
		{ 0x06000001, 0x38642345 },	/* paddi 3,4,0x12345 */
		{ 0x04100000, 0xe4600020 },	/* pld 3,0x20(0),1 */
	};

	(void)state;
	for (size_t n = 0; n < sizeof(pairs) / sizeof(pairs[0]); n++) {
		assert_true(ppc_is_prefix(pairs[n][0]));
		assert_false(ppc_is_prefix(pairs[n][1]));
	}
	assert_false(ppc_is_prefix(PPC_TRAP));
	assert_false(ppc_is_prefix(0x48000100));	/* b .+0x100 */
	assert_false(ppc_is_prefix(0x60000000));	/* nop */
}

/* ---- Part 1: emulation vectors --------------------------------------- */

struct evec {
	const char *text;
	uint32_t insn;
	uint64_t addr;
	struct ppc_branch_regs in;	/* in.nip is addr */
	struct ppc_branch_regs out;	/* CR never changes */
	uint64_t rt;			/* addpcis; 0 for the branches */
	const char *what;
};

#define E(t, w, at, lr, ctr, cr, nip2, lr2, ctr2, why) \
	{ t, w, at, { at, lr, ctr, cr }, { nip2, lr2, ctr2, cr }, 0, why }
/* addpcis moves only nip, to the next instruction. */
#define EP(t, w, at, rt, why) \
	{ t, w, at, { at, LR0, 5, CR0_EQ }, { (at) + 4, LR0, 5, CR0_EQ }, \
	  rt, why }

static const struct evec evecs[] = {
	/* text                 word        addr  LR   CTR  CR
	 *                                  -> nip  LR   CTR */
	E("b .+0x100", 0x48000100, A, LR0, 5, 0,
	  A + 0x100, LR0, 5, "LR and CTR kept"),
	E("b .-0x100", 0x4bffff00, A, LR0, 5, 0,
	  A - 0x100, LR0, 5, "backward"),
	E("bl .+0x100", 0x48000101, A, LR0, 5, 0,
	  A + 0x100, A + 4, 5, "LR = addr + 4"),
	E("bl .-0x2000000", 0x4a000001, A, LR0, 5, 0,
	  A - 0x2000000, A + 4, 5, "most negative LI"),
	E("b .+0x1fffffc", 0x49fffffc, A, LR0, 5, 0,
	  A + 0x1fffffc, LR0, 5, "most positive LI"),
	E("ba 0x1fffffc", 0x49fffffe, A, LR0, 5, 0,
	  0x1fffffc, LR0, 5, "absolute"),
	E("bla -0x2000000", 0x4a000003, A, LR0, 5, 0,
	  0xfffffffffe000000, A + 4, 5, "absolute, negative, link"),
	E("b .-0x2000000", 0x4a000000, 0x1000000, LR0, 5, 0,
	  0xffffffffff000000, LR0, 5, "wraps below 0"),
	E("bl .+0x100", 0x48000101, HIGH, LR0, 5, 0,
	  HIGH + 0x100, HIGH + 4, 5, "above 4 GiB"),

	/* bdnz: BO=10000, decrement, branch if CTR != 0, CR ignored. */
	E("bdnz .+8", 0x42000008, A, LR0, 2, 0, A + 8, LR0, 1, "2 -> 1: taken"),
	E("bdnz .+8", 0x42000008, A, LR0, 1, 0, A + 4, LR0, 0,
	  "1 -> 0: falls through"),
	E("bdnz .+8", 0x42000008, A, LR0, 0, 0, A + 8, LR0, ~0ull,
	  "0 -> all ones: taken"),
	E("bdnz .+8", 0x42000008, A, LR0, 0x100000001, 0,
	  A + 8, LR0, 0x100000000, "CTR tested on 64 bits"),
	E("bdnz .+8", 0x42000008, A, LR0, 2, ~0u, A + 8, LR0, 1,
	  "CR ignored"),
	/* bdz: BO=10010, branch if CTR == 0 after the decrement. */
	E("bdz .-8", 0x4240fff8, A, LR0, 1, 0, A - 8, LR0, 0, "1 -> 0: taken"),
	E("bdz .-8", 0x4240fff8, A, LR0, 2, 0, A + 4, LR0, 1, "2 -> 1: not"),
	E("bdz .-8", 0x4240fff8, A, LR0, 0x100000001, 0,
	  A + 4, LR0, 0x100000000, "CTR tested on 64 bits"),
	/* bdnzt: BO=01000, CTR != 0 and the bit set. */
	E("bdnzt 4*cr7+eq,.+16", 0x411e0010, A, LR0, 2, CR7_EQ,
	  A + 16, LR0, 1, "both hold: taken"),
	E("bdnzt 4*cr7+eq,.+16", 0x411e0010, A, LR0, 2, ~CR7_EQ,
	  A + 4, LR0, 1, "bit clear: not, CTR decremented anyway"),
	E("bdnzt 4*cr7+eq,.+16", 0x411e0010, A, LR0, 1, CR7_EQ,
	  A + 4, LR0, 0, "CTR reaches 0: not"),
	/* bdzf: BO=00010, CTR == 0 and the bit clear. */
	E("bdzf lt,.-0x20", 0x4040ffe0, A, LR0, 1, ~CR0_LT,
	  A - 0x20, LR0, 0, "both hold: taken"),
	E("bdzf lt,.-0x20", 0x4040ffe0, A, LR0, 1, CR0_LT,
	  A + 4, LR0, 0, "bit set: not"),
	E("bdzf lt,.-0x20", 0x4040ffe0, A, LR0, 5, 0,
	  A + 4, LR0, 4, "CTR not 0: not"),
	/* BO=011zz / 001zz: the bit only, CTR untouched. */
	E("beq .+0x40", 0x41820040, A, LR0, 7, CR0_EQ,
	  A + 0x40, LR0, 7, "cr0.eq: taken, CTR kept"),
	E("beq .+0x40", 0x41820040, A, LR0, 7, ~CR0_EQ,
	  A + 4, LR0, 7, "every other bit set: not"),
	E("beq cr7,.+0x40", 0x419e0040, A, LR0, 7, CR7_EQ,
	  A + 0x40, LR0, 7, "cr7.eq: taken"),
	E("beq cr7,.+0x40", 0x419e0040, A, LR0, 7, CR0_EQ,
	  A + 4, LR0, 7, "cr0.eq is not cr7.eq"),
	E("bne .+0x40", 0x40820040, A, LR0, 0, 0,
	  A + 0x40, LR0, 0, "cr0.eq clear: taken, CTR 0 kept"),
	E("bne .+0x40", 0x40820040, A, LR0, 0, CR0_EQ,
	  A + 4, LR0, 0, "cr0.eq set: not"),
	E("bne cr7,.-0x40", 0x409effc0, A, LR0, 7, ~CR7_EQ,
	  A - 0x40, LR0, 7, "cr7.eq clear: taken"),
	E("bne cr7,.-0x40", 0x409effc0, A, LR0, 7, CR7_EQ,
	  A + 4, LR0, 7, "cr7.eq set: not"),
	E("blt .+0xc", 0x4180000c, A, LR0, 7, CR0_LT,
	  A + 0xc, LR0, 7, "bit 0 is the MSB"),
	E("blt .+0xc", 0x4180000c, A, LR0, 7, 1,
	  A + 4, LR0, 7, "the LSB is bit 31"),
	E("blt cr7,.+0x7ffc", 0x419c7ffc, A, LR0, 7, CR7_LT,
	  A + 0x7ffc, LR0, 7, "most positive BD"),
	E("blt cr7,.+0x7ffc", 0x419c7ffc, A, LR0, 7, CR0_LT,
	  A + 4, LR0, 7, "cr0.lt is not cr7.lt"),
	E("bgt .-0x8000", 0x41818000, A, LR0, 7, CR0_GT,
	  A - 0x8000, LR0, 7, "most negative BD"),
	E("bgt .-0x8000", 0x41818000, A, LR0, 7, CR7_GT,
	  A + 4, LR0, 7, "cr7.gt is not cr0.gt"),
	E("bgt cr7,.-0xc", 0x419dfff4, A, LR0, 7, CR7_GT,
	  A - 0xc, LR0, 7, "cr7.gt: taken"),
	E("bgt cr7,.-0xc", 0x419dfff4, A, LR0, 7, ~CR7_GT,
	  A + 4, LR0, 7, "cr7.gt clear: not"),
	/* Hints (a, t, z bits) change nothing. */
	E("beq+ .+8", 0x41e20008, A, LR0, 7, CR0_EQ,
	  A + 8, LR0, 7, "hinted, taken"),
	E("beq+ .+8", 0x41e20008, A, LR0, 7, 0,
	  A + 4, LR0, 7, "hinted likely, not"),
	E("bdnz- .+8", 0x43000008, A, LR0, 2, 0,
	  A + 8, LR0, 1, "a=1 is no condition: taken"),
	E("bdnz+ .+8", 0x43200008, A, LR0, 1, 0,
	  A + 4, LR0, 0, "hinted likely, CTR reaches 0: not"),
	/* Always, links, absolute. */
	E("bc 20,0,.+0x10", 0x42800010, A, LR0, 0, 0,
	  A + 0x10, LR0, 0, "always: CTR 0 neither tested nor changed"),
	E("bcl 20,31,.+4", 0x429f0005, A, LR0, 3, 0,
	  A + 4, A + 4, 3, "LR = nip = addr + 4"),
	E("beql .+0x20", 0x41820021, A, LR0, 7, CR0_EQ,
	  A + 0x20, A + 4, 7, "taken, link"),
	E("beql .+0x20", 0x41820021, A, LR0, 7, 0,
	  A + 4, A + 4, 7, "not taken, LR written anyway"),
	E("bdnzl .+0x20", 0x42000021, A, LR0, 1, 0,
	  A + 4, A + 4, 0, "not taken: decrement and link"),
	E("beqa 0x1000", 0x41821002, A, LR0, 7, CR0_EQ,
	  0x1000, LR0, 7, "absolute"),
	E("beqa 0x1000", 0x41821002, A, LR0, 7, 0,
	  A + 4, LR0, 7, "absolute, not taken"),
	E("bcla 20,lt,-0x8000", 0x42808003, A, LR0, 7, 0,
	  0xffffffffffff8000, A + 4, 7, "absolute, negative BD, link"),

	/* bclr: to LR & ~3 as it was before the link write. */
	E("blr", 0x4e800020, A, LR0, 7, 0, LR0, LR0, 7, "return"),
	E("blr", 0x4e800020, A, LR0 | 3, 7, 0,
	  LR0, LR0 | 3, 7, "LR's low bits dropped, LR kept"),
	E("blrl", 0x4e800021, A, LR0, 7, 0,
	  LR0, A + 4, 7, "target is the old LR"),
	E("blrl", 0x4e800021, A, A + 4, 7, 0,
	  A + 4, A + 4, 7, "LR already addr + 4"),
	E("bnelr", 0x4c820020, A, LR0, 7, CR0_EQ,
	  A + 4, LR0, 7, "cr0.eq set: not"),
	E("bnelr", 0x4c820020, A, LR0, 7, 0,
	  LR0, LR0, 7, "cr0.eq clear: taken"),
	E("bnelr cr7", 0x4c9e0020, A, LR0, 7, CR0_EQ,
	  LR0, LR0, 7, "cr0.eq is not cr7.eq"),
	E("bnelr cr7", 0x4c9e0020, A, LR0, 7, CR7_EQ,
	  A + 4, LR0, 7, "cr7.eq set: not"),
	E("bdnzlr", 0x4e000020, A, LR0, 2, 0, LR0, LR0, 1, "2 -> 1: taken"),
	E("bdnzlr", 0x4e000020, A, LR0, 1, 0, A + 4, LR0, 0, "1 -> 0: not"),
	E("bdzlr", 0x4e400020, A, LR0, 1, 0, LR0, LR0, 0, "1 -> 0: taken"),
	E("bdzlr", 0x4e400020, A, LR0, 0, 0, A + 4, LR0, ~0ull,
	  "0 -> all ones: not"),
	E("beqlrl", 0x4d820021, A, LR0, 7, CR0_EQ,
	  LR0, A + 4, 7, "taken: old LR, then link"),
	E("beqlrl", 0x4d820021, A, LR0, 7, 0,
	  A + 4, A + 4, 7, "not taken, LR written anyway"),
	E("bdnzlrl", 0x4e000021, A, LR0, 3, 0,
	  LR0, A + 4, 2, "decrement, old LR, link"),

	/* bcctr: to CTR & ~3, CTR never decremented. */
	E("bctr", 0x4e800420, A, LR0, CTR0, 0,
	  CTR0, LR0, CTR0, "jump"),
	E("bctr", 0x4e800420, A, LR0, CTR0 | 2, 0,
	  CTR0, LR0, CTR0 | 2, "CTR's low bits dropped, CTR kept"),
	E("bctr", 0x4e800420, A, LR0, 1, 0,
	  0, LR0, 1, "CTR 1 is address 0, not a count"),
	E("bctrl", 0x4e800421, A, LR0, CTR0, 0,
	  CTR0, A + 4, CTR0, "call"),
	E("beqctr", 0x4d820420, A, LR0, CTR0, CR0_EQ,
	  CTR0, LR0, CTR0, "taken"),
	E("beqctr", 0x4d820420, A, LR0, CTR0, 0,
	  A + 4, LR0, CTR0, "not taken, CTR kept"),
	E("bgtctr cr7", 0x4d9d0420, A, LR0, CTR0, CR7_GT,
	  CTR0, LR0, CTR0, "cr7.gt"),
	E("bnectrl cr7", 0x4c9e0421, A, LR0, CTR0, CR7_EQ,
	  A + 4, A + 4, CTR0, "not taken, LR written anyway"),
	E("bnectrl cr7", 0x4c9e0421, A, LR0, CTR0, ~CR7_EQ,
	  CTR0, A + 4, CTR0, "taken, link"),

	/* addpcis: rT = addr + 4 + EXTS(D) << 16. */
	EP("addpcis 3,-1", 0x4c7fffc5, A, 0x0fff2004, "negative D"),
	EP("lnia 3", 0x4c600004, A, 0x10002004, "the next address"),
	EP("addpcis 4,0x7fff", 0x4c9f7fc5, A, 0x8fff2004, "largest D"),
	EP("addpcis 5,-0x8000", 0x4ca08004, A, 0xffffffff90002004,
	   "smallest D, below 0"),
	EP("addpcis 9,0x5555", 0x4d2a5545, A, 0x65552004, "mixed bits"),
	EP("addpcis 9,-0x5556", 0x4d35aa84, A, 0xffffffffbaaa2004,
	   "mixed bits, negative"),
	EP("addpcis 3,1", 0x4c600005, A, 0x10012004, "d2"),
	EP("addpcis 3,2", 0x4c610004, A, 0x10022004, "d1"),
	EP("addpcis 3,0x40", 0x4c600044, A, 0x10402004, "d0"),
	EP("subpcis 7,1", 0x4cffffc5, A, 0x0fff2004, "subpcis"),
	EP("lnia 3", 0x4c600004, HIGH, HIGH + 4, "above 4 GiB"),
	EP("addpcis 5,-0x8000", 0x4ca08004, HIGH, 0x7fff37f40004,
	   "above 4 GiB, smallest D"),
};

/* Emulate @v on a copy of its registers; report a mismatch. */
static void check_emulation(const struct evec *v)
{
	struct arch_insn ai;
	struct ppc_branch_regs r = v->in;
	uint64_t rt;
	int ret = ppc_decode(v->insn, v->addr, &ai);

	if (ret) {
		bad(v->text, v->insn, v->what, "decode returns %d", ret);
		return;
	}
	rt = ppc_emulate(&ai, v->addr, &r);
	if (r.nip != v->out.nip || r.lr != v->out.lr ||
	    r.ctr != v->out.ctr || r.cr != v->in.cr || rt != v->rt)
		bad(v->text, v->insn, v->what,
		    "from lr %#llx ctr %#llx cr %08x: nip %#llx lr %#llx "
		    "ctr %#llx cr %08x rt %#llx, want nip %#llx lr %#llx "
		    "ctr %#llx rt %#llx",
		    (unsigned long long)v->in.lr, (unsigned long long)v->in.ctr,
		    v->in.cr, (unsigned long long)r.nip,
		    (unsigned long long)r.lr, (unsigned long long)r.ctr,
		    r.cr, (unsigned long long)rt,
		    (unsigned long long)v->out.nip,
		    (unsigned long long)v->out.lr,
		    (unsigned long long)v->out.ctr,
		    (unsigned long long)v->rt);
}

static void emulation_vectors(void **state)
{
	(void)state;
	failures = 0;
	for (size_t n = 0; n < sizeof(evecs) / sizeof(evecs[0]); n++)
		check_emulation(&evecs[n]);
	assert_int_equal(failures, 0);
}

/* ---- Part 1: every BO value against the ISA's table ------------------ */

enum { CTR_NONE, CTR_NZ, CTR_Z };	/* decrement, then CTR != 0 / == 0 */
enum { COND_0, COND_1, COND_ANY };	/* CR_BI must be 0 / 1 / is ignored */

/* Power ISA 3.1 Book I, Figure 40, "BO field encodings", as printed:
 * 0 and 1 are fixed bits, z, a and t are ignored. */
static const struct {
	const char *bits;
	int ctr, cond;
} bo_table[] = {
	{ "0000z", CTR_NZ, COND_0 },
	{ "0001z", CTR_Z, COND_0 },
	{ "001at", CTR_NONE, COND_0 },
	{ "0100z", CTR_NZ, COND_1 },
	{ "0101z", CTR_Z, COND_1 },
	{ "011at", CTR_NONE, COND_1 },
	{ "1a00t", CTR_NZ, COND_ANY },
	{ "1a01t", CTR_Z, COND_ANY },
	{ "1z1zz", CTR_NONE, COND_ANY },
};

static int bo_row(unsigned int bo)
{
	int found = -1;

	for (int row = 0; row < (int)(sizeof(bo_table) / sizeof(bo_table[0]));
	     row++) {
		bool match = true;

		for (int k = 0; k < 5; k++) {
			char c = bo_table[row].bits[k];
			unsigned int bit = (bo >> (4 - k)) & 1;

			if (c != '0' && c != '1')
				continue;	/* z, a, t */
			if (bit != (unsigned int)(c - '0'))
				match = false;
		}
		if (match) {
			assert_int_equal(found, -1);	/* one row only */
			found = row;
		}
	}
	assert_int_not_equal(found, -1);
	return found;
}

static void bo_encodings(void **state)
{
	/* bc 0,0,.+0x40; bclr 0,0; bcctr 0,0; BO, BI and LK or'ed in. */
	static const struct {
		uint32_t base;
		enum ppc_kind kind;
	} forms[] = {
		{ 0x40000040, PPC_BC },
		{ 0x4c000020, PPC_BCLR },
		{ 0x4c000420, PPC_BCCTR },
	};
	static const uint64_t ctrs[] = { 0, 1, 2, 0x100000001, CTR0 | 1 };
	const uint64_t lr = LR0 | 2;

	(void)state;
	failures = 0;
	for (unsigned int bo = 0; bo < 32; bo++) {
		int row = bo_row(bo);
		int ctr_rule = bo_table[row].ctr, cond = bo_table[row].cond;

		for (size_t f = 0; f < 3; f++)
		for (unsigned int bi = 0; bi < 32; bi++)
		for (int crbit = 0; crbit < 2; crbit++)
		for (size_t c = 0; c < sizeof(ctrs) / sizeof(ctrs[0]); c++)
		for (int lk = 0; lk < 2; lk++) {
			/* Only CR bit @bi holds @crbit, the others !@crbit. */
			uint32_t cr = crbit ? 0x80000000u >> bi :
					      ~(0x80000000u >> bi);
			uint32_t insn = forms[f].base | bo << 21 | bi << 16 |
					lk;
			struct ppc_branch_regs r = { A, lr, ctrs[c], cr };
			struct arch_insn ai;
			uint64_t ctr = ctrs[c], nip;
			bool ok = true;
			int ret = ppc_decode(insn, A, &ai);
			char text[40];

			snprintf(text, sizeof(text), "%s %u,%u%s",
				 f == 0 ? "bc" : f == 1 ? "bclr" : "bcctr",
				 bo, bi, lk ? " (lk)" : "");
			if (forms[f].kind == PPC_BCCTR &&
			    ctr_rule != CTR_NONE) {
				/* "If BO_2 = 0, the instruction form is
				 * invalid." */
				if (ret != -EOPNOTSUPP)
					bad(text, insn, bo_table[row].bits,
					    "returns %d, want %d", ret,
					    -EOPNOTSUPP);
				continue;
			}
			if (ret || ai.kind != forms[f].kind || ai.bo != bo ||
			    ai.bi != bi || ai.lk != lk) {
				bad(text, insn, bo_table[row].bits,
				    "returns %d kind %d bo %u bi %u lk %d",
				    ret, ai.kind, ai.bo, ai.bi, ai.lk);
				continue;
			}
			if (ctr_rule != CTR_NONE) {
				ctr--;
				ok = ctr_rule == CTR_NZ ? ctr != 0 : ctr == 0;
			}
			if (cond != COND_ANY && crbit != cond)
				ok = false;
			/* Targets: BD, LR or CTR with bits 62:63 cleared. */
			nip = !ok ? A + 4 :
			      f == 0 ? A + 0x40 :
			      f == 1 ? LR0 : ctrs[c] & ~3ull;
			ppc_emulate(&ai, A, &r);
			if (r.nip != nip || r.ctr != ctr ||
			    r.lr != (lk ? A + 4 : lr) || r.cr != cr)
				bad(text, insn, bo_table[row].bits,
				    "ctr %#llx cr %08x: nip %#llx ctr %#llx "
				    "lr %#llx, want nip %#llx ctr %#llx",
				    (unsigned long long)ctrs[c], cr,
				    (unsigned long long)r.nip,
				    (unsigned long long)r.ctr,
				    (unsigned long long)r.lr,
				    (unsigned long long)nip,
				    (unsigned long long)ctr);
		}
	}
	assert_int_equal(failures, 0);
}

/* ---- Part 2: the same on the processor ------------------------------- */

#if defined(__powerpc64__)
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The rig, one mapping: the instruction under test at a, with the word
 * after it (pad 1, not taken) and the word at the taken target (pad 2)
 * each a `b` to a body that records the pad's number, CTR, LR and r5
 * (addpcis' rT, rewritten to 5), restores LR and CR, and returns. The
 * entry saves LR and CR (cr2-cr4 are the caller's), loads CTR, LR and CR
 * from *r3 and branches to a. The entry and bodies lie at a + RIG_FIXED,
 * so that only a itself and that block are no place for a target; a
 * target beyond a `b`'s reach of the bodies gets a whole body. Words from
 * powerpc64le-linux-gnu-as.
 */
struct hw_io {
	uint64_t ctr;		/*  0: in */
	uint64_t lr;		/*  8: in */
	uint32_t cr, unused;	/* 16: in */
	uint64_t out_ctr;	/* 24 */
	uint64_t out_lr;	/* 32 */
	uint64_t out_rt;	/* 40 */
	uint64_t where;		/* 48: the pad's number */
};
_Static_assert(offsetof(struct hw_io, cr) == 16 &&
	       offsetof(struct hw_io, out_ctr) == 24 &&
	       offsetof(struct hw_io, where) == 48, "the stub's offsets");

static const uint32_t stub_entry[] = {
	0x7c0802a6,	/* mflr  r0 */
	0x7d400026,	/* mfcr  r10 */
	0xe9230000,	/* ld    r9,0(r3) */
	0x7d2903a6,	/* mtctr r9 */
	0xe9230008,	/* ld    r9,8(r3) */
	0x7d2803a6,	/* mtlr  r9 */
	0x81230010,	/* lwz   r9,16(r3) */
	0x7d2ff120,	/* mtcrf 0xff,r9 */
	0x48000000,	/* b     a (| the displacement) */
};

static const uint32_t stub_body[] = {
	0xf8a30028,	/* std   r5,40(r3) */
	0x39000000,	/* li    r8,0 (| the pad's number) */
	0xf9030030,	/* std   r8,48(r3) */
	0x7d2902a6,	/* mfctr r9 */
	0xf9230018,	/* std   r9,24(r3) */
	0x7d2802a6,	/* mflr  r9 */
	0xf9230020,	/* std   r9,32(r3) */
	0x7c0803a6,	/* mtlr  r0 */
	0x7d4ff120,	/* mtcrf 0xff,r10 */
	0x4e800020,	/* blr */
};

#define BODY_LEN	sizeof(stub_body)
/* Wanted base: then ba's targets up to 0x1fffffc fall inside. */
#define RIG_LOW		0x1000000ul
/* b's reach on either side of a, and a margin. */
#define RIG_HALF	0x2010000ul
/* The entry, then the bodies of pads 1 and 2. */
#define RIG_FIXED	0x1000
#define RIG_BODY(n)	(RIG_FIXED + 0x40 * (n))
#define RIG_FIXED_LEN	0xc0
/* bclr and bcctr branch here (LR or CTR is set to it). */
#define RIG_REG_PAD	0x100

static struct rig {
	uintptr_t base, size;
	uintptr_t a;		/* the instruction under test */
	bool rwx;		/* else RW while written, RX while run */
	bool low;		/* at RIG_LOW: absolute branches run too */
	long page;
} rig;

static uint32_t enc_b(int64_t li, bool aa, bool lk)
{
	return 0x48000000u | ((uint32_t)li & 0x03fffffc) | aa << 1 | lk;
}

static bool b_reaches(uintptr_t from, uintptr_t to)
{
	int64_t d = (int64_t)(to - from);

	return d >= -0x2000000 && d <= 0x1fffffc;
}

/* Write @len bytes at @at in the rig. */
static void poke(uintptr_t at, const void *src, size_t len)
{
	uintptr_t lo = at & -(uintptr_t)rig.page;
	size_t span = (at + len - lo + rig.page - 1) & -(uintptr_t)rig.page;

	if (!rig.rwx)
		assert_int_equal(mprotect((void *)lo, span,
					  PROT_READ | PROT_WRITE), 0);
	memcpy((void *)at, src, len);
	if (!rig.rwx)
		assert_int_equal(mprotect((void *)lo, span,
					  PROT_READ | PROT_EXEC), 0);
	__builtin___clear_cache((char *)at, (char *)at + len);
}

static void poke_body(uintptr_t at, uint32_t number)
{
	uint32_t body[BODY_LEN / 4];

	memcpy(body, stub_body, sizeof(body));
	body[1] |= number;
	poke(at, body, sizeof(body));
}

/* Make @at pad @number; return how many bytes it took. */
static size_t poke_pad(uintptr_t at, uint32_t number)
{
	uintptr_t body = rig.a + RIG_BODY(number);
	uint32_t b = enc_b((int64_t)(body - at), 0, 0);

	if (!b_reaches(at, body)) {
		poke_body(at, number);
		return BODY_LEN;
	}
	poke(at, &b, 4);
	return 4;
}

static void rig_init(void)
{
	uint32_t entry[sizeof(stub_entry) / 4];
	uintptr_t at;
	void *p;

	if (rig.base)
		return;
	rig.page = sysconf(_SC_PAGESIZE);
	rig.size = 2 * RIG_HALF;
	rig.rwx = true;
	p = mmap((void *)RIG_LOW, rig.size,
		 PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {		/* W^X: write, then execute */
		rig.rwx = false;
		p = mmap((void *)RIG_LOW, rig.size, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (p == MAP_FAILED) {
		print_message("no executable mapping: %s\n", strerror(errno));
		skip();
	}
	rig.base = (uintptr_t)p;
	rig.low = rig.base == RIG_LOW;
	if (!rig.low)
		print_message("mapped at %#lx, not %#lx: absolute branches "
			      "are not run\n", (unsigned long)rig.base,
			      RIG_LOW);
	rig.a = rig.base + RIG_HALF;

	at = rig.a + RIG_FIXED;
	memcpy(entry, stub_entry, sizeof(entry));
	entry[8] = enc_b((int64_t)(rig.a - (at + 32)), 0, 0);
	poke(at, entry, sizeof(entry));
	poke_body(rig.a + RIG_BODY(1), 1);
	poke_body(rig.a + RIG_BODY(2), 2);
	poke_pad(rig.a + 4, 1);
}

/* Can pad 2 go at @t: inside the rig, clear of a and the fixed block? */
static bool pad_fits(uintptr_t t)
{
	return t == rig.a + 4 ||
	       (!(t & 3) && t != rig.a && t >= rig.base &&
		t + BODY_LEN <= rig.base + rig.size &&
		(t < rig.a + RIG_FIXED ||
		 t >= rig.a + RIG_FIXED + RIG_FIXED_LEN));
}

/* A branch that goes where no pad is traps here, and is reported. */
static sigjmp_buf hw_jmp;
static volatile uintptr_t hw_fault_addr;

static void hw_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hw_fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(hw_jmp, sig);
}

static const int hw_signals[] = { SIGILL, SIGSEGV, SIGBUS, SIGTRAP };
static struct sigaction hw_saved[4];

static void hw_catch(bool on)
{
	struct sigaction sa = { .sa_sigaction = hw_fault,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	for (size_t n = 0; n < 4; n++)
		sigaction(hw_signals[n], on ? &sa : &hw_saved[n],
			  on ? &hw_saved[n] : NULL);
}

typedef void stub_fn(struct hw_io *io);

/* Run the rig on @io; return 0, or the signal it took. */
static int hw_run(struct hw_io *io)
{
	uintptr_t entry = rig.a + RIG_FIXED;
	stub_fn *fn;
	int sig;
#if defined(_CALL_ELF) && _CALL_ELF == 2
	memcpy(&fn, &entry, sizeof(fn));
#else
	/* ELFv1: call through a descriptor; the stub needs no TOC. */
	static uintptr_t desc[3];
	void *d = desc;

	desc[0] = entry;
	memcpy(&fn, &d, sizeof(fn));
#endif
	hw_catch(true);
	sig = sigsetjmp(hw_jmp, 1);
	if (!sig)
		fn(io);
	hw_catch(false);
	return sig;
}

static int hw_runs, hw_skips;

/*
 * Run @insn at rig.a from @in on the processor and through ppc_emulate;
 * report any difference. bclr and bcctr get LR or CTR pointed at a pad
 * (keeping the low two bits); addpcis gets rT = 5.
 */
static void hw_check(const char *text, uint32_t insn,
		     struct ppc_branch_regs in, const char *what)
{
	static const uint8_t zero[BODY_LEN];
	struct arch_insn ai;
	struct hw_io io = { 0 };
	struct ppc_branch_regs r;
	uintptr_t t, hw_nip;
	size_t len = 0;
	uint64_t rt;
	int sig;

	if (ppc_decode(insn, rig.a, &ai)) {
		bad(text, insn, what, "refused at %#lx", (unsigned long)rig.a);
		return;
	}
	switch (ai.kind) {
	case PPC_B:
	case PPC_BC:
		t = ai.target;
		break;
	case PPC_BCLR:
		t = rig.a + RIG_REG_PAD;
		in.lr = t | (in.lr & 3);
		break;
	case PPC_BCCTR:
		t = rig.a + RIG_REG_PAD;
		in.ctr = t | (in.ctr & 3);
		break;
	case PPC_ADDPCIS:
		insn = (insn & ~(0x1fu << 21)) | 5u << 21;
		assert_int_equal(ppc_decode(insn, rig.a, &ai), 0);
		t = rig.a + 4;
		break;
	default:
		bad(text, insn, what, "not a branch: kind %d", ai.kind);
		return;
	}
	if (!pad_fits(t)) {
		hw_skips++;
		return;
	}
	poke(rig.a, &insn, 4);
	if (t != rig.a + 4)
		len = poke_pad(t, 2);
	io.ctr = in.ctr;
	io.lr = in.lr;
	io.cr = in.cr;
	sig = hw_run(&io);
	hw_runs++;
	if (len)
		poke(t, zero, len);

	r = in;
	r.nip = rig.a;
	rt = ppc_emulate(&ai, rig.a, &r);
	if (sig) {
		bad(text, insn, what, "signal %d at %#lx (no pad there); "
		    "the emulator says nip %#llx", sig,
		    (unsigned long)hw_fault_addr, (unsigned long long)r.nip);
		return;
	}
	hw_nip = io.where == 1 ? rig.a + 4 : io.where == 2 ? t : 0;
	if (ai.kind != PPC_ADDPCIS)
		io.out_rt = 0;		/* r5 was no output */
	if (r.nip != hw_nip || r.lr != io.out_lr || r.ctr != io.out_ctr ||
	    rt != io.out_rt)
		bad(text, insn, what,
		    "at %#lx from lr %#llx ctr %#llx cr %08x: processor nip "
		    "%#lx lr %#llx ctr %#llx rt %#llx, emulator nip %#llx lr "
		    "%#llx ctr %#llx rt %#llx", (unsigned long)rig.a,
		    (unsigned long long)in.lr, (unsigned long long)in.ctr,
		    in.cr, (unsigned long)hw_nip,
		    (unsigned long long)io.out_lr,
		    (unsigned long long)io.out_ctr,
		    (unsigned long long)io.out_rt,
		    (unsigned long long)r.nip, (unsigned long long)r.lr,
		    (unsigned long long)r.ctr, (unsigned long long)rt);
}

/* The emulation vectors, moved to rig.a. */
static void hw_vectors(void **state)
{
	(void)state;
	rig_init();
	failures = hw_runs = hw_skips = 0;
	for (size_t n = 0; n < sizeof(evecs) / sizeof(evecs[0]); n++)
		hw_check(evecs[n].text, evecs[n].insn, evecs[n].in,
			 evecs[n].what);
	print_message("%d vectors run, %d skipped (target not mappable)\n",
		      hw_runs, hw_skips);
	assert_int_equal(failures, 0);
	assert_true(hw_runs > 0);
}

static uint32_t enc_bc(unsigned int bo, unsigned int bi, int64_t bd, bool lk)
{
	return 0x40000000u | bo << 21 | bi << 16 | ((uint32_t)bd & 0xfffc) | lk;
}

static uint32_t enc_addpcis(unsigned int rt, int32_t d)
{
	uint32_t u = (uint32_t)d & 0xffff;

	return 0x4c000004u | rt << 21 | ((u >> 1) & 0x1f) << 16 |
	       (u >> 6) << 6 | (u & 1);
}

/*
 * Every BO, a few BI, CR and CTR values, with and without link, for bc,
 * bclr and bcctr; b, bl, ba, bla to LI's extremes; addpcis with each bit
 * of D set, and each clear.
 */
static void hw_generated(void **state)
{
	static const unsigned int bis[] = { 0, 2, 7, 28, 31 };
	static const uint32_t crs[] = { 0xa5c3960f, 0x5a3c69f0 };
	static const uint64_t ctrs[] = { 0, 1, 2, 0x100000001, ~0ull };
	static const int64_t bds[] = { 4, 8, 0x30, 0x100, -4, -0x48, -0x100,
				       0x7ffc, -0x8000 };
	static const int64_t lis[] = { 4, 8, -4, -0x48, 0x123454, -0x123458,
				       0x1fffffc, -0x2000000 };
	const size_t nbd = sizeof(bds) / sizeof(bds[0]);
	unsigned int n = 0;

	(void)state;
	rig_init();
	failures = hw_runs = hw_skips = 0;
	/* The encoders agree with gas. */
	assert_int_equal(enc_bc(16, 0, 8, 0), 0x42000008);	/* bdnz .+8 */
	assert_int_equal(enc_bc(12, 1, -0x8000, 0), 0x41818000);
	assert_int_equal(enc_b(-0x2000000, 0, 1), 0x4a000001);
	assert_int_equal(enc_b(0x1fffffc, 1, 0), 0x49fffffe);
	assert_int_equal(enc_addpcis(9, -0x5556), 0x4d35aa84);
	assert_int_equal(enc_addpcis(9, 0x5555), 0x4d2a5545);

	for (unsigned int bo = 0; bo < 32; bo++)
	for (size_t i = 0; i < 5; i++)
	for (size_t c = 0; c < 2; c++)
	for (size_t k = 0; k < 5; k++)
	for (int lk = 0; lk < 2; lk++, n++) {
		struct ppc_branch_regs in = { 0, LR0 | (n & 3), ctrs[k],
					      crs[c] };
		unsigned int bi = bis[i];

		hw_check("bc", enc_bc(bo, bi, bds[n % nbd], lk), in,
			 "generated");
		hw_check("bclr", 0x4c000020u | bo << 21 | bi << 16 | lk, in,
			 "generated");
		if (bo & 4 && k < 2) {
			in.ctr = n & 3;
			hw_check("bcctr",
				 0x4c000420u | bo << 21 | bi << 16 | lk, in,
				 "generated");
		}
	}
	for (size_t k = 0; k < sizeof(lis) / sizeof(lis[0]); k++)
	for (int lk = 0; lk < 2; lk++) {
		struct ppc_branch_regs in = { 0, LR0, 7, 0 };

		hw_check("b", enc_b(lis[k], 0, lk), in, "generated");
	}
	if (rig.low) {
		static const int64_t abs[] = { 0x1fffffc, RIG_LOW + 0x10000,
					       0x1234560 };

		for (size_t k = 0; k < sizeof(abs) / sizeof(abs[0]); k++)
		for (int lk = 0; lk < 2; lk++) {
			struct ppc_branch_regs in = { 0, LR0, 7, 0 };

			hw_check("ba", enc_b(abs[k], 1, lk), in, "generated");
		}
	}
	for (int bit = 0; bit < 16; bit++) {
		struct ppc_branch_regs in = { 0, LR0, 7, 0 };

		hw_check("addpcis", enc_addpcis(5, (int16_t)(1u << bit)), in,
			 "one bit of D");
		hw_check("addpcis", enc_addpcis(5, (int16_t)~(1u << bit)), in,
			 "all bits of D but one");
	}
	print_message("%d generated cases run, %d skipped\n", hw_runs,
		      hw_skips);
	assert_int_equal(failures, 0);
}
#endif /* __powerpc64__ */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_vectors),
		cmocka_unit_test(prefix_words),
		cmocka_unit_test(emulation_vectors),
		cmocka_unit_test(bo_encodings),
#if defined(__powerpc64__)
		cmocka_unit_test(hw_vectors),
		cmocka_unit_test(hw_generated),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
