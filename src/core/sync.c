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
 * A section is only ever as long as one signal handler invocation: a thread
 * between its two traps (running in a slot) is not in a section; slots are
 * protected by their own inflight counts (slots.c).
 */
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

static atomic_ulong kp_readers[2];
static atomic_uint kp_index;

/* Async-signal-safe. Return the index to pass to kp_read_unlock(). */
int kp_read_lock(void)
{
	int idx = atomic_load(&kp_index) & 1;

	atomic_fetch_add(&kp_readers[idx], 1);
	return idx;
}

/* Async-signal-safe. */
void kp_read_unlock(int idx)
{
	atomic_fetch_sub(&kp_readers[idx], 1);
}

static void wait_for_readers(int idx)
{
	struct timespec ts = { 0, 20000 };
	int spins = 0;

	while (atomic_load(&kp_readers[idx]) != 0) {
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
 * be open, and counts left by the parent's other threads would never drain. */
void kp_sync_atfork_child(void)
{
	atomic_store(&kp_readers[0], 0);
	atomic_store(&kp_readers[1], 0);
}
