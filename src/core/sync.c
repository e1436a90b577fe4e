// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Read-side sections and grace periods for the trap path.
 *
 * A trap handler may interrupt a thread anywhere, including one that holds
 * kprobe_mutex, so the trap path cannot lock. It reads shared objects inside
 * kp_read_lock()/kp_read_unlock() instead, and a writer that unlinked an
 * object frees it only after kp_synchronize() returns: by then every section
 * that might have seen the object has ended.
 *
 * Two counters, as in SRCU: a reader counts itself in the one the current
 * index names. kp_synchronize() flips the index and waits for the old
 * counter to drain, then flips back and waits for the other one. One flip
 * would miss a reader that read the index before an earlier flip but counted
 * itself after that flip's wait; the second flip catches it. All operations
 * are sequentially consistent, so a reader that counts itself after the
 * writer saw zero also reads the table after the writer's unlink.
 *
 * Each counter is split in shards, one cache line each, and a reader counts
 * itself in the shard of the CPU it runs on (glibc's rseq area says which,
 * in one load; without rseq, a hash of the thread pointer picks one). A
 * reader decrements the shard it incremented, wherever it runs by then, so
 * every shard is a count of its own readers, never negative, and "every
 * shard was zero when the writer looked" means what one counter at zero
 * meant. Threads on different CPUs then never write the same line: one
 * shared counter made two threads hitting probes bounce it between them.
 *
 * Per-thread records, the fast way. The shards' locked add is the single
 * largest cost of a jump-optimized hit after the register save (two per
 * hit: about 3 ns of 17 here, and 9 ns of a return probe's 74, measured
 * side by side in one process). So a thread that can claims a record of
 * its own (struct kp_reader, one cache line) and publishes its depth there
 * with plain stores, the asymmetric fence of liburcu's "memb" flavour:
 * kp_synchronize() runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED),
 * which puts a full barrier into every running thread of the process.
 * After it, a thread that read an unlinked object before its barrier has
 * its record's depth visible (the store came first in its program), and
 * a thread that reads after it finds the object unlinked. The writer then
 * waits, per record showing a section, until the depth is 0 or the
 * generation (outermost sections ended) moved on, which a busy thread does
 * within one hit: no starvation by a thread that hits probes in a loop. A
 * second membarrier() after the wait orders the readers' last loads before
 * whatever the writer does next (it matters on ppc64, not on x86's TSO).
 *
 * (Tried earlier and not kept: plain per-CPU adds in an rseq sequence,
 * about 2 ns more per optimized hit than the locked add.)
 *
 * Records live in one static array, claimed by compare-and-swap on a
 * thread's first section (async-signal-safe: no allocation). A record
 * stays its thread's until the thread is gone; when the array is full, a
 * claim takes back the records of exited threads (kp_thread_gone()), and
 * a thread that still finds none uses the shards. A thread that exits
 * inside a section (pthread_exit() from a handler) cannot hold a writer
 * forever either: the wait asks whether its thread is gone.
 *
 * A section is only ever as long as one signal handler invocation, one
 * jump-optimized hit or one return handler: a thread between its two traps
 * (running in a slot) is not in a section; slots are protected by their
 * own inflight counts (slots.c).
 */
#include <linux/membarrier.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The reader side is inline, in internal.h: kp_read_lock(). */
struct kp_reader_shard kp_readers[KP_READ_SHARDS];
atomic_uint kp_index;

/* ---- per-thread records ---- */

#define KP_READERS 4096

static struct kp_reader readers[KP_READERS];
/* One past the highest record ever claimed: writers scan up to it. */
static atomic_uint readers_hw;
bool kp_fast_sections;

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/* Whether records may be used: membarrier() must work. kprobe_mutex held
 * (kp_init()), before any section can take the fast way. */
void kp_sync_init(void)
{
	kp_fast_sections = getenv("LIBKPROBE_SECTIONS_SHARDED") == NULL &&
		membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

/* A free record, taken as "being claimed" (2): not yet its thread's, so
 * no other claim can take it back as an exited thread's meanwhile (that
 * looks only at records in use, 1, whose tid is set). */
ARCH_GPR_ONLY static bool try_claim(struct kp_reader *r)
{
	int expected = 0;

	return atomic_load_explicit(&r->used, memory_order_relaxed) == 0 &&
	       atomic_compare_exchange_strong(&r->used, &expected, 2);
}

/*
 * A record for the calling thread, or NULL: none left (its sections then
 * take the shards). Called by a thread's first section, which may be in a
 * signal handler: async-signal-safe, ARCH_GPR_ONLY.
 */
ARCH_GPR_ONLY struct kp_reader *kp_reader_claim(void)
{
	struct kp_reader *r = NULL;

	for (unsigned int i = 0; i < KP_READERS && !r; i++)
		if (try_claim(&readers[i]))
			r = &readers[i];
	/* Full: take back the records of threads that have exited. */
	for (unsigned int i = 0; i < KP_READERS && !r; i++) {
		struct kp_reader *old = &readers[i];
		int expected = 1;

		if (atomic_load(&old->used) == 1 &&
		    kp_thread_gone(old->tid, old->tid_addr) &&
		    atomic_compare_exchange_strong(&old->used, &expected, 2)) {
			__atomic_store_n(&old->state, 0, __ATOMIC_RELAXED);
			r = old;
		}
	}
	if (!r)
		return NULL;
	r->tid = kp_gettid();
	r->tid_addr = kp_tid_addr();
	__atomic_store_n(&r->state, 0, __ATOMIC_RELAXED);
	atomic_store(&r->used, 1);
	for (unsigned int hw = atomic_load(&readers_hw),
	     want = (unsigned int)(r - readers) + 1; hw < want;)
		if (atomic_compare_exchange_weak(&readers_hw, &hw, want))
			break;
	kp_thr.reader = r;	/* last: the inline way starts here */
	return r;
}

/*
 * A section of a thread that has no record (internal.h): at depth 0, a
 * record claimed now makes it, and every later one, a record's; else a
 * shard's count, taken before the depth says "inside": a signal in between
 * finds no section and opens (and closes) its own. Such a signal's section
 * also leaves its own shard token in kp_thr.sect_idx, so ours is written
 * again once the depth is up, after which a signal's section is nested
 * and leaves the token alone. Async-signal-safe.
 */
ARCH_GPR_ONLY void kp_section_enter_slow(void)
{
	struct kp_reader *r;
	int token;

	if (KP_SECT_DEPTH(kp_thr.sect) == 0 && kp_fast_sections &&
	    !kp_thr.no_record) {
		r = kp_reader_claim();
		kp_thr.no_record = !r;
		if (r) {
			kp_thr.sect++;
			kp_reader_publish(r, kp_thr.sect);
			return;
		}
	}
	if (KP_SECT_DEPTH(kp_thr.sect) != 0) {
		kp_thr.sect++;		/* nested in a shard's section */
		return;
	}
	token = kp_read_lock();
	kp_thr.sect_idx = token;
	atomic_signal_fence(memory_order_seq_cst);
	kp_thr.sect++;
	atomic_signal_fence(memory_order_seq_cst);
	kp_thr.sect_idx = token;
}

/* Its end. The token is read before the depth goes down: a signal's
 * section after that takes a token of its own. Async-signal-safe. */
ARCH_GPR_ONLY void kp_section_exit_slow(void)
{
	uint64_t s = kp_thr.sect;
	int token = kp_thr.sect_idx;

	/* 0: abandoned (trap.c's abandon_thread_state()). */
	if (KP_SECT_DEPTH(s) == 0)
		return;
	s = kp_sect_leave(s);
	kp_thr.sect = s;
	if (KP_SECT_DEPTH(s) == 0)
		kp_read_unlock(token);
}

/* Readers are one handler long: yield first, then nap. */
static void pause_for_reader(int *spins)
{
	struct timespec ts = { 0, 20000 };

	if (++*spins < 64)
		sched_yield();
	else
		nanosleep(&ts, NULL);
}

static void wait_for_records(void)
{
	unsigned int hw = atomic_load(&readers_hw);

	for (unsigned int i = 0; i < hw; i++) {
		struct kp_reader *r = &readers[i];
		uint64_t seen = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
		int spins = 0;

		while (atomic_load(&r->used) == 1 && (uint32_t)seen != 0) {
			uint64_t now = __atomic_load_n(&r->state,
						       __ATOMIC_RELAXED);

			if ((uint32_t)now == 0 || now >> 32 != seen >> 32)
				break;
			/* A thread that left inside a section. */
			if (spins % 256 == 255 &&
			    kp_thread_gone(r->tid, r->tid_addr))
				break;
			pause_for_reader(&spins);
		}
	}
}

/* ---- the shards ---- */

static bool readers_gone(int idx)
{
	for (int s = 0; s < KP_READ_SHARDS; s++)
		if (atomic_load(&kp_readers[s].n[idx]) != 0)
			return false;
	return true;
}

static void wait_for_readers(int idx)
{
	int spins = 0;

	while (!readers_gone(idx))
		pause_for_reader(&spins);
}

/*
 * A full barrier in every running thread of the process. It cannot fail
 * once kp_sync_init() registered (the registration survives fork(), and
 * exec() starts libkprobe afresh), but the kernel has the last word: if it
 * refuses, register again; failing that, new sections take the shards,
 * and this grace period waits on the records as they are, after a pause
 * long enough for any store still in flight to land.
 */
static void barrier_all(void)
{
	struct timespec ms = { 0, 1000 * 1000 };

	/* No record was ever claimed (the shards only): nothing to order. */
	if (!atomic_load(&readers_hw))
		return;
	if (!membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
	    (!membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
	     !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)))
		return;
	kp_fast_sections = false;
	nanosleep(&ms, NULL);
}

/* Wait until every read-side section that began before the call ended.
 * kprobe_mutex held; must not be called from a handler. */
void kp_synchronize(void)
{
	unsigned int idx;

	kp_assert_locked();
	/* Records are waited on even once kp_fast_sections went off. */
	barrier_all();
	wait_for_records();
	idx = atomic_load(&kp_index) & 1;
	atomic_store(&kp_index, idx ^ 1);
	wait_for_readers(idx);
	atomic_store(&kp_index, idx);
	wait_for_readers(idx ^ 1);
	barrier_all();
}

/* In a fork()ed child only the forking thread exists: no other section can
 * be open, and counts left by the parent's other threads would never
 * drain. kp_trap_atfork_child() counts the forking thread's own again. */
void kp_sync_atfork_child(void)
{
	for (int s = 0; s < KP_READ_SHARDS; s++) {
		atomic_store(&kp_readers[s].n[0], 0);
		atomic_store(&kp_readers[s].n[1], 0);
	}
	for (unsigned int i = 0; i < atomic_load(&readers_hw); i++) {
		if (&readers[i] == kp_thr.reader ||
		    atomic_load(&readers[i].used) == 0)
			continue;
		__atomic_store_n(&readers[i].state, 0, __ATOMIC_RELAXED);
		atomic_store(&readers[i].used, 0);
	}
	/* Its own record stays, with its depth: it is this thread's. */
	if (kp_thr.reader) {
		kp_thr.reader->tid = kp_gettid();
		kp_thr.reader->tid_addr = kp_tid_addr();
	}
}
