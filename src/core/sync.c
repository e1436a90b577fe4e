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
#include <stdint.h>
#include <time.h>

#include "internal.h"

/* The reader side is inline, in internal.h: kp_read_lock(). */
struct kp_reader_shard kp_readers[KP_READ_SHARDS];
atomic_uint kp_index;

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
