/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What src/core exports to itself and to the arch code.
 *
 * Locking, once for the whole library:
 *  - kprobe_mutex serialises every change: registration, arming, the probe
 *    table's and the slot cache's writers, the garbage collector.
 *  - The trap path takes no lock. It reads the probe table, the probe lists
 *    and the slot pages inside a read-side section (kp_read_lock()), and a
 *    writer frees what it unlinked only after kp_synchronize() has seen every
 *    section that could hold it end. This is RCU with two counters (the
 *    idea of SRCU), good enough because read sections are short and never
 *    block on a writer.
 */
#ifndef LIBKPROBE_CORE_INTERNAL_H
#define LIBKPROBE_CORE_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/rseq.h>

#include <kprobes.h>

#include "arch/arch.h"

#define KP_HASH_BITS	6	/* the seed's 64-bucket table */
#define KP_TABLE_SIZE	(1 << KP_HASH_BITS)

/* Published pointers: readers on the trap path load with acquire. */
#define kp_rcu_deref(p)		__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define kp_rcu_assign(p, v)	__atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

/* One registered struct kprobe (kp->priv points here). */
struct kprobe_node {
	struct kprobe *kp;
	/* Its pre_handler touches only general registers: a jump-optimized
	 * hit may run it on the light path. Set before publication. */
	bool light;
	struct kprobe_node *next;	/* in pp->probes; RCU */
	struct probe_point *pp;
	struct kprobe_node *reg_next;	/* registry chain; kprobe_mutex */
};

/*
 * One probed address: the kernel's aggregate kprobe. Even a lone probe gets
 * one, so the trap path has a single shape.
 */
struct probe_point {
	uintptr_t addr;
	struct probe_point *hnext;	/* hash chain; RCU */
	struct probe_point *gc_next;	/* waiting to be freed */
	struct kprobe_node *probes;	/* in registration order; RCU */
	int nr_probes;			/* kprobe_mutex */
	int nr_enabled;			/* kprobe_mutex */
	bool armed;			/* kprobe_mutex */
	/* Its code was unloaded (dlclose): out of the table, never written
	 * again; its probes are KPROBE_FLAG_GONE. kprobe_mutex. */
	bool gone;
	struct probe_point *gone_next;	/* in kp_gone_list */
	bool has_post;			/* read on the trap path */
	/* Every probe here, enabled or not, may run on the light path: a
	 * jump-optimized hit need not save the vector state. Cleared before
	 * a probe that may not is published. Read on the trap path. */
	bool all_light;
	struct kp_slot *slot;		/* NULL when emulated; kprobe_mutex */
	struct kp_slot *boost;		/* boosted copy, used without post */
	/* Jump optimization (optprobes.c). opt_slot is pp's detour, kept
	 * while pp lives; detour (RCU) publishes it to the trap path from
	 * before the jump is written until after it is gone: a trap at addr
	 * meanwhile resumes in the detour's copy, never inside the range. */
	struct kp_slot *opt_slot;
	struct kp_slot *detour;
	uint8_t opt_state;		/* enum kp_opt_state; kprobe_mutex */
	bool opt_refused;		/* analysis said no; kprobe_mutex */
	const char *opt_why;		/* ...and why */
	uintptr_t func_addr;		/* the enclosing function */
	size_t func_size;		/* 0 if unknown */
	char *object;			/* for the listing */
	char *symbol;			/* enclosing function, malloc'd */
	uintptr_t sym_offset;
	struct arch_insn ainsn;
};

/* Slots: see slots.c. */
/* PARKED: a boosted slot whose probe is gone. A thread may still be in it,
 * with no trap left to tell us when it leaves, so it is never given to
 * another instruction: it waits for a probe on the same instruction at the
 * same address, which can use it as it is (see slots.c). */
enum kp_slot_state {
	KP_SLOT_CLEAN, KP_SLOT_USED, KP_SLOT_DIRTY, KP_SLOT_PARKED,
};

/* What a slot holds. */
enum kp_slot_kind {
	KP_SLOT_TRAP,		/* instruction, then the second trap */
	KP_SLOT_BOOST,		/* instruction, then a jump back */
	KP_SLOT_DETOUR,		/* a jump optimization's detour */
};

/* A probe point's jump optimization, as optprobes.c walks it. */
enum kp_opt_state {
	KP_OPT_NONE,		/* a breakpoint, or nothing */
	KP_OPT_QUEUED,		/* waits for the end of the call */
	KP_OPT_DONE,		/* the jump is in place */
};

/* The instructions a detour runs out of line: copy k starts at
 * slot->addr + copy_off[k] and stands for the one at orig + orig_off[k]. */
struct kp_copies {
	uint8_t n;
	uint8_t copy_off[ARCH_OPT_MAX_INSNS];
	uint8_t orig_off[ARCH_OPT_MAX_INSNS];
	uint8_t len[ARCH_OPT_MAX_INSNS];
};

struct kp_kretprobe;		/* kretprobes.c */

struct kp_slot {
	uintptr_t addr;		/* executable address of the slot */
	uintptr_t orig;		/* the probed instruction's address */
	uintptr_t resume;	/* where the second trap continues */
	uint8_t trap_off;	/* offset of the second trap in the slot */
	uint8_t insn_len;	/* bytes of the displaced instruction */
	bool boosted;		/* jumps back: no second trap */
	uint8_t kind;		/* enum kp_slot_kind */
	uint8_t fixups;		/* the arch's */
	uint8_t state;		/* enum kp_slot_state; kprobe_mutex */
	uint8_t dispatch_off;	/* KP_SLOT_DETOUR: arch_prepare_detour() */
	atomic_int inflight;	/* threads between entering and leaving it */
	struct probe_point *owner; /* NULL once unregistered; RCU */
	struct kp_copies copies;	/* KP_SLOT_DETOUR */
	/* KP_SLOT_DETOUR: the kretprobe a hit may serve by the direct way
	 * (kp_kretprobe_direct_of()), else NULL; RCU. */
	struct kp_kretprobe *kret;
};

/* ---- probe table (table.c): writers hold kprobe_mutex ---- */
struct probe_point *kp_table_lookup(uintptr_t addr);	/* async-signal-safe */
void kp_table_insert(struct probe_point *pp);
void kp_table_remove(struct probe_point *pp);
/* Iterate every probe point (writers only). */
#define kp_table_for_each(pp, i) \
	for (i = 0; i < KP_TABLE_SIZE; i++) \
		for (pp = kp_table[i]; pp; pp = pp->hnext)
extern struct probe_point *kp_table[KP_TABLE_SIZE];

/* ---- read-side sections and grace periods (sync.c) ---- */
#define KP_READ_SHARDS 64

struct kp_reader_shard {
	atomic_ulong n[2];
} __attribute__((aligned(64)));

extern struct kp_reader_shard kp_readers[KP_READ_SHARDS];
extern atomic_uint kp_index;

/* The calling thread's shard: the CPU it runs on. Async-signal-safe. */
ARCH_GPR_ONLY static inline unsigned int kp_reader_shard(void)
{
	const char *tp = arch_thread_pointer();
	int32_t cpu = __atomic_load_n((const int32_t *)(tp + __rseq_offset +
				      offsetof(struct rseq, cpu_id)),
				      __ATOMIC_RELAXED);
	uintptr_t h;

	if (cpu >= 0)
		return (unsigned int)cpu % KP_READ_SHARDS;
	/* rseq unregistered (-1) or refused (-2): threads' control blocks
	 * lie pages apart. */
	h = ((uintptr_t)tp >> 12) * 0x9e3779b97f4a7c15ull;
	return (unsigned int)(h >> 58) % KP_READ_SHARDS;
}

/* Open a read-side section (sync.c says how they work). Return the token
 * to pass to kp_read_unlock(). Inline: every hit takes one.
 * Async-signal-safe. */
ARCH_GPR_ONLY static inline int kp_read_lock(void)
{
	unsigned int shard = kp_reader_shard();
	int idx = atomic_load(&kp_index) & 1;

	atomic_fetch_add(&kp_readers[shard].n[idx], 1);
	return (int)(shard << 1 | (unsigned int)idx);
}

/* Async-signal-safe. */
ARCH_GPR_ONLY static inline void kp_read_unlock(int token)
{
	atomic_fetch_sub(&kp_readers[token >> 1].n[token & 1], 1);
}

/*
 * Per-thread read-side records (sync.c): the fast way of the same
 * sections. A thread claims one on its first section and then publishes
 * its nesting depth there with plain stores: no locked instruction on the
 * hit path. kp_synchronize() makes the stores visible with membarrier()
 * and waits for every record that shows a section to show it ended. The
 * shards above are the fallback: no membarrier(), or no record left.
 */
struct kp_reader {
	uint64_t state;		/* gen << 32 | depth, in one store */
	pid_t tid;		/* the thread that claimed it */
	uintptr_t tid_addr;	/* its clear_child_tid word, or 0 */
	atomic_int used;	/* 0 free, 1 its thread's, 2 being claimed */
} __attribute__((aligned(64)));

extern bool kp_fast_sections;	/* membarrier() works: records may be used */
struct kp_reader *kp_reader_claim(void);	/* async-signal-safe */

/* Publish @state (gen << 32 | depth) in the calling thread's record.
 * Async-signal-safe. */
ARCH_GPR_ONLY static inline void kp_reader_publish(struct kp_reader *r,
						   uint64_t state)
{
	__atomic_store_n(&r->state, state, __ATOMIC_RELAXED);
}

/*
 * The calling thread's part of the trap path's per-thread state that every
 * hit path uses, inline (trap.c owns the rest, struct kprobe_ctlblk).
 */
struct kp_thread {
	const ucontext_t *uc;	/* the trap being handled, or NULL */
	/* Its read-side record (sync.c), once claimed; until then, and
	 * for good if none was free, its sections take the shards. */
	struct kp_reader *reader;
	/* gen << 32 | depth: the nesting depth of its read-side sections,
	 * and how many outermost ones ended; what its record shows. */
	uint64_t sect;
	int sect_idx;		/* the outermost one's shard token, when it
				 * took a shard (no record) */
	int handler_depth;	/* > 0 while a handler of ours runs */
	struct kprobe *current;	/* whose handler runs */
	/* No record was free when this thread asked: it uses the shards
	 * from then on (asking again would scan every record each time). */
	bool no_record;
	/* The return stub this thread's latest kretprobe entry put in place
	 * of a return address (kp_ret_callin()). */
	uintptr_t ret_stub;
	/* kretprobes.c's: the thread's pending return instances (a LIFO
	 * list), the regs its return handler runs with, its id and its
	 * clear_child_tid address once asked. */
	struct kp_ret_inst *ret_top;
	const struct pt_regs *ret_regs;
	pid_t tid;
	uintptr_t tid_addr;
};

extern __thread struct kp_thread kp_thr
	__attribute__((tls_model("initial-exec")));

#define KP_SECT_DEPTH(s)	((uint32_t)(s))
#define KP_SECT_GEN_1		(1ull << 32)

/* The depth one less: an outermost section that ends counts in gen. */
ARCH_GPR_ONLY static inline uint64_t kp_sect_leave(uint64_t s)
{
	s--;
	return KP_SECT_DEPTH(s) ? s : s + KP_SECT_GEN_1;
}

/* The sections of a thread with no record (sync.c). Async-signal-safe. */
ARCH_GPR_ONLY void kp_section_enter_slow(void);
ARCH_GPR_ONLY void kp_section_exit_slow(void);

/*
 * Open and close a read-side section. Only a thread's outermost section
 * chooses the way: its record, claimed on its first section, or else a
 * shard's count. A nested one (a trap inside a handler) lies within it,
 * and whatever a writer unlinks meanwhile waits for the outer one. Once a
 * thread has its record every section of it uses the record (a claim is
 * made at depth 0 only): the inline way below, a few instructions; the
 * rest is kp_section_enter_slow().
 *
 * A record shows the depth, published after every change to it, so that a
 * signal arriving between two steps here finds the record telling the
 * truth for its own section, and leaves it so. Inline: every hit takes
 * one. Async-signal-safe.
 */
ARCH_GPR_ONLY static inline __attribute__((always_inline)) void
kp_section_enter(void)
{
	struct kp_reader *r = kp_thr.reader;

	if (__builtin_expect(r != NULL, 1)) {
		uint64_t s = kp_thr.sect + 1;

		kp_thr.sect = s;
		kp_reader_publish(r, s);
	} else {
		kp_section_enter_slow();
	}
	/* What the section reads is read after the depth is published. */
	atomic_signal_fence(memory_order_seq_cst);
}

ARCH_GPR_ONLY static inline __attribute__((always_inline)) void
kp_section_exit(void)
{
	struct kp_reader *r = kp_thr.reader;
	uint64_t s;

	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(r == NULL, 0)) {
		kp_section_exit_slow();
		return;
	}
	s = kp_thr.sect;
	/* 0: abandoned (trap.c's abandon_thread_state()). */
	if (KP_SECT_DEPTH(s) == 0)
		return;
	s = kp_sect_leave(s);
	kp_thr.sect = s;
	kp_reader_publish(r, s);
}

/*
 * A jump-optimized hit at a function's entry, its handlers done: if the
 * return address @ra is the return stub this thread's latest kretprobe entry
 * put there (this hit's, or a return-probed function's that tail-called
 * this one: a stub in this slot is pending either way), the address of
 * that stub's call-in, else 0. The detour then calls the function from the
 * stub (arch_opt_dispatch()), and the function's ret is predicted
 * (docs/design.md, "Return probes"). Async-signal-safe.
 */
ARCH_GPR_ONLY static inline uintptr_t kp_ret_callin(uintptr_t ra)
{
	uintptr_t stub = kp_thr.ret_stub;

	if (!ARCH_RET_CALLIN || !stub || ra != stub)
		return 0;
	return stub + ARCH_RET_CALLIN;
}

/* Around a handler of ours: a probe hit meanwhile is a recursive hit
 * (nmissed). Async-signal-safe. */
ARCH_GPR_ONLY static inline __attribute__((always_inline)) void
kp_handler_enter(struct kprobe *kp)
{
	kp_thr.handler_depth++;
	kp_thr.current = kp;
}

ARCH_GPR_ONLY static inline __attribute__((always_inline)) void
kp_handler_exit(void)
{
	kp_thr.current = NULL;
	if (kp_thr.handler_depth > 0)
		kp_thr.handler_depth--;
}

/* 0 on the thread's own stack, else the base of the alternate signal stack
 * the trapped code runs on. Inside a trap only (elsewhere 0).
 * Async-signal-safe. */
ARCH_GPR_ONLY static inline uintptr_t kp_trap_stack_id(void)
{
	const ucontext_t *uc = kp_thr.uc;

	if (uc && (uc->uc_stack.ss_flags & SS_ONSTACK))
		return (uintptr_t)uc->uc_stack.ss_sp;
	return 0;
}

void kp_synchronize(void);		/* kprobe_mutex held */
void kp_sync_init(void);		/* kprobe_mutex held */
void kp_sync_atfork_child(void);
void kp_fd_out_of_the_way(int *fd);	/* error.c */
/* ---- unloaded code (dl.c, kprobes.c); kprobe_mutex held ---- */
void kp_dl_check(void);		/* sweep if an object was unloaded */
bool kp_initialized(void);		/* any thread */
int kp_real_dlclose(void *handle);	/* libc's, never the sweep */
/* The calling thread's id, cached per thread (kretprobes.c); a fork()ed
 * child's is asked again. Async-signal-safe, ARCH_GPR_ONLY. */
pid_t kp_gettid(void);
/* Its clear_child_tid word (0: unknown), and whether a thread is gone
 * (kretprobes.c). Async-signal-safe, ARCH_GPR_ONLY. */
uintptr_t kp_tid_addr(void);
bool kp_thread_gone(pid_t tid, uintptr_t tid_addr);
bool kp_dl_addr_loaded(uintptr_t addr);
void kp_kill_probe_point(struct probe_point *pp);
/* Probe points whose code is gone, still holding registered probes. */
extern struct probe_point *kp_gone_list;
void kp_opt_forget(struct probe_point *pp);
/* A read-side section of the calling thread, nested or not, that a fork()ed
 * child re-counts if the fork happened inside it (trap.c). */
/*
 * errno, through its distance from the thread pointer (glibc keeps it in
 * its static TLS block, at one offset in every thread; set at the first
 * registration): __errno_location() on every optimized hit cost more, and
 * is libc code the light path cannot vouch for. Async-signal-safe.
 */
extern ptrdiff_t kp_errno_off;
ARCH_GPR_ONLY static inline int *kp_errno_ptr(void)
{
	return (int *)((char *)arch_thread_pointer() + kp_errno_off);
}
void kp_trap_atfork_child(void);
bool kp_trap_handler_installed(const struct sigaction *act);
/*
 * Called, when set, just before the process dies of a fault signal
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL) that the program does not handle, or
 * of a terminating signal taken by kp_signals_take_default(), in the dying
 * thread's signal handler: an embedder's last chance to write what it
 * holds (the tracer's rings). It must be async-signal-safe and return,
 * and soon.
 */
extern void (*kp_last_words)(int sig);
/* kp_last_words, then die of @sig as its default action would (trap.c).
 * Async-signal-safe as far as kp_last_words is. */
void kp_die_by(int sig);
/* The mask our signal handlers run with (trap.c). */
void kp_handler_mask(sigset_t *set);

/* ---- text (text.c): mappings and patching ---- */
struct kp_mapping {
	uintptr_t start, end;
	int prot;
	char path[256];
};
int kp_find_mapping(uintptr_t addr, struct kp_mapping *m);
void kp_mapping_cache(bool on);	/* around one registration call */
int kp_text_poke(uintptr_t addr, const void *src, size_t len);
/* Copy original bytes: armed breakpoints are replaced by what they hide. */
void kp_read_text(uintptr_t addr, void *dst, size_t len);
/* The bytes a breakpoint hides at @addr (arch stores them in ainsn). */
const uint8_t *arch_saved_bytes(const struct probe_point *pp);
/* Recently disarmed addresses (for a hit racing with a disarm). */
void kp_text_atfork_child(void);
void kp_note_disarmed(uintptr_t addr);
bool kp_was_disarmed(uintptr_t addr);	/* async-signal-safe */

/* ---- slots (slots.c): kprobe_mutex held except kp_slot_lookup ---- */
struct kp_slot *kp_slot_alloc(uintptr_t near, size_t reach);
void kp_slot_write(struct kp_slot *slot, const uint8_t *code, size_t len);
void kp_slot_free(struct kp_slot *slot);
int kp_slot_collect_garbage(void);
struct kp_slot *kp_slot_lookup(uintptr_t addr);	/* async-signal-safe */
struct kp_slot *kp_parked_slot_find(uintptr_t orig, enum kp_slot_kind kind);
void kp_slot_park(struct kp_slot *slot);
/* Trap path: a fault at @ip in a detour's copies (async-signal-safe). */

void kp_slots_stats(int *pages, int *used, int *dirty);

/* ---- trap entry (trap.c) ---- */
int kp_trap_init(void);

/* ---- jump optimization (optprobes.c): kprobe_mutex held ---- */
void kp_opt_init(void);
/* pp's handlers or state changed: queue it for optimizing, or take its
 * jump out now (before a disarm, or when it may no longer be optimized). */
void kp_opt_update(struct probe_point *pp);
/* A probe point is being created at @addr: undo a jump covering it. */
void kp_opt_make_room(uintptr_t addr);
/* Optimize what was queued; at the end of each public call. */
void kp_opt_run(void);
/* The probe point is going away: take its jump out (it stays disarmed
 * or armed with a breakpoint as it was) and release its detour later. */
void kp_opt_remove(struct probe_point *pp);
void kp_opt_release(struct probe_point *pp);	/* after a grace period */
/* Original bytes under optimized jumps, for kp_read_text(). */
void kp_opt_recover(uintptr_t addr, uint8_t *buf, size_t len);
/* May a handler run on the light path (docs/design.md)? kprobe_mutex. */
bool kp_opt_handler_light(uintptr_t handler);

/* ---- the program's view of our signals (signals.c); async-signal-safe */
int kp_real_sigaction(int sig, const struct sigaction *act,
		      struct sigaction *old);
void kp_prog_action(int sig, struct sigaction *out);
void kp_prog_action_reset(int sig);
void kp_signals_own(int sig, const struct sigaction *prog_act,
		    void (*update)(int sig, int flags));
void kp_signals_take_default(const int *sigs, size_t n);
bool kp_prog_blocks_sigtrap(void);
void kp_prog_sigtrap_pending(void);

/* ---- blacklist (blacklist.c) ---- */
int kp_blacklist_init(void);
const char *kp_blacklisted(uintptr_t addr);

/* ---- registration helpers for the other probe kinds (kprobes.c) ---- */
int kp_register_entry_batch(void *items, int num,
			    struct kprobe *(*prepare)(void *items, int i,
						      int *err),
			    void (*undo)(void *items, int i));
void kp_unregister_batch(struct kprobe **kps, int num);	/* NULLs skipped */
bool kp_is_registered(const struct kprobe *p);

/* ---- trap path services for the other probe kinds (trap.c) ---- */
void kp_self_enter(void);
void kp_self_exit(void);

/* ---- probe kinds, for the listing ---- */
bool kp_is_kretprobe(const struct kprobe *p);
struct kp_kretprobe *kp_kretprobe_direct_of(const struct probe_point *pp);
bool kp_kretprobe_entry_light(const struct kprobe *p);
void kp_kretprobe_atfork_child(void);
bool kp_is_jprobe(const struct kprobe *p);

/* ---- unwinders (backtrace.c) ---- */
void kp_unwind_init(void);
bool kp_is_return_regs(const struct pt_regs *regs);	/* kretprobes.c */
void kp_unwind_register(const struct arch_ret_chunk *chunk);
/* Build ARCH_RET_STUBS return stubs for indices first.. and their unwind
 * info (retstub.c). Registration time only. Return 0 or -ENOMEM. */
int kp_ret_chunk_create(unsigned int first, const uintptr_t *ret_table,
			struct arch_ret_chunk *chunk);

/* ---- the rest ---- */
extern pthread_mutex_t kprobe_mutex;
void kp_lock(void);
void kp_unlock(void);
int kp_init(void);			/* kprobe_mutex held */

/* Debug builds assert the lock a writer needs. */
#ifndef NDEBUG
bool kp_mutex_held(void);
bool kp_trylock(void);
#define kp_assert_locked() assert(kp_mutex_held())
#else
#define kp_assert_locked() do { } while (0)
#endif

#endif
