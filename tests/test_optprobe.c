// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Jump optimization: which probes are optimized and which are not, that an
 * optimized hit leaves the program exactly as it was (vector and x87
 * state, errno), that handlers' changes to ip and sp are honoured, that a
 * handler hitting a probe is a miss, that the switch works both ways, that
 * a fault in the detour is seen at the original address, and that
 * optimizing and unoptimizing while other threads run the code never
 * shows them half a jump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#ifndef __x86_64__
/* Jump optimization is x86_64's only (docs/design.md). */
#include "testutil.h"
KP_SKIP_MAIN("jump optimization is x86_64's only (docs/design.md)")
#else

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fenv.h>
#include <cmocka.h>
#include <cpuid.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <kprobes.h>

#include "testutil.h"

long t_opt_add(long x);
long t_opt_other(long x);
long t_opt_fault(const long *p);
extern char t_opt_fault_load[];
long t_opt_jumpin(long n);
long t_opt_indirect(long x);
void t_ymm(const uint8_t *in, uint8_t *out);
extern char t_ymm_site[];

/* Calls through a volatile pointer: the compiler cannot inline them. */
static long (*volatile add_fp)(long) = t_opt_add;

static unsigned long hits;
static struct kprobe kp;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return 0;
}

static void setup_probe(void *addr, kprobe_pre_handler_t pre)
{
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)addr;
	kp.pre_handler = pre;
	cnt_set(&hits, 0);
}

static void test_optimized_and_listed(void **state)
{
	char buf[4096];
	FILE *f;

	setup_probe((void *)t_opt_add, count_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_opt_add)");
	kp_check(kprobe_optimized(&kp), "a pre_handler-only probe on 7 bytes "
		 "of straight-line code is jump-optimized");
	kp_check_eq(text_byte((void *)t_opt_add), 0xe9,
		    "first byte of an optimized probe's site: jmp rel32");
	kp_check_eq(add_fp(41), 42, "t_opt_add(41) through the detour");
	kp_check_eq(cnt_get(&hits), 1, "hits through the detour");
	f = fmemopen(buf, sizeof(buf), "w");
	kprobe_list(f);
	fclose(f);
	kp_check(strstr(buf, "t_opt_add+0x0") &&
		 strstr(strstr(buf, "t_opt_add+0x0"), "[OPTIMIZED]"),
		 "the listing says [OPTIMIZED]:\n%s", buf);
	unregister_kprobe(&kp);
	kp_check_eq(text_byte((void *)t_opt_add), 0x48,
		    "first byte after unregistering: the original mov");
	kp_check_eq(add_fp(1), 2, "t_opt_add(1) unprobed");
	kp_check_eq(cnt_get(&hits), 1, "no hit after unregistering");
}

static void post(struct kprobe *p, struct pt_regs *regs, unsigned long f)
{
}

/* What cannot be optimized stays a breakpoint and still works. */
static void test_not_optimized(void **state)
{
	struct kprobe kp2;

	setup_probe((void *)t_opt_jumpin, count_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_opt_jumpin)");
	kp_check(!kprobe_optimized(&kp), "a range a loop jumps into is not "
		 "optimized");
	kp_check_eq(t_opt_jumpin(3), 3, "t_opt_jumpin(3) probed");
	kp_check_eq(cnt_get(&hits), 1, "hits on t_opt_jumpin");
	unregister_kprobe(&kp);

	setup_probe((void *)t_opt_indirect, count_pre);
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(t_opt_indirect)");
	kp_check(!kprobe_optimized(&kp), "a function with an indirect jump "
		 "is not optimized");
	kp_check_eq(t_opt_indirect(5), 6, "t_opt_indirect(5) probed");
	unregister_kprobe(&kp);

	/* A post_handler needs the second trap: an aggregated probe with
	 * one takes the optimization away, and gives it back when it goes. */
	setup_probe((void *)t_opt_add, count_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_opt_add)");
	kp_check(kprobe_optimized(&kp), "t_opt_add optimized");
	memset(&kp2, 0, sizeof(kp2));
	kp2.addr = (kprobe_opcode_t *)t_opt_add;
	kp2.post_handler = post;
	kp_check_ret(register_kprobe(&kp2), 0, "a second probe with a "
		     "post_handler on t_opt_add");
	kp_check(!kprobe_optimized(&kp), "not optimized with a post_handler");
	kp_check_eq(text_byte((void *)t_opt_add), KP_BREAKPOINT,
		    "a breakpoint again");
	kp_check_eq(add_fp(1), 2, "t_opt_add(1) with two probes");
	kp_check_eq(cnt_get(&hits), 1, "hits with two probes");
	unregister_kprobe(&kp2);
	kp_check(kprobe_optimized(&kp), "optimized again without the "
		 "post_handler");
	kp_check_eq(add_fp(2), 3, "t_opt_add(2)");
	kp_check_eq(cnt_get(&hits), 2, "hits after");
	unregister_kprobe(&kp);
}

static void test_switch(void **state)
{
	setup_probe((void *)t_opt_add, count_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_opt_add)");
	kp_check_eq(kprobe_optimization(-1), 1, "optimization on by default");
	kp_check_eq(kprobe_optimization(0), 1, "turning it off");
	kp_check(!kprobe_optimized(&kp), "off: the probe is unoptimized");
	kp_check_eq(text_byte((void *)t_opt_add), KP_BREAKPOINT,
		    "off: a breakpoint");
	kp_check_eq(add_fp(1), 2, "t_opt_add(1) off");
	kp_check_eq(kprobe_optimization(1), 0, "turning it on");
	kp_check(kprobe_optimized(&kp), "on: optimized again");
	kp_check_eq(add_fp(1), 2, "t_opt_add(1) on");
	kp_check_eq(cnt_get(&hits), 2, "hits in both modes");
	kp_check_ret(kprobe_optimization(2), -EINVAL, "kprobe_optimization(2)");
	unregister_kprobe(&kp);
}

/* ip: a pre_handler that returns 1 and sends the thread elsewhere. */
static int redirect_pre(struct kprobe *p, struct pt_regs *regs)
{
	instruction_pointer_set(regs, (unsigned long)t_opt_other);
	return 1;
}

/* sp and ip: return 100 at once, without running the body. */
static int override_pre(struct kprobe *p, struct pt_regs *regs)
{
	regs_set_return_value(regs, 100);
	override_function_with_return(regs);
	return 1;
}

static void test_ip_and_sp_honoured(void **state)
{
	setup_probe((void *)t_opt_add, redirect_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(redirect)");
	kp_check(kprobe_optimized(&kp), "redirecting probe optimized");
	kp_check_eq(add_fp(21), 42, "t_opt_add(21) sent to t_opt_other");
	unregister_kprobe(&kp);

	setup_probe((void *)t_opt_add, override_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(override)");
	kp_check(kprobe_optimized(&kp), "overriding probe optimized");
	for (int i = 0; i < 3; i++)
		kp_check_eq(add_fp(i), 100, "t_opt_add(%d) overridden", i);
	unregister_kprobe(&kp);
}

/* A handler that calls the function it probes: a miss, not a loop. */
static int recurse_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return add_fp(1000) == 1001 ? 0 : 0;
}

static void test_recursion(void **state)
{
	setup_probe((void *)t_opt_add, recurse_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(recurse)");
	kp_check(kprobe_optimized(&kp), "recursing probe optimized");
	kp_check_eq(add_fp(1), 2, "t_opt_add(1)");
	kp_check_eq(cnt_get(&hits), 1, "handler runs once");
	kp_check_eq(kp_nmissed(&kp), 1, "the handler's own call is missed");
	unregister_kprobe(&kp);
}

/* A handler in plain C with floating point (1.25 / 3 raises inexact),
 * errno, and every register it may clobber clobbered; the program sees
 * none of it. */
static int clobber_pre(struct kprobe *p, struct pt_regs *regs)
{
	volatile double d = 1.25;
	unsigned short cw = 0x0c7f;	/* x87: round toward zero */

	d = d / 3.0;
	errno = EDOM;
	__asm__ volatile("fldcw %0" : : "m"(cw));
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile(
			"vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			"vpcmpeqd %%ymm5, %%ymm5, %%ymm5\n\t"
			"vpcmpeqd %%ymm8, %%ymm8, %%ymm8\n\t"
			"vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
			::: "xmm0", "xmm5", "xmm8", "xmm15");
	(void)d;
	cnt_inc(&hits);
	return 0;
}

/*
 * Through the probe with @handler: errno, the x87 control word, the
 * floating-point exception flags and all 256 bits of ymm0-15 are as the
 * program left them. @what says how the handler clobbers them.
 */
static void check_state_preserved(kprobe_pre_handler_t handler,
				  const char *what)
{
	unsigned short cw_before, cw_after;
	uint8_t in[512], out[512];

	setup_probe((void *)t_opt_add, handler);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(%s)", what);
	kp_check(kprobe_optimized(&kp), "probe optimized (%s)", what);
	__asm__ volatile("fnstcw %0" : "=m"(cw_before));
	feclearexcept(FE_ALL_EXCEPT);
	errno = 0;
	kp_check_eq(add_fp(1), 2, "t_opt_add(1) (%s)", what);
	kp_check_eq(fetestexcept(FE_ALL_EXCEPT), 0, "floating-point "
		    "exception flags after %s raised inexact", what);
	kp_check_eq(errno, 0, "errno after %s set it", what);
	__asm__ volatile("fnstcw %0" : "=m"(cw_after));
	kp_check_eq(cw_after, cw_before, "x87 control word after %s "
		    "changed it", what);
	unregister_kprobe(&kp);

	if (!__builtin_cpu_supports("avx")) {
		print_message("no AVX: ymm upper halves not checked\n");
		return;
	}
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 13 + 5);
	setup_probe(t_ymm_site, handler);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_ymm_site)");
	kp_check(kprobe_optimized(&kp), "t_ymm_site optimized");
	memset(out, 0, sizeof(out));
	t_ymm(in, out);
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&hits), 1, "hits on t_ymm_site (%s)", what);
	for (int r = 0; r < 16; r++)
		kp_check(!memcmp(in + 32 * r, out + 32 * r, 32),
			 "ymm%d (all 256 bits) after %s clobbered ymm0, 5, 8 "
			 "and 15", r, what);
}

static void test_state_preserved(void **state)
{
	check_state_preserved(clobber_pre, "a handler");
}

/* The same clobbering, one call away from the handler: the light path
 * (docs/design.md) must see through the call and save the state. */
__attribute__((noinline, noipa)) static void clobber_all(void)
{
	clobber_pre(NULL, NULL);
}

static int calls_clobber_pre(struct kprobe *p, struct pt_regs *regs)
{
	clobber_all();
	return 0;
}

static void test_state_preserved_via_callee(void **state)
{
	check_state_preserved(calls_clobber_pre, "a handler's callee");
}

/* A fault in the detour's copy of the second instruction is the
 * program's, at the original instruction's address. */
static sigjmp_buf fault_env;
static volatile uintptr_t fault_ip;

static void on_segv(int sig, siginfo_t *info, void *ctx)
{
	fault_ip = (uintptr_t)KP_UC_IP((ucontext_t *)ctx);
	siglongjmp(fault_env, 1);
}

static void test_fault_in_detour(void **state)
{
	struct sigaction sa, old;
	long v = 9;

	setup_probe((void *)t_opt_fault, count_pre);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_opt_fault)");
	kp_check(kprobe_optimized(&kp), "t_opt_fault optimized");
	kp_check_eq(t_opt_fault(&v), 10, "t_opt_fault(&9)");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	fault_ip = 0;
	if (!sigsetjmp(fault_env, 1))
		t_opt_fault(NULL);
	sigaction(SIGSEGV, &old, NULL);
	kp_check_eq(fault_ip, (uintptr_t)t_opt_fault_load,
		    "the program's SIGSEGV handler sees the faulting load at "
		    "its original address");
	kp_check_eq(cnt_get(&hits), 2, "hits");
	unregister_kprobe(&kp);
}

/*
 * Optimize and unoptimize over and over while two threads run the
 * function: a thread that saw half a jump would crash or compute wrong.
 */
static volatile int stop;
static unsigned long wrong;

static void *caller(void *arg)
{
	long i = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (add_fp(i) != i + 1)
			cnt_inc(&wrong);
		i++;
	}
	return NULL;
}

static void test_patching_while_running(void **state)
{
	pthread_t t[2];
	int optimized = 0;

	stop = 0;
	cnt_set(&wrong, 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	for (int round = 0; round < 100; round++) {
		setup_probe((void *)t_opt_add, count_pre);
		kp_check_ret(register_kprobe(&kp), 0, "register, round %d",
			     round);
		optimized += kprobe_optimized(&kp);
		if (round % 3 == 0) {
			kprobe_optimization(0);
			kprobe_optimization(1);
		}
		unregister_kprobe(&kp);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	kp_check_eq(cnt_get(&wrong), 0, "wrong results while patching");
	kp_check(optimized > 50, "rounds optimized with two threads "
		 "running the code: %d of 100", optimized);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_optimized_and_listed),
		cmocka_unit_test(test_not_optimized),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_ip_and_sp_honoured),
		cmocka_unit_test(test_recursion),
		cmocka_unit_test(test_state_preserved),
		cmocka_unit_test(test_state_preserved_via_callee),
		cmocka_unit_test(test_fault_in_detour),
		cmocka_unit_test(test_patching_while_running),
	};

	if (getenv("LIBKPROBE_OPTIMIZE") &&
	    !strcmp(getenv("LIBKPROBE_OPTIMIZE"), "0")) {
		printf("SKIP: LIBKPROBE_OPTIMIZE=0: nothing is optimized\n");
		return KP_EXIT_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif /* __x86_64__ */
