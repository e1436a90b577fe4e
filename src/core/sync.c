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
 * (Tried and measured, and not kept: plain per-CPU adds in an rseq
 * sequence, and plain per-thread counts in records claimed on a thread's
 * first section, both with the reader's barrier moved to the writer as
 * membarrier(). Against the locked add, side by side, the first cost 2 ns
 * more per optimized hit here and the second 0.7 ns more: on this CPU a
 * locked add to a line it owns costs less than the code that avoids it.)
 *
 * A section is only ever as long as one signal handler invocation, one
 * jump-optimized hit or one return handler: a thread between its two traps
 * (running in a slot) is not in a section; slots are protected by their
 * own inflight counts (slots.c).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/rseq.h>
#include <time.h>

#include "internal.h"

#define KP_READ_SHARDS 64

static struct {
	atomic_ulong n[2];
} __attribute__((aligned(64))) kp_readers[KP_READ_SHARDS];
static atomic_uint kp_index;

/* The calling thread's shard. Async-signal-safe. */
ARCH_GPR_ONLY static unsigned int reader_shard(void)
{
	const char *tp = __builtin_thread_pointer();
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

/* Async-signal-safe. Return the token to pass to kp_read_unlock(). */
ARCH_GPR_ONLY int kp_read_lock(void)
{
	unsigned int shard = reader_shard();
	int idx = atomic_load(&kp_index) & 1;

	atomic_fetch_add(&kp_readers[shard].n[idx], 1);
	return (int)(shard << 1 | (unsigned int)idx);
}

/* Async-signal-safe. */
ARCH_GPR_ONLY void kp_read_unlock(int token)
{
	atomic_fetch_sub(&kp_readers[token >> 1].n[token & 1], 1);
}

static bool readers_gone(int idx)
{
	for (int s = 0; s < KP_READ_SHARDS; s++)
		if (atomic_load(&kp_readers[s].n[idx]) != 0)
			return false;
	return true;
}

static void wait_for_readers(int idx)
{
	struct timespec ts = { 0, 20000 };
	int spins = 0;

	while (!readers_gone(idx)) {
		/* Readers are one signal handler long: yield first, then nap. */
		if (++spins < 64)
			sched_yield();
		else
			nanosleep(&ts, NULL);
	}
}

/* Wait until every read-side section that began before the call ended.
 * kprobe_mutex held; must not be called from a handler. */
void kp_synchronize(void)
{
	unsigned int idx;

	kp_assert_locked();
	idx = atomic_load(&kp_index) & 1;
	atomic_store(&kp_index, idx ^ 1);
	wait_for_readers(idx);
	atomic_store(&kp_index, idx);
	wait_for_readers(idx ^ 1);
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
}
