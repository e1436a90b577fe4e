// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Threads: hits in several threads at once are all counted (a hit in one
 * thread is not a recursion of a hit in another), and registering,
 * disabling and unregistering while other threads run through the probed
 * code never breaks what they compute.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <pthread.h>
#include <stdbool.h>

/* Calls per thread: a hit takes a few microseconds. */
#define NCALLS		100000
#define NTHREADS	2
#define CHURN_ROUNDS	300

static __attribute__((noinline, used)) long target_thr(long x)
{
	__asm__ volatile("");
	return x * 3 - 1;
}

static long (*volatile thr_fp)(long) = target_thr;

static struct kprobe kp, kp2;
static unsigned long hits, hits2;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* One counter per probe: a call that hits both counts once in each. */
	cnt_inc(p == &kp2 ? &hits2 : &hits);
	return 0;
}

struct worker {
	pthread_t tid;
	long calls;		/* 0: until stop is set */
	long done;
	long wrong;		/* results that were not x * 3 - 1 */
};

static bool stop;
/* Static so that teardown can stop the workers of a test that failed. */
static struct worker workers[NTHREADS];
static int nrunning;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0;; i++) {
		if (w->calls ? i >= w->calls :
		    __atomic_load_n(&stop, __ATOMIC_RELAXED))
			break;
		if (thr_fp(i) != i * 3 - 1)
			w->wrong++;
	}
	w->done = i;
	return NULL;
}

/* Start the workers, each making @calls calls (0: until told to stop). */
static void start_workers(long calls)
{
	struct worker *w = workers;

	__atomic_store_n(&stop, false, __ATOMIC_RELAXED);
	for (nrunning = 0; nrunning < NTHREADS; nrunning++) {
		memset(&w[nrunning], 0, sizeof(w[nrunning]));
		w[nrunning].calls = calls;
		assert_int_equal(pthread_create(&w[nrunning].tid, NULL,
						worker_main, &w[nrunning]), 0);
	}
}

static void stop_workers(void)
{
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	while (nrunning > 0)
		pthread_join(workers[--nrunning].tid, NULL);
}

/* Stop the workers; check their results; return the number of calls. */
static long join_workers(void)
{
	long total = 0;
	int i;

	stop_workers();
	for (i = 0; i < NTHREADS; i++) {
		kp_check_eq(workers[i].wrong, 0,
			    "wrong results of target_thr in thread %d (of "
			    "%ld calls)", i, workers[i].done);
		total += workers[i].done;
	}
	return total;
}

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(&kp2, 0, sizeof(kp2));
	kp.addr = (kprobe_opcode_t *)target_thr;
	kp.pre_handler = count_pre;
	kp2.addr = (kprobe_opcode_t *)target_thr;
	kp2.pre_handler = count_pre;
	cnt_set(&hits, 0);
	cnt_set(&hits2, 0);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp, &kp2 };

	stop_workers();
	kp_cleanup(all, 2);
	return 0;
}

static void test_concurrent_hits(void **state)
{
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_thr)");
	start_workers(NCALLS);
	join_workers();
	kp_check_eq(cnt_get(&hits), (unsigned long)NTHREADS * NCALLS,
		    "pre_handler calls from %d threads calling the probed "
		    "function %d times each", NTHREADS, NCALLS);
	kp_check_eq(kp_nmissed(&kp), 0,
		    "p->nmissed after concurrent hits in different threads "
		    "(they are not recursion)");
	unregister_kprobe(&kp);
	kp_test_done();
}

/* Register and unregister over and over under threads that keep hitting. */
static void test_register_churn(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	long calls;
	int i;

	text_read(target_thr, saved, KP_TEXT_LEN);
	start_workers(0);
	for (i = 0; i < CHURN_ROUNDS; i++) {
		kp.addr = (kprobe_opcode_t *)target_thr;
		kp_check_ret(register_kprobe(&kp), 0,
			     "register_kprobe(), round %d", i);
		if (i % 2) {
			kp2.addr = (kprobe_opcode_t *)target_thr;
			kp_check_ret(register_kprobe(&kp2), 0,
				     "register the second probe, round %d",
				     i);
			unregister_kprobe(&kp2);
		}
		unregister_kprobe(&kp);
	}
	calls = join_workers();
	kp_check_text(target_thr, saved, "after %d register/unregister "
		      "rounds under load", CHURN_ROUNDS);
	kp_check(cnt_get(&hits) <= (unsigned long)calls,
		 "hits (%lu) cannot exceed calls (%ld)", cnt_get(&hits),
		 calls);
	kp_check(cnt_get(&hits2) <= (unsigned long)calls,
		 "hits of the second probe (%lu) cannot exceed calls (%ld)",
		 cnt_get(&hits2), calls);
	kp_test_done();
}

static void test_disable_churn(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	unsigned long before;
	int i;

	text_read(target_thr, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_thr)");
	start_workers(0);
	for (i = 0; i < CHURN_ROUNDS; i++) {
		kp_check_ret(disable_kprobe(&kp), 0, "disable, round %d", i);
		kp_check_ret(enable_kprobe(&kp), 0, "enable, round %d", i);
	}
	join_workers();

	/* Still a working probe after all that. */
	before = cnt_get(&hits);
	kp_check_eq(thr_fp(1), 2, "target_thr(1)");
	kp_check_eq(cnt_get(&hits), before + 1,
		    "hits of one call after %d disable/enable rounds",
		    CHURN_ROUNDS);
	unregister_kprobe(&kp);
	kp_check_text(target_thr, saved, "after unregistering");
	kp_test_done();
}

#define THREAD_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		THREAD_TEST(test_concurrent_hits),
		THREAD_TEST(test_register_churn),
		THREAD_TEST(test_disable_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
