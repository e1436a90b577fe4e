// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Trap and fault entry: the SIGTRAP handler that runs probes, the fault
 * handlers that keep the program's view of a fault exact, and the chaining
 * to whatever the program had installed before us.
 *
 * A hit, on the common path (docs/design.md has the picture):
 *
 *   probed insn: int3 ──SIGTRAP──▶ kp_sigtrap ─▶ kp_hit: pre_handlers,
 *        then either emulate the insn (branches) and run post_handlers,
 *        or point the thread at the insn's slot and return
 *   slot: insn; int3 ──SIGTRAP──▶ kp_sigtrap ─▶ kp_slot_trap:
 *        post_handlers, continue after the probed insn
 *
 * Everything in this file runs in signal context and is async-signal-safe:
 * no locks, no allocation, no stdio; the only libc calls are write(2),
 * sigaction(2), sigprocmask(2), getpid(2), gettid(2) and tgkill(2). Our
 * SIGTRAP runs with every asynchronous signal blocked (the program's signal
 * handlers cannot run inside ours) and with SA_NODEFER, so a probe hit inside
 * a handler is a nested trap, counted in nmissed, not a fatal blocked
 * synchronous signal.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/*
 * Per-thread state, the kernel's kprobe_ctlblk. Initial-exec TLS: touching
 * it never allocates, so it is safe from a signal handler on any thread.
 *
 * hits[] holds the out-of-line executions this thread is in the middle of:
 * more than one only when a probe hit inside a handler, or a program signal
 * handler interrupting a slot, nests one in another. They end in LIFO order;
 * an entry above the one a second trap matches was abandoned (a longjmp out
 * of a signal handler) and is dropped.
 */
#define KP_MAX_HITS 16
#define KP_MAX_RESUME 4

struct kp_hit {
	struct kp_slot *slot;
	bool run_post;		/* post_handlers to run at the second trap */
	bool handlers;		/* handlers ran: fault_handlers apply */
};

struct kprobe_ctlblk {
	/* A jprobe whose entry function runs (until jprobe_return()). */
	struct kprobe *jp_active;
	struct pt_regs jp_regs;
	uint8_t jp_stack[ARCH_JPROBE_STACK];
	bool in_fault_handler;
	int nhits;
	struct kp_hit hits[KP_MAX_HITS];
	/* Jump-optimized hits whose handler moved the stack pointer: their
	 * registers, applied by the trap at kp_opt_resume_bp. LIFO: a
	 * signal handler's hit in between completes before ours goes on. */
	int nresume;
	struct pt_regs resume[KP_MAX_RESUME];
};

static __thread struct kprobe_ctlblk kcb
	__attribute__((tls_model("initial-exec")));
/* The part the other hit paths use inline (internal.h). */
__thread struct kp_thread kp_thr __attribute__((tls_model("initial-exec")));

/* The child of a fork() made inside a section: count it again, as the
 * child's counts start from zero (kp_sync_atfork_child()). */
void kp_trap_atfork_child(void)
{
	if (KP_SECT_DEPTH(kp_thr.sect) > 0 && !kp_thr.reader)
		kp_thr.sect_idx = kp_read_lock();
	kp_thr.no_record = false;	/* the child's records are free */
}

/*
 * Around libkprobe's own work after a probe is armed (the optimizer): a
 * probe this thread hits meanwhile is a recursive hit, counted in nmissed,
 * as if a handler had hit it; the handlers count the program's calls only.
 */
void kp_self_enter(void)
{
	kp_thr.handler_depth++;
}

void kp_self_exit(void)
{
	kp_thr.handler_depth--;
}

/*
 * About to give a signal to the program's handler from inside our own
 * frames: it may longjmp out and never come back through them. Close our
 * section and forget the running handlers first, so that a writer waiting
 * for the section, and this thread's next hit, are not held up forever. If
 * the program's handler returns instead, the frames below go on without a
 * section, which only a handler that faulted can cause.
 */
static void abandon_thread_state(void)
{
	if (KP_SECT_DEPTH(kp_thr.sect) > 0) {
		int token = kp_thr.sect_idx;

		kp_thr.sect = (kp_thr.sect >> 32 << 32) + KP_SECT_GEN_1;
		if (kp_thr.reader)
			kp_reader_publish(kp_thr.reader, kp_thr.sect);
		else
			kp_read_unlock(token);
	}
	kp_thr.handler_depth = 0;
	kp_thr.current = NULL;
	kcb.in_fault_handler = false;
}

static const int kp_fault_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL };

/* ---- async-signal-safe reporting ---- */

struct kp_msg {
	char buf[384];
	size_t len;
};

static void msg_str(struct kp_msg *m, const char *s)
{
	while (*s && m->len < sizeof(m->buf) - 1)
		m->buf[m->len++] = *s++;
}

static void msg_hex(struct kp_msg *m, uintptr_t v)
{
	char tmp[19];
	int i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v && i > 2);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	msg_str(m, tmp + i);
}

static void msg_signame(struct kp_msg *m, int sig)
{
	switch (sig) {
	case SIGSEGV: msg_str(m, "SIGSEGV"); break;
	case SIGBUS:  msg_str(m, "SIGBUS"); break;
	case SIGFPE:  msg_str(m, "SIGFPE"); break;
	case SIGILL:  msg_str(m, "SIGILL"); break;
	case SIGTRAP: msg_str(m, "SIGTRAP"); break;
	default:      msg_str(m, "signal"); break;
	}
}

static void msg_probe(struct kp_msg *m, const struct probe_point *pp)
{
	msg_str(m, "the probe at ");
	msg_hex(m, pp->addr);
	if (pp->symbol) {
		msg_str(m, " (");
		msg_str(m, pp->symbol);
		msg_str(m, "+");
		msg_hex(m, pp->sym_offset);
		msg_str(m, ")");
	}
}

static void msg_emit(struct kp_msg *m)
{
	ssize_t unused;

	m->buf[m->len++] = '\n';
	unused = write(STDERR_FILENO, m->buf, m->len);
	(void)unused;
}

/* ---- chaining to the program's handlers ---- */

/* See internal.h. */
void (*kp_last_words)(int sig);

/*
 * The default action of a fatal signal, after kp_last_words: die by the
 * same signal, so that the exit status (and a core dump) is the one the
 * program would have had. For a fault the program does not handle, and
 * for a terminating signal taken while the program left it default
 * (signals.c). Async-signal-safe as far as kp_last_words is.
 */
void kp_die_by(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t set;

	if (kp_last_words)
		kp_last_words(sig);

	kp_real_sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, getpid(), gettid(), sig);
	/* A signal we do not handle cannot return here. */
}

/*
 * Hand a signal that is not ours, or a fault we let go, to what the program
 * installed before us, as the kernel would have: with the program's handler
 * mask, and for a synchronous fault, the default action even when ignored.
 */
static void chain_report(int sig, siginfo_t *info, ucontext_t *uc,
			 bool sync, struct kp_msg *report)
{
	struct sigaction old;
	sigset_t mask;

	abandon_thread_state();
	if (sig == SIGTRAP && kp_prog_blocks_sigtrap()) {
		/* The program blocks SIGTRAP (virtually: see signals.c). */
		if (!sync) {
			kp_prog_sigtrap_pending();
			return;
		}
		kp_die_by(sig);	/* a blocked synchronous signal kills */
		return;
	}
	kp_prog_action(sig, &old);
	if (!(old.sa_flags & SA_SIGINFO) &&
	    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
		if (old.sa_handler == SIG_IGN && !sync)
			return;
		/* Nothing handles it: say what a probe had to do with it. */
		if (report)
			msg_emit(report);
		kp_die_by(sig);
		return;
	}
	mask = uc->uc_sigmask;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&old.sa_mask, s))
			sigaddset(&mask, s);
	/* Never SIGTRAP: a probe hit in the program's handler would kill. */
	if (!(old.sa_flags & SA_NODEFER) && sig != SIGTRAP)
		sigaddset(&mask, sig);
	if (old.sa_flags & SA_RESETHAND)
		kp_prog_action_reset(sig);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (old.sa_flags & SA_SIGINFO)
		old.sa_sigaction(sig, info, uc);
	else
		old.sa_handler(sig);
	/* Returning restores the interrupted mask from uc (sigreturn). */
}

static void chain(int sig, siginfo_t *info, ucontext_t *uc, bool sync)
{
	chain_report(sig, info, uc, sync, NULL);
}

/* ---- the hit path ---- */

ARCH_GPR_ONLY static bool kprobe_disabled(const struct kprobe *kp)
{
	return __atomic_load_n(&kp->flags, __ATOMIC_RELAXED) &
	       KPROBE_FLAG_DISABLED;
}

ARCH_GPR_ONLY static void inc_missed(const struct probe_point *pp)
{
	struct kprobe_node *n;

	for (n = kp_rcu_deref(pp->probes); n; n = kp_rcu_deref(n->next))
		__atomic_fetch_add(&n->kp->nmissed, 1, __ATOMIC_RELAXED);
}

static void run_post_handlers(const struct probe_point *pp,
			      struct pt_regs *regs)
{
	struct kprobe_node *n;

	for (n = kp_rcu_deref(pp->probes); n; n = kp_rcu_deref(n->next)) {
		struct kprobe *kp = n->kp;

		if (kp->post_handler && !kprobe_disabled(kp)) {
			kp_handler_enter(kp);
			kp->post_handler(kp, regs, 0);
			kp_handler_exit();
		}
	}
}

/*
 * Run the pre_handlers. Return true if one took over the instruction
 * pointer (returned non-zero): the probed instruction is then skipped.
 * On the @light path, a handler that needs the vector state saved is a
 * miss: only one registered after kp_optprobe_handler() looked can be met.
 */
ARCH_GPR_ONLY static inline __attribute__((always_inline)) bool
run_pre_handlers(const struct probe_point *pp,
		 struct pt_regs *regs, bool light)
{
	struct kprobe_node *n;
	bool taken = false;

	for (n = kp_rcu_deref(pp->probes); n && !taken;
	     n = kp_rcu_deref(n->next)) {
		struct kprobe *kp = n->kp;

		if (kprobe_disabled(kp))
			continue;
		if (light && !n->light) {
			__atomic_fetch_add(&kp->nmissed, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (kp->pre_handler) {
			kp_handler_enter(kp);
			taken = kp->pre_handler(kp, regs) != 0;
			kp_handler_exit();
		}
	}
	return taken;
}

static void deliver_emulation_fault(const struct arch_fault *f,
				    ucontext_t *uc)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = f->signo;
	si.si_code = f->code;
	si.si_addr = (void *)f->addr;
	arch_fault_context(uc, f);
	chain(f->signo, &si, uc, true);
}

/* Execute pp's displaced instruction from @regs: emulated, or from the
 * slot. Async-signal-safe. */
static void resume_probe(const struct probe_point *pp, ucontext_t *uc,
			 struct pt_regs *regs, bool run_post, bool handlers)
{
	/* Boosted: one trap, when no post_handler wants the second. */
	struct kp_slot *slot = !run_post && pp->boost ? pp->boost : pp->slot;
	struct kp_slot *detour = kp_rcu_deref(pp->detour);
	struct arch_fault fault;

	/* A detour exists: its copy covers the whole range the jump is (or
	 * is about to be) written over, so no thread is sent back into it. */
	if (detour && !run_post) {
		instruction_pointer_set(regs,
			detour->addr + detour->copies.copy_off[0]);
		arch_regs_to_uc(regs, uc);
		return;
	}
	switch (arch_prepare_resume(pp, slot, regs, &fault)) {
	case ARCH_RESUME_EMULATED:
		if (run_post)
			run_post_handlers(pp, regs);
		arch_regs_to_uc(regs, uc);
		break;
	case ARCH_RESUME_SLOT:
		if (slot->boosted) {
			/* It jumps back by itself: nothing to wait for. */
			arch_regs_to_uc(regs, uc);
			break;
		}
		if (kcb.nhits < KP_MAX_HITS) {
			kcb.hits[kcb.nhits++] = (struct kp_hit){
				.slot = slot,
				.run_post = run_post,
				.handlers = handlers,
			};
		} else if (run_post) {
			inc_missed(pp);
		}
		atomic_fetch_add(&slot->inflight, 1);
		arch_regs_to_uc(regs, uc);
		break;
	case ARCH_RESUME_FAULT:
		arch_regs_to_uc(regs, uc);
		deliver_emulation_fault(&fault, uc);
		break;
	}
}

/* First trap: a breakpoint of pp was hit. Async-signal-safe; read section
 * held by the caller. */
static void kp_hit(const struct probe_point *pp, ucontext_t *uc)
{
	struct pt_regs regs;
	bool run_post = false, handlers = false;

	arch_uc_to_regs(uc, &regs);
	instruction_pointer_set(&regs, pp->addr);

	if (kp_thr.handler_depth > 0) {
		/* Recursion: a handler of this thread hit a probe. */
		inc_missed(pp);
	} else {
		if (run_pre_handlers(pp, &regs, false)) {
			arch_regs_to_uc(&regs, uc);
			return;
		}
		handlers = true;
		run_post = __atomic_load_n(&pp->has_post, __ATOMIC_RELAXED);
	}
	resume_probe(pp, uc, &regs, run_post, handlers);
}

/* ---- jump-optimized hits ---- */

/* See kp_errno_ptr(). */
ptrdiff_t kp_errno_off;

/*
 * A jump-optimized probe was hit: the arch's detour code calls this on the
 * thread's own stack, in its ordinary context (which may be one of the
 * program's signal handlers), with every general register saved in @regs.
 * Run the pre_handlers; return where the thread goes on: the detour's copy
 * of the replaced instructions, or the address a handler took over with.
 *
 * @light: the detour has not saved the vector, x87 and MXCSR state (see
 * docs/design.md, "The light path"). Nothing here may touch it, hence
 * ARCH_GPR_ONLY on this and every function it calls. Return 0 if a handler
 * at the probe may touch that state: the detour saves it and calls again
 * with @light false.
 *
 * errno is the detour's to keep (arch.h): a handler may change it.
 *
 * The detour's slot is never freed, and its owner is read inside a
 * section, so a thread that entered a detour just before its probe went
 * finds NULL there and simply goes on. What a handler may change of the
 * flags and the stack pointer is the arch code's to apply (see
 * kp_optprobe_sp_moved()). Every optimized hit comes here: keep it lean.
 * Async-signal-safe.
 */
__attribute__((used)) ARCH_GPR_ONLY uintptr_t
kp_optprobe_handler(struct kp_slot *d, struct pt_regs *regs, bool light);
ARCH_GPR_ONLY uintptr_t kp_optprobe_handler(struct kp_slot *d,
					    struct pt_regs *regs, bool light)
{
	uintptr_t resume = d->addr + d->copies.copy_off[0];
	struct probe_point *pp;

	kp_section_enter();
	pp = kp_rcu_deref(d->owner);
	if (pp) {
		if (kp_thr.handler_depth > 0) {
			inc_missed(pp);		/* a handler hit a probe */
		} else if (light &&
			   !__atomic_load_n(&pp->all_light, __ATOMIC_RELAXED)) {
			kp_section_exit();
			return 0;
		} else if (run_pre_handlers(pp, regs, light)) {
			resume = instruction_pointer(regs);
		} else if (d->dispatch_off) {
			/* On through the detour's dispatch, and a return
			 * stub's call-in if a kretprobe took one here. */
			resume = arch_opt_dispatch(d, regs, resume,
						   kp_ret_callin(arch_ret_addr_get(regs)));
		}
	}
	kp_section_exit();
	return resume;
}

/*
 * After kp_optprobe_handler(): a handler moved the stack pointer too (e.g.
 * to return from the function at once). The detour cannot switch stacks
 * and jump in one step without writing below the new one, but a signal
 * return can: go through one trap, which applies these registers whole.
 * Return where the detour goes on. Async-signal-safe.
 */
__attribute__((used)) ARCH_GPR_ONLY uintptr_t
kp_optprobe_sp_moved(struct pt_regs *regs, uintptr_t resume);
ARCH_GPR_ONLY uintptr_t kp_optprobe_sp_moved(struct pt_regs *regs,
					     uintptr_t resume)
{
	if (kcb.nresume == KP_MAX_RESUME)
		return resume;		/* the stack pointer stays */
	kcb.resume[kcb.nresume++] = *regs;
	return (uintptr_t)kp_opt_resume_bp;
}

/* ---- jprobes ---- */

/*
 * The pre_handler of a jprobe (the seed's setjmp_pre_handler): remember the
 * registers and the top of the stack (the stack arguments), and send the
 * thread to the entry function. Async-signal-safe.
 */
int kp_jprobe_setjmp(struct kprobe *p, struct pt_regs *regs, void *entry)
{
	if (kcb.jp_active) {
		/* One jprobe at a time per thread: this hit runs without. */
		__atomic_fetch_add(&p->nmissed, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (arch_copy_safe(kcb.jp_stack,
			   (const void *)user_stack_pointer(regs),
			   sizeof(kcb.jp_stack)))
		return 0;
	kcb.jp_regs = *regs;
	kcb.jp_active = p;
	arch_set_call_entry(regs, entry);
	return 1;
}

/*
 * The break handler of a jprobe (the seed's longjmp_break_handler): the
 * entry function called jprobe_return(); put everything back as it was at
 * the probed function's entry. Async-signal-safe.
 */
int kp_jprobe_longjmp(struct kprobe *p, struct pt_regs *regs)
{
	*regs = kcb.jp_regs;
	__builtin_memcpy((void *)user_stack_pointer(regs), kcb.jp_stack,
			 sizeof(kcb.jp_stack));
	kcb.jp_active = NULL;
	return 1;
}

/* jprobe_return() trapped: run the probed instruction as the jprobe left
 * it, through its probe point if it is still there. */
static void kp_jprobe_break(ucontext_t *uc)
{
	struct kprobe *p = kcb.jp_active;
	const struct probe_point *pp;
	struct pt_regs regs;

	arch_uc_to_regs(uc, &regs);
	pp = kp_table_lookup(instruction_pointer(&kcb.jp_regs));
	if (pp && p->break_handler) {
		kp_handler_enter(p);
		p->break_handler(p, &regs);
		kp_handler_exit();
	} else {
		kp_jprobe_longjmp(p, &regs);
	}
	if (pp && (arch_is_breakpoint(pp->addr) ||
		   kp_rcu_deref(pp->detour)))
		resume_probe(pp, uc, &regs,
			     __atomic_load_n(&pp->has_post, __ATOMIC_RELAXED),
			     true);
	else
		/* Unregistered meanwhile: the original instruction is back. */
		arch_regs_to_uc(&regs, uc);
}

/* The hit record for @slot, dropping abandoned ones above it; or NULL. */
static struct kp_hit *pop_hit(struct kp_slot *slot, struct kp_hit *out)
{
	for (int i = kcb.nhits - 1; i >= 0; i--) {
		if (kcb.hits[i].slot != slot)
			continue;
		*out = kcb.hits[i];
		kcb.nhits = i;
		return out;
	}
	return NULL;
}

/* Second trap: the displaced instruction ran in @slot. */
static void kp_slot_trap(struct kp_slot *slot, ucontext_t *uc)
{
	struct probe_point *pp;
	struct pt_regs regs;
	struct kp_hit hit;

	arch_uc_to_regs(uc, &regs);
	arch_finish_slot(slot, &regs);
	if (pop_hit(slot, &hit) && hit.run_post &&
	    (pp = kp_rcu_deref(slot->owner)))
		run_post_handlers(pp, &regs);
	arch_regs_to_uc(&regs, uc);
	atomic_fetch_sub(&slot->inflight, 1);
}

/*
 * Is this breakpoint ours? If so, handle it.
 *
 * Writers arm after inserting a probe point and remove it after disarming,
 * but the reader sees the byte and the table at two moments, and another
 * thread may disarm, re-arm, unregister or register in between. So the
 * byte is read once, first, and each outcome is decided on what that
 * implies:
 *  - a probe point and a breakpoint: a hit;
 *  - a probe point but no breakpoint: disabled or being removed: run the
 *    original instruction again (if it is armed again by then, it traps
 *    again and is a hit);
 *  - no probe point, and the address was disarmed recently: if the byte is
 *    still no breakpoint, run it again; if it is one, either a probe was
 *    registered meanwhile (its point is in the table now: it was inserted
 *    before arming) or the breakpoint is someone else's.
 */
static bool kp_breakpoint(uintptr_t addr, ucontext_t *uc)
{
	bool bp = arch_is_breakpoint(addr), ours = true;
	struct probe_point *pp;
	struct kp_slot *slot;

	kp_section_enter();
	pp = kp_table_lookup(addr);
	slot = pp ? NULL : kp_slot_lookup(addr);
	if (pp && bp) {
		kp_hit(pp, uc);
	} else if (addr == (uintptr_t)kp_opt_resume_bp && kcb.nresume > 0) {
		arch_regs_to_uc(&kcb.resume[--kcb.nresume], uc);
	} else if (addr == (uintptr_t)kp_jprobe_return_bp && kcb.jp_active) {
		kp_jprobe_break(uc);
	} else if (slot && slot->trap_off &&
		   addr == slot->addr + slot->trap_off) {
		kp_slot_trap(slot, uc);
	} else if (pp) {
		arch_uc_set_ip(uc, addr);
	} else if (kp_was_disarmed(addr)) {
		if (!arch_is_breakpoint(addr))
			arch_uc_set_ip(uc, addr);
		else if ((pp = kp_table_lookup(addr)))
			kp_hit(pp, uc);
		else
			ours = false;
	} else {
		ours = false;
	}
	kp_section_exit();
	return ours;
}

static void kp_sigtrap(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;
	int saved_errno = errno;
	uintptr_t addr;

	const ucontext_t *outer_uc = kp_thr.uc;

	kp_thr.uc = uc;
	if (!arch_trap_is_breakpoint(info, uc, &addr)) {
		chain(sig, info, uc, info->si_code > 0);
	} else if (!kp_breakpoint(addr, uc)) {
		struct kp_msg report;

		/* Said only if it kills: a breakpoint that is not ours. */
		report.len = 0;
		msg_str(&report, "libkprobe: the breakpoint at ");
		msg_hex(&report, addr);
		msg_str(&report, " is not a probe's");
		chain_report(sig, info, uc, true, &report);
	}
	kp_thr.uc = outer_uc;
	errno = saved_errno;
}

/* ---- faults ---- */

/*
 * Where a fault at @ip in @slot happened: in the displaced instruction of
 * a slot, or in one of a detour's copies. Return the copy's start and set
 * *orig to the original instruction it stands for, and *first if that is
 * the probed one; or return 0. Async-signal-safe.
 */
static uintptr_t fault_copy(const struct kp_slot *slot, uintptr_t ip,
			    uintptr_t *orig, bool *first)
{
	const struct kp_copies *c = &slot->copies;

	if (slot->kind != KP_SLOT_DETOUR) {
		if (ip < slot->addr || ip >= slot->addr + slot->insn_len)
			return 0;
		*orig = slot->orig;
		*first = true;
		return slot->addr;
	}
	for (int k = 0; k < c->n; k++) {
		uintptr_t at = slot->addr + c->copy_off[k];

		if (ip >= at && ip < at + c->len[k]) {
			*orig = slot->orig + c->orig_off[k];
			*first = k == 0;
			return at;
		}
	}
	return 0;
}

/*
 * A fault in an instruction run out of line: the program must see it at
 * the original address, as if no probe were there. The probe's
 * fault_handlers see the probed instruction's faults. Return true if one
 * handled it.
 */
static bool kp_slot_fault(struct kp_slot *slot, uintptr_t orig, bool first,
			  int sig, ucontext_t *uc)
{
	struct probe_point *pp = kp_rcu_deref(slot->owner);
	struct pt_regs regs;
	struct kp_hit hit;
	bool handled = false;

	bool ran_handlers;

	arch_uc_to_regs(uc, &regs);
	/* The faulting instruction changed nothing: regs are those at orig. */
	instruction_pointer_set(&regs, orig);
	/* A boosted hit leaves no record: it ran the handlers unless it was
	 * a recursive hit, inside one of ours. */
	if (slot->boosted)
		ran_handlers = first && kp_thr.handler_depth == 0;
	else
		ran_handlers = pop_hit(slot, &hit) && hit.handlers;
	if (ran_handlers && pp) {
		struct kprobe_node *n;

		kcb.in_fault_handler = true;
		for (n = kp_rcu_deref(pp->probes); n && !handled;
		     n = kp_rcu_deref(n->next)) {
			struct kprobe *kp = n->kp;

			if (!kp->fault_handler || kprobe_disabled(kp))
				continue;
			kp_handler_enter(kp);
			handled = kp->fault_handler(kp, &regs, sig) != 0;
			kp_handler_exit();
		}
		kcb.in_fault_handler = false;
	}
	arch_regs_to_uc(&regs, uc);
	if (!slot->boosted)
		atomic_fetch_sub(&slot->inflight, 1);
	return handled;
}

/* A fault inside one of our handlers: the current probe's fault_handler
 * gets it first. */
static bool kp_handler_fault(int sig, siginfo_t *info, ucontext_t *uc,
			     struct kp_msg *m)
{
	struct kprobe *kp = kp_thr.current;
	struct kprobe_node *node = kp->priv;
	struct pt_regs regs;

	if (kp->fault_handler && !kcb.in_fault_handler) {
		bool handled;

		arch_uc_to_regs(uc, &regs);
		kcb.in_fault_handler = true;
		handled = kp->fault_handler(kp, &regs, sig) != 0;
		kcb.in_fault_handler = false;
		if (handled) {
			arch_regs_to_uc(&regs, uc);
			return true;
		}
	}
	msg_str(m, "libkprobe: ");
	msg_signame(m, sig);
	msg_str(m, " in a handler of ");
	if (node && node->pp)
		msg_probe(m, node->pp);
	msg_str(m, ", at ip ");
	msg_hex(m, arch_uc_ip(uc));
	msg_str(m, ", fault address ");
	msg_hex(m, (uintptr_t)info->si_addr);
	return false;
}

static void kp_sigfault(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;
	int saved_errno = errno;
	struct kp_msg report;
	bool handled = false, ours = false;
	struct kp_slot *slot;
	uintptr_t ip, copy = 0, orig = 0;
	bool first = false;

	if (arch_fixup_exception(uc))
		goto out;
	report.len = 0;
	kp_section_enter();
	ip = arch_uc_ip(uc);
	slot = kp_slot_lookup(ip);
	if (slot && (copy = fault_copy(slot, ip, &orig, &first))) {
		struct probe_point *pp = kp_rcu_deref(slot->owner);
		uintptr_t a = (uintptr_t)info->si_addr, a_copy, a_orig;
		bool a_first;

		handled = kp_slot_fault(slot, orig, first, sig, uc);
		ours = true;
		/* SIGFPE and SIGILL name the instruction, not data: the
		 * program must see the original one. */
		if ((a_copy = fault_copy(slot, a, &a_orig, &a_first)))
			info->si_addr = (void *)(a_orig + (a - a_copy));
		msg_str(&report, "libkprobe: ");
		msg_signame(&report, sig);
		msg_str(&report, " from the probed instruction of ");
		if (pp) {
			msg_probe(&report, pp);
		} else {
			msg_str(&report, "a removed probe at ");
			msg_hex(&report, slot->orig);
		}
		msg_str(&report, " (run out of line), fault address ");
		msg_hex(&report, (uintptr_t)info->si_addr);
	} else if (kp_thr.handler_depth > 0 && kp_thr.current) {
		handled = kp_handler_fault(sig, info, uc, &report);
		ours = true;
	}
	kp_section_exit();
	if (!handled) {
		chain_report(sig, info, uc, info->si_code > 0,
			     ours ? &report : NULL);
		/*
		 * The program's handler returned without moving the thread:
		 * a detour's instruction runs again from its copy (inside a
		 * jump's range the original bytes are gone), and so does a
		 * boosted one, whose handlers already ran for this hit.
		 */
		if (copy && slot->boosted && arch_uc_ip(uc) == orig)
			arch_uc_set_ip(uc, copy);
	}
out:
	errno = saved_errno;
}

static struct sigaction our_action;

/* Is @act, as the kernel holds it, one of our handlers? For a vfork()
 * child's reads (signals.c). Async-signal-safe. */
bool kp_trap_handler_installed(const struct sigaction *act)
{
	return (act->sa_flags & SA_SIGINFO) &&
	       (act->sa_sigaction == kp_sigtrap ||
		act->sa_sigaction == kp_sigfault);
}

/* The program changed its action for an owned signal: a fault handler's
 * SA_ONSTACK must follow it (signals.c calls this). */
static void update_our_action(int sig, int prog_flags)
{
	struct sigaction sa = our_action;

	if (sig == SIGTRAP)
		return;
	sa.sa_sigaction = kp_sigfault;
	sa.sa_flags |= prog_flags & SA_ONSTACK;
	kp_real_sigaction(sig, &sa, NULL);
}

/*
 * The mask our handlers run with: every signal but SIGTRAP and the faults,
 * which must reach us even inside a handler (a blocked synchronous signal
 * kills).
 */
void kp_handler_mask(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGTRAP);
	for (size_t i = 0; i < sizeof(kp_fault_signals) / sizeof(int); i++)
		sigdelset(set, kp_fault_signals[i]);
}

/* Install our handlers, remembering the program's. kprobe_mutex held. */
int kp_trap_init(void)
{
	struct sigaction prog_act;
	size_t i;

	kp_errno_off = (char *)&errno - (char *)arch_thread_pointer();
	memset(&our_action, 0, sizeof(our_action));
	our_action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
	kp_handler_mask(&our_action.sa_mask);

	for (i = 0; i < sizeof(kp_fault_signals) / sizeof(int); i++) {
		int sig = kp_fault_signals[i];

		if (kp_real_sigaction(sig, NULL, &prog_act))
			return -errno;
		kp_signals_own(sig, &prog_act, update_our_action);
		update_our_action(sig, prog_act.sa_flags);
	}
	{
		struct sigaction sa = our_action;

		sa.sa_sigaction = kp_sigtrap;
		if (kp_real_sigaction(SIGTRAP, &sa, &prog_act))
			return -errno;
		kp_signals_own(SIGTRAP, &prog_act, update_our_action);
	}
	return 0;
}
