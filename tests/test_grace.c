// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Grace periods: unregister_kprobe() and unregister_kretprobe() return only
 * after every handler of the probe that was running in another thread has
 * returned, whichever way the hit came (the jump-optimized detour, one trap
 * when boosted, the post_handler's second trap, the return trampoline).
 * Meson runs this file twice: with the per-thread records (the default)
 * and with the shards they fall back to (LIBKPROBE_SECTIONS_SHARDED=1).
 *
 * A hitter thread blocks inside a handler; another thread unregisters. The
 * unregistering thread notes, when its call returns, whether the handler
 * had finished: it must have. (The main thread lets the unregistering one
 * run for a while before it releases the handler, so that an unregister
 * that does not wait is caught returning early; nothing here depends on
 * how long that is when the library is right.)
 *
 * More threads than there are records (4,096) hit a probe one after the
 * other: the records of those that exited are taken back, every hit is
 * counted, and unregistering still waits for a running handler.
 *
 * And a thread that leaves from inside a handler, by pthread_exit(), holds
 * up no unregistration for ever: its record shows it inside a section, and
 * the writer finds its thread gone. (The shards cannot tell whose count is
 * left: that case runs with the records only.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <kprobes.h>

#include "testutil.h"

long t_add(long a, long b);
static long (*volatile add_fp)(long, long) = t_add;

static int inside, release, handler_done, calling, returned, seen_done;
static bool exit_in_handler;

static void set(int *v, int x)
{
	__atomic_store_n(v, x, __ATOMIC_SEQ_CST);
}

static int get(const int *v)
{
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

/* Every handler here: say we are in, wait to be let go, say we are done. */
static void block(void)
{
	if (get(&inside))
		return;		/* only the first hit blocks */
	set(&inside, 1);
	if (exit_in_handler)
		pthread_exit(NULL);
	while (!get(&release))
		sched_yield();
	set(&handler_done, 1);
}

static int pre_block(struct kprobe *p, struct pt_regs *regs)
{
	block();
	return 0;
}

static int pre_nop(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

static unsigned long counted;

static int pre_count(struct kprobe *p, struct pt_regs *regs)
{
	__atomic_fetch_add(&counted, 1, __ATOMIC_RELAXED);
	return 0;
}

static void post_block(struct kprobe *p, struct pt_regs *regs,
		       unsigned long flags)
{
	block();
}

static int ret_block(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	block();
	return 0;
}

static struct kprobe kp;
static struct kretprobe rp;
static bool is_ret;

static void *hitter(void *arg)
{
	add_fp(2, 3);
	return NULL;
}

static void *unregisterer(void *arg)
{
	set(&calling, 1);
	if (is_ret)
		unregister_kretprobe(&rp);
	else
		unregister_kprobe(&kp);
	set(&seen_done, get(&handler_done));
	set(&returned, 1);
	return NULL;
}

static void nap_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000 };

	nanosleep(&ts, NULL);
}

static void reset(void)
{
	set(&inside, 0);
	set(&release, 0);
	set(&handler_done, 0);
	set(&calling, 0);
	set(&returned, 0);
	set(&seen_done, 0);
	exit_in_handler = false;
}

/* The probe is registered: block a hitter in it, unregister, check. */
static void unregister_while_inside(const char *what)
{
	pthread_t h, u;

	assert_int_equal(pthread_create(&h, NULL, hitter, NULL), 0);
	while (!get(&inside))
		sched_yield();
	assert_int_equal(pthread_create(&u, NULL, unregisterer, NULL), 0);
	while (!get(&calling))
		sched_yield();
	nap_ms(50);
	kp_check(!get(&returned),
		      "%s: unregister returned while a handler still ran",
		      what);
	set(&release, 1);
	pthread_join(h, NULL);
	pthread_join(u, NULL);
	kp_check(get(&seen_done),
		      "%s: unregister returned before the running handler "
		      "finished", what);
}

static void register_kp(kprobe_pre_handler_t pre,
			kprobe_post_handler_t post)
{
	reset();
	is_ret = false;
	kp = (struct kprobe){ .addr = (kprobe_opcode_t *)t_add,
			      .pre_handler = pre, .post_handler = post };
	assert_int_equal(register_kprobe(&kp), 0);
}

static void test_optimized(void **state)
{
	kprobe_optimization(1);
	register_kp(pre_block, NULL);
	unregister_while_inside(kprobe_optimized(&kp) ? "jump-optimized"
						      : "boosted");
}

static void test_boosted(void **state)
{
	kprobe_optimization(0);
	register_kp(pre_block, NULL);
	unregister_while_inside("boosted");
	kprobe_optimization(1);
}

static void test_post_handler(void **state)
{
	register_kp(pre_nop, post_block);
	unregister_while_inside("post_handler");
}

static void test_return_handler(void **state)
{
	reset();
	is_ret = true;
	rp = (struct kretprobe){ .kp.addr = (kprobe_opcode_t *)t_add,
				 .handler = ret_block, .maxactive = 4 };
	assert_int_equal(register_kretprobe(&rp), 0);
	unregister_while_inside("return handler");
}

#define MANY_THREADS	4200	/* more than libkprobe's 4,096 records */

static void test_more_threads_than_records(void **state)
{
	for (int opt = 1; opt >= 0; opt--) {
		kprobe_optimization(opt);
		register_kp(pre_count, NULL);
		__atomic_store_n(&counted, 0, __ATOMIC_RELAXED);
		for (int i = 0; i < MANY_THREADS; i++) {
			pthread_t h;

			assert_int_equal(pthread_create(&h, NULL, hitter,
							NULL), 0);
			pthread_join(h, NULL);
		}
		kp_check_eq(__atomic_load_n(&counted, __ATOMIC_RELAXED) +
			    kp_nmissed(&kp), MANY_THREADS,
			    "hits + nmissed of %d threads, one call each "
			    "(jump optimization %s)", MANY_THREADS,
			    opt ? "on" : "off");
		unregister_kprobe(&kp);
	}
	kprobe_optimization(1);
	/* And the grace period still waits for a running handler. */
	register_kp(pre_block, NULL);
	unregister_while_inside("after 4,200 threads");
}

/* A hitter leaves from inside the handler: unregistering must not wait
 * for it for ever (a hang here is the failure; meson's timeout ends it). */
static void exit_inside(bool optimize)
{
	pthread_t h;

	kprobe_optimization(optimize);
	register_kp(pre_block, NULL);
	exit_in_handler = true;
	assert_int_equal(pthread_create(&h, NULL, hitter, NULL), 0);
	pthread_join(h, NULL);
	assert_true(get(&inside));
	unregister_kprobe(&kp);
	kprobe_optimization(1);
	/* And the probes still work for everyone else. */
	register_kp(pre_nop, NULL);
	assert_int_equal(add_fp(2, 3), 5);
	unregister_kprobe(&kp);
}

static void test_thread_exit_in_handler(void **state)
{
	if (getenv("LIBKPROBE_SECTIONS_SHARDED"))
		skip();
	exit_inside(true);
	exit_inside(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optimized),
		cmocka_unit_test(test_boosted),
		cmocka_unit_test(test_post_handler),
		cmocka_unit_test(test_return_handler),
		cmocka_unit_test(test_more_threads_than_records),
		cmocka_unit_test(test_thread_exit_in_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
