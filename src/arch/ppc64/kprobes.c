// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ppc64 side of the arch contract (src/arch/arch.h): `trap` breakpoints,
 * the signal frame as struct pt_regs, out-of-line slots ended by a second
 * trap or a branch back, and the emulation of the instructions that depend
 * on their own address (insn.c).
 *
 * The ELFv2 (ppc64le) and ELFv1 (big-endian) ABIs differ only in how a
 * function is entered; that is handled where symbols are read (the local
 * entry point) and in arch_func_entry() (function descriptors).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#ifndef KP_CORE_ONLY
#include <capstone/capstone.h>
#endif

#include "internal.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
const uint8_t arch_bp_insn[ARCH_BP_LEN] = { 0x08, 0x00, 0xe0, 0x7f };
#else
const uint8_t arch_bp_insn[ARCH_BP_LEN] = { 0x7f, 0xe0, 0x00, 0x08 };
#endif

/* The signal frame's gp_regs are indexed by the kernel's PT_* numbers
 * (<asm/ptrace.h>, which <signal.h> brings); struct pt_regs has the same
 * layout. */

int kp_ppc_safe_read64(const uint64_t *src, uint64_t *dst);
extern const char kp_ppc_safe_read64_insn[], kp_ppc_safe_fault[];

#ifndef KP_CORE_ONLY
static csh cs_handle;
static bool cs_ok;
#endif

int arch_init(void)
{
#ifndef KP_CORE_ONLY
	cs_mode mode = CS_MODE_64;

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	mode |= CS_MODE_BIG_ENDIAN;
#endif
	/* Capstone only names instructions here (the listing); the decisions
	 * are insn.c's. Without it (a core-only build) the names are
	 * coarser, nothing else. */
	cs_ok = cs_open(CS_ARCH_PPC, mode, &cs_handle) == CS_ERR_OK;
#endif
	return 0;
}

static uint32_t word_at(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/* ---- registration time ---- */

int arch_check_boundary(const uint8_t *code, size_t len, size_t off)
{
	size_t pos = 0;

	/* Every word starts an instruction but the suffix of a prefixed
	 * one. */
	while (pos < off) {
		if (len - pos < 4)
			return -EINVAL;
		pos += ppc_is_prefix(word_at(code + pos)) ? 8 : 4;
	}
	return pos == off ? 0 : -EILSEQ;
}

int arch_prepare_kprobe(struct probe_point *pp, const uint8_t *code,
			size_t len)
{
	struct arch_insn *ai = &pp->ainsn;
	int ret;

	if ((pp->addr & 3) || len < 4)
		return -EILSEQ;
	ret = ppc_decode(word_at(code), pp->addr, ai);
#ifndef KP_CORE_ONLY
	cs_insn *insn;

	if (!ret && ai->kind == PPC_OOL && cs_ok &&
	    cs_disasm(cs_handle, code, 4, pp->addr, 1, &insn) == 1) {
		snprintf(ai->mnemonic, sizeof(ai->mnemonic), "%s",
			 insn->mnemonic);
		cs_free(insn, 1);
	}
#endif
	return ret;
}

bool arch_needs_slot(const struct probe_point *pp)
{
	return pp->ainsn.kind == PPC_OOL;
}

/* What runs from a slot never depends on where it runs (insn.c emulates
 * all that does), and the second trap goes back by the core's hand: such a
 * slot may lie anywhere. Only a boosted slot's `b` needs reach. */
size_t arch_slot_reach(const struct probe_point *pp)
{
	return SIZE_MAX;
}

/* The slot: the instruction, then @after (a trap or a branch back), and
 * traps in what is left. */
static void fill_slot(const struct probe_point *pp, uint8_t *buf,
		      uint32_t after)
{
	for (size_t off = 0; off < ARCH_SLOT_SIZE; off += 4)
		memcpy(buf + off, arch_bp_insn, 4);
	memcpy(buf, pp->ainsn.bytes, 4);
	memcpy(buf + 4, &after, 4);
}

int arch_prepare_slot(const struct probe_point *pp, struct kp_slot *slot,
		      uint8_t *buf)
{
	fill_slot(pp, buf, PPC_TRAP);
	slot->trap_off = 4;
	slot->resume = pp->addr + 4;
	slot->insn_len = 4;
	slot->fixups = 0;
	slot->boosted = false;
	slot->kind = KP_SLOT_TRAP;
	return 0;
}

/*
 * What runs from a slot here never depends on where it runs (insn.c
 * emulates everything that does), so every slot instruction may be
 * boosted, sc included: the kernel returns to the word after it.
 */
bool arch_can_boost(const struct probe_point *pp)
{
	return pp->ainsn.kind == PPC_OOL;
}

/* The instruction, then `b` back to the one after the original. */
int arch_prepare_boost(const struct probe_point *pp, struct kp_slot *slot,
		       uint8_t *buf)
{
	int64_t rel = (int64_t)(pp->addr + 4) - (int64_t)(slot->addr + 4);

	if (rel < -(1ll << 25) || rel >= (1ll << 25))
		return -ERANGE;
	fill_slot(pp, buf, 0x48000000u | ((uint32_t)rel & 0x03fffffcu));
	slot->trap_off = 0;		/* no second trap */
	slot->resume = pp->addr + 4;
	slot->insn_len = 4;
	slot->fixups = 0;
	slot->boosted = true;
	slot->kind = KP_SLOT_BOOST;
	return 0;
}

const uint8_t *arch_saved_bytes(const struct probe_point *pp)
{
	return pp->ainsn.bytes;
}

const char *arch_insn_name(const struct probe_point *pp)
{
	return pp->ainsn.mnemonic;
}

/*
 * ppc64 returns from signal handlers through the vDSO's
 * __kernel_sigtramp_rt64 (no sa_restorer), or under qemu-user through code
 * qemu places. Neither is in an object we can probe by name: nothing to
 * blacklist.
 */
int arch_sigreturn_trampoline(uintptr_t *start, size_t *len)
{
	return -ENOENT;
}

/* ---- jump optimization: not on ppc64 ---- */

int arch_prepare_optimized(struct probe_point *pp, const uint8_t *func,
			   size_t func_len, uintptr_t func_addr,
			   const char **why)
{
	*why = "no jump optimization on ppc64";
	return -EOPNOTSUPP;
}

size_t arch_opt_len(const struct probe_point *pp)
{
	return 0;
}

const uint8_t *arch_opt_bytes(const struct probe_point *pp)
{
	return pp->ainsn.opt_bytes;
}

int arch_prepare_detour(const struct probe_point *pp, struct kp_slot *d,
			uint8_t *buf, bool dispatch)
{
	return -EOPNOTSUPP;
}

uintptr_t arch_opt_dispatch(const struct kp_slot *d, struct pt_regs *regs,
			    uintptr_t to, uintptr_t callin)
{
	return to;			/* no detours, so never called */
}

uintptr_t arch_opt_dispatch_at(const struct kp_slot *d, uintptr_t sp,
			       uintptr_t to, uintptr_t callin)
{
	return 0;			/* no detours, so never called */
}

void arch_opt_jump(const struct probe_point *pp, const struct kp_slot *d,
		   uint8_t *buf)
{
}

bool arch_code_gpr_only(const uint8_t *code, size_t len, uintptr_t addr,
			uintptr_t *callees, size_t max, size_t *n)
{
	*n = 0;
	return false;
}

unsigned int arch_local_entry_offset(unsigned char st_other)
{
#if defined(_CALL_ELF) && _CALL_ELF == 2
	/* ELFv2: st_other's bits 5-7 say how far the local entry point is
	 * (1 << v) >> 2 words after the global one; 0 and 1 mean none. */
	unsigned int v = (st_other >> 5) & 7;

	return v < 2 ? 0 : (1u << v) >> 2 << 2;
#else
	return 0;
#endif
}

uintptr_t arch_func_entry(const void *fn)
{
#if defined(_CALL_ELF) && _CALL_ELF == 2
	return (uintptr_t)fn;
#else
	/* ELFv1: a function pointer is a descriptor { entry, toc, env }. */
	return ((const uintptr_t *)fn)[0];
#endif
}

const char *arch_code_symbol(const char *name)
{
#if defined(_CALL_ELF) && _CALL_ELF == 2
	return NULL;
#else
	/* ELFv1's dot-symbols: ".foo" is the code of foo (the kernel's
	 * ppc64 kprobe_lookup_name() takes them too). */
	return name[0] == '.' && name[1] ? name + 1 : NULL;
#endif
}

/* ---- trap path: everything below is async-signal-safe ---- */

/* Enter the function @fn (a function pointer) with @regs, as a call
 * through a pointer would: ELFv2 wants its global entry in r12, ELFv1
 * takes r2 (and r11) from the descriptor. */
void arch_set_call_entry(struct pt_regs *regs, const void *fn)
{
#if defined(_CALL_ELF) && _CALL_ELF == 2
	regs->nip = (uintptr_t)fn;
	regs->gpr[12] = (uintptr_t)fn;
#else
	const uintptr_t *desc = fn;

	regs->nip = desc[0];
	regs->gpr[2] = desc[1];
	regs->gpr[11] = desc[2];
#endif
}

long arch_syscall(long nr, long a, long b, long c)
{
	register long r0 __asm__("r0") = nr;
	register long r3 __asm__("r3") = a;
	register long r4 __asm__("r4") = b;
	register long r5 __asm__("r5") = c;
	long cr;

	/* On failure the kernel sets CR0[SO] and returns the errno in r3. */
	__asm__ volatile("sc\n\tmfcr %0"
			 : "=&r"(cr), "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5)
			 :
			 : "r6", "r7", "r8", "r9", "r10", "r11", "r12",
			   "ctr", "xer", "cr0", "memory");
	return (cr & (1l << 28)) ? -r3 : r3;
}

bool arch_trap_is_breakpoint(const siginfo_t *info, const ucontext_t *uc,
			     uintptr_t *addr)
{
	/* A trap instruction is reported as TRAP_BRKPT at its address; a
	 * raise() or a debugger's step is not ours. */
	if (info->si_code != TRAP_BRKPT)
		return false;
	*addr = (uintptr_t)uc->uc_mcontext.gp_regs[PT_NIP];
	return true;
}

bool arch_is_breakpoint(uintptr_t addr)
{
	return *(const volatile uint32_t *)addr == PPC_TRAP;
}

uintptr_t arch_uc_ip(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.gp_regs[PT_NIP];
}

void arch_uc_set_ip(ucontext_t *uc, uintptr_t ip)
{
	uc->uc_mcontext.gp_regs[PT_NIP] = ip;
}

void arch_uc_to_regs(const ucontext_t *uc, struct pt_regs *regs)
{
	const unsigned long *g = uc->uc_mcontext.gp_regs;

	for (int i = 0; i < 32; i++)
		regs->gpr[i] = g[i];
	regs->nip = g[PT_NIP];
	regs->msr = g[PT_MSR];
	regs->orig_gpr3 = g[PT_ORIG_R3];
	regs->ctr = g[PT_CTR];
	regs->link = g[PT_LNK];
	regs->xer = g[PT_XER];
	regs->ccr = g[PT_CCR];
	regs->softe = g[PT_SOFTE];
	regs->trap = g[PT_TRAP];
	regs->dar = g[PT_DAR];
	regs->dsisr = g[PT_DSISR];
	regs->result = g[PT_RESULT];
}

/* What a handler may change: the GPRs, nip, ctr, lr, xer and cr (not the
 * MSR, which the kernel keeps anyway). */
void arch_regs_to_uc(const struct pt_regs *regs, ucontext_t *uc)
{
	unsigned long *g = uc->uc_mcontext.gp_regs;

	for (int i = 0; i < 32; i++)
		g[i] = regs->gpr[i];
	g[PT_NIP] = regs->nip;
	g[PT_CTR] = regs->ctr;
	g[PT_LNK] = regs->link;
	g[PT_XER] = regs->xer;
	g[PT_CCR] = regs->ccr;
}

enum arch_resume arch_prepare_resume(const struct probe_point *pp,
				     const struct kp_slot *slot,
				     struct pt_regs *regs,
				     struct arch_fault *fault)
{
	const struct arch_insn *ai = &pp->ainsn;
	struct ppc_branch_regs r = {
		.nip = regs->nip, .lr = regs->link, .ctr = regs->ctr,
		.cr = (uint32_t)regs->ccr,
	};
	uint64_t v;

	if (ai->kind == PPC_OOL) {
		regs->nip = slot->addr;
		return ARCH_RESUME_SLOT;
	}
	/* Branches and addpcis read and write registers only: they cannot
	 * fault. */
	v = ppc_emulate(ai, pp->addr, &r);
	if (ai->kind == PPC_ADDPCIS)
		regs->gpr[ai->rt] = v;
	regs->nip = r.nip;
	regs->link = r.lr;
	regs->ctr = r.ctr;
	return ARCH_RESUME_EMULATED;
}

/* A data storage interrupt's frame: the vector, DAR and DSISR (store
 * bit for a write). Emulation never touches memory here, so only a caller
 * that reports a fault of its own gets this. */
void arch_fault_context(ucontext_t *uc, const struct arch_fault *f)
{
	unsigned long *g = uc->uc_mcontext.gp_regs;

	g[PT_TRAP] = 0x300;
	g[PT_DAR] = f->addr;
	g[PT_DSISR] = 0x40000000ul | (f->write ? 0x02000000ul : 0);
}

void arch_finish_slot(const struct kp_slot *slot, struct pt_regs *regs)
{
	regs->nip = slot->resume;
}

bool arch_fixup_exception(ucontext_t *uc)
{
	if (uc->uc_mcontext.gp_regs[PT_NIP] !=
	    (uintptr_t)kp_ppc_safe_read64_insn)
		return false;
	uc->uc_mcontext.gp_regs[PT_NIP] = (uintptr_t)kp_ppc_safe_fault;
	return true;
}

int arch_copy_safe(void *dst, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i += 8)
		if (kp_ppc_safe_read64((const uint64_t *)((const char *)src + i),
				       (uint64_t *)((char *)dst + i)))
			return -EFAULT;
	return 0;
}

/*
 * regs_query_register_offset() - the offset of register @name in struct
 * pt_regs, as the kernel's powerpc table: "r0".."r31", "nip", "msr",
 * "orig_gpr3", "ctr", "link", "xer", "ccr", "softe", "trap", "dar",
 * "dsisr"; or -EINVAL.
 */
__attribute__((visibility("default")))
int regs_query_register_offset(const char *name)
{
	static const char *const names[] = {
		"nip", "msr", "orig_gpr3", "ctr", "link", "xer", "ccr",
		"softe", "trap", "dar", "dsisr",
	};
	char *end;
	long n;

	if (!name)
		return -EINVAL;
	if (name[0] == 'r' && name[1] >= '0' && name[1] <= '9') {
		n = strtol(name + 1, &end, 10);
		if (*end || n > 31 || (name[1] == '0' && name[2]))
			return -EINVAL;
		return (int)(n * sizeof(unsigned long));
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(name, names[i]))
			return (int)((32 + i) * sizeof(unsigned long));
	return -EINVAL;
}
