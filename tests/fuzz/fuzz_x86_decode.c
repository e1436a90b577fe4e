// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the x86_64 instruction analysis (src/arch/x86_64/
 * insn.c) and arch_check_boundary(), bytes in.
 *
 * The input is a run of code. Its first instruction is decoded at a few
 * probe addresses; whatever decodes is checked against what the rest of
 * the library relies on, and every out-of-line instruction gets slots
 * near, far and exactly at the edge of rel32 reach. Then the whole run is
 * walked for instruction boundaries. A broken invariant aborts (libFuzzer
 * calls that a crash and keeps the input); ASan and UBSan watch our code.
 *
 * Capstone is not instrumented, so its reads are guarded another way: the
 * code is copied to the end of a page followed by an inaccessible one, and
 * a read past the input faults.
 *
 * Independent checks use a second Capstone handle: the slot's bytes are
 * decoded again at the slot's address and must name the same operands
 * (RIP-relative memory at the same absolute address), and an operand
 * Capstone prints as RIP-relative must have been re-targeted.
 *
 * A branch with an operand-size prefix (66 e9 cw, 66 c3...) must be
 * refused: Capstone decodes AMD's 16-bit meaning, Intel CPUs ignore the
 * prefix. Found by this fuzzer (Capstone 4.0.2) and fixed in insn.c:
 *  - loop, loope and loopne with 0x66 were accepted (66 e2 fe): Capstone
 *    does not file them as jumps;
 *  - with 0x67 and REX.W, Capstone truncates a jmp rel32's target to 16
 *    bits (67 48 e9 rel32) and reads call's as rel16 (67 48 e8 ...: 5
 *    bytes, not 7); insn.c now refuses a relative branch whose target is
 *    not address + length + the rel8/rel32 that ends it.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			check_failed(#cond, __LINE__);			\
	} while (0)

/* Longest run walked for boundaries: keeps one input cheap. */
#define WALK_MAX	256

/* Where probes sit: a non-PIE and a PIE text, an odd address high in
 * the mmap area, the top of the user address space. */
static const uint64_t probe_addrs[] = {
	0x401000ull,
	0x555555554000ull,
	0x7ffff7fc3ff1ull,
	0x7fffffffefe0ull,
};

static const uint8_t *cur_data;
static size_t cur_size;
static uint64_t cur_addr;

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_x86_decode.c:%d: check failed: %s\n", line, what);
	fprintf(stderr, "  at address %#llx, input:", (unsigned long long)cur_addr);
	for (size_t i = 0; i < cur_size && i < 32; i++)
		fprintf(stderr, " %02x", cur_data[i]);
	fprintf(stderr, "\n");
	abort();
}

/*
 * Capstone is not instrumented, so libFuzzer cannot see which instruction
 * an input reached: these counters tell it (Capstone's instruction id, and
 * x86_decode()'s decision), and inputs that reach new ones are kept.
 */
static uint8_t extra_counters[4096]
	__attribute__((section("__libfuzzer_extra_counters"), used));

static csh cs;
static uint8_t *page_end;	/* first byte of the inaccessible page */
static size_t page_size;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t *p;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, 2 * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + page_size, page_size, PROT_NONE))
		abort();
	page_end = p + page_size;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		abort();
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

/* One instruction through the second handle; NULL if it does not decode. */
static cs_insn *cs_one(const uint8_t *code, size_t len, uint64_t addr)
{
	cs_insn *insn;

	if (cs_disasm(cs, code, len, addr, 1, &insn) != 1)
		return NULL;
	return insn;
}

static int64_t sext(uint64_t v, int bits)
{
	return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * The slot's instruction, decoded at the slot, does what the original does
 * at @orig: same instruction, same operands, RIP-relative memory at the
 * same absolute address.
 */
static void check_same_operands(const struct arch_insn *ai, uint64_t orig,
				const uint8_t *slot_code, uint64_t slot)
{
	cs_insn *a = cs_one(ai->bytes, ai->len, orig);
	cs_insn *b = cs_one(slot_code, ai->len, slot);
	const cs_x86 *xa, *xb;

	CHECK(a && b);
	CHECK(a->id == b->id && a->size == b->size);
	xa = &a->detail->x86;
	xb = &b->detail->x86;
	CHECK(xa->op_count == xb->op_count);
	for (int i = 0; i < xa->op_count; i++) {
		const cs_x86_op *p = &xa->operands[i], *q = &xb->operands[i];

		CHECK(p->type == q->type && p->size == q->size);
		if (p->type == X86_OP_REG) {
			CHECK(p->reg == q->reg);
		} else if (p->type == X86_OP_IMM) {
			CHECK(p->imm == q->imm);
		} else if (p->type == X86_OP_MEM) {
			CHECK(p->mem.segment == q->mem.segment &&
			      p->mem.base == q->mem.base &&
			      p->mem.index == q->mem.index &&
			      p->mem.scale == q->mem.scale);
			if (p->mem.base == X86_REG_RIP)
				CHECK(orig + a->size + (uint64_t)p->mem.disp ==
				      slot + b->size + (uint64_t)q->mem.disp);
			else if (p->mem.base == X86_REG_EIP)	/* mod 4 GiB */
				CHECK((uint32_t)(orig + a->size + p->mem.disp) ==
				      (uint32_t)(slot + b->size + q->mem.disp));
			else
				CHECK(p->mem.disp == q->mem.disp);
		}
	}
	cs_free(a, 1);
	cs_free(b, 1);
}

/* x86_build_slot() at @slot, checked byte by byte. */
static void check_slot(const struct arch_insn *ai, uint64_t orig,
		       uint64_t slot)
{
	uint8_t buf[ARCH_SLOT_SIZE + 8], trap_off = 0xff, fixups = 0xff;
	uint64_t resume = 0;
	__int128 target = 0, need = 0;
	bool fits = true;
	int ret;

	if (ai->disp_off >= 0) {
		int32_t disp = (int32_t)le(ai->bytes + ai->disp_off, 4);

		target = (__int128)orig + ai->len + disp;
		need = target - ((__int128)slot + ai->len);
		/* addr32: (eip + disp) mod 2^32, any slot reaches. */
		if (ai->eip_rel)
			need = (int32_t)(uint32_t)need;
		fits = need >= INT32_MIN && need <= INT32_MAX;
	}

	memset(buf, 0x5a, sizeof(buf));
	ret = x86_build_slot(ai, orig, slot, buf, &trap_off, &resume, &fixups);
	if (!fits) {
		CHECK(ret == -ERANGE);
		return;
	}
	CHECK(ret == 0);
	CHECK(trap_off == ai->len && buf[ai->len] == 0xcc);
	CHECK(resume == orig + ai->len);
	CHECK(fixups == (ai->kind == X86_SYSCALL ? X86_FIXUP_RCX : 0));
	/* Nothing past the trap byte is written. */
	for (size_t i = ai->len + 1u; i < sizeof(buf); i++)
		CHECK(buf[i] == 0x5a);
	for (int i = 0; i < ai->len; i++)
		if (ai->disp_off < 0 || i < ai->disp_off || i >= ai->disp_off + 4)
			CHECK(buf[i] == ai->bytes[i]);
	if (ai->disp_off >= 0)
		CHECK((int32_t)le(buf + ai->disp_off, 4) == (int64_t)need);
	check_same_operands(ai, orig, buf, slot);
}

static void check_slots(const struct arch_insn *ai, uint64_t orig)
{
	uint64_t slots[12];
	size_t n = 0;

	slots[n++] = orig + 0x1000;
	slots[n++] = orig - 0x1000;
	slots[n++] = orig + ARCH_SLOT_REACH;
	slots[n++] = orig - ARCH_SLOT_REACH;
	slots[n++] = orig + (1ull << 32);	/* beyond reach */
	slots[n++] = orig - (1ull << 31) - 0x40;
	if (ai->disp_off >= 0) {
		/* The last slots that reach the target, and the first that do
		 * not, on both sides. */
		int32_t disp = (int32_t)le(ai->bytes + ai->disp_off, 4);
		uint64_t target = orig + ai->len + (uint64_t)(int64_t)disp;

		slots[n++] = target - ai->len - (uint64_t)INT32_MAX;
		slots[n++] = target - ai->len - (uint64_t)INT32_MAX - 1;
		slots[n++] = target - ai->len + (1ull << 31);
		slots[n++] = target - ai->len + (1ull << 31) + 1;
	}
	for (size_t i = 0; i < n; i++) {
		/* Slots are real addresses: nothing that wraps. */
		if (slots[i] >= (1ull << 48))
			continue;
		check_slot(ai, orig, slots[i]);
	}
}

/* Does Capstone print an operand of this instruction as RIP-relative
 * (or EIP-relative, with addr32)? */
static bool prints_rip(const uint8_t *code, size_t len, uint64_t addr)
{
	cs_insn *insn = cs_one(code, len, addr);
	bool rip;

	if (!insn)
		return false;
	rip = strstr(insn->op_str, "rip") || strstr(insn->op_str, "eip");
	cs_free(insn, 1);
	return rip;
}

/* Is 0x66 among the prefixes before the opcode? (A REX byte that does
 * not come last is ignored by the CPU, so it may stand among them.) */
static bool has_opsize_prefix(const uint8_t *code, size_t len)
{
	for (size_t i = 0; i < len && i < 15; i++) {
		if (code[i] == 0x66)
			return true;
		switch (code[i]) {
		case 0x67: case 0xf0: case 0xf2: case 0xf3:
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
		case 0x40 ... 0x4f:
			continue;
		default:
			return false;
		}
	}
	return false;
}

static bool is_pt_regs_gpr(int8_t idx)
{
	return (idx >= 0 && idx <= 14) || idx == 19;
}

static void check_decode(const uint8_t *code, size_t len, uint64_t addr)
{
	struct arch_insn ai, again;
	int ret, n;

	cur_addr = addr;
	ret = x86_decode(code, len, addr, &ai);
	n = x86_insn_length(code, len, addr);
	if (addr == probe_addrs[0]) {
		cs_insn *insn = cs_one(code, len, addr);

		if (insn) {
			extra_counters[insn->id % 2048]++;
			cs_free(insn, 1);
		}
		extra_counters[2048 + ((ret == 0 ? 0 : ret == -EILSEQ ? 1 : 2) *
				       16 + ai.kind % 16) * 2 +
			       (ai.disp_off >= 0)]++;
	}
	CHECK(ret == 0 || ret == -EILSEQ || ret == -EOPNOTSUPP);
	CHECK(memchr(ai.mnemonic, '\0', sizeof(ai.mnemonic)));
	/* Deterministic: the shared Capstone handle keeps no state. */
	CHECK(x86_decode(code, len, addr, &again) == ret);
	CHECK(!memcmp(&ai, &again, sizeof(ai)));
	if (ret == -EILSEQ) {
		CHECK(n == -EILSEQ);
		return;
	}
	CHECK(ai.len >= 1 && ai.len <= 15 && ai.len <= len);
	CHECK(n == ai.len);
	/* The length does not depend on where the instruction is. */
	CHECK(x86_insn_length(code, len, 0) == ai.len);
	CHECK(!memcmp(ai.bytes, code, ai.len));
	for (size_t i = ai.len; i < sizeof(ai.bytes); i++)
		CHECK(ai.bytes[i] == 0);
	if (ret)
		return;

	CHECK(ai.kind <= X86_CALL_IND);
	/* Intel and AMD disagree on 0x66 before a near branch: refused. */
	if (ai.kind == X86_JMP || ai.kind == X86_JCC || ai.kind == X86_CALL ||
	    ai.kind == X86_RET || ai.kind == X86_LOOP)
		CHECK(!has_opsize_prefix(code, ai.len));
	switch (ai.kind) {
	case X86_OOL:
	case X86_SYSCALL:
		if (ai.disp_off >= 0)
			CHECK(ai.disp_off >= 1 && ai.disp_off + 4 <= ai.len);
		CHECK(!ai.eip_rel || ai.disp_off >= 0);
		/* Anything RIP-relative must be re-targeted in the slot. */
		if (prints_rip(code, len, addr))
			CHECK(ai.disp_off >= 0);
		check_slots(&ai, addr);
		break;
	case X86_JMP:
	case X86_JCC:
	case X86_LOOP:
	case X86_CALL: {
		/* The rel8 or rel32 that ends the instruction. */
		int64_t rel = (int64_t)(ai.target - (addr + ai.len));
		int64_t rel8 = sext(code[ai.len - 1], 8);
		int64_t rel32 = ai.len >= 5 ?
			sext(le(code + ai.len - 4, 4), 32) : INT64_MIN;

		CHECK(rel == rel8 || rel == rel32);
		if (ai.kind == X86_LOOP)
			CHECK(ai.cond <= X86_JRCXZ && rel == rel8);
		if (ai.kind == X86_JCC)
			CHECK(ai.cond <= 0xf);
		CHECK(ai.disp_off < 0);
		break;
	}
	case X86_RET:
		CHECK(ai.ret_pop == 0 || (ai.len >= 3 &&
		      ai.ret_pop == le(code + ai.len - 2, 2)));
		break;
	case X86_JMP_IND:
	case X86_CALL_IND:
		/* The trap path indexes struct pt_regs with these. */
		if (ai.ind_reg != X86_REG_NONE) {
			CHECK(is_pt_regs_gpr(ai.ind_reg));
			CHECK(ai.base == X86_REG_NONE &&
			      ai.index == X86_REG_NONE);
		} else {
			CHECK(ai.base == X86_REG_NONE || ai.base == X86_REG_IP ||
			      is_pt_regs_gpr(ai.base));
			CHECK(ai.index == X86_REG_NONE ||
			      is_pt_regs_gpr(ai.index));
			CHECK(ai.scale == 0 || ai.scale == 1 || ai.scale == 2 ||
			      ai.scale == 4 || ai.scale == 8);
			if (prints_rip(code, len, addr))
				CHECK(ai.base == X86_REG_IP);
		}
		break;
	}
}

/* arch_check_boundary() agrees with a walk from the first byte. */
static void check_boundaries(const uint8_t *code, size_t len,
			     const uint8_t *data, size_t size)
{
	uint8_t reached[WALK_MAX + 2] = { 0 };
	size_t pos = 0, offs[8], n = 0;

	cur_addr = 0;
	reached[0] = 1;
	while (pos < len) {
		int k = x86_insn_length(code + pos, len - pos, pos);

		if (k < 0)
			break;
		CHECK(k >= 1 && (size_t)k <= len - pos);
		pos += (size_t)k;
		reached[pos] = 1;
	}
	offs[n++] = pos;
	offs[n++] = pos + 1;
	offs[n++] = len;
	offs[n++] = len + 1;	/* past the end: never a boundary */
	for (size_t i = 0; i < 4 && i < size; i++)
		offs[n++] = data[size - 1 - i] % (len + 1);
	for (size_t i = 0; i < n; i++) {
		size_t off = offs[i] > len + 1 ? len + 1 : offs[i];
		int ret = arch_check_boundary(code, len, off);

		CHECK(ret == 0 || ret == -EILSEQ || ret == -EINVAL);
		CHECK((ret == 0) == (off <= len && reached[off]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < WALK_MAX ? size : WALK_MAX;
	uint8_t *code = page_end - len;

	cur_data = data;
	cur_size = size;
	memcpy(code, data, len);
	for (size_t i = 0; i < sizeof(probe_addrs) / sizeof(probe_addrs[0]); i++)
		check_decode(code, len, probe_addrs[i]);
	check_boundaries(code, len, data, size);
	return 0;
}
