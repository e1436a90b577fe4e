// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program for test_preload to trace: it knows nothing of libkprobe.
 * work(i, name) for i = 0..4, then the sum on stdout.
 */
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) int work(int a, const char *name)
{
	return a * 2 + (int)strlen(name);
}

int main(void)
{
	long s = 0;

	for (int i = 0; i < 5; i++)
		s += work(i, i % 2 ? "odd" : "even");
	printf("sum=%ld\n", s);
	return 0;
}
