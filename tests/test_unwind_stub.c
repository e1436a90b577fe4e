// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unwinding through a pending return: inside a function whose caller's
 * return is hijacked (return-probed), libunwind's unw_backtrace(), glibc's
 * backtrace(3) and kprobe_backtrace() must step through the return stub to
 * the real callers. Built with -fomit-frame-pointer: with frame pointers,
 * libunwind can guess its way past a frame it has no unwind info for, and
 * the test would pass without the stubs' unwind info.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <execinfo.h>
#include <link.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <kprobes.h>

#if defined(__x86_64__)
/* Before arch-insn.h, whose X86_REG_IP would rename Capstone's. */
#include <capstone/capstone.h>
#endif
#include "arch-insn.h"		/* the return stubs' and detours' layout */

#define DEPTH 32

static void *ub_buf[DEPTH], *gb_buf[DEPTH], *kb_buf[DEPTH];
static int ub_n, gb_n, kb_n;

__attribute__((noinline)) long us_leaf(long x);
__attribute__((noinline)) long us_leaf(long x)
{
	ub_n = unw_backtrace(ub_buf, DEPTH);
	gb_n = backtrace(gb_buf, DEPTH);
	kb_n = kprobe_backtrace(NULL, kb_buf, DEPTH);
	return x + 1;
}
static long (*volatile leaf_fp)(long) = us_leaf;

__attribute__((noinline)) long us_middle(long x);
__attribute__((noinline)) long us_middle(long x)
{
	long r = leaf_fp(x) * 2;

	__asm__ volatile("" : "+r"(r));
	return r;
}
static long (*volatile middle_fp)(long) = us_middle;

__attribute__((noinline)) long us_top(long x);
__attribute__((noinline)) long us_top(long x)
{
	long r = middle_fp(x) + 3;

	__asm__ volatile("" : "+r"(r));
	return r;
}
static long (*volatile top_fp)(long) = us_top;

static int ret_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}

static void *pre_buf[DEPTH];
static int pre_n;

/* At us_leaf's first instruction: the walk must start at the probed
 * instruction itself, not at the instruction before it. */
static int leaf_pre(struct kprobe *p, struct pt_regs *regs)
{
	pre_n = kprobe_backtrace(regs, pre_buf, DEPTH);
	return 0;
}

/*
 * Index of the first address of @buf inside the function @name, by its
 * dynamic symbol and size (the test is linked with --export-dynamic), or -1.
 */
static int find_in(void **buf, int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		const ElfW(Sym) *sym = NULL;
		Dl_info info;

		if (!dladdr1(buf[i], &info, (void **)&sym, RTLD_DL_SYMENT) ||
		    !sym || !info.dli_sname || strcmp(info.dli_sname, name))
			continue;
		if ((uintptr_t)buf[i] < (uintptr_t)info.dli_saddr + sym->st_size)
			return i;
	}
	return -1;
}

/*
 * us_middle, then us_top. A raw walk shows the return stub between them
 * (the stub stands where us_middle's return address was); kprobe_backtrace()
 * leaves it out.
 */
static void check(const char *who, void **buf, int n, bool raw)
{
	int m = find_in(buf, n, "us_middle");
	int t = find_in(buf, n, "us_top");

	if (m < 0 || t != m + 1 + raw) {
		for (int i = 0; i < n; i++) {
			Dl_info info;

			print_message("  #%d %p %s\n", i, buf[i],
				      dladdr(buf[i], &info) && info.dli_sname ?
				      info.dli_sname : "?");
		}
		fail_msg("%s: %d frames, us_middle at %d, us_top at %d (expected "
			 "at %d): the walk did not pass the return stub to the "
			 "real caller", who, n, m, t, m + 1 + raw);
	}
	if (raw && kretprobe_find_ret_addr((unsigned long)buf[m + 1]) ==
		   (unsigned long)buf[m + 1])
		fail_msg("%s: frame %d (%p) should be the return stub", who,
			 m + 1, buf[m + 1]);
}

static void test_walk_through_stub(void **state)
{
	struct kretprobe rp = {
		.kp.symbol_name = "us_middle",
		.handler = ret_handler,
	};

	assert_int_equal(register_kretprobe(&rp), 0);
	assert_int_equal(top_fp(1), (1 + 1) * 2 + 3);
	unregister_kretprobe(&rp);

	check("unw_backtrace()", ub_buf, ub_n, true);
	check("backtrace(3)", gb_buf, gb_n, true);
	check("kprobe_backtrace(NULL)", kb_buf, kb_n, false);
	/* The raw walks show the stub in us_middle's return address' place;
	 * kprobe_backtrace() shows none. */
	for (int i = 0; i < kb_n; i++)
		assert_true(kretprobe_find_ret_addr((unsigned long)kb_buf[i]) ==
			    (unsigned long)kb_buf[i]);
}

/* kprobe_backtrace(regs) in a pre_handler at a function's entry, with its
 * caller return-probed. */
static void test_backtrace_from_entry_regs(void **state)
{
	struct kretprobe rp = {
		.kp.symbol_name = "us_middle",
		.handler = ret_handler,
	};
	struct kprobe kp = {
		.symbol_name = "us_leaf",
		.pre_handler = leaf_pre,
	};

	assert_int_equal(register_kretprobe(&rp), 0);
	assert_int_equal(register_kprobe(&kp), 0);
	pre_n = 0;
	assert_int_equal(top_fp(1), (1 + 1) * 2 + 3);
	unregister_kprobe(&kp);
	unregister_kretprobe(&rp);

	/* The probed address: us_leaf's, or on ppc64 ELFv2 its local entry
	 * point, where a probe on a function by name goes. */
	if (pre_n < 1 || pre_buf[0] != (void *)kp.addr ||
	    (uintptr_t)kp.addr - (uintptr_t)us_leaf > 8)
		fail_msg("frame 0 is %p, expected us_leaf's entry %p (%p)",
			 pre_n ? pre_buf[0] : NULL, (void *)kp.addr,
			 (void *)us_leaf);
	check("kprobe_backtrace(regs) at us_leaf+0", pre_buf, pre_n, false);
}

#if defined(__x86_64__)
/*
 * Unwind one frame from a made-up context, as a signal handler's unwinder
 * would from the interrupted one: at @ip (not "return address - 1"), with
 * @sp the stack pointer. *@caller_ip and *@caller_sp: the caller's, as
 * libunwind finds them through the stub's unwind info.
 */
static void step_from(uintptr_t ip, uintptr_t sp, unw_word_t *caller_ip,
		      unw_word_t *caller_sp)
{
	unw_context_t uc;
	unw_cursor_t cur;

	assert_int_equal(unw_getcontext(&uc), 0);
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)ip;
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
	assert_int_equal(unw_init_local2(&cur, &uc, UNW_INIT_SIGNAL_FRAME), 0);
	assert_true(unw_step(&cur) > 0);
	assert_int_equal(unw_get_reg(&cur, UNW_REG_IP, caller_ip), 0);
	assert_int_equal(unw_get_reg(&cur, UNW_REG_SP, caller_sp), 0);
}
#endif

/*
 * A jump-optimized kretprobe calls its function from the return stub (a
 * call-in, docs/design.md): us_middle's return address is then the stub's
 * call-in return, and a walk must still pass it. And at each of the
 * stub's ways in, a signal handler's unwinder must find the real caller
 * with the caller's stack pointer: at the call-in's first instruction the
 * return address is still on the stack, 8 bytes more than anywhere else
 * in the stub (its unwind info has a row for that one instruction).
 */
static void test_callin(void **state)
{
#if defined(__x86_64__)
	struct kretprobe rp = {
		.kp.symbol_name = "us_middle",
		.handler = ret_handler,
	};
	uintptr_t frame[4] = { 0 }, ra, stub, real;
	unw_word_t ip, sp;
	int m;

	assert_int_equal(register_kretprobe(&rp), 0);
	if (!kprobe_optimized(&rp.kp)) {
		unregister_kretprobe(&rp);
		skip();		/* LIBKPROBE_OPTIMIZE=0: no call-in */
	}
	assert_int_equal(top_fp(1), (1 + 1) * 2 + 3);
	unregister_kretprobe(&rp);
	check("unw_backtrace()", ub_buf, ub_n, true);
	check("kprobe_backtrace(NULL)", kb_buf, kb_n, false);

	m = find_in(ub_buf, ub_n, "us_middle");
	ra = (uintptr_t)ub_buf[m + 1];
	stub = ra - ARCH_RET_CALLIN_RET;
	real = kretprobe_find_ret_addr(ra);
	assert_true(real != ra);
	assert_int_equal(find_in((void **)&real, 1, "us_top"), 0);

	/* The stub's entry (the function returned into it), the call-in's
	 * leaq and its call: the caller's rsp is frame + 1 throughout. */
	step_from(stub, (uintptr_t)(frame + 1), &ip, &sp);
	assert_int_equal(ip, real);
	assert_int_equal(sp, (uintptr_t)(frame + 1));
	step_from(stub + ARCH_RET_CALLIN, (uintptr_t)frame, &ip, &sp);
	assert_int_equal(ip, real);
	assert_int_equal(sp, (uintptr_t)(frame + 1));
	step_from(stub + ARCH_RET_CALLIN + 5, (uintptr_t)(frame + 1), &ip, &sp);
	assert_int_equal(ip, real);
	assert_int_equal(sp, (uintptr_t)(frame + 1));
#else
	skip();			/* jump optimization is x86_64's only */
#endif
}

#if defined(__x86_64__)
/*
 * Where the routine of us_middle's detour (optprobe.c's layout) lies, read
 * from the jump written over us_middle's first instruction: its R (where
 * the routine returns to) and the routine itself.
 */
static void detour_of(uintptr_t fn, uintptr_t *r, uintptr_t *routine)
{
	const uint8_t *p = (const uint8_t *)fn;
	uintptr_t detour;
	int32_t rel;

	assert_int_equal(p[0], ARCH_OPT_FIRST_BYTE);
	memcpy(&rel, p + 1, sizeof(rel));
	detour = fn + ARCH_OPT_JMP_LEN + (intptr_t)rel - X86_DT_ENTRY;
	memcpy(routine, (const void *)(detour + X86_DT_ROUTINE),
	       sizeof(*routine));
	*r = detour + X86_DT_COPY;
}
#endif

/*
 * A jump-optimized kretprobe with no entry_handler enters by the direct
 * way (optprobe.S's kp_optprobe_kret_*), which builds no pt_regs. A signal
 * arriving at any of its instructions must unwind to the probed function's
 * first instruction, with the stack pointer the function was called with.
 * Each instruction is found with Capstone, and the depth of the stack
 * there followed along every path, so that a row of the routine's unwind
 * info that disagrees with the code turns this red.
 */
static void test_direct_entry_frames(void **state)
{
#if defined(KP_SANITIZED)
	skip();			/* no light path, so no direct way */
#elif defined(__x86_64__)
	struct kretprobe rp = {
		.kp.symbol_name = "us_middle",
		.handler = ret_handler,
	};
	/* A stack: S, the probed code's rsp, 256 words up; R at S - 136. */
	uintptr_t stack[512] = { 0 }, *s = stack + 256;
	int depth_at[256], n_checked = 0;
	uintptr_t r, routine;
	unw_word_t ip, sp;
	cs_insn *insn;
	csh cs;
	size_t n;

	assert_int_equal(register_kretprobe(&rp), 0);
	if (!kprobe_optimized(&rp.kp)) {
		unregister_kretprobe(&rp);
		skip();		/* LIBKPROBE_OPTIMIZE=0 */
	}
	detour_of((uintptr_t)us_middle, &r, &routine);
	s[-136 / 8] = r;

	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(cs, (const uint8_t *)routine, 256, routine, 0, &insn);
	assert_true(n > 0);
	for (int i = 0; i < 256; i++)
		depth_at[i] = -1;
	depth_at[0] = 0;
	for (size_t i = 0, depth = 0; i < n; i++) {
		const cs_insn *in = &insn[i];
		size_t off = in->address - routine;
		const cs_x86 *x = &in->detail->x86;

		assert_true(off < 256);
		if (depth_at[off] >= 0)
			depth = (size_t)depth_at[off];	/* a branch's target */
		step_from(in->address, (uintptr_t)s - 136 - depth, &ip, &sp);
		if (ip != (uintptr_t)us_middle || sp != (uintptr_t)s)
			fail_msg("from %s %s at +%zu (%zu bytes pushed): "
				 "caller %#lx sp %#lx, expected us_middle "
				 "%p sp %p", in->mnemonic, in->op_str, off,
				 depth, (unsigned long)ip, (unsigned long)sp,
				 (void *)us_middle, (void *)s);
		n_checked++;
		switch (in->id) {
		case X86_INS_PUSH:
		case X86_INS_PUSHFQ:
			depth += 8;
			break;
		case X86_INS_POP:
			depth -= 8;
			break;
		case X86_INS_LEA:	/* leaq 8(%rsp), %rsp */
			if (x->operands[0].type == X86_OP_REG &&
			    x->operands[0].reg == X86_REG_RSP)
				depth -= (size_t)x->operands[1].mem.disp;
			break;
		case X86_INS_JNE:
		case X86_INS_JE:
			depth_at[x->operands[0].imm - routine] = (int)depth;
			break;
		default:
			break;
		}
		if (in->id == X86_INS_JMP)	/* into the general way */
			break;
	}
	cs_free(insn, n);
	cs_close(&cs);
	unregister_kretprobe(&rp);
	assert_true(n_checked >= 30);
#else
	skip();			/* jump optimization is x86_64's only */
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_through_stub),
		cmocka_unit_test(test_backtrace_from_entry_regs),
		cmocka_unit_test(test_callin),
		cmocka_unit_test(test_direct_entry_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
