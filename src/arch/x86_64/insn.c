// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86_64 instruction analysis: bytes in, a decision out. Which instructions
 * can be probed, how each is executed (out of line from a slot, or emulated
 * in the trap handler), and the slot's code. Nothing here touches the
 * process: the unit tests feed it byte arrays.
 *
 * Why emulate branches rather than run them from the slot: a relative
 * branch executed at the slot's address would go somewhere else, and a call
 * would push the slot's address; and after a taken branch there is no
 * "next instruction" where a second trap could sit. Today's kernel emulates
 * them for the same reason. Everything else runs unchanged out of line,
 * except that a RIP-relative operand is re-targeted so it still names the
 * same memory from the slot (which is why a slot must be within +-2 GiB).
 *
 * Called at registration time only, under kprobe_mutex (the Capstone handle
 * is shared). Not async-signal-safe.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "arch-insn.h"

static csh cs_handle;
static bool cs_ready;

static int cs_init(void)
{
	if (cs_ready)
		return 0;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs_handle) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(cs_handle, CS_OPT_DETAIL, CS_OPT_ON);
	cs_ready = true;
	return 0;
}

/* Capstone register -> index into struct pt_regs as an unsigned long[]. */
static int pt_regs_index(x86_reg reg)
{
	switch (reg) {
	case X86_REG_R15: return 0;
	case X86_REG_R14: return 1;
	case X86_REG_R13: return 2;
	case X86_REG_R12: return 3;
	case X86_REG_RBP: return 4;
	case X86_REG_RBX: return 5;
	case X86_REG_R11: return 6;
	case X86_REG_R10: return 7;
	case X86_REG_R9:  return 8;
	case X86_REG_R8:  return 9;
	case X86_REG_RAX: return 10;
	case X86_REG_RCX: return 11;
	case X86_REG_RDX: return 12;
	case X86_REG_RSI: return 13;
	case X86_REG_RDI: return 14;
	case X86_REG_RSP: return 19;
	case X86_REG_RIP: return X86_REG_IP;
	case X86_REG_INVALID: return X86_REG_NONE;
	default: return -100;	/* not a 64-bit general register */
	}
}

/* Instructions that cannot run out of line, or must not be touched. */
static bool refused(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;

	/* Capstone puts syscall in its INT group; it runs fine out of line. */
	if (insn->id == X86_INS_SYSCALL)
		return false;
	for (int i = 0; i < d->groups_count; i++)
		if (d->groups[i] == CS_GRP_INT || d->groups[i] == CS_GRP_IRET)
			return true;
	switch (insn->id) {
	case X86_INS_INT3: case X86_INS_INT: case X86_INS_INT1:
	case X86_INS_INTO: case X86_INS_UD2: case X86_INS_UD0:
	case X86_INS_UD2B: case X86_INS_HLT:
	case X86_INS_IRET: case X86_INS_IRETD: case X86_INS_IRETQ:
	case X86_INS_SYSENTER: case X86_INS_SYSEXIT: case X86_INS_SYSRET:
	case X86_INS_LJMP: case X86_INS_LCALL:
	case X86_INS_RETF: case X86_INS_RETFQ:
	case X86_INS_XBEGIN: case X86_INS_XEND: case X86_INS_XABORT:
	case X86_INS_VMCALL: case X86_INS_VMMCALL: case X86_INS_VMFUNC:
	case X86_INS_ENCLU: case X86_INS_BOUND:
		return true;
	default:
		return false;
	}
}

static bool is_jcc(unsigned int id)
{
	switch (id) {
	case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB:
	case X86_INS_JE: case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE:
	case X86_INS_JL: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP:
	case X86_INS_JNS: case X86_INS_JO: case X86_INS_JP: case X86_INS_JS:
		return true;
	default:
		return false;
	}
}

/* Every instruction that changes the flow: emulated, never run from a
 * slot. */
static bool is_branch(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;

	for (int i = 0; i < d->groups_count; i++)
		if (d->groups[i] == CS_GRP_JUMP || d->groups[i] == CS_GRP_CALL ||
		    d->groups[i] == CS_GRP_RET)
			return true;
	return false;
}

/* The operand of jmp/call r/m64 into ai. Return 0 or -EOPNOTSUPP. */
static int decode_indirect(const cs_insn *insn, struct arch_insn *ai)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *op = &x->operands[0];

	if (x->op_count != 1 || op->size != 8 || x->addr_size != 8)
		return -EOPNOTSUPP;
	ai->ind_reg = ai->base = ai->index = X86_REG_NONE;
	if (op->type == X86_OP_REG) {
		ai->ind_reg = (int8_t)pt_regs_index(op->reg);
		return ai->ind_reg >= 0 ? 0 : -EOPNOTSUPP;
	}
	if (op->type != X86_OP_MEM)
		return -EOPNOTSUPP;
	/*
	 * fs:/gs: would need the segment base: not worth it for branches.
	 * Other segments mean nothing in 64-bit mode; Capstone reports the
	 * 0x3e of "notrack jmp *..." as a ds: override.
	 */
	if (op->mem.segment == X86_REG_FS || op->mem.segment == X86_REG_GS)
		return -EOPNOTSUPP;
	ai->base = (int8_t)pt_regs_index(op->mem.base);
	ai->index = (int8_t)pt_regs_index(op->mem.index);
	if (ai->base < X86_REG_IP || ai->index < X86_REG_NONE ||
	    ai->index == X86_REG_IP)
		return -EOPNOTSUPP;
	ai->scale = (uint8_t)op->mem.scale;
	ai->disp = op->mem.disp;
	return 0;
}

/*
 * Where the disp32 of a RIP-relative operand sits in the instruction.
 * Capstone 4 says so for legacy encodings, but reports no displacement for
 * VEX-encoded (AVX) ones; then find it ourselves: the 4 bytes after a
 * ModRM byte of the form mod=00 rm=101 that hold the displacement's value.
 * Return the offset, or -1 if it is not found or not unique.
 */
static int riprel_disp_offset(const cs_insn *insn, int64_t disp)
{
	const cs_x86 *x = &insn->detail->x86;
	int32_t d32 = (int32_t)disp;
	int found = -1;

	if (x->encoding.disp_size == 4 && x->encoding.disp_offset)
		return x->encoding.disp_offset;
	if (disp != d32)
		return -1;
	for (int off = 1; off + 4 <= insn->size; off++) {
		int32_t v;

		memcpy(&v, insn->bytes + off, sizeof(v));
		if (v != d32 || (insn->bytes[off - 1] & 0xc7) != 0x05)
			continue;
		if (found >= 0)
			return -1;	/* ambiguous: refuse */
		found = off;
	}
	return found;
}

static bool is_relative(const struct arch_insn *ai)
{
	return ai->kind == X86_JMP || ai->kind == X86_JCC ||
	       ai->kind == X86_CALL || ai->kind == X86_LOOP;
}

/*
 * A relative branch's target must be its address + length + the rel8 or
 * rel32 that ends it. Capstone 4 gets both the length and the target wrong
 * for, e.g., "67 48 e9 rel32" (found by fuzzing); the CPU would not go
 * where the emulation sends the thread, so such a probe is refused.
 */
static bool target_is_encoded(const struct arch_insn *ai, uint64_t addr)
{
	int64_t rel = (int64_t)(ai->target - (addr + ai->len));
	int32_t rel32;

	if (rel == (int8_t)ai->bytes[ai->len - 1])
		return true;
	if (ai->len < 5)
		return false;
	memcpy(&rel32, ai->bytes + ai->len - 4, sizeof(rel32));
	return rel == rel32;
}

/* ret is c3 at the end; ret imm16 is c2 iw at the end. */
static bool ret_is_encoded(const struct arch_insn *ai)
{
	uint16_t imm;

	if (ai->bytes[ai->len - 1] == 0xc3)
		return ai->ret_pop == 0;
	if (ai->len < 3 || ai->bytes[ai->len - 3] != 0xc2)
		return false;
	memcpy(&imm, ai->bytes + ai->len - 2, sizeof(imm));
	return imm == ai->ret_pop;
}

/**
 * x86_decode() - decode one instruction and decide how to execute it.
 * @code: the original bytes at @addr, @len of them readable.
 * Return: 0; -EILSEQ if it does not decode; -EOPNOTSUPP if it cannot be
 * probed.
 */
int x86_decode(const uint8_t *code, size_t len, uint64_t addr,
	       struct arch_insn *ai)
{
	const cs_x86 *x;
	cs_insn *insn;
	int ret = 0;

	if (cs_init())
		return -ENOMEM;
	memset(ai, 0, sizeof(*ai));
	ai->disp_off = -1;
	ai->ind_reg = ai->base = ai->index = X86_REG_NONE;
	if (cs_disasm(cs_handle, code, len, addr, 1, &insn) != 1)
		return -EILSEQ;
	x = &insn->detail->x86;
	ai->len = (uint8_t)insn->size;
	memcpy(ai->bytes, code, insn->size);
	snprintf(ai->mnemonic, sizeof(ai->mnemonic), "%s", insn->mnemonic);

	if (refused(insn)) {
		ret = -EOPNOTSUPP;
	} else if (is_branch(insn) && x->prefix[2] == X86_PREFIX_OPSIZE) {
		/*
		 * 0x66 on a near branch: AMD truncates the target to 16 bits,
		 * Intel ignores the prefix and reads a longer offset than
		 * Capstone decodes. Neither is worth emulating.
		 */
		ret = -EOPNOTSUPP;
	} else if (insn->id == X86_INS_JMP || insn->id == X86_INS_CALL) {
		bool call = insn->id == X86_INS_CALL;

		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
			ai->kind = call ? X86_CALL : X86_JMP;
			ai->target = (uint64_t)x->operands[0].imm;
		} else {
			ai->kind = call ? X86_CALL_IND : X86_JMP_IND;
			ret = decode_indirect(insn, ai);
		}
	} else if (is_jcc(insn->id)) {
		uint8_t op = x->opcode[0] == 0x0f ? x->opcode[1] : x->opcode[0];

		ai->kind = X86_JCC;
		ai->cond = op & 0xf;
		ai->target = (uint64_t)x->operands[0].imm;
	} else if (insn->id == X86_INS_LOOP || insn->id == X86_INS_LOOPE ||
		   insn->id == X86_INS_LOOPNE || insn->id == X86_INS_JRCXZ) {
		ai->kind = X86_LOOP;
		ai->cond = insn->id == X86_INS_LOOPNE ? X86_LOOPNE :
			   insn->id == X86_INS_LOOPE ? X86_LOOPE :
			   insn->id == X86_INS_LOOP ? X86_LOOP_ : X86_JRCXZ;
		ai->target = (uint64_t)x->operands[0].imm;
		/* 0x67 makes them count ecx, 0x66 cuts the target to 16 bits
		 * on AMD (Capstone 4 leaves loops out of its jump group, so
		 * the check above misses them): not emulated. */
		if (x->addr_size != 8 || x->prefix[2] == X86_PREFIX_OPSIZE)
			ret = -EOPNOTSUPP;
	} else if (insn->id == X86_INS_JECXZ || insn->id == X86_INS_JCXZ) {
		ret = -EOPNOTSUPP;
	} else if (insn->id == X86_INS_RET) {
		ai->kind = X86_RET;
		if (x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
			ai->ret_pop = (uint16_t)x->operands[0].imm;
		/* As for relative branches: the decoding must match the
		 * bytes (Capstone 4 misreads "67 48 c2 iw"). */
		if (!ret_is_encoded(ai))
			ret = -EOPNOTSUPP;
	} else {
		ai->kind = insn->id == X86_INS_SYSCALL ? X86_SYSCALL : X86_OOL;
		for (int i = 0; i < x->op_count; i++) {
			const cs_x86_op *op = &x->operands[i];

			if (op->type != X86_OP_MEM ||
			    (op->mem.base != X86_REG_RIP &&
			     op->mem.base != X86_REG_EIP))
				continue;
			/* addr32: the address wraps at 4 GiB (see
			 * x86_build_slot()). */
			ai->eip_rel = op->mem.base == X86_REG_EIP;
			ai->disp_off = riprel_disp_offset(insn, op->mem.disp);
			if (ai->disp_off < 0) {
				ret = -EOPNOTSUPP;
				break;
			}
		}
	}
	if (!ret && is_relative(ai) && !target_is_encoded(ai, addr))
		ret = -EOPNOTSUPP;
	cs_free(insn, 1);
	return ret;
}

/* Length of the instruction at @code, or -EILSEQ. */
int x86_insn_length(const uint8_t *code, size_t len, uint64_t addr)
{
	cs_insn *insn;
	int n;

	if (cs_init())
		return -ENOMEM;
	/* Detail off would be faster, but the handle is shared: keep it. */
	if (cs_disasm(cs_handle, code, len, addr, 1, &insn) != 1)
		return -EILSEQ;
	n = insn->size;
	cs_free(insn, 1);
	return n;
}

/**
 * x86_build_slot() - the slot's code for an out-of-line instruction.
 * The instruction, with a RIP-relative displacement re-targeted to the same
 * memory as seen from @slot, followed by int3 (the second trap).
 * Return: 0, or -ERANGE when the target is beyond rel32 from the slot.
 */
int x86_build_slot(const struct arch_insn *ai, uint64_t orig, uint64_t slot,
		   uint8_t *buf, uint8_t *trap_off, uint64_t *resume,
		   uint8_t *fixups)
{
	memcpy(buf, ai->bytes, ai->len);
	if (ai->disp_off >= 0) {
		int32_t disp;
		int64_t abs, nd;

		memcpy(&disp, ai->bytes + ai->disp_off, sizeof(disp));
		abs = (int64_t)(orig + ai->len) + disp;
		nd = abs - (int64_t)(slot + ai->len);
		/* With addr32 the address is (eip + disp) mod 2^32: any
		 * displacement reaches, modulo 2^32. */
		if (ai->eip_rel)
			nd = (int32_t)(uint32_t)nd;
		if (nd != (int32_t)nd)
			return -ERANGE;
		disp = (int32_t)nd;
		memcpy(buf + ai->disp_off, &disp, sizeof(disp));
	}
	buf[ai->len] = 0xcc;
	*trap_off = ai->len;
	*resume = orig + ai->len;
	*fixups = ai->kind == X86_SYSCALL ? X86_FIXUP_RCX : 0;
	return 0;
}

/*
 * Does @insn read or write the x87 or MMX state? Capstone's FPU group
 * misses some (fstp, fnstsw), so: the x87 escape opcodes D8-DF, any st or
 * mm register operand, and the instructions that load the whole state.
 */
static bool uses_x87(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	if (x->opcode[0] >= 0xd8 && x->opcode[0] <= 0xdf)
		return true;
	switch (insn->id) {
	case X86_INS_EMMS:
	case X86_INS_FEMMS:
	case X86_INS_FXRSTOR:
	case X86_INS_FXRSTOR64:
	case X86_INS_XRSTOR:
	case X86_INS_XRSTOR64:
	case X86_INS_XRSTORS:
	case X86_INS_XRSTORS64:
		return true;
	default:
		break;
	}
	for (int i = 0; i < x->op_count; i++) {
		unsigned int r = x->operands[i].reg;

		if (x->operands[i].type != X86_OP_REG)
			continue;
		if ((r >= X86_REG_ST0 && r <= X86_REG_ST7) ||
		    (r >= X86_REG_MM0 && r <= X86_REG_MM7))
			return true;
	}
	return false;
}

/* A general register (any width), a segment register, rip or the flags. */
static bool is_gpr(unsigned int r)
{
	return (r >= X86_REG_AH && r <= X86_REG_SS && r != X86_REG_FPSW) ||
	       (r >= X86_REG_R8 && r <= X86_REG_R15) ||
	       (r >= X86_REG_R8B && r <= X86_REG_R15W);
}

/* Does @insn touch nothing but general registers, flags and memory? */
static bool gpr_only(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;
	const cs_x86 *x = &d->x86;

	if (uses_x87(insn))
		return false;
	switch (insn->id) {
	case X86_INS_LDMXCSR:
	case X86_INS_VLDMXCSR:
	case X86_INS_STMXCSR:
	case X86_INS_VSTMXCSR:
	case X86_INS_FXSAVE:
	case X86_INS_FXSAVE64:
	case X86_INS_XSAVE:
	case X86_INS_XSAVE64:
	case X86_INS_XSAVEC:
	case X86_INS_XSAVEC64:
	case X86_INS_XSAVEOPT:
	case X86_INS_XSAVEOPT64:
	case X86_INS_XSAVES:
	case X86_INS_XSAVES64:
	case X86_INS_VZEROUPPER:
	case X86_INS_VZEROALL:
	case X86_INS_XSETBV:
		return false;
	default:
		break;
	}
	for (int i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type == X86_OP_REG && !is_gpr(op->reg))
			return false;
		if (op->type == X86_OP_MEM &&
		    ((op->mem.base && !is_gpr(op->mem.base)) ||
		     (op->mem.index && !is_gpr(op->mem.index))))
			return false;		/* a gather's vector index */
	}
	for (int i = 0; i < d->regs_read_count; i++)
		if (!is_gpr(d->regs_read[i]))
			return false;
	for (int i = 0; i < d->regs_write_count; i++)
		if (!is_gpr(d->regs_write[i]))
			return false;
	return true;
}

/**
 * x86_scan_gpr_only() - does a function leave the vector and x87 state be?
 * Decode the function (@code, @len bytes at @addr) from start to end: true
 * if every instruction is one gpr_only() accepts. The targets of direct
 * calls, and of jumps that leave the function (tail calls), go to
 * @callees (at most @max; *@n says how many), for the caller to scan in
 * turn, and an indirect call or jump goes there as 0: false if there are
 * more than @max. (Capstone 4
 * does not decode WRPKRU: an instruction it does not know is a no.)
 */
bool x86_scan_gpr_only(const uint8_t *code, size_t len, uint64_t addr,
		       uint64_t *callees, size_t max, size_t *n)
{
	const uint8_t *p = code;
	uint64_t pc = addr, end = addr + len;
	cs_insn *insn;
	bool ok = true;

	*n = 0;
	if (cs_init())
		return false;
	insn = cs_malloc(cs_handle);
	if (!insn)
		return false;
	while (len && ok) {
		const cs_detail *d;
		bool branch = false;

		if (!cs_disasm_iter(cs_handle, &p, &len, &pc, insn)) {
			ok = false;
			break;
		}
		d = insn->detail;
		ok = gpr_only(insn);
		for (int i = 0; i < d->groups_count; i++)
			branch |= d->groups[i] == CS_GRP_JUMP ||
				  d->groups[i] == CS_GRP_CALL;
		if (!ok || !branch)
			continue;
		if (d->x86.op_count == 1 &&
		    d->x86.operands[0].type == X86_OP_IMM) {
			uint64_t t = (uint64_t)d->x86.operands[0].imm;

			if (t >= addr && t < end)
				continue;	/* inside the function */
			if (*n == max || d->x86.prefix[2] == X86_PREFIX_OPSIZE)
				ok = false;
			else
				callees[(*n)++] = t;
		} else if (*n == max) {
			ok = false;
		} else {
			callees[(*n)++] = 0;	/* indirect: unknown */
		}
	}
	cs_free(insn, 1);
	return ok;
}

/**
 * x86_scan_branches() - may a range inside a function be replaced whole?
 * Decode the function (@code, @len bytes at @addr) from start to end and
 * look at every branch: none may land strictly inside (@lo, @hi), where a
 * jump's rel32 would then be executed as code, and there may be no
 * indirect jump, whose targets (a switch's table) cannot be known. Calls
 * are fine: the range holds none, so no return address points into it.
 * Set *@x87 if any instruction of the function uses the x87 or MMX state.
 * Return: 0, or -EOPNOTSUPP with *why set.
 */
int x86_scan_branches(const uint8_t *code, size_t len, uint64_t addr,
		      uint64_t lo, uint64_t hi, bool *x87, const char **why)
{
	const uint8_t *p = code;
	uint64_t pc = addr;
	cs_insn *insn;
	int ret = 0;

	if (cs_init())
		return -ENOMEM;
	insn = cs_malloc(cs_handle);
	if (!insn)
		return -ENOMEM;
	*x87 = false;
	while (len && !ret) {
		const cs_detail *d;
		bool jump = false, call = false;

		if (!cs_disasm_iter(cs_handle, &p, &len, &pc, insn)) {
			*why = "the function does not decode from start to end";
			ret = -EOPNOTSUPP;
			break;
		}
		d = insn->detail;
		*x87 |= uses_x87(insn);
		for (int i = 0; i < d->groups_count; i++) {
			jump |= d->groups[i] == CS_GRP_JUMP;
			call |= d->groups[i] == CS_GRP_CALL;
		}
		/* Capstone 4 leaves the loop family out of its jump group. */
		jump |= insn->id == X86_INS_LOOP || insn->id == X86_INS_LOOPE ||
			insn->id == X86_INS_LOOPNE || insn->id == X86_INS_JRCXZ ||
			insn->id == X86_INS_JECXZ || insn->id == X86_INS_JCXZ;
		if (!jump && !call)
			continue;
		if (d->x86.op_count == 1 && d->x86.operands[0].type == X86_OP_IMM) {
			uint64_t t = (uint64_t)d->x86.operands[0].imm;

			/* A 0x66 prefix may cut the target to 16 bits: judge
			 * the target as the CPU might compute it, too. */
			if ((t > lo && t < hi) ||
			    (d->x86.prefix[2] == X86_PREFIX_OPSIZE &&
			     ((t & 0xffff) > lo && (t & 0xffff) < hi))) {
				*why = "a branch in the function jumps into the range";
				ret = -EOPNOTSUPP;
			}
		} else if (jump) {
			*why = "the function has an indirect jump (a jump table?)";
			ret = -EOPNOTSUPP;
		}
	}
	cs_free(insn, 1);
	return ret;
}
