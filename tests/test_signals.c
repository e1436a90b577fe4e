// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The program's own signal handling around libkprobe, and the process
 * events a library inside someone else's process must survive:
 *  - handlers installed and masks set AFTER the first registration
 *    (sigaction/signal/sigprocmask are interposed, src/core/signals.c);
 *  - probes hit from a program's signal handler on an alternate stack,
 *    and with SIGTRAP "blocked" by the program;
 *  - fork() of a multithreaded probed process, exec(), and threads that
 *    come and go while probes fire;
 *  - a vfork() child's sigaction() on a signal libkprobe owns: the child's
 *    own, in its kernel, never its parent's.
 * Each scenario that changes process-wide signal state runs in a fork()ed
 * child, so that CMocka's own handlers and the other tests are unaffected.
 *
 * The faulting load is t_fault_load in targets_x86_64.S, and on ppc64
 * t_pf_load in targets_ppc64_insn.S (ld r3, 0(r3); blr), named below after
 * its x86_64 counterpart; the rest is C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <kprobes.h>

#include "testutil.h"

#if defined(__powerpc64__)
#define t_fault_load		t_pf_load
#define t_fault_load_site	t_pf_load_site
#define FAULT_LOAD_NAME		"t_pf_load"
#else
#define FAULT_LOAD_NAME		"t_fault_load"
#endif
long t_fault_load(const long *p);
extern const char t_fault_load_site[];

static __attribute__((noinline, used)) long sig_target(long x)
{
	__asm__ volatile("");
	return x * 5 + 1;
}
static long (*volatile sig_fp)(long) = sig_target;

static unsigned long hits;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	__atomic_fetch_add(&hits, 1, __ATOMIC_RELAXED);
	return 0;
}

static struct kprobe kp_target = {
	.symbol_name = "sig_target",
	.pre_handler = count_pre,
};

/* Run @fn in a child; the child reports a failure with a message and a
 * non-zero exit status. */
static void in_child(const char *what, int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip();		/* the child said why */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: the child %s %d", what,
			 WIFEXITED(status) ? "exited with" : "died by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status)
					   : WTERMSIG(status));
}

#define CHILD_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			return 1;					\
		}							\
	} while (0)

/* ---- a SIGSEGV handler installed after the first registration ---- */

static sigjmp_buf segv_jmp;
static volatile uintptr_t segv_rip, segv_addr;

static void segv_handler(int sig, siginfo_t *info, void *ctx)
{
	ucontext_t *uc = ctx;

	segv_rip = (uintptr_t)KP_UC_IP(uc);
	segv_addr = (uintptr_t)info->si_addr;
	siglongjmp(segv_jmp, 1);
}

static int child_segv_after(void)
{
	struct kprobe kp = {
		.symbol_name = FAULT_LOAD_NAME,
		.pre_handler = count_pre,
	};
	struct sigaction sa, check;

	CHILD_CHECK(register_kprobe(&kp) == 0, "register: %s",
		    kprobe_last_error());
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	CHILD_CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
	/* The program reads back its own handler, not libkprobe's. */
	CHILD_CHECK(sigaction(SIGSEGV, NULL, &check) == 0 &&
		    check.sa_sigaction == segv_handler,
		    "sigaction(SIGSEGV) reads back %p, not the program's %p",
		    (void *)check.sa_sigaction, (void *)segv_handler);
	for (int i = 0; i < 3; i++) {
		if (sigsetjmp(segv_jmp, 1) == 0) {
			t_fault_load((const long *)16);
			CHILD_CHECK(0, "the load of address 16 did not fault");
		}
		CHILD_CHECK(segv_rip == (uintptr_t)t_fault_load_site,
			    "the program's handler saw rip %#lx, not the probed "
			    "instruction %p", (unsigned long)segv_rip,
			    (void *)t_fault_load_site);
		CHILD_CHECK(segv_addr == 16, "si_addr %#lx, expected 0x10",
			    (unsigned long)segv_addr);
	}
	/* ...and the probe still works for a good pointer. */
	long v = 42;

	hits = 0;
	CHILD_CHECK(t_fault_load(&v) == 42, "t_fault_load(&v)");
	CHILD_CHECK(hits == 1, "%lu hits, expected 1", hits);
	unregister_kprobe(&kp);
	return 0;
}

static void test_segv_handler_after_registration(void **state)
{
	in_child("SIGSEGV handler installed after registration",
		 child_segv_after);
}

/* ---- a SIGTRAP handler installed after, and SIGTRAP blocked ---- */

static volatile int traps;

static void trap_handler(int sig)
{
	traps++;
}

static int child_sigtrap_after(void)
{
	sigset_t set, old;

	CHILD_CHECK(register_kprobe(&kp_target) == 0, "register");
	CHILD_CHECK(signal(SIGTRAP, trap_handler) == SIG_DFL,
		    "signal(SIGTRAP) did not report the default action");
	raise(SIGTRAP);
	CHILD_CHECK(traps == 1, "raise(SIGTRAP) reached the program %d times",
		    traps);
	hits = 0;
	CHILD_CHECK(sig_fp(2) == 11, "sig_target(2)");
	CHILD_CHECK(hits == 1, "probe after signal(SIGTRAP): %lu hits", hits);

	/* The program blocks SIGTRAP: hits go on, raise() waits. */
	sigemptyset(&set);
	sigaddset(&set, SIGTRAP);
	CHILD_CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "block");
	CHILD_CHECK(sig_fp(3) == 16, "sig_target(3) with SIGTRAP blocked");
	CHILD_CHECK(hits == 2, "probe with SIGTRAP blocked: %lu hits", hits);
	raise(SIGTRAP);
	CHILD_CHECK(traps == 1, "a blocked SIGTRAP was delivered");
	CHILD_CHECK(sigprocmask(SIG_SETMASK, NULL, &old) == 0 &&
		    sigismember(&old, SIGTRAP) == 1,
		    "the mask read back does not show SIGTRAP blocked");
	CHILD_CHECK(pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0, "unblock");
	CHILD_CHECK(traps == 2, "the pending SIGTRAP was not delivered at "
		    "unblock (%d)", traps);
	unregister_kprobe(&kp_target);
	return 0;
}

static void test_sigtrap_handler_and_mask(void **state)
{
	in_child("SIGTRAP handler and mask after registration",
		 child_sigtrap_after);
}

/* ---- probes in a signal handler on an alternate stack ---- */

static volatile long in_handler_result;
static volatile int on_altstack;

static void usr1_handler(int sig)
{
	stack_t ss;

	sigaltstack(NULL, &ss);
	on_altstack = !!(ss.ss_flags & SS_ONSTACK);
	in_handler_result = sig_fp(4);
}

static unsigned long ret_hits;
static long ret_seen;

static int ret_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	__atomic_fetch_add(&ret_hits, 1, __ATOMIC_RELAXED);
	ret_seen = (long)regs_return_value(regs);
	return 0;
}

static int child_altstack(void)
{
	static char stack[64 * 1024];
	struct kretprobe rp = {
		.kp.symbol_name = "sig_target",
		.handler = ret_handler,
	};
	stack_t ss = { .ss_sp = stack, .ss_size = sizeof(stack) };
	struct sigaction sa;
	sigset_t all;

	CHILD_CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = usr1_handler;
	sa.sa_flags = SA_ONSTACK;
	sigfillset(&sa.sa_mask);	/* SIGTRAP too: it must not stick */
	CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	CHILD_CHECK(register_kprobe(&kp_target) == 0, "register kprobe");
	CHILD_CHECK(register_kretprobe(&rp) == 0, "register kretprobe");
	hits = 0;
	raise(SIGUSR1);
	CHILD_CHECK(on_altstack, "the handler did not run on the alt stack");
	CHILD_CHECK(in_handler_result == 21, "sig_target(4) in the handler "
		    "returned %ld", in_handler_result);
	CHILD_CHECK(hits == 1, "%lu kprobe hits in the handler", hits);
	CHILD_CHECK(ret_hits == 1 && ret_seen == 21,
		    "kretprobe in the handler: %lu hits, value %ld", ret_hits,
		    ret_seen);

	/* With every signal blocked by the program: still probed. */
	sigfillset(&all);
	CHILD_CHECK(sigprocmask(SIG_SETMASK, &all, NULL) == 0, "block all");
	CHILD_CHECK(sig_fp(1) == 6, "sig_target(1), all signals blocked");
	CHILD_CHECK(hits == 2 && ret_hits == 2,
		    "all signals blocked: %lu hits, %lu returns", hits,
		    ret_hits);
	unregister_kretprobe(&rp);
	unregister_kprobe(&kp_target);
	return 0;
}

static void test_handler_on_altstack(void **state)
{
	in_child("probes in a signal handler on an alternate stack",
		 child_altstack);
}

/* ---- fork() of a multithreaded probed process ---- */

static volatile bool spin_stop;

static void *spinner(void *arg)
{
	/* Hits the probe (and takes kprobe_mutex-free trap paths) all the
	 * time, so fork() may catch this thread anywhere. */
	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED))
		sig_fp(1);
	return NULL;
}

static int churn_pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

static void *registrar(void *arg)
{
	/* Holds kprobe_mutex often: a fork() must not leave it held. Its own
	 * handler: a child may inherit it registered. */
	static struct kprobe churn = {
		.symbol_name = "sig_target",
		.pre_handler = churn_pre,
	};

	while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED)) {
		if (register_kprobe(&churn) == 0)
			unregister_kprobe(&churn);
	}
	return NULL;
}

static int child_fork(void)
{
	pthread_t t[2];
	int failures = 0;

	CHILD_CHECK(register_kprobe(&kp_target) == 0, "register");
	pthread_create(&t[0], NULL, spinner, NULL);
	pthread_create(&t[1], NULL, registrar, NULL);
	for (int i = 0; i < 20; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			/* Only this thread exists here. */
			struct kprobe extra = {
				.symbol_name = "sig_target",
				.pre_handler = count_pre,
			};
			unsigned long before = hits;

			alarm(10);
			if (sig_fp(6) != 31 || hits == before)
				_exit(2);
			if (register_kprobe(&extra) != 0)
				_exit(3);
			before = hits;
			sig_fp(6);
			/* kp_target and extra: two hits. */
			if (hits != before + 2)
				_exit(4);
			unregister_kprobe(&extra);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "fork %d: child status %#x\n", i,
				status);
			failures++;
		}
	}
	__atomic_store_n(&spin_stop, true, __ATOMIC_RELAXED);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	CHILD_CHECK(failures == 0, "%d of 20 forked children failed",
		    failures);
	unregister_kprobe(&kp_target);
	return 0;
}

static void test_fork_multithreaded(void **state)
{
	in_child("fork() of a multithreaded probed process", child_fork);
}

/* ---- a vfork() child's sigaction() ---- */

/* The handler the kernel holds for @sig, asked of the kernel itself:
 * sigaction() is libkprobe's. Its struct sigaction starts with the
 * handler on x86_64 and ppc64. Async-signal-safe. */
static void *kernel_handler(int sig)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} ks;

	if (syscall(SYS_rt_sigaction, sig, NULL, &ks, sizeof(ks.mask)))
		return NULL;
	return ks.handler;
}

static volatile int vfork_shared;

static void other_handler(int sig)
{
	(void)sig;
}

/* A vfork() child, async-signal-safe calls only: its settings must reach
 * its own kernel state. The exit status says what failed. */
static __attribute__((noinline)) int vfork_child_sets(void)
{
	struct sigaction sa, old;
	sigset_t trap;

	vfork_shared = 1;
	/* Inherited: the program's action. */
	if (sigaction(SIGSEGV, NULL, &old) || old.sa_sigaction != segv_handler)
		return 10;
	if (signal(SIGSEGV, SIG_DFL) == SIG_ERR ||
	    kernel_handler(SIGSEGV) != (void *)SIG_DFL)
		return 11;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = other_handler;
	if (sigaction(SIGSEGV, &sa, &old) || old.sa_handler != SIG_DFL ||
	    kernel_handler(SIGSEGV) != (void *)other_handler)
		return 12;
	/* A SIGTRAP block of its own must not become its parent's. */
	sigemptyset(&trap);
	sigaddset(&trap, SIGTRAP);
	if (sigprocmask(SIG_BLOCK, &trap, NULL))
		return 13;
	return 0;
}

/* SA_RESETHAND in the child reset the child's action, in its kernel. */
static void reset_exit_handler(int sig)
{
	(void)sig;
	_exit(kernel_handler(SIGSEGV) == (void *)SIG_DFL ? 0 : 21);
}

static __attribute__((noinline)) int vfork_child_faults(void)
{
	t_fault_load((const long *)16);
	return 20;
}

/*
 * Install @sa for SIGSEGV, run @child in a vfork() child and reap it: the
 * parent must still read @sa back, and the child must have exited 0.
 */
static int vfork_round(const struct sigaction *sa, int (*child)(void),
		       const char *what)
{
	struct sigaction check;
	int status = -1;
	pid_t pid;

	CHILD_CHECK(sigaction(SIGSEGV, sa, NULL) == 0, "sigaction");
	pid = vfork();
	if (pid == 0)
		_exit(child());
	CHILD_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid,
		    "vfork()/waitpid()");
	CHILD_CHECK(sigaction(SIGSEGV, NULL, &check) == 0 &&
		    check.sa_handler == sa->sa_handler &&
		    (check.sa_flags & sa->sa_flags) == sa->sa_flags,
		    "after %s, sigaction(SIGSEGV) reads back %p, flags %#x, "
		    "not the parent's %p, %#x", what,
		    (void *)check.sa_handler, check.sa_flags,
		    (void *)sa->sa_handler, sa->sa_flags);
	CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%s: the vfork() child's status %#x", what, status);
	return 0;
}

static int child_vfork(void)
{
	struct kprobe kp = {
		.symbol_name = FAULT_LOAD_NAME,
		.pre_handler = count_pre,
	};
	struct sigaction sa;
	sigset_t mask;

	CHILD_CHECK(register_kprobe(&kp) == 0, "register: %s",
		    kprobe_last_error());
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	if (vfork_round(&sa, vfork_child_sets, "the child's signal()"))
		return 1;
	CHILD_CHECK(sigprocmask(SIG_SETMASK, NULL, &mask) == 0 &&
		    sigismember(&mask, SIGTRAP) == 0,
		    "the vfork() child's SIGTRAP block became the parent's");
	if (!vfork_shared) {
		fprintf(stderr, "SKIP: vfork() did not share memory here "
			"(qemu-user runs it as fork())\n");
		return 77;
	}
	/* A real fault still reaches the program's handler. */
	if (sigsetjmp(segv_jmp, 1) == 0) {
		t_fault_load((const long *)16);
		CHILD_CHECK(0, "the load of address 16 did not fault");
	}
	CHILD_CHECK(segv_rip == (uintptr_t)t_fault_load_site &&
		    segv_addr == 16, "the program's handler saw rip %#lx, "
		    "si_addr %#lx", (unsigned long)segv_rip,
		    (unsigned long)segv_addr);

	/* The child's fault, SA_RESETHAND: the child's action is reset. */
	sa.sa_handler = reset_exit_handler;
	sa.sa_flags = SA_RESETHAND;
	if (vfork_round(&sa, vfork_child_faults,
			"the child's SA_RESETHAND fault"))
		return 1;
	unregister_kprobe(&kp);
	return 0;
}

static void test_vfork_child_sigaction(void **state)
{
	in_child("sigaction() in a vfork() child", child_vfork);
}

/* ---- exec() ---- */

static int child_exec(void)
{
	CHILD_CHECK(register_kprobe(&kp_target) == 0, "register");
	sig_fp(1);
	execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
	return 1;
}

static void test_exec(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_exec());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* The new program ran normally: nothing of ours survived exec. */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
}

/* ---- threads that come and go while the probe fires ---- */

#define CHURN_THREADS 400
#define CALLS_PER_THREAD 50

static void *short_lived(void *arg)
{
	for (int i = 0; i < CALLS_PER_THREAD; i++)
		if (sig_fp(i) != i * 5 + 1)
			return (void *)1;
	return NULL;
}

static void test_thread_churn(void **state)
{
	struct kretprobe rp = {
		.kp.symbol_name = "sig_target",
		.handler = ret_handler,
		.maxactive = 4,
	};

	hits = 0;
	ret_hits = 0;
	assert_int_equal(register_kprobe(&kp_target), 0);
	assert_int_equal(register_kretprobe(&rp), 0);
	for (int i = 0; i < CHURN_THREADS; i += 2) {
		pthread_t a, b;
		void *ra, *rb;

		assert_int_equal(pthread_create(&a, NULL, short_lived, NULL), 0);
		assert_int_equal(pthread_create(&b, NULL, short_lived, NULL), 0);
		pthread_join(a, &ra);
		pthread_join(b, &rb);
		assert_null(ra);
		assert_null(rb);
	}
	assert_int_equal(hits, CHURN_THREADS * CALLS_PER_THREAD);
	assert_int_equal(kp_target.nmissed, 0);
	/* maxactive 4 and at most 2 threads at once: never short. */
	assert_int_equal(rp.nmissed, 0);
	assert_int_equal(ret_hits, CHURN_THREADS * CALLS_PER_THREAD);
	unregister_kretprobe(&rp);
	unregister_kprobe(&kp_target);
}

/* ---- faults nothing handles are reported, then kill as before ---- */

static int crash_pre(struct kprobe *p, struct pt_regs *regs)
{
	*(volatile int *)(uintptr_t)regs_get_argument(regs, 1) = 1;
	return 0;
}

/* Run @fn in a child with stderr captured; expect death by SIGSEGV and
 * every string of @expect in what it printed. */
static void expect_report(void (*fn)(void), const char *const *expect)
{
	char out[4096];
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		alarm(10);
		/* CMocka catches SIGSEGV around a test: the child does not. */
		signal(SIGSEGV, SIG_DFL);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSEGV)
		fail_msg("expected death by SIGSEGV, got status %#x; stderr: %s",
			 status, out);
	for (; *expect; expect++)
		if (!strstr(out, *expect))
			fail_msg("the report lacks \"%s\"; stderr: %s", *expect,
				 out);
}

static void crash_in_slot(void)
{
	static struct kprobe kp = { .symbol_name = FAULT_LOAD_NAME };

	if (register_kprobe(&kp) == 0)
		t_fault_load((const long *)24);
}

static void crash_in_handler(void)
{
	static struct kprobe kp = {
		.symbol_name = "sig_target",
		.pre_handler = crash_pre,
	};
	long (*volatile fp)(long, long) =
		(long (*)(long, long))(void (*)(void))sig_target;

	if (register_kprobe(&kp) == 0)
		fp(1, 32);	/* the handler writes to address 32 */
}

static void test_unhandled_faults_reported(void **state)
{
	static const char *const slot[] = {
		"libkprobe: SIGSEGV from the probed instruction",
		FAULT_LOAD_NAME "+0x0", "fault address 0x18", NULL,
	};
	static const char *const handler[] = {
		"libkprobe: SIGSEGV in a handler of the probe at",
		"sig_target+0x0", "fault address 0x20", NULL,
	};

	expect_report(crash_in_slot, slot);
	expect_report(crash_in_handler, handler);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segv_handler_after_registration),
		cmocka_unit_test(test_sigtrap_handler_and_mask),
		cmocka_unit_test(test_handler_on_altstack),
		cmocka_unit_test(test_fork_multithreaded),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_vfork_child_sigaction),
		cmocka_unit_test(test_thread_churn),
		cmocka_unit_test(test_unhandled_faults_reported),
	};

#if !defined(__x86_64__) && !defined(__powerpc64__)
	puts("SKIP: these scenarios use x86_64 and ppc64 targets");
	return 77;
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
