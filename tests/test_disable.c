// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * disable_kprobe()/enable_kprobe(): a disabled probe stays registered but
 * its text is the original and its handlers do not run; KPROBE_FLAG_DISABLED
 * before registration registers without arming.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

static __attribute__((noinline, used)) int target_dis(int x)
{
	__asm__ volatile("");
	return x - 9;
}

static int (*volatile dis_fp)(int) = target_dis;

static struct kprobe kp, kp2;
static unsigned long hits;
static uint8_t saved[KP_TEXT_LEN];

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return 0;
}

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)target_dis;
	kp.pre_handler = count_pre;
	cnt_set(&hits, 0);
	text_read(target_dis, saved, KP_TEXT_LEN);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp, &kp2 };

	kp_cleanup(all, 2);
	return 0;
}

/* Call the target once; return how many times the handler ran. */
static unsigned long hit(void)
{
	unsigned long before = cnt_get(&hits);

	kp_check_eq(dis_fp(10), 1, "target_dis(10)");
	return cnt_get(&hits) - before;
}

static void test_disable_enable(void **state)
{
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_dis)");
	kp_check_eq(hit(), 1, "handler runs, probe enabled");

	kp_check_ret(disable_kprobe(&kp), 0, "disable_kprobe()");
	kp_check_text(target_dis, saved, "disabled probe: text is original");
	kp_check(kp.flags & KPROBE_FLAG_DISABLED,
		 "disable_kprobe() sets KPROBE_FLAG_DISABLED in p->flags, as "
		 "the kernel does");
	kp_check_eq(hit(), 0, "handler runs while disabled");

	kp_check_ret(enable_kprobe(&kp), 0, "enable_kprobe()");
	kp_check_armed(target_dis, saved, "enabled again");
	kp_check(!(kp.flags & KPROBE_FLAG_DISABLED),
		 "enable_kprobe() clears KPROBE_FLAG_DISABLED");
	kp_check_eq(hit(), 1, "handler runs, enabled again");

	unregister_kprobe(&kp);
	kp_check_text(target_dis, saved, "after unregistering");
	kp_test_done();
}

/* Disabling twice or enabling twice is not an error (the kernel's
 * behaviour) and does not unbalance the arming. */
static void test_idempotent(void **state)
{
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_dis)");
	kp_check_ret(enable_kprobe(&kp), 0, "enable_kprobe() on an enabled "
		     "probe");
	kp_check_ret(disable_kprobe(&kp), 0, "disable_kprobe()");
	kp_check_ret(disable_kprobe(&kp), 0, "disable_kprobe() again");
	kp_check_text(target_dis, saved, "disabled twice");
	kp_check_ret(enable_kprobe(&kp), 0, "enable_kprobe()");
	kp_check_armed(target_dis, saved, "enabled once after two disables");
	kp_check_eq(hit(), 1, "handler runs");
	unregister_kprobe(&kp);
	kp_check_text(target_dis, saved, "after unregistering");
	kp_test_done();
}

static void test_register_disabled(void **state)
{
	kp.flags = KPROBE_FLAG_DISABLED;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe() with KPROBE_FLAG_DISABLED");
	kp_check_eq(kp.addr, target_dis, "p->addr, registered disabled");
	kp_check_text(target_dis, saved,
		      "registered with KPROBE_FLAG_DISABLED: not armed");
	kp_check_eq(hit(), 0, "handler runs, registered disabled");

	kp_check_ret(register_kprobe(&kp), -EINVAL,
		     "a disabled probe is registered: registering it again");

	kp_check_ret(enable_kprobe(&kp), 0, "enable_kprobe()");
	kp_check_armed(target_dis, saved, "enabled after a disabled "
		       "registration");
	kp_check_eq(hit(), 1, "handler runs once enabled");
	unregister_kprobe(&kp);
	kp_check_text(target_dis, saved, "after unregistering");
	kp_test_done();
}

/* Unregistering a disabled probe leaves the text original, and the struct
 * can be registered again. */
static void test_unregister_disabled(void **state)
{
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_dis)");
	kp_check_ret(disable_kprobe(&kp), 0, "disable_kprobe()");
	unregister_kprobe(&kp);
	kp_check_text(target_dis, saved, "unregistered while disabled");
	kp_check_eq(hit(), 0, "handler runs after unregistering");

	kp.flags = 0;
	kp.addr = (kprobe_opcode_t *)target_dis;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register again after unregistering a disabled probe");
	kp_check_eq(hit(), 1, "handler runs after registering again");
	unregister_kprobe(&kp);
	kp_test_done();
}

/*
 * Two probes at one address, one of them disabled: neither of the disabled
 * one's handlers runs, the post_handler included (it runs at the second
 * trap, after the pre_handlers, and checks the flag again there).
 */
static unsigned long posts, posts2, pres2;

static void count_post(struct kprobe *p, struct pt_regs *regs,
		       unsigned long flags)
{
	cnt_inc(&posts);
}

static int count_pre2(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pres2);
	return 0;
}

static void count_post2(struct kprobe *p, struct pt_regs *regs,
			unsigned long flags)
{
	cnt_inc(&posts2);
}

static void test_disabled_post_handler(void **state)
{
	kp.post_handler = count_post;
	kp2 = (struct kprobe){ .addr = (kprobe_opcode_t *)target_dis,
			       .pre_handler = count_pre2,
			       .post_handler = count_post2 };
	cnt_set(&posts, 0);
	cnt_set(&posts2, 0);
	cnt_set(&pres2, 0);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_dis)");
	kp_check_ret(register_kprobe(&kp2), 0, "a second probe there");
	kp_check_ret(disable_kprobe(&kp2), 0, "disable_kprobe(second)");
	kp_check_eq(hit(), 1, "the enabled probe's pre_handler runs");
	kp_check_eq(cnt_get(&posts), 1, "the enabled probe's post_handler "
		    "runs");
	kp_check_eq(cnt_get(&pres2), 0, "the disabled probe's pre_handler "
		    "runs");
	kp_check_eq(cnt_get(&posts2), 0, "the disabled probe's "
		    "post_handler runs");
	kp_check_ret(enable_kprobe(&kp2), 0, "enable_kprobe(second)");
	kp_check_eq(hit(), 1, "the first probe's pre_handler, both enabled");
	kp_check_eq(cnt_get(&pres2), 1, "the second's pre_handler, enabled");
	kp_check_eq(cnt_get(&posts2), 1, "the second's post_handler, "
		    "enabled");
	unregister_kprobe(&kp2);
	unregister_kprobe(&kp);
	kp_test_done();
}

static void test_not_registered(void **state)
{
	kp_check_ret(disable_kprobe(&kp), -EINVAL,
		     "disable_kprobe() on a probe that is not registered");
	kp_check_ret(enable_kprobe(&kp), -EINVAL,
		     "enable_kprobe() on a probe that is not registered");
	kp_check_text(target_dis, saved, "after enable/disable of an "
		      "unregistered probe");
	kp_check_eq(hit(), 0, "handler runs, never registered");
	kp_test_done();
}

#define DISABLE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		DISABLE_TEST(test_disable_enable),
		DISABLE_TEST(test_idempotent),
		DISABLE_TEST(test_register_disabled),
		DISABLE_TEST(test_unregister_disabled),
		DISABLE_TEST(test_not_registered),
		DISABLE_TEST(test_disabled_post_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
