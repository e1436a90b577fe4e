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
/* A slot holds one displaced instruction and a trap or a jump back, or a
 * jump optimization's detour (optprobe.c): 64 bytes fit either. */
#define ARCH_SLOT_SIZE		64
/* rel32 displacements reach +-2 GiB; keep a margin for the slot's size. */
#define ARCH_SLOT_REACH		((1ul << 31) - (1ul << 16))
/* Patch through /proc/self/mem (see text.c). */
#define ARCH_POKE_VIA_PROC_MEM	1

extern const uint8_t arch_bp_insn[ARCH_BP_LEN];

/* Return stubs: 256 of 48 bytes, each entered after its int3, with a
 * second way in and out for a call-in (src/core/retstub.c, retstub.c):
 * ARCH_RET_CALLIN bytes after the entry it calls the function, which
 * returns ARCH_RET_CALLIN_RET bytes after it. Then the trampoline's
 * address. */
#define ARCH_RET_STUBS		256
#define ARCH_RET_STRIDE		48
#define ARCH_RET_ENTRY		1
#define ARCH_RET_CODE		(ARCH_RET_STUBS * ARCH_RET_STRIDE + 64)
#define ARCH_RET_CALLIN		15
#define ARCH_RET_CALLIN_RET	24
/* In the index a stub hands the trampoline: it came by the call-in. */
#define ARCH_RET_CALLIN_BIT	0x80000000u
/* The return trampoline keeps errno around its handler call itself. */
#define ARCH_RET_KEEPS_ERRNO	1
/* The top of the address range mmap() hands out without a hint above it
 * (47-bit user space; the slot search's last gap ends here). */
#define ARCH_MMAP_TOP		0x7ffffffff000ul
#define ARCH_RET_CIE_SIZE	24
#define ARCH_RET_FDE_SIZE	48
/* libunwind's names for this arch (it is loaded with dlopen). */
#define ARCH_UNW_PREFIX		"_ULx86_64_"
#define ARCH_UNW_GETCONTEXT	"_Ux86_64_getcontext"

/* Jump optimization: a 5-byte jmp rel32 replaces whole instructions, at
 * most 4 + 15 bytes of them; the detour's layout is in optprobe.c. */
#define ARCH_OPT_JMP_LEN	5
#define ARCH_OPT_MAX		(ARCH_OPT_JMP_LEN - 1 + 15)
#define ARCH_OPT_MAX_INSNS	ARCH_OPT_JMP_LEN
#define ARCH_OPT_FIRST_BYTE	0xe9	/* jmp rel32 */
/* The detour's layout (optprobe.c): its struct kp_slot *, the probed
 * address and its routine, as .quads; the jump's target, and where the
 * routine returns (optprobe.S reads the first two from there: R - 35 and
 * R - 27). */
#define X86_DT_SLOT		0
/* Where a detour's code holds the address of its struct kp_slot. */
#define ARCH_DETOUR_SELF	X86_DT_SLOT
#define X86_DT_ORIG		8
#define X86_DT_ROUTINE		16
#define X86_DT_ENTRY		24
#define X86_DT_COPY		35

/*
 * For the code a jump-optimized hit runs before the detour has saved the
 * vector state (the light path): the compiler must not use a vector
 * register there, not even to copy a struct, nor turn a copy loop into a
 * call to libc's memcpy() (which may).
 */
#if defined(__clang__)	/* the fuzzers' builds: no optimize attribute */
#define ARCH_GPR_ONLY		__attribute__((target("general-regs-only")))
#else
#define ARCH_GPR_ONLY \
	__attribute__((target("general-regs-only"), \
		       optimize("no-tree-loop-distribute-patterns")))
#endif

/* The thread pointer, as glibc's __rseq_offset counts from it. */
#define arch_thread_pointer()	__builtin_thread_pointer()

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
	/* Jump optimization (optprobe.c): the original bytes of the
	 * instructions a jmp rel32 replaces, opt_len of them. */
	uint8_t opt_len;
	/* The function has no x87/MMX instruction and the CPU allows it:
	 * the detour calls kp_optprobe_lean (optprobe.S). */
	bool opt_lean;
	uint8_t opt_bytes[ARCH_OPT_MAX];
};

/* Pure decoding (insn.c): no process state, testable on bytes alone. */
int x86_decode(const uint8_t *code, size_t len, uint64_t addr,
	       struct arch_insn *ai);
int x86_insn_length(const uint8_t *code, size_t len, uint64_t addr);
void x86_init_save_area(void);
int x86_scan_branches(const uint8_t *code, size_t len, uint64_t addr,
		      uint64_t lo, uint64_t hi, bool *x87, const char **why);
bool x86_scan_gpr_only(const uint8_t *code, size_t len, uint64_t addr,
		       uint64_t *callees, size_t max, size_t *n);
int x86_build_slot(const struct arch_insn *ai, uint64_t orig,
		   uint64_t slot, uint8_t *buf, uint8_t *trap_off,
		   uint64_t *resume, uint8_t *fixups);

#endif
