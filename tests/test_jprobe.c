// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * jprobes: the entry function, with the probed function's own prototype,
 * sees all the arguments (on x86_64 eight: six in registers, two on the
 * stack; on ppc64 ten: eight in r3-r10, two in the caller's parameter save
 * area), may change its copies of them (its register arguments, and the
 * stack slots of the stack arguments, which are the caller's), and ends
 * with jprobe_return(); then the probed function runs with its original
 * arguments. A jprobe needs a function's entry; a jprobe and a kprobe at
 * one address both run; unregistering restores the text.
 *
 * On ppc64 (ELFv2) the entry function is entered at its global entry
 * point, which computes its TOC pointer from r12: the library must set r12
 * as a call through a pointer does (jentry reaches its globals through the
 * TOC, so a wrong r12 shows), and jprobe_return() must put the registers
 * and the caller's parameter save area back before jtarget runs.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 or ppc64 code")
#else

#if defined(__x86_64__)

#define NARGS		8
#define NREGARGS	6	/* rdi rsi rdx rcx r8 r9; g, h on the stack */

/* Every argument lands in its own decimal digit: a lost, changed or
 * swapped argument shows in the result. */
static __attribute__((noinline, used, aligned(32)))
long jtarget(long a, long b, long c, long d, long e, long f, long g, long h)
{
	__asm__ volatile("");
	return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f +
	       1000000 * g + 10000000 * h;
}

static long (*volatile jtarget_fp)(long, long, long, long, long, long, long,
				   long) = jtarget;

#define JTARGET_ARGS	1, 2, 3, 4, 5, 6, 7, 8
#define JTARGET_RESULT	87654321L
#define JARGS	"1..8"

#else /* __powerpc64__ */

#define NARGS		10
#define NREGARGS	8	/* r3-r10; i and j on the stack */

/* Every argument lands in its own hex digit (1..10 all fit in one): a
 * lost, changed or swapped argument shows in the result. Ten arguments,
 * so that two are passed on the stack, as g and h are on x86_64. */
static __attribute__((noinline, used, aligned(32)))
long jtarget(long a, long b, long c, long d, long e, long f, long g, long h,
	     long i, long j)
{
	__asm__ volatile("");
	return a + (b << 4) + (c << 8) + (d << 12) + (e << 16) + (f << 20) +
	       (g << 24) + (h << 28) + (i << 32) + (j << 36);
}

static long (*volatile jtarget_fp)(long, long, long, long, long, long, long,
				   long, long, long) = jtarget;

#define JTARGET_ARGS	1, 2, 3, 4, 5, 6, 7, 8, 9, 10
#define JTARGET_RESULT	0xa987654321L
#define JARGS	"1..10"

#endif

static long seen[NARGS];
static unsigned long entry_calls, kp_calls, order_seq;
static unsigned long entry_order, kp_order;	/* when each ran (1-based) */
static unsigned long kp_rdi;	/* the first argument's register */

#if defined(__x86_64__)
#define ARG0_REG	"rdi"
#else
#define ARG0_REG	"r3"
#endif

/*
 * The jprobe's entry: record, then spoil everything it may spoil before
 * jprobe_return(): its register arguments and the stack slots of the stack
 * arguments (g and h; on ppc64 i and j), which belong to jtarget's caller
 * (a compiler may write them, so the library must give jtarget the stack
 * as it was, as the kernel did with its copy of the stack).
 */
#if defined(__x86_64__)
static __attribute__((noinline, used))
long jentry(long a, long b, long c, long d, long e, long f, long g, long h)
{
	volatile long *stack_args;

	seen[0] = a;
	seen[1] = b;
	seen[2] = c;
	seen[3] = d;
	seen[4] = e;
	seen[5] = f;
	seen[6] = g;
	seen[7] = h;
	entry_order = __atomic_add_fetch(&order_seq, 1, __ATOMIC_RELAXED);
	cnt_inc(&entry_calls);

	/*
	 * g and h live at 16(%rbp) and 24(%rbp): the caller's argument area.
	 * Through the frame address, because a compiler may drop a store to
	 * a parameter it never reads again.
	 */
	stack_args = (volatile long *)__builtin_frame_address(0) + 2;
	stack_args[0] = -1;
	stack_args[1] = -2;
	__asm__ volatile(
		"xorl %%edi, %%edi\n\t"
		"xorl %%esi, %%esi\n\t"
		"xorl %%edx, %%edx\n\t"
		"xorl %%ecx, %%ecx\n\t"
		"xorl %%r8d, %%r8d\n\t"
		"xorl %%r9d, %%r9d\n\t"
		"movq $-1, %%rax\n\t"
		: : : "rdi", "rsi", "rdx", "rcx", "r8", "r9", "rax", "memory");
	jprobe_return();
}
#else /* __powerpc64__ */
static __attribute__((noinline, used))
long jentry(long a, long b, long c, long d, long e, long f, long g, long h,
	    long i, long j)
{
	volatile long *psa;
	unsigned long entry_sp;

	seen[0] = a;
	seen[1] = b;
	seen[2] = c;
	seen[3] = d;
	seen[4] = e;
	seen[5] = f;
	seen[6] = g;
	seen[7] = h;
	seen[8] = i;
	seen[9] = j;
	entry_order = __atomic_add_fetch(&order_seq, 1, __ATOMIC_RELAXED);
	cnt_inc(&entry_calls);

	/*
	 * The caller's parameter save area starts 32 bytes above r1 as it
	 * was at the entry, which is our frame's back chain: a..h have their
	 * home slots at 32..95 (a callee may spill its register arguments
	 * there), i and j are passed at 96 and 104. Spoil them all, through
	 * the back chain, because a compiler may drop a store to a parameter
	 * it never reads again.
	 */
	__asm__ volatile("ld %0, 0(1)" : "=r"(entry_sp));
	psa = (volatile long *)(entry_sp + 32);
	for (int k = 0; k < NARGS; k++)
		psa[k] = -1 - k;
	/* The argument registers, and r0, r11, r12 (scratch at an entry). */
	__asm__ volatile(
		"li 3, 0\n\t"
		"li 4, 0\n\t"
		"li 5, 0\n\t"
		"li 6, 0\n\t"
		"li 7, 0\n\t"
		"li 8, 0\n\t"
		"li 9, 0\n\t"
		"li 10, 0\n\t"
		"li 0, -1\n\t"
		"li 11, -1\n\t"
		"li 12, -1\n\t"
		: : : "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
		  "r11", "r12", "memory");
	jprobe_return();
}
#endif

/* Static, not on a test's stack: see kp_cleanup(). */
static struct jprobe jp, jp2;
static struct kprobe kp;

static int kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	kp_order = __atomic_add_fetch(&order_seq, 1, __ATOMIC_RELAXED);
#if defined(__x86_64__)
	kp_rdi = regs->rdi;
#else
	kp_rdi = regs->gpr[3];
#endif
	cnt_inc(&kp_calls);
	return 0;
}

static int setup(void **state)
{
	memset(&jp, 0, sizeof(jp));
	memset(&jp2, 0, sizeof(jp2));
	memset(&kp, 0, sizeof(kp));
	memset(seen, 0, sizeof(seen));
	cnt_set(&entry_calls, 0);
	cnt_set(&kp_calls, 0);
	cnt_set(&order_seq, 0);
	entry_order = kp_order = kp_rdi = 0;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct jprobe *jps[] = { &jp, &jp2 };
	struct kprobe *kps[] = { &kp };

	if (!kp_test_passed) {
		unregister_jprobes(jps, 2);
		unregister_kprobes(kps, 1);
	}
	kp_test_passed = 0;
	return 0;
}

static void init_jp(struct jprobe *j)
{
	memset(j, 0, sizeof(*j));
	j->kp.addr = (kprobe_opcode_t *)jtarget;
	j->entry = (void *)jentry;
}

static void check_seen(const char *when)
{
	int i;

	for (i = 0; i < NARGS; i++)
		kp_check_eq(seen[i], i + 1, "argument %d (%s) as the jprobe's "
			    "entry saw it, %s", i,
			    i < NREGARGS ? "in a register" : "on the stack",
			    when);
}

static void test_jprobe_args(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	long want = jtarget_fp(JTARGET_ARGS);

	kp_check_eq(want, JTARGET_RESULT, "jtarget(" JARGS ") unprobed");
	text_read(jtarget, saved, KP_TEXT_LEN);
	init_jp(&jp);
	kp_check_ret(register_jprobe(&jp), 0, "register_jprobe(jtarget)");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), want, "jtarget(" JARGS ") with a "
		    "jprobe whose entry changed its register arguments and "
		    "the stack slots of its stack arguments: jtarget must run "
		    "with the original arguments");
	kp_check_eq(cnt_get(&entry_calls), 1, "jprobe entry calls of one "
		    "call");
	check_seen("first call");

	memset(seen, 0, sizeof(seen));
	kp_check_eq(jtarget_fp(JTARGET_ARGS), want, "jtarget(" JARGS "), "
		    "second call");
	kp_check_eq(cnt_get(&entry_calls), 2, "jprobe entry calls of two "
		    "calls");
	check_seen("second call");

	unregister_jprobe(&jp);
	kp_check_text(jtarget, saved, "jtarget after unregister_jprobe()");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), want, "jtarget(" JARGS ") after "
		    "unregistering");
	kp_check_eq(cnt_get(&entry_calls), 2, "jprobe entry calls after "
		    "unregistering");
	kp_test_done();
}

static void test_jprobe_by_symbol(void **state)
{
	memset(&jp, 0, sizeof(jp));
	jp.kp.symbol_name = "jtarget";
	jp.entry = (void *)jentry;
	kp_check_ret(register_jprobe(&jp), 0, "register_jprobe() on symbol "
		     "\"jtarget\"");
	/* On ppc64 ELFv2: jtarget's local entry point, if it has one. */
	kp_check_eq(jp.kp.addr, kp_probed_entry(jtarget),
		    "jp.kp.addr filled in from the symbol");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ")");
	kp_check_eq(cnt_get(&entry_calls), 1, "jprobe entry calls");
	check_seen("probed by symbol");
	unregister_jprobe(&jp);
	kp_test_done();
}

static void test_jprobe_not_entry(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	int ret;

	text_read(jtarget, saved, KP_TEXT_LEN);

	init_jp(&jp);
	jp.kp.offset = 4;
	ret = register_jprobe(&jp);
	kp_check(ret < 0, "register_jprobe() on jtarget with kp.offset 4 "
		 "(not a function's entry) must fail with a negative errno; "
		 "returned %d (%s)", ret, kp_errname(ret));

	memset(&jp, 0, sizeof(jp));
	jp.kp.symbol_name = "jtarget";
	jp.kp.offset = 1;
	jp.entry = (void *)jentry;
	ret = register_jprobe(&jp);
	kp_check(ret < 0, "register_jprobe() on symbol \"jtarget\" with "
		 "kp.offset 1 must fail with a negative errno; returned %d "
		 "(%s)", ret, kp_errname(ret));

	init_jp(&jp);
	jp.kp.addr = (kprobe_opcode_t *)jtarget + 1;
	ret = register_jprobe(&jp);
	kp_check(ret < 0, "register_jprobe() on kp.addr = jtarget + 1 must "
		 "fail with a negative errno; returned %d (%s)", ret,
		 kp_errname(ret));

	kp_check_text(jtarget, saved, "jtarget after the failed "
		      "registrations");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ")");
	kp_check_eq(cnt_get(&entry_calls), 0, "jprobe entry calls after the "
		    "failed registrations");
	kp_test_done();
}

/* A kprobe and a jprobe on jtarget's entry: both handlers run, in either
 * order of registration, and jtarget still computes its result. */
static void jprobe_and_kprobe(int jprobe_first)
{
	const char *order = jprobe_first ? "jprobe registered first" :
					   "kprobe registered first";
	uint8_t saved[KP_TEXT_LEN];

	text_read(jtarget, saved, KP_TEXT_LEN);
	init_jp(&jp);
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)jtarget;
	kp.pre_handler = kp_pre;
	if (jprobe_first) {
		kp_check_ret(register_jprobe(&jp), 0, "register_jprobe()");
		kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() at "
			     "the jprobe's address");
	} else {
		kp_check_ret(register_kprobe(&kp), 0, "register_kprobe()");
		kp_check_ret(register_jprobe(&jp), 0, "register_jprobe() at "
			     "the kprobe's address");
	}
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ") with a jprobe and a kprobe (%s)",
		    order);
	kp_check_eq(cnt_get(&entry_calls), 1, "jprobe entry calls (%s)",
		    order);
	kp_check_eq(cnt_get(&kp_calls), 1, "kprobe pre_handler calls (%s)",
		    order);
	kp_check_eq(kp_rdi, 1, ARG0_REG " in the kprobe's pre_handler (%s)",
		    order);
	check_seen(order);

	unregister_kprobe(&kp);
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ") with only the jprobe left");
	kp_check_eq(cnt_get(&entry_calls), 2, "jprobe entry calls after the "
		    "kprobe was unregistered");
	kp_check_eq(cnt_get(&kp_calls), 1, "kprobe pre_handler calls after "
		    "it was unregistered");
	unregister_jprobe(&jp);
	kp_check_text(jtarget, saved, "jtarget after unregistering both");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ") unprobed");
	kp_test_done();
}

static void test_jprobe_then_kprobe(void **state)
{
	jprobe_and_kprobe(1);
}

static void test_kprobe_then_jprobe(void **state)
{
	jprobe_and_kprobe(0);
}

static void test_jprobes_batch(void **state)
{
	struct jprobe *jps[2] = { &jp, &jp2 };
	uint8_t saved[KP_TEXT_LEN];
	int ret;

	text_read(jtarget, saved, KP_TEXT_LEN);
	init_jp(&jp);
	init_jp(&jp2);
	jp2.kp.offset = 4;
	ret = register_jprobes(jps, 2);
	kp_check(ret < 0, "register_jprobes() when the second is not at a "
		 "function's entry must fail; returned %d", ret);
	kp_check_text(jtarget, saved, "jtarget after a failed batch: the "
		      "first jprobe must be unregistered again");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ")");
	kp_check_eq(cnt_get(&entry_calls), 0, "jprobe entry calls after a "
		    "failed batch");

	init_jp(&jp);
	kp_check_ret(register_jprobes(jps, 1), 0, "register_jprobes() of one");
	kp_check_eq(jtarget_fp(JTARGET_ARGS), JTARGET_RESULT,
		    "jtarget(" JARGS ")");
	kp_check_eq(cnt_get(&entry_calls), 1, "jprobe entry calls");
	unregister_jprobes(jps, 1);
	kp_check_text(jtarget, saved, "jtarget after unregister_jprobes()");
	kp_test_done();
}

#define JPROBE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		JPROBE_TEST(test_jprobe_args),
		JPROBE_TEST(test_jprobe_by_symbol),
		JPROBE_TEST(test_jprobe_not_entry),
		JPROBE_TEST(test_jprobe_then_kprobe),
		JPROBE_TEST(test_kprobe_then_jprobe),
		JPROBE_TEST(test_jprobes_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
