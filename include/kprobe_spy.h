/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Spies for unit tests, built on kprobes: count the calls of any function
 * of the code under test (static functions too, which the linker's --wrap
 * cannot reach), capture their integer arguments, and make chosen calls
 * return a chosen value without running the body
 * (override_function_with_return()).
 *
 *	static struct kprobe_spy spy;
 *
 *	kprobe_spy_init(&spy, "parse_header");
 *	spy.fail_from = 3;		// the 3rd call on...
 *	spy.fail_count = 1;		// ...once...
 *	spy.fail_value = (unsigned long)-1;	// ...returns -1
 *	assert_int_equal(kprobe_spy_attach(&spy), 0);
 *	... run the code under test ...
 *	assert_int_equal(kprobe_spy_calls(&spy), 4);
 *	assert_int_equal(spy.args[0][1], 42);	// 1st call, 2nd argument
 *	kprobe_spy_detach(&spy);
 *
 * The spy's handler runs in signal context: it only touches the spy with
 * atomics. Header-only; link with libkprobe. See docs/spies.md.
 */
#ifndef LIBKPROBE_KPROBE_SPY_H
#define LIBKPROBE_KPROBE_SPY_H

#include <stddef.h>
#include <string.h>

#include <kprobes.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KPROBE_SPY_CALLS	16	/* calls whose arguments are kept */
#define KPROBE_SPY_ARGS		6	/* integer arguments kept per call */

struct kprobe_spy {
	struct kprobe kp;
	/* Calls number fail_from .. fail_from + fail_count - 1 (1-based;
	 * fail_from 0: none) return fail_value without running the body.
	 * fail_count 0 with fail_from set: every call from fail_from on. */
	unsigned long fail_from;
	unsigned long fail_count;
	unsigned long fail_value;
	/* Filled by the spy. */
	unsigned long calls;
	unsigned long failed;
	unsigned long args[KPROBE_SPY_CALLS][KPROBE_SPY_ARGS];
};

/* Async-signal-safe: the kprobe's pre_handler. */
static inline int kprobe_spy_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kprobe_spy *spy = (struct kprobe_spy *)p;
	unsigned long n = __atomic_add_fetch(&spy->calls, 1,
					     __ATOMIC_RELAXED);

	if (n <= KPROBE_SPY_CALLS)
		for (unsigned int i = 0; i < KPROBE_SPY_ARGS; i++)
			spy->args[n - 1][i] = regs_get_argument(regs, i);
	if (spy->fail_from && n >= spy->fail_from &&
	    (!spy->fail_count || n < spy->fail_from + spy->fail_count)) {
		__atomic_fetch_add(&spy->failed, 1, __ATOMIC_RELAXED);
		regs_set_return_value(regs, spy->fail_value);
		override_function_with_return(regs);
		return 1;	/* the body does not run */
	}
	return 0;
}

/* Ready @spy for the function @symbol ("sym" or "obj:sym"). */
static inline void kprobe_spy_init(struct kprobe_spy *spy, const char *symbol)
{
	memset(spy, 0, sizeof(*spy));
	spy->kp.symbol_name = symbol;
	spy->kp.pre_handler = kprobe_spy_pre;
}

/* Ready @spy for the function at @fn: the very function the code under
 * test calls (e.g. malloc as the program resolves it, which may be a
 * sanitizer's interceptor rather than libc's). */
static inline void kprobe_spy_init_addr(struct kprobe_spy *spy, void *fn)
{
	memset(spy, 0, sizeof(*spy));
	spy->kp.addr = (kprobe_opcode_t *)fn;
	spy->kp.pre_handler = kprobe_spy_pre;
}

/* Start spying. Return 0 or register_kprobe()'s negative errno. */
static inline int kprobe_spy_attach(struct kprobe_spy *spy)
{
	return register_kprobe(&spy->kp);
}

/* Stop spying; the function runs as before. The counts stay readable. */
static inline void kprobe_spy_detach(struct kprobe_spy *spy)
{
	unregister_kprobe(&spy->kp);
	if (spy->kp.symbol_name)
		spy->kp.addr = NULL;	/* so that it can be attached again */
}

static inline unsigned long kprobe_spy_calls(const struct kprobe_spy *spy)
{
	return __atomic_load_n(&spy->calls, __ATOMIC_RELAXED);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBKPROBE_KPROBE_SPY_H */
