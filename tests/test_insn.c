// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Instruction vectors: a probe on each kind of instruction whose execution
 * out of line or by emulation needs care (RIP-relative operands, relative
 * and indirect branches, calls and returns, stack operations, loop, a
 * system call). For each, the target computes the same result before, with
 * and after the probe, and the pre_handler runs exactly once per execution
 * of the probed instruction, with the ip on it. For the branches a
 * post_handler checks where execution went on (the callee, the taken or
 * fall-through successor, the return address) and the stack it left.
 *
 * The targets and their labels are in targets_x86_64.S.
 */
#include "testutil.h"

#if !defined(__x86_64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <stdbool.h>
#include <unistd.h>

typedef long (*target_fn)(long);

/* targets_x86_64.S; functions without arguments ignore the one they get. */
extern long t_data, t_guard0, t_guard1, t_store;
extern uint32_t t_small[2], t_store32[2];
long t_mul3(long x);
long t_riprel_load(long), t_riprel_lea(long), t_riprel_cmpimm(long);
long t_riprel_store(long), t_riprel_storeimm(long);
long t_call(long), t_jmp8(long), t_jmp32(long), t_jz(long), t_jnz32(long);
long t_jnz_back(long), t_loop(long), t_ret(long);
long t_call_rax(long), t_call_r11(long), t_jmp_rax(long);
long t_call_mem(long), t_jmp_mem(long);
long t_pushpop(long), t_push_riprel(long), t_getpid(long);
extern char t_riprel_load_site[], t_riprel_load_next[], t_riprel_lea_site[];
extern char t_riprel_cmpimm_site[], t_riprel_store_site[];
extern char t_riprel_storeimm_site[];
extern char t_call_site[], t_call_ret[];
extern char t_jmp8_site[], t_jmp8_target[], t_jmp32_site[], t_jmp32_target[];
extern char t_jz_site[], t_jz_fall[], t_jz_target[];
extern char t_jnz32_site[], t_jnz32_fall[], t_jnz32_target[];
extern char t_jnz_back_site[], t_jnz_back_top[], t_jnz_back_fall[];
extern char t_loop_site[], t_loop_top[], t_loop_fall[];
extern char t_ret_site[];
extern char t_call_rax_site[], t_call_rax_ret[], t_call_r11_site[];
extern char t_jmp_rax_site[], t_call_mem_site[], t_call_mem_ret[];
extern char t_jmp_mem_site[];
extern char t_push_site[], t_pop_site[], t_push_riprel_site[];
extern char t_syscall_site[], t_syscall_next[];

#define CALLS 10	/* calls per phase */

struct insn_case {
	const char *name;
	char *site;		/* the probed instruction */
	target_fn fn;
	long arg;
	long expect;		/* fn(arg) */
	unsigned long hits;	/* executions of the site per call */
};

static struct insn_case cases[] = {
	{ "movq t_data(%rip), %rax", t_riprel_load_site, t_riprel_load, 0,
	  0x1122334455667788, 1 },
	{ "leaq t_data(%rip), %rax", t_riprel_lea_site, t_riprel_lea, 0,
	  0 /* &t_data, set in main() */, 1 },
	{ "cmpl $imm32, t_small(%rip)", t_riprel_cmpimm_site,
	  t_riprel_cmpimm, 0, 1, 1 },
	{ "movq %rdi, t_store(%rip)", t_riprel_store_site, t_riprel_store,
	  0x4242, 0x4242, 1 },
	{ "movl $imm32, t_store32(%rip)", t_riprel_storeimm_site,
	  t_riprel_storeimm, 0, 0x5aa55aa5, 1 },
	{ "call rel32", t_call_site, t_call, 5, 16, 1 },
	{ "jmp rel8", t_jmp8_site, t_jmp8, 5, 6, 1 },
	{ "jmp rel32", t_jmp32_site, t_jmp32, 5, 7, 1 },
	{ "jz rel8, taken", t_jz_site, t_jz, 0, 10, 1 },
	{ "jz rel8, not taken", t_jz_site, t_jz, 1, 20, 1 },
	{ "jnz rel32, taken", t_jnz32_site, t_jnz32, 1, 40, 1 },
	{ "jnz rel32, not taken", t_jnz32_site, t_jnz32, 0, 30, 1 },
	{ "jnz rel8 backwards (5 iterations)", t_jnz_back_site, t_jnz_back,
	  5, 5, 5 },
	{ "loop rel8 (4 iterations)", t_loop_site, t_loop, 4, 4, 4 },
	{ "ret", t_ret_site, t_ret, 5, 5 ^ 0x5a, 1 },
	{ "call *%rax", t_call_rax_site, t_call_rax, 5, 16, 1 },
	{ "call *%r11", t_call_r11_site, t_call_r11, 5, 17, 1 },
	{ "jmp *%rax", t_jmp_rax_site, t_jmp_rax, 5, 15, 1 },
	{ "call *t_fnptr(%rip)", t_call_mem_site, t_call_mem, 5, 18, 1 },
	{ "jmp *t_fnptr(%rip)", t_jmp_mem_site, t_jmp_mem, 5, 15, 1 },
	{ "push %rdi", t_push_site, t_pushpop, 0x1234, 0x1234, 1 },
	{ "pop %rax", t_pop_site, t_pushpop, 0x1234, 0x1234, 1 },
	{ "pushq t_data(%rip)", t_push_riprel_site, t_push_riprel, 0,
	  0x1122334455667788, 1 },
	{ "syscall (getpid)", t_syscall_site, t_getpid, 0,
	  0 /* getpid(), set in main() */, 1 },
};

static struct kprobe kp, kps[8];
static unsigned long hits, bad_ip;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	if (instruction_pointer(regs) != (unsigned long)p->addr)
		cnt_inc(&bad_ip);
	return 0;
}

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(kps, 0, sizeof(kps));
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[9] = { &kp };
	int i;

	for (i = 0; i < 8; i++)
		all[i + 1] = &kps[i];
	kp_cleanup(all, 9);
	return 0;
}

/* Call the target the way the tests do: through a volatile pointer, with
 * the stores the target is checked for cleared first. */
static long call_target(target_fn f, long arg)
{
	target_fn volatile fp = f;

	t_store = 0;
	t_store32[0] = 0;
	return fp(arg);
}

/* Data a RIP-relative operand resolved wrongly would hit. */
static void check_guards(const char *name)
{
	kp_check_eq(t_guard0, 0x0badc0de0badc0de, "%s: guard before t_small",
		    name);
	kp_check_eq(t_guard1, 0x0badc0de0badc0de, "%s: guard after t_store32",
		    name);
	kp_check_eq(t_small[0], 0x12345678, "%s: t_small", name);
	kp_check_eq(t_small[1], 0x0badc0de, "%s: guard after t_small", name);
	kp_check_eq(t_store32[1], 0x0badc0de, "%s: guard after t_store32",
		    name);
}

static void run_case(void **state)
{
	const struct insn_case *c = *state;
	uint8_t saved[KP_TEXT_LEN];
	int i;

	kp_check_eq(call_target(c->fn, c->arg), c->expect,
		    "%s: the target before registering", c->name);
	text_read(c->site, saved, KP_TEXT_LEN);

	kp.addr = (kprobe_opcode_t *)c->site;
	kp.pre_handler = count_pre;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s",
		     c->name);
	kp_check_armed(c->site, saved, "probe on %s", c->name);

	for (i = 0; i < CALLS; i++)
		kp_check_eq(call_target(c->fn, c->arg), c->expect,
			    "%s: the target with the probe, call %d", c->name,
			    i);
	kp_check_eq(cnt_get(&hits), CALLS * c->hits,
		    "%s: pre_handler calls for %d calls", c->name, CALLS);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "%s: pre_handler calls where instruction_pointer(regs) "
		    "!= p->addr", c->name);
	kp_check_eq(t_store, c->fn == t_riprel_store ? c->arg : 0,
		    "%s: t_store after the last call", c->name);
	kp_check_eq(t_store32[0], c->fn == t_riprel_storeimm ? c->expect : 0,
		    "%s: t_store32 after the last call", c->name);
	check_guards(c->name);

	unregister_kprobe(&kp);
	kp_check_text(c->site, saved, "%s: after unregistering", c->name);
	kp_check_eq(call_target(c->fn, c->arg), c->expect,
		    "%s: the target after unregistering", c->name);
	kp_check_eq(cnt_get(&hits), CALLS * c->hits,
		    "%s: pre_handler calls after unregistering", c->name);
	kp_test_done();
}

/* ---- where execution goes on: post_handler ---- */

struct snap {
	unsigned long ip, rsp, top, rax, rcx;
};

static struct snap pre_snap, post_snap;
static unsigned long pre_calls, post_calls;

__attribute__((no_sanitize_address))
static int snap_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_calls);
	pre_snap.ip = instruction_pointer(regs);
	pre_snap.rsp = regs->rsp;
	pre_snap.top = *(unsigned long *)regs->rsp;
	pre_snap.rax = regs->rax;
	return 0;
}

/* Reads the probed code's stack, which ASan does not know as an object. */
__attribute__((no_sanitize_address))
static void snap_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (cnt_get(&post_calls) == 0) {
		post_snap.ip = instruction_pointer(regs);
		post_snap.rsp = regs->rsp;
		post_snap.top = *(unsigned long *)regs->rsp;
		post_snap.rax = regs->rax;
		post_snap.rcx = regs->rcx;
	}
	cnt_inc(&post_calls);
}

/* One call of @fn(@arg) with pre and post on @site; returns after checking
 * the result and that each handler ran once. */
static void snap_one(const char *name, char *site, target_fn fn, long arg,
		     long expect)
{
	memset(&pre_snap, 0, sizeof(pre_snap));
	memset(&post_snap, 0, sizeof(post_snap));
	cnt_set(&pre_calls, 0);
	cnt_set(&post_calls, 0);
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)site,
		.pre_handler = snap_pre,
		.post_handler = snap_post,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s",
		     name);
	kp_check_eq(call_target(fn, arg), expect, "%s: the target", name);
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&pre_calls), 1, "%s: pre_handler calls", name);
	kp_check_eq(cnt_get(&post_calls), 1, "%s: post_handler calls", name);
	kp_check_eq(pre_snap.ip, site, "%s: ip in the pre_handler", name);
}

static void test_post_call(void **state)
{
	snap_one("call rel32", t_call_site, t_call, 5, 16);
	kp_check_eq(post_snap.ip, t_mul3,
		    "call rel32: ip in the post_handler must be the callee");
	kp_check_eq(post_snap.rsp, pre_snap.rsp - 8,
		    "call rel32: rsp in the post_handler (one push)");
	kp_check_eq(post_snap.top, t_call_ret,
		    "call rel32: the return address pushed must be the "
		    "instruction after the original call, not a slot");
	kp_test_done();
}

static void test_post_call_indirect(void **state)
{
	snap_one("call *%rax", t_call_rax_site, t_call_rax, 5, 16);
	kp_check_eq(post_snap.ip, t_mul3,
		    "call *%%rax: ip in the post_handler must be the callee");
	kp_check_eq(post_snap.rsp, pre_snap.rsp - 8,
		    "call *%%rax: rsp in the post_handler");
	kp_check_eq(post_snap.top, t_call_rax_ret,
		    "call *%%rax: the return address pushed");

	snap_one("call *t_fnptr(%rip)", t_call_mem_site, t_call_mem, 5, 18);
	kp_check_eq(post_snap.ip, t_mul3,
		    "call *t_fnptr(%%rip): ip in the post_handler");
	kp_check_eq(post_snap.top, t_call_mem_ret,
		    "call *t_fnptr(%%rip): the return address pushed");
	kp_test_done();
}

static void test_post_jmp(void **state)
{
	snap_one("jmp rel8", t_jmp8_site, t_jmp8, 5, 6);
	kp_check_eq(post_snap.ip, t_jmp8_target, "jmp rel8: ip in the "
		    "post_handler must be the jump target");
	snap_one("jmp rel32", t_jmp32_site, t_jmp32, 5, 7);
	kp_check_eq(post_snap.ip, t_jmp32_target, "jmp rel32: ip in the "
		    "post_handler must be the jump target");
	snap_one("jmp *%rax", t_jmp_rax_site, t_jmp_rax, 5, 15);
	kp_check_eq(post_snap.ip, t_mul3, "jmp *%%rax: ip in the "
		    "post_handler must be the target in rax");
	kp_check_eq(post_snap.rsp, pre_snap.rsp, "jmp *%%rax: rsp unchanged");
	snap_one("jmp *t_fnptr(%rip)", t_jmp_mem_site, t_jmp_mem, 5, 15);
	kp_check_eq(post_snap.ip, t_mul3, "jmp *t_fnptr(%%rip): ip in the "
		    "post_handler must be the target in t_fnptr");
	kp_check_eq(post_snap.rsp, pre_snap.rsp,
		    "jmp *t_fnptr(%%rip): rsp unchanged");
	kp_test_done();
}

static void test_post_jcc(void **state)
{
	snap_one("jz, taken", t_jz_site, t_jz, 0, 10);
	kp_check_eq(post_snap.ip, t_jz_target,
		    "jz taken: ip in the post_handler must be the target");
	snap_one("jz, not taken", t_jz_site, t_jz, 1, 20);
	kp_check_eq(post_snap.ip, t_jz_fall, "jz not taken: ip in the "
		    "post_handler must be the next instruction");
	snap_one("jnz rel32, taken", t_jnz32_site, t_jnz32, 1, 40);
	kp_check_eq(post_snap.ip, t_jnz32_target,
		    "jnz rel32 taken: ip in the post_handler");
	snap_one("jnz rel32, not taken", t_jnz32_site, t_jnz32, 0, 30);
	kp_check_eq(post_snap.ip, t_jnz32_fall,
		    "jnz rel32 not taken: ip in the post_handler");
	kp_test_done();
}

static void test_post_ret(void **state)
{
	snap_one("ret", t_ret_site, t_ret, 5, 5 ^ 0x5a);
	kp_check_eq(post_snap.ip, pre_snap.top,
		    "ret: ip in the post_handler must be the return address "
		    "that was on the stack");
	kp_check_eq(post_snap.rsp, pre_snap.rsp + 8,
		    "ret: rsp in the post_handler (one pop)");
	kp_check_eq(post_snap.rax, 5 ^ 0x5a, "ret: rax in the post_handler");
	kp_test_done();
}

static void test_post_stack_and_data(void **state)
{
	snap_one("push %rdi", t_push_site, t_pushpop, 0x1234, 0x1234);
	kp_check_eq(post_snap.ip, t_pop_site, "push: ip in the post_handler");
	kp_check_eq(post_snap.rsp, pre_snap.rsp - 8, "push: rsp");
	kp_check_eq(post_snap.top, 0x1234, "push: the value pushed");

	snap_one("pop %rax", t_pop_site, t_pushpop, 0x1234, 0x1234);
	kp_check_eq(post_snap.rsp, pre_snap.rsp + 8, "pop: rsp");
	kp_check_eq(post_snap.rax, 0x1234, "pop: rax in the post_handler");

	snap_one("movq t_data(%rip), %rax", t_riprel_load_site, t_riprel_load,
		 0, 0x1122334455667788);
	kp_check_eq(post_snap.ip, t_riprel_load_next,
		    "RIP-relative load: ip in the post_handler");
	kp_check_eq(post_snap.rax, 0x1122334455667788,
		    "RIP-relative load: rax in the post_handler");

	snap_one("syscall", t_syscall_site, t_getpid, 0, getpid());
	kp_check_eq(post_snap.ip, t_syscall_next,
		    "syscall: ip in the post_handler");
	kp_check_eq(post_snap.rax, getpid(),
		    "syscall: rax (getpid()) in the post_handler");
	kp_check_eq(post_snap.rcx, t_syscall_next,
		    "syscall: rcx in the post_handler must be the address "
		    "after the original syscall (what the CPU stores there), "
		    "not one in a slot");
	kp_test_done();
}

/* Backward branches in a loop: the post_handler sees the top n - 1 times,
 * then the fall-through. */
static unsigned long post_to_top, post_to_fall, post_elsewhere;
static char *loop_top, *loop_fall;

static void loop_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (instruction_pointer(regs) == (unsigned long)loop_top)
		cnt_inc(&post_to_top);
	else if (instruction_pointer(regs) == (unsigned long)loop_fall)
		cnt_inc(&post_to_fall);
	else
		cnt_inc(&post_elsewhere);
}

static void check_loop_posts(const char *name, char *site, char *top,
			     char *fall, target_fn fn, long n)
{
	loop_top = top;
	loop_fall = fall;
	cnt_set(&post_to_top, 0);
	cnt_set(&post_to_fall, 0);
	cnt_set(&post_elsewhere, 0);
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)site,
		.post_handler = loop_post,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s",
		     name);
	kp_check_eq(call_target(fn, n), n, "%s: the target", name);
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&post_to_top), n - 1,
		    "%s, %ld iterations: post_handler calls with ip at the "
		    "loop top (taken)", name, n);
	kp_check_eq(cnt_get(&post_to_fall), 1,
		    "%s: post_handler calls with ip after the branch (not "
		    "taken)", name);
	kp_check_eq(cnt_get(&post_elsewhere), 0,
		    "%s: post_handler calls with ip elsewhere", name);
}

static void test_post_loops(void **state)
{
	check_loop_posts("jnz rel8 backwards", t_jnz_back_site,
			 t_jnz_back_top, t_jnz_back_fall, t_jnz_back, 6);
	check_loop_posts("loop rel8", t_loop_site, t_loop_top, t_loop_fall,
			 t_loop, 6);
	kp_test_done();
}

/* ---- many probes at once ---- */

/*
 * Probe every instruction of a function at once (offsets from the asm) and
 * count the instructions executed. Adjacent probes, each executed out of
 * line or emulated, must hand over to each other.
 */
static void check_every_insn(const char *name, target_fn fn,
			     const unsigned int *offs, int n,
			     long arg, long expect, unsigned long executed)
{
	uint8_t saved[32];
	uint8_t now[32];
	int i;

	text_read(fn, saved, sizeof(saved));
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	for (i = 0; i < n; i++) {
		kps[i] = (struct kprobe){
			.addr = (kprobe_opcode_t *)((char *)fn + offs[i]),
			.pre_handler = count_pre,
		};
		kp_check_ret(register_kprobe(&kps[i]), 0,
			     "%s + %u", name, offs[i]);
	}
	for (i = 0; i < CALLS; i++)
		kp_check_eq(call_target(fn, arg), expect,
			    "%s(%ld) with every instruction probed", name,
			    arg);
	kp_check_eq(cnt_get(&hits), CALLS * executed,
		    "%s(%ld): hits with every instruction probed (%lu "
		    "instructions per call)", name, arg, executed);
	kp_check_eq(cnt_get(&bad_ip), 0, "%s: hits with a wrong ip", name);
	for (i = n - 1; i >= 0; i--)
		unregister_kprobe(&kps[i]);
	text_read(fn, now, sizeof(now));
	kp_check(memcmp(now, saved, sizeof(now)) == 0,
		 "%s: text restored after removing all its probes", name);
}

static void test_every_instruction(void **state)
{
	/* push, mov, call, add, pop, ret */
	static const unsigned int call_offs[] = { 0, 1, 4, 9, 13, 14 };
	/* test, jz, mov, ret, mov, ret */
	static const unsigned int jz_offs[] = { 0, 3, 5, 10, 11, 16 };
	/* mov, xor, add, loop, ret */
	static const unsigned int loop_offs[] = { 0, 3, 5, 9, 11 };
	/* push, pop, ret */
	static const unsigned int pushpop_offs[] = { 0, 1, 2 };

	check_every_insn("t_call", t_call, call_offs, 6, 5, 16, 6);
	check_every_insn("t_jz", t_jz, jz_offs, 6, 0, 10, 4);
	check_every_insn("t_jz", t_jz, jz_offs, 6, 1, 20, 4);
	check_every_insn("t_loop", t_loop, loop_offs, 5, 3, 3, 2 + 3 + 3 + 1);
	check_every_insn("t_pushpop", t_pushpop, pushpop_offs, 3, 9, 9, 3);
	kp_test_done();
}

#define INSN_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 8];
	size_t i, n = 0;

	for (i = 0; i < NCASES; i++) {
		if (cases[i].fn == t_riprel_lea)
			cases[i].expect = (long)&t_data;
		if (cases[i].fn == t_getpid)
			cases[i].expect = getpid();
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.setup_func = setup,
			.teardown_func = teardown,
			.initial_state = &cases[i],
		};
	}
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_call);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_call_indirect);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_jmp);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_jcc);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_ret);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_stack_and_data);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_loops);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_every_instruction);

	if (n != sizeof(tests) / sizeof(tests[0])) {
		fprintf(stderr, "test_insn: %zu tests in an array of %zu\n",
			n, sizeof(tests) / sizeof(tests[0]));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ */
