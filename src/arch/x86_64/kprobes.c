// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86_64 side of the arch contract (src/arch/arch.h): int3 breakpoints,
 * the signal frame as struct pt_regs, and the emulation of branches.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "internal.h"

const uint8_t arch_bp_insn[ARCH_BP_LEN] = { 0xcc };

int kp_x86_safe_read64(const uint64_t *src, uint64_t *dst);
int kp_x86_safe_write64(uint64_t *dst, uint64_t val);
extern const char kp_x86_safe_read64_insn[], kp_x86_safe_write64_insn[];
extern const char kp_x86_safe_fault[];

/* Flags a handler may change: CF PF AF ZF SF DF OF (as ptrace allows,
 * without TF, which would make the next instruction trap). */
#define X86_USER_FLAGS 0x0cd5ul

int arch_init(void)
{
	x86_init_save_area();
	return 0;
}

/* ---- registration time ---- */

int arch_check_boundary(const uint8_t *code, size_t len, size_t off)
{
	size_t pos = 0;

	while (pos < off) {
		int n = x86_insn_length(code + pos, len - pos, pos);

		if (n < 0)
			return -EILSEQ;
		pos += (size_t)n;
	}
	return pos == off ? 0 : -EILSEQ;
}

int arch_prepare_kprobe(struct probe_point *pp, const uint8_t *code,
			size_t len)
{
	return x86_decode(code, len, pp->addr, &pp->ainsn);
}

bool arch_needs_slot(const struct probe_point *pp)
{
	return pp->ainsn.kind == X86_OOL || pp->ainsn.kind == X86_SYSCALL;
}

/* A RIP-relative operand is re-targeted by a rel32 from the slot; any
 * other instruction runs the same anywhere, and the second trap goes back
 * by the core's hand (syscall's rcx is fixed up there too). */
size_t arch_slot_reach(const struct probe_point *pp)
{
	return pp->ainsn.disp_off >= 0 ? ARCH_SLOT_REACH : SIZE_MAX;
}

int arch_prepare_slot(const struct probe_point *pp, struct kp_slot *slot,
		      uint8_t *buf)
{
	uint64_t resume;
	int ret;

	/* Unused bytes trap. */
	memset(buf, 0xcc, ARCH_SLOT_SIZE);
	ret = x86_build_slot(&pp->ainsn, pp->addr, slot->addr, buf,
			     &slot->trap_off, &resume, &slot->fixups);
	slot->resume = resume;
	slot->insn_len = pp->ainsn.len;
	slot->boosted = false;
	slot->kind = KP_SLOT_TRAP;
	return ret;
}

/*
 * The kernel's can_boost() refuses what may trap, change the flow, or
 * depend on where it runs. Here branches are emulated and never reach a
 * slot, and RIP-relative operands are re-targeted; what is left is syscall,
 * which leaves the slot's address in rcx and needs the second trap to fix
 * it. (A slot's instruction that faults is handled the same boosted or not.)
 */
bool arch_can_boost(const struct probe_point *pp)
{
	return pp->ainsn.kind == X86_OOL;
}

/* The instruction, then jmp rel32 back to the one after the original. */
int arch_prepare_boost(const struct probe_point *pp, struct kp_slot *slot,
		       uint8_t *buf)
{
	uint64_t resume;
	int64_t rel;
	int32_t rel32;
	uint8_t len = pp->ainsn.len;
	int ret;

	memset(buf, 0xcc, ARCH_SLOT_SIZE);
	ret = x86_build_slot(&pp->ainsn, pp->addr, slot->addr, buf,
			     &slot->trap_off, &resume, &slot->fixups);
	if (ret)
		return ret;
	rel = (int64_t)(pp->addr + len) - (int64_t)(slot->addr + len + 5);
	if (rel != (int32_t)rel)
		return -ERANGE;
	rel32 = (int32_t)rel;
	buf[len] = 0xe9;
	memcpy(buf + len + 1, &rel32, sizeof(rel32));
	slot->trap_off = 0;		/* no second trap */
	slot->resume = resume;
	slot->insn_len = len;
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

unsigned int arch_local_entry_offset(unsigned char st_other)
{
	return 0;
}

uintptr_t arch_func_entry(const void *fn)
{
	return (uintptr_t)fn;
}

const char *arch_code_symbol(const char *name)
{
	return NULL;
}

/* Trap path: async-signal-safe. */
void arch_set_call_entry(struct pt_regs *regs, const void *fn)
{
	regs->rip = (uintptr_t)fn;
}

/* glibc returns from every handler through its __restore_rt, which it
 * hands the kernel as sa_restorer: read it back from any action. */
int arch_sigreturn_trampoline(uintptr_t *start, size_t *len)
{
	struct sigaction sa;

	if (kp_real_sigaction(SIGTRAP, NULL, &sa) || !sa.sa_restorer)
		return -ENOENT;
	*start = (uintptr_t)sa.sa_restorer;
	*len = 16;	/* mov $15, %rax; syscall; and padding */
	return 0;
}

/* ---- trap path: everything below is async-signal-safe ---- */

bool arch_trap_is_breakpoint(const siginfo_t *info, const ucontext_t *uc,
			     uintptr_t *addr)
{
	/* int3 is reported with SI_KERNEL; a single-step, a hardware
	 * breakpoint or a raise() is not ours. */
	if (info->si_code != SI_KERNEL)
		return false;
	*addr = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] - 1;
	return true;
}

bool arch_is_breakpoint(uintptr_t addr)
{
	return *(const volatile uint8_t *)addr == 0xcc;
}

uintptr_t arch_uc_ip(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

void arch_uc_set_ip(ucontext_t *uc, uintptr_t ip)
{
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)ip;
}

void arch_uc_to_regs(const ucontext_t *uc, struct pt_regs *regs)
{
	const greg_t *g = uc->uc_mcontext.gregs;

	regs->r15 = (unsigned long)g[REG_R15];
	regs->r14 = (unsigned long)g[REG_R14];
	regs->r13 = (unsigned long)g[REG_R13];
	regs->r12 = (unsigned long)g[REG_R12];
	regs->rbp = (unsigned long)g[REG_RBP];
	regs->rbx = (unsigned long)g[REG_RBX];
	regs->r11 = (unsigned long)g[REG_R11];
	regs->r10 = (unsigned long)g[REG_R10];
	regs->r9 = (unsigned long)g[REG_R9];
	regs->r8 = (unsigned long)g[REG_R8];
	regs->rax = (unsigned long)g[REG_RAX];
	regs->rcx = (unsigned long)g[REG_RCX];
	regs->rdx = (unsigned long)g[REG_RDX];
	regs->rsi = (unsigned long)g[REG_RSI];
	regs->rdi = (unsigned long)g[REG_RDI];
	regs->orig_rax = (unsigned long)-1;
	regs->rip = (unsigned long)g[REG_RIP];
	/* REG_CSGSFS packs cs, gs, fs and ss, 16 bits each. */
	regs->cs = (unsigned long)g[REG_CSGSFS] & 0xffff;
	regs->ss = ((unsigned long)g[REG_CSGSFS] >> 48) & 0xffff;
	regs->eflags = (unsigned long)g[REG_EFL];
	regs->rsp = (unsigned long)g[REG_RSP];
}

void arch_regs_to_uc(const struct pt_regs *regs, ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_R15] = (greg_t)regs->r15;
	g[REG_R14] = (greg_t)regs->r14;
	g[REG_R13] = (greg_t)regs->r13;
	g[REG_R12] = (greg_t)regs->r12;
	g[REG_RBP] = (greg_t)regs->rbp;
	g[REG_RBX] = (greg_t)regs->rbx;
	g[REG_R11] = (greg_t)regs->r11;
	g[REG_R10] = (greg_t)regs->r10;
	g[REG_R9] = (greg_t)regs->r9;
	g[REG_R8] = (greg_t)regs->r8;
	g[REG_RAX] = (greg_t)regs->rax;
	g[REG_RCX] = (greg_t)regs->rcx;
	g[REG_RDX] = (greg_t)regs->rdx;
	g[REG_RSI] = (greg_t)regs->rsi;
	g[REG_RDI] = (greg_t)regs->rdi;
	g[REG_RIP] = (greg_t)regs->rip;
	g[REG_RSP] = (greg_t)regs->rsp;
	g[REG_EFL] = (greg_t)(((unsigned long)g[REG_EFL] & ~X86_USER_FLAGS) |
			      (regs->eflags & X86_USER_FLAGS));
}

static unsigned long *reg_slot(struct pt_regs *regs, int idx)
{
	return &((unsigned long *)regs)[idx];
}

#define X86_CF 0x001
#define X86_PF 0x004
#define X86_ZF 0x040
#define X86_SF 0x080
#define X86_OF 0x800

/* The jcc condition @cond (the low nibble of its opcode) under @flags. */
static bool x86_cond(unsigned int cond, unsigned long flags)
{
	bool cf = flags & X86_CF, zf = flags & X86_ZF, sf = flags & X86_SF;
	bool of = flags & X86_OF, pf = flags & X86_PF, r;

	switch (cond >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cond & 1) ? !r : r;
}

static enum arch_resume emu_fault(struct arch_fault *f, uintptr_t addr,
				  bool write)
{
	f->signo = SIGSEGV;
	f->code = SEGV_MAPERR;
	f->addr = addr;
	f->write = write;
	return ARCH_RESUME_FAULT;
}

#define X86_TRAP_PF	14
#define X86_PF_WRITE	2
#define X86_PF_USER	4
#define X86_RF		0x10000ul

/* What the kernel leaves in the frame of a user page fault: the vector,
 * the error code (user, and write for a push), cr2, and RF, which the CPU
 * sets in the flags it saves for a fault. Async-signal-safe. */
void arch_fault_context(ucontext_t *uc, const struct arch_fault *f)
{
	greg_t *g = uc->uc_mcontext.gregs;

	g[REG_TRAPNO] = X86_TRAP_PF;
	g[REG_ERR] = X86_PF_USER | (f->write ? X86_PF_WRITE : 0);
	g[REG_CR2] = (greg_t)f->addr;
	g[REG_EFL] = (greg_t)((unsigned long)g[REG_EFL] | X86_RF);
}

/* The target of jmp/call r/m64, read through the guarded accessor. */
static int indirect_target(const struct arch_insn *ai, uintptr_t next,
			   struct pt_regs *regs, uint64_t *target,
			   uintptr_t *ea)
{
	if (ai->ind_reg >= 0) {
		*target = *reg_slot(regs, ai->ind_reg);
		return 0;
	}
	*ea = (uintptr_t)ai->disp;
	if (ai->base == X86_REG_IP)
		*ea += next;
	else if (ai->base >= 0)
		*ea += *reg_slot(regs, ai->base);
	if (ai->index >= 0)
		*ea += *reg_slot(regs, ai->index) * ai->scale;
	return kp_x86_safe_read64((const uint64_t *)*ea, target);
}

enum arch_resume arch_prepare_resume(const struct probe_point *pp,
				     const struct kp_slot *slot,
				     struct pt_regs *regs,
				     struct arch_fault *fault)
{
	const struct arch_insn *ai = &pp->ainsn;
	uintptr_t next = pp->addr + ai->len, ea = 0;
	uint64_t v;
	bool taken;

	switch (ai->kind) {
	case X86_OOL:
	case X86_SYSCALL:
		regs->rip = slot->addr;
		return ARCH_RESUME_SLOT;
	case X86_JMP:
		regs->rip = ai->target;
		break;
	case X86_JCC:
		regs->rip = x86_cond(ai->cond, regs->eflags) ? ai->target : next;
		break;
	case X86_LOOP:
		if (ai->cond == X86_JRCXZ) {
			taken = regs->rcx == 0;
		} else {
			regs->rcx--;
			taken = regs->rcx != 0;
			if (ai->cond == X86_LOOPE)
				taken = taken && (regs->eflags & X86_ZF);
			else if (ai->cond == X86_LOOPNE)
				taken = taken && !(regs->eflags & X86_ZF);
		}
		regs->rip = taken ? ai->target : next;
		break;
	case X86_CALL:
		if (kp_x86_safe_write64((uint64_t *)(regs->rsp - 8), next))
			return emu_fault(fault, regs->rsp - 8, true);
		regs->rsp -= 8;
		regs->rip = ai->target;
		break;
	case X86_RET:
		if (kp_x86_safe_read64((const uint64_t *)regs->rsp, &v))
			return emu_fault(fault, regs->rsp, false);
		regs->rsp += 8 + ai->ret_pop;
		regs->rip = v;
		break;
	case X86_JMP_IND:
	case X86_CALL_IND:
		if (indirect_target(ai, next, regs, &v, &ea))
			return emu_fault(fault, ea, false);
		if (ai->kind == X86_CALL_IND) {
			if (kp_x86_safe_write64((uint64_t *)(regs->rsp - 8),
						next))
				return emu_fault(fault, regs->rsp - 8, true);
			regs->rsp -= 8;
		}
		regs->rip = v;
		break;
	}
	return ARCH_RESUME_EMULATED;
}

void arch_finish_slot(const struct kp_slot *slot, struct pt_regs *regs)
{
	/* syscall stores the address after it, in the slot, into rcx. */
	if ((slot->fixups & X86_FIXUP_RCX) &&
	    regs->rcx == slot->addr + slot->trap_off)
		regs->rcx = slot->resume;
	regs->rip = slot->resume;
}

bool arch_fixup_exception(ucontext_t *uc)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

	if (ip != (uintptr_t)kp_x86_safe_read64_insn &&
	    ip != (uintptr_t)kp_x86_safe_write64_insn)
		return false;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)kp_x86_safe_fault;
	return true;
}

/*
 * regs_query_register_offset() - the offset of register @name in struct
 * pt_regs, as the kernel's (names "ax", "r8", "ip", "flags", ... and, for
 * convenience, "rax", "rip", "eflags", ...), or -EINVAL.
 */
__attribute__((visibility("default")))
int regs_query_register_offset(const char *name)
{
	static const struct {
		const char *name, *alias;
		int offset;
	} regs[] = {
#define R(n, a, f) { n, a, (int)offsetof(struct pt_regs, f) }
		R("ax", "rax", rax), R("bx", "rbx", rbx), R("cx", "rcx", rcx),
		R("dx", "rdx", rdx), R("si", "rsi", rsi), R("di", "rdi", rdi),
		R("bp", "rbp", rbp), R("sp", "rsp", rsp), R("ip", "rip", rip),
		R("flags", "eflags", eflags), R("orig_ax", "orig_rax", orig_rax),
		R("cs", NULL, cs), R("ss", NULL, ss),
		R("r8", NULL, r8), R("r9", NULL, r9), R("r10", NULL, r10),
		R("r11", NULL, r11), R("r12", NULL, r12), R("r13", NULL, r13),
		R("r14", NULL, r14), R("r15", NULL, r15),
#undef R
	};

	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(regs) / sizeof(*regs); i++)
		if (!strcmp(name, regs[i].name) ||
		    (regs[i].alias && !strcmp(name, regs[i].alias)))
			return regs[i].offset;
	return -EINVAL;
}
