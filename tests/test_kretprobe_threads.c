// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Return probes and threads. A thread that ends inside a return-probed
 * function (pthread_exit() from a function it calls, or pthread_cancel()
 * while it waits in one) never returns through the trampoline: its
 * instances must be reclaimed when it ends, and glibc's forced unwind must
 * get through the swapped return address. And two threads calling one
 * return-probed function at once: every call probed, every value right,
 * the entry and return handlers of a call sharing that call's ri->data.
 * And signals, sent from another thread, whose handler calls the
 * return-probed function in the middle of the main thread's hits.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROUNDS		10
#define NCALLS		100000
#define NTHREADS	2

enum end_mode {
	RETURN,		/* the helper returns */
	EXIT,		/* the helper calls pthread_exit() */
	WAIT,		/* the helper waits in pause() until cancelled */
};

static enum end_mode end_mode;
static unsigned long waiting;		/* the helper is in its pause() loop */
static unsigned long helper_returns;

static __attribute__((noinline, used)) void th_helper(long x)
{
	switch (end_mode) {
	case EXIT:
		pthread_exit((void *)(x + 0x100));
	case WAIT:
		cnt_set(&waiting, 1);
		for (;;)
			pause();	/* a cancellation point */
	case RETURN:
		break;
	}
	cnt_inc(&helper_returns);
}

static void (*volatile th_helper_fp)(long) = th_helper;

/* Return-probed; the threads end inside it. */
static __attribute__((noinline, used)) long th_func(long x)
{
	th_helper_fp(x);
	return x * 9 + 4;
}

static long (*volatile th_func_fp)(long) = th_func;

/* Return-probed; two threads hammer it. */
static __attribute__((noinline, used)) long th_hot(long x)
{
	__asm__ volatile("");
	return x * 7 - 3;
}

static long (*volatile th_hot_fp)(long) = th_hot;

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kretprobe rp;
static unsigned long ret_calls, entry_calls, bad_data;
static long last_rax;

static int count_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	last_rax = regs_return_value(regs);
	cnt_inc(&ret_calls);
	return 0;
}

/* The entry handler keeps the argument in ri->data; the return handler
 * checks the return value against it: instances mixed up between threads
 * or calls show as bad_data. */
static int hot_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(long *)ri->data = regs_get_argument(regs, 0);
	cnt_inc(&entry_calls);
	return 0;
}

static int hot_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	long x = *(long *)ri->data;

	if ((long)regs_return_value(regs) != x * 7 - 3)
		cnt_inc(&bad_data);
	cnt_inc(&ret_calls);
	return 0;
}

static int setup(void **state)
{
	memset(&rp, 0, sizeof(rp));
	cnt_set(&ret_calls, 0);
	cnt_set(&entry_calls, 0);
	cnt_set(&bad_data, 0);
	cnt_set(&helper_returns, 0);
	cnt_set(&waiting, 0);
	last_rax = 0;
	end_mode = RETURN;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	end_mode = RETURN;
	if (!kp_test_passed)
		unregister_kretprobe(&rp);
	kp_test_passed = 0;
	return 0;
}

static int rp_nmissed(const struct kretprobe *r)
{
	return __atomic_load_n(&r->nmissed, __ATOMIC_RELAXED);
}

static void register_rp(void *fn, kretprobe_handler_t h, int maxactive)
{
	memset(&rp, 0, sizeof(rp));
	rp.kp.addr = (kprobe_opcode_t *)fn;
	rp.handler = h;
	rp.maxactive = maxactive;
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe() with "
		     "maxactive %d", maxactive);
}

static pid_t thread_tid;

static void *th_func_thread(void *arg)
{
	__atomic_store_n(&thread_tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELAXED);
	th_func_fp((long)arg);
	return (void *)-1L;	/* not reached unless the helper returned */
}

/*
 * After pthread_join(): pthread_join() returns once the kernel has
 * cleared the thread's id word, which can be before the task itself is
 * gone. libkprobe takes a thread for gone when that word is cleared (it
 * asks the kernel where the word is: PR_GET_TID_ADDRESS) or when the task
 * is gone. Where the kernel cannot say where the word is (qemu-user 7.2
 * answers EINVAL) only the second holds, and the task can outlive the
 * join by a while: wait for it then, so that what is checked is the
 * library's promise, not a race.
 */
static void wait_thread_gone(void)
{
	pid_t tid = __atomic_load_n(&thread_tid, __ATOMIC_RELAXED);
	void *word = NULL;
	long tries;

	if (prctl(PR_GET_TID_ADDRESS, &word, 0, 0, 0) == 0 && word)
		return;
	for (tries = 0; tries < 100000000 &&
	     syscall(SYS_tgkill, getpid(), tid, 0) == 0; tries++)
		sched_yield();
	kp_check(syscall(SYS_tgkill, getpid(), tid, 0) == -1 &&
		 errno == ESRCH, "thread %d still exists after its join", tid);
}

/* After ROUNDS threads that ended inside th_func(): a call from main is
 * return-probed and nothing was missed. */
static void check_after_ends(const char *how)
{
	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls for %d "
		    "calls of th_func in threads that %s inside it (they never "
		    "returned)", ROUNDS, how);
	end_mode = RETURN;
	kp_check_eq(th_func_fp(5), 49, "th_func(5) from main after %d "
		    "threads %s inside it", ROUNDS, how);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls of "
		    "th_func(5) from main after %d threads %s inside it, "
		    "maxactive 2: their instances must be reclaimed", ROUNDS,
		    how);
	kp_check_eq(last_rax, 49, "regs_return_value() of th_func(5)");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed after %d threads %s "
		    "inside th_func, maxactive 2", ROUNDS, how);
}

static void test_pthread_exit_inside(void **state)
{
	pthread_t t;
	void *res;
	long i;

	register_rp(th_func, count_ret, 2);
	end_mode = EXIT;
	for (i = 0; i < ROUNDS; i++) {
		kp_check_eq(pthread_create(&t, NULL, th_func_thread,
					   (void *)i), 0, "pthread_create");
		kp_check_eq(pthread_join(t, &res), 0, "pthread_join");
		wait_thread_gone();
		kp_check_eq(res, i + 0x100, "the value of thread %ld, which "
			    "called pthread_exit() inside return-probed "
			    "th_func()", i);
	}
	kp_check_eq(cnt_get(&helper_returns), 0, "helper returns");
	check_after_ends("called pthread_exit()");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_pthread_cancel_inside(void **state)
{
	struct timespec tick = { 0, 1000000 };
	pthread_t t;
	void *res;
	long i;
	int ms;

	register_rp(th_func, count_ret, 2);
	end_mode = WAIT;
	for (i = 0; i < ROUNDS; i++) {
		cnt_set(&waiting, 0);
		kp_check_eq(pthread_create(&t, NULL, th_func_thread,
					   (void *)i), 0, "pthread_create");
		for (ms = 0; !cnt_get(&waiting) && ms < 10000; ms++)
			nanosleep(&tick, NULL);
		if (!cnt_get(&waiting)) {
			/* Do not leave it running into the next test. */
			pthread_cancel(t);
			pthread_join(t, NULL);
			kp_check(0, "thread %ld did not reach th_func's helper "
				 "within 10 s", i);
		}
		kp_check_eq(pthread_cancel(t), 0, "pthread_cancel");
		kp_check_eq(pthread_join(t, &res), 0, "pthread_join");
		wait_thread_gone();
		kp_check(res == PTHREAD_CANCELED, "thread %ld, cancelled "
			 "while waiting inside return-probed th_func(), ends "
			 "with PTHREAD_CANCELED (got %p)", i, res);
	}
	check_after_ends("were cancelled");
	unregister_kretprobe(&rp);
	kp_test_done();
}

struct worker {
	pthread_t tid;
	long done;
	long wrong;		/* results that were not x * 7 - 3 */
};

static struct worker workers[NTHREADS];

static void *hot_thread(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0; i < NCALLS; i++)
		if (th_hot_fp(i) != i * 7 - 3)
			w->wrong++;
	w->done = i;
	return NULL;
}

static void test_concurrent_calls(void **state)
{
	int i, n;

	memset(&rp, 0, sizeof(rp));
	rp.kp.addr = (kprobe_opcode_t *)th_hot;
	rp.handler = hot_ret;
	rp.entry_handler = hot_entry;
	rp.data_size = sizeof(long);
	rp.maxactive = 4 * NTHREADS;
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(th_hot)");
	memset(workers, 0, sizeof(workers));
	for (n = 0; n < NTHREADS; n++)
		if (pthread_create(&workers[n].tid, NULL, hot_thread,
				   &workers[n]))
			break;
	for (i = 0; i < n; i++)
		pthread_join(workers[i].tid, NULL);
	kp_check_eq(n, NTHREADS, "threads started");
	for (i = 0; i < NTHREADS; i++)
		kp_check_eq(workers[i].wrong, 0, "wrong results of th_hot in "
			    "thread %d (of %ld calls)", i, workers[i].done);
	kp_check_eq(cnt_get(&entry_calls), (unsigned long)NTHREADS * NCALLS,
		    "entry handler calls from %d threads calling th_hot %d "
		    "times each", NTHREADS, NCALLS);
	kp_check_eq(cnt_get(&ret_calls), (unsigned long)NTHREADS * NCALLS,
		    "return handler calls from %d threads calling th_hot %d "
		    "times each (maxactive %d)", NTHREADS, NCALLS,
		    rp.maxactive);
	kp_check_eq(cnt_get(&bad_data), 0, "return handler calls whose "
		    "return value did not match the argument the entry "
		    "handler stored in ri->data");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed (each thread has at most "
		    "one pending return, maxactive is %d)", rp.maxactive);
	unregister_kretprobe(&rp);
	kp_test_done();
}

/*
 * Signals landing anywhere in a hit, whose handler calls the same
 * return-probed function. The kretprobe is alone and has no
 * entry_handler, so where its entry is jump-optimized it takes the direct
 * way (docs/design.md, "Return probes"): a signal then lands in that
 * routine or its C as often as anywhere, and the nested call's entry and
 * return run inside the interrupted one. Both must go on as if nothing
 * happened, and every call's return be probed once. No timing: a thread
 * sends SIGUSR2 while the main thread makes its calls.
 */
#define NEST_MIN	1000
#define NEST_MAX	20000
static volatile int nest_stop;
static unsigned long nest_calls, nest_wrong;

static sem_t nest_handled;

static void nest_handler(int sig)
{
	long x = (long)cnt_get(&nest_calls);

	if (th_hot_fp(x) != x * 7 - 3)
		cnt_inc(&nest_wrong);
	cnt_inc(&nest_calls);
	sem_post(&nest_handled);	/* async-signal-safe */
}

/* One signal at a time, the next once the last was handled (asleep
 * meanwhile, so that a loaded machine wakes it soon), at most NEST_MAX:
 * the main thread always gets on between two. */
static void *nest_signaller(void *arg)
{
	pid_t tid = *(pid_t *)arg;

	for (unsigned long n = 0; n < NEST_MAX && !nest_stop; n++) {
		syscall(SYS_tgkill, getpid(), tid, SIGUSR2);
		while (sem_wait(&nest_handled) && errno == EINTR)
			;
	}
	return NULL;
}

static void test_signals_nest(void **state)
{
	struct sigaction sa = { .sa_handler = nest_handler }, old;
	pid_t self = (pid_t)syscall(SYS_gettid);
	unsigned long wrong = 0;
	pthread_t sender;
	long calls;

	cnt_set(&nest_calls, 0);
	cnt_set(&nest_wrong, 0);
	sem_init(&nest_handled, 0, 0);
	rp.kp.addr = (kprobe_opcode_t *)th_hot;
	rp.handler = count_ret;
	rp.maxactive = 4;
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(th_hot)");
	kp_check_ret(sigaction(SIGUSR2, &sa, &old), 0, "sigaction(SIGUSR2)");
	nest_stop = 0;
	kp_check_ret(pthread_create(&sender, NULL, nest_signaller, &self), 0,
		     "pthread_create(the signaller)");
	while (!cnt_get(&nest_calls))	/* the signals have begun */
		sched_yield();
	/* At least NCALLS calls, and on until NEST_MIN signals were
	 * handled: this machine may lend the signaller's CPU to others. */
	for (calls = 0; calls < 1000L * NCALLS &&
	     (calls < NCALLS || cnt_get(&nest_calls) < NEST_MIN); calls++)
		if (th_hot_fp(calls) != calls * 7 - 3)
			wrong++;
	nest_stop = 1;
	sem_post(&nest_handled);	/* if it waits for one more */
	pthread_join(sender, NULL);
	sem_destroy(&nest_handled);
	sigaction(SIGUSR2, &old, NULL);
	kp_check_eq(wrong, 0, "wrong results of th_hot in %ld calls "
		    "interrupted by signals", calls);
	kp_check_eq(cnt_get(&nest_wrong), 0, "wrong results of th_hot in "
		    "the signal handler");
	kp_check(cnt_get(&nest_calls) >= NEST_MIN, "only %lu signals "
		 "handled during %ld calls", cnt_get(&nest_calls), calls);
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed (at most two pending "
		    "returns, maxactive 4)");
	/* A signal handler's call made while our return handler runs on
	 * the thread is a recursive hit, as an interrupt's in the kernel:
	 * counted in rp.kp.nmissed, not probed. Nothing else is lost. */
	kp_check_eq(cnt_get(&ret_calls) +
		    __atomic_load_n(&rp.kp.nmissed, __ATOMIC_RELAXED),
		    calls + cnt_get(&nest_calls),
		    "return handler calls and recursive misses: %ld calls "
		    "and %lu in signal handlers (optimized entry: %d)",
		    calls, cnt_get(&nest_calls), kprobe_optimized(&rp.kp));
	unregister_kretprobe(&rp);
	kp_test_done();
}

#define THREAD_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		THREAD_TEST(test_pthread_exit_inside),
		THREAD_TEST(test_pthread_cancel_inside),
		THREAD_TEST(test_concurrent_calls),
		THREAD_TEST(test_signals_nest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
