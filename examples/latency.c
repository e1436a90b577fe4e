// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * latency: measure how long a function takes, with a kretprobe.
 *
 *   latency [SYMBOL [N]]
 *
 * The workload calls sort_small() N times (default 1000): it fills a small
 * array and sorts it with libc's qsort(). SYMBOL (default "sort_small") is
 * the function measured; "libc.so.6:qsort" measures qsort() alone.
 *
 * The entry handler stores a timestamp in the call's ri->data; the return
 * handler reads it, and adds the duration to a count, a total and a
 * maximum. Both handlers are async-signal-safe: clock_gettime() is, and the
 * totals are atomics. What is measured includes part of the probe's own
 * cost (the trap at the entry, the trampoline at the return).
 *
 * Exit status: 0; 1 if the probe could not be registered, or if a symbol
 * the workload calls exactly N times did not count N calls.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kprobes.h>

#define DEFAULT_SYMBOL	"sort_small"
#define DEFAULT_CALLS	1000
#define NELEM		64

/* Written by the handlers: atomics only. */
static uint64_t count, total_ns, max_ns;

/* At the entry, in signal context. */
static int lat_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	clock_gettime(CLOCK_MONOTONIC, (struct timespec *)ri->data);
	return 0;
}

/* At the return. */
static int lat_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	const struct timespec *start = (const struct timespec *)ri->data;
	struct timespec now;
	uint64_t ns, max;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)(now.tv_sec - start->tv_sec) * 1000000000u +
	     (uint64_t)(now.tv_nsec - start->tv_nsec);

	__atomic_fetch_add(&count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&total_ns, ns, __ATOMIC_RELAXED);
	max = __atomic_load_n(&max_ns, __ATOMIC_RELAXED);
	while (ns > max &&
	       !__atomic_compare_exchange_n(&max_ns, &max, ns, 0,
					    __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	return 0;
}

static struct kretprobe rp = {
	.handler = lat_return,
	.entry_handler = lat_entry,
	.data_size = sizeof(struct timespec),
};

/* Through a pointer the compiler cannot see through: a real call of
 * libc's qsort() each time. */
static void (*volatile qsort_fn)(void *, size_t, size_t,
				 int (*)(const void *, const void *)) = qsort;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The measured function: out of line, and called through a pointer. */
static __attribute__((noinline, used)) int sort_small(unsigned int seed)
{
	int v[NELEM];
	unsigned int i;

	for (i = 0; i < NELEM; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = (int)(seed >> 8);
	}
	qsort_fn(v, NELEM, sizeof(v[0]), cmp_int);
	return v[0];
}

static int (*volatile sort_small_fn)(unsigned int) = sort_small;

static long workload(long n)
{
	long i, sum = 0;

	for (i = 0; i < n; i++)
		sum += sort_small_fn((unsigned int)i);
	return sum;
}

int main(int argc, char **argv)
{
	const char *symbol = argc > 1 ? argv[1] : DEFAULT_SYMBOL;
	long n = DEFAULT_CALLS, sum;
	uint64_t seen, total, max;
	char *end;
	int ret, missed;

	if (argc > 3 || (argc > 1 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: %s [SYMBOL [N]]\n", argv[0]);
		return 2;
	}
	if (argc > 2) {
		errno = 0;
		n = strtol(argv[2], &end, 0);
		if (errno || *end || n < 0) {
			fprintf(stderr, "%s: bad count '%s'\n", argv[0],
				argv[2]);
			return 2;
		}
	}

	rp.kp.symbol_name = symbol;
	ret = register_kretprobe(&rp);
	if (ret < 0) {
		fprintf(stderr, "%s: cannot return-probe %s: %s (%d)\n",
			argv[0], symbol, strerror(-ret), ret);
		if (*kprobe_last_error())
			fprintf(stderr, "%s: %s\n", argv[0],
				kprobe_last_error());
		return 1;
	}

	sum = workload(n);

	unregister_kretprobe(&rp);
	seen = __atomic_load_n(&count, __ATOMIC_RELAXED);
	total = __atomic_load_n(&total_ns, __ATOMIC_RELAXED);
	max = __atomic_load_n(&max_ns, __ATOMIC_RELAXED);
	missed = __atomic_load_n(&rp.nmissed, __ATOMIC_RELAXED);

	printf("%s at %p: %" PRIu64 " calls measured, %d missed, during %ld "
	       "calls of sort_small() (sum %ld)\n", symbol, (void *)rp.kp.addr,
	       seen, missed, n, sum);
	if (seen)
		printf("latency: mean %" PRIu64 " ns, max %" PRIu64 " ns\n",
		       total / seen, max);

	if ((!strcmp(symbol, DEFAULT_SYMBOL) ||
	     !strcmp(symbol, "libc.so.6:qsort")) && seen != (uint64_t)n) {
		fprintf(stderr, "%s: expected %ld calls measured\n", argv[0],
			n);
		return 1;
	}
	return 0;
}
