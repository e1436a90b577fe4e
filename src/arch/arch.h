/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The arch contract: every hook the core may call, and nothing else.
 *
 * The arch owns its per-probe storage (struct arch_insn, in
 * src/arch/<arch>/arch-insn.h) and the core embeds it in struct probe_point.
 * The core never looks inside it. Hooks marked "trap path" are called from
 * the SIGTRAP/fault handlers and are async-signal-safe; the others run at
 * registration time under kprobe_mutex.
 *
 * What the contract assumes of an arch, so that both x86_64 (variable-length
 * instructions, int3) and ppc64 (fixed 4-byte instructions, trap, the return
 * address in the link register, no user single-step) fit:
 *  - a breakpoint is ARCH_BP_LEN bytes written over the start of the probed
 *    instruction;
 *  - the displaced instruction is either emulated in the trap handler or
 *    executed out of line from a slot followed by a breakpoint (the "second
 *    trap"), never single-stepped;
 *  - a slot page must lie within ARCH_SLOT_REACH bytes of the probed code.
 */
#ifndef LIBKPROBE_ARCH_H
#define LIBKPROBE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <ucontext.h>

#include <kprobes.h>

#include "arch-insn.h"	/* struct arch_insn, ARCH_* constants */
#include "arch-regs.h"	/* the hit paths' register accessors */

struct probe_point;
struct kp_slot;

/* What arch_prepare_resume() decided for this hit. */
enum arch_resume {
	ARCH_RESUME_EMULATED,	/* regs now hold the state after the insn */
	ARCH_RESUME_SLOT,	/* regs' ip now points at the slot: run there */
	ARCH_RESUME_FAULT,	/* emulation hit a bad address: deliver *fault */
};

/* A fault the emulation ran into, to be delivered as the program would
 * have seen it from the probed instruction. */
struct arch_fault {
	int signo;
	int code;
	uintptr_t addr;
	bool write;
};

/* ---- registration time (kprobe_mutex held; not async-signal-safe) ---- */

/* One-time setup (e.g. open the decoder). Return 0 or -errno. */
int arch_init(void);

/*
 * Is @off an instruction boundary in @code (a copy of a function's original
 * bytes from its first instruction, @len bytes available)?
 * Return: 0, -EILSEQ if not, -EINVAL if @code cannot be decoded up to @off.
 */
int arch_check_boundary(const uint8_t *code, size_t len, size_t off);

/*
 * Decode the original instruction at pp->addr (@code, @len bytes readable,
 * at least one full instruction unless the mapping ends) into pp->ainsn and
 * decide how it will be executed. Return: 0; -EOPNOTSUPP for an
 * instruction that cannot be probed; -EILSEQ if it does not decode.
 */
int arch_prepare_kprobe(struct probe_point *pp, const uint8_t *code,
			size_t len);

/* Does this probe need an out-of-line slot? (After arch_prepare_kprobe.) */
bool arch_needs_slot(const struct probe_point *pp);
/* How far from pp->addr its slot ending in a second trap may lie:
 * ARCH_SLOT_REACH where the slot's code refers to the probed code by a
 * displacement, SIZE_MAX where it does not. (A boosted slot's jump back
 * and a detour always need ARCH_SLOT_REACH.) */
size_t arch_slot_reach(const struct probe_point *pp);
/* Slot pages are placed in the free gaps of /proc/self/maps below
 * ARCH_MMAP_TOP (arch-insn.h), where mmap() puts what it is not asked to
 * put higher. */

/*
 * Write the slot's code for pp into @buf (ARCH_SLOT_SIZE bytes) as it will
 * run at @slot->addr, and fill @slot's resume/trap_off/fixup fields.
 * Return: 0, or -ERANGE if @slot->addr is out of reach of pp's operands.
 */
int arch_prepare_slot(const struct probe_point *pp, struct kp_slot *slot,
		      uint8_t *buf);

/*
 * Boosting: can the instruction run from a slot that jumps back to the
 * next instruction, with no second trap (when no post_handler needs one)?
 * If so, arch_prepare_boost() writes that slot's code, like
 * arch_prepare_slot(). Return 0, or -ERANGE.
 */
bool arch_can_boost(const struct probe_point *pp);
int arch_prepare_boost(const struct probe_point *pp, struct kp_slot *slot,
		       uint8_t *buf);

/*
 * Function entry points, where an ABI makes them more than an address:
 *  - arch_local_entry_offset(): how far after a function symbol's address
 *    its local entry point lies, from the symbol's st_other (ELFv2: calls
 *    from within the same object enter there, after the TOC setup, so a
 *    probe on the function goes there); 0 elsewhere;
 *  - arch_func_entry(): the code address of the function pointer @fn
 *    (ELFv1: the first word of its descriptor); @fn itself elsewhere.
 *    The caller has checked that @fn points to readable memory.
 */
unsigned int arch_local_entry_offset(unsigned char st_other);
uintptr_t arch_func_entry(const void *fn);
/* Is @name one the ABI reserves for a function's code (ELFv1's ".foo",
 * the code of foo)? Return the function's plain name, else NULL. */
const char *arch_code_symbol(const char *name);

/* Where the kernel returns from signal handlers through (blacklisted). */
int arch_sigreturn_trampoline(uintptr_t *start, size_t *len);

/* Name of the decoded instruction, for the listing ("mov", "call"...). */
const char *arch_insn_name(const struct probe_point *pp);

/* ---- jump optimization (registration time) ---- */

/*
 * Can pp's instruction and the ones after it be replaced by a jump to a
 * detour? @func holds the enclosing function's original bytes (@func_len
 * of them, from @func_addr). Decide the range (whole instructions covering
 * at least a jump's length) and check, as the kernel's optprobes do, that
 * it stays inside the function, that every instruction in it can run from
 * the detour, and that nothing in the function branches into its middle.
 * Return 0 (and the range in pp->ainsn), or -EOPNOTSUPP with *why set.
 * An arch without jump optimization returns -EOPNOTSUPP.
 */
int arch_prepare_optimized(struct probe_point *pp, const uint8_t *func,
			   size_t func_len, uintptr_t func_addr,
			   const char **why);
/* The range decided above: its length and original bytes. */
size_t arch_opt_len(const struct probe_point *pp);
const uint8_t *arch_opt_bytes(const struct probe_point *pp);
/*
 * Write the detour for pp into @buf (ARCH_SLOT_SIZE bytes) as it will run
 * at @d->addr, and fill @d->copies and @d->dispatch_off. Return 0, or
 * -ERANGE if an operand or the jump back is out of reach.
 *
 * @dispatch: pp is a function's first instruction and a kretprobe's, so
 * the red zone below the stack pointer is free: give the detour, if the
 * arch can, a way back that jumps on to an address left there
 * (arch_opt_dispatch()), @d->dispatch_off bytes in; else 0.
 *
 * The detour's routine calls kp_optprobe_handler() (trap.c) with every
 * general register in pt_regs, and keeps errno around the call itself.
 * The code holds @d's address ARCH_DETOUR_SELF bytes in (arch-insn.h):
 * the core builds a detour aside, with a scratch @d, to compare it with a
 * parked one that a thread may still be in, and puts the parked slot's
 * address there before it compares.
 * A dispatching detour's routine may first try the direct way,
 * kp_kretprobe_direct() (kretprobes.c), keeping only what C code may
 * change of the general registers and the flags, and take the general
 * way when that returns 0.
 */
int arch_prepare_detour(const struct probe_point *pp, struct kp_slot *d,
			uint8_t *buf, bool dispatch);
/*
 * A hit on a detour with a dispatch_off, whose handlers left the
 * instruction pointer alone: make it go on to @to, or, if @callin is not
 * 0, to that return stub's call-in, which calls @to. Return where the
 * detour's routine returns to: @to itself if a handler moved the stack
 * pointer (the red zone is then elsewhere). Async-signal-safe.
 */
uintptr_t arch_opt_dispatch(const struct kp_slot *d, struct pt_regs *regs,
			    uintptr_t to, uintptr_t callin);
/* The same from the direct way, which saved no pt_regs: @sp is the probed
 * function's stack pointer. Async-signal-safe. */
uintptr_t arch_opt_dispatch_at(const struct kp_slot *d, uintptr_t sp,
			       uintptr_t to, uintptr_t callin);
/* The jump to @d written over the start of the range: ARCH_OPT_JMP_LEN
 * bytes (the rest of the range is left as it is and never executed). */
void arch_opt_jump(const struct probe_point *pp, const struct kp_slot *d,
		   uint8_t *buf);

/*
 * Does the function at @addr (@len bytes of its code at @code) leave all
 * but the general registers and the flags alone: no vector, x87 or MXCSR
 * state touched? Direct calls and jumps out of it go to @callees (*@n of
 * them, at most @max) for the caller to ask about in turn; an indirect one
 * goes there as 0. A handler for which the whole call graph says yes may
 * run before the detour saves that state (see docs/design.md, "The light
 * path"). When in doubt, the answer is no.
 */
bool arch_code_gpr_only(const uint8_t *code, size_t len, uintptr_t addr,
			uintptr_t *callees, size_t max, size_t *n);

/* A system call, general registers only: a negative errno on failure,
 * errno untouched. For the light path. Async-signal-safe. */
long arch_syscall(long nr, long a, long b, long c);

/* ---- return probes ---- */

/*
 * A chunk of return stubs: the addresses written over return addresses.
 * Stub k of a chunk loads the global index first + k and jumps to the
 * common return trampoline; the chunk's unwind info says that the caller
 * of stub k is ret_table[k], so unwinders (C++ exceptions, pthread_exit,
 * backtrace(3), libunwind) walk through a hijacked return as if it were
 * not there.
 */
struct arch_ret_chunk {
	uintptr_t stub0;		/* address of stub 0 */
	size_t stride;			/* bytes between stubs */
	void *eh_frame;			/* .eh_frame: CIE, FDEs, 0 */
	/* An .eh_frame_hdr-style search table for libunwind. */
	const void *table;
	size_t table_len;		/* bytes, a multiple of 8 */
	uintptr_t segbase;		/* table offsets are from here */
	uintptr_t start_ip, end_ip;
};

/*
 * A chunk's layout is the core's (src/core/retstub.c); the arch says, with
 * ARCH_RET_STRIDE, ARCH_RET_ENTRY, ARCH_RET_CODE, ARCH_RET_CIE_SIZE and
 * ARCH_RET_FDE_SIZE in arch-insn.h, and these (registration time only):
 *  - arch_ret_code_init(): fill the stubs' area @code (@len bytes, at
 *    its final address, still writable) with breakpoints and what every
 *    stub shares (the trampoline's address...);
 *  - arch_ret_stub(): write, at @s in that area, the stub that loads
 *    @index and goes to the trampoline; with ARCH_RET_CALLIN non-zero,
 *    also the call-in ARCH_RET_CALLIN bytes after @s, which calls the
 *    function and is returned to ARCH_RET_CALLIN_RET bytes after @s
 *    (x86_64's retstub.c);
 *  - arch_ret_cie(): the stubs' CIE, for libgcc or for libunwind;
 *  - arch_ret_fde(): the FDE for [@start, @start + @len) under @cie (the
 *    libgcc flavour or libunwind's), saying that the stub's caller is
 *    *@ret_slot.
 */
void arch_ret_code_init(uint8_t *code, size_t len);
void arch_ret_stub(uint8_t *code, uint8_t *s, unsigned int index);
void arch_ret_cie(uint8_t *p, bool for_libgcc);
void arch_ret_fde(uint8_t *p, const uint8_t *cie, uintptr_t start,
		  size_t len, const uintptr_t *ret_slot, bool for_libgcc);

/*
 * In arch-regs.h, inline (the hit paths' accessors; kprobes.h's are not
 * inlined into ARCH_GPR_ONLY code, whose target options differ):
 *  - arch_regs_sp(), arch_regs_ip_set(): the stack pointer, and setting
 *    the instruction pointer;
 *  - arch_ret_addr_slot(), arch_ret_addr_get(), arch_ret_addr_set(): at a
 *    function's first instruction, where its return address is kept (the
 *    stack slot on x86_64), read it, and replace it.
 * All async-signal-safe.
 */

/* jprobes: where jprobe_return() traps, and the bytes of the caller's
 * stack a jprobe saves (its stack arguments). */
extern const char kp_jprobe_return_bp[];
/* A breakpoint where a jump-optimized hit whose handler moved the stack
 * pointer resumes, so that a signal return sets every register at once. */
extern const char kp_opt_resume_bp[];
#define ARCH_JPROBE_STACK	128

/* Copy @n bytes (a multiple of 8) that may be unmapped; trap path.
 * Return 0 or -EFAULT. */
int arch_copy_safe(void *dst, const void *src, size_t n);

/* ---- trap path (async-signal-safe) ---- */

/* Was this SIGTRAP raised by a breakpoint instruction? If so, *addr is the
 * breakpoint's address. */
bool arch_trap_is_breakpoint(const siginfo_t *info, const ucontext_t *uc,
			     uintptr_t *addr);
/* Is there a breakpoint instruction at @addr now? */
bool arch_is_breakpoint(uintptr_t addr);

/* Convert between the signal frame and struct pt_regs. regs_to_uc only
 * copies what a handler may change. */
void arch_uc_to_regs(const ucontext_t *uc, struct pt_regs *regs);
void arch_regs_to_uc(const struct pt_regs *regs, ucontext_t *uc);
uintptr_t arch_uc_ip(const ucontext_t *uc);
void arch_uc_set_ip(ucontext_t *uc, uintptr_t ip);

/*
 * After the pre_handlers, with regs at the probed address: execute the
 * displaced instruction. Either emulate it into @regs, or point regs' ip at
 * @slot (non-NULL when arch_needs_slot()), or report the fault emulation met.
 */
enum arch_resume arch_prepare_resume(const struct probe_point *pp,
				     const struct kp_slot *slot,
				     struct pt_regs *regs,
				     struct arch_fault *fault);

/* Enter the function pointer @fn with @regs as a call through it would
 * (ip, and on ppc64 the registers its entry convention wants). */
void arch_set_call_entry(struct pt_regs *regs, const void *fn);

/* Make @uc look like the hardware's frame for @f at the probed
 * instruction (on x86_64: trapno, error code, cr2, RF). */
void arch_fault_context(ucontext_t *uc, const struct arch_fault *f);

/* At the second trap of @slot: set regs as the instruction left them had it
 * run in place (ip = resume, plus the slot's fixups). */
void arch_finish_slot(const struct kp_slot *slot, struct pt_regs *regs);

/* A fault inside one of the arch's guarded memory accessors: move the
 * context to the accessor's error exit and return true. */
bool arch_fixup_exception(ucontext_t *uc);

#endif
