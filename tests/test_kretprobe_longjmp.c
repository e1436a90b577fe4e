// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * longjmp() and siglongjmp() out of return-probed functions. The calls they
 * skip never return through the trampoline; their instances must be
 * reclaimed, not leaked: with maxactive = 2, ten jumps out and then a
 * normal call must still be return-probed, with nmissed 0. A function that
 * catches the jump itself (its setjmp() is below a skipped call) must still
 * return through its own instance.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <signal.h>

#define JUMPS 10

enum jump_mode {
	NO_JUMP,
	JUMP_LONGJMP,		/* longjmp(*jump_env) */
	JUMP_SIGLONGJMP,	/* siglongjmp(sig_env) */
	JUMP_FROM_SIGNAL,	/* raise(SIGUSR1); its handler siglongjmps */
};

static enum jump_mode jump_mode;
static jmp_buf *jump_env;
static sigjmp_buf sig_env;
static unsigned long helper_returns;	/* the helper returned: no jump */

static void usr1_handler(int sig)
{
	siglongjmp(sig_env, 1);
}

static __attribute__((noinline, used)) void lj_helper(long x)
{
	switch (jump_mode) {
	case JUMP_LONGJMP:
		longjmp(*jump_env, 1);
	case JUMP_SIGLONGJMP:
		siglongjmp(sig_env, 1);
	case JUMP_FROM_SIGNAL:
		raise(SIGUSR1);
		break;
	case NO_JUMP:
		break;
	}
	cnt_inc(&helper_returns);
}

static void (*volatile lj_helper_fp)(long) = lj_helper;

/* Return-probed: calls the helper, which may jump out of it. */
static __attribute__((noinline, used)) long lj_func(long x)
{
	lj_helper_fp(x);
	return x * 5 + 2;
}

static long (*volatile lj_func_fp)(long) = lj_func;

/* Two return-probed levels (depth 2 calls depth 1); the innermost calls
 * the helper. */
static __attribute__((noinline, used)) long lj_rec(long depth)
{
	long (*volatile self)(long) = lj_rec;

	if (depth > 1)
		return self(depth - 1) + 10;
	lj_helper_fp(depth);
	return 100;
}

static long (*volatile lj_rec_fp)(long) = lj_rec;

/* Return-probed too: catches the longjmp out of lj_func(), which it calls,
 * then returns normally. */
static __attribute__((noinline, used)) long lj_catcher(long x)
{
	jmp_buf env;
	jmp_buf *volatile prev = jump_env;

	jump_env = &env;
	if (setjmp(env) == 0)
		lj_func_fp(x);		/* jumps back here */
	jump_env = prev;
	return x + 1000;
}

static long (*volatile lj_catcher_fp)(long) = lj_catcher;

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kretprobe rp, rp_catcher;
static unsigned long ret_calls, catcher_ret_calls;
static long last_rax, catcher_last_rax;

static int count_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	last_rax = regs_return_value(regs);
	cnt_inc(&ret_calls);
	return 0;
}

static int catcher_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	catcher_last_rax = regs_return_value(regs);
	cnt_inc(&catcher_ret_calls);
	return 0;
}

static int setup(void **state)
{
	memset(&rp, 0, sizeof(rp));
	memset(&rp_catcher, 0, sizeof(rp_catcher));
	cnt_set(&ret_calls, 0);
	cnt_set(&catcher_ret_calls, 0);
	cnt_set(&helper_returns, 0);
	last_rax = catcher_last_rax = 0;
	jump_mode = NO_JUMP;
	jump_env = NULL;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kretprobe *all[] = { &rp, &rp_catcher };

	jump_mode = NO_JUMP;
	if (!kp_test_passed)
		unregister_kretprobes(all, 2);
	kp_test_passed = 0;
	return 0;
}

static int rp_nmissed(const struct kretprobe *r)
{
	return __atomic_load_n(&r->nmissed, __ATOMIC_RELAXED);
}

static void register_rp(struct kretprobe *r, void *fn, kretprobe_handler_t h,
			int maxactive)
{
	memset(r, 0, sizeof(*r));
	r->kp.addr = (kprobe_opcode_t *)fn;
	r->handler = h;
	r->maxactive = maxactive;
	kp_check_ret(register_kretprobe(r), 0, "register_kretprobe() with "
		     "maxactive %d", maxactive);
}

/*
 * After @jumps calls that were jumped out of: a normal call of lj_func()
 * (from this same frame, as a program would) is return-probed and nothing
 * was missed.
 */
static void check_after_jumps(const char *how)
{
	int i;

	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls for %d "
		    "calls of lj_func left with %s (they never returned)",
		    JUMPS, how);
	jump_mode = NO_JUMP;
	for (i = 0; i < 3; i++)
		kp_check_eq(lj_func_fp(7 + i), 37 + 5 * i, "lj_func(%d) after "
			    "%d calls left with %s", 7 + i, JUMPS, how);
	kp_check_eq(cnt_get(&ret_calls), 3, "return handler calls of 3 "
		    "normal calls after %d calls left with %s, maxactive 2: "
		    "the instances of the calls jumped out of must be "
		    "reclaimed", JUMPS, how);
	kp_check_eq(last_rax, 47, "regs_return_value() in the return handler "
		    "of lj_func(9)");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed after %d calls left with "
		    "%s and 3 normal calls, maxactive 2", JUMPS, how);
}

static void test_longjmp(void **state)
{
	static jmp_buf env;
	static volatile int jumped;

	register_rp(&rp, lj_func, count_ret, 2);
	jumped = 0;
	jump_mode = JUMP_LONGJMP;
	jump_env = &env;
	while (jumped < JUMPS) {
		if (setjmp(env) == 0) {
			lj_func_fp(jumped);
			jump_mode = NO_JUMP;
			kp_check(0, "lj_func() returned although its helper "
				 "longjmps");
		}
		jumped++;
	}
	kp_check_eq(cnt_get(&helper_returns), 0, "helper returns");
	check_after_jumps("longjmp()");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_siglongjmp(void **state)
{
	static volatile int jumped;

	register_rp(&rp, lj_func, count_ret, 2);
	jumped = 0;
	jump_mode = JUMP_SIGLONGJMP;
	while (jumped < JUMPS) {
		if (sigsetjmp(sig_env, 1) == 0) {
			lj_func_fp(jumped);
			jump_mode = NO_JUMP;
			kp_check(0, "lj_func() returned although its helper "
				 "siglongjmps");
		}
		jumped++;
	}
	check_after_jumps("siglongjmp()");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/* The usual way out of a signal handler: siglongjmp() from it, while the
 * interrupted function's return is pending. */
static void test_siglongjmp_from_signal_handler(void **state)
{
	static volatile int jumped;
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = usr1_handler;
	sigemptyset(&sa.sa_mask);
	kp_check_eq(sigaction(SIGUSR1, &sa, &old), 0, "sigaction(SIGUSR1)");

	register_rp(&rp, lj_func, count_ret, 2);
	jumped = 0;
	jump_mode = JUMP_FROM_SIGNAL;
	while (jumped < JUMPS) {
		if (sigsetjmp(sig_env, 1) == 0) {
			lj_func_fp(jumped);
			jump_mode = NO_JUMP;
			kp_check(0, "lj_func() returned although its helper "
				 "raised SIGUSR1, whose handler siglongjmps");
		}
		jumped++;
	}
	sigaction(SIGUSR1, &old, NULL);
	check_after_jumps("siglongjmp() from a signal handler");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/* Two return-probed levels skipped by each jump: 20 instances of a
 * kretprobe with maxactive 2; then both levels of a normal call probed. */
static void test_longjmp_two_levels(void **state)
{
	static jmp_buf env;
	static volatile int jumped;

	kp_check_eq(lj_rec_fp(2), 110, "lj_rec(2) unprobed");
	register_rp(&rp, lj_rec, count_ret, 2);
	jumped = 0;
	jump_mode = JUMP_LONGJMP;
	jump_env = &env;
	while (jumped < JUMPS) {
		if (setjmp(env) == 0) {
			lj_rec_fp(2);
			jump_mode = NO_JUMP;
			kp_check(0, "lj_rec(2) returned although its helper "
				 "longjmps");
		}
		jumped++;
	}
	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls for calls "
		    "that were jumped out of");
	jump_mode = NO_JUMP;
	kp_check_eq(lj_rec_fp(2), 110, "lj_rec(2) after %d jumps out of two "
		    "return-probed levels", JUMPS);
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls of a "
		    "normal lj_rec(2) (two levels) after %d jumps out of two "
		    "levels, maxactive 2", JUMPS);
	kp_check_eq(last_rax, 110, "regs_return_value() of the outer level, "
		    "which returns last");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/*
 * lj_catcher() (return-probed) calls lj_func() (return-probed), which
 * longjmps back into lj_catcher(): lj_func's instance is abandoned above
 * lj_catcher's, which must still return through its trampoline to its
 * caller with its value.
 */
static void test_longjmp_caught_by_probed_caller(void **state)
{
	int i;

	register_rp(&rp, lj_func, count_ret, 2);
	register_rp(&rp_catcher, lj_catcher, catcher_ret, 2);
	jump_mode = JUMP_LONGJMP;
	for (i = 0; i < JUMPS; i++)
		kp_check_eq(lj_catcher_fp(i), 1000 + i, "lj_catcher(%d), "
			    "return-probed, after catching a longjmp out of "
			    "return-probed lj_func()", i);
	kp_check_eq(cnt_get(&catcher_ret_calls), JUMPS, "return handler "
		    "calls of lj_catcher");
	kp_check_eq(catcher_last_rax, 1000 + JUMPS - 1, "regs_return_value() "
		    "in lj_catcher's return handler");
	kp_check_eq(rp_nmissed(&rp_catcher), 0, "lj_catcher's nmissed");
	check_after_jumps("longjmp() to a return-probed caller");
	unregister_kretprobe(&rp_catcher);
	unregister_kretprobe(&rp);
	kp_test_done();
}

#define LJ_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LJ_TEST(test_longjmp),
		LJ_TEST(test_siglongjmp),
		LJ_TEST(test_siglongjmp_from_signal_handler),
		LJ_TEST(test_longjmp_two_levels),
		LJ_TEST(test_longjmp_caught_by_probed_caller),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
