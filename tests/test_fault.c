// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Faults of a probed instruction. The program's own SIGSEGV handler,
 * installed before the first register_kprobe(), must see the fault as if no
 * probe were there: RIP at the probed instruction (never in a libkprobe
 * slot), si_addr the bad data address. Before that, p->fault_handler may
 * claim the fault by fixing the registers.
 *
 * Each scenario runs in a child process of its own. CMocka installs its own
 * SIGSEGV/SIGBUS/SIGILL/SIGFPE handlers with signal() around every test and
 * reinstalls the previous ones afterwards (dropping SA_SIGINFO); those
 * calls reach libkprobe's interposed signal() since glibc_versions.c, but
 * each scenario wants its own program handler, installed before its
 * first registration.
 * A fresh child per scenario gives each the order the contract needs: the
 * program's handler first, then the first registration. The parent never
 * registers a probe. Children report failures on stdout and exit non-zero;
 * an alarm turns a fault that repeats forever into a failure.
 */
#include "testutil.h"

#if !defined(__x86_64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* targets_x86_64.S */
long t_fault_load(const long *p);	/* movq (%rdi), %rax; ret */
extern char t_fault_load_site[], t_fault_load_next[];
long t_fault_plain(const long *p);
long t_fault_callmem(long (**fp)(long), long x);	/* call *(%rax) */
extern char t_fault_callmem_site[];
long t_mul3(long x);

static long (*volatile load_fp)(const long *) = t_fault_load;
static long (*volatile plain_fp)(const long *) = t_fault_plain;
static long (*volatile callmem_fp)(long (**)(long), long) = t_fault_callmem;

/* ---- in the child ---- */

#define CHILD_TIMEOUT 20	/* seconds */

#define child_check(cond, ...) do {					\
	if (!(cond)) {							\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf(" (failed: %s)\n", #cond);			\
		fflush(stdout);						\
		_exit(1);						\
	}								\
} while (0)

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t program_segv_calls;
static volatile unsigned long program_rip, program_rdi, program_addr;
static volatile int program_signo;

/* A handler of the kind a program has: note what it saw, get out. */
static void program_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	program_segv_calls++;
	program_signo = si->si_signo;
	program_addr = (unsigned long)si->si_addr;
	program_rip = uc->uc_mcontext.gregs[REG_RIP];
	program_rdi = uc->uc_mcontext.gregs[REG_RDI];
	siglongjmp(fault_jmp, 1);
}

static void install_program_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = program_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	child_check(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
}

/* A page no access is allowed to: every load from it faults. */
static long *bad_pointer(void)
{
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);

	child_check(page != MAP_FAILED, "mmap");
	return (long *)((char *)page + 8);
}

static struct kprobe kp;
static unsigned long pre_hits, fault_calls;
static int fault_trapnr;
static unsigned long fault_ip;
static int order[4];		/* 1 = fault_handler, 2 = program handler */
static unsigned long norder;
static long good_value = 0x600d;
static long *bad;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_hits);
	return 0;
}

static void note_fault(struct kprobe *p, struct pt_regs *regs, int trapnr)
{
	unsigned long i = __atomic_fetch_add(&norder, 1, __ATOMIC_RELAXED);

	if (i < 4)
		order[i] = 1;
	cnt_inc(&fault_calls);
	fault_trapnr = trapnr;
	fault_ip = instruction_pointer(regs);
}

static int decline_fault(struct kprobe *p, struct pt_regs *regs, int trapnr)
{
	note_fault(p, regs, trapnr);
	return 0;
}

/* Point the load at a valid word and let it run again. */
static int fix_rdi_fault(struct kprobe *p, struct pt_regs *regs, int trapnr)
{
	note_fault(p, regs, trapnr);
	regs->rdi = (unsigned long)&good_value;
	return 1;
}

/* Do the load's job (rax = 0x77) and step over it. */
static int skip_fault(struct kprobe *p, struct pt_regs *regs, int trapnr)
{
	note_fault(p, regs, trapnr);
	regs->rax = 0x77;
	instruction_pointer_set(regs, (unsigned long)t_fault_load_next);
	return 1;
}

/* Call @fn expecting the program's SIGSEGV handler to get control. */
#define expect_program_fault(call, what) do {				\
	program_segv_calls = 0;						\
	if (sigsetjmp(fault_jmp, 1) == 0) {				\
		long r_ = (call);					\
		child_check(0, "%s returned %#lx: the program's SIGSEGV "\
			    "handler was expected to get the fault",	\
			    (what), (unsigned long)r_);			\
	}								\
	child_check(program_segv_calls == 1,				\
		    "program's SIGSEGV handler calls for %s: %d",	\
		    (what), (int)program_segv_calls);			\
} while (0)

static void register_on(void *addr, kprobe_fault_handler_t fh)
{
	int ret;

	memset(&kp, 0, sizeof(kp));
	kp.addr = addr;
	kp.pre_handler = count_pre;
	kp.fault_handler = fh;
	ret = register_kprobe(&kp);
	child_check(ret == 0, "register_kprobe(%p) returned %d (%s): %s",
		    addr, ret, kp_errname(ret), kprobe_last_error());
}

static void child_setup(void)
{
	install_program_handler();
	bad = bad_pointer();
}

/* The program's handler sees the fault at the probed instruction. */
static void child_program_gets_fault(void)
{
	uint8_t saved[KP_TEXT_LEN];

	child_setup();
	text_read(t_fault_load, saved, KP_TEXT_LEN);
	register_on(t_fault_load_site, NULL);
	child_check(load_fp(&good_value) == good_value,
		    "t_fault_load(&good) with the probe");
	child_check(cnt_get(&pre_hits) == 1, "hits: %lu", cnt_get(&pre_hits));

	expect_program_fault(load_fp(bad), "t_fault_load(bad)");
	child_check(program_signo == SIGSEGV, "si_signo %d", program_signo);
	child_check(program_rip == (unsigned long)t_fault_load_site,
		    "program's handler saw RIP %#lx, expected the probed "
		    "instruction %p (an address in a libkprobe slot means "
		    "the context was not translated back)", program_rip,
		    (void *)t_fault_load_site);
	child_check(program_addr == (unsigned long)bad,
		    "program's handler saw si_addr %#lx, expected the "
		    "faulting data address %p", program_addr, (void *)bad);
	child_check(program_rdi == (unsigned long)bad,
		    "program's handler saw rdi %#lx, expected %p",
		    program_rdi, (void *)bad);
	child_check(cnt_get(&pre_hits) == 2,
		    "pre_handler runs before the faulting instruction: %lu "
		    "hits, expected 2", cnt_get(&pre_hits));

	/* Leaving by siglongjmp must not leave the probe half way. */
	child_check(load_fp(&good_value) == good_value,
		    "t_fault_load(&good) after the fault");
	child_check(cnt_get(&pre_hits) == 3,
		    "hits after leaving a fault by siglongjmp: %lu, expected "
		    "3 (the probe must not think it is still running)",
		    cnt_get(&pre_hits));
	child_check(kp_nmissed(&kp) == 0,
		    "nmissed after the fault: %lu, expected 0",
		    kp_nmissed(&kp));

	/* And once more, the same way. */
	expect_program_fault(load_fp(bad), "t_fault_load(bad), second time");
	child_check(program_rip == (unsigned long)t_fault_load_site,
		    "second fault: RIP %#lx, expected %p", program_rip,
		    (void *)t_fault_load_site);

	unregister_kprobe(&kp);
	child_check(memcmp(saved, t_fault_load, KP_TEXT_LEN) == 0,
		    "text restored after unregistering");
	expect_program_fault(load_fp(bad), "t_fault_load(bad), unregistered");
	child_check(program_rip == (unsigned long)t_fault_load_site,
		    "fault without the probe: RIP %#lx", program_rip);
}

/* A fault_handler that returns 0 sees the fault first, then the program. */
static void child_fault_handler_declines(void)
{
	child_setup();
	register_on(t_fault_load_site, decline_fault);
	expect_program_fault(load_fp(bad), "t_fault_load(bad)");
	child_check(cnt_get(&fault_calls) == 1,
		    "fault_handler calls: %lu, expected 1",
		    cnt_get(&fault_calls));
	child_check(fault_trapnr == SIGSEGV,
		    "fault_handler's trapnr: %d, expected SIGSEGV (%d)",
		    fault_trapnr, SIGSEGV);
	child_check(norder == 1 && order[0] == 1,
		    "the fault_handler must run before the program's handler");
	child_check(program_rip == (unsigned long)t_fault_load_site,
		    "program's handler saw RIP %#lx, expected %p",
		    program_rip, (void *)t_fault_load_site);
	child_check(program_addr == (unsigned long)bad,
		    "program's handler saw si_addr %#lx, expected %p",
		    program_addr, (void *)bad);
	unregister_kprobe(&kp);
}

/* A fault_handler that fixes rdi and returns 1: the retried load works and
 * the program's handler never hears of it. */
static void child_fault_handler_fixes_operand(void)
{
	long r;

	child_setup();
	register_on(t_fault_load_site, fix_rdi_fault);
	program_segv_calls = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		r = load_fp(bad);
		child_check(r == good_value,
			    "t_fault_load(bad) returned %#lx; the "
			    "fault_handler pointed rdi at %#lx", r,
			    good_value);
	}
	child_check(program_segv_calls == 0,
		    "program's SIGSEGV handler ran although the "
		    "fault_handler returned 1 (RIP %#lx)", program_rip);
	child_check(cnt_get(&fault_calls) == 1,
		    "fault_handler calls: %lu, expected 1",
		    cnt_get(&fault_calls));
	child_check(fault_trapnr == SIGSEGV, "fault_handler's trapnr %d",
		    fault_trapnr);
	child_check(fault_ip == (unsigned long)t_fault_load_site,
		    "instruction_pointer(regs) in the fault_handler: %#lx, "
		    "expected the probed instruction %p", fault_ip,
		    (void *)t_fault_load_site);

	/* The probe keeps working. */
	child_check(load_fp(&good_value) == good_value, "t_fault_load(&good)");
	child_check(kp_nmissed(&kp) == 0, "nmissed %lu", kp_nmissed(&kp));
	unregister_kprobe(&kp);
}

/* A fault_handler that moves the ip past the instruction. */
static void child_fault_handler_skips(void)
{
	long r;

	child_setup();
	register_on(t_fault_load_site, skip_fault);
	program_segv_calls = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		r = load_fp(bad);
		child_check(r == 0x77,
			    "t_fault_load(bad) returned %#lx; the "
			    "fault_handler set rax = 0x77 and the ip past "
			    "the load", r);
	}
	child_check(program_segv_calls == 0,
		    "program's SIGSEGV handler ran although the "
		    "fault_handler returned 1 (RIP %#lx)", program_rip);
	child_check(cnt_get(&fault_calls) == 1, "fault_handler calls: %lu",
		    cnt_get(&fault_calls));
	child_check(load_fp(&good_value) == good_value, "t_fault_load(&good)");
	unregister_kprobe(&kp);
}

/* call *(%rax) reads its operand wherever libkprobe runs it (emulated or
 * out of line): the fault still belongs to the probed instruction. */
static void child_fault_in_branch_operand(void)
{
	long (*fp)(long) = t_mul3;

	child_setup();
	register_on(t_fault_callmem_site, NULL);
	child_check(callmem_fp(&fp, 5) == 15, "t_fault_callmem(&t_mul3, 5)");
	expect_program_fault(callmem_fp((long (**)(long))bad, 5),
			     "t_fault_callmem(bad, 5)");
	child_check(program_rip == (unsigned long)t_fault_callmem_site,
		    "program's handler saw RIP %#lx, expected the probed call "
		    "%p", program_rip, (void *)t_fault_callmem_site);
	child_check(program_addr == (unsigned long)bad,
		    "program's handler saw si_addr %#lx, expected %p",
		    program_addr, (void *)bad);
	child_check(callmem_fp(&fp, 6) == 18, "t_fault_callmem after the "
		    "fault");
	child_check(cnt_get(&pre_hits) == 3, "hits: %lu, expected 3",
		    cnt_get(&pre_hits));
	unregister_kprobe(&kp);
}

/* A fault that has nothing to do with a probe, while one is registered:
 * the program gets it untouched and the probe's fault_handler is not
 * asked. */
static void child_unrelated_fault(void)
{
	child_setup();
	register_on(t_fault_load_site, decline_fault);
	expect_program_fault(plain_fp(bad), "t_fault_plain(bad)");
	child_check(program_rip == (unsigned long)t_fault_plain,
		    "program's handler saw RIP %#lx, expected %p",
		    program_rip, (void *)t_fault_plain);
	child_check(program_addr == (unsigned long)bad,
		    "program's handler saw si_addr %#lx, expected %p",
		    program_addr, (void *)bad);
	child_check(cnt_get(&fault_calls) == 0,
		    "a probe's fault_handler ran for a fault outside it");
	child_check(load_fp(&good_value) == good_value, "probe still works");
	unregister_kprobe(&kp);
}

/* ---- faults inside a handler ---- */

static volatile int fault_in_pre;
static long pre_result;

/* A handler that faults: t_fault_plain(bad) from inside the pre_handler. */
static int faulting_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_hits);
	if (fault_in_pre)
		pre_result = plain_fp(bad);
	return 0;
}

/* Claims the handler's fault: fakes the load's result, steps over it. */
static int fix_handler_fault(struct kprobe *p, struct pt_regs *regs,
			     int trapnr)
{
	note_fault(p, regs, trapnr);
	if (instruction_pointer(regs) != (unsigned long)t_fault_plain)
		return 0;
	regs->rax = 0x99;
	instruction_pointer_set(regs, (unsigned long)t_fault_plain + 3);
	return 1;
}

static void register_faulting_pre(kprobe_fault_handler_t fh)
{
	int ret;

	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)t_fault_load_site;
	kp.pre_handler = faulting_pre;
	kp.fault_handler = fh;
	ret = register_kprobe(&kp);
	child_check(ret == 0, "register_kprobe() returned %d (%s): %s", ret,
		    kp_errname(ret), kprobe_last_error());
}

/* The fault_handler gets a fault of the pre_handler, with the registers
 * where the handler faulted, and can resume it. */
static void child_handler_fault_handled(void)
{
	long r;

	child_setup();
	register_faulting_pre(fix_handler_fault);
	fault_in_pre = 1;
	program_segv_calls = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		r = load_fp(&good_value);
		child_check(r == good_value, "t_fault_load(&good) returned "
			    "%#lx after its pre_handler faulted", r);
	}
	child_check(program_segv_calls == 0,
		    "program's SIGSEGV handler ran for a handler fault the "
		    "fault_handler claimed (RIP %#lx)", program_rip);
	child_check(cnt_get(&fault_calls) == 1, "fault_handler calls: %lu",
		    cnt_get(&fault_calls));
	child_check(fault_trapnr == SIGSEGV, "fault_handler's trapnr %d",
		    fault_trapnr);
	child_check(fault_ip == (unsigned long)t_fault_plain,
		    "instruction_pointer(regs) in the fault_handler for a "
		    "fault in the pre_handler: %#lx, expected where the "
		    "handler faulted, %p", fault_ip, (void *)t_fault_plain);
	child_check(pre_result == 0x99,
		    "the pre_handler's load returned %#lx, expected the "
		    "fault_handler's 0x99", pre_result);
	fault_in_pre = 0;
	child_check(load_fp(&good_value) == good_value, "t_fault_load(&good)");
	child_check(cnt_get(&pre_hits) == 2, "hits: %lu, expected 2",
		    cnt_get(&pre_hits));
	child_check(kp_nmissed(&kp) == 0, "nmissed %lu", kp_nmissed(&kp));
	unregister_kprobe(&kp);
}

/* Nobody claims it: the program's handler sees it where the handler
 * faulted, leaves by siglongjmp, and the probe must still work. */
static void child_handler_fault_unhandled(void)
{
	child_setup();
	register_faulting_pre(NULL);
	fault_in_pre = 1;
	expect_program_fault(load_fp(&good_value),
			     "t_fault_load(&good) with a faulting pre_handler");
	child_check(program_rip == (unsigned long)t_fault_plain,
		    "program's handler saw RIP %#lx, expected the faulting "
		    "load in the handler's callee %p", program_rip,
		    (void *)t_fault_plain);
	child_check(program_addr == (unsigned long)bad,
		    "program's handler saw si_addr %#lx, expected %p",
		    program_addr, (void *)bad);

	fault_in_pre = 0;
	child_check(load_fp(&good_value) == good_value,
		    "t_fault_load(&good) after leaving a handler fault by "
		    "siglongjmp");
	child_check(cnt_get(&pre_hits) == 2,
		    "hits after leaving a handler by siglongjmp: %lu, "
		    "expected 2 (the thread must not be left inside a "
		    "handler, where hits are missed)", cnt_get(&pre_hits));
	child_check(kp_nmissed(&kp) == 0, "nmissed %lu", kp_nmissed(&kp));
	unregister_kprobe(&kp);
}

/* ---- in the parent ---- */

static void run_child(void (*fn)(void), const char *name)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_TIMEOUT);
		fn();
		fflush(stdout);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		fail_msg("%s: child killed by signal %d (%s)%s", name, sig,
			 strsignal(sig),
			 sig == SIGALRM ? ": timed out, a fault probably "
			 "repeats forever" : "");
	}
	if (WEXITSTATUS(status) != 0)
		fail_msg("%s: child failed (exit %d), see the FAIL line above",
			 name, WEXITSTATUS(status));
}

static void test_program_gets_fault(void **state)
{
	run_child(child_program_gets_fault, "program_gets_fault");
}

static void test_fault_handler_declines(void **state)
{
	run_child(child_fault_handler_declines, "fault_handler_declines");
}

static void test_fault_handler_fixes_operand(void **state)
{
	run_child(child_fault_handler_fixes_operand,
		  "fault_handler_fixes_operand");
}

static void test_fault_handler_skips(void **state)
{
	run_child(child_fault_handler_skips, "fault_handler_skips");
}

static void test_fault_in_branch_operand(void **state)
{
	run_child(child_fault_in_branch_operand, "fault_in_branch_operand");
}

static void test_unrelated_fault(void **state)
{
	run_child(child_unrelated_fault, "unrelated_fault");
}

static void test_handler_fault_handled(void **state)
{
	run_child(child_handler_fault_handled, "handler_fault_handled");
}

static void test_handler_fault_unhandled(void **state)
{
	run_child(child_handler_fault_unhandled, "handler_fault_unhandled");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_gets_fault),
		cmocka_unit_test(test_fault_handler_declines),
		cmocka_unit_test(test_fault_handler_fixes_operand),
		cmocka_unit_test(test_fault_handler_skips),
		cmocka_unit_test(test_fault_in_branch_operand),
		cmocka_unit_test(test_unrelated_fault),
		cmocka_unit_test(test_handler_fault_handled),
		cmocka_unit_test(test_handler_fault_unhandled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ */
