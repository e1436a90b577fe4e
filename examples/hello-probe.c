// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hello-probe: the README's quick start.
 *
 * Probes a static function of this program (found by name in .symtab) and
 * libc's atoi(), calls both a few times, and prints what the handlers saw.
 * A third probe shows the kernel's error-injection idiom: its pre_handler
 * makes a function return a chosen value without running it.
 *
 * Handlers run inside libkprobe's SIGTRAP handler, so they only store into
 * globals with atomic operations; main() does the printing afterwards.
 *
 * Exit status: 0 if every handler ran as often as expected, 1 otherwise.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kprobes.h>

#define noinline	__attribute__((noinline))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define NR_CALLS	3

/*
 * A kprobe and what its handlers saw; handlers find it with container_of.
 * The handlers write the counters, main() reads them: atomics only.
 */
struct counting_probe {
	struct kprobe kp;
	unsigned long pre_hits;
	unsigned long post_hits;
	unsigned long first_arg;	/* the last hit's, as a register */
};

static noinline int hello_add(int a, int b)
{
	return a + b;
}

static noinline int hello_answer(void)
{
	return 42;
}

/*
 * Call through volatile pointers: the compiler can neither inline the
 * probed functions nor assume what they return. For atoi() this matters
 * twice: at -O1 glibc's <stdlib.h> inlines atoi() into a strtol() call, and
 * taking its address is what makes the program call libc's own atoi.
 */
static int (*volatile add_fn)(int, int) = hello_add;
static int (*volatile answer_fn)(void) = hello_answer;
static int (*volatile atoi_fn)(const char *) = atoi;

/* Signal context: async-signal-safe, so atomics and nothing else. */
static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct counting_probe *cp = container_of(p, struct counting_probe, kp);

	__atomic_fetch_add(&cp->pre_hits, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&cp->first_arg, regs_get_argument(regs, 0),
			 __ATOMIC_RELAXED);
	return 0;	/* let the probed instruction run */
}

static void count_post(struct kprobe *p, struct pt_regs *regs,
		       unsigned long flags)
{
	struct counting_probe *cp = container_of(p, struct counting_probe, kp);

	__atomic_fetch_add(&cp->post_hits, 1, __ATOMIC_RELAXED);
}

/* Return 7 from hello_answer() without running it. */
static int override_pre(struct kprobe *p, struct pt_regs *regs)
{
	regs_set_return_value(regs, 7);
	override_function_with_return(regs);
	return 1;	/* we moved the instruction pointer: skip the insn */
}

static struct counting_probe add_probe = {
	.kp = {
		.symbol_name = "hello_add",	/* static, so from .symtab */
		.pre_handler = count_pre,
		.post_handler = count_post,
	},
};

static struct counting_probe atoi_probe = {
	.kp = {
		.symbol_name = "libc.so.6:atoi",
		.pre_handler = count_pre,
		.post_handler = count_post,
	},
};

static struct kprobe answer_probe = {
	/* .addr set in main(): probes can be placed by address too */
	.pre_handler = override_pre,
};

static unsigned long load(const unsigned long *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static int check(const char *what, unsigned long got, unsigned long want)
{
	if (got == want)
		return 0;
	fprintf(stderr, "hello-probe: %s: got %lu, expected %lu\n",
		what, got, want);
	return 1;
}

int main(void)
{
	static const char *const numbers[NR_CALLS] = { "12", "345", "6789" };
	struct kprobe *probes[] = {
		&add_probe.kp, &atoi_probe.kp, &answer_probe,
	};
	unsigned long add_pre, add_post, add_arg, atoi_pre, atoi_post, missed;
	int sum = 0, converted = 0, answer, i, ret, bad = 0;
	const char *last_string;

	answer_probe.addr = (kprobe_opcode_t *)hello_answer;

	/* All or nothing: on failure none of the three stays registered. */
	ret = register_kprobes(probes, 3);
	if (ret < 0) {
		fprintf(stderr, "hello-probe: register_kprobes: %s: %s\n",
			strerror(-ret), kprobe_last_error());
		return 1;
	}

	for (i = 0; i < NR_CALLS; i++) {
		sum += add_fn(i, 10);
		converted += atoi_fn(numbers[i]);
	}
	answer = answer_fn();

	/* Snapshot before printf() and kprobe_list() run. */
	add_pre = load(&add_probe.pre_hits);
	add_post = load(&add_probe.post_hits);
	add_arg = load(&add_probe.first_arg);
	atoi_pre = load(&atoi_probe.pre_hits);
	atoi_post = load(&atoi_probe.post_hits);
	last_string = (const char *)load(&atoi_probe.first_arg);
	missed = load(&add_probe.kp.nmissed) + load(&atoi_probe.kp.nmissed);

	/* An int argument is the register's low 32 bits. */
	printf("hello_add:    %lu pre, %lu post, last a=%d, sum %d\n",
	       add_pre, add_post, (int)add_arg, sum);
	/* Print the string only if the pointer is the one we passed. */
	printf("atoi:         %lu pre, %lu post, last \"%s\", total %d\n",
	       atoi_pre, atoi_post,
	       last_string == numbers[NR_CALLS - 1] ? last_string : "?",
	       converted);
	printf("hello_answer: returned %d under the probe\n", answer);
	printf("\nkprobe_list():\n");
	fflush(stdout);
	kprobe_list(stdout);

	unregister_kprobes(probes, 3);

	bad |= check("hello_add pre_handler hits", add_pre, NR_CALLS);
	bad |= check("hello_add post_handler hits", add_post, NR_CALLS);
	bad |= check("hello_add first argument", (unsigned int)add_arg,
		     NR_CALLS - 1);
	bad |= check("atoi pre_handler hits", atoi_pre, NR_CALLS);
	bad |= check("atoi post_handler hits", atoi_post, NR_CALLS);
	bad |= check("atoi first argument", (unsigned long)last_string,
		     (unsigned long)numbers[NR_CALLS - 1]);
	bad |= check("hello_answer() under the override", answer, 7);
	bad |= check("nmissed", missed, 0);

	/* Unregistered: the functions are themselves again. */
	add_fn(1, 2);
	bad |= check("hello_add hits after unregister",
		     load(&add_probe.pre_hits), NR_CALLS);
	bad |= check("hello_answer() after unregister", answer_fn(), 42);

	if (bad) {
		fprintf(stderr, "hello-probe: FAILED\n");
		return 1;
	}
	printf("\nhello-probe: OK\n");
	return 0;
}
