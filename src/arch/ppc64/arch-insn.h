/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ppc64's per-probe storage and constants for the arch contract.
 *
 * Instructions are 4 bytes (8 for Power10's prefixed ones, which are
 * refused). The breakpoint is `trap` (tw 31,0,0). There is no single-step a
 * process can ask for, so the displaced instruction runs from a slot
 * followed by a second `trap`, or by a `b` back to the next instruction
 * (boosting); every instruction whose result depends on where it runs
 * (the branches, addpcis) is emulated in the trap handler instead.
 *
 * This header and insn.c are pure: no process state, no <kprobes.h>, so
 * the decoder and the branch emulation also build and run on the x86_64
 * host (tests/test_ppc64_insn.c).
 */
#ifndef LIBKPROBE_PPC64_ARCH_INSN_H
#define LIBKPROBE_PPC64_ARCH_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARCH_BP_LEN		4	/* trap */
#define ARCH_MAX_INSN		8	/* a prefixed instruction */
/* A slot: the instruction and a trap or a branch back, in 16 bytes. */
#define ARCH_SLOT_SIZE		16
/* A boosted slot's `b` reaches +-32 MiB; keep a margin for the page. */
#define ARCH_SLOT_REACH		((1ul << 25) - (1ul << 17))
/* Patch with mprotect and a store, then make the icache see it: qemu-user
 * notices guest stores to translated code, not a write through
 * /proc/self/mem. */
#define ARCH_POKE_VIA_PROC_MEM	0

#define PPC_TRAP		0x7fe00008u	/* tw 31,0,0 */

extern const uint8_t arch_bp_insn[ARCH_BP_LEN];

/* Return stubs: 256 of 48 bytes, each entered after its trap word, and
 * the stubs' shared words at the end of 16 KiB (src/core/retstub.c,
 * retstub.c). */
#define ARCH_RET_STUBS		256
#define ARCH_RET_STRIDE		48
#define ARCH_RET_ENTRY		4
#define ARCH_RET_CODE		16384
/* No call-in (x86_64's arch-insn.h): ppc64 has no jump optimization. */
#define ARCH_RET_CALLIN		0
#define ARCH_RET_CALLIN_RET	0
/* The C side keeps errno around a return handler (x86_64's does in asm). */
#define ARCH_RET_KEEPS_ERRNO	0
/* The top of the address range mmap() hands out without a hint above it
 * (the kernel's 128 TiB default window, with 4K or 64K pages; the slot
 * search's last gap ends here). */
#define ARCH_MMAP_TOP		(0x800000000000ul - 0x10000ul)
#define ARCH_RET_CIE_SIZE	24
#define ARCH_RET_FDE_SIZE	72
/* libunwind's names for this arch (it is loaded with dlopen). */
#define ARCH_UNW_PREFIX		"_ULppc64_"
/* libunwind-ppc64.h makes unw_getcontext() glibc's getcontext(). */
#define ARCH_UNW_GETCONTEXT	"getcontext"

/* No jump optimization on ppc64 (docs/design.md): a probe stays a trap.
 * The constants keep the core's optimizer types well formed. */
#define ARCH_OPT_JMP_LEN	4
#define ARCH_OPT_MAX		4
#define ARCH_OPT_MAX_INSNS	1
#define ARCH_OPT_FIRST_BYTE	0
#define ARCH_DETOUR_SELF	0	/* no detours */
/* No light path either: nothing to keep the compiler from. */
#define ARCH_GPR_ONLY

/* The thread pointer, as glibc's __rseq_offset counts from it: r13 (GCC
 * 12 has no __builtin_thread_pointer for ppc64). */
static inline void *arch_thread_pointer(void)
{
	void *tp;

	__asm__("mr %0, 13" : "=r"(tp));
	return tp;
}

/* How a probed instruction is executed. */
enum ppc_kind {
	PPC_OOL,	/* out of line in a slot, trap or branch back after */
	PPC_B,		/* emulated: b, ba, bl, bla */
	PPC_BC,		/* emulated: bc, bca, bcl, bcla */
	PPC_BCLR,	/* emulated: bclr, bclrl (blr and friends) */
	PPC_BCCTR,	/* emulated: bcctr, bcctrl (bctr and friends) */
	PPC_ADDPCIS,	/* emulated: addpcis (lnia) */
};

struct arch_insn {
	uint32_t insn;			/* the original instruction */
	uint8_t bytes[4];		/* ...as it lies in memory */
	uint8_t kind;			/* enum ppc_kind */
	uint8_t bo, bi;			/* conditional branches */
	uint8_t rt;			/* addpcis */
	bool lk;			/* the branch sets LR */
	uint64_t target;		/* b, bc: where it goes if taken */
	int64_t value;			/* addpcis: D << 16 */
	char mnemonic[32];
	/* The core's optimizer storage; unused (ARCH_OPT_MAX). */
	uint8_t opt_len;
	uint8_t opt_bytes[ARCH_OPT_MAX];
};

/* The registers a branch reads and writes. */
struct ppc_branch_regs {
	uint64_t nip, lr, ctr;
	uint32_t cr;
};

/*
 * Decode the instruction word @insn at @addr. Return 0, or -EOPNOTSUPP for
 * one that cannot be probed: a load-reserve or store-conditional (running
 * it apart from its partner breaks the reservation), a trap, a prefixed
 * instruction (its suffix would run out of line alone), bctar (the target
 * address register is not in struct pt_regs), or bcctr with BO_2 clear (an
 * invalid form). Any other word runs out of line: the hardware decides
 * what it does, as it would have in place.
 */
int ppc_decode(uint32_t insn, uint64_t addr, struct arch_insn *ai);
/* Is @insn the first word of a prefixed (8-byte) instruction? */
bool ppc_is_prefix(uint32_t insn);
/*
 * Execute a decoded branch of the probed instruction at @addr on @r: the
 * CTR decrement, the condition, LR for the link forms and the new nip,
 * exactly as the hardware. For PPC_ADDPCIS, return the value for rT and
 * set only nip. Return the value written to rT (addpcis), else 0.
 */
uint64_t ppc_emulate(const struct arch_insn *ai, uint64_t addr,
		     struct ppc_branch_regs *r);

#endif
