// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Recursion: a handler that calls a probed function. The nested hit must not
 * run handlers; it counts in that probe's nmissed, the nested function still
 * computes its result, and nothing deadlocks. Recursion of the program
 * itself (a probed function calling itself) is not that: every level hits.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

static __attribute__((noinline, used)) int target_outer(int x)
{
	__asm__ volatile("");
	return x + 3;
}

static __attribute__((noinline, used)) int target_inner(int x)
{
	__asm__ volatile("");
	return x * 7;
}

static __attribute__((noinline, used)) long target_fact(long n)
{
	long (*volatile self)(long) = target_fact;

	return n <= 1 ? 1 : n * self(n - 1);
}

static int (*volatile outer_fp)(int) = target_outer;
static int (*volatile inner_fp)(int) = target_inner;
static long (*volatile fact_fp)(long) = target_fact;

static struct kprobe kp_outer, kp_inner;

static unsigned long outer_hits, inner_hits, post_hits;
static long nested_result;	/* what the nested call returned */

static int setup(void **state)
{
	memset(&kp_outer, 0, sizeof(kp_outer));
	memset(&kp_inner, 0, sizeof(kp_inner));
	cnt_set(&outer_hits, 0);
	cnt_set(&inner_hits, 0);
	cnt_set(&post_hits, 0);
	nested_result = 0;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp_outer, &kp_inner };

	kp_cleanup(all, 2);
	return 0;
}

static int count_inner_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&inner_hits);
	return 0;
}

/* Calls the probed target_inner from inside a handler. */
static int outer_calls_inner_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&outer_hits);
	__atomic_store_n(&nested_result, inner_fp(6), __ATOMIC_RELAXED);
	return 0;
}

static void test_handler_calls_other_probe(void **state)
{
	int i;

	kp_outer.addr = (kprobe_opcode_t *)target_outer;
	kp_outer.pre_handler = outer_calls_inner_pre;
	kp_inner.addr = (kprobe_opcode_t *)target_inner;
	kp_inner.pre_handler = count_inner_pre;
	kp_check_ret(register_kprobe(&kp_inner), 0, "register target_inner");
	kp_check_ret(register_kprobe(&kp_outer), 0, "register target_outer");

	/* A direct call of target_inner is an ordinary hit. */
	kp_check_eq(inner_fp(2), 14, "target_inner(2)");
	kp_check_eq(cnt_get(&inner_hits), 1, "hits of target_inner, direct");

	for (i = 0; i < 10; i++)
		kp_check_eq(outer_fp(i), i + 3, "target_outer(%d)", i);
	kp_check_eq(cnt_get(&outer_hits), 10, "hits of target_outer");
	kp_check_eq(__atomic_load_n(&nested_result, __ATOMIC_RELAXED), 42,
		    "target_inner(6) called from target_outer's handler "
		    "must still return 42");
	kp_check_eq(cnt_get(&inner_hits), 1,
		    "target_inner's handler runs for calls made from another "
		    "probe's handler (nested hits must not run handlers)");
	kp_check_eq(kp_nmissed(&kp_inner), 10,
		    "target_inner's nmissed after 10 nested hits");
	kp_check_eq(kp_nmissed(&kp_outer), 0, "target_outer's nmissed");

	/* After the nesting, the inner probe still works normally. */
	kp_check_eq(inner_fp(3), 21, "target_inner(3) after the nesting");
	kp_check_eq(cnt_get(&inner_hits), 2, "hits of target_inner, direct");

	unregister_kprobe(&kp_outer);
	unregister_kprobe(&kp_inner);
	kp_test_done();
}

static int outer_calls_outer_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&outer_hits);
	__atomic_store_n(&nested_result, outer_fp(100), __ATOMIC_RELAXED);
	return 0;
}

/* A handler that calls its own probed function. */
static void test_handler_calls_itself(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(target_outer, saved, KP_TEXT_LEN);
	kp_outer.addr = (kprobe_opcode_t *)target_outer;
	kp_outer.pre_handler = outer_calls_outer_pre;
	kp_check_ret(register_kprobe(&kp_outer), 0, "register target_outer");

	kp_check_eq(outer_fp(1), 4, "target_outer(1)");
	kp_check_eq(outer_fp(2), 5, "target_outer(2)");
	kp_check_eq(cnt_get(&outer_hits), 2,
		    "handler runs: only the two direct calls");
	kp_check_eq(__atomic_load_n(&nested_result, __ATOMIC_RELAXED), 103,
		    "target_outer(100) called from its own handler");
	kp_check_eq(kp_nmissed(&kp_outer), 2,
		    "nmissed after two self-nested hits");

	unregister_kprobe(&kp_outer);
	kp_check_text(target_outer, saved, "after unregistering");
	kp_test_done();
}

static void inner_calling_post(struct kprobe *p, struct pt_regs *regs,
			       unsigned long flags)
{
	cnt_inc(&post_hits);
	__atomic_store_n(&nested_result, inner_fp(5), __ATOMIC_RELAXED);
}

/* The same from a post_handler. */
static void test_post_handler_calls_probe(void **state)
{
	kp_outer.addr = (kprobe_opcode_t *)target_outer;
	kp_outer.post_handler = inner_calling_post;
	kp_inner.addr = (kprobe_opcode_t *)target_inner;
	kp_inner.pre_handler = count_inner_pre;
	kp_check_ret(register_kprobe(&kp_inner), 0, "register target_inner");
	kp_check_ret(register_kprobe(&kp_outer), 0, "register target_outer");

	kp_check_eq(outer_fp(1), 4, "target_outer(1)");
	kp_check_eq(cnt_get(&post_hits), 1, "post_handler runs");
	kp_check_eq(__atomic_load_n(&nested_result, __ATOMIC_RELAXED), 35,
		    "target_inner(5) called from a post_handler");
	kp_check_eq(cnt_get(&inner_hits), 0,
		    "target_inner's handler runs for a call from a "
		    "post_handler");
	kp_check_eq(kp_nmissed(&kp_inner), 1, "target_inner's nmissed");

	unregister_kprobe(&kp_outer);
	unregister_kprobe(&kp_inner);
	kp_test_done();
}

static int count_outer_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&outer_hits);
	return 0;
}

/* The program's own recursion: handlers are done before the body recurses,
 * so every level is an ordinary hit. */
static void test_program_recursion(void **state)
{
	kp_outer.addr = (kprobe_opcode_t *)target_fact;
	kp_outer.pre_handler = count_outer_pre;
	kp_check_ret(register_kprobe(&kp_outer), 0, "register target_fact");
	kp_check_eq(fact_fp(10), 3628800, "target_fact(10)");
	kp_check_eq(cnt_get(&outer_hits), 10,
		    "hits of target_fact for fact(10): one per level");
	kp_check_eq(kp_nmissed(&kp_outer), 0,
		    "nmissed for the program's own recursion");
	unregister_kprobe(&kp_outer);
	kp_test_done();
}

#define RECURSION_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RECURSION_TEST(test_handler_calls_other_probe),
		RECURSION_TEST(test_handler_calls_itself),
		RECURSION_TEST(test_post_handler_calls_probe),
		RECURSION_TEST(test_program_recursion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
