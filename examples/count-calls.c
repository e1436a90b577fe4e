// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * count-calls: count the calls of one function while a workload runs.
 *
 *   count-calls [SYMBOL [N]]
 *
 * SYMBOL is "sym" or "obj:sym" (default "libc.so.6:atoi"); the workload
 * calls libc's atoi() N times (default 1000). Probing a function atoi()
 * itself calls shows that too: "count-calls libc.so.6:strtol".
 *
 * Exit status: 0; 1 if the probe could not be registered, or if the default
 * symbol was probed and did not count exactly N calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kprobes.h>

#define DEFAULT_SYMBOL	"libc.so.6:atoi"
#define DEFAULT_CALLS	1000

/* At -O1 glibc inlines atoi() into strtol(); call libc's own through a
 * pointer the compiler cannot see through. */
static int (*volatile atoi_fn)(const char *) = atoi;

static unsigned long hits;	/* written by the handler: atomics only */

/* Signal context: async-signal-safe, so one atomic add and nothing else. */
static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
	return 0;
}

static struct kprobe kp = {
	.pre_handler = count_pre,
};

static long workload(long n)
{
	static const char *const inputs[] = { "1", "-20", "300", "4000", "x" };
	long i, sum = 0;

	for (i = 0; i < n; i++)
		sum += atoi_fn(inputs[i % 5]);
	return sum;
}

int main(int argc, char **argv)
{
	const char *symbol = argc > 1 ? argv[1] : DEFAULT_SYMBOL;
	long n = DEFAULT_CALLS, sum;
	unsigned long seen, missed;
	char *end;
	int ret;

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

	kp.symbol_name = symbol;
	ret = register_kprobe(&kp);
	if (ret < 0) {
		/* The errno says what kind of failure; the message says
		 * which (e.g. the candidates of an ambiguous name). */
		fprintf(stderr, "%s: cannot probe %s: %s (%d)\n", argv[0],
			symbol, strerror(-ret), ret);
		if (*kprobe_last_error())
			fprintf(stderr, "%s: %s\n", argv[0],
				kprobe_last_error());
		return 1;
	}

	sum = workload(n);

	seen = __atomic_load_n(&hits, __ATOMIC_RELAXED);
	missed = __atomic_load_n(&kp.nmissed, __ATOMIC_RELAXED);
	unregister_kprobe(&kp);

	printf("%s at %p: %lu hits, %lu missed, during %ld calls of atoi() "
	       "(sum %ld)\n", symbol, (void *)kp.addr, seen, missed, n, sum);

	if (!strcmp(symbol, DEFAULT_SYMBOL) && seen != (unsigned long)n) {
		fprintf(stderr, "%s: expected %ld hits\n", argv[0], n);
		return 1;
	}
	return 0;
}
