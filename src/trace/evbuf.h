/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Event buffers of the tracer: one ring per thread, written by handlers
 * (signal context included) without locks or allocation, drained by one
 * flusher thread. A record that does not fit is dropped and counted.
 */
#ifndef LIBKPROBE_TRACE_EVBUF_H
#define LIBKPROBE_TRACE_EVBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The thread's buffer, its name (for $comm and the output) and id. */
struct kp_evbuf;

/* Once, before any probe (allocates @n rings of @size bytes, a power of
 * two). Return 0 or -ENOMEM. */
int kp_evbuf_init(unsigned int n, size_t size);

/*
 * kp_ev_reserve() - room for a record of @len bytes in the calling
 * thread's ring; NULL (and the record counted as dropped) if there is
 * none. kp_ev_commit() publishes it. A signal handler may record between
 * the two: its record lands after ours and waits for our commit.
 * Async-signal-safe.
 */
void *kp_ev_reserve(size_t len);
void kp_ev_commit(void *rec);

/* The calling thread's name, as cached in its ring ("?" when it has
 * none). Async-signal-safe. */
const char *kp_ev_comm(void);

/*
 * kp_ev_drain() - pass every committed record of every ring to @fn, in
 * each ring's order, and free them. The flusher's; one caller at a time.
 * Rings of threads that exited go back to the pool once empty.
 */
void kp_ev_drain(void (*fn)(const void *rec, size_t len, int tid,
			    const char *comm, void *arg), void *arg);

/* Records dropped so far (no ring free, or the ring full). */
unsigned long kp_ev_dropped(void);

/* Does any ring hold a record not yet drained? Async-signal-safe. */
bool kp_ev_pending(void);

/* In a fork()ed child: every ring empty and free again. */
void kp_evbuf_atfork_child(void);

/*
 * Counters that only their own thread writes, kept exact without a locked
 * instruction: a signal handler on the same thread can only come between
 * instructions, so on x86_64 one add (or one unlocked cmpxchg) to memory
 * is as good as an atomic one; elsewhere a relaxed atomic (on ppc64 a
 * reservation loop without a barrier). Async-signal-safe.
 */
static inline void kp_own_inc(uint64_t *p)
{
#if defined(__x86_64__)
	__asm__ volatile("addq $1, %0" : "+m"(*p));
#else
	__atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
#endif
}

/* *@p = max(*@p, @v). */
static inline void kp_own_max(uint64_t *p, uint64_t v)
{
	uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > old) {
#if defined(__x86_64__)
		bool done;

		__asm__ volatile("cmpxchgq %3, %1"
				 : "=@ccz"(done), "+m"(*p), "+a"(old)
				 : "r"(v));
		if (done)
			return;
#else
		if (__atomic_compare_exchange_n(p, &old, v, true,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return;
#endif
	}
}

#endif
