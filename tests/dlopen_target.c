// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * For test_preload: a program that loads a library after it started
 * (dlopen), calls into it, unloads it, and does it all again. It waits,
 * each time, until a tracer has put its probe on dl_target (the first byte
 * becomes an int3 or a jmp), up to 10 s: the tracer arms probes on a newly
 * loaded library from its own thread, a few milliseconds later.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static int armed(long (*fn)(long))
{
	uint8_t b = *(volatile uint8_t *)(uintptr_t)fn;

	return b == 0xcc || b == 0xe9;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	for (int round = 0; round < 2; round++) {
		void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		long (*fn)(long), s = 0;

		if (!h)
			return 1;
		fn = (long (*)(long))dlsym(h, "dl_target");
		for (int i = 0; i < 10000 && !armed(fn); i++)
			usleep(1000);
		for (long i = 0; i < 3; i++)
			s += fn(i + 10 * round);
		printf("round %d: %ld\n", round, s);
		dlclose(h);
	}
	return 0;
}
