// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-thread event rings (evbuf.h).
 *
 * A ring is claimed by a thread at its first record (a compare-and-swap on
 * the owner's tid) and kept until the flusher finds the thread gone and the
 * ring empty. Its producer is that thread alone, and a signal handler on it
 * nests: reserve advances head at once, so a nested reserve lands after,
 * and each record carries its own committed flag. The consumer reads up to
 * the first record not yet committed and then advances tail. head and tail
 * only grow; their difference is what the ring holds.
 *
 * Records are 8-byte aligned and never wrap: one that would cross the end
 * is preceded by a padding record that fills it.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "evbuf.h"
#include "internal.h"

struct rec_hdr {
	uint32_t len;		/* with this header, a multiple of 8 */
	uint32_t state;		/* REC_* */
};

enum { REC_RESERVED, REC_COMMITTED, REC_PAD };

/*
 * The producer's and the consumer's words live on lines of their own: the
 * flusher writing tail must not take away the line the hot path writes
 * head in. The producer re-reads tail only when its last view of it
 * leaves too little room.
 */
struct kp_evbuf {
	atomic_int owner;	/* tid, 0 when free */
	char comm[16];
	uint8_t *data;
	_Atomic uint64_t head __attribute__((aligned(64)));	/* producer */
	uint64_t tail_seen;	/* the producer's last view of tail */
	/* Records the full ring turned away: the producer's own count, on
	 * its own line (one shared counter written at every drop by a
	 * program outrunning the writer cost more than the rest of a
	 * record, and the flusher reading it pulled the line away). */
	uint64_t ndropped;
	_Atomic uint64_t tail __attribute__((aligned(64)));	/* consumer */
} __attribute__((aligned(64)));

static struct kp_evbuf *bufs;
static unsigned int nbufs;
static size_t bufsize;
/* Drops with no ring to count them in, and those of rings given back. */
static atomic_ulong dropped __attribute__((aligned(64)));

static __thread struct kp_evbuf *mine __attribute__((tls_model("initial-exec")));

int kp_evbuf_init(unsigned int n, size_t size)
{
	uint8_t *mem;

	if (!n || size < 4096 || (size & (size - 1)))
		return -EINVAL;
	bufs = aligned_alloc(64, n * sizeof(*bufs));
	if (!bufs)
		return -ENOMEM;
	memset(bufs, 0, n * sizeof(*bufs));
	/* Untouched pages cost nothing: a thread's ring becomes memory as
	 * it fills. */
	mem = mmap(NULL, (size_t)n * size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		free(bufs);
		bufs = NULL;
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++)
		bufs[i].data = mem + (size_t)i * size;
	bufsize = size;
	nbufs = n;
	return 0;
}

/*
 * The hit path, from here to kp_ev_commit(), is ARCH_GPR_ONLY and calls
 * no libc (system calls through arch_syscall()), so that the tracer's
 * handlers can take libkprobe's light path.
 */
ARCH_GPR_ONLY static struct kp_evbuf *claim(void)
{
	int tid = kp_gettid();

	for (unsigned int i = 0; i < nbufs; i++) {
		int expected = 0;

		if (atomic_load_explicit(&bufs[i].owner, memory_order_relaxed))
			continue;
		if (!atomic_compare_exchange_strong(&bufs[i].owner, &expected,
						    tid))
			continue;
		/* PR_GET_NAME: a system call, once per thread. */
		for (size_t k = 0; k < sizeof(bufs[i].comm); k++)
			bufs[i].comm[k] = '\0';
		arch_syscall(SYS_prctl, PR_GET_NAME, (long)bufs[i].comm, 0);
		return &bufs[i];
	}
	return NULL;
}

ARCH_GPR_ONLY const char *kp_ev_comm(void)
{
	if (!mine)
		mine = claim();
	return mine ? mine->comm : "?";
}

ARCH_GPR_ONLY void *kp_ev_reserve(size_t len)
{
	struct kp_evbuf *b = mine;
	uint64_t head, tail, off, need;
	struct rec_hdr *h;

	if (!b)
		b = mine = claim();
	if (!b) {
		atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
		return NULL;
	}
	len = (sizeof(*h) + len + 7) & ~(size_t)7;
	head = atomic_load_explicit(&b->head, memory_order_relaxed);
	tail = b->tail_seen;
	off = head & (bufsize - 1);
	/* Pad to the end first if the record would cross it. */
	need = off + len > bufsize ? bufsize - off + len : len;
	if (head + need - tail > bufsize) {
		tail = b->tail_seen = atomic_load_explicit(&b->tail,
							   memory_order_acquire);
		if (len > bufsize / 2 || head + need - tail > bufsize) {
			kp_own_inc(&b->ndropped);
			return NULL;
		}
	}
	/* Claim the space before writing in it: a nested record goes after. */
	atomic_store_explicit(&b->head, head + need, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (need != len) {
		struct rec_hdr *pad = (struct rec_hdr *)(b->data + off);

		pad->len = (uint32_t)(bufsize - off);
		__atomic_store_n(&pad->state, REC_PAD, __ATOMIC_RELEASE);
		off = 0;
	}
	h = (struct rec_hdr *)(b->data + off);
	h->len = (uint32_t)len;
	h->state = REC_RESERVED;
	return h + 1;
}

ARCH_GPR_ONLY void kp_ev_commit(void *rec)
{
	struct rec_hdr *h = (struct rec_hdr *)rec - 1;

	__atomic_store_n(&h->state, REC_COMMITTED, __ATOMIC_RELEASE);
}

unsigned long kp_ev_dropped(void)
{
	unsigned long n = atomic_load(&dropped);

	for (unsigned int i = 0; i < nbufs; i++)
		n += __atomic_load_n(&bufs[i].ndropped, __ATOMIC_RELAXED);
	return n;
}

/* Does any ring hold a record not yet drained? Async-signal-safe. */
bool kp_ev_pending(void)
{
	for (unsigned int i = 0; i < nbufs; i++)
		if (atomic_load(&bufs[i].owner) &&
		    atomic_load(&bufs[i].head) != atomic_load(&bufs[i].tail))
			return true;
	return false;
}

void kp_ev_drain(void (*fn)(const void *rec, size_t len, int tid,
			    const char *comm, void *arg), void *arg)
{
	for (unsigned int i = 0; i < nbufs; i++) {
		struct kp_evbuf *b = &bufs[i];
		int tid = atomic_load(&b->owner);
		uint64_t tail, head;

		if (!tid)
			continue;
		tail = atomic_load_explicit(&b->tail, memory_order_relaxed);
		head = atomic_load_explicit(&b->head, memory_order_acquire);
		while (tail < head) {
			struct rec_hdr *h = (struct rec_hdr *)
				(b->data + (tail & (bufsize - 1)));
			uint32_t state = __atomic_load_n(&h->state,
							 __ATOMIC_ACQUIRE);

			if (state == REC_RESERVED)
				break;	/* being written: next time */
			if (state == REC_COMMITTED)
				fn(h + 1, h->len - sizeof(*h), tid, b->comm,
				   arg);
			tail += h->len;
		}
		atomic_store_explicit(&b->tail, tail, memory_order_release);
		/* A thread that exited leaves its ring to the pool. */
		if (tail == head && syscall(SYS_tgkill, getpid(), tid, 0) &&
		    errno == ESRCH) {
			atomic_fetch_add(&dropped, __atomic_exchange_n(
				&b->ndropped, 0, __ATOMIC_RELAXED));
			atomic_store(&b->head, 0);
			atomic_store(&b->tail, 0);
			b->tail_seen = 0;
			atomic_store(&b->owner, 0);
		}
	}
}

void kp_evbuf_atfork_child(void)
{
	for (unsigned int i = 0; i < nbufs; i++) {
		atomic_store(&bufs[i].head, 0);
		atomic_store(&bufs[i].tail, 0);
		bufs[i].tail_seen = 0;
		bufs[i].ndropped = 0;
		atomic_store(&bufs[i].owner, 0);
	}
	atomic_store(&dropped, 0);
	mine = NULL;
}
