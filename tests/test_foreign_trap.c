// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SIGTRAPs that are not libkprobe's: raise(SIGTRAP), and an int3 the program
 * has in its own code. They go to the program's SIGTRAP handler, installed
 * before the first registration, with the siginfo and context the program
 * would have had without libkprobe (and a context it changes takes effect),
 * while probes keep working.
 *
 * CMocka leaves SIGTRAP alone, so main() installs the program's handler
 * once, before any test registers a probe; the first test records what
 * the program sees with no probe ever registered, the others compare.
 *
 * On ppc64 the program's breakpoint is a `trap`, the very word libkprobe
 * writes for its probes (targets_ppc64_insn.S, t_pt_*, named below after
 * their x86_64 counterparts). It reports its own address, where int3
 * reports the next one, so there the program's handler steps over it; a
 * probe on it is refused; and a conditional trap (tdeqi) of the program's
 * is tested too.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__x86_64__)
/* targets_x86_64.S: movq %rdi, %rax; int3; addq $1, %rax; ret */
long t_foreign_int3(long x);
extern char t_foreign_int3_site[], t_foreign_int3_after[];
extern char t_foreign_int3_end[];
/* The ip the program's handler sees for its breakpoint: the next
 * instruction. */
#define FOREIGN_TRAP_IP		t_foreign_int3_after
#define FOREIGN_TRAP_IP_IS	"the instruction after the int3"
#elif defined(__powerpc64__)
/* targets_ppc64_insn.S: mr r4, r3; trap; addi r3, r4, 1; blr */
#define t_foreign_int3		t_pt_trap
#define t_foreign_int3_site	t_pt_trap_site
#define t_foreign_int3_after	t_pt_trap_after
#define t_foreign_int3_end	t_pt_trap_end
long t_pt_trap(long x);
extern char t_pt_trap_site[], t_pt_trap_after[], t_pt_trap_end[];
/* addi r4, r3, 2; tdeqi r3, 0; mr r3, r4; blr */
long t_pt_tdeqi(long x);
extern char t_pt_tdeqi_site[], t_pt_tdeqi_after[];
static long (*volatile tdeqi_fp)(long) = t_pt_tdeqi;
/* A trap reports its own address. */
#define FOREIGN_TRAP_IP		t_pt_trap_site
#define FOREIGN_TRAP_IP_IS	"the trap itself"
#endif

static long (*volatile foreign_fp)(long) = t_foreign_int3;

static __attribute__((noinline, used)) int target_ft(int x)
{
	__asm__ volatile("");
	return x + 77;
}

static int (*volatile ft_fp)(int) = target_ft;

/* What the program's SIGTRAP handler saw. */
static volatile sig_atomic_t trap_calls;
static volatile unsigned long trap_rip;
static volatile int trap_signo, trap_code, trap_pid;
/* When set, the handler steps over the addq after the foreign int3. */
static volatile sig_atomic_t skip_add;

/* Seen with no probe ever registered. */
static int base_raise_code, base_int3_code;
#if defined(__powerpc64__)
static int base_tdi_code;
#endif
static int baseline_done;

static void program_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	trap_calls++;
	trap_signo = si->si_signo;
	trap_code = si->si_code;
	trap_pid = si->si_pid;
#if defined(__x86_64__)
	trap_rip = uc->uc_mcontext.gregs[REG_RIP];
	if (skip_add && trap_rip == (unsigned long)t_foreign_int3_after)
		uc->uc_mcontext.gregs[REG_RIP] = (greg_t)t_foreign_int3_end;
#elif defined(__powerpc64__)
	/* A context change of this handler's that got lost brings it back
	 * to the same trap forever: fail now rather than at the timeout. */
	if (trap_calls > 1000) {
		static const char msg[] = "FAIL: the program's SIGTRAP handler "
			"ran 1000 times: its step over the trap is lost\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(2);
		_exit(1);
	}
	trap_rip = KP_UC_IP(uc);
	/* Step over the trap, as a program with traps of its own does;
	 * with skip_add over the addi too. */
	if (trap_rip == (unsigned long)t_pt_trap_site)
		KP_UC_IP(uc) = (unsigned long)(skip_add ? t_pt_trap_end :
						       t_pt_trap_after);
	else if (trap_rip == (unsigned long)t_pt_tdeqi_site)
		KP_UC_IP(uc) = (unsigned long)t_pt_tdeqi_after;
#endif
}

static struct kprobe kp, kp2;
static unsigned long hits;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return 0;
}

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(&kp2, 0, sizeof(kp2));
	kp.pre_handler = count_pre;
	kp2.pre_handler = count_pre;
	cnt_set(&hits, 0);
	trap_calls = 0;
	trap_rip = 0;
	skip_add = 0;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp, &kp2 };

	kp_cleanup(all, 2);
	return 0;
}

static void check_raise(const char *when)
{
	trap_calls = 0;
	raise(SIGTRAP);
	kp_check_eq(trap_calls, 1,
		    "program's SIGTRAP handler calls for raise(SIGTRAP) %s",
		    when);
	kp_check_eq(trap_signo, SIGTRAP, "si_signo for raise(SIGTRAP) %s",
		    when);
	kp_check_eq(trap_code, base_raise_code,
		    "si_code for raise(SIGTRAP) %s: the one seen without "
		    "libkprobe", when);
	kp_check_eq(trap_pid, getpid(), "si_pid for raise(SIGTRAP) %s",
		    when);
}

/* The foreign int3 reports the address after itself, as the kernel does
 * (a ppc64 trap its own address). */
static void check_int3(const char *when)
{
	trap_calls = 0;
	kp_check_eq(foreign_fp(5), 6, "t_foreign_int3(5) %s", when);
	kp_check_eq(trap_calls, 1,
		    "program's SIGTRAP handler calls for its own int3 %s",
		    when);
	kp_check_eq(trap_rip, FOREIGN_TRAP_IP,
		    "RIP the program's handler saw for its int3 %s ("
		    FOREIGN_TRAP_IP_IS ")", when);
	kp_check_eq(trap_code, base_int3_code,
		    "si_code for the program's int3 %s: the one seen without "
		    "libkprobe", when);
}

/* Must run first: nothing registered yet. */
static void test_baseline(void **state)
{
	trap_calls = 0;
	raise(SIGTRAP);
	assert_int_equal(trap_calls, 1);
	base_raise_code = trap_code;
	trap_calls = 0;
	assert_int_equal(foreign_fp(5), 6);
	assert_int_equal(trap_calls, 1);
	assert_int_equal(trap_rip, (unsigned long)FOREIGN_TRAP_IP);
	base_int3_code = trap_code;
#if defined(__powerpc64__)
	trap_calls = 0;
	assert_int_equal(tdeqi_fp(0), 2);
	assert_int_equal(trap_calls, 1);
	assert_int_equal(trap_rip, (unsigned long)t_pt_tdeqi_site);
	base_tdi_code = trap_code;
	trap_calls = 0;
	assert_int_equal(tdeqi_fp(1), 3);
	assert_int_equal(trap_calls, 0);
#endif
	baseline_done = 1;
	kp_test_done();
}

static void test_raise_with_probe(void **state)
{
	assert_true(baseline_done);
	kp.addr = (kprobe_opcode_t *)target_ft;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_ft)");
	check_raise("with a probe registered");
	kp_check_eq(cnt_get(&hits), 0, "probe hits caused by raise(SIGTRAP)");
	trap_calls = 0;
	kp_check_eq(ft_fp(1), 78, "target_ft(1)");
	kp_check_eq(cnt_get(&hits), 1, "hits of target_ft");
	kp_check_eq(trap_calls, 0,
		    "program's SIGTRAP handler calls for a probe hit");
	check_raise("after a probe hit");
	unregister_kprobe(&kp);
	kp_test_done();
}

/* A probe on the instruction before the program's int3. */
static void test_int3_after_probe(void **state)
{
	assert_true(baseline_done);
	kp.addr = (kprobe_opcode_t *)t_foreign_int3;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(t_foreign_int3)");
	check_int3("after a probed instruction");
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_foreign_int3");
	unregister_kprobe(&kp);
	kp_test_done();
}

/*
 * A probe on the instruction right after the program's int3: the trap's
 * RIP is then the probe's address, yet the trap is the program's. When the
 * program's handler returns, the probe is hit as execution goes on.
 */
static void test_int3_before_probe(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	assert_true(baseline_done);
	text_read(t_foreign_int3_after, saved, KP_TEXT_LEN);
	kp.addr = (kprobe_opcode_t *)t_foreign_int3_after;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(the addq after the program's int3)");
	check_int3("with a probe on the next instruction");
	kp_check_eq(cnt_get(&hits), 1,
		    "hits of the probe right after the program's int3");
	unregister_kprobe(&kp);
	kp_check_text(t_foreign_int3_after, saved, "after unregistering");
	kp_test_done();
}

/* The program's handler changes the context: the change takes effect. */
static void test_handler_changes_context(void **state)
{
	assert_true(baseline_done);
	kp.addr = (kprobe_opcode_t *)t_foreign_int3;
	kp2.addr = (kprobe_opcode_t *)t_foreign_int3_after;
	kp_check_ret(register_kprobe(&kp), 0, "register t_foreign_int3");
	kp_check_ret(register_kprobe(&kp2), 0, "register the addq after the "
		     "int3");
	skip_add = 1;
	kp_check_eq(foreign_fp(5), 5,
		    "t_foreign_int3(5) when the program's SIGTRAP handler "
		    "moves RIP past the addq: the changed context must be the "
		    "one execution resumes with");
	kp_check_eq(trap_calls, 1, "program's SIGTRAP handler calls");
	kp_check_eq(cnt_get(&hits), 1,
		    "hits: only the probe before the int3 (the one after it "
		    "was stepped over)");
	skip_add = 0;
	unregister_kprobe(&kp2);
	unregister_kprobe(&kp);
	kp_test_done();
}

#if defined(__powerpc64__)
/*
 * The program's trap is the word libkprobe writes for its probes: a probe
 * on it is refused (it would swallow the program's SIGTRAP), leaves it as
 * it was, and the program keeps getting its trap.
 */
static void test_probe_on_trap_refused(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	assert_true(baseline_done);
	text_read(t_pt_trap_site, saved, KP_TEXT_LEN);
	kp.addr = (kprobe_opcode_t *)t_pt_trap_site;
	kp_check_ret(register_kprobe(&kp), -EOPNOTSUPP,
		     "register_kprobe() on the program's own trap");
	kp_check_text(t_pt_trap_site, saved, "the program's trap after the "
		      "refusal");
	check_int3("after a probe on it was refused");
	kp_check_eq(cnt_get(&hits), 0, "hits of the refused probe");
	kp_test_done();
}

/* A conditional trap of the program's (tdeqi), taken and not, between
 * two probes. */
static void test_conditional_trap(void **state)
{
	assert_true(baseline_done);
	kp.addr = (kprobe_opcode_t *)t_pt_tdeqi;
	kp2.addr = (kprobe_opcode_t *)t_pt_tdeqi_after;
	kp_check_ret(register_kprobe(&kp), 0, "register t_pt_tdeqi");
	kp_check_ret(register_kprobe(&kp2), 0, "register the mr after the "
		     "tdeqi");
	kp_check_eq(tdeqi_fp(0), 2, "t_pt_tdeqi(0), whose trap fires");
	kp_check_eq(trap_calls, 1, "program's SIGTRAP handler calls for its "
		    "tdeqi that fired");
	kp_check_eq(trap_rip, t_pt_tdeqi_site, "ip the program's handler "
		    "saw for its tdeqi (the tdeqi itself)");
	kp_check_eq(trap_code, base_tdi_code, "si_code for the program's "
		    "tdeqi: the one seen without libkprobe");
	kp_check_eq(cnt_get(&hits), 2, "hits of the probes around it");
	trap_calls = 0;
	kp_check_eq(tdeqi_fp(1), 3, "t_pt_tdeqi(1), whose trap does not "
		    "fire");
	kp_check_eq(trap_calls, 0, "program's SIGTRAP handler calls for a "
		    "tdeqi that did not fire");
	kp_check_eq(cnt_get(&hits), 4, "hits of the probes around it");
	unregister_kprobe(&kp2);
	unregister_kprobe(&kp);
	kp_test_done();
}
#endif

static void test_after_unregister(void **state)
{
	assert_true(baseline_done);
	check_raise("after every probe was unregistered");
	check_int3("after every probe was unregistered");
	kp_test_done();
}

#define TRAP_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TRAP_TEST(test_baseline),
		TRAP_TEST(test_raise_with_probe),
		TRAP_TEST(test_int3_after_probe),
		TRAP_TEST(test_int3_before_probe),
		TRAP_TEST(test_handler_changes_context),
#if defined(__powerpc64__)
		TRAP_TEST(test_probe_on_trap_refused),
		TRAP_TEST(test_conditional_trap),
#endif
		TRAP_TEST(test_after_unregister),
	};
	struct sigaction sa;

	/* The program's handler, before the first registration. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = program_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, NULL) != 0) {
		perror("sigaction(SIGTRAP)");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
