// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Return probes (kretprobes): what the entry and return handlers see, that
 * every kind of return value reaches the caller intact (rax, rax:rdx, xmm0,
 * xmm0:xmm1, x87 st0) even when the return handler uses every register the
 * ABI lets it clobber, regs_set_return_value(), ri->data shared by the two
 * handlers of one call, recursion (LIFO order, maxactive and nmissed), the
 * registration errors, the all-or-nothing batch, and unregistering while a
 * return is pending.
 */
#include "testutil.h"

#if !defined(__x86_64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <sys/wait.h>
#include <unistd.h>

/* ---- targets: each one returns its value in a different place ---- */

struct two_longs {
	long a, b;		/* rax:rdx */
};

struct two_doubles {
	double a, b;		/* xmm0:xmm1 */
};

/* Aligned so that the KP_TEXT_LEN bytes compared after one target do not
 * reach into the next one's breakpoint. */
#define TARGET static __attribute__((noinline, used, aligned(32)))

TARGET int ret_int(int x)
{
	__asm__ volatile("");
	return x * 3 + 1;
}

TARGET void *ret_ptr(void *p)
{
	__asm__ volatile("");
	return (char *)p + 8;
}

TARGET double ret_double(double x)
{
	__asm__ volatile("");
	return x * 1.5 + 0.25;
}

TARGET long double ret_ldouble(long double x)
{
	__asm__ volatile("");
	return x * 3.0L + 0.125L;
}

TARGET struct two_longs ret_2l(long x)
{
	__asm__ volatile("");
	return (struct two_longs){ x + 1, x * 2 - 7 };
}

TARGET struct two_doubles ret_2d(double x)
{
	__asm__ volatile("");
	return (struct two_doubles){ x + 0.5, x * 2.0 - 0.75 };
}

TARGET long ret_args(long a, long b, long c)
{
	__asm__ volatile("");
	return a * 100 + b * 10 + c;
}

/* ret_site() records its return address; call_site() is its one caller.
 * Called unprobed, that is the real return address in call_site(). */
static unsigned long site_ra;

TARGET long ret_site(long x)
{
	site_ra = (unsigned long)__builtin_return_address(0);
	return x + 5;
}

static long (*volatile ret_site_fp)(long) = ret_site;

TARGET long call_site(long x)
{
	/* Work after the call: no tail call, the return lands in here. */
	return ret_site_fp(x) ^ 0x5a;
}

/* rec(level, n): n nested calls, levels 0 (outermost) .. n-1 (innermost);
 * returns the number of levels at and below @level. */
TARGET long rec(long level, long n)
{
	long (*volatile self)(long, long) = rec;

	if (level + 1 < n)
		return self(level + 1, n) + 1;
	return 1;
}

/* ret_unreg() calls back into the test while its return is pending. */
static void (*volatile unreg_cb)(void);

TARGET long ret_unreg(long x)
{
	if (unreg_cb)
		unreg_cb();
	return x + 7;
}

static int (*volatile ret_int_fp)(int) = ret_int;
static void *(*volatile ret_ptr_fp)(void *) = ret_ptr;
static double (*volatile ret_double_fp)(double) = ret_double;
static long double (*volatile ret_ldouble_fp)(long double) = ret_ldouble;
static struct two_longs (*volatile ret_2l_fp)(long) = ret_2l;
static struct two_doubles (*volatile ret_2d_fp)(double) = ret_2d;
static long (*volatile ret_args_fp)(long, long, long) = ret_args;
static long (*volatile call_site_fp)(long) = call_site;
static long (*volatile rec_fp)(long, long) = rec;
static long (*volatile ret_unreg_fp)(long) = ret_unreg;

static char not_code[64];	/* data: not inside any function */

/*
 * kr_call_saved(fn, arg): call fn(arg) with known values in every
 * callee-saved register, and return a mask of those that differ after the
 * call (bit 0 rbx, 1 rbp, 2 r12, 3 r13, 4 r14, 5 r15, 6 rsp). fn's return
 * value goes to kr_saved_ret.
 */
unsigned long kr_call_saved(long (*fn)(long), long arg);
__attribute__((visibility("hidden"))) long kr_saved_ret;
__attribute__((visibility("hidden"))) unsigned long kr_saved_rsp;
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl kr_call_saved\n"
	"	.hidden kr_call_saved\n"
	"	.type kr_call_saved, @function\n"
	"kr_call_saved:\n"
	"	.cfi_startproc\n"
	"	pushq %rbx\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %rbp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r12\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r13\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r14\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq %r15\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movabsq $0x1111111111111111, %rbx\n"
	"	movabsq $0x2222222222222222, %rbp\n"
	"	movabsq $0x3333333333333333, %r12\n"
	"	movabsq $0x4444444444444444, %r13\n"
	"	movabsq $0x5555555555555555, %r14\n"
	"	movabsq $0x6666666666666666, %r15\n"
	"	movq %rsp, kr_saved_rsp(%rip)\n"
	"	call *%rax\n"
	"	movq %rax, kr_saved_ret(%rip)\n"
	"	xorl %eax, %eax\n"
	"	movabsq $0x1111111111111111, %rdx\n"
	"	cmpq %rdx, %rbx\n"
	"	je 1f\n"
	"	orq $1, %rax\n"
	"1:	movabsq $0x2222222222222222, %rdx\n"
	"	cmpq %rdx, %rbp\n"
	"	je 1f\n"
	"	orq $2, %rax\n"
	"1:	movabsq $0x3333333333333333, %rdx\n"
	"	cmpq %rdx, %r12\n"
	"	je 1f\n"
	"	orq $4, %rax\n"
	"1:	movabsq $0x4444444444444444, %rdx\n"
	"	cmpq %rdx, %r13\n"
	"	je 1f\n"
	"	orq $8, %rax\n"
	"1:	movabsq $0x5555555555555555, %rdx\n"
	"	cmpq %rdx, %r14\n"
	"	je 1f\n"
	"	orq $16, %rax\n"
	"1:	movabsq $0x6666666666666666, %rdx\n"
	"	cmpq %rdx, %r15\n"
	"	je 1f\n"
	"	orq $32, %rax\n"
	"1:	cmpq kr_saved_rsp(%rip), %rsp\n"
	"	je 1f\n"
	"	orq $64, %rax\n"
	"	movq kr_saved_rsp(%rip), %rsp\n"
	"1:	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r15\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r14\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r13\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %r12\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rbp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rbx\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size kr_call_saved, . - kr_call_saved\n"
	"	.popsection\n");

/*
 * ret_flags(): hand-written code may return a status in the flags (as
 * some assembly does): it returns with CF, ZF, SF and OF set, and
 * kr_call_flags() hands back the flags its call saw after the return.
 */
void ret_flags(void);
unsigned long kr_call_flags(void (*fn)(void));
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.type ret_flags, @function\n"
	"ret_flags:\n"
	"	.cfi_startproc\n"
	"	movb $0x7f, %al\n"
	"	addb $0x7f, %al\n"		/* OF */
	"	movb $0xc3, %ah\n"
	"	sahf\n"			/* SF, ZF, CF; OF stays */
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size ret_flags, . - ret_flags\n"
	"	.p2align 4\n"
	"	.type kr_call_flags, @function\n"
	"kr_call_flags:\n"
	"	.cfi_startproc\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call *%rdi\n"
	"	pushfq\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	popq %rax\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size kr_call_flags, . - kr_call_flags\n"
	"	.popsection\n");

/* ---- handlers: they only record, the tests check ---- */

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kretprobe rp, rp2;

static unsigned long ret_calls, entry_calls;
static unsigned long last_rax, last_ip, last_ret_addr;
static struct kretprobe *last_rp, *last_entry_rp;
static unsigned long misaligned;	/* ri->data not 16-aligned */

/* What an entry handler stores in ri->data, and what the return handler
 * found there. */
struct call_data {
	long a, b, c;
	unsigned long rsp;	/* regs->rsp at the entry */
	struct kretprobe_instance *ri;
};

static struct call_data at_entry, at_return;
static void *fp_at_return;
static struct kretprobe_instance *ri_at_return;

static long order[64];		/* rec levels, in the order they returned */
static long order_rax[64];	/* and the return values the handler saw */
static unsigned long norder;

/*
 * Use every register a C function may clobber: rax, rcx, rdx, rsi, rdi,
 * r8-r11, xmm0-xmm15, and the whole x87 stack (the ABI says it is empty
 * when a function is called, so a function may push eight values). A
 * trampoline that keeps the return value in any of them while it calls the
 * handler loses it.
 */
static inline void clobber_caller_saved(void)
{
	__asm__ volatile(
		"movq $-1, %%rax\n\t"
		"movq $-1, %%rcx\n\t"
		"movq $-1, %%rdx\n\t"
		"movq $-1, %%rsi\n\t"
		"movq $-1, %%rdi\n\t"
		"movq $-1, %%r8\n\t"
		"movq $-1, %%r9\n\t"
		"movq $-1, %%r10\n\t"
		"movq $-1, %%r11\n\t"
		"pcmpeqd %%xmm0, %%xmm0\n\t"
		"pcmpeqd %%xmm1, %%xmm1\n\t"
		"pcmpeqd %%xmm2, %%xmm2\n\t"
		"pcmpeqd %%xmm3, %%xmm3\n\t"
		"pcmpeqd %%xmm4, %%xmm4\n\t"
		"pcmpeqd %%xmm5, %%xmm5\n\t"
		"pcmpeqd %%xmm6, %%xmm6\n\t"
		"pcmpeqd %%xmm7, %%xmm7\n\t"
		"pcmpeqd %%xmm8, %%xmm8\n\t"
		"pcmpeqd %%xmm9, %%xmm9\n\t"
		"pcmpeqd %%xmm10, %%xmm10\n\t"
		"pcmpeqd %%xmm11, %%xmm11\n\t"
		"pcmpeqd %%xmm12, %%xmm12\n\t"
		"pcmpeqd %%xmm13, %%xmm13\n\t"
		"pcmpeqd %%xmm14, %%xmm14\n\t"
		"pcmpeqd %%xmm15, %%xmm15\n\t"
		"fld1\n\tfld1\n\tfld1\n\tfld1\n\t"
		"fld1\n\tfld1\n\tfld1\n\tfld1\n\t"
		"fstp %%st(0)\n\tfstp %%st(0)\n\t"
		"fstp %%st(0)\n\tfstp %%st(0)\n\t"
		"fstp %%st(0)\n\tfstp %%st(0)\n\t"
		"fstp %%st(0)\n\tfstp %%st(0)\n\t"
		: : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
		  "r11", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		  "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
		  "xmm13", "xmm14", "xmm15", "memory", "cc");
}

static int harsh_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	last_rax = regs_return_value(regs);
	last_ip = instruction_pointer(regs);
	last_ret_addr = (unsigned long)ri->ret_addr;
	last_rp = get_kretprobe(ri);
	cnt_inc(&ret_calls);
	clobber_caller_saved();
	return 0;
}

static int count_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&ret_calls);
	return 0;
}

static int args_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct call_data *d = (struct call_data *)ri->data;

	if ((uintptr_t)ri->data & 15)
		cnt_inc(&misaligned);
	d->a = regs_get_argument(regs, 0);
	d->b = regs_get_argument(regs, 1);
	d->c = regs_get_argument(regs, 2);
	d->rsp = user_stack_pointer(regs);
	d->ri = ri;
	at_entry = *d;
	last_entry_rp = get_kretprobe(ri);
	cnt_inc(&entry_calls);
	return 0;
}

static int args_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if ((uintptr_t)ri->data & 15)
		cnt_inc(&misaligned);
	at_return = *(struct call_data *)ri->data;
	fp_at_return = ri->fp;
	ri_at_return = ri;
	return harsh_ret(ri, regs);
}

/* Return-probe only the calls whose first argument is even. */
static int even_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	long a = regs_get_argument(regs, 0);

	*(long *)ri->data = a;
	cnt_inc(&entry_calls);
	return a & 1;
}

static int even_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (*(long *)ri->data & 1)
		cnt_inc(&misaligned);	/* an odd call came back: wrong */
	cnt_inc(&ret_calls);
	return 0;
}

static int set_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&ret_calls);
	regs_set_return_value(regs, regs_return_value(regs) + 1000);
	return 0;
}

static int level_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(long *)ri->data = regs_get_argument(regs, 0);
	cnt_inc(&entry_calls);
	return 0;
}

static int level_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	unsigned long i = __atomic_fetch_add(&norder, 1, __ATOMIC_RELAXED);

	if (i < 64) {
		order[i] = *(long *)ri->data;
		order_rax[i] = regs_return_value(regs);
	}
	cnt_inc(&ret_calls);
	return 0;
}

static int setup(void **state)
{
	memset(&rp, 0, sizeof(rp));
	memset(&rp2, 0, sizeof(rp2));
	cnt_set(&ret_calls, 0);
	cnt_set(&entry_calls, 0);
	cnt_set(&misaligned, 0);
	cnt_set(&norder, 0);
	last_rax = last_ip = last_ret_addr = 0;
	last_rp = last_entry_rp = NULL;
	memset(&at_entry, 0, sizeof(at_entry));
	memset(&at_return, 0, sizeof(at_return));
	fp_at_return = NULL;
	ri_at_return = NULL;
	unreg_cb = NULL;
	kp_test_begin();
	return 0;
}

/* The kretprobe version of kp_cleanup(). */
static int teardown(void **state)
{
	struct kretprobe *all[] = { &rp, &rp2 };

	if (!kp_test_passed)
		unregister_kretprobes(all, 2);
	kp_test_passed = 0;
	return 0;
}

static int rp_nmissed(const struct kretprobe *r)
{
	return __atomic_load_n(&r->nmissed, __ATOMIC_RELAXED);
}

static void init_rp(struct kretprobe *r, void *fn, kretprobe_handler_t h)
{
	memset(r, 0, sizeof(*r));
	r->kp.addr = (kprobe_opcode_t *)fn;
	r->handler = h;
}

/* ---- return values ---- */

static void test_return_int(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	int want = ret_int_fp(14);

	kp_check_eq(want, 43, "ret_int(14) unprobed");
	text_read(ret_int, saved, KP_TEXT_LEN);
	init_rp(&rp, ret_int, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_int)");
	kp_check_eq(ret_int_fp(14), want,
		    "int in eax: ret_int(14) return-probed, the handler "
		    "clobbering every caller-saved register");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls for one "
		    "call of ret_int");
	kp_check_eq((int)last_rax, want, "regs_return_value(regs) in the "
		    "return handler of ret_int(14)");
	kp_check_eq(last_rp, &rp, "get_kretprobe(ri) in the return handler");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed after one call");
	unregister_kretprobe(&rp);
	kp_check_text(ret_int, saved, "ret_int after unregister_kretprobe");
	kp_check_eq(ret_int_fp(14), want, "ret_int(14) after unregistering");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls after "
		    "unregistering");
	kp_test_done();
}

static void test_return_ptr(void **state)
{
	static char buf[32];
	void *want = ret_ptr_fp(buf);

	kp_check_eq(want, buf + 8, "ret_ptr(buf) unprobed");
	init_rp(&rp, ret_ptr, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_ptr)");
	kp_check_eq(ret_ptr_fp(buf), want, "pointer in rax: ret_ptr(buf) "
		    "return-probed");
	kp_check_eq(last_rax, want, "regs_return_value(regs) of ret_ptr");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check_eq(ret_ptr_fp(buf), want, "ret_ptr(buf) after unregistering");
	kp_test_done();
}

static void test_return_double(void **state)
{
	double want = ret_double_fp(2.5), got;

	kp_check(want == 4.0, "ret_double(2.5) unprobed is 4.0, got %g",
		 want);
	init_rp(&rp, ret_double, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_double)");
	got = ret_double_fp(2.5);
	kp_check(got == want, "double in xmm0: ret_double(2.5) return-probed "
		 "(handler clobbers xmm0-15) returned %g, expected %g", got,
		 want);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	got = ret_double_fp(2.5);
	kp_check(got == want, "ret_double(2.5) after unregistering returned "
		 "%g, expected %g", got, want);
	kp_test_done();
}

static void test_return_ldouble(void **state)
{
	long double want = ret_ldouble_fp(1.5L), got;

	kp_check(want == 4.625L, "ret_ldouble(1.5) unprobed is 4.625, got "
		 "%Lg", want);
	init_rp(&rp, ret_ldouble, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_ldouble)");
	got = ret_ldouble_fp(1.5L);
	kp_check(got == want, "long double in x87 st0: ret_ldouble(1.5) "
		 "return-probed (handler pushes and pops eight x87 values) "
		 "returned %Lg, expected %Lg", got, want);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	got = ret_ldouble_fp(1.5L);
	kp_check(got == want, "ret_ldouble(1.5) after unregistering returned "
		 "%Lg, expected %Lg", got, want);
	kp_test_done();
}

/* The clobbering one call away from the return handler: the light path
 * (docs/design.md) must see through the call and save xmm0 and st0. */
__attribute__((noinline, noipa)) static void clobber_via_call(void)
{
	clobber_caller_saved();
}

static int callee_clobbers_ret(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	cnt_inc(&ret_calls);
	clobber_via_call();
	return 0;
}

static void test_return_fp_via_callee(void **state)
{
	double want = ret_double_fp(2.5), got;
	long double lwant = ret_ldouble_fp(1.5L), lgot;

	init_rp(&rp, ret_double, callee_clobbers_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_double)");
	got = ret_double_fp(2.5);
	kp_check(got == want, "ret_double(2.5), whose return handler's "
		 "callee clobbers xmm0-15, returned %g, expected %g", got,
		 want);
	unregister_kretprobe(&rp);

	init_rp(&rp, ret_ldouble, callee_clobbers_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_ldouble)");
	lgot = ret_ldouble_fp(1.5L);
	kp_check(lgot == lwant, "ret_ldouble(1.5), whose return handler's "
		 "callee fills the x87 stack, returned %Lg, expected %Lg",
		 lgot, lwant);
	unregister_kretprobe(&rp);
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls");
	kp_test_done();
}

/* CF, ZF, SF and OF as the function returned them, through the return
 * trampoline and a handler that changes the flags it runs with. */
static void test_return_flags(void **state)
{
	const unsigned long status = 0x8c1;	/* OF SF ZF CF */
	unsigned long want = kr_call_flags(ret_flags) & status, got;

	kp_check_eq(want, status, "ret_flags() unprobed returns with OF, SF, "
		    "ZF and CF set");
	init_rp(&rp, (void *)ret_flags, count_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_flags)");
	got = kr_call_flags(ret_flags) & status;
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check_eq(got, want, "the flags ret_flags() returned with, "
		    "return-probed");
	kp_test_done();
}

static void test_return_struct_rax_rdx(void **state)
{
	struct two_longs want = ret_2l_fp(1000), got;

	kp_check(want.a == 1001 && want.b == 1993,
		 "ret_2l(1000) unprobed is {1001, 1993}, got {%ld, %ld}",
		 want.a, want.b);
	init_rp(&rp, ret_2l, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_2l)");
	got = ret_2l_fp(1000);
	kp_check(got.a == want.a && got.b == want.b,
		 "struct of two longs in rax:rdx: ret_2l(1000) return-probed "
		 "returned {%ld, %ld}, expected {%ld, %ld}", got.a, got.b,
		 want.a, want.b);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	got = ret_2l_fp(1000);
	kp_check(got.a == want.a && got.b == want.b,
		 "ret_2l(1000) after unregistering returned {%ld, %ld}",
		 got.a, got.b);
	kp_test_done();
}

static void test_return_struct_xmm0_xmm1(void **state)
{
	struct two_doubles want = ret_2d_fp(3.0), got;

	kp_check(want.a == 3.5 && want.b == 5.25,
		 "ret_2d(3.0) unprobed is {3.5, 5.25}, got {%g, %g}",
		 want.a, want.b);
	init_rp(&rp, ret_2d, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_2d)");
	got = ret_2d_fp(3.0);
	kp_check(got.a == want.a && got.b == want.b,
		 "struct of two doubles in xmm0:xmm1: ret_2d(3.0) "
		 "return-probed returned {%g, %g}, expected {%g, %g}",
		 got.a, got.b, want.a, want.b);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	got = ret_2d_fp(3.0);
	kp_check(got.a == want.a && got.b == want.b,
		 "ret_2d(3.0) after unregistering returned {%g, %g}",
		 got.a, got.b);
	kp_test_done();
}

/* The caller's callee-saved registers and stack pointer are what they would
 * be without the probe. */
static void test_callee_saved_preserved(void **state)
{
	unsigned long diff;

	diff = kr_call_saved(ret_site, 1);
	kp_check_eq(diff, 0, "callee-saved registers that differ after an "
		    "unprobed call (bits: rbx rbp r12 r13 r14 r15 rsp)");
	init_rp(&rp, ret_site, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_site)");
	diff = kr_call_saved(ret_site, 1);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	kp_check_eq(diff, 0, "callee-saved registers (bit 0 rbx, 1 rbp, "
		    "2 r12, 3 r13, 4 r14, 5 r15, 6 rsp) that differ in the "
		    "caller after a return-probed call: all must be preserved");
	kp_check_eq(kr_saved_ret, 6, "ret_site(1) return-probed, called with "
		    "known callee-saved registers");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/* ---- what the handlers see ---- */

static void test_handler_sees_return_address(void **state)
{
	unsigned long real_ra;

	kp_check_eq(call_site_fp(10), 15 ^ 0x5a, "call_site(10) unprobed");
	real_ra = site_ra;

	init_rp(&rp, ret_site, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_site)");
	kp_check_eq(call_site_fp(10), 15 ^ 0x5a, "call_site(10) with "
		    "ret_site return-probed");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	kp_check_eq(last_ret_addr, real_ra, "ri->ret_addr: the real return "
		    "address in call_site()");
	kp_check_eq(last_ip, real_ra, "instruction_pointer(regs) in the "
		    "return handler: the real return address in call_site()");
	kp_check_eq(last_rax, 15, "regs_return_value(regs) of ret_site(10)");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_entry_handler_and_data(void **state)
{
	init_rp(&rp, ret_args, args_ret);
	rp.entry_handler = args_entry;
	rp.data_size = sizeof(struct call_data);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_args) with an entry_handler");
	kp_check_eq(ret_args_fp(4, 5, 6), 456, "ret_args(4, 5, 6) "
		    "return-probed");
	kp_check_eq(cnt_get(&entry_calls), 1, "entry handler calls");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	kp_check_eq(at_entry.a, 4, "regs_get_argument(regs, 0) in the entry "
		    "handler");
	kp_check_eq(at_entry.b, 5, "regs_get_argument(regs, 1) in the entry "
		    "handler");
	kp_check_eq(at_entry.c, 6, "regs_get_argument(regs, 2) in the entry "
		    "handler");
	kp_check_eq(last_entry_rp, &rp, "get_kretprobe(ri) in the entry "
		    "handler");
	kp_check_eq(at_return.a, 4, "ri->data in the return handler: the "
		    "first argument the entry handler stored there");
	kp_check_eq(at_return.b, 5, "ri->data in the return handler: the "
		    "second argument");
	kp_check_eq(at_return.c, 6, "ri->data in the return handler: the "
		    "third argument");
	kp_check_eq(at_return.ri, ri_at_return, "the same instance (ri) in "
		    "the entry and the return handler of one call");
	kp_check_eq(fp_at_return, at_entry.rsp, "ri->fp in the return "
		    "handler: the stack pointer at the function's entry (the "
		    "slot of the return address)");
	kp_check_eq(last_rax, 456, "regs_return_value(regs)");
	kp_check_eq(cnt_get(&misaligned), 0, "handler calls whose ri->data "
		    "was not 16-byte aligned");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_entry_handler_skips(void **state)
{
	long i;

	init_rp(&rp, ret_args, even_ret);
	rp.entry_handler = even_entry;
	rp.data_size = sizeof(long);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_args)");
	for (i = 0; i < 10; i++)
		kp_check_eq(ret_args_fp(i, 0, 1), i * 100 + 1,
			    "ret_args(%ld, 0, 1) return-probed", i);
	kp_check_eq(cnt_get(&entry_calls), 10, "entry handler calls of 10 "
		    "calls");
	kp_check_eq(cnt_get(&ret_calls), 5, "return handler calls when the "
		    "entry handler returns non-zero for the 5 odd arguments "
		    "(those calls are not return-probed)");
	kp_check_eq(cnt_get(&misaligned), 0, "return handler calls for a "
		    "call whose entry handler returned non-zero");
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed: calls skipped by the "
		    "entry handler are not misses");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_set_return_value(void **state)
{
	init_rp(&rp, ret_int, set_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_int)");
	kp_check_eq(ret_int_fp(2), 1007, "ret_int(2) when the return handler "
		    "adds 1000 with regs_set_return_value()");
	unregister_kretprobe(&rp);
	kp_check_eq(ret_int_fp(2), 7, "ret_int(2) after unregistering");
	kp_test_done();
}

/* ---- recursion, maxactive, nmissed ---- */

#define DEPTH 8

static void test_recursion_lifo(void **state)
{
	unsigned long i;

	kp_check_eq(rec_fp(0, DEPTH), DEPTH, "rec(0, %d) unprobed", DEPTH);
	init_rp(&rp, rec, level_ret);
	rp.entry_handler = level_entry;
	rp.data_size = sizeof(long);
	rp.maxactive = DEPTH;
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(rec) "
		     "with maxactive %d", DEPTH);
	kp_check_eq(rec_fp(0, DEPTH), DEPTH, "rec(0, %d) return-probed",
		    DEPTH);
	kp_check_eq(cnt_get(&entry_calls), DEPTH, "entry handler calls of a "
		    "recursion %d deep", DEPTH);
	kp_check_eq(cnt_get(&ret_calls), DEPTH, "return handler calls of a "
		    "recursion %d deep with maxactive %d", DEPTH, DEPTH);
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed");
	for (i = 0; i < DEPTH && i < cnt_get(&norder); i++) {
		kp_check_eq(order[i], DEPTH - 1 - i, "level (stored in "
			    "ri->data at entry) of return handler call %lu: "
			    "returns come innermost first", i);
		kp_check_eq(order_rax[i], i + 1, "regs_return_value() in "
			    "return handler call %lu", i);
	}
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_recursion_maxactive(void **state)
{
	const int m = 3;
	unsigned long i;

	init_rp(&rp, rec, level_ret);
	rp.entry_handler = level_entry;
	rp.data_size = sizeof(long);
	rp.maxactive = m;
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(rec) "
		     "with maxactive %d", m);
	kp_check_eq(rec_fp(0, DEPTH), DEPTH, "rec(0, %d) return-probed",
		    DEPTH);
	kp_check_eq(rp_nmissed(&rp), DEPTH - m, "rp.nmissed of a recursion "
		    "%d deep with maxactive %d", DEPTH, m);
	kp_check_eq(cnt_get(&ret_calls), m, "return handler calls of a "
		    "recursion %d deep with maxactive %d", DEPTH, m);
	for (i = 0; i < (unsigned long)m && i < cnt_get(&norder); i++)
		kp_check_eq(order[i], m - 1 - i, "level of return handler "
			    "call %lu: the %d outermost calls hold the "
			    "instances", i, m);

	/* The instances are free again. */
	cnt_set(&ret_calls, 0);
	kp_check_eq(rec_fp(0, m), m, "rec(0, %d)", m);
	kp_check_eq(cnt_get(&ret_calls), m, "return handler calls of a "
		    "recursion %d deep after the misses", m);
	kp_check_eq(rp_nmissed(&rp), DEPTH - m, "rp.nmissed unchanged");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/*
 * In a fork()ed child, the instances its calls take belong to the child's
 * thread: a pool running dry must not take them for a dead thread's (the
 * parent's thread id is no thread of the child's).
 */
static void test_recursion_after_fork(void **state)
{
	const int m = 3;
	int status = -1;
	pid_t pid;

	init_rp(&rp, rec, level_ret);
	rp.entry_handler = level_entry;
	rp.data_size = sizeof(long);
	rp.maxactive = m;
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(rec)");
	kp_check_eq(rec_fp(0, 2), 2, "rec(0, 2) in the parent");
	pid = fork();
	if (pid == 0) {
		/* A stale thread id makes live instances look dead; reusing
		 * them links one twice and the walk never ends: fail, not hang. */
		alarm(60);
		int ok = rec_fp(0, DEPTH) == DEPTH &&
			 rp_nmissed(&rp) == (unsigned long)(DEPTH - m) &&
			 cnt_get(&ret_calls) == 2 + (unsigned long)m;
		_exit(ok ? 0 : 1);
	}
	kp_check(pid > 0, "fork");
	waitpid(pid, &status, 0);
	kp_check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		 "child: rec(0, %d) with maxactive %d returns right, misses "
		 "%d and runs %d return handlers (status %#x)", DEPTH, m,
		 DEPTH - m, m, status);
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_default_maxactive(void **state)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	long onln = sysconf(_SC_NPROCESSORS_ONLN);
	long def_conf = 2 * conf > 10 ? 2 * conf : 10;
	long def_onln = 2 * onln > 10 ? 2 * onln : 10;
	long depth = (def_conf > def_onln ? def_conf : def_onln) + 3;
	int missed;

	kp_check(depth < 60, "this test wants fewer CPUs (%ld)", conf);
	init_rp(&rp, rec, level_ret);
	rp.entry_handler = level_entry;
	rp.data_size = sizeof(long);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(rec) "
		     "with maxactive 0");
	kp_check_eq(rec_fp(0, depth), depth, "rec(0, %ld)", depth);
	missed = rp_nmissed(&rp);
	if (missed != depth - def_conf && missed != depth - def_onln) {
		print_error("ERROR: rp.nmissed of a recursion %ld deep with "
			    "maxactive 0 (the default, max(10, 2 * CPUs) = "
			    "%ld): got %d, expected %ld\n", depth, def_onln,
			    missed, depth - def_onln);
		fail();
	}
	kp_check_eq(cnt_get(&ret_calls), depth - missed, "return handler "
		    "calls: the calls that were not missed");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/* ---- registration ---- */

static void test_not_function_entry(void **state)
{
	uint8_t saved[KP_TEXT_LEN], saved_cs[KP_TEXT_LEN];
	int ret;

	text_read(ret_int, saved, KP_TEXT_LEN);

	init_rp(&rp, ret_int, count_ret);
	rp.kp.offset = 1;
	kp_check_ret(register_kretprobe(&rp), -EINVAL, "register_kretprobe() "
		     "on ret_int with kp.offset 1 (not the function's entry)");

	memset(&rp, 0, sizeof(rp));
	rp.kp.symbol_name = "ret_int";
	rp.kp.offset = 4;
	rp.handler = count_ret;
	kp_check_ret(register_kretprobe(&rp), -EINVAL, "register_kretprobe() "
		     "on symbol \"ret_int\" with kp.offset 4");

	/* call_site+1 is an instruction boundary (after push %rbp), but
	 * not the entry. */
	text_read(call_site, saved_cs, KP_TEXT_LEN);
	init_rp(&rp, (char *)call_site + 1, count_ret);
	ret = register_kretprobe(&rp);
	kp_check(ret < 0, "register_kretprobe() on kp.addr = call_site + 1 "
		 "(not a function's entry) must fail with a negative errno; "
		 "returned %d", ret);
	kp_check_text(call_site, saved_cs, "call_site after the failed "
		      "registration");

	init_rp(&rp, not_code, count_ret);
	ret = register_kretprobe(&rp);
	kp_check(ret < 0, "register_kretprobe() on an address in .data "
		 "(outside any function) must fail with a negative errno; "
		 "returned %d", ret);

	kp_check_text(ret_int, saved, "ret_int after the failed "
		      "registrations");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls after the "
		    "failed registrations");

	/* By symbol name at offset 0 it works. */
	memset(&rp, 0, sizeof(rp));
	rp.kp.symbol_name = "ret_int";
	rp.handler = count_ret;
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe() on "
		     "symbol \"ret_int\"");
	kp_check_eq(rp.kp.addr, ret_int, "rp.kp.addr filled in from the "
		    "symbol");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_test_done();
}

static void test_batch(void **state)
{
	struct kretprobe *rps[2] = { &rp, &rp2 };
	uint8_t saved_int[KP_TEXT_LEN], saved_dbl[KP_TEXT_LEN];
	int ret;

	text_read(ret_int, saved_int, KP_TEXT_LEN);
	text_read(ret_double, saved_dbl, KP_TEXT_LEN);

	init_rp(&rp, ret_int, count_ret);
	init_rp(&rp2, ret_double, count_ret);
	rp2.kp.offset = 1;
	ret = register_kretprobes(rps, 2);
	kp_check(ret < 0, "register_kretprobes() when the second has "
		 "kp.offset 1 must fail; returned %d", ret);
	kp_check_text(ret_int, saved_int, "ret_int after a failed batch: the "
		      "first kretprobe must be unregistered again");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls after a "
		    "failed batch");

	init_rp(&rp, ret_int, count_ret);
	init_rp(&rp2, ret_double, count_ret);
	kp_check_ret(register_kretprobes(rps, 2), 0, "register_kretprobes() "
		     "of ret_int and ret_double");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check(ret_double_fp(1.0) == 1.75, "ret_double(1.0) is 1.75");
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls of one "
		    "call of each");
	unregister_kretprobes(rps, 2);
	kp_check_text(ret_int, saved_int, "ret_int after "
		      "unregister_kretprobes()");
	kp_check_text(ret_double, saved_dbl, "ret_double after "
		      "unregister_kretprobes()");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls after "
		    "unregister_kretprobes()");
	kp_test_done();
}

/* Register, unregister, register again: the text comes back each time. */
static void test_unregister_restores(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	int round;

	text_read(ret_args, saved, KP_TEXT_LEN);
	for (round = 0; round < 3; round++) {
		init_rp(&rp, ret_args, count_ret);
		rp.maxactive = 1;
		kp_check_ret(register_kretprobe(&rp), 0,
			     "register_kretprobe(ret_args), round %d", round);
		kp_check_eq(ret_args_fp(1, 2, 3), 123, "ret_args(1, 2, 3), "
			    "round %d", round);
		kp_check_eq(cnt_get(&ret_calls), round + 1, "return handler "
			    "calls after round %d", round);
		unregister_kretprobe(&rp);
		kp_check_text(ret_args, saved, "ret_args after "
			      "unregister_kretprobe(), round %d", round);
		kp_check_eq(ret_args_fp(1, 2, 3), 123, "ret_args(1, 2, 3) "
			    "unprobed");
	}
	kp_check_eq(cnt_get(&ret_calls), 3, "return handler calls");
	kp_test_done();
}

static void unregister_now(void)
{
	unregister_kretprobe(&rp);
}

/*
 * ret_unreg() unregisters its own kretprobe while its return is pending:
 * the call still returns where it should, with its value, and the handler
 * does not run once unregister_kretprobe() has returned.
 */
static void test_unregister_while_pending(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(ret_unreg, saved, KP_TEXT_LEN);
	init_rp(&rp, ret_unreg, count_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_unreg)");
	unreg_cb = unregister_now;
	kp_check_eq(ret_unreg_fp(3), 10, "ret_unreg(3), which unregisters "
		    "its kretprobe while its return is pending");
	unreg_cb = NULL;
	kp_check_eq(cnt_get(&ret_calls), 0, "return handler calls for a "
		    "return that happened after unregister_kretprobe() "
		    "returned");
	kp_check_text(ret_unreg, saved, "ret_unreg after unregistering");
	kp_check_eq(ret_unreg_fp(3), 10, "ret_unreg(3) unprobed");

	/* And it can be registered again. */
	init_rp(&rp, ret_unreg, count_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_unreg) again");
	kp_check_eq(ret_unreg_fp(4), 11, "ret_unreg(4)");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_test_done();
}

#define KRET_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		KRET_TEST(test_return_int),
		KRET_TEST(test_return_ptr),
		KRET_TEST(test_return_double),
		KRET_TEST(test_return_ldouble),
		KRET_TEST(test_return_fp_via_callee),
		KRET_TEST(test_return_flags),
		KRET_TEST(test_return_struct_rax_rdx),
		KRET_TEST(test_return_struct_xmm0_xmm1),
		KRET_TEST(test_callee_saved_preserved),
		KRET_TEST(test_handler_sees_return_address),
		KRET_TEST(test_entry_handler_and_data),
		KRET_TEST(test_entry_handler_skips),
		KRET_TEST(test_set_return_value),
		KRET_TEST(test_recursion_lifo),
		KRET_TEST(test_recursion_maxactive),
		KRET_TEST(test_recursion_after_fork),
		KRET_TEST(test_default_maxactive),
		KRET_TEST(test_not_function_entry),
		KRET_TEST(test_batch),
		KRET_TEST(test_unregister_restores),
		/* Last: if it hangs, the others have run. */
		KRET_TEST(test_unregister_while_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ */
