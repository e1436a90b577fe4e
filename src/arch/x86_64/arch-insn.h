/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x86_64's per-probe storage and constants for the arch contract.
 */
#ifndef LIBKPROBE_X86_64_ARCH_INSN_H
#define LIBKPROBE_X86_64_ARCH_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARCH_BP_LEN		1	/* int3 */
#define ARCH_MAX_INSN		16	/* 15 bytes, rounded */
#define ARCH_SLOT_SIZE		32
/* rel32 displacements reach +-2 GiB; keep a margin for the slot's size. */
#define ARCH_SLOT_REACH		((1ul << 31) - (1ul << 16))
/* Patch through /proc/self/mem (see text.c). */
#define ARCH_POKE_VIA_PROC_MEM	1

extern const uint8_t arch_bp_insn[ARCH_BP_LEN];

/* Return stubs: one page of 255 16-byte stubs, see retstub.c. */
#define ARCH_RET_STUBS		255
/* libunwind's names for this arch (it is loaded with dlopen). */
#define ARCH_UNW_PREFIX		"_ULx86_64_"
#define ARCH_UNW_GETCONTEXT	"_Ux86_64_getcontext"

/* How a probed instruction is executed. */
enum x86_kind {
	X86_OOL,	/* out of line in a slot, trap after it */
	X86_SYSCALL,	/* out of line; rcx fixed up after */
	X86_JMP,	/* emulated: jmp rel8/rel32 */
	X86_JCC,	/* emulated: jcc rel8/rel32 */
	X86_LOOP,	/* emulated: loop, loope, loopne, jrcxz */
	X86_CALL,	/* emulated: call rel32 */
	X86_RET,	/* emulated: ret, ret imm16 */
	X86_JMP_IND,	/* emulated: jmp r/m64 */
	X86_CALL_IND,	/* emulated: call r/m64 */
};

/* Register operands, as indices into struct pt_regs viewed as an array. */
#define X86_REG_NONE	(-1)
#define X86_REG_IP	(-2)	/* rip-relative */

enum x86_loop { X86_LOOPNE, X86_LOOPE, X86_LOOP_, X86_JRCXZ };

#define X86_FIXUP_RCX	1	/* syscall left the slot's address in rcx */

struct arch_insn {
	uint8_t bytes[ARCH_MAX_INSN];	/* the original instruction */
	uint8_t len;
	uint8_t kind;			/* enum x86_kind */
	uint8_t cond;			/* jcc condition / enum x86_loop */
	int8_t disp_off;		/* offset of a rip-relative disp32 */
	bool eip_rel;			/* ...with addr32: eip-relative */
	uint16_t ret_pop;		/* ret imm16 */
	uint64_t target;		/* relative branches */
	/* Indirect branches: register operand, or base + index*scale + disp. */
	int8_t ind_reg;
	int8_t base;
	int8_t index;
	uint8_t scale;
	int64_t disp;
	char mnemonic[32];
};

/* Pure decoding (insn.c): no process state, testable on bytes alone. */
int x86_decode(const uint8_t *code, size_t len, uint64_t addr,
	       struct arch_insn *ai);
int x86_insn_length(const uint8_t *code, size_t len, uint64_t addr);
int x86_build_slot(const struct arch_insn *ai, uint64_t orig,
		   uint64_t slot, uint8_t *buf, uint8_t *trap_off,
		   uint64_t *resume, uint8_t *fixups);

#endif
