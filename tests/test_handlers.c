// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What handlers see and what they can do: pre before post, the registers
 * before and after the probed instruction, a pre_handler that returns
 * non-zero after changing the instruction pointer (override a function's
 * return, redirect a call, skip an instruction), and register writes from a
 * post_handler.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

/* targets_x86_64.S, targets_ppc64.S: t_add's first instruction copies the
 * first argument into T_ADD_DST (movq %rdi, %rax, 3 bytes; mr r5, r3, 4
 * bytes), t_add_second is the add after it (testutil.h). */
long t_add(long a, long b);
extern char t_add_second[];

#if defined(__x86_64__)
#define REG_ARG0(regs)	((regs)->rdi)
#define REG_ARG1(regs)	((regs)->rsi)
#define REG_SP(regs)	((regs)->rsp)
#define T_ADD_FIRST	"movq %rdi, %rax"
#define T_ADD_DST_NAME	"rax"
#define ARG_NAMES	"rdi", "rsi"
#define SP_NAME		"rsp"
#elif defined(__powerpc64__)
#define REG_ARG0(regs)	((regs)->gpr[3])
#define REG_ARG1(regs)	((regs)->gpr[4])
#define REG_SP(regs)	((regs)->gpr[1])
#define T_ADD_FIRST	"mr r5, r3"
#define T_ADD_DST_NAME	"r5"
#define ARG_NAMES	"r3", "r4"
#define SP_NAME		"r1"
#endif

static const char *const arg_names[] = { ARG_NAMES };

static long (*volatile t_add_fp)(long, long) = t_add;

static unsigned long body_runs;

static __attribute__((noinline, used)) int target_double(int x)
{
	__atomic_fetch_add(&body_runs, 1, __ATOMIC_RELAXED);
	return x * 2;
}

#if defined(__powerpc64__)
/*
 * On ppc64 the replacement reads a global, so it needs its TOC pointer:
 * entered at its global entry point it computes it from r12, which the
 * redirecting pre_handler sets as a call through a pointer would.
 */
static volatile int replacement_add = 1000;
#define REPLACEMENT_ADD	replacement_add
#else
#define REPLACEMENT_ADD	1000
#endif

static __attribute__((noinline, used)) int target_replacement(int x)
{
	__asm__ volatile("");
	return x + REPLACEMENT_ADD;
}

static int (*volatile double_fp)(int) = target_double;

/* An ordered record of the handler calls of one hit (one thread). */
struct event {
	char kind;		/* 'p' pre, 'P' post */
	unsigned long ip;
	unsigned long dst;	/* T_ADD_DST: rax; r5 on ppc64 */
	unsigned long arg0, arg1, sp;	/* rdi, rsi, rsp; r3, r4, r1 */
	unsigned long flags;
	struct kprobe *p;
};

#define MAX_EVENTS 8
static struct event events[MAX_EVENTS];
static unsigned long nevents;

static void record(char kind, struct kprobe *p, struct pt_regs *regs,
		   unsigned long flags)
{
	unsigned long i = __atomic_fetch_add(&nevents, 1, __ATOMIC_RELAXED);

	if (i >= MAX_EVENTS)
		return;
	events[i].kind = kind;
	events[i].ip = instruction_pointer(regs);
	events[i].dst = T_ADD_DST(regs);
	events[i].arg0 = REG_ARG0(regs);
	events[i].arg1 = REG_ARG1(regs);
	events[i].sp = REG_SP(regs);
	events[i].flags = flags;
	events[i].p = p;
}

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kprobe kp;

static int setup(void **state)
{
	cnt_set(&nevents, 0);
	memset(events, 0, sizeof(events));
	cnt_set(&body_runs, 0);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp };

	kp_cleanup(all, 1);
	return 0;
}

static int rec_pre(struct kprobe *p, struct pt_regs *regs)
{
	record('p', p, regs, 0);
	return 0;
}

static void rec_post(struct kprobe *p, struct pt_regs *regs,
		     unsigned long flags)
{
	record('P', p, regs, flags);
}

static void test_pre_then_post(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.pre_handler = rec_pre,
		.post_handler = rec_post,
	};

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_add)");
	kp_check_eq(t_add_fp(5, 6), 11, "t_add(5, 6) with pre and post");
	unregister_kprobe(&kp);

	kp_check_eq(cnt_get(&nevents), 2, "handler calls for one hit");
	kp_check_eq(events[0].kind, 'p', "first handler call must be pre");
	kp_check_eq(events[1].kind, 'P', "second handler call must be post");
	kp_check_eq(events[0].p, &kp, "struct kprobe given to pre_handler");
	kp_check_eq(events[1].p, &kp, "struct kprobe given to post_handler");
	kp_check_eq(events[0].ip, t_add,
		    "instruction_pointer(regs) in pre_handler == p->addr");
	kp_check_eq(events[0].arg0, 5, "%s (first argument) in pre_handler",
		    arg_names[0]);
	kp_check_eq(events[0].arg1, 6, "%s (second argument) in pre_handler",
		    arg_names[1]);
	kp_check_eq(events[1].ip, t_add_second,
		    "instruction_pointer(regs) in post_handler: the next "
		    "instruction, t_add + %d", T_ADD_SECOND_OFF);
	kp_check_eq(events[1].dst, 5,
		    "%s in post_handler after %s ran", T_ADD_DST_NAME,
		    T_ADD_FIRST);
	kp_check_eq(events[1].sp, events[0].sp,
		    "%s in post_handler after %s: unchanged", SP_NAME,
		    T_ADD_FIRST);
	kp_check_eq(events[1].flags, 0, "post_handler's flags argument");
	kp_test_done();
}

static void test_post_only(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.post_handler = rec_post,
	};

	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(t_add) with only a post_handler");
	kp_check_eq(t_add_fp(1, 2), 3, "t_add(1, 2) with a post_handler");
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&nevents), 1, "post_handler calls for one hit");
	kp_check_eq(events[0].kind, 'P', "the call is the post_handler");
	kp_check_eq(events[0].ip, t_add_second,
		    "instruction_pointer(regs) in post_handler");
	kp_test_done();
}

/* A probe without handlers still has to execute the instruction right. */
static void test_no_handlers(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	kp = (struct kprobe){ .addr = (kprobe_opcode_t *)t_add };
	text_read(t_add, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(t_add) without handlers");
	kp_check_armed(t_add, saved, "probe without handlers");
	kp_check_eq(t_add_fp(20, 22), 42, "t_add(20, 22), probe without "
		    "handlers");
	unregister_kprobe(&kp);
	kp_check_text(t_add, saved, "after unregistering");
	kp_test_done();
}

static int override_pre(struct kprobe *p, struct pt_regs *regs)
{
	record('p', p, regs, 0);
	regs_set_return_value(regs, 7);
	override_function_with_return(regs);
	return 1;
}

/* Return 7 from target_double's entry: the body never runs, and the post
 * handler does not either (the probed instruction was not executed). */
static void test_override_return(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_double,
		.pre_handler = override_pre,
		.post_handler = rec_post,
	};

	kp_check_eq(double_fp(4), 8, "target_double(4) before registering");
	cnt_set(&body_runs, 0);
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_double)");
	kp_check_eq(double_fp(4), 7,
		    "target_double(4) with a pre_handler that sets the return "
		    "value 7, overrides the function and returns 1");
	kp_check_eq(double_fp(100), 7, "target_double(100), overridden");
	kp_check_eq(cnt_get(&body_runs), 0,
		    "runs of target_double's body while overridden");
	kp_check_eq(cnt_get(&nevents), 2,
		    "handler calls for two overridden calls (pre only: the "
		    "post_handler must not run when the pre_handler returned "
		    "1, as in the kernel)");
	unregister_kprobe(&kp);
	kp_check_eq(double_fp(4), 8, "target_double(4) after unregistering");
	kp_check_eq(cnt_get(&body_runs), 1, "body runs after unregistering");
	kp_test_done();
}

static int redirect_pre(struct kprobe *p, struct pt_regs *regs)
{
	instruction_pointer_set(regs, (unsigned long)target_replacement);
#if defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
	/* ELFv2: a global entry point takes its own address in r12. */
	regs->gpr[12] = (unsigned long)target_replacement;
#endif
	return 1;
}

/* Send every call of target_double to target_replacement. */
static void test_redirect(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_double,
		.pre_handler = redirect_pre,
	};

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_double)");
	kp_check_eq(double_fp(5), 1005,
		    "target_double(5) redirected to target_replacement by a "
		    "pre_handler that sets the ip and returns 1");
	kp_check_eq(cnt_get(&body_runs), 0,
		    "runs of target_double's body while redirected");
	unregister_kprobe(&kp);
	kp_check_eq(double_fp(5), 10, "target_double(5) after unregistering");
	kp_test_done();
}

static int skip_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* Do the movq %rdi, %rax's (mr r5, r3's) job differently, and step
	 * past it. */
	T_ADD_DST(regs) = 1000;
	instruction_pointer_set(regs, (unsigned long)t_add_second);
	return 1;
}

static void test_skip_instruction(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.pre_handler = skip_pre,
		.post_handler = rec_post,
	};

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_add)");
	kp_check_eq(t_add_fp(5, 6), 1006,
		    "t_add(5, 6) when the pre_handler sets %s = 1000, moves "
		    "the ip past the first instruction and returns 1",
		    T_ADD_DST_NAME);
	kp_check_eq(cnt_get(&nevents), 0,
		    "post_handler calls when the pre_handler returned 1");
	unregister_kprobe(&kp);
	kp_test_done();
}

static void set_dst_post(struct kprobe *p, struct pt_regs *regs,
			 unsigned long flags)
{
	T_ADD_DST(regs) = 100;
}

/* Registers a post_handler changes are the ones execution continues with
 * (the kernel allows it). */
static void test_post_writes_regs(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.post_handler = set_dst_post,
	};

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_add)");
	kp_check_eq(t_add_fp(5, 6), 106,
		    "t_add(5, 6) when the post_handler of %s sets %s = 100",
		    T_ADD_FIRST, T_ADD_DST_NAME);
	unregister_kprobe(&kp);
	kp_check_eq(t_add_fp(5, 6), 11, "t_add(5, 6) after unregistering");
	kp_test_done();
}

#define HANDLER_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		HANDLER_TEST(test_pre_then_post),
		HANDLER_TEST(test_post_only),
		HANDLER_TEST(test_no_handlers),
		HANDLER_TEST(test_override_return),
		HANDLER_TEST(test_redirect),
		HANDLER_TEST(test_skip_instruction),
		HANDLER_TEST(test_post_writes_regs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
