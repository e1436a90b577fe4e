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
 * The targets and their labels are in targets_x86_64.S, and on ppc64 in
 * targets_ppc64_insn.S (the second half of this file says what is checked
 * there).
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <stdbool.h>
#include <unistd.h>

typedef long (*target_fn)(long);

#if defined(__x86_64__)

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

#elif defined(__powerpc64__)
/*
 * ppc64: the same properties on ppc64 code (targets_ppc64_insn.S). Every
 * instruction a program has runs one of two ways under a probe: the
 * branches (b, bc, bclr, bcctr, in every form) and addpcis are emulated in
 * the trap handler; everything else runs from a slot, followed by a second
 * trap when a post_handler must run, or by a branch back when none does
 * (boosted). Each case below runs both ways: first with a pre_handler only
 * (boosted: the listing must say [BOOSTED] for a slot instruction), then
 * with a post_handler too (the second trap), which must see the ip at the
 * instruction's successor. The test_post_* tests then look at the
 * registers each instruction leaves (LR, CTR, CR, r1, the target
 * register), and test_refused at what register_kprobe() must refuse.
 */
#include <sys/mman.h>

/* targets_ppc64_insn.S; functions without arguments ignore the one they
 * get. */
extern long t_pi_data, t_pi_guard0, t_pi_guard1, t_pi_stored, t_pi_abs;
long t_pi_bl_back(long), t_pi_bl_fwd(long), t_pi_b_fwd(long);
long t_pi_b_back(long), t_pi_ba(long), t_pi_bla(long);
long t_pi_beq(long), t_pi_bne7(long), t_pi_bne_back(long);
long t_pi_bdnz(long), t_pi_bdz(long), t_pi_bcl(long), t_pi_blr(long);
long t_pi_blrl(long), t_pi_bctr(long), t_pi_bctrl(long);
long t_pi_beqlr(long), t_pi_bnectr(long), t_pi_lnia(long);
long t_pi_addpcis(long), t_pi_load(long), t_pi_store(long);
long t_pi_mfcr(long), t_pi_mtcrf(long), t_pi_getpid(long);
long t_pi_close_bad(long);
extern char t_pi_mul3_entry[], t_pi_mul3b_entry[];
extern char t_pi_mflr_site[], t_pi_stdu_site[], t_pi_stdu_next[];
extern char t_pi_bl_back_site[], t_pi_bl_back_ret[];
extern char t_pi_mtlr_site[], t_pi_mtlr_next[];
extern char t_pi_bl_fwd_site[], t_pi_bl_fwd_ret[];
extern char t_pi_b_fwd_site[], t_pi_b_fwd_target[];
extern char t_pi_b_back_site[], t_pi_b_back_target[];
extern char t_pi_ba_site[], t_pi_bla_site[], t_pi_bla_ret[];
extern char t_pi_beq_site[], t_pi_beq_fall[], t_pi_beq_target[];
extern char t_pi_bne7_site[], t_pi_bne7_fall[], t_pi_bne7_target[];
extern char t_pi_bne_back_top[], t_pi_bne_back_site[];
extern char t_pi_bne_back_fall[];
extern char t_pi_bdnz_top[], t_pi_bdnz_site[], t_pi_bdnz_fall[];
extern char t_pi_bdz_site[], t_pi_bdz_fall[], t_pi_bdz_target[];
extern char t_pi_bcl_site[], t_pi_bcl_next[];
extern char t_pi_blr_site[], t_pi_blrl_site[], t_pi_blrl_ret[];
extern char t_pi_bctr_site[], t_pi_bctrl_site[], t_pi_bctrl_ret[];
extern char t_pi_beqlr_site[], t_pi_beqlr_fall[];
extern char t_pi_bnectr_site[], t_pi_bnectr_fall[], t_pi_bnectr_target[];
extern char t_pi_lnia_site[], t_pi_lnia_next[];
extern char t_pi_addpcis_site[], t_pi_addpcis_next[];
extern char t_pi_load_site[], t_pi_load_next[];
extern char t_pi_store_site[], t_pi_store_next[];
extern char t_pi_mfcr_site[], t_pi_mfcr_next[];
extern char t_pi_mtcrf_site[], t_pi_mtcrf_next[];
extern char t_pi_sc_site[], t_pi_sc_next[];
extern char t_pi_sc_fail_site[], t_pi_sc_fail_next[];
extern char t_pi_pld_site[], t_pi_lwarx_site[], t_pi_stwcx_site[];
extern char t_pi_ldarx_site[], t_pi_stdcx_site[], t_pi_trap_site[];
extern char t_pi_tw_site[], t_pi_td_site[], t_pi_twi_site[];
extern char t_pi_tdi_site[], t_pi_bctar_site[], t_pi_bcctr_bo2_site[];

#define CALLS 10	/* calls per phase */

/* CR0[SO] as the targets return it (bit 32 of their result). */
#define SO_RESULT	(1l << 32)
#define CR0_SO		0x10000000ul	/* in the 32-bit CR */
#define EBADF_NR	9

/* Where a probed ppc64 instruction runs. */
enum pi_exec {
	PI_SLOT,	/* out of line: boosted, or two traps */
	PI_EMUL,	/* emulated in the trap handler */
};

/* The post_handler's ip, where it is not a label: the address the caller
 * left in LR (the pre_handler notes it). */
#define AFTER_LR	((char *)1)

struct pi_case {
	const char *name;
	char *site;		/* the probed instruction */
	target_fn fn;
	long arg;
	long expect;		/* fn(arg) */
	unsigned long hits;	/* executions of the site per call */
	enum pi_exec exec;
	/* ip in the post_handler; NULL where it varies (the loops, checked
	 * by test_post_loops). */
	char *after;
	/* A loop whose branch went wrong would never end: after too many
	 * hits the pre_handler sends the thread here (the loop's exit),
	 * and the hit count fails the test instead. */
	char *escape;
	bool abs;		/* needs the code at T_PI_ABS */
};

/* The usual case: executed once per call, a fixed successor. */
#define CASE(name, site, fn, arg, expect, exec, after) \
	{ name, site, fn, arg, expect, 1, exec, after, NULL, false }
/* A loop's branch: @hits executions per call, successors checked by
 * test_post_loops. */
#define LOOP(name, site, fn, arg, expect, hits, escape) \
	{ name, site, fn, arg, expect, hits, PI_EMUL, NULL, escape, false }
/* A branch to T_PI_ABS (the successor is set in main()). */
#define ABS(name, site, fn, arg, expect) \
	{ name, site, fn, arg, expect, 1, PI_EMUL, NULL, NULL, true }

static struct pi_case cases[] = {
	/* ---- out of line ---- */
	CASE("ld (TOC-relative load)", t_pi_load_site, t_pi_load, 0,
	     0x1122334455667788, PI_SLOT, t_pi_load_next),
	CASE("std (TOC-relative store)", t_pi_store_site, t_pi_store, 0x4242,
	     0x4242, PI_SLOT, t_pi_store_next),
	CASE("stdu r1, -32(r1) (a frame and its back chain)",
	     t_pi_stdu_site, t_pi_bl_back, 5, 17, PI_SLOT, t_pi_stdu_next),
	CASE("mflr r0", t_pi_mflr_site, t_pi_bl_back, 5, 17, PI_SLOT,
	     t_pi_mflr_site + 4),
	CASE("mtlr r0", t_pi_mtlr_site, t_pi_bl_back, 5, 17, PI_SLOT,
	     t_pi_mtlr_next),
	CASE("mfcr (cr7 lt)", t_pi_mfcr_site, t_pi_mfcr, 3, 8, PI_SLOT,
	     t_pi_mfcr_next),
	CASE("mfcr (cr7 gt)", t_pi_mfcr_site, t_pi_mfcr, 7, 4, PI_SLOT,
	     t_pi_mfcr_next),
	CASE("mfcr (cr7 eq)", t_pi_mfcr_site, t_pi_mfcr, 5, 2, PI_SLOT,
	     t_pi_mfcr_next),
	CASE("mtcrf 0x81 (cr0 and cr7)", t_pi_mtcrf_site, t_pi_mtcrf,
	     0x5000000b, 0x5000000b, PI_SLOT, t_pi_mtcrf_next),
	CASE("sc (getpid: CR0[SO] cleared)", t_pi_sc_site, t_pi_getpid, 0,
	     0 /* getpid(), set in main() */, PI_SLOT, t_pi_sc_next),
	CASE("sc (close(-1): EBADF, CR0[SO] set)", t_pi_sc_fail_site,
	     t_pi_close_bad, 0, EBADF_NR + SO_RESULT, PI_SLOT,
	     t_pi_sc_fail_next),
	/* ---- emulated ---- */
	CASE("lnia r3 (addpcis r3, 0)", t_pi_lnia_site, t_pi_lnia, 0,
	     0 /* t_pi_lnia_next, set in main() */, PI_EMUL, t_pi_lnia_next),
	CASE("addpcis r9, -2", t_pi_addpcis_site, t_pi_addpcis, 3,
	     0 /* 3 + t_pi_addpcis_next - 0x20000, set in main() */, PI_EMUL,
	     t_pi_addpcis_next),
	CASE("b forwards", t_pi_b_fwd_site, t_pi_b_fwd, 5, 6, PI_EMUL,
	     t_pi_b_fwd_target),
	CASE("b backwards", t_pi_b_back_site, t_pi_b_back, 5, 7, PI_EMUL,
	     t_pi_b_back_target),
	CASE("bl forwards", t_pi_bl_fwd_site, t_pi_bl_fwd, 5, 16, PI_EMUL,
	     t_pi_mul3b_entry),
	CASE("bl backwards", t_pi_bl_back_site, t_pi_bl_back, 5, 17, PI_EMUL,
	     t_pi_mul3_entry),
	ABS("ba (absolute)", t_pi_ba_site, t_pi_ba, 5, 12),
	ABS("bla (absolute)", t_pi_bla_site, t_pi_bla, 5, 13),
	CASE("beq cr0, taken", t_pi_beq_site, t_pi_beq, 0, 10, PI_EMUL,
	     t_pi_beq_target),
	CASE("beq cr0, not taken", t_pi_beq_site, t_pi_beq, 1, 20, PI_EMUL,
	     t_pi_beq_fall),
	CASE("bne cr7, taken", t_pi_bne7_site, t_pi_bne7, 1, 40, PI_EMUL,
	     t_pi_bne7_target),
	CASE("bne cr7, not taken", t_pi_bne7_site, t_pi_bne7, 0, 30, PI_EMUL,
	     t_pi_bne7_fall),
	LOOP("bne backwards (5 iterations)", t_pi_bne_back_site,
	     t_pi_bne_back, 5, 5, 5, t_pi_bne_back_fall),
	LOOP("bdnz (4 iterations)", t_pi_bdnz_site, t_pi_bdnz, 4, 4, 4,
	     t_pi_bdnz_fall),
	LOOP("bdz (4 executions, taken the last)", t_pi_bdz_site, t_pi_bdz,
	     4, 3, 4, t_pi_bdz_target),
	CASE("bcl 20,31,$+4 (the PIC idiom)", t_pi_bcl_site, t_pi_bcl, 0,
	     0 /* &t_pi_data, set in main() */, PI_EMUL, t_pi_bcl_next),
	CASE("blr", t_pi_blr_site, t_pi_blr, 5, 5 ^ 0x5a, PI_EMUL, AFTER_LR),
	CASE("blrl", t_pi_blrl_site, t_pi_blrl, 5, 18, PI_EMUL,
	     t_pi_mul3_entry),
	CASE("bctr", t_pi_bctr_site, t_pi_bctr, 5, 15, PI_EMUL,
	     t_pi_mul3_entry),
	CASE("bctrl", t_pi_bctrl_site, t_pi_bctrl, 5, 19, PI_EMUL,
	     t_pi_mul3_entry),
	CASE("beqlr, taken", t_pi_beqlr_site, t_pi_beqlr, 0, 10, PI_EMUL,
	     AFTER_LR),
	CASE("beqlr, not taken", t_pi_beqlr_site, t_pi_beqlr, 1, 20, PI_EMUL,
	     t_pi_beqlr_fall),
	CASE("bnectr cr6, taken", t_pi_bnectr_site, t_pi_bnectr, 1, 40,
	     PI_EMUL, t_pi_bnectr_target),
	CASE("bnectr cr6, not taken", t_pi_bnectr_site, t_pi_bnectr, 0, 30,
	     PI_EMUL, t_pi_bnectr_fall),
};

/* The page at T_PI_ABS holds `addi r3, r3, 7; blr` (map_abs_page()). */
static bool abs_mapped;
static const char *abs_why = "not tried";

static struct kprobe kp, kps[16];
static unsigned long hits, bad_ip, posts, bad_post;
static unsigned long pre_link;		/* LR at the last pre_handler */
static char *post_expect;		/* ip the post_handler must see */
static char *escape_ip;

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(kps, 0, sizeof(kps));
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	cnt_set(&posts, 0);
	cnt_set(&bad_post, 0);
	escape_ip = NULL;
	post_expect = NULL;
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[17] = { &kp };
	int i;

	for (i = 0; i < 16; i++)
		all[i + 1] = &kps[i];
	kp_cleanup(all, 17);
	return 0;
}

/* The code a function pointer stands for (ELFv1: its descriptor's first
 * word). */
static char *code_of(target_fn f)
{
#if defined(_CALL_ELF) && _CALL_ELF == 2
	return (char *)f;
#else
	return *(char **)f;
#endif
}

/* Counts hits with the ip on the probe; ends a runaway loop (see
 * struct pi_case's escape: every loop lies before its exit, and a probe
 * after the exit must not send the thread back). */
static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	if (instruction_pointer(regs) != (unsigned long)p->addr)
		cnt_inc(&bad_ip);
	pre_link = regs->link;
	if (escape_ip && cnt_get(&hits) > 1000 &&
	    instruction_pointer(regs) < (unsigned long)escape_ip) {
		instruction_pointer_set(regs, (unsigned long)escape_ip);
		return 1;
	}
	return 0;
}

/* Checks the ip after the instruction, when it is fixed. */
static void count_post(struct kprobe *p, struct pt_regs *regs,
		       unsigned long flags)
{
	unsigned long want = post_expect == AFTER_LR ? pre_link :
			     (unsigned long)post_expect;

	cnt_inc(&posts);
	if (post_expect && instruction_pointer(regs) != want)
		cnt_inc(&bad_post);
}

/* Call the target through a volatile pointer, with the store the target
 * is checked for cleared first. */
static long call_target(target_fn f, long arg)
{
	target_fn volatile fp = f;

	t_pi_stored = 0;
	return fp(arg);
}

/* Data a store resolved wrongly would hit. */
static void check_guards(const char *name)
{
	kp_check_eq(t_pi_guard0, 0x0badc0de0badc0de,
		    "%s: guard before t_pi_stored", name);
	kp_check_eq(t_pi_guard1, 0x0badc0de0badc0de,
		    "%s: guard after t_pi_stored", name);
	kp_check_eq(t_pi_data, 0x1122334455667788, "%s: t_pi_data", name);
}

/*
 * What kprobe_list() says of the probe at @addr: 1 if its line says
 * [BOOSTED], 0 if not, -1 if there is no line for it.
 */
static int listed_boosted(const void *addr)
{
	char *buf = NULL, *line, key[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret = -1;

	if (!f)
		return -1;
	kprobe_list(f);
	fclose(f);
	snprintf(key, sizeof(key), "%016lx ", (unsigned long)addr);
	for (line = buf; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, key, strlen(key))) {
			char *end = strchr(line, '\n');
			size_t n = end ? (size_t)(end - line) : strlen(line);

			ret = memmem(line, n, "[BOOSTED]", 9) != NULL;
			break;
		}
	}
	free(buf);
	return ret;
}

/* One phase of run_case(): CALLS calls with the probe as registered. */
static void run_phase(const struct pi_case *c, bool post)
{
	const char *how = post ? "with a post_handler (second trap)" :
				 "pre_handler only (boosted)";
	uint8_t saved[KP_TEXT_LEN];
	int i;

	text_read(c->site, saved, KP_TEXT_LEN);
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	cnt_set(&posts, 0);
	cnt_set(&bad_post, 0);
	post_expect = c->after;
	escape_ip = c->escape;
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)c->site,
		.pre_handler = count_pre,
		.post_handler = post ? count_post : NULL,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s, %s",
		     c->name, how);
	kp_check_armed(c->site, saved, "probe on %s", c->name);
	/* Without a post_handler an instruction run from a slot is boosted
	 * (one trap, a branch back); a branch is emulated, never boosted;
	 * with a post_handler nothing is. */
	kp_check_eq(listed_boosted(c->site),
		    !post && c->exec == PI_SLOT,
		    "%s, %s: [BOOSTED] in kprobe_list() (1) or not (0)",
		    c->name, how);

	for (i = 0; i < CALLS; i++)
		kp_check_eq(call_target(c->fn, c->arg), c->expect,
			    "%s, %s: the target with the probe, call %d",
			    c->name, how, i);
	kp_check_eq(cnt_get(&hits), CALLS * c->hits,
		    "%s, %s: pre_handler calls for %d calls", c->name, how,
		    CALLS);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "%s, %s: pre_handler calls where "
		    "instruction_pointer(regs) != p->addr", c->name, how);
	kp_check_eq(cnt_get(&posts), post ? CALLS * c->hits : 0,
		    "%s, %s: post_handler calls", c->name, how);
	kp_check_eq(cnt_get(&bad_post), 0,
		    "%s, %s: post_handler calls whose ip is not the "
		    "instruction's successor", c->name, how);
	kp_check_eq(t_pi_stored, c->fn == t_pi_store ? c->arg : 0,
		    "%s, %s: t_pi_stored after the last call", c->name, how);
	check_guards(c->name);

	unregister_kprobe(&kp);
	kp_check_text(c->site, saved, "%s, %s: after unregistering", c->name,
		      how);
	escape_ip = NULL;
}

static void run_case(void **state)
{
	const struct pi_case *c = *state;

	if (c->abs && !abs_mapped) {
		/* ba/bla need their target below 32 MiB. */
		print_message("no code at T_PI_ABS: %s\n", abs_why);
		skip();
	}
	kp_check_eq(call_target(c->fn, c->arg), c->expect,
		    "%s: the target before registering", c->name);
	run_phase(c, false);
	run_phase(c, true);
	cnt_set(&hits, 0);
	kp_check_eq(call_target(c->fn, c->arg), c->expect,
		    "%s: the target after unregistering", c->name);
	kp_check_eq(cnt_get(&hits), 0,
		    "%s: pre_handler calls after unregistering", c->name);
	kp_test_done();
}

/* ---- the registers each instruction leaves: post_handler ---- */

struct snap {
	unsigned long ip, sp, top, link, ctr, ccr, gpr0, gpr3, gpr9;
};

static struct snap pre_snap, post_snap;
static unsigned long pre_calls, post_calls;

static void take_snap(struct snap *s, const struct pt_regs *regs)
{
	s->ip = instruction_pointer(regs);
	s->sp = regs->gpr[1];
	s->top = *(unsigned long *)regs->gpr[1];	/* the back chain */
	s->link = regs->link;
	s->ctr = regs->ctr;
	s->ccr = regs->ccr;
	s->gpr0 = regs->gpr[0];
	s->gpr3 = regs->gpr[3];
	s->gpr9 = regs->gpr[9];
}

__attribute__((no_sanitize_address))
static int snap_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_calls);
	take_snap(&pre_snap, regs);
	return 0;
}

__attribute__((no_sanitize_address))
static void snap_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (cnt_get(&post_calls) == 0)
		take_snap(&post_snap, regs);
	cnt_inc(&post_calls);
}

/* One call of @fn(@arg) with pre and post on @site; returns after checking
 * the result and that each handler ran once, with the ip on @site in the
 * pre_handler and at @after in the post_handler (AFTER_LR: the return
 * address the pre_handler saw in LR). */
static void snap_one(const char *name, char *site, target_fn fn, long arg,
		     long expect, char *after)
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
	kp_check_eq(post_snap.ip,
		    after == AFTER_LR ? (char *)pre_snap.link : after,
		    "%s: ip in the post_handler", name);
	kp_check_eq(post_snap.sp, pre_snap.sp,
		    "%s: r1 in the post_handler (unchanged)", name);
}

/* Calls: LR is the address after the call, never a slot's. */
static void test_post_calls(void **state)
{
	snap_one("bl forwards", t_pi_bl_fwd_site, t_pi_bl_fwd, 5, 16,
		 t_pi_mul3b_entry);
	kp_check_eq(post_snap.link, t_pi_bl_fwd_ret,
		    "bl forwards: LR in the post_handler must be the "
		    "instruction after the original bl");
	snap_one("bl backwards", t_pi_bl_back_site, t_pi_bl_back, 5, 17,
		 t_pi_mul3_entry);
	kp_check_eq(post_snap.link, t_pi_bl_back_ret,
		    "bl backwards: LR in the post_handler");
	snap_one("blrl", t_pi_blrl_site, t_pi_blrl, 5, 18, t_pi_mul3_entry);
	kp_check_eq(pre_snap.link, t_pi_mul3_entry,
		    "blrl: LR before it (the asm target's mtlr)");
	kp_check_eq(post_snap.link, t_pi_blrl_ret,
		    "blrl: LR in the post_handler (the target was read "
		    "before LR was written)");
	snap_one("bctrl", t_pi_bctrl_site, t_pi_bctrl, 5, 19,
		 t_pi_mul3_entry);
	kp_check_eq(post_snap.link, t_pi_bctrl_ret,
		    "bctrl: LR in the post_handler");
	kp_check_eq(post_snap.ctr, pre_snap.ctr,
		    "bctrl: CTR in the post_handler (unchanged)");
	kp_test_done();
}

/* Jumps: LR and CTR unchanged. */
static void test_post_jumps(void **state)
{
	snap_one("b forwards", t_pi_b_fwd_site, t_pi_b_fwd, 5, 6,
		 t_pi_b_fwd_target);
	kp_check_eq(post_snap.link, pre_snap.link, "b: LR unchanged");
	snap_one("b backwards", t_pi_b_back_site, t_pi_b_back, 5, 7,
		 t_pi_b_back_target);
	kp_check_eq(post_snap.link, pre_snap.link, "b backwards: LR "
		    "unchanged");
	snap_one("bctr", t_pi_bctr_site, t_pi_bctr, 5, 15, t_pi_mul3_entry);
	kp_check_eq(post_snap.link, pre_snap.link, "bctr: LR unchanged");
	kp_check_eq(post_snap.ctr, pre_snap.ctr, "bctr: CTR unchanged");
	snap_one("blr", t_pi_blr_site, t_pi_blr, 5, 5 ^ 0x5a, AFTER_LR);
	kp_check_eq(post_snap.link, pre_snap.link, "blr: LR unchanged");
	kp_check_eq(post_snap.gpr3, 5 ^ 0x5a, "blr: r3 in the post_handler");
	/* bcl 20,31,$+4: a taken branch to the next word that sets LR. */
	snap_one("bcl 20,31,$+4", t_pi_bcl_site, t_pi_bcl, 0,
		 (long)&t_pi_data, t_pi_bcl_next);
	kp_check_eq(post_snap.link, t_pi_bcl_next,
		    "bcl 20,31,$+4: LR in the post_handler must be the "
		    "original next instruction, not a slot's");
	kp_test_done();
}

/* Conditional branches, taken and not: CR read from the right field, CTR
 * unchanged (BO says no decrement), LR unchanged. */
static void check_bc(const char *name, char *site, target_fn fn, long arg,
		     long expect, char *after)
{
	snap_one(name, site, fn, arg, expect, after);
	kp_check_eq(post_snap.ctr, pre_snap.ctr, "%s: CTR unchanged", name);
	kp_check_eq(post_snap.link, pre_snap.link, "%s: LR unchanged", name);
	kp_check_eq(post_snap.ccr, pre_snap.ccr, "%s: CR unchanged", name);
}

static void test_post_bc(void **state)
{
	check_bc("beq cr0, taken", t_pi_beq_site, t_pi_beq, 0, 10,
		 t_pi_beq_target);
	check_bc("beq cr0, not taken", t_pi_beq_site, t_pi_beq, 1, 20,
		 t_pi_beq_fall);
	check_bc("bne cr7, taken", t_pi_bne7_site, t_pi_bne7, 1, 40,
		 t_pi_bne7_target);
	check_bc("bne cr7, not taken", t_pi_bne7_site, t_pi_bne7, 0, 30,
		 t_pi_bne7_fall);
	check_bc("beqlr, taken", t_pi_beqlr_site, t_pi_beqlr, 0, 10,
		 AFTER_LR);
	check_bc("beqlr, not taken", t_pi_beqlr_site, t_pi_beqlr, 1, 20,
		 t_pi_beqlr_fall);
	check_bc("bnectr cr6, taken", t_pi_bnectr_site, t_pi_bnectr, 1, 40,
		 t_pi_bnectr_target);
	kp_check_eq(pre_snap.ctr, t_pi_bnectr_target,
		    "bnectr: CTR before it (the asm target's mtctr)");
	check_bc("bnectr cr6, not taken", t_pi_bnectr_site, t_pi_bnectr, 0,
		 30, t_pi_bnectr_fall);
	kp_test_done();
}

/* ba/bla: the target is the absolute address in the instruction. */
static void test_post_absolute(void **state)
{
	if (!abs_mapped) {
		print_message("no code at T_PI_ABS: %s\n", abs_why);
		skip();
	}
	snap_one("ba", t_pi_ba_site, t_pi_ba, 5, 12, (char *)t_pi_abs);
	kp_check_eq(post_snap.link, pre_snap.link, "ba: LR unchanged");
	snap_one("bla", t_pi_bla_site, t_pi_bla, 5, 13, (char *)t_pi_abs);
	kp_check_eq(post_snap.link, t_pi_bla_ret,
		    "bla: LR in the post_handler must be the instruction "
		    "after the original bla");
	kp_test_done();
}

/* addpcis writes rT (and nothing else) with its own address + 4 + D. */
static void test_post_addpcis(void **state)
{
	snap_one("lnia r3", t_pi_lnia_site, t_pi_lnia, 0,
		 (long)t_pi_lnia_next, t_pi_lnia_next);
	kp_check_eq(post_snap.gpr3, t_pi_lnia_next,
		    "lnia r3: r3 in the post_handler must be the original "
		    "next instruction's address");
	snap_one("addpcis r9, -2", t_pi_addpcis_site, t_pi_addpcis, 3,
		 3 + (long)t_pi_addpcis_next - 0x20000, t_pi_addpcis_next);
	kp_check_eq(post_snap.gpr9, (unsigned long)t_pi_addpcis_next - 0x20000,
		    "addpcis r9, -2: r9 in the post_handler");
	kp_check_eq(post_snap.gpr3, 3,
		    "addpcis r9, -2: r3 in the post_handler (not rT)");
	kp_check_eq(post_snap.link, pre_snap.link, "addpcis: LR unchanged");
	kp_test_done();
}

/* Out-of-line instructions: their effect on registers and memory, seen
 * at the second trap. */
static void test_post_slot(void **state)
{
	unsigned long want;

	snap_one("ld", t_pi_load_site, t_pi_load, 0, 0x1122334455667788,
		 t_pi_load_next);
	kp_check_eq(post_snap.gpr3, 0x1122334455667788,
		    "ld: r3 in the post_handler");

	snap_one("std", t_pi_store_site, t_pi_store, 0x4242, 0x4242,
		 t_pi_store_next);
	check_guards("std");

	/* stdu moves r1 (snap_one's r1 check does not apply). */
	memset(&post_snap, 0, sizeof(post_snap));
	cnt_set(&pre_calls, 0);
	cnt_set(&post_calls, 0);
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_pi_stdu_site,
		.pre_handler = snap_pre,
		.post_handler = snap_post,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on stdu");
	kp_check_eq(call_target(t_pi_bl_back, 5), 17, "stdu: the target");
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&post_calls), 1, "stdu: post_handler calls");
	kp_check_eq(post_snap.ip, t_pi_stdu_next,
		    "stdu: ip in the post_handler");
	kp_check_eq(post_snap.sp, pre_snap.sp - 32,
		    "stdu r1, -32(r1): r1 in the post_handler");
	kp_check_eq(post_snap.top, pre_snap.sp,
		    "stdu r1, -32(r1): the back chain it stored");

	snap_one("mflr r0", t_pi_mflr_site, t_pi_bl_back, 5, 17,
		 t_pi_mflr_site + 4);
	kp_check_eq(post_snap.gpr0, pre_snap.link,
		    "mflr r0: r0 in the post_handler must be LR (the "
		    "caller's return address, not a slot's)");
	kp_check_eq(post_snap.link, pre_snap.link, "mflr: LR unchanged");

	snap_one("mtlr r0", t_pi_mtlr_site, t_pi_bl_back, 5, 17,
		 t_pi_mtlr_next);
	kp_check_eq(post_snap.link, pre_snap.gpr0,
		    "mtlr r0: LR in the post_handler must be r0");

	snap_one("mfcr", t_pi_mfcr_site, t_pi_mfcr, 7, 4, t_pi_mfcr_next);
	kp_check_eq(post_snap.gpr3, (uint32_t)pre_snap.ccr,
		    "mfcr r3: r3 in the post_handler must be CR");

	snap_one("mtcrf 0x81", t_pi_mtcrf_site, t_pi_mtcrf, 0x5000000b,
		 0x5000000b, t_pi_mtcrf_next);
	want = (pre_snap.ccr & 0x0ffffff0) | 0x5000000b;
	kp_check_eq(post_snap.ccr, want,
		    "mtcrf 0x81, r3: CR in the post_handler (cr0 and cr7 "
		    "from r3, the other fields kept)");

	snap_one("sc (getpid)", t_pi_sc_site, t_pi_getpid, 0, getpid(),
		 t_pi_sc_next);
	kp_check_eq(pre_snap.gpr0, 20, "sc: r0 (__NR_getpid) before");
	kp_check_eq(post_snap.gpr3, getpid(),
		    "sc: r3 (getpid()) in the post_handler");
	kp_check_eq(post_snap.ccr & CR0_SO, 0,
		    "sc (getpid): CR0[SO] in the post_handler (success)");
	snap_one("sc (close(-1))", t_pi_sc_fail_site, t_pi_close_bad, 0,
		 EBADF_NR + SO_RESULT, t_pi_sc_fail_next);
	kp_check_eq(post_snap.gpr3, EBADF_NR,
		    "sc (close(-1)): r3 (EBADF) in the post_handler");
	kp_check_eq(post_snap.ccr & CR0_SO, CR0_SO,
		    "sc (close(-1)): CR0[SO] in the post_handler (failure)");
	kp_test_done();
}

/*
 * Loops: the post_handler sees the taken successor and the fall-through
 * as many times as the branch goes each way; for the CTR forms, CTR one
 * less at every execution.
 */
static unsigned long post_taken, post_fall, post_elsewhere, post_ctr_bad;
static char *loop_taken, *loop_fall;
static unsigned long loop_ctr;		/* the CTR the next post must see */

static void loop_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (instruction_pointer(regs) == (unsigned long)loop_taken)
		cnt_inc(&post_taken);
	else if (instruction_pointer(regs) == (unsigned long)loop_fall)
		cnt_inc(&post_fall);
	else
		cnt_inc(&post_elsewhere);
	if (loop_ctr) {
		if (regs->ctr != loop_ctr - 1)
			cnt_inc(&post_ctr_bad);
		loop_ctr = regs->ctr;
	}
}

/* @ctr: the loop's count in CTR (0 if it does not use CTR). */
static void check_loop_posts(const char *name, char *site, char *taken,
			     char *fall, char *escape, target_fn fn, long n,
			     long expect, unsigned long n_taken,
			     unsigned long n_fall, bool ctr)
{
	loop_taken = taken;
	loop_fall = fall;
	loop_ctr = ctr ? (unsigned long)n : 0;
	cnt_set(&post_taken, 0);
	cnt_set(&post_fall, 0);
	cnt_set(&post_elsewhere, 0);
	cnt_set(&post_ctr_bad, 0);
	cnt_set(&hits, 0);
	escape_ip = escape;
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)site,
		.pre_handler = count_pre,
		.post_handler = loop_post,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s",
		     name);
	kp_check_eq(call_target(fn, n), expect, "%s: the target", name);
	unregister_kprobe(&kp);
	escape_ip = NULL;
	kp_check_eq(cnt_get(&post_taken), n_taken,
		    "%s, n = %ld: post_handler calls with ip at the branch "
		    "target (taken)", name, n);
	kp_check_eq(cnt_get(&post_fall), n_fall,
		    "%s, n = %ld: post_handler calls with ip after the branch "
		    "(not taken)", name, n);
	kp_check_eq(cnt_get(&post_elsewhere), 0,
		    "%s: post_handler calls with ip elsewhere", name);
	kp_check_eq(cnt_get(&post_ctr_bad), 0,
		    "%s: post_handler calls where CTR was not one less than "
		    "at the previous execution (from n)", name);
}

static void test_post_loops(void **state)
{
	check_loop_posts("bne backwards", t_pi_bne_back_site,
			 t_pi_bne_back_top, t_pi_bne_back_fall,
			 t_pi_bne_back_fall, t_pi_bne_back, 6, 6, 5, 1, false);
	/* The result's high word is CTR at the end: 0. */
	check_loop_posts("bdnz", t_pi_bdnz_site, t_pi_bdnz_top,
			 t_pi_bdnz_fall, t_pi_bdnz_fall, t_pi_bdnz, 6, 6, 5,
			 1, true);
	check_loop_posts("bdz", t_pi_bdz_site, t_pi_bdz_target,
			 t_pi_bdz_fall, t_pi_bdz_target, t_pi_bdz, 6, 5, 1, 5,
			 true);
	kp_test_done();
}

/* ---- what register_kprobe() must refuse ---- */

static void test_refused(void **state)
{
	static const struct {
		const char *name;
		char *site;
	} refused[] = {
		/* The reservation would be lost (or faked) out of line. */
		{ "lwarx", t_pi_lwarx_site },
		{ "stwcx.", t_pi_stwcx_site },
		{ "ldarx", t_pi_ldarx_site },
		{ "stdcx.", t_pi_stdcx_site },
		/* Traps: ours, or the program's own. */
		{ "trap (tw 31,0,0)", t_pi_trap_site },
		{ "tweq", t_pi_tw_site },
		{ "tdlt", t_pi_td_site },
		{ "twgti (twi)", t_pi_twi_site },
		{ "tdnei (tdi)", t_pi_tdi_site },
		/* The target address register is not in pt_regs. */
		{ "bctar", t_pi_bctar_site },
		/* An invalid form: bcctr that decrements CTR. */
		{ "bcctr 16,0 (BO_2 clear)", t_pi_bcctr_bo2_site },
		/* Its suffix would run alone out of line. */
		{ "pld (prefixed)", t_pi_pld_site },
	};
	uint8_t saved[KP_TEXT_LEN];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		text_read(refused[i].site, saved, KP_TEXT_LEN);
		kp = (struct kprobe){
			.addr = (kprobe_opcode_t *)refused[i].site,
			.pre_handler = count_pre,
		};
		kp_check_ret(register_kprobe(&kp), -EOPNOTSUPP,
			     "register_kprobe() on %s", refused[i].name);
		kp_check_text(refused[i].site, saved,
			      "%s: text after the refusal", refused[i].name);
	}
	/* The prefixed instruction's second word is no boundary. */
	text_read(t_pi_pld_site, saved, KP_TEXT_LEN);
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)(t_pi_pld_site + 4),
		.pre_handler = count_pre,
	};
	kp_check_ret(register_kprobe(&kp), -EILSEQ,
		     "register_kprobe() on the suffix of a prefixed pld");
	kp_check_text(t_pi_pld_site, saved, "pld: text after the refusal");
	kp_test_done();
}

/* ---- many probes at once ---- */

/*
 * Probe every word of a function at once and count the instructions
 * executed. Adjacent probes, each run from a slot or emulated, must hand
 * over to each other (a slot's branch back lands on the next probe's
 * trap).
 */
static void check_every_insn(const char *name, target_fn fn, int n,
			     long arg, long expect, unsigned long executed,
			     char *escape)
{
	char *code = code_of(fn);
	uint8_t saved[64], now[64];
	int i;

	assert_true(n * 4 <= (int)sizeof(saved) && n <= 16);
	text_read(code, saved, n * 4);
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	escape_ip = escape;
	for (i = 0; i < n; i++) {
		kps[i] = (struct kprobe){
			.addr = (kprobe_opcode_t *)(code + 4 * i),
			.pre_handler = count_pre,
		};
		kp_check_ret(register_kprobe(&kps[i]), 0, "%s + %d", name,
			     4 * i);
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
	escape_ip = NULL;
	text_read(code, now, n * 4);
	kp_check(memcmp(now, saved, n * 4) == 0,
		 "%s: text restored after removing all its probes", name);
}

static void test_every_instruction(void **state)
{
	/* mflr, std, stdu, bl, ld, addi, subf, add, addi, addi, ld, mtlr,
	 * blr (t_pi_mul3 not probed) */
	check_every_insn("t_pi_bl_back", t_pi_bl_back, 13, 5, 17, 13, NULL);
	/* cmpdi, beq, li, blr, li, blr: four run either way */
	check_every_insn("t_pi_beq", t_pi_beq, 6, 0, 10, 4, NULL);
	check_every_insn("t_pi_beq", t_pi_beq, 6, 1, 20, 4, NULL);
	/* mtctr, li, 3 x (addi, bdnz), mfctr, sldi, add, blr */
	check_every_insn("t_pi_bdnz", t_pi_bdnz, 8, 3, 3, 2 + 6 + 4,
			 t_pi_bdnz_fall);
	/* crset, li, sc, mfcr, rlwinm, sldi, add, blr */
	check_every_insn("t_pi_getpid", t_pi_getpid, 8, 0, getpid(), 8, NULL);
	/* mflr, bcl, mflr, mtlr, addis, addi, blr */
	check_every_insn("t_pi_bcl", t_pi_bcl, 7, 0, (long)&t_pi_data, 7,
			 NULL);
	kp_test_done();
}

/*
 * Map `addi r3, r3, 7; blr` at T_PI_ABS for ba/bla. A fixed mapping that
 * replaces nothing: if the address is taken or refused, the ba/bla cases
 * skip.
 */
static void map_abs_page(void)
{
	static const uint32_t code[2] = {
		0x38630007,	/* addi r3, r3, 7 */
		0x4e800020,	/* blr */
	};
	void *want = (void *)t_pi_abs, *p;

	p = mmap(want, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		abs_why = strerror(errno);
		return;
	}
	if (p != want) {	/* a kernel that took the flag as a hint */
		munmap(p, 4096);
		abs_why = "the address is taken";
		return;
	}
	memcpy(p, code, sizeof(code));
	if (mprotect(p, 4096, PROT_READ | PROT_EXEC)) {
		abs_why = strerror(errno);
		munmap(p, 4096);
		return;
	}
	__builtin___clear_cache((char *)p, (char *)p + sizeof(code));
	abs_mapped = true;
}

#define INSN_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest tests[NCASES + 9];
	size_t i, n = 0;

	map_abs_page();
	for (i = 0; i < NCASES; i++) {
		if (cases[i].fn == t_pi_getpid)
			cases[i].expect = getpid();
		if (cases[i].fn == t_pi_lnia)
			cases[i].expect = (long)t_pi_lnia_next;
		if (cases[i].fn == t_pi_addpcis)
			cases[i].expect = cases[i].arg +
				(long)t_pi_addpcis_next - 0x20000;
		if (cases[i].fn == t_pi_bcl)
			cases[i].expect = (long)&t_pi_data;
		if (cases[i].abs)
			cases[i].after = (char *)t_pi_abs;
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.setup_func = setup,
			.teardown_func = teardown,
			.initial_state = &cases[i],
		};
	}
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_calls);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_jumps);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_bc);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_absolute);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_addpcis);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_slot);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_loops);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_refused);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_every_instruction);

	if (n != sizeof(tests) / sizeof(tests[0])) {
		fprintf(stderr, "test_insn: %zu tests in an array of %zu\n",
			n, sizeof(tests) / sizeof(tests[0]));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif /* __x86_64__, __powerpc64__ */
#endif /* __x86_64__ || __powerpc64__ */
