// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * For bench_trace: hot(i, 2) called N times (argv[1], default 10 million);
 * the ns per call on stderr, the sum on stdout. hot() is a few
 * instructions, long enough for a jump-optimized probe at its entry, and
 * built with -pg too when uftrace is to see it (bench_trace says).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) long hot(long a, long b)
{
	long x = a * 3;

	__asm__ volatile("" : "+r"(x));
	x ^= b;
	__asm__ volatile("" : "+r"(x));
	return x + b;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000, s = 0;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		s += hot(i, 2);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "ns/call %.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 +
					   (t1.tv_nsec - t0.tv_nsec)) / n);
	printf("%ld\n", s);
	return 0;
}
