// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Return probes: the seed's kretprobes, with what a process needs besides.
 *
 * At a function's entry (a kprobe whose pre_handler is ours) an instance is
 * taken from the kretprobe's preallocated pool, the real return address is
 * saved in it, and the return address on the stack is replaced by the
 * instance's own return stub (src/arch/<arch>/retstub.c). The function
 * returns into the stub, the stub into kp_kretprobe_trampoline, and that
 * into kp_kretprobe_trampoline_handler() below, which runs the handler and
 * gives back the real return address.
 *
 * Instances and stubs. Every instance owns one stub for its lifetime, so
 * the trampoline finds its instance by index in O(1), and the unwind info
 * of that stub can say where the real return address is: C++ exceptions,
 * pthread_exit(), backtrace(3) and libunwind walk through a hijacked return
 * as if it were not there (docs/design.md, "Return probes").
 *
 * Per-thread view (the seed's per-task hash): each thread keeps its pending
 * instances in a LIFO list in TLS. A return that skips instances above its
 * own (longjmp, an exception unwinding through, a thread leaving by
 * pthread_exit) leaves them stale; they are reclaimed
 *  - on the same thread, when a later entry or return proves their frames
 *    are gone (their return address slot lies at or below the current one
 *    on the same stack: uprobes does the same comparison);
 *  - when the thread is gone (the seed's kprobe_flush_task), found when a
 *    pool runs dry: an instance whose thread no longer exists is freed.
 *
 * Concurrency. Instance state is one atomic word: IDLE (free, owned by a
 * kretprobe), SETUP (taken by an entry still filling it in), ACTIVE (a
 * return pending) or FREE (owned by nobody). The entry handler runs in the
 * SIGTRAP handler or on a jump-optimized hit; the trampoline runs in the
 * thread's ordinary context; either may be interrupted by a signal whose
 * handler calls a return-probed function, so the TLS list is only ever
 * changed by its own thread, in LIFO order. unregister_kretprobe() orphans ACTIVE instances
 * (their owner pointer is cleared, within a grace period so that no handler
 * still uses the kretprobe); an orphan returns through its stub as usual
 * and is freed there without calling anything.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))
#define KP_MAX_CHUNKS 4096

/* RI_SETUP: taken, its thread's id not yet in it (kret_entry()). */
enum { RI_FREE, RI_IDLE, RI_ACTIVE, RI_SETUP };

struct kp_ret_inst {
	atomic_int state;
	unsigned int index;		/* global stub index */
	uintptr_t stub;			/* its address */
	uintptr_t *ret_cell;		/* its chunk's ret[] entry */
	struct kretprobe *owner;	/* NULL when orphaned; RCU */
	pid_t tid;			/* thread of the pending return */
	uintptr_t tid_addr;		/* its clear_child_tid word, or 0 */
	uintptr_t slot;			/* where the return address was */
	uintptr_t stack_id;		/* 0: the thread's stack; else its
					 * alternate stack's base */
	struct kp_ret_inst *next;	/* the thread's list */
	struct kretprobe_instance ri;	/* + data_size bytes */
};

struct kp_ret_chunk {
	uintptr_t ret[ARCH_RET_STUBS];	/* real return addresses, by stub */
	struct kp_ret_inst *inst[ARCH_RET_STUBS];
	struct arch_ret_chunk arch;
};

/* Chunks are created under kprobe_mutex and never freed: the trampoline
 * and unwinders read them without locks. */
static struct kp_ret_chunk *chunks[KP_MAX_CHUNKS];
static unsigned int nr_chunks;

struct kp_kretprobe {
	struct kretprobe *rp;
	int n;
	/* The return handler may run on the light path (docs/design.md). */
	bool ret_light;
	/* The pool, here rather than behind a pointer: an entry chases
	 * one pointer less (docs/performance.md). */
	struct kp_ret_inst *insts[];
};

/* The thread's pending instances (kp_thr.ret_top) and the regs its return
 * handler was given (kp_thr.ret_regs, for backtrace.c) live in kp_thr
 * (internal.h): one TLS base for all the hit path's per-thread state. */

bool kp_is_return_regs(const struct pt_regs *regs)
{
	return regs && regs == kp_thr.ret_regs;
}

/* ---- stubs ---- */

ARCH_GPR_ONLY static struct kp_ret_chunk *chunk_of(unsigned int index)
{
	unsigned int c = index / ARCH_RET_STUBS;

	return c < KP_MAX_CHUNKS ? __atomic_load_n(&chunks[c],
						   __ATOMIC_ACQUIRE) : NULL;
}

ARCH_GPR_ONLY static uintptr_t stub_addr(unsigned int index)
{
	struct kp_ret_chunk *c = chunk_of(index);

	return c->arch.stub0 + (index % ARCH_RET_STUBS) * c->arch.stride;
}

/* libgcc's registry of dynamic unwind info (C++ exceptions, pthread_exit,
 * backtrace(3)). */
extern void __register_frame(void *begin);

static int new_chunk(void)
{
	struct kp_ret_chunk *c;
	unsigned int first = nr_chunks * ARCH_RET_STUBS;

	if (nr_chunks == KP_MAX_CHUNKS)
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (kp_ret_chunk_create(first, c->ret, &c->arch)) {
		free(c);
		return -ENOMEM;
	}
	__register_frame(c->arch.eh_frame);
	kp_unwind_register(&c->arch);
	__atomic_store_n(&chunks[nr_chunks++], c, __ATOMIC_RELEASE);
	return 0;
}

/* A stub (with its instance, sized for @data_size) for @rp. */
static struct kp_ret_inst *get_instance(struct kretprobe *rp,
					size_t data_size)
{
	size_t size = sizeof(struct kp_ret_inst) + data_size;
	struct kp_ret_inst *inst;

	kp_assert_locked();
	for (;;) {
		/* Reuse a FREE stub; its old instance memory goes. */
		for (unsigned int c = 0; c < nr_chunks; c++) {
			for (int k = 0; k < ARCH_RET_STUBS; k++) {
				struct kp_ret_inst *old = chunks[c]->inst[k];

				if (old && atomic_load(&old->state) != RI_FREE)
					continue;
				inst = aligned_alloc(16, (size + 15) & ~15ul);
				if (!inst)
					return NULL;
				memset(inst, 0, size);
				inst->index = c * ARCH_RET_STUBS + k;
				inst->stub = stub_addr(inst->index);
				inst->ret_cell = &chunks[c]->ret[k];
				inst->owner = rp;
				atomic_store(&inst->state, RI_IDLE);
				__atomic_store_n(&chunks[c]->inst[k], inst,
						 __ATOMIC_RELEASE);
				/* Nobody reads a FREE instance: the stub's
				 * last return came through long ago. */
				free(old);
				return inst;
			}
		}
		if (new_chunk())
			return NULL;
	}
}

/* ---- the per-thread list (its own thread only) ---- */

/* The thread's id, asked of the kernel once per thread (a system call on
 * every entry would cost more than the rest of an optimized hit). A fork()ed
 * child starts with its parent's copy: kp_kretprobe_atfork_child() forgets
 * it. Async-signal-safe. */
ARCH_GPR_ONLY pid_t kp_gettid(void)
{
	if (!kp_thr.tid)
		kp_thr.tid = (pid_t)arch_syscall(SYS_gettid, 0, 0, 0);
	return kp_thr.tid;
}

/*
 * Where the kernel clears the thread's id when the thread exits (glibc's
 * set_tid_address(&pd->tid), which pthread_join() waits on), asked once
 * per thread; 0 if the kernel cannot say (no CONFIG_CHECKPOINT_RESTORE).
 * Async-signal-safe.
 */
#define PR_GET_TID_ADDRESS_	40

ARCH_GPR_ONLY uintptr_t kp_tid_addr(void)
{
	uintptr_t a = 0;

	if (!kp_thr.tid_addr)
		kp_thr.tid_addr = arch_syscall(SYS_prctl, PR_GET_TID_ADDRESS_,
					       (long)&a, 0) == 0 && a ? a : 1;
	return kp_thr.tid_addr == 1 ? 0 : kp_thr.tid_addr;
}

/*
 * Has thread @tid of this process exited? The kernel says so (tgkill: no
 * such thread), or its clear_child_tid word @tid_addr (kp_tid_addr(), 0:
 * unknown) no longer holds its id: the kernel cleared it at the exit,
 * before pthread_join() returned, while the task itself may linger a
 * little longer (under qemu-user much longer); or the word is unmapped, or
 * another thread's now. Async-signal-safe.
 */
ARCH_GPR_ONLY bool kp_thread_gone(pid_t tid, uintptr_t tid_addr)
{
	long pid = arch_syscall(SYS_getpid, 0, 0, 0);
	uintptr_t word;
	uint64_t w;
	int32_t id;

	if (arch_syscall(SYS_tgkill, pid, tid, 0) == -ESRCH)
		return true;
	if (!tid_addr)
		return false;
	word = tid_addr & ~(uintptr_t)7;
	if (arch_copy_safe(&w, (const void *)word, sizeof(w)))
		return true;
	__builtin_memcpy(&id, (const char *)&w + (tid_addr - word),
			 sizeof(id));
	return id != tid;
}

/* kp_tid_addr() without a call once the thread has asked. */
ARCH_GPR_ONLY static inline uintptr_t tid_addr_cached(void)
{
	uintptr_t a = kp_thr.tid_addr;

	return a > 1 ? a : kp_tid_addr();
}

void kp_kretprobe_atfork_child(void)
{
	kp_thr.tid = 0;
	kp_thr.tid_addr = 0;
}

/*
 * Give @inst back: IDLE for its kretprobe to take again, or FREE when the
 * kretprobe is gone (an orphan: nobody will take it again). Only inside a
 * read-side section: either this section saw the owner before
 * unregister_kretprobe() cleared it, and that call's grace period waits
 * for the IDLE store before it makes IDLE instances FREE, or it sees NULL
 * and makes the instance FREE itself. No locked instruction: the hit path
 * pays for none here. Async-signal-safe.
 */
ARCH_GPR_ONLY static void release(struct kp_ret_inst *inst)
{
	bool orphan = !__atomic_load_n(&inst->owner, __ATOMIC_ACQUIRE);

	atomic_store_explicit(&inst->state, orphan ? RI_FREE : RI_IDLE,
			      memory_order_release);
}

/*
 * Drop the instances of this thread whose frames are gone: on the same
 * stack as (@slot, @stack_id), with a return address slot at or below
 * @slot (strictly below with @strict). Async-signal-safe.
 */
ARCH_GPR_ONLY static void reclaim_stale(uintptr_t slot, uintptr_t stack_id,
				       bool strict)
{
	struct kp_ret_inst **link = &kp_thr.ret_top, *inst;

	while ((inst = *link)) {
		if (inst->stack_id == stack_id &&
		    (inst->slot < slot || (!strict && inst->slot == slot))) {
			*link = inst->next;
			release(inst);
			continue;
		}
		link = &inst->next;
	}
}

/* Free ACTIVE instances of @krp whose thread has exited. */
ARCH_GPR_ONLY static void reclaim_dead_threads(struct kp_kretprobe *krp)
{
	for (int i = 0; i < krp->n; i++) {
		struct kp_ret_inst *inst = krp->insts[i];

		if (atomic_load(&inst->state) == RI_ACTIVE &&
		    kp_thread_gone(inst->tid, inst->tid_addr)) {
			int expected = RI_ACTIVE;

			atomic_compare_exchange_strong(&inst->state, &expected,
						       RI_IDLE);
		}
	}
}

ARCH_GPR_ONLY static struct kp_ret_inst *
take_instance(struct kp_kretprobe *krp)
{
	for (int i = 0; i < krp->n; i++) {
		struct kp_ret_inst *inst = krp->insts[i];
		int expected = RI_IDLE;

		if (atomic_compare_exchange_strong(&inst->state, &expected,
						   RI_SETUP))
			return inst;
	}
	return NULL;
}

ARCH_GPR_ONLY static unsigned long find_ret_addr(unsigned long addr);

/* ---- entry: the pre_handler of rp->kp ---- */

/*
 * Take an instance of @krp for a call whose return address lies at @slot
 * and is @ra, and run the entry_handler if @regs (the direct way has none
 * and passes NULL). Return the stub the return address is to become, or 0
 * (no instance: nmissed; or the entry_handler said no). The caller writes
 * it over the return address, last. In a SIGTRAP handler, or on a
 * jump-optimized hit, the light path included: everything here and below
 * is ARCH_GPR_ONLY, and the entry_handler was decoded
 * (kp_kretprobe_entry_light()). Async-signal-safe.
 */
ARCH_GPR_ONLY static inline __attribute__((always_inline)) uintptr_t
kret_entry(struct kp_kretprobe *krp, struct pt_regs *regs, uintptr_t slot,
	   uintptr_t ra)
{
	struct kretprobe *rp = krp->rp;
	uintptr_t stack_id = kp_trap_stack_id();
	struct kp_ret_inst *inst;

	/*
	 * A tail call from a return-probed function: its stub is already our
	 * return address, and its instance, at this very slot, is alive. We
	 * return into it after our own handler (the chain uprobes knows too).
	 */
	if (kp_thr.ret_top)
		reclaim_stale(slot, stack_id, find_ret_addr(ra) != ra);
	inst = take_instance(krp);
	if (!inst) {
		reclaim_dead_threads(krp);
		inst = take_instance(krp);
	}
	if (!inst) {
		__atomic_fetch_add(&rp->nmissed, 1, __ATOMIC_RELAXED);
		return 0;
	}
	inst->ri.rp = rp;
	inst->ri.ret_addr = (kprobe_opcode_t *)ra;
	inst->ri.fp = (void *)slot;
	inst->tid = kp_gettid();
	inst->tid_addr = tid_addr_cached();
	inst->slot = slot;
	inst->stack_id = stack_id;
	/*
	 * Only now ACTIVE: until its tid is ours, the instance still names
	 * its last user, maybe a thread that has exited, and
	 * reclaim_dead_threads() (another thread's entry, or a signal
	 * handler's on this one, finding the pool empty) would take it
	 * back from under us.
	 */
	atomic_store_explicit(&inst->state, RI_ACTIVE, memory_order_release);
	if (regs && rp->entry_handler && rp->entry_handler(&inst->ri, regs)) {
		release(inst);
		return 0;
	}
	*inst->ret_cell = (uintptr_t)inst->ri.ret_addr;
	inst->next = kp_thr.ret_top;
	kp_thr.ret_top = inst;
	kp_thr.ret_stub = inst->stub;		/* for kp_ret_callin() */
	return inst->stub;
}

/* Take an instance and hijack the return address (kret_entry()). */
ARCH_GPR_ONLY static int pre_handler_kretprobe(struct kprobe *p,
					       struct pt_regs *regs)
{
	uintptr_t stub = kret_entry(((struct kretprobe *)p)->priv, regs,
				    arch_ret_addr_slot(regs),
				    arch_ret_addr_get(regs));

	/* Last: from here on the function returns into the stub. */
	if (stub)
		arch_ret_addr_set(regs, stub);
	return 0;
}

/*
 * The direct way into a return probe (docs/design.md, "Return probes"):
 * a dispatching detour's routine calls this first, before it saves more
 * than the registers and flags C code may change, with @sp the probed
 * function's stack pointer at its first instruction (its return address
 * at *@sp). If the detour's kretprobe may take this way (@d->kret,
 * kp_kretprobe_direct_of()) and this thread runs none of our handlers:
 * take its instance, hijack the return address, leave the dispatch in the
 * red zone (arch_opt_dispatch_at()) and return where the detour's routine
 * returns to. Otherwise return 0, with nothing done: the routine then
 * takes the general way (kp_optprobe_handler()), which handles every
 * other case.
 *
 * Nothing here runs a handler of the program's, or touches errno (system
 * calls go through arch_syscall()), the vector or x87 state: the routine
 * keeps none of it. Async-signal-safe.
 */
__attribute__((used)) ARCH_GPR_ONLY uintptr_t
kp_kretprobe_direct(const struct kp_slot *d, uintptr_t *sp);
ARCH_GPR_ONLY uintptr_t kp_kretprobe_direct(const struct kp_slot *d,
					    uintptr_t *sp)
{
	uintptr_t to = d->addr + d->copies.copy_off[0], ret = 0;
	struct kp_kretprobe *krp;

	kp_section_enter();
	krp = kp_rcu_deref(d->kret);
	if (krp && kp_thr.handler_depth == 0) {
		uintptr_t stub = kret_entry(krp, NULL, (uintptr_t)sp, *sp);

		if (stub)
			*sp = stub;
		ret = arch_opt_dispatch_at(d, (uintptr_t)sp, to,
					   kp_ret_callin(*sp));
	}
	kp_section_exit();
	return ret;
}

/*
 * May a hit at pp take the direct way? Its kretprobe's pool, if pp holds
 * that kretprobe alone, enabled, with no entry_handler (nothing of the
 * program's runs at its entry); else NULL. For the detour's kret, which
 * the direct way reads in a read-side section: a pool is freed a grace
 * period after its probe left pp. kprobe_mutex held.
 */
struct kp_kretprobe *kp_kretprobe_direct_of(const struct probe_point *pp)
{
	const struct kprobe_node *n = pp->probes;
	const struct kretprobe *rp;

	if (!n || n->next || !kp_is_kretprobe(n->kp) ||
	    (__atomic_load_n(&n->kp->flags, __ATOMIC_RELAXED) &
	     KPROBE_FLAG_DISABLED))
		return NULL;
	rp = (const struct kretprobe *)n->kp;
	return rp->entry_handler ? NULL : rp->priv;
}

bool kp_is_kretprobe(const struct kprobe *p)
{
	return p->pre_handler == pre_handler_kretprobe;
}

/* May the entry of kretprobe @p run on the light path? kprobe_mutex. */
bool kp_kretprobe_entry_light(const struct kprobe *p)
{
	const struct kretprobe *rp = (const struct kretprobe *)p;

	return !rp->entry_handler ||
	       kp_opt_handler_light((uintptr_t)rp->entry_handler);
}

/* ---- return: called by kp_kretprobe_trampoline ---- */

/*
 * Run the return handler of stub @index's instance and give back the real
 * return address. Also stores it in *@ra_slot first, so that a backtrace
 * taken in the handler walks from the trampoline to the real caller.
 *
 * @light: the trampoline has not saved the vector, x87 and MXCSR state (the
 * light path, docs/design.md): return 0 at once, with nothing done, if the
 * return handler may touch it; the trampoline saves it and calls again.
 * Ordinary context, but interruptible by signals: async-signal-safe.
 */
__attribute__((used)) ARCH_GPR_ONLY uintptr_t
kp_kretprobe_trampoline_handler(struct pt_regs *regs, unsigned int index,
				uintptr_t *ra_slot, bool light);
ARCH_GPR_ONLY uintptr_t
kp_kretprobe_trampoline_handler(struct pt_regs *regs, unsigned int index,
				uintptr_t *ra_slot, bool light)
{
	struct kp_ret_chunk *c = chunk_of(index);
	struct kp_ret_inst *inst = c->inst[index % ARCH_RET_STUBS];
	uintptr_t ra = c->ret[index % ARCH_RET_STUBS];
	/* errno: a handler may change it; the arch's trampoline may keep it
	 * itself, for less. */
	int *errnop = ARCH_RET_KEEPS_ERRNO ? NULL : kp_errno_ptr();
	int saved_errno = errnop ? *errnop : 0;
	struct kp_ret_inst **link;
	struct kretprobe *rp;

	kp_section_enter();
	rp = __atomic_load_n(&inst->owner, __ATOMIC_ACQUIRE);
	if (light && rp && rp->handler &&
	    !((const struct kp_kretprobe *)rp->priv)->ret_light) {
		kp_section_exit();
		return 0;
	}

	*ra_slot = ra;
	arch_regs_ip_set(regs, ra);

	/* Unlink it; instances above it were skipped (their frames are
	 * deeper on its stack) unless they live on another stack. */
	for (link = &kp_thr.ret_top; *link && *link != inst;
	     link = &(*link)->next)
		;
	if (*link)
		*link = inst->next;
	if (kp_thr.ret_top)
		reclaim_stale(inst->slot, inst->stack_id, true);

	if (rp && rp->handler) {
		const struct pt_regs *outer = kp_thr.ret_regs;

		kp_thr.ret_regs = regs;
		kp_handler_enter(&rp->kp);
		rp->handler(&inst->ri, regs);
		kp_handler_exit();
		kp_thr.ret_regs = outer;
	}
	release(inst);
	kp_section_exit();
	if (errnop)
		*errnop = saved_errno;
	return ra;
}

/* The real return address behind stub @addr, or @addr. */
ARCH_GPR_ONLY static unsigned long stub_ret_addr(unsigned long addr)
{
	for (unsigned int ci = 0; ci < KP_MAX_CHUNKS; ci++) {
		struct kp_ret_chunk *c = __atomic_load_n(&chunks[ci],
							 __ATOMIC_ACQUIRE);
		uintptr_t off;

		if (!c)
			break;
		if (addr < c->arch.stub0 || addr >= c->arch.end_ip)
			continue;
		off = addr - c->arch.stub0;
		/* The stub's entry, or where a call-in returns to. */
		if (off % c->arch.stride == 0 ||
		    (ARCH_RET_CALLIN_RET &&
		     off % c->arch.stride == ARCH_RET_CALLIN_RET))
			return c->ret[off / c->arch.stride];
	}
	return addr;
}

/* Async-signal-safe. Follows chains (a tail call between two
 * return-probed functions returns from one stub into another). */
ARCH_GPR_ONLY static unsigned long find_ret_addr(unsigned long addr)
{
	for (int i = 0; i < 64; i++) {
		unsigned long real = stub_ret_addr(addr);

		if (real == addr)
			break;
		addr = real;
	}
	return addr;
}

/* The exported name; libkprobe's own calls use find_ret_addr(), not this
 * interposable symbol, whose PLT call would keep the entry handler off
 * the light path. */
KP_EXPORT ARCH_GPR_ONLY unsigned long
kretprobe_find_ret_addr(unsigned long addr)
{
	return find_ret_addr(addr);
}

/* ---- registration ---- */

static void free_kretprobe_priv(struct kretprobe *rp)
{
	struct kp_kretprobe *krp = rp->priv;

	if (!krp)
		return;
	/* Never-used instances go back to FREE; memory stays with the stub. */
	for (int i = 0; i < krp->n; i++)
		if (krp->insts[i]) {
			__atomic_store_n(&krp->insts[i]->owner, NULL,
					 __ATOMIC_RELEASE);
			int expected = RI_IDLE;

			atomic_compare_exchange_strong(&krp->insts[i]->state,
						       &expected, RI_FREE);
		}
	free(krp);
	rp->priv = NULL;
}

static int prepare_kretprobe(struct kretprobe *rp)
{
	struct kp_kretprobe *krp;
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);

	if (rp->kp.offset)
		return kp_error(-EINVAL,
				"a kretprobe goes on a function's entry: offset must be 0");
	if (rp->kp.pre_handler || rp->kp.post_handler)
		return kp_error(-EINVAL,
				"kretprobe.kp must not have handlers of its own");
	if (rp->maxactive < 0)
		return kp_error(-EINVAL, "maxactive is negative");
	if (rp->maxactive == 0)
		rp->maxactive = ncpus > 5 ? 2 * (int)ncpus : 10;
	krp = calloc(1, sizeof(*krp) +
		     (size_t)rp->maxactive * sizeof(krp->insts[0]));
	if (!krp)
		return -ENOMEM;
	krp->rp = rp;
	rp->priv = krp;
	for (krp->n = 0; krp->n < rp->maxactive; krp->n++) {
		krp->insts[krp->n] = get_instance(rp, rp->data_size);
		if (!krp->insts[krp->n]) {
			free_kretprobe_priv(rp);
			return kp_error(-ENOMEM, "no memory for %d instances",
					rp->maxactive);
		}
	}
	krp->ret_light = !rp->handler ||
			 kp_opt_handler_light((uintptr_t)rp->handler);
	rp->nmissed = 0;
	rp->kp.pre_handler = pre_handler_kretprobe;
	return 0;
}

static void undo_prepare(struct kretprobe *rp)
{
	free_kretprobe_priv(rp);
	rp->kp.pre_handler = NULL;
}

static struct kprobe *prepare_item(void *items, int i, int *err)
{
	struct kretprobe *rp = ((struct kretprobe **)items)[i];

	if (!rp) {
		*err = kp_error(-EINVAL, "rps[%d] is NULL", i);
		return NULL;
	}
	if (kp_is_registered(&rp->kp)) {
		*err = kp_error(-EINVAL, "this kretprobe is already registered");
		return NULL;
	}
	*err = prepare_kretprobe(rp);
	return *err ? NULL : &rp->kp;
}

static void undo_item(void *items, int i)
{
	undo_prepare(((struct kretprobe **)items)[i]);
}

KP_EXPORT int register_kretprobes(struct kretprobe **rps, int num)
{
	return kp_register_entry_batch(rps, num, prepare_item, undo_item);
}

KP_EXPORT int register_kretprobe(struct kretprobe *rp)
{
	return register_kretprobes(&rp, 1);
}

KP_EXPORT void unregister_kretprobes(struct kretprobe **rps, int num)
{
	struct kprobe **kps;
	int i;

	if (!rps || num <= 0)
		return;
	kps = calloc((size_t)num, sizeof(*kps));
	if (!kps)
		return;
	kp_lock();
	for (i = 0; i < num; i++)
		if (rps[i] && rps[i]->priv && kp_is_registered(&rps[i]->kp))
			kps[i] = &rps[i]->kp;
	/* No entry handler runs after this (one grace period)... */
	kp_unregister_batch(kps, num);
	/* ...then orphan the pending returns, and wait for return handlers
	 * that already hold the kretprobe. */
	for (i = 0; i < num; i++)
		if (kps[i]) {
			struct kp_kretprobe *krp = rps[i]->priv;

			for (int j = 0; j < krp->n; j++)
				__atomic_store_n(&krp->insts[j]->owner, NULL,
						 __ATOMIC_RELEASE);
		}
	kp_synchronize();
	for (i = 0; i < num; i++)
		if (kps[i])
			undo_prepare(rps[i]);
	kp_unlock();
	free(kps);
}

KP_EXPORT void unregister_kretprobe(struct kretprobe *rp)
{
	unregister_kretprobes(&rp, 1);
}
