// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Stress with exact accounting: threads hit a function without pause while
 * other threads register, unregister, enable and disable probes on the
 * same address (aggregation churn) and on its return. Round after round, a
 * kprobe and a kretprobe are registered while the workers are parked at a
 * known call count and unregistered after they park again: every call in
 * between was made while both were armed, so for each of them
 *	hits + nmissed == calls
 * exactly, whatever the churn did meanwhile. Bounded in rounds and calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <kprobes.h>

#include "testutil.h"

#define WORKERS 2
#define ROUNDS 150
#define CALLS_PER_ROUND 300	/* per worker */

static __attribute__((noinline, used)) long st_target(long x)
{
	__asm__ volatile("");
	return x * 7 + 3;
}
static long (*volatile st_fp)(long) = st_target;

struct worker {
	pthread_t tid;
	unsigned long calls;	/* written by the worker only */
	unsigned long wrong;
};

static struct worker workers[WORKERS];
static unsigned long round_target;	/* calls each worker makes, in all */
static bool done;
static unsigned long kp_hits, rp_hits, churn_hits;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		unsigned long goal = __atomic_load_n(&round_target,
						     __ATOMIC_ACQUIRE);

		if (w->calls >= goal) {
			if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
				return NULL;
			sched_yield();	/* parked at a known count */
			continue;
		}
		if (st_fp((long)w->calls) != (long)w->calls * 7 + 3)
			w->wrong++;
		__atomic_store_n(&w->calls, w->calls + 1, __ATOMIC_RELEASE);
	}
}

static void wait_parked(unsigned long goal)
{
	for (int i = 0; i < WORKERS; i++)
		while (__atomic_load_n(&workers[i].calls, __ATOMIC_ACQUIRE) <
		       goal)
			sched_yield();
}

static int kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	__atomic_fetch_add(&kp_hits, 1, __ATOMIC_RELAXED);
	return 0;
}

static int churn_pre(struct kprobe *p, struct pt_regs *regs)
{
	__atomic_fetch_add(&churn_hits, 1, __ATOMIC_RELAXED);
	return 0;
}

static int rp_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if ((long)regs_return_value(regs) % 7 == 3 % 7)
		__atomic_fetch_add(&rp_hits, 1, __ATOMIC_RELAXED);
	return 0;
}

/* Registers/unregisters one probe and disables/enables another, at the
 * same address as the measured ones, all the time. */
static void *churner(void *arg)
{
	static struct kprobe a = { .symbol_name = "st_target",
				   .pre_handler = churn_pre };
	static struct kprobe b = { .symbol_name = "st_target",
				   .pre_handler = churn_pre };
	unsigned long n = 0;

	if (register_kprobe(&b))
		return (void *)1;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		if (register_kprobe(&a) == 0)
			unregister_kprobe(&a);
		if (n++ % 2)
			disable_kprobe(&b);
		else
			enable_kprobe(&b);
	}
	unregister_kprobe(&b);
	return NULL;
}

static void test_exact_accounting_under_churn(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	pthread_t churn;
	unsigned long calls_before = 0;

	text_read(st_target, saved, KP_TEXT_LEN);
	round_target = 0;
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&workers[i].tid, NULL,
						worker_main, &workers[i]), 0);
	assert_int_equal(pthread_create(&churn, NULL, churner, NULL), 0);

	for (int r = 0; r < ROUNDS; r++) {
		struct kprobe kp = { .symbol_name = "st_target",
				     .pre_handler = kp_pre };
		struct kretprobe rp = { .kp.symbol_name = "st_target",
					.handler = rp_handler,
					.maxactive = WORKERS + 1 };
		unsigned long goal = calls_before + CALLS_PER_ROUND;
		unsigned long calls;

		/* Workers are parked at calls_before. */
		__atomic_store_n(&kp_hits, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&rp_hits, 0, __ATOMIC_RELAXED);
		assert_int_equal(register_kprobe(&kp), 0);
		assert_int_equal(register_kretprobe(&rp), 0);
		__atomic_store_n(&round_target, goal, __ATOMIC_RELEASE);
		wait_parked(goal);
		unregister_kretprobe(&rp);
		unregister_kprobe(&kp);

		calls = (unsigned long)WORKERS * CALLS_PER_ROUND;
		if (kp_hits + kp.nmissed != calls)
			fail_msg("round %d: kprobe %lu hits + %lu missed != %lu "
				 "calls made while armed", r, kp_hits,
				 kp.nmissed, calls);
		if (rp_hits + (unsigned long)rp.nmissed != calls)
			fail_msg("round %d: kretprobe %lu returns + %d missed "
				 "!= %lu calls made while armed", r, rp_hits,
				 rp.nmissed, calls);
		calls_before = goal;
	}
	__atomic_store_n(&done, true, __ATOMIC_RELEASE);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(workers[i].tid, NULL);
		assert_int_equal(workers[i].wrong, 0);
	}
	assert_null(({ void *ret; pthread_join(churn, &ret); ret; }));
	assert_true(churn_hits > 0);
	kp_check_text(st_target, saved, "after the stress rounds");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_accounting_under_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
