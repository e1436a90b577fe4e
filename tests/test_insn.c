// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Instruction vectors: a probe on each kind of instruction whose execution
 * out of line or by emulation needs care (PC-relative operands, relative
 * and indirect branches, calls and returns, stack operations, loops, a
 * system call). For each, the target computes the same result before, with
 * and after the probe, and the pre_handler runs exactly once per execution
 * of the probed instruction, with the ip on it.
 *
 * Every instruction a program has runs one of two ways under a probe: the
 * branches (and ppc64's addpcis) are emulated in the trap handler;
 * everything else runs from a slot, followed by a second trap when a
 * post_handler must run, or by a branch back when none does (boosted; on
 * x86_64 the probe may be jump-optimized instead). Each case runs both
 * ways: first with a pre_handler only (the listing must say [BOOSTED] for
 * a slot instruction), then with a post_handler too, which must see the ip
 * at the instruction's successor. The test_post_* tests then look at the
 * registers, stack and data each instruction leaves (for the branches:
 * the callee, the taken or fall-through successor, the return address);
 * test_post_loops at the successors of a loop's branch, execution by
 * execution; test_every_instruction at probes on every instruction of a
 * function at once.
 *
 * One harness serves both arches. Per arch are the targets (in
 * targets_x86_64.S, and on ppc64 in targets_ppc64_insn.S), their case
 * tables, the registers and data that only one arch has (x86_64's
 * RIP-relative data and its guards, ppc64's LR, CTR, CR, the page at
 * T_PI_ABS for ba/bla), and each arch's own test_post_* tests.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <stdbool.h>
#include <unistd.h>
#if defined(__powerpc64__)
#include <sys/mman.h>
#endif

typedef long (*target_fn)(long);

#define CALLS 10	/* calls per phase */

/* Where a probed instruction runs. */
enum insn_exec {
	/* Out of line: boosted (one trap, a branch back) or, on x86_64,
	 * jump-optimized without a post_handler; a second trap with one. */
	X_SLOT,
	/* Out of line, always with the second trap (x86_64's syscall: the
	 * second trap puts the original next address in rcx). */
	X_SLOT_TRAP,
	/* Emulated in the trap handler, never boosted or optimized. */
	X_EMUL,
};

/* The post_handler's ip, where it is not a label: the return address the
 * caller left (ret_addr(): x86_64's word at rsp, ppc64's LR), as the
 * pre_handler saw it. */
#define AFTER_RET	((char *)1)

struct insn_case {
	const char *name;
	char *site;		/* the probed instruction */
	target_fn fn;
	long arg;
	long expect;		/* fn(arg) */
	unsigned long hits;	/* executions of the site per call */
	enum insn_exec exec;
	/* ip in the post_handler; NULL where it varies (the loops, checked
	 * by test_post_loops). */
	char *after;
	/* A loop whose branch went wrong would never end: after too many
	 * hits the pre_handler sends the thread here (the loop's exit),
	 * and the hit count fails the test instead. */
	char *escape;
	bool abs;		/* ppc64: needs the code at T_PI_ABS */
};

/* The usual case: executed once per call, a fixed successor. */
#define CASE(name, site, fn, arg, expect, exec, after) \
	{ name, site, fn, arg, expect, 1, exec, after, NULL, false }
/* A loop's branch: @hits executions per call, successors checked by
 * test_post_loops. */
#define LOOP(name, site, fn, arg, expect, hits, escape) \
	{ name, site, fn, arg, expect, hits, X_EMUL, NULL, escape, false }

/*
 * A loop for test_post_loops: fn(n) == expect; the branch at site goes
 * n_taken times to taken and n_fall times to fall. With counted, the
 * branch decrements the count register (COUNT_REG: x86_64's rcx for loop,
 * ppc64's CTR for bdnz/bdz) from n.
 */
struct loop_case {
	const char *name;
	char *site, *taken, *fall;
	/* As in struct insn_case, with a pre_handler that watches for it;
	 * NULL: the probe has a post_handler alone. */
	char *escape;
	target_fn fn;
	long n, expect;
	unsigned long n_taken, n_fall;
	bool counted;
};

/* A function probed on its first n instructions at once, for
 * test_every_instruction. */
struct every_case {
	const char *name;
	target_fn fn;
	int n;
	unsigned char offs[16];	/* the instructions' byte offsets */
	long arg, expect;
	unsigned long executed;	/* probed instructions run per call */
	char *escape;		/* as in struct insn_case */
};

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

#define MUL3	((char *)t_mul3)	/* the callee of the call/jmp vectors */

/* Successors without a label of their own: the site + the instruction's
 * length. */
static struct insn_case cases[] = {
	CASE("movq t_data(%rip), %rax", t_riprel_load_site, t_riprel_load, 0,
	     0x1122334455667788, X_SLOT, t_riprel_load_next),
	CASE("leaq t_data(%rip), %rax", t_riprel_lea_site, t_riprel_lea, 0,
	     0 /* &t_data, set in main() */, X_SLOT,
	     t_riprel_lea_site + 7 /* 48 8d 05 disp32 */),
	CASE("cmpl $imm32, t_small(%rip)", t_riprel_cmpimm_site,
	     t_riprel_cmpimm, 0, 1, X_SLOT,
	     t_riprel_cmpimm_site + 10 /* 81 3d disp32 imm32 */),
	CASE("movq %rdi, t_store(%rip)", t_riprel_store_site, t_riprel_store,
	     0x4242, 0x4242, X_SLOT,
	     t_riprel_store_site + 7 /* 48 89 3d disp32 */),
	CASE("movl $imm32, t_store32(%rip)", t_riprel_storeimm_site,
	     t_riprel_storeimm, 0, 0x5aa55aa5, X_SLOT,
	     t_riprel_storeimm_site + 10 /* c7 05 disp32 imm32 */),
	CASE("call rel32", t_call_site, t_call, 5, 16, X_EMUL, MUL3),
	CASE("jmp rel8", t_jmp8_site, t_jmp8, 5, 6, X_EMUL, t_jmp8_target),
	CASE("jmp rel32", t_jmp32_site, t_jmp32, 5, 7, X_EMUL,
	     t_jmp32_target),
	CASE("jz rel8, taken", t_jz_site, t_jz, 0, 10, X_EMUL, t_jz_target),
	CASE("jz rel8, not taken", t_jz_site, t_jz, 1, 20, X_EMUL, t_jz_fall),
	CASE("jnz rel32, taken", t_jnz32_site, t_jnz32, 1, 40, X_EMUL,
	     t_jnz32_target),
	CASE("jnz rel32, not taken", t_jnz32_site, t_jnz32, 0, 30, X_EMUL,
	     t_jnz32_fall),
	LOOP("jnz rel8 backwards (5 iterations)", t_jnz_back_site, t_jnz_back,
	     5, 5, 5, t_jnz_back_fall),
	LOOP("loop rel8 (4 iterations)", t_loop_site, t_loop, 4, 4, 4,
	     t_loop_fall),
	CASE("ret", t_ret_site, t_ret, 5, 5 ^ 0x5a, X_EMUL, AFTER_RET),
	CASE("call *%rax", t_call_rax_site, t_call_rax, 5, 16, X_EMUL, MUL3),
	CASE("call *%r11", t_call_r11_site, t_call_r11, 5, 17, X_EMUL, MUL3),
	CASE("jmp *%rax", t_jmp_rax_site, t_jmp_rax, 5, 15, X_EMUL, MUL3),
	CASE("call *t_fnptr(%rip)", t_call_mem_site, t_call_mem, 5, 18, X_EMUL,
	     MUL3),
	CASE("jmp *t_fnptr(%rip)", t_jmp_mem_site, t_jmp_mem, 5, 15, X_EMUL,
	     MUL3),
	CASE("push %rdi", t_push_site, t_pushpop, 0x1234, 0x1234, X_SLOT,
	     t_pop_site),
	CASE("pop %rax", t_pop_site, t_pushpop, 0x1234, 0x1234, X_SLOT,
	     t_pop_site + 1 /* 58 */),
	CASE("pushq t_data(%rip)", t_push_riprel_site, t_push_riprel, 0,
	     0x1122334455667788, X_SLOT,
	     t_push_riprel_site + 6 /* ff 35 disp32 */),
	CASE("syscall (getpid)", t_syscall_site, t_getpid, 0,
	     0 /* getpid(), set in main() */, X_SLOT_TRAP, t_syscall_next),
};

/* Backward branches in a loop: the post_handler sees the top n - 1 times,
 * then the fall-through; loop counts rcx down. A post_handler alone on
 * the branch. */
static const struct loop_case loops[] = {
	{ "jnz rel8 backwards", t_jnz_back_site, t_jnz_back_top,
	  t_jnz_back_fall, NULL, t_jnz_back, 6, 6, 5, 1, false },
	{ "loop rel8", t_loop_site, t_loop_top, t_loop_fall, NULL, t_loop,
	  6, 6, 5, 1, true },
};

/* test, jz, mov, ret, mov, ret */
#define JZ_OFFS		{ 0, 3, 5, 10, 11, 16 }

static struct every_case every[] = {
	/* push, mov, call, add, pop, ret */
	{ "t_call", t_call, 6, { 0, 1, 4, 9, 13, 14 }, 5, 16, 6, NULL },
	{ "t_jz", t_jz, 6, JZ_OFFS, 0, 10, 4, NULL },
	{ "t_jz", t_jz, 6, JZ_OFFS, 1, 20, 4, NULL },
	/* mov, xor, add, loop, ret */
	{ "t_loop", t_loop, 5, { 0, 3, 5, 9, 11 }, 3, 3, 2 + 3 + 3 + 1,
	  NULL },
	/* push, pop, ret */
	{ "t_pushpop", t_pushpop, 3, { 0, 1, 2 }, 9, 9, 3, NULL },
};

/* Jump optimization exists here: a slot instruction's probe without a
 * post_handler may say [OPTIMIZED] rather than [BOOSTED]. */
#define ARCH_JUMP_OPT	1

/* The count register of a counted loop (the loop instruction). */
#define COUNT_REG(regs)	((regs)->rcx)

/* The registers the test_post_* tests look at, besides ip, sp and the
 * word at sp: X(field, value). */
#define SNAP_REGS(X, regs)	X(rax, (regs)->rax) X(rcx, (regs)->rcx)

/* The return address the caller left: at a ret, the word at rsp. Reads
 * the probed code's stack, which ASan does not know as an object. */
__attribute__((no_sanitize_address))
static unsigned long ret_addr(const struct pt_regs *regs)
{
	return *(const unsigned long *)regs->rsp;
}

/* Clears the stores the targets are checked for. */
static void clear_stores(void)
{
	t_store = 0;
	t_store32[0] = 0;
}

/* Each store the last call made, and no other. */
static void check_stored(const struct insn_case *c, const char *how)
{
	kp_check_eq(t_store, c->fn == t_riprel_store ? c->arg : 0,
		    "%s, %s: t_store after the last call", c->name, how);
	kp_check_eq(t_store32[0], c->fn == t_riprel_storeimm ? c->expect : 0,
		    "%s, %s: t_store32 after the last call", c->name, how);
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

/* Every case can run here. */
static bool case_runnable(const struct insn_case *c)
{
	return true;
}

#elif defined(__powerpc64__)

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

/* CR0[SO] as the targets return it (bit 32 of their result). */
#define SO_RESULT	(1l << 32)
#define CR0_SO		0x10000000ul	/* in the 32-bit CR */
#define EBADF_NR	9

/* A branch to T_PI_ABS (the successor is set in main()). */
#define ABS(name, site, fn, arg, expect) \
	{ name, site, fn, arg, expect, 1, X_EMUL, NULL, NULL, true }

static struct insn_case cases[] = {
	/* ---- out of line ---- */
	CASE("ld (TOC-relative load)", t_pi_load_site, t_pi_load, 0,
	     0x1122334455667788, X_SLOT, t_pi_load_next),
	CASE("std (TOC-relative store)", t_pi_store_site, t_pi_store, 0x4242,
	     0x4242, X_SLOT, t_pi_store_next),
	CASE("stdu r1, -32(r1) (a frame and its back chain)",
	     t_pi_stdu_site, t_pi_bl_back, 5, 17, X_SLOT, t_pi_stdu_next),
	CASE("mflr r0", t_pi_mflr_site, t_pi_bl_back, 5, 17, X_SLOT,
	     t_pi_mflr_site + 4),
	CASE("mtlr r0", t_pi_mtlr_site, t_pi_bl_back, 5, 17, X_SLOT,
	     t_pi_mtlr_next),
	CASE("mfcr (cr7 lt)", t_pi_mfcr_site, t_pi_mfcr, 3, 8, X_SLOT,
	     t_pi_mfcr_next),
	CASE("mfcr (cr7 gt)", t_pi_mfcr_site, t_pi_mfcr, 7, 4, X_SLOT,
	     t_pi_mfcr_next),
	CASE("mfcr (cr7 eq)", t_pi_mfcr_site, t_pi_mfcr, 5, 2, X_SLOT,
	     t_pi_mfcr_next),
	CASE("mtcrf 0x81 (cr0 and cr7)", t_pi_mtcrf_site, t_pi_mtcrf,
	     0x5000000b, 0x5000000b, X_SLOT, t_pi_mtcrf_next),
	CASE("sc (getpid: CR0[SO] cleared)", t_pi_sc_site, t_pi_getpid, 0,
	     0 /* getpid(), set in main() */, X_SLOT, t_pi_sc_next),
	CASE("sc (close(-1): EBADF, CR0[SO] set)", t_pi_sc_fail_site,
	     t_pi_close_bad, 0, EBADF_NR + SO_RESULT, X_SLOT,
	     t_pi_sc_fail_next),
	/* ---- emulated ---- */
	CASE("lnia r3 (addpcis r3, 0)", t_pi_lnia_site, t_pi_lnia, 0,
	     0 /* t_pi_lnia_next, set in main() */, X_EMUL, t_pi_lnia_next),
	CASE("addpcis r9, -2", t_pi_addpcis_site, t_pi_addpcis, 3,
	     0 /* 3 + t_pi_addpcis_next - 0x20000, set in main() */, X_EMUL,
	     t_pi_addpcis_next),
	CASE("b forwards", t_pi_b_fwd_site, t_pi_b_fwd, 5, 6, X_EMUL,
	     t_pi_b_fwd_target),
	CASE("b backwards", t_pi_b_back_site, t_pi_b_back, 5, 7, X_EMUL,
	     t_pi_b_back_target),
	CASE("bl forwards", t_pi_bl_fwd_site, t_pi_bl_fwd, 5, 16, X_EMUL,
	     t_pi_mul3b_entry),
	CASE("bl backwards", t_pi_bl_back_site, t_pi_bl_back, 5, 17, X_EMUL,
	     t_pi_mul3_entry),
	ABS("ba (absolute)", t_pi_ba_site, t_pi_ba, 5, 12),
	ABS("bla (absolute)", t_pi_bla_site, t_pi_bla, 5, 13),
	CASE("beq cr0, taken", t_pi_beq_site, t_pi_beq, 0, 10, X_EMUL,
	     t_pi_beq_target),
	CASE("beq cr0, not taken", t_pi_beq_site, t_pi_beq, 1, 20, X_EMUL,
	     t_pi_beq_fall),
	CASE("bne cr7, taken", t_pi_bne7_site, t_pi_bne7, 1, 40, X_EMUL,
	     t_pi_bne7_target),
	CASE("bne cr7, not taken", t_pi_bne7_site, t_pi_bne7, 0, 30, X_EMUL,
	     t_pi_bne7_fall),
	LOOP("bne backwards (5 iterations)", t_pi_bne_back_site,
	     t_pi_bne_back, 5, 5, 5, t_pi_bne_back_fall),
	LOOP("bdnz (4 iterations)", t_pi_bdnz_site, t_pi_bdnz, 4, 4, 4,
	     t_pi_bdnz_fall),
	LOOP("bdz (4 executions, taken the last)", t_pi_bdz_site, t_pi_bdz,
	     4, 3, 4, t_pi_bdz_target),
	CASE("bcl 20,31,$+4 (the PIC idiom)", t_pi_bcl_site, t_pi_bcl, 0,
	     0 /* &t_pi_data, set in main() */, X_EMUL, t_pi_bcl_next),
	CASE("blr", t_pi_blr_site, t_pi_blr, 5, 5 ^ 0x5a, X_EMUL, AFTER_RET),
	CASE("blrl", t_pi_blrl_site, t_pi_blrl, 5, 18, X_EMUL,
	     t_pi_mul3_entry),
	CASE("bctr", t_pi_bctr_site, t_pi_bctr, 5, 15, X_EMUL,
	     t_pi_mul3_entry),
	CASE("bctrl", t_pi_bctrl_site, t_pi_bctrl, 5, 19, X_EMUL,
	     t_pi_mul3_entry),
	CASE("beqlr, taken", t_pi_beqlr_site, t_pi_beqlr, 0, 10, X_EMUL,
	     AFTER_RET),
	CASE("beqlr, not taken", t_pi_beqlr_site, t_pi_beqlr, 1, 20, X_EMUL,
	     t_pi_beqlr_fall),
	CASE("bnectr cr6, taken", t_pi_bnectr_site, t_pi_bnectr, 1, 40,
	     X_EMUL, t_pi_bnectr_target),
	CASE("bnectr cr6, not taken", t_pi_bnectr_site, t_pi_bnectr, 0, 30,
	     X_EMUL, t_pi_bnectr_fall),
};

/*
 * Loops: the post_handler sees the taken successor and the fall-through
 * as many times as the branch goes each way; for the CTR forms, CTR one
 * less at every execution.
 */
static const struct loop_case loops[] = {
	{ "bne backwards", t_pi_bne_back_site, t_pi_bne_back_top,
	  t_pi_bne_back_fall, t_pi_bne_back_fall, t_pi_bne_back, 6, 6, 5, 1,
	  false },
	/* The result's high word is CTR at the end: 0. */
	{ "bdnz", t_pi_bdnz_site, t_pi_bdnz_top, t_pi_bdnz_fall,
	  t_pi_bdnz_fall, t_pi_bdnz, 6, 6, 5, 1, true },
	{ "bdz", t_pi_bdz_site, t_pi_bdz_target, t_pi_bdz_fall,
	  t_pi_bdz_target, t_pi_bdz, 6, 5, 1, 5, true },
};

/* The first n words of a function. */
#define WORDS	{ 0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60 }

static struct every_case every[] = {
	/* mflr, std, stdu, bl, ld, addi, subf, add, addi, addi, ld, mtlr,
	 * blr (t_pi_mul3 not probed) */
	{ "t_pi_bl_back", t_pi_bl_back, 13, WORDS, 5, 17, 13, NULL },
	/* cmpdi, beq, li, blr, li, blr: four run either way */
	{ "t_pi_beq", t_pi_beq, 6, WORDS, 0, 10, 4, NULL },
	{ "t_pi_beq", t_pi_beq, 6, WORDS, 1, 20, 4, NULL },
	/* mtctr, li, 3 x (addi, bdnz), mfctr, sldi, add, blr */
	{ "t_pi_bdnz", t_pi_bdnz, 8, WORDS, 3, 3, 2 + 6 + 4, t_pi_bdnz_fall },
	/* crset, li, sc, mfcr, rlwinm, sldi, add, blr; returns getpid(),
	 * set in main() */
	{ "t_pi_getpid", t_pi_getpid, 8, WORDS, 0, 0, 8, NULL },
	/* mflr, bcl, mflr, mtlr, addis, addi, blr; returns &t_pi_data, set
	 * in main() */
	{ "t_pi_bcl", t_pi_bcl, 7, WORDS, 0, 0, 7, NULL },
};

/* No jump optimization on ppc64: [OPTIMIZED] never shows. */
#define ARCH_JUMP_OPT	0

/* The count register of a counted loop (bdnz, bdz). */
#define COUNT_REG(regs)	((regs)->ctr)

/* The registers the test_post_* tests look at, besides ip, sp (r1) and
 * the word at sp (the back chain): X(field, value). */
#define SNAP_REGS(X, regs)						\
	X(link, (regs)->link) X(ctr, (regs)->ctr) X(ccr, (regs)->ccr)	\
	X(gpr0, (regs)->gpr[0]) X(gpr3, (regs)->gpr[3])			\
	X(gpr9, (regs)->gpr[9])

/* The return address the caller left: LR. */
static unsigned long ret_addr(const struct pt_regs *regs)
{
	return regs->link;
}

/* Clears the store the targets are checked for. */
static void clear_stores(void)
{
	t_pi_stored = 0;
}

/* The store the last call made, and no other. */
static void check_stored(const struct insn_case *c, const char *how)
{
	kp_check_eq(t_pi_stored, c->fn == t_pi_store ? c->arg : 0,
		    "%s, %s: t_pi_stored after the last call", c->name, how);
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

/* The page at T_PI_ABS holds `addi r3, r3, 7; blr` (map_abs_page()). */
static bool abs_mapped;
static const char *abs_why = "not tried";

/* ba/bla need their target below 32 MiB. */
static bool case_runnable(const struct insn_case *c)
{
	if (c->abs && !abs_mapped) {
		print_message("no code at T_PI_ABS: %s\n", abs_why);
		return false;
	}
	return true;
}

#endif /* __x86_64__, __powerpc64__ */

/* ---- one probe per case: boosted, then with a post_handler ---- */

static struct kprobe kp, kps[16];
static unsigned long hits, bad_ip, posts, bad_post;
static unsigned long pre_ret;		/* ret_addr() at the last pre */
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

/* The code a function pointer stands for (ppc64 ELFv1: its descriptor's
 * first word). */
static char *code_of(target_fn f)
{
#if defined(__powerpc64__) && !(defined(_CALL_ELF) && _CALL_ELF == 2)
	return *(char **)f;
#else
	return (char *)f;
#endif
}

/* Counts hits with the ip on the probe; ends a runaway loop (see
 * struct insn_case's escape: every loop lies before its exit, and a probe
 * after the exit must not send the thread back). */
__attribute__((no_sanitize_address))
static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	if (instruction_pointer(regs) != (unsigned long)p->addr)
		cnt_inc(&bad_ip);
	pre_ret = ret_addr(regs);
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
	unsigned long want = post_expect == AFTER_RET ? pre_ret :
			     (unsigned long)post_expect;

	cnt_inc(&posts);
	if (post_expect && instruction_pointer(regs) != want)
		cnt_inc(&bad_post);
}

/* Call the target the way the tests do: through a volatile pointer, with
 * the stores the target is checked for cleared first. */
static long call_target(target_fn f, long arg)
{
	target_fn volatile fp = f;

	clear_stores();
	return fp(arg);
}

/* What kprobe_list() says of a probe: these bits, or -1 for no line. */
#define LISTED_BOOSTED		1	/* [BOOSTED] */
#define LISTED_OPTIMIZED	2	/* [OPTIMIZED] */

static int listed_state(const void *addr)
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

			ret = 0;
			if (memmem(line, n, "[BOOSTED]", 9))
				ret |= LISTED_BOOSTED;
			if (memmem(line, n, "[OPTIMIZED]", 11))
				ret |= LISTED_OPTIMIZED;
			break;
		}
	}
	free(buf);
	return ret;
}

/* One phase of run_case(): CALLS calls with the probe as registered. */
static void run_phase(const struct insn_case *c, bool post)
{
	const char *how = post ? "with a post_handler (second trap)" :
				 "pre_handler only (boosted)";
	uint8_t saved[KP_TEXT_LEN];
	int i, want, listed;

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
	 * (one trap, a branch back), or jump-optimized where the arch has
	 * that; a branch is emulated, never boosted; with a post_handler
	 * nothing is. */
	want = !post && c->exec == X_SLOT ? LISTED_BOOSTED : 0;
	listed = listed_state(c->site);
	if (ARCH_JUMP_OPT && want == LISTED_BOOSTED &&
	    listed == LISTED_OPTIMIZED)
		want = LISTED_OPTIMIZED;
	kp_check_eq(listed, want,
		    "%s, %s: kprobe_list()'s line: [BOOSTED] (1), "
		    "[OPTIMIZED] (2) or neither (0)", c->name, how);

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
	check_stored(c, how);
	check_guards(c->name);

	unregister_kprobe(&kp);
	kp_check_text(c->site, saved, "%s, %s: after unregistering", c->name,
		      how);
	escape_ip = NULL;
}

static void run_case(void **state)
{
	const struct insn_case *c = *state;

	if (!case_runnable(c))
		skip();
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

#define SNAP_FIELD(name, value)	unsigned long name;
#define SNAP_TAKE(name, value)	s->name = value;

struct snap {
	unsigned long ip, sp;
	unsigned long top;	/* the word at sp (ppc64: the back chain) */
	unsigned long ret;	/* ret_addr() */
	SNAP_REGS(SNAP_FIELD, regs)
};

static struct snap pre_snap, post_snap;
static unsigned long pre_calls, post_calls;

/* Reads the probed code's stack, which ASan does not know as an object. */
__attribute__((no_sanitize_address))
static void take_snap(struct snap *s, const struct pt_regs *regs)
{
	s->ip = instruction_pointer(regs);
	s->sp = user_stack_pointer(regs);
	s->top = *(unsigned long *)s->sp;
	s->ret = ret_addr(regs);
	SNAP_REGS(SNAP_TAKE, regs)
}

static int snap_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_calls);
	take_snap(&pre_snap, regs);
	return 0;
}

static void snap_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (cnt_get(&post_calls) == 0)
		take_snap(&post_snap, regs);
	cnt_inc(&post_calls);
}

/*
 * One call of @fn(@arg) with pre and post on @site; returns after checking
 * the result and that each handler ran once, with the ip on @site in the
 * pre_handler and at @after in the post_handler (AFTER_RET: the return
 * address the pre_handler saw), and the stack pointer moved by @sp_delta
 * between them.
 */
static void snap_one(const char *name, char *site, target_fn fn, long arg,
		     long expect, char *after, long sp_delta)
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
		    after == AFTER_RET ? pre_snap.ret : (unsigned long)after,
		    "%s: ip in the post_handler", name);
	kp_check_eq(post_snap.sp, pre_snap.sp + sp_delta,
		    "%s: the stack pointer in the post_handler (%+ld from the "
		    "pre_handler's)", name, sp_delta);
}

/* ---- where a loop's branch goes, execution by execution ---- */

static unsigned long post_taken, post_fall, post_elsewhere, post_count_bad;
static char *loop_taken, *loop_fall;
static unsigned long loop_count;	/* the count the last post saw */
static bool loop_counted;

static void loop_post(struct kprobe *p, struct pt_regs *regs,
		      unsigned long flags)
{
	if (instruction_pointer(regs) == (unsigned long)loop_taken)
		cnt_inc(&post_taken);
	else if (instruction_pointer(regs) == (unsigned long)loop_fall)
		cnt_inc(&post_fall);
	else
		cnt_inc(&post_elsewhere);
	if (loop_counted) {
		if (COUNT_REG(regs) != loop_count - 1)
			cnt_inc(&post_count_bad);
		loop_count = COUNT_REG(regs);
	}
}

static void check_loop_posts(const struct loop_case *l)
{
	loop_taken = l->taken;
	loop_fall = l->fall;
	loop_counted = l->counted;
	loop_count = l->n;
	cnt_set(&post_taken, 0);
	cnt_set(&post_fall, 0);
	cnt_set(&post_elsewhere, 0);
	cnt_set(&post_count_bad, 0);
	cnt_set(&hits, 0);
	escape_ip = l->escape;
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)l->site,
		.pre_handler = l->escape ? count_pre : NULL,
		.post_handler = loop_post,
	};
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe() on %s",
		     l->name);
	kp_check_eq(call_target(l->fn, l->n), l->expect, "%s: the target",
		    l->name);
	unregister_kprobe(&kp);
	escape_ip = NULL;
	kp_check_eq(cnt_get(&post_taken), l->n_taken,
		    "%s, n = %ld: post_handler calls with ip at the branch "
		    "target (taken)", l->name, l->n);
	kp_check_eq(cnt_get(&post_fall), l->n_fall,
		    "%s, n = %ld: post_handler calls with ip after the branch "
		    "(not taken)", l->name, l->n);
	kp_check_eq(cnt_get(&post_elsewhere), 0,
		    "%s: post_handler calls with ip elsewhere", l->name);
	kp_check_eq(cnt_get(&post_count_bad), 0,
		    "%s: post_handler calls where the count register was not "
		    "one less than at the previous execution (from n)",
		    l->name);
}

static void test_post_loops(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(loops) / sizeof(loops[0]); i++)
		check_loop_posts(&loops[i]);
	kp_test_done();
}

/* ---- many probes at once ---- */

#define EVERY_SPAN	64	/* bytes of text compared, from the start */

/*
 * Probe every instruction of a function at once (offsets from the asm) and
 * count the instructions executed. Adjacent probes, each run out of line
 * or emulated, must hand over to each other (a slot's branch back lands
 * on the next probe's trap).
 */
static void check_every_insn(const struct every_case *e)
{
	char *code = code_of(e->fn);
	uint8_t saved[EVERY_SPAN], now[EVERY_SPAN];
	int i;

	assert_true(e->n <= 16 && e->offs[e->n - 1] < EVERY_SPAN);
	text_read(code, saved, EVERY_SPAN);
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	escape_ip = e->escape;
	for (i = 0; i < e->n; i++) {
		kps[i] = (struct kprobe){
			.addr = (kprobe_opcode_t *)(code + e->offs[i]),
			.pre_handler = count_pre,
		};
		kp_check_ret(register_kprobe(&kps[i]), 0, "%s + %u", e->name,
			     e->offs[i]);
	}
	for (i = 0; i < CALLS; i++)
		kp_check_eq(call_target(e->fn, e->arg), e->expect,
			    "%s(%ld) with every instruction probed", e->name,
			    e->arg);
	kp_check_eq(cnt_get(&hits), CALLS * e->executed,
		    "%s(%ld): hits with every instruction probed (%lu "
		    "instructions per call)", e->name, e->arg, e->executed);
	kp_check_eq(cnt_get(&bad_ip), 0, "%s: hits with a wrong ip", e->name);
	for (i = e->n - 1; i >= 0; i--)
		unregister_kprobe(&kps[i]);
	escape_ip = NULL;
	text_read(code, now, EVERY_SPAN);
	kp_check(memcmp(now, saved, EVERY_SPAN) == 0,
		 "%s: text restored after removing all its probes", e->name);
}

static void test_every_instruction(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(every) / sizeof(every[0]); i++)
		check_every_insn(&every[i]);
	kp_test_done();
}

#define INSN_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

#if defined(__x86_64__)

/* ---- x86_64: the stack, rax and rcx each instruction leaves ---- */

static void test_post_call(void **state)
{
	/* ip in the post_handler must be the callee; one push. */
	snap_one("call rel32", t_call_site, t_call, 5, 16, MUL3, -8);
	kp_check_eq(post_snap.top, t_call_ret,
		    "call rel32: the return address pushed must be the "
		    "instruction after the original call, not a slot");
	kp_test_done();
}

static void test_post_call_indirect(void **state)
{
	/* The callee from rax; one push. */
	snap_one("call *%rax", t_call_rax_site, t_call_rax, 5, 16, MUL3, -8);
	kp_check_eq(post_snap.top, t_call_rax_ret,
		    "call *%%rax: the return address pushed");

	/* The callee from t_fnptr; one push. */
	snap_one("call *t_fnptr(%rip)", t_call_mem_site, t_call_mem, 5, 18,
		 MUL3, -8);
	kp_check_eq(post_snap.top, t_call_mem_ret,
		    "call *t_fnptr(%%rip): the return address pushed");
	kp_test_done();
}

/* ip in the post_handler must be the jump target (rax's, t_fnptr's for
 * the indirect ones); rsp unchanged. */
static void test_post_jmp(void **state)
{
	snap_one("jmp rel8", t_jmp8_site, t_jmp8, 5, 6, t_jmp8_target, 0);
	snap_one("jmp rel32", t_jmp32_site, t_jmp32, 5, 7, t_jmp32_target, 0);
	snap_one("jmp *%rax", t_jmp_rax_site, t_jmp_rax, 5, 15, MUL3, 0);
	snap_one("jmp *t_fnptr(%rip)", t_jmp_mem_site, t_jmp_mem, 5, 15, MUL3,
		 0);
	kp_test_done();
}

/* Taken: ip in the post_handler at the target; not taken: at the next
 * instruction. */
static void test_post_jcc(void **state)
{
	snap_one("jz, taken", t_jz_site, t_jz, 0, 10, t_jz_target, 0);
	snap_one("jz, not taken", t_jz_site, t_jz, 1, 20, t_jz_fall, 0);
	snap_one("jnz rel32, taken", t_jnz32_site, t_jnz32, 1, 40,
		 t_jnz32_target, 0);
	snap_one("jnz rel32, not taken", t_jnz32_site, t_jnz32, 0, 30,
		 t_jnz32_fall, 0);
	kp_test_done();
}

static void test_post_ret(void **state)
{
	/* ip in the post_handler must be the return address that was on
	 * the stack; one pop. */
	snap_one("ret", t_ret_site, t_ret, 5, 5 ^ 0x5a, AFTER_RET, 8);
	kp_check_eq(post_snap.rax, 5 ^ 0x5a, "ret: rax in the post_handler");
	kp_test_done();
}

static void test_post_stack_and_data(void **state)
{
	snap_one("push %rdi", t_push_site, t_pushpop, 0x1234, 0x1234,
		 t_pop_site, -8);
	kp_check_eq(post_snap.top, 0x1234, "push: the value pushed");

	snap_one("pop %rax", t_pop_site, t_pushpop, 0x1234, 0x1234,
		 t_pop_site + 1, 8);
	kp_check_eq(post_snap.rax, 0x1234, "pop: rax in the post_handler");

	snap_one("movq t_data(%rip), %rax", t_riprel_load_site, t_riprel_load,
		 0, 0x1122334455667788, t_riprel_load_next, 0);
	kp_check_eq(post_snap.rax, 0x1122334455667788,
		    "RIP-relative load: rax in the post_handler");

	snap_one("syscall", t_syscall_site, t_getpid, 0, getpid(),
		 t_syscall_next, 0);
	kp_check_eq(post_snap.rax, getpid(),
		    "syscall: rax (getpid()) in the post_handler");
	kp_check_eq(post_snap.rcx, t_syscall_next,
		    "syscall: rcx in the post_handler must be the address "
		    "after the original syscall (what the CPU stores there), "
		    "not one in a slot");
	kp_test_done();
}

static const struct CMUnitTest arch_tests[] = {
	INSN_TEST(test_post_call),
	INSN_TEST(test_post_call_indirect),
	INSN_TEST(test_post_jmp),
	INSN_TEST(test_post_jcc),
	INSN_TEST(test_post_ret),
	INSN_TEST(test_post_stack_and_data),
};

/* The results only known at run time. */
static void arch_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].fn == t_riprel_lea)
			cases[i].expect = (long)&t_data;
		if (cases[i].fn == t_getpid)
			cases[i].expect = getpid();
	}
}

#elif defined(__powerpc64__)

/* ---- ppc64: LR, CTR, CR and the registers each instruction leaves ---- */

/* Calls: LR is the address after the call, never a slot's. */
static void test_post_calls(void **state)
{
	snap_one("bl forwards", t_pi_bl_fwd_site, t_pi_bl_fwd, 5, 16,
		 t_pi_mul3b_entry, 0);
	kp_check_eq(post_snap.link, t_pi_bl_fwd_ret,
		    "bl forwards: LR in the post_handler must be the "
		    "instruction after the original bl");
	snap_one("bl backwards", t_pi_bl_back_site, t_pi_bl_back, 5, 17,
		 t_pi_mul3_entry, 0);
	kp_check_eq(post_snap.link, t_pi_bl_back_ret,
		    "bl backwards: LR in the post_handler");
	snap_one("blrl", t_pi_blrl_site, t_pi_blrl, 5, 18, t_pi_mul3_entry, 0);
	kp_check_eq(pre_snap.link, t_pi_mul3_entry,
		    "blrl: LR before it (the asm target's mtlr)");
	kp_check_eq(post_snap.link, t_pi_blrl_ret,
		    "blrl: LR in the post_handler (the target was read "
		    "before LR was written)");
	snap_one("bctrl", t_pi_bctrl_site, t_pi_bctrl, 5, 19,
		 t_pi_mul3_entry, 0);
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
		 t_pi_b_fwd_target, 0);
	kp_check_eq(post_snap.link, pre_snap.link, "b: LR unchanged");
	snap_one("b backwards", t_pi_b_back_site, t_pi_b_back, 5, 7,
		 t_pi_b_back_target, 0);
	kp_check_eq(post_snap.link, pre_snap.link, "b backwards: LR "
		    "unchanged");
	snap_one("bctr", t_pi_bctr_site, t_pi_bctr, 5, 15, t_pi_mul3_entry, 0);
	kp_check_eq(post_snap.link, pre_snap.link, "bctr: LR unchanged");
	kp_check_eq(post_snap.ctr, pre_snap.ctr, "bctr: CTR unchanged");
	snap_one("blr", t_pi_blr_site, t_pi_blr, 5, 5 ^ 0x5a, AFTER_RET, 0);
	kp_check_eq(post_snap.link, pre_snap.link, "blr: LR unchanged");
	kp_check_eq(post_snap.gpr3, 5 ^ 0x5a, "blr: r3 in the post_handler");
	/* bcl 20,31,$+4: a taken branch to the next word that sets LR. */
	snap_one("bcl 20,31,$+4", t_pi_bcl_site, t_pi_bcl, 0,
		 (long)&t_pi_data, t_pi_bcl_next, 0);
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
	snap_one(name, site, fn, arg, expect, after, 0);
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
		 AFTER_RET);
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
	snap_one("ba", t_pi_ba_site, t_pi_ba, 5, 12, (char *)t_pi_abs, 0);
	kp_check_eq(post_snap.link, pre_snap.link, "ba: LR unchanged");
	snap_one("bla", t_pi_bla_site, t_pi_bla, 5, 13, (char *)t_pi_abs, 0);
	kp_check_eq(post_snap.link, t_pi_bla_ret,
		    "bla: LR in the post_handler must be the instruction "
		    "after the original bla");
	kp_test_done();
}

/* addpcis writes rT (and nothing else) with its own address + 4 + D. */
static void test_post_addpcis(void **state)
{
	snap_one("lnia r3", t_pi_lnia_site, t_pi_lnia, 0,
		 (long)t_pi_lnia_next, t_pi_lnia_next, 0);
	kp_check_eq(post_snap.gpr3, t_pi_lnia_next,
		    "lnia r3: r3 in the post_handler must be the original "
		    "next instruction's address");
	snap_one("addpcis r9, -2", t_pi_addpcis_site, t_pi_addpcis, 3,
		 3 + (long)t_pi_addpcis_next - 0x20000, t_pi_addpcis_next, 0);
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
		 t_pi_load_next, 0);
	kp_check_eq(post_snap.gpr3, 0x1122334455667788,
		    "ld: r3 in the post_handler");

	snap_one("std", t_pi_store_site, t_pi_store, 0x4242, 0x4242,
		 t_pi_store_next, 0);
	check_guards("std");

	/* stdu r1, -32(r1): r1 moves by -32, and the back chain it stored
	 * is the old r1. */
	snap_one("stdu r1, -32(r1)", t_pi_stdu_site, t_pi_bl_back, 5, 17,
		 t_pi_stdu_next, -32);
	kp_check_eq(post_snap.top, pre_snap.sp,
		    "stdu r1, -32(r1): the back chain it stored");

	snap_one("mflr r0", t_pi_mflr_site, t_pi_bl_back, 5, 17,
		 t_pi_mflr_site + 4, 0);
	kp_check_eq(post_snap.gpr0, pre_snap.link,
		    "mflr r0: r0 in the post_handler must be LR (the "
		    "caller's return address, not a slot's)");
	kp_check_eq(post_snap.link, pre_snap.link, "mflr: LR unchanged");

	snap_one("mtlr r0", t_pi_mtlr_site, t_pi_bl_back, 5, 17,
		 t_pi_mtlr_next, 0);
	kp_check_eq(post_snap.link, pre_snap.gpr0,
		    "mtlr r0: LR in the post_handler must be r0");

	snap_one("mfcr", t_pi_mfcr_site, t_pi_mfcr, 7, 4, t_pi_mfcr_next, 0);
	kp_check_eq(post_snap.gpr3, (uint32_t)pre_snap.ccr,
		    "mfcr r3: r3 in the post_handler must be CR");

	snap_one("mtcrf 0x81", t_pi_mtcrf_site, t_pi_mtcrf, 0x5000000b,
		 0x5000000b, t_pi_mtcrf_next, 0);
	want = (pre_snap.ccr & 0x0ffffff0) | 0x5000000b;
	kp_check_eq(post_snap.ccr, want,
		    "mtcrf 0x81, r3: CR in the post_handler (cr0 and cr7 "
		    "from r3, the other fields kept)");

	snap_one("sc (getpid)", t_pi_sc_site, t_pi_getpid, 0, getpid(),
		 t_pi_sc_next, 0);
	kp_check_eq(pre_snap.gpr0, 20, "sc: r0 (__NR_getpid) before");
	kp_check_eq(post_snap.gpr3, getpid(),
		    "sc: r3 (getpid()) in the post_handler");
	kp_check_eq(post_snap.ccr & CR0_SO, 0,
		    "sc (getpid): CR0[SO] in the post_handler (success)");
	snap_one("sc (close(-1))", t_pi_sc_fail_site, t_pi_close_bad, 0,
		 EBADF_NR + SO_RESULT, t_pi_sc_fail_next, 0);
	kp_check_eq(post_snap.gpr3, EBADF_NR,
		    "sc (close(-1)): r3 (EBADF) in the post_handler");
	kp_check_eq(post_snap.ccr & CR0_SO, CR0_SO,
		    "sc (close(-1)): CR0[SO] in the post_handler (failure)");
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

static const struct CMUnitTest arch_tests[] = {
	INSN_TEST(test_post_calls),
	INSN_TEST(test_post_jumps),
	INSN_TEST(test_post_bc),
	INSN_TEST(test_post_absolute),
	INSN_TEST(test_post_addpcis),
	INSN_TEST(test_post_slot),
	INSN_TEST(test_refused),
};

/* The page at T_PI_ABS, and the results only known at run time. */
static void arch_init(void)
{
	size_t i;

	map_abs_page();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
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
	}
	for (i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		if (every[i].fn == t_pi_getpid)
			every[i].expect = getpid();
		if (every[i].fn == t_pi_bcl)
			every[i].expect = (long)&t_pi_data;
	}
}

#endif /* __x86_64__, __powerpc64__ */

int main(void)
{
	enum {
		NCASES = sizeof(cases) / sizeof(cases[0]),
		NARCH = sizeof(arch_tests) / sizeof(arch_tests[0]),
	};
	struct CMUnitTest tests[NCASES + NARCH + 2];
	size_t i, n = 0;

	arch_init();
	for (i = 0; i < NCASES; i++)
		tests[n++] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.setup_func = setup,
			.teardown_func = teardown,
			.initial_state = &cases[i],
		};
	for (i = 0; i < NARCH; i++)
		tests[n++] = arch_tests[i];
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_post_loops);
	tests[n++] = (struct CMUnitTest)INSN_TEST(test_every_instruction);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif /* __x86_64__ || __powerpc64__ */
