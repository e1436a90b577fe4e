// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Honest stacks with return probes (the model: the kernel's
 * test_stacktrace_on_kretprobe and test_stacktrace_on_nested_kretprobe).
 * While a return is pending, the return address on the stack is one of the
 * library's trampolines; a stack walk must still show the real callers:
 *
 *   bt_top -> bt_middle -> bt_leaf
 *
 * - in bt_leaf's return handler: kprobe_backtrace(regs), glibc's
 *   backtrace(3) and libunwind's unw_backtrace() show bt_middle then
 *   bt_top;
 * - in a kprobe pre_handler at bt_leaf's entry, while bt_middle is
 *   return-probed: kprobe_backtrace(regs) shows bt_middle then bt_top,
 *   and no trampoline;
 * - in bt_leaf's body, while bt_middle is return-probed:
 *   kprobe_backtrace(NULL) likewise, and kretprobe_find_ret_addr() turns
 *   bt_middle's swapped return address into the real one;
 * - nested: bt_leaf and bt_middle both return-probed.
 *
 * "Shows bt_middle" means: contains the real return address of bt_leaf's
 * call in bt_middle, which the test learns from an unprobed run
 * (__builtin_return_address). Likewise for bt_top.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <dlfcn.h>
#include <execinfo.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define MAXFRAMES 64

/* What bt_leaf and bt_middle see as their return address: the real one
 * when unprobed, a trampoline while return-probed. */
static unsigned long seen_ra_leaf, seen_ra_middle;
/* The real ones, from the unprobed run. */
static unsigned long real_ra_middle, real_ra_top;

enum {
	LEAF_BACKTRACE = 1,	/* bt_leaf: kprobe_backtrace(NULL) */
	MIDDLE_FIND = 2,	/* bt_middle: kretprobe_find_ret_addr() */
};
static int body_mode;

static void *body_buf[MAXFRAMES];
static int body_n;
static unsigned long body_trans[MAXFRAMES];
static unsigned long middle_found;

static void translate(void *const *buf, int n, unsigned long *trans)
{
	int i;

	for (i = 0; i < n && i < MAXFRAMES; i++)
		trans[i] = kretprobe_find_ret_addr((unsigned long)buf[i]);
}

static __attribute__((noinline, used)) long bt_leaf(long x)
{
	seen_ra_leaf = (unsigned long)__builtin_return_address(0);
	if (body_mode & LEAF_BACKTRACE) {
		body_n = kprobe_backtrace(NULL, body_buf, MAXFRAMES);
		translate(body_buf, body_n, body_trans);
	}
	return x * 2 + 1;
}

static long (*volatile bt_leaf_fp)(long) = bt_leaf;

static __attribute__((noinline, used)) long bt_middle(long x)
{
	seen_ra_middle = (unsigned long)__builtin_return_address(0);
	if (body_mode & MIDDLE_FIND)
		middle_found = kretprobe_find_ret_addr(seen_ra_middle);
	return bt_leaf_fp(x) + 3;
}

static long (*volatile bt_middle_fp)(long) = bt_middle;

static __attribute__((noinline, used)) long bt_top(long x)
{
	return bt_middle_fp(x) * 5;
}

static long (*volatile bt_top_fp)(long) = bt_top;

#define BT_RESULT(x)	(((x) * 2 + 1 + 3) * 5)

/* ---- what the handlers capture ---- */

static void *kp_buf[MAXFRAMES], *glibc_buf[MAXFRAMES], *unw_buf[MAXFRAMES];
static int kp_n, glibc_n, unw_n;
static unsigned long kp_trans[MAXFRAMES];
static unsigned long handler_ip, handler_ret_addr;
static unsigned long handler_calls, middle_ret_calls;
static unsigned long pre_found;	/* find_ret_addr(bt_middle's trampoline) */

/* Once per test: a second capture would overwrite the first. */
static int captured;

static int capture_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&handler_calls);
	if (captured++)
		return 0;
	handler_ip = instruction_pointer(regs);
	handler_ret_addr = (unsigned long)ri->ret_addr;
	kp_n = kprobe_backtrace(regs, kp_buf, MAXFRAMES);
	translate(kp_buf, kp_n, kp_trans);
	glibc_n = backtrace(glibc_buf, MAXFRAMES);
	unw_n = unw_backtrace(unw_buf, MAXFRAMES);
	return 0;
}

static int count_middle_ret(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	cnt_inc(&middle_ret_calls);
	return 0;
}

/* Signal context: kprobe_backtrace() and kretprobe_find_ret_addr() are
 * async-signal-safe; backtrace(3) and unw_backtrace() are not called. */
static int capture_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&handler_calls);
	if (captured++)
		return 0;
	handler_ip = instruction_pointer(regs);
	kp_n = kprobe_backtrace(regs, kp_buf, MAXFRAMES);
	translate(kp_buf, kp_n, kp_trans);
	pre_found = kretprobe_find_ret_addr(seen_ra_middle);
	return 0;
}

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kretprobe rp_leaf, rp_middle;
static struct kprobe kp_leaf;

static int group_setup(void **state)
{
	void *warm[4];

	/* backtrace(3) loads libgcc_s on its first call: not in a handler. */
	backtrace(warm, 4);

	body_mode = 0;
	if (bt_top_fp(1) != BT_RESULT(1))
		return -1;
	real_ra_middle = seen_ra_leaf;
	real_ra_top = seen_ra_middle;
	return 0;
}

static int setup(void **state)
{
	memset(&rp_leaf, 0, sizeof(rp_leaf));
	memset(&rp_middle, 0, sizeof(rp_middle));
	memset(&kp_leaf, 0, sizeof(kp_leaf));
	memset(kp_buf, 0, sizeof(kp_buf));
	memset(glibc_buf, 0, sizeof(glibc_buf));
	memset(unw_buf, 0, sizeof(unw_buf));
	memset(body_buf, 0, sizeof(body_buf));
	kp_n = glibc_n = unw_n = body_n = 0;
	handler_ip = handler_ret_addr = 0;
	pre_found = middle_found = 0;
	cnt_set(&handler_calls, 0);
	cnt_set(&middle_ret_calls, 0);
	captured = 0;
	body_mode = 0;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kretprobe *rps[] = { &rp_leaf, &rp_middle };
	struct kprobe *kps[] = { &kp_leaf };

	body_mode = 0;
	if (!kp_test_passed) {
		unregister_kprobes(kps, 1);
		unregister_kretprobes(rps, 2);
	}
	kp_test_passed = 0;
	return 0;
}

/* ---- checking a captured stack ---- */

static const char *frame_name(unsigned long a, char *buf, size_t len)
{
	Dl_info info;

	if (a == real_ra_middle)
		return "in bt_middle (after the call of bt_leaf)";
	if (a == real_ra_top)
		return "in bt_top (after the call of bt_middle)";
	if (a == (unsigned long)bt_leaf)
		return "bt_leaf's entry";
	if (a == seen_ra_leaf || a == seen_ra_middle)
		return "a return trampoline";
	if (dladdr((void *)a, &info) && info.dli_fname) {
		snprintf(buf, len, "%s+%#lx (%s)",
			 info.dli_sname ? info.dli_sname : "?",
			 a - (unsigned long)(info.dli_sname ? info.dli_saddr :
					     info.dli_fbase),
			 info.dli_fname);
		return buf;
	}
	return "?";
}

static void dump_stack(const char *what, void *const *buf, int n)
{
	char name[256];
	int i;

	print_error("  %s, %d frames:\n", what, n);
	for (i = 0; i < n && i < MAXFRAMES; i++)
		print_error("   #%-2d %p  %s\n", i, buf[i],
			    frame_name((unsigned long)buf[i], name,
				       sizeof(name)));
}

static int find_frame(void *const *buf, int n, unsigned long a)
{
	int i;

	for (i = 0; i < n && i < MAXFRAMES; i++)
		if ((unsigned long)buf[i] == a)
			return i;
	return -1;
}

/*
 * @buf shows bt_middle, then bt_top; and none of the @ntramp trampoline
 * addresses in @tramp (those that differ from the real return address).
 */
static void check_stack(const char *what, void *const *buf, int n,
			const unsigned long *tramp, int ntramp)
{
	int i_mid = find_frame(buf, n, real_ra_middle);
	int i_top = find_frame(buf, n, real_ra_top);
	int ok = 1, i;

	if (n <= 0) {
		print_error("ERROR: %s returned %d frames (%s)\n", what, n,
			    kp_errname(n));
		fail();
	}
	if (i_mid < 0 || i_top < 0 || i_top < i_mid) {
		print_error("ERROR: %s must show bt_middle's frame (return "
			    "address %#lx) and then bt_top's (%#lx): found "
			    "them at %d and %d\n", what, real_ra_middle,
			    real_ra_top, i_mid, i_top);
		ok = 0;
	}
	for (i = 0; i < ntramp; i++) {
		int at = find_frame(buf, n, tramp[i]);

		if (at >= 0) {
			print_error("ERROR: %s shows the trampoline address "
				    "%#lx (frame #%d) instead of the real "
				    "return address\n", what, tramp[i], at);
			ok = 0;
		}
	}
	if (!ok) {
		dump_stack(what, buf, n);
		fail();
	}
}

/* No address of a kprobe_backtrace() result is a trampoline that
 * kretprobe_find_ret_addr() would still translate. */
static void check_translated(const char *what, void *const *buf, int n,
			     const unsigned long *trans)
{
	int i;

	for (i = 0; i < n && i < MAXFRAMES; i++)
		if (trans[i] != (unsigned long)buf[i]) {
			print_error("ERROR: %s frame #%d is %p, which "
				    "kretprobe_find_ret_addr() turns into "
				    "%#lx: a trampoline left untranslated\n",
				    what, i, buf[i], trans[i]);
			dump_stack(what, buf, n);
			fail();
		}
}

static void register_rp(struct kretprobe *r, void *fn, kretprobe_handler_t h)
{
	memset(r, 0, sizeof(*r));
	r->kp.addr = (kprobe_opcode_t *)fn;
	r->handler = h;
	kp_check_ret(register_kretprobe(r), 0, "register_kretprobe(%s)",
		     fn == (void *)bt_leaf ? "bt_leaf" : "bt_middle");
}

/* bt_leaf return-probed: call bt_top once, capture in the handler. */
static void run_leaf_probed(void)
{
	register_rp(&rp_leaf, bt_leaf, capture_ret);
	kp_check_eq(bt_top_fp(2), BT_RESULT(2), "bt_top(2) with bt_leaf "
		    "return-probed");
	unregister_kretprobe(&rp_leaf);
	kp_check_eq(cnt_get(&handler_calls), 1, "bt_leaf's return handler "
		    "calls");
	kp_check_eq(handler_ret_addr, real_ra_middle, "ri->ret_addr in "
		    "bt_leaf's return handler: the return address in "
		    "bt_middle");
}

/* (a) */
static void test_kprobe_backtrace_in_ret_handler(void **state)
{
	unsigned long tramp[1];

	run_leaf_probed();
	tramp[0] = seen_ra_leaf;
	check_stack("kprobe_backtrace(regs) in bt_leaf's return handler",
		    kp_buf, kp_n, tramp, seen_ra_leaf != real_ra_middle);
	kp_check_eq(kp_buf[0], handler_ip, "kprobe_backtrace(regs) frame #0: "
		    "the walk starts at instruction_pointer(regs)");
	check_translated("kprobe_backtrace(regs) in bt_leaf's return handler",
			 kp_buf, kp_n, kp_trans);
	kp_test_done();
}

/* (b) */
static void test_glibc_backtrace_in_ret_handler(void **state)
{
	run_leaf_probed();
	check_stack("glibc's backtrace(3) in bt_leaf's return handler",
		    glibc_buf, glibc_n, NULL, 0);
	kp_test_done();
}

/* (c) */
static void test_unw_backtrace_in_ret_handler(void **state)
{
	run_leaf_probed();
	check_stack("libunwind's unw_backtrace() in bt_leaf's return handler",
		    unw_buf, unw_n, NULL, 0);
	kp_test_done();
}

/* A kprobe (not a kretprobe) at bt_leaf's entry while bt_middle's return
 * is pending. */
static void test_kprobe_backtrace_in_pre_handler(void **state)
{
	unsigned long tramp[1];

	register_rp(&rp_middle, bt_middle, count_middle_ret);
	kp_leaf.addr = (kprobe_opcode_t *)bt_leaf;
	kp_leaf.pre_handler = capture_pre;
	kp_check_ret(register_kprobe(&kp_leaf), 0, "register_kprobe(bt_leaf)");
	kp_check_eq(bt_top_fp(3), BT_RESULT(3), "bt_top(3) with bt_middle "
		    "return-probed and a kprobe on bt_leaf");
	unregister_kprobe(&kp_leaf);
	unregister_kretprobe(&rp_middle);
	kp_check_eq(cnt_get(&handler_calls), 1, "pre_handler calls");
	kp_check_eq(cnt_get(&middle_ret_calls), 1, "bt_middle's return "
		    "handler calls");

	tramp[0] = seen_ra_middle;
	check_stack("kprobe_backtrace(regs) in a pre_handler at bt_leaf+0, "
		    "bt_middle return-probed", kp_buf, kp_n, tramp,
		    seen_ra_middle != real_ra_top);
	/* The probed address: bt_leaf's, or on ppc64 ELFv2 its local entry
	 * point, where the probe on a function's address goes. */
	kp_check_eq(kp_buf[0], (uintptr_t)kp_leaf.addr,
		    "kprobe_backtrace(regs) frame #0: the probed address");
	kp_check((uintptr_t)kp_buf[0] - (uintptr_t)bt_leaf <= 8, "the probe at bt_leaf's "
		 "entry: %#lx for bt_leaf at %p", (unsigned long)kp_buf[0],
		 (void *)bt_leaf);
	check_translated("kprobe_backtrace(regs) in a pre_handler at "
			 "bt_leaf+0", kp_buf, kp_n, kp_trans);
	kp_check_eq(pre_found, real_ra_top, "kretprobe_find_ret_addr(bt_middle's "
		    "return address as bt_middle saw it) in the pre_handler, "
		    "while bt_middle's return is pending: the real return "
		    "address in bt_top");
	kp_test_done();
}

/* Outside any handler: in bt_leaf's body while bt_middle is
 * return-probed. */
static void test_kprobe_backtrace_in_body(void **state)
{
	unsigned long tramp[1];

	register_rp(&rp_middle, bt_middle, count_middle_ret);
	body_mode = LEAF_BACKTRACE | MIDDLE_FIND;
	kp_check_eq(bt_top_fp(4), BT_RESULT(4), "bt_top(4) with bt_middle "
		    "return-probed");
	body_mode = 0;
	unregister_kretprobe(&rp_middle);
	kp_check_eq(cnt_get(&middle_ret_calls), 1, "bt_middle's return "
		    "handler calls");

	kp_check_eq(middle_found, real_ra_top, "kretprobe_find_ret_addr() of "
		    "bt_middle's own return address (a trampoline while it "
		    "is return-probed), called in bt_middle: the real return "
		    "address in bt_top");
	tramp[0] = seen_ra_middle;
	check_stack("kprobe_backtrace(NULL) in bt_leaf, bt_middle "
		    "return-probed", body_buf, body_n, tramp,
		    seen_ra_middle != real_ra_top);
	check_translated("kprobe_backtrace(NULL) in bt_leaf", body_buf, body_n,
			 body_trans);
	kp_test_done();
}

/* Both bt_leaf and bt_middle return-probed: in bt_leaf's return handler,
 * bt_middle's return is still pending. */
static void test_kprobe_backtrace_nested(void **state)
{
	unsigned long tramp[2];
	int ntramp = 0;

	register_rp(&rp_middle, bt_middle, count_middle_ret);
	register_rp(&rp_leaf, bt_leaf, capture_ret);
	kp_check_eq(bt_top_fp(5), BT_RESULT(5), "bt_top(5) with bt_leaf and "
		    "bt_middle return-probed");
	unregister_kretprobe(&rp_leaf);
	unregister_kretprobe(&rp_middle);
	kp_check_eq(cnt_get(&handler_calls), 1, "bt_leaf's return handler "
		    "calls");
	kp_check_eq(cnt_get(&middle_ret_calls), 1, "bt_middle's return "
		    "handler calls");
	kp_check_eq(handler_ret_addr, real_ra_middle, "ri->ret_addr in "
		    "bt_leaf's return handler");

	if (seen_ra_leaf != real_ra_middle)
		tramp[ntramp++] = seen_ra_leaf;
	if (seen_ra_middle != real_ra_top)
		tramp[ntramp++] = seen_ra_middle;
	check_stack("kprobe_backtrace(regs) in bt_leaf's return handler, "
		    "bt_middle's return pending", kp_buf, kp_n, tramp,
		    ntramp);
	check_translated("kprobe_backtrace(regs) in bt_leaf's return handler, "
			 "nested", kp_buf, kp_n, kp_trans);
	kp_test_done();
}

#define BT_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BT_TEST(test_kprobe_backtrace_in_ret_handler),
		BT_TEST(test_glibc_backtrace_in_ret_handler),
		BT_TEST(test_unw_backtrace_in_ret_handler),
		BT_TEST(test_kprobe_backtrace_in_pre_handler),
		BT_TEST(test_kprobe_backtrace_in_body),
		BT_TEST(test_kprobe_backtrace_nested),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
