// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Several struct kprobe on one address (the kernel's aggregate probes): every
 * pre_handler runs on each hit, in registration order, each with its own
 * struct; removing one keeps the others; removing the last restores the text.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

/* targets_x86_64.S, targets_ppc64.S: starts with an instruction that
 * copies the first argument into T_ADD_DST (movq %rdi, %rax, 3 bytes;
 * mr r5, r3, 4 bytes: T_ADD_SECOND_OFF). */
long t_add(long a, long b);

#if defined(__x86_64__)
#define REG_ARG0(regs)	((regs)->rdi)
#define AGG_ONE		1
#elif defined(__powerpc64__)
#define REG_ARG0(regs)	((regs)->gpr[3])
/*
 * target_agg reads a global: it needs its TOC pointer, so on ELFv2 it has
 * a local entry point after the TOC setup, where the probes on its name
 * and on its address must meet (kp_probed_entry()).
 */
static volatile int agg_one = 1;
#define AGG_ONE		agg_one
#endif

static __attribute__((noinline, used)) int target_agg(int x)
{
	__asm__ volatile("");
	return x * 5 + AGG_ONE;
}

static int (*volatile agg_fp)(int) = target_agg;
/* Where the probes on target_agg land (setup()). */
static void *agg_site;

/*
 * The handlers append their probe's id to a log, so the order of calls
 * within a hit is visible. Only one thread hits here.
 */
#define LOG_MAX 64
static int call_log[LOG_MAX];
static unsigned long log_len;
static unsigned long wrong_p;	/* handler called with another's struct */

static struct kprobe kp1, kp2, kp3;

static void log_call(int id)
{
	unsigned long i = __atomic_fetch_add(&log_len, 1, __ATOMIC_RELAXED);

	if (i < LOG_MAX)
		call_log[i] = id;
}

static int pre1(struct kprobe *p, struct pt_regs *regs)
{
	if (p != &kp1)
		cnt_inc(&wrong_p);
	log_call(1);
	return 0;
}

static int pre2(struct kprobe *p, struct pt_regs *regs)
{
	if (p != &kp2)
		cnt_inc(&wrong_p);
	log_call(2);
	return 0;
}

static int pre3(struct kprobe *p, struct pt_regs *regs)
{
	if (p != &kp3)
		cnt_inc(&wrong_p);
	log_call(3);
	return 0;
}

/* Does the job of t_add's first instruction (movq %rdi, %rax; mr r5, r3),
 * steps over it and returns 1. */
static int pre1_takes_over(struct kprobe *p, struct pt_regs *regs)
{
	log_call(1);
	T_ADD_DST(regs) = REG_ARG0(regs);
	instruction_pointer_set(regs, instruction_pointer(regs) +
				T_ADD_SECOND_OFF);
	return 1;
}

static void post1(struct kprobe *p, struct pt_regs *regs, unsigned long fl)
{
	if (p != &kp1)
		cnt_inc(&wrong_p);
	log_call(-1);
}

static int setup(void **state)
{
	memset(&kp1, 0, sizeof(kp1));
	memset(&kp2, 0, sizeof(kp2));
	memset(&kp3, 0, sizeof(kp3));
	kp1.addr = (kprobe_opcode_t *)target_agg;
	kp1.pre_handler = pre1;
	kp2.addr = (kprobe_opcode_t *)target_agg;
	kp2.pre_handler = pre2;
	kp3.addr = (kprobe_opcode_t *)target_agg;
	kp3.pre_handler = pre3;
	agg_site = kp_probed_entry(target_agg);
	cnt_set(&log_len, 0);
	cnt_set(&wrong_p, 0);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp1, &kp2, &kp3 };

	kp_cleanup(all, 3);
	return 0;
}

/* One call of the target, returning the log it produced as a string
 * ("1 2 -1"), for messages and comparison. */
static const char *hit_once(int x)
{
	static char buf[128];
	unsigned long i, n;
	size_t o = 0;

	cnt_set(&log_len, 0);
	kp_check_eq(agg_fp(x), x * 5 + 1, "target_agg(%d)", x);
	n = cnt_get(&log_len);
	buf[0] = '\0';
	for (i = 0; i < n && i < LOG_MAX && o < sizeof(buf) - 8; i++)
		o += snprintf(buf + o, sizeof(buf) - o, "%s%d", i ? " " : "",
			      call_log[i]);
	return buf;
}

#define check_log(x, expect, ...) do {					\
	const char *got_ = hit_once(x);					\
	if (strcmp(got_, (expect)) != 0) {				\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": handler calls \"%s\", expected \"%s\" "	\
			    "(ids of pre_handlers, -1 = kp1's post)\n",	\
			    got_, (expect));				\
		fail();							\
	}								\
} while (0)

static void test_two_probes_remove_first(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1");
	kp_check_ret(register_kprobe(&kp2), 0,
		     "register kp2 on the same address");
	kp_check_eq(kp2.addr, agg_site, "kp2.addr");
	kp_check_armed(agg_site, saved, "two probes on one address");

	check_log(1, "1 2", "one hit, kp1 then kp2 registered");
	check_log(2, "1 2", "second hit");

	unregister_kprobe(&kp1);
	kp_check_armed(agg_site, saved,
		       "kp2 still registered after removing kp1");
	check_log(3, "2", "hit after removing kp1");

	unregister_kprobe(&kp2);
	kp_check_text(agg_site, saved, "after removing both probes");
	check_log(4, "", "hit after removing both");
	kp_check_eq(cnt_get(&wrong_p), 0,
		    "handler calls given another probe's struct kprobe");
	kp_test_done();
}

static void test_two_probes_remove_second(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp2), 0, "register kp2");
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1 after kp2");
	check_log(1, "2 1", "kp2 registered before kp1: registration order");

	unregister_kprobe(&kp1);
	check_log(2, "2", "hit after removing the later probe kp1");
	unregister_kprobe(&kp2);
	kp_check_text(agg_site, saved, "after removing both probes");
	kp_check_eq(cnt_get(&wrong_p), 0,
		    "handler calls given another probe's struct kprobe");
	kp_test_done();
}

/* By symbol and by address: both resolve to the same probe point (on
 * ppc64 ELFv2, target_agg's local entry point). */
static void test_symbol_and_addr(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp1.addr = NULL;
	kp1.symbol_name = "target_agg";
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1 by symbol");
	kp_check_ret(register_kprobe(&kp2), 0, "register kp2 by address");
	kp_check_eq(kp1.addr, agg_site, "kp1.addr, by symbol");
	kp_check_eq(kp2.addr, agg_site, "kp2.addr, by address");
	kp_check_armed(agg_site, saved, "probes by symbol and by address");
	check_log(1, "1 2", "probes by symbol and by address");
	unregister_kprobe(&kp2);
	unregister_kprobe(&kp1);
	kp_check_text(agg_site, saved, "after removing both probes");
	kp_test_done();
}

/* Three probes, the middle one removed; only kp1 has a post_handler. */
static void test_three_with_post(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp1.post_handler = post1;
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1 (with post)");
	kp_check_ret(register_kprobe(&kp2), 0, "register kp2");
	kp_check_ret(register_kprobe(&kp3), 0, "register kp3");
	check_log(1, "1 2 3 -1",
		  "three pre_handlers in order, then kp1's post_handler");
	unregister_kprobe(&kp2);
	check_log(2, "1 3 -1", "after removing the middle probe kp2");
	unregister_kprobe(&kp1);
	check_log(3, "3", "after removing kp1 (and its post_handler)");
	unregister_kprobe(&kp3);
	kp_check_text(agg_site, saved, "after removing all three");
	kp_check_eq(cnt_get(&wrong_p), 0,
		    "handler calls given another probe's struct kprobe");
	kp_test_done();
}

/* Disabling one member keeps the others armed; disabling all disarms. */
static void test_disable_member(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1");
	kp_check_ret(register_kprobe(&kp2), 0, "register kp2");

	kp_check_ret(disable_kprobe(&kp1), 0, "disable kp1");
	kp_check_armed(agg_site, saved, "kp2 still enabled");
	check_log(1, "2", "kp1 disabled, kp2 enabled");

	kp_check_ret(disable_kprobe(&kp2), 0, "disable kp2");
	kp_check_text(agg_site, saved, "both members disabled");
	check_log(2, "", "both members disabled");

	kp_check_ret(enable_kprobe(&kp1), 0, "enable kp1");
	kp_check_armed(agg_site, saved, "kp1 enabled again");
	check_log(3, "1", "kp1 enabled, kp2 disabled");

	unregister_kprobe(&kp1);
	kp_check_text(agg_site, saved,
		      "kp1 removed, the remaining kp2 is disabled");
	check_log(4, "", "kp1 removed, kp2 disabled");
	kp_check_ret(enable_kprobe(&kp2), 0, "enable kp2");
	check_log(5, "2", "kp2 enabled alone");
	unregister_kprobe(&kp2);
	kp_check_text(agg_site, saved, "after removing both probes");
	kp_test_done();
}

/* A member registered with KPROBE_FLAG_DISABLED joins without running. */
static void test_join_disabled(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(agg_site, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1");
	kp2.flags = KPROBE_FLAG_DISABLED;
	kp_check_ret(register_kprobe(&kp2), 0,
		     "register kp2 with KPROBE_FLAG_DISABLED");
	check_log(1, "1", "kp2 registered disabled");
	kp_check_ret(enable_kprobe(&kp2), 0, "enable kp2");
	check_log(2, "1 2", "kp2 enabled");
	unregister_kprobe(&kp1);
	unregister_kprobe(&kp2);
	kp_check_text(agg_site, saved, "after removing both probes");
	kp_test_done();
}

/*
 * A pre_handler returning non-zero ends the chain: the later pre_handlers
 * and all post_handlers are skipped for that hit (the kernel's
 * aggr_pre_handler does the same).
 */
static void test_pre_taking_over_ends_chain(void **state)
{
	long (*volatile add_fp)(long, long) = t_add;
	uint8_t saved[KP_TEXT_LEN];

	text_read(t_add, saved, KP_TEXT_LEN);
	kp1.addr = (kprobe_opcode_t *)t_add;
	kp1.pre_handler = pre1_takes_over;
	kp2.addr = (kprobe_opcode_t *)t_add;
	kp2.post_handler = post1;
	kp_check_ret(register_kprobe(&kp1), 0, "register kp1 on t_add");
	kp_check_ret(register_kprobe(&kp2), 0, "register kp2 on t_add");
	cnt_set(&log_len, 0);
	kp_check_eq(add_fp(2, 3), 5, "t_add(2, 3), kp1 doing its first "
		    "instruction's job");
	kp_check_eq(cnt_get(&log_len), 1,
		    "handler calls when kp1's pre_handler returned 1: kp2's "
		    "pre_handler and the post_handlers must not run");
	unregister_kprobe(&kp1);
	unregister_kprobe(&kp2);
	kp_check_text(t_add, saved, "t_add after removing both probes");
	kp_test_done();
}

#define AGG_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		AGG_TEST(test_two_probes_remove_first),
		AGG_TEST(test_two_probes_remove_second),
		AGG_TEST(test_symbol_and_addr),
		AGG_TEST(test_three_with_post),
		AGG_TEST(test_disable_member),
		AGG_TEST(test_join_disabled),
		AGG_TEST(test_pre_taking_over_ends_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
