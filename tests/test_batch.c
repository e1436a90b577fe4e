// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * register_kprobes()/unregister_kprobes(): all or nothing. When kps[i]
 * fails, kps[0..i-1] are unregistered again (text restored, registrable
 * later), and a probe registered before the call is left alone.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

/*
 * Three probed at once: aligned so that the KP_TEXT_LEN bytes compared
 * after one of them do not reach into the next one's breakpoint.
 */
static __attribute__((noinline, used, aligned(32))) int target_b0(int x)
{
	__asm__ volatile("");
	return x + 10;
}

static __attribute__((noinline, used, aligned(32))) int target_b1(int x)
{
	__asm__ volatile("");
	return x + 20;
}

static __attribute__((noinline, used, aligned(32))) int target_b2(int x)
{
	__asm__ volatile("");
	return x + 30;
}

static int (*volatile b_fp[3])(int) = { target_b0, target_b1, target_b2 };
static void *const targets[3] = {
	(void *)target_b0, (void *)target_b1, (void *)target_b2
};

static struct kprobe kps[4];
static struct kprobe *kpp[4] = { &kps[0], &kps[1], &kps[2], &kps[3] };
static unsigned long hits[3];
static uint8_t saved[3][KP_TEXT_LEN];

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	int i;

	for (i = 0; i < 3; i++)
		if ((void *)p->addr == targets[i])
			cnt_inc(&hits[i]);
	return 0;
}

/* kps[i] probes targets[i] by address (kps[3] too, on target_b0). */
static void init_probes(void)
{
	int i;

	memset(kps, 0, sizeof(kps));
	for (i = 0; i < 4; i++) {
		kps[i].addr = (kprobe_opcode_t *)targets[i % 3];
		kps[i].pre_handler = count_pre;
	}
}

static int setup(void **state)
{
	int i;

	init_probes();
	for (i = 0; i < 3; i++) {
		cnt_set(&hits[i], 0);
		text_read(targets[i], saved[i], KP_TEXT_LEN);
	}
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	kp_cleanup(kpp, 4);
	return 0;
}

static void call_all(void)
{
	int i;

	for (i = 0; i < 3; i++)
		kp_check_eq(b_fp[i](1), 1 + 10 * (i + 1), "target_b%d(1)", i);
}

static void test_all_succeed(void **state)
{
	int i;

	kp_check_ret(register_kprobes(kpp, 3), 0,
		     "register_kprobes() of three valid probes");
	for (i = 0; i < 3; i++) {
		kp_check_armed(targets[i], saved[i], "kps[%d] armed", i);
		kp_check_eq(kps[i].addr, targets[i], "kps[%d].addr", i);
	}
	call_all();
	for (i = 0; i < 3; i++)
		kp_check_eq(cnt_get(&hits[i]), 1, "hits of target_b%d", i);

	unregister_kprobes(kpp, 3);
	for (i = 0; i < 3; i++)
		kp_check_text(targets[i], saved[i],
			      "target_b%d after unregister_kprobes()", i);
	call_all();
	for (i = 0; i < 3; i++)
		kp_check_eq(cnt_get(&hits[i]), 1,
			    "hits of target_b%d after unregister_kprobes()", i);
	kp_test_done();
}

/*
 * kps[2] fails: kps[0] and kps[1] must be rolled back, and can be
 * registered again afterwards.
 */
static void check_rollback(int expect, const char *why)
{
	int i;

	kp_check_ret(register_kprobes(kpp, 3), expect,
		     "register_kprobes() where kps[2] %s", why);
	for (i = 0; i < 3; i++)
		kp_check_text(targets[i], saved[i],
			      "target_b%d after a failed register_kprobes() "
			      "(kps[2] %s)", i, why);
	call_all();
	for (i = 0; i < 3; i++)
		kp_check_eq(cnt_get(&hits[i]), 0,
			    "hits of target_b%d after the rollback", i);
	kp_check_ret(disable_kprobe(&kps[0]), -EINVAL,
		     "disable_kprobe(kps[0]) after the rollback: kps[0] "
		     "must not be registered any more");

	/* Rolled back probes can be registered again. */
	kps[0].addr = (kprobe_opcode_t *)targets[0];
	kps[1].addr = (kprobe_opcode_t *)targets[1];
	kp_check_ret(register_kprobe(&kps[0]), 0,
		     "register kps[0] again after the rollback");
	kp_check_ret(register_kprobe(&kps[1]), 0,
		     "register kps[1] again after the rollback");
	call_all();
	kp_check_eq(cnt_get(&hits[0]), 1, "hits of target_b0, re-registered");
	kp_check_eq(cnt_get(&hits[1]), 1, "hits of target_b1, re-registered");
	unregister_kprobe(&kps[0]);
	unregister_kprobe(&kps[1]);
}

static void test_rollback_unknown_symbol(void **state)
{
	kps[2].addr = NULL;
	kps[2].symbol_name = "libkprobe_test_no_such_symbol";
	check_rollback(-ENOENT, "names an unknown symbol");
	kp_test_done();
}

static void test_rollback_bad_address(void **state)
{
	static long not_code;

	kps[2].addr = (kprobe_opcode_t *)&not_code;
	check_rollback(-EINVAL, "is the address of a variable");
	kp_test_done();
}

/* kps[2] is the same struct as kps[0]: already registered by this call. */
static void test_rollback_duplicate(void **state)
{
	struct kprobe *dup[3] = { &kps[0], &kps[1], &kps[0] };
	int i;

	kp_check_ret(register_kprobes(dup, 3), -EINVAL,
		     "register_kprobes() with the same struct twice");
	for (i = 0; i < 2; i++)
		kp_check_text(targets[i], saved[i],
			      "target_b%d after the failed batch", i);
	kp_check_ret(disable_kprobe(&kps[0]), -EINVAL,
		     "kps[0] must not be registered after the failed batch");
	kp_test_done();
}

/* Rollback of two probes on one address (an aggregate) restores it. */
static void test_rollback_aggregate(void **state)
{
	struct kprobe *batch[3] = { &kps[0], &kps[3], &kps[2] };

	kps[2].addr = NULL;
	kps[2].symbol_name = "libkprobe_test_no_such_symbol";
	kp_check_ret(register_kprobes(batch, 3), -ENOENT,
		     "register_kprobes() of two probes on target_b0 and an "
		     "unknown symbol");
	kp_check_text(targets[0], saved[0],
		      "target_b0 after rolling back both its probes");
	call_all();
	kp_check_eq(cnt_get(&hits[0]), 0, "hits of target_b0");
	kp_test_done();
}

/*
 * A probe registered before the batch and named in it: the batch fails on
 * it (already registered) and must not unregister it while rolling back.
 */
static void test_rollback_keeps_earlier_probe(void **state)
{
	kp_check_ret(register_kprobe(&kps[1]), 0, "register kps[1] alone");
	kp_check_ret(register_kprobes(kpp, 3), -EINVAL,
		     "register_kprobes() including the registered kps[1]");
	kp_check_text(targets[0], saved[0], "kps[0] rolled back");
	kp_check_text(targets[2], saved[2], "kps[2] never registered");
	kp_check_armed(targets[1], saved[1],
		       "kps[1], registered before the batch, must stay armed");
	call_all();
	kp_check_eq(cnt_get(&hits[1]), 1,
		    "hits of kps[1], registered before the failed batch");
	kp_check_eq(cnt_get(&hits[0]), 0, "hits of the rolled back kps[0]");
	unregister_kprobe(&kps[1]);
	kp_check_text(targets[1], saved[1], "after unregistering kps[1]");
	kp_test_done();
}

/* Malformed batches: -EINVAL, nothing registered; unregister_kprobes()
 * ignores them. */
static void test_bad_arguments(void **state)
{
	struct kprobe *with_null[3] = { &kps[0], NULL, &kps[2] };
	int i;

	kp_check_ret(register_kprobes(NULL, 1), -EINVAL,
		     "register_kprobes(NULL, 1)");
	kp_check_ret(register_kprobes(kpp, 0), -EINVAL,
		     "register_kprobes(kps, 0)");
	kp_check_ret(register_kprobes(kpp, -1), -EINVAL,
		     "register_kprobes(kps, -1)");
	kp_check_ret(register_kprobes(with_null, 3), -EINVAL,
		     "register_kprobes() with a NULL entry");
	for (i = 0; i < 3; i++)
		kp_check_text(targets[i], saved[i],
			      "target_b%d after the malformed batches", i);
	kp_check_ret(disable_kprobe(&kps[0]), -EINVAL,
		     "kps[0] must not be registered after a batch with a "
		     "NULL entry failed");
	unregister_kprobes(NULL, 1);
	unregister_kprobes(kpp, 0);
	unregister_kprobes(with_null, 3);
	call_all();
	kp_test_done();
}

#define BATCH_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BATCH_TEST(test_all_succeed),
		BATCH_TEST(test_rollback_unknown_symbol),
		BATCH_TEST(test_rollback_bad_address),
		BATCH_TEST(test_rollback_duplicate),
		BATCH_TEST(test_rollback_aggregate),
		BATCH_TEST(test_rollback_keeps_earlier_probe),
		BATCH_TEST(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
