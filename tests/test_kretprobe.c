// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Return probes (kretprobes): what the entry and return handlers see, that
 * every kind of return value reaches the caller intact (x86_64: rax,
 * rax:rdx, xmm0, xmm0:xmm1, x87 st0; ppc64: r3, r3:r4, f1, f1:f2, f1-f8,
 * v2, v2-v9) even when the return handler uses every register the ABI lets
 * it clobber, that the caller's callee-saved registers, stack pointer (and
 * on ppc64 TOC pointer) and the status a function returns in the flags (on
 * ppc64 CR, CTR, XER and LR) survive, regs_set_return_value(), ri->data
 * shared by the two handlers of one call, recursion (LIFO order, maxactive
 * and nmissed), the registration errors, the all-or-nothing batch, and
 * unregistering while a return is pending.
 *
 * On ppc64 the return address is in LR: the entry handler swaps LR for a
 * return stub, which branches to the return trampoline
 * (src/arch/ppc64/trampoline.S). The tests here are what covers that
 * trampoline's register saving.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 or ppc64 code")
#else

#include <float.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- targets: each one returns its value in a different place ---- */

struct two_longs {
	long a, b;		/* rax:rdx; ppc64 r3:r4 */
};

struct two_doubles {
	double a, b;		/* xmm0:xmm1; ppc64 f1:f2 */
};

/* Homogeneous aggregates of eight: on ppc64 these come back in f1-f8 and in
 * v2-v9, the most registers a value comes back in; on x86_64 in memory,
 * with its address in rax. */
struct eight_doubles {
	double d[8];
};

typedef int v4si __attribute__((vector_size(16)));	/* xmm0; ppc64 v2 */

struct eight_vecs {
	v4si v[8];
};

/* What the messages call the registers a value comes back in. */
#if defined(__x86_64__)
#define IN_INT		"eax"
#define IN_PTR		"rax"
#define IN_DOUBLE	"xmm0"
#define IN_LDOUBLE	"x87 st0"
#define IN_2L		"rax:rdx"
#define IN_2D		"xmm0:xmm1"
#define IN_VEC		"xmm0"
#define IN_F128		"xmm0"
#define IN_8D		"memory (rax)"
#define IN_8V		"memory (rax)"
#define FP_CLOBBER	"xmm0-15"
#define LD_CLOBBER	"pushes and pops eight x87 values"
#else
#define IN_INT		"r3"
#define IN_PTR		"r3"
#define IN_DOUBLE	"f1"
#if defined(__LONG_DOUBLE_IEEE128__)
#define IN_LDOUBLE	"v2 (IEEE binary128)"
#elif defined(__LONG_DOUBLE_IBM128__)
#define IN_LDOUBLE	"f1:f2 (IBM double-double)"
#else
#define IN_LDOUBLE	"f1 (64-bit long double)"
#endif
#define IN_2L		"r3:r4"
#define IN_2D		"f1:f2"
#define IN_VEC		"v2"
#define IN_F128		"v2"
#define IN_8D		"f1-f8"
#define IN_8V		"v2-v9"
#define FP_CLOBBER	"f0-f13 and v0-v19"
#define LD_CLOBBER	"clobbers f0-f13 and v0-v19"
#endif

/* __float128 where the compiler has it (x86_64; ppc64 VSX). */
#if defined(__x86_64__) || defined(__FLOAT128__)
#define HAVE_F128 1
#endif

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

TARGET struct eight_doubles ret_8d(double x)
{
	struct eight_doubles r;

	__asm__ volatile("");
	for (int i = 0; i < 8; i++)
		r.d[i] = x * (i + 1) + 0.25 * i;
	return r;
}

TARGET v4si ret_vec(v4si x)
{
	__asm__ volatile("");
	return x * 3 + (v4si){ 1, 2, 3, 4 };
}

TARGET struct eight_vecs ret_8v(v4si x)
{
	struct eight_vecs r;

	__asm__ volatile("");
	for (int i = 0; i < 8; i++)
		r.v[i] = x * (i + 1) + (v4si){ i, -i, 16 * i, -16 * i };
	return r;
}

#ifdef HAVE_F128
TARGET __float128 ret_f128(__float128 x)
{
	__asm__ volatile("");
	return x * 3 + (__float128)0.125;
}
#endif

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
static struct eight_doubles (*volatile ret_8d_fp)(double) = ret_8d;
static v4si (*volatile ret_vec_fp)(v4si) = ret_vec;
static struct eight_vecs (*volatile ret_8v_fp)(v4si) = ret_8v;
#ifdef HAVE_F128
static __float128 (*volatile ret_f128_fp)(__float128) = ret_f128;
#endif
static long (*volatile ret_args_fp)(long, long, long) = ret_args;
static long (*volatile call_site_fp)(long) = call_site;
static long (*volatile rec_fp)(long, long) = rec;
static long (*volatile ret_unreg_fp)(long) = ret_unreg;

static char not_code[64];	/* data: not inside any function */

#if defined(__x86_64__)

/* The callee-saved registers of the callers below, with their CFI. */
#define KR_PUSH_SAVED \
	"	pushq %rbx\n	.cfi_adjust_cfa_offset 8\n" \
	"	pushq %rbp\n	.cfi_adjust_cfa_offset 8\n" \
	"	pushq %r12\n	.cfi_adjust_cfa_offset 8\n" \
	"	pushq %r13\n	.cfi_adjust_cfa_offset 8\n" \
	"	pushq %r14\n	.cfi_adjust_cfa_offset 8\n" \
	"	pushq %r15\n	.cfi_adjust_cfa_offset 8\n"
#define KR_POP_SAVED \
	"	popq %r15\n	.cfi_adjust_cfa_offset -8\n" \
	"	popq %r14\n	.cfi_adjust_cfa_offset -8\n" \
	"	popq %r13\n	.cfi_adjust_cfa_offset -8\n" \
	"	popq %r12\n	.cfi_adjust_cfa_offset -8\n" \
	"	popq %rbp\n	.cfi_adjust_cfa_offset -8\n" \
	"	popq %rbx\n	.cfi_adjust_cfa_offset -8\n"

/*
 * kr_call_saved(fn, arg): call fn(arg) with known values in every
 * callee-saved register, and return a mask of those that differ after the
 * call (bit 0 rbx, 1 rbp, 2 r12, 3 r13, 4 r14, 5 r15, 6 rsp). fn's return
 * value goes to kr_saved_ret.
 */
#define KR_SAVED_BITS	"bit 0 rbx, 1 rbp, 2 r12, 3 r13, 4 r14, 5 r15, " \
			"6 rsp"
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
	KR_PUSH_SAVED
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
	KR_POP_SAVED
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

/*
 * kr_call_scratch(fn, arg): call fn(arg) with known values in the
 * caller-saved registers fn does not use, and return a mask of those that
 * differ after the call (bit 0 rcx, 1 rdx, 2 rsi, 3 rdi, 4 r8, 5 r9,
 * 6 r10, 7 r11). GCC's -fipa-ra does keep values there across a call to a
 * function it compiled and knows leaves them alone, so a return probe must
 * too. kr_leaf(x) = x + 1 touches rax only, in 7 bytes that a jump can
 * replace.
 */
#define KR_SCRATCH_BITS	"bit 0 rcx, 1 rdx, 2 rsi, 3 rdi, 4 r8, 5 r9, " \
			"6 r10, 7 r11"
unsigned long kr_call_scratch(long (*fn)(long), long arg);
long kr_leaf(long x);
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl kr_leaf\n"
	"	.type kr_leaf, @function\n"
	"kr_leaf:\n"
	"	movq %rdi, %rax\n"
	"	addq $1, %rax\n"
	"	ret\n"
	"	.size kr_leaf, . - kr_leaf\n"
	"	.p2align 4\n"
	"	.type kr_call_scratch, @function\n"
	"kr_call_scratch:\n"
	"	.cfi_startproc\n"
	"	movq %rdi, %rax\n"
	"	movq %rsi, %rdi\n"
	"	movabsq $0x0101010101010101, %rcx\n"
	"	movabsq $0x0202020202020202, %rdx\n"
	"	movabsq $0x0303030303030303, %rsi\n"
	"	movabsq $0x0404040404040404, %r8\n"
	"	movabsq $0x0505050505050505, %r9\n"
	"	movabsq $0x0606060606060606, %r10\n"
	"	movabsq $0x0707070707070707, %r11\n"
	"	pushq %rdi\n"			/* the argument, to compare; and
						 * the stack aligned */
	"	.cfi_adjust_cfa_offset 8\n"
	"	call *%rax\n"
	"	popq %rax\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	cmpq %rax, %rdi\n"
	"	movl $0, %eax\n"
	"	je 1f\n"
	"	orq $8, %rax\n"
	"1:	movabsq $0x0101010101010101, %rdi\n"
	"	cmpq %rdi, %rcx\n"
	"	je 1f\n"
	"	orq $1, %rax\n"
	"1:	movabsq $0x0202020202020202, %rdi\n"
	"	cmpq %rdi, %rdx\n"
	"	je 1f\n"
	"	orq $2, %rax\n"
	"1:	movabsq $0x0303030303030303, %rdi\n"
	"	cmpq %rdi, %rsi\n"
	"	je 1f\n"
	"	orq $4, %rax\n"
	"1:	movabsq $0x0404040404040404, %rdi\n"
	"	cmpq %rdi, %r8\n"
	"	je 1f\n"
	"	orq $16, %rax\n"
	"1:	movabsq $0x0505050505050505, %rdi\n"
	"	cmpq %rdi, %r9\n"
	"	je 1f\n"
	"	orq $32, %rax\n"
	"1:	movabsq $0x0606060606060606, %rdi\n"
	"	cmpq %rdi, %r10\n"
	"	je 1f\n"
	"	orq $64, %rax\n"
	"1:	movabsq $0x0707070707070707, %rdi\n"
	"	cmpq %rdi, %r11\n"
	"	je 1f\n"
	"	orq $128, %rax\n"
	"1:	ret\n"
	"	.cfi_endproc\n"
	"	.size kr_call_scratch, . - kr_call_scratch\n"
	"	.popsection\n");

/*
 * kr_entry_regs(): records at its first instruction's end every general
 * register but rsp, and the flags, in kr_entry_out[0..15] (rax, rbx, rcx,
 * rdx, rsi, rdi, rbp, r8-r15, rflags). Its first instruction is a 5-byte
 * nop, which a jump can replace. kr_call_entry_regs(out, mode) calls it
 * with a known value in each of those registers and known flags, and
 * copies what it saw to out:
 *	mode 0: CF, SF, AF and PF set, ZF and OF clear;
 *	mode 1: OF, SF, AF and PF set, CF and ZF clear;
 *	mode 2: as 0, and DF set (against the ABI, as only hand-written code
 *		does; kr_entry_regs clears it before it returns).
 */
void kr_entry_regs(void);
void kr_call_entry_regs(unsigned long out[16], long mode);
unsigned long kr_entry_out[16];
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl kr_entry_regs\n"
	"	.type kr_entry_regs, @function\n"
	"kr_entry_regs:\n"
	"	.cfi_startproc\n"
	"	nopl 0(%rax,%rax,1)\n"
	"	pushfq\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq %rax, kr_entry_out+0(%rip)\n"
	"	movq %rbx, kr_entry_out+8(%rip)\n"
	"	movq %rcx, kr_entry_out+16(%rip)\n"
	"	movq %rdx, kr_entry_out+24(%rip)\n"
	"	movq %rsi, kr_entry_out+32(%rip)\n"
	"	movq %rdi, kr_entry_out+40(%rip)\n"
	"	movq %rbp, kr_entry_out+48(%rip)\n"
	"	movq %r8, kr_entry_out+56(%rip)\n"
	"	movq %r9, kr_entry_out+64(%rip)\n"
	"	movq %r10, kr_entry_out+72(%rip)\n"
	"	movq %r11, kr_entry_out+80(%rip)\n"
	"	movq %r12, kr_entry_out+88(%rip)\n"
	"	movq %r13, kr_entry_out+96(%rip)\n"
	"	movq %r14, kr_entry_out+104(%rip)\n"
	"	movq %r15, kr_entry_out+112(%rip)\n"
	"	popq kr_entry_out+120(%rip)\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	cld\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size kr_entry_regs, . - kr_entry_regs\n"
	"	.p2align 4\n"
	"	.type kr_call_entry_regs, @function\n"
	"kr_call_entry_regs:\n"
	"	.cfi_startproc\n"
	KR_PUSH_SAVED
	"	pushq %rdi\n"			/* out; and the stack aligned */
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq %rsi, %r11\n"		/* mode */
	"	movabsq $0xa0a0a0a0a0a0a000, %rax\n"
	"	movabsq $0xa1a1a1a1a1a1a101, %rbx\n"
	"	movabsq $0xa2a2a2a2a2a2a202, %rcx\n"
	"	movabsq $0xa3a3a3a3a3a3a303, %rdx\n"
	"	movabsq $0xa4a4a4a4a4a4a404, %rsi\n"
	"	movabsq $0xa5a5a5a5a5a5a505, %rdi\n"
	"	movabsq $0xa6a6a6a6a6a6a606, %rbp\n"
	"	movabsq $0xa7a7a7a7a7a7a707, %r8\n"
	"	movabsq $0xa8a8a8a8a8a8a808, %r9\n"
	"	movabsq $0xa9a9a9a9a9a9a909, %r10\n"
	"	movabsq $0xabababababab0b0b, %r12\n"
	"	movabsq $0xacacacacacac0c0c, %r13\n"
	"	movabsq $0xadadadadadad0d0d, %r14\n"
	"	movabsq $0xaeaeaeaeaeae0e0e, %r15\n"
	"	cmpq $1, %r11\n"
	"	je 2f\n"
	"	cmpq $2, %r11\n"
	"	jne 1f\n"
	"	std\n"
	"1:	movl $0, %r11d\n"
	"	subl $1, %r11d\n"		/* CF SF AF PF */
	"	jmp 3f\n"
	"2:	movl $0x7fffffff, %r11d\n"
	"	addl $1, %r11d\n"		/* OF SF AF PF */
	"3:	movabsq $0xaaaaaaaaaaaaaa0a, %r11\n"	/* flags stay */
	"	call kr_entry_regs\n"
	"	popq %rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	leaq kr_entry_out(%rip), %rsi\n"
	"	xorl %ecx, %ecx\n"
	"4:	movq (%rsi,%rcx,8), %rax\n"
	"	movq %rax, (%rdi,%rcx,8)\n"
	"	addq $1, %rcx\n"
	"	cmpq $16, %rcx\n"
	"	jne 4b\n"
	KR_POP_SAVED
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size kr_call_entry_regs, . - kr_call_entry_regs\n"
	"	.popsection\n");

#else /* __powerpc64__ */

/*
 * kr_call_saved(fn, arg): call fn(arg) through its global entry (r12 = fn,
 * as a call through a pointer does) with known values in every register
 * the ELFv2 ABI says a call preserves, and return a mask of those that
 * differ after the call:
 *	bits 0-17	r14-r31
 *	bits 18-35	f14-f31
 *	bits 36-47	v20-v31 (either doubleword)
 *	bits 48-50	cr2, cr3, cr4
 *	bit 51		r1
 *	bit 52		r2: fn is in this module, so its caller may
 *			count on its TOC pointer (the trampoline runs
 *			with its own)
 * fn's return value goes to kr_saved_ret.
 *
 * The patterns: rN = N repeated in each byte pair (r14 = 0x0e0e...), fN
 * the same with N + 0x20, vN N + 0x40 in doubleword 0 and its complement
 * in doubleword 1.
 */
#define KR_SAVED_BITS	"bits 0-17 r14-r31, 18-35 f14-f31, " \
			"36-47 v20-v31, 48-50 cr2-cr4, 51 r1, 52 r2"
/* For .irp: the non-volatile GPRs and FPRs; the non-volatile VRs. */
#define KR_14_31	"14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
#define KR_20_31	"20,21,22,23,24,25,26,27,28,29,30,31"
unsigned long kr_call_saved(long (*fn)(long), long arg);
__attribute__((visibility("hidden"))) long kr_saved_ret;
__attribute__((visibility("hidden"))) unsigned long kr_saved_rsp;
__asm__(
	"	.pushsection .text\n"
	/* kr_pat rt, v: rt = v in each of its four 16-bit quarters */
	"	.macro kr_pat rt, v\n"
	"	lis \\rt, \\v\n"
	"	ori \\rt, \\rt, \\v\n"
	"	rldimi \\rt, \\rt, 32, 0\n"
	"	.endm\n"
	/* kr_bit b: set bit b of the mask in r3 (r10 is scratch) */
	"	.macro kr_bit b\n"
	"	li 10, 1\n"
	"	sldi 10, 10, \\b\n"
	"	or 3, 3, 10\n"
	"	.endm\n"
	"	.p2align 4\n"
	"	.globl kr_call_saved\n"
	"	.hidden kr_call_saved\n"
	"	.type kr_call_saved, @function\n"
	"kr_call_saved:\n"
	"	.cfi_startproc\n"
	"0:	addis 2, 12, (.TOC. - 0b)@ha\n"
	"	addi 2, 2, (.TOC. - 0b)@l\n"
	"	.localentry kr_call_saved, . - kr_call_saved\n"
	/* Frame (576 bytes): 0-95 header and parameter save area, 96 r14-r31,
	 * 240 f14-f31, 384 v20-v31. CR in the caller's frame. */
	"	mflr 0\n"
	"	std 0, 16(1)\n"
	"	mfcr 0\n"
	"	stw 0, 8(1)\n"
	"	stdu 1, -576(1)\n"
	"	.cfi_def_cfa_offset 576\n"
	"	.cfi_offset 65, 16\n"
	"	.irp reg, " KR_14_31 "\n"
	"	std \\reg, 96 + 8 * (\\reg - 14)(1)\n"
	"	stfd \\reg, 240 + 8 * (\\reg - 14)(1)\n"
	"	.endr\n"
	"	.irp reg, " KR_20_31 "\n"
	"	li 0, 384 + 16 * (\\reg - 20)\n"
	"	stvx \\reg, 1, 0\n"
	"	.endr\n"
	"	mr 12, 3\n"
	"	mtctr 12\n"
	"	mr 3, 4\n"
	"	.irp reg, " KR_14_31 "\n"
	"	kr_pat \\reg, \\reg * 0x101\n"
	"	kr_pat 11, (\\reg + 0x20) * 0x101\n"
	"	mtvsrd \\reg, 11\n"			/* fN */
	"	.endr\n"
	"	.irp reg, " KR_20_31 "\n"
	"	kr_pat 11, (\\reg + 0x40) * 0x101\n"
	"	not 9, 11\n"
	"	mtvsrd 32 + \\reg, 11\n"
	"	mtvsrd 0, 9\n"
	"	xxpermdi 32 + \\reg, 32 + \\reg, 0, 0\n"	/* { v, ~v } */
	"	.endr\n"
	"	lis 0, 0x00a5\n"
	"	ori 0, 0, 0x6000\n"
	"	mtcrf 0x38, 0\n"		/* cr2 a, cr3 5, cr4 6 */
	"	addis 11, 2, kr_saved_rsp@toc@ha\n"
	"	std 1, kr_saved_rsp@toc@l(11)\n"
	"	bctrl\n"
	"	mr 4, 3\n"
	"	li 3, 0\n"
	/* Our TOC pointer from our address, not from r2 or the stack. */
	"	bcl 20, 31, 1f\n"
	"1:	mflr 11\n"
	"	addis 11, 11, (.TOC. - 1b)@ha\n"
	"	addi 11, 11, (.TOC. - 1b)@l\n"
	"	addis 12, 11, kr_saved_ret@toc@ha\n"
	"	std 4, kr_saved_ret@toc@l(12)\n"
	"	cmpd 0, 2, 11\n"
	"	beq 2f\n"
	"	kr_bit 52\n"
	"	mr 2, 11\n"
	"2:	addis 12, 11, kr_saved_rsp@toc@ha\n"
	"	ld 12, kr_saved_rsp@toc@l(12)\n"
	"	cmpd 0, 1, 12\n"
	"	beq 2f\n"
	"	kr_bit 51\n"
	"	mr 1, 12\n"
	"2:\n"
	"	.irp reg, " KR_14_31 "\n"
	"	kr_pat 12, \\reg * 0x101\n"
	"	cmpd 0, \\reg, 12\n"
	"	beq 2f\n"
	"	kr_bit \\reg - 14\n"
	"2:	kr_pat 12, (\\reg + 0x20) * 0x101\n"
	"	mfvsrd 9, \\reg\n"
	"	cmpd 0, 9, 12\n"
	"	beq 2f\n"
	"	kr_bit 18 + \\reg - 14\n"
	"2:\n"
	"	.endr\n"
	"	.irp reg, " KR_20_31 "\n"
	"	kr_pat 12, (\\reg + 0x40) * 0x101\n"
	"	not 8, 12\n"
	"	mfvsrd 9, 32 + \\reg\n"
	"	cmpd 0, 9, 12\n"
	"	bne 3f\n"
	"	xxpermdi 0, 32 + \\reg, 32 + \\reg, 2\n"	/* swap */
	"	mfvsrd 9, 0\n"
	"	cmpd 0, 9, 8\n"
	"	beq 2f\n"
	"3:	kr_bit 36 + \\reg - 20\n"
	"2:\n"
	"	.endr\n"
	"	mfcr 9\n"
	"	rlwinm 12, 9, 0, 8, 11\n"		/* cr2 */
	"	lis 8, 0x00a0\n"
	"	cmpw 0, 12, 8\n"
	"	beq 2f\n"
	"	kr_bit 48\n"
	"2:	rlwinm 12, 9, 0, 12, 15\n"		/* cr3 */
	"	lis 8, 0x0005\n"
	"	cmpw 0, 12, 8\n"
	"	beq 2f\n"
	"	kr_bit 49\n"
	"2:	rlwinm 12, 9, 0, 16, 19\n"		/* cr4 */
	"	li 8, 0x6000\n"
	"	cmpw 0, 12, 8\n"
	"	beq 2f\n"
	"	kr_bit 50\n"
	"2:\n"
	"	.irp reg, " KR_20_31 "\n"
	"	li 0, 384 + 16 * (\\reg - 20)\n"
	"	lvx \\reg, 1, 0\n"
	"	.endr\n"
	"	.irp reg, " KR_14_31 "\n"
	"	ld \\reg, 96 + 8 * (\\reg - 14)(1)\n"
	"	lfd \\reg, 240 + 8 * (\\reg - 14)(1)\n"
	"	.endr\n"
	"	addi 1, 1, 576\n"
	"	.cfi_def_cfa_offset 0\n"
	"	ld 0, 16(1)\n"
	"	mtlr 0\n"
	"	lwz 0, 8(1)\n"
	"	mtcrf 0x38, 0\n"
	"	blr\n"
	"	.cfi_endproc\n"
	"	.size kr_call_saved, . - kr_call_saved\n"
	"	.popsection\n");

/*
 * ret_flags(): hand-written code may return a status in the condition
 * register (as the kernel's system calls do in cr0.SO) or in XER's carry:
 * it returns with the volatile CR fields (cr0 cr1 cr5 cr6 cr7), CTR and
 * XER (SO, CA and the byte count) set to known values. kr_call_flags()
 * calls it and hands back CR, CTR, XER and LR as its call saw them after
 * the return: LR is the return address kr_flags_ret after a plain blr.
 */
struct kr_flags {
	unsigned long cr, ctr, xer, lr;
};

#define KR_CR_MASK	0xff000fffUL	/* cr0 cr1 cr5 cr6 cr7 */
#define KR_CR		0xa5000963UL
#define KR_CTR		0x12345678UL
#define KR_XER_MASK	0xe000007fUL	/* SO OV CA, byte count */
#define KR_XER		0xa0000055UL	/* SO CA, 0x55 */

void ret_flags(void);
void kr_call_flags(void (*fn)(void), struct kr_flags *out);
extern const char kr_flags_ret[] __attribute__((visibility("hidden")));
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.type ret_flags, @function\n"
	"ret_flags:\n"
	"	.cfi_startproc\n"
	"	lis 0, 0xa500\n"
	"	ori 0, 0, 0x0963\n"
	"	mtcrf 0xc7, 0\n"		/* cr0 cr1 cr5 cr6 cr7 */
	"	lis 0, 0x1234\n"
	"	ori 0, 0, 0x5678\n"
	"	mtctr 0\n"
	"	lis 0, 0xa000\n"
	"	ori 0, 0, 0x0055\n"
	"	mtxer 0\n"
	"	blr\n"
	"	.cfi_endproc\n"
	"	.size ret_flags, . - ret_flags\n"
	"	.p2align 4\n"
	"	.type kr_call_flags, @function\n"
	"kr_call_flags:\n"
	"	.cfi_startproc\n"
	"	mflr 0\n"
	"	std 0, 16(1)\n"
	"	stdu 1, -48(1)\n"
	"	.cfi_def_cfa_offset 48\n"
	"	.cfi_offset 65, 16\n"
	"	std 2, 24(1)\n"
	"	std 4, 32(1)\n"
	"	mr 12, 3\n"
	"	mtctr 12\n"
	"	bctrl\n"
	"	.globl kr_flags_ret\n"
	"	.hidden kr_flags_ret\n"
	"kr_flags_ret:\n"
	"	mfcr 5\n"
	"	mfctr 6\n"
	"	mfxer 7\n"
	"	mflr 8\n"
	"	ld 2, 24(1)\n"
	"	ld 4, 32(1)\n"
	"	std 5, 0(4)\n"
	"	std 6, 8(4)\n"
	"	std 7, 16(4)\n"
	"	std 8, 24(4)\n"
	"	addi 1, 1, 48\n"
	"	.cfi_def_cfa_offset 0\n"
	"	ld 0, 16(1)\n"
	"	mtlr 0\n"
	"	blr\n"
	"	.cfi_endproc\n"
	"	.size kr_call_flags, . - kr_call_flags\n"
	"	.popsection\n");

/*
 * kr_call_scratch(fn, arg): call fn(arg) through CTR with known values in
 * the volatile registers fn does not use, and return a mask of those that
 * differ after the call (bit 0 r0, bit n rn for r4-r12). GCC's -fipa-ra
 * keeps values there across a call to a function it compiled and knows
 * leaves them alone, so a return probe must too. kr_leaf(x) = x + 1
 * touches r3 only.
 */
#define KR_SCRATCH_BITS	"bit 0 r0, bit n rn for r4-r12"
unsigned long kr_call_scratch(long (*fn)(long), long arg);
long kr_leaf(long x);
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl kr_leaf\n"
	"	.type kr_leaf, @function\n"
	"kr_leaf:\n"
	"	addi 3, 3, 1\n"
	"	blr\n"
	"	.size kr_leaf, . - kr_leaf\n"
	"	.p2align 4\n"
	"	.type kr_call_scratch, @function\n"
	"kr_call_scratch:\n"
	"	.cfi_startproc\n"
	"	mflr 0\n"
	"	std 0, 16(1)\n"
	"	stdu 1, -128(1)\n"
	"	.cfi_def_cfa_offset 128\n"
	"	.cfi_offset 65, 16\n"
	"	std 2, 24(1)\n"
	"	mtctr 3\n"
	"	mr 3, 4\n"
	"	li 0, 0x0100\n"
	"	.irp reg, 4,5,6,7,8,9,10,11,12\n"
	"	li \\reg, 0x0101 * \\reg\n"
	"	.endr\n"
	"	bctrl\n"
	"	ld 2, 24(1)\n"
	"	li 3, 0\n"
	"	cmpdi 0, 0x0100\n"
	"	beq 1f\n"
	"	ori 3, 3, 1\n"
	"1:\n"
	"	.irp reg, 4,5,6,7,8,9,10,11,12\n"
	"	cmpdi \\reg, 0x0101 * \\reg\n"
	"	beq 1f\n"
	"	ori 3, 3, 1 << \\reg\n"
	"1:\n"
	"	.endr\n"
	"	addi 1, 1, 128\n"
	"	.cfi_def_cfa_offset 0\n"
	"	ld 0, 16(1)\n"
	"	mtlr 0\n"
	"	blr\n"
	"	.cfi_endproc\n"
	"	.size kr_call_scratch, . - kr_call_scratch\n"
	"	.popsection\n");

#endif /* __powerpc64__ */

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

#if defined(__x86_64__)
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
#else /* __powerpc64__ */
/*
 * Use every register a C function may clobber (ELFv2): r0, r3-r12, CTR,
 * XER, the volatile CR fields cr0 cr1 cr5 cr6 cr7, vs0-vs13 (f0-f13 and
 * the other half of their VSX registers) and v0-v19 (vs32-vs51). r3/r4,
 * f1-f8 and v2-v9 carry return values: a trampoline that keeps one in any
 * of them while it calls the handler loses it.
 */
static inline void clobber_caller_saved(void)
{
	__asm__ volatile(
		"li 0, -1\n\t"
		"li 3, -1\n\tli 4, -1\n\tli 5, -1\n\tli 6, -1\n\t"
		"li 7, -1\n\tli 8, -1\n\tli 9, -1\n\tli 10, -1\n\t"
		"li 11, -1\n\tli 12, -1\n\t"
		"mtctr 0\n\t"
		"mtxer 0\n\t"
		"mtcrf 0xc7, 0\n\t"		/* cr0 cr1 cr5 cr6 cr7 */
		/* all ones: xxleqv x, x, x */
		"xxleqv 0, 0, 0\n\txxleqv 1, 1, 1\n\t"
		"xxleqv 2, 2, 2\n\txxleqv 3, 3, 3\n\t"
		"xxleqv 4, 4, 4\n\txxleqv 5, 5, 5\n\t"
		"xxleqv 6, 6, 6\n\txxleqv 7, 7, 7\n\t"
		"xxleqv 8, 8, 8\n\txxleqv 9, 9, 9\n\t"
		"xxleqv 10, 10, 10\n\txxleqv 11, 11, 11\n\t"
		"xxleqv 12, 12, 12\n\txxleqv 13, 13, 13\n\t"
		"vspltisw 0, -1\n\tvspltisw 1, -1\n\t"
		"vspltisw 2, -1\n\tvspltisw 3, -1\n\t"
		"vspltisw 4, -1\n\tvspltisw 5, -1\n\t"
		"vspltisw 6, -1\n\tvspltisw 7, -1\n\t"
		"vspltisw 8, -1\n\tvspltisw 9, -1\n\t"
		"vspltisw 10, -1\n\tvspltisw 11, -1\n\t"
		"vspltisw 12, -1\n\tvspltisw 13, -1\n\t"
		"vspltisw 14, -1\n\tvspltisw 15, -1\n\t"
		"vspltisw 16, -1\n\tvspltisw 17, -1\n\t"
		"vspltisw 18, -1\n\tvspltisw 19, -1\n\t"
		: : : "r0", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
		  "r11", "r12", "ctr", "xer", "cr0", "cr1", "cr5", "cr6",
		  "cr7", "vs0", "vs1", "vs2", "vs3", "vs4", "vs5", "vs6",
		  "vs7", "vs8", "vs9", "vs10", "vs11", "vs12", "vs13", "v0",
		  "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
		  "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18",
		  "v19", "memory");
}
#endif

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

static int count_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&entry_calls);
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
		    "int in " IN_INT ": ret_int(14) return-probed, the handler "
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
	kp_check_eq(ret_ptr_fp(buf), want, "pointer in " IN_PTR ": "
		    "ret_ptr(buf) return-probed");
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
	kp_check(got == want, "double in " IN_DOUBLE ": ret_double(2.5) "
		 "return-probed (handler clobbers " FP_CLOBBER ") returned %g, "
		 "expected %g", got, want);
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
	long double ld_x = 1.0L + 0x1p-60L, ld_want = ret_ldouble_fp(ld_x);

	kp_check(want == 4.625L, "ret_ldouble(1.5) unprobed is 4.625, got "
		 "%Lg", want);
#if LDBL_MANT_DIG > DBL_MANT_DIG
	kp_check(ld_want == 3.125L + 0x3p-60L && (double)ld_want != ld_want,
		 "ret_ldouble(1 + 2^-60) unprobed is 3.125 + 3 * 2^-60, more "
		 "than a double holds; got %La", ld_want);
#endif
	init_rp(&rp, ret_ldouble, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_ldouble)");
	got = ret_ldouble_fp(1.5L);
	kp_check(got == want, "long double in " IN_LDOUBLE ": ret_ldouble(1.5) "
		 "return-probed (handler " LD_CLOBBER ") returned %Lg, "
		 "expected %Lg", got, want);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	/* A value with more bits than a double: on ppc64 IBM double-double
	 * its low half in f2 is not zero. */
	got = ret_ldouble_fp(ld_x);
	kp_check(got == ld_want, "long double in " IN_LDOUBLE ": "
		 "ret_ldouble(1 + 2^-60) return-probed returned %La, "
		 "expected %La", got, ld_want);
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls");
	unregister_kretprobe(&rp);
	got = ret_ldouble_fp(1.5L);
	kp_check(got == want, "ret_ldouble(1.5) after unregistering returned "
		 "%Lg, expected %Lg", got, want);
	kp_test_done();
}

/* The clobbering one call away from the return handler: the light path
 * (docs/design.md) must see through the call and save xmm0 and st0. ppc64
 * has no light path, but its trampoline must save f1 and f2 all the same. */
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
		 "callee clobbers " FP_CLOBBER ", returned %g, expected %g",
		 got, want);
	unregister_kretprobe(&rp);

	init_rp(&rp, ret_ldouble, callee_clobbers_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_ldouble)");
	lgot = ret_ldouble_fp(1.5L);
	kp_check(lgot == lwant, "ret_ldouble(1.5), whose return handler's "
		 "callee " LD_CLOBBER ", returned %Lg, expected %Lg", lgot,
		 lwant);
	unregister_kretprobe(&rp);
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls");
	kp_test_done();
}

/*
 * errno as the function left it: a return handler that changes errno (here
 * directly; anything it calls might) must not change what the caller
 * reads after the call. A handler with integer code only and one using
 * floating point (both take the trampoline's second call here: errno is
 * reached through libc's __errno_location(), which the light path does
 * not follow).
 */
__attribute__((noinline)) long errno_fn(long x);
__attribute__((noinline)) long errno_fn(long x)
{
	errno = (int)x;
	return x + 1;
}
static long (*volatile errno_fp)(long) = errno_fn;

static int errno_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	errno = EDOM;
	cnt_inc(&ret_calls);
	return 0;
}

static volatile double errno_fp_sink;

static int errno_fp_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	errno_fp_sink = errno_fp_sink * 1.5 + 1.0;
	errno = ERANGE;
	cnt_inc(&ret_calls);
	return 0;
}

static void test_errno_preserved(void **state)
{
	kretprobe_handler_t handlers[] = { errno_ret, errno_fp_ret };

	for (int h = 0; h < 2; h++) {
		init_rp(&rp, errno_fn, handlers[h]);
		kp_check_ret(register_kretprobe(&rp), 0,
			     "register_kretprobe(errno_fn)");
		cnt_set(&ret_calls, 0);
		errno = 0;
		kp_check_eq(errno_fp(ENOENT), ENOENT + 1, "errno_fn(ENOENT)");
		kp_check_eq(errno, ENOENT, "errno after a return handler set "
			    "it to %d (handler %d)", h ? ERANGE : EDOM, h);
		kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
		unregister_kretprobe(&rp);
	}
	kp_test_done();
}

#if defined(__powerpc64__)
/* A return handler that changes cr7, CTR and XER's CA in regs. */
static int set_flags_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&ret_calls);
	regs->ccr = (regs->ccr & ~0xfUL) | 0xc;
	regs->ctr = 0x7777;
	regs->xer &= ~0x20000000UL;
	return 0;
}
#endif

/* CF, ZF, SF and OF as the function returned them, through the return
 * trampoline and a handler that changes the flags it runs with. */
static void test_return_flags(void **state)
{
#if defined(__x86_64__)
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
#else /* __powerpc64__ */
	/*
	 * The volatile CR fields, CTR and XER as the function returned them,
	 * through the return stub and trampoline and a handler that clobbers
	 * them all; LR the return address, as after a plain blr.
	 */
	struct kr_flags want, got, set;

	kr_call_flags(ret_flags, &want);
	kp_check_eq(want.cr & KR_CR_MASK, KR_CR, "CR (cr0 cr1 cr5 cr6 cr7) "
		    "after ret_flags() unprobed");
	kp_check_eq(want.ctr, KR_CTR, "CTR after ret_flags() unprobed");
	kp_check_eq(want.xer & KR_XER_MASK, KR_XER, "XER (SO OV CA, byte "
		    "count) after ret_flags() unprobed");
	kp_check_eq(want.lr, kr_flags_ret, "LR after ret_flags() unprobed: "
		    "the return address");
	init_rp(&rp, (void *)ret_flags, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_flags)");
	kr_call_flags(ret_flags, &got);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check_eq(got.cr & KR_CR_MASK, KR_CR, "the volatile CR fields "
		    "ret_flags() returned with, return-probed (the handler "
		    "clobbers them)");
	kp_check_eq(got.xer & KR_XER_MASK, KR_XER, "the XER ret_flags() "
		    "returned with, return-probed");
	kp_check_eq(got.lr, kr_flags_ret, "LR after a return-probed call of "
		    "ret_flags(): the real return address, not the stub's");

	/* What the return handler writes to regs->ccr, ctr and xer is what
	 * the caller gets. */
	cnt_set(&ret_calls, 0);
	init_rp(&rp, (void *)ret_flags, set_flags_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_flags)");
	kr_call_flags(ret_flags, &set);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check_eq(set.cr & KR_CR_MASK, (KR_CR & ~0xfUL) | 0xc, "CR after "
		    "a return handler set cr7 to 0xc in regs->ccr");
	kp_check_eq(set.ctr, 0x7777, "CTR after a return handler set "
		    "regs->ctr");
	kp_check_eq(set.xer & KR_XER_MASK, KR_XER & ~0x20000000UL, "XER "
		    "after a return handler cleared CA in regs->xer");

	/* Last, so that the checks above run even when this one fails: the
	 * return stub must reach the trampoline without using CTR, which
	 * the trampoline saves only once the stub has run. */
	kp_check_eq(got.ctr, KR_CTR, "the CTR ret_flags() returned with, "
		    "return-probed");
	kp_test_done();
#endif
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
		 "struct of two longs in " IN_2L ": ret_2l(1000) return-probed "
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
		 "struct of two doubles in " IN_2D ": ret_2d(3.0) "
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

/* Eight doubles: f1-f8 on ppc64, the most FPRs a value comes back in. */
static void test_return_8_doubles(void **state)
{
	struct eight_doubles want = ret_8d_fp(3.0), got;
	int i;

	for (i = 0; i < 8; i++)
		kp_check(want.d[i] == 3.0 * (i + 1) + 0.25 * i, "ret_8d(3.0) "
			 "unprobed: element %d is %g", i, want.d[i]);
	init_rp(&rp, ret_8d, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_8d)");
	got = ret_8d_fp(3.0);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	for (i = 0; i < 8; i++)
		kp_check(got.d[i] == want.d[i], "struct of eight doubles in "
			 IN_8D ": ret_8d(3.0) return-probed (handler clobbers "
			 FP_CLOBBER "): element %d is %g, expected %g", i,
			 got.d[i], want.d[i]);
	kp_test_done();
}

static int vec_eq(v4si a, v4si b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void test_return_vector(void **state)
{
	const v4si x = { 10, -20, 0x01020304, -0x00f0ff00 };
	v4si want = ret_vec_fp(x), got;

	kp_check(vec_eq(want, x * 3 + (v4si){ 1, 2, 3, 4 }), "ret_vec(x) "
		 "unprobed");
	init_rp(&rp, ret_vec, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_vec)");
	got = ret_vec_fp(x);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check(vec_eq(got, want), "vector of four ints in " IN_VEC ": "
		 "ret_vec(x) return-probed (handler clobbers " FP_CLOBBER ") "
		 "returned {%#x, %#x, %#x, %#x}, expected {%#x, %#x, %#x, "
		 "%#x}", got[0], got[1], got[2], got[3], want[0], want[1],
		 want[2], want[3]);
	kp_test_done();
}

/* Eight vectors: v2-v9 on ppc64, the most VRs a value comes back in. */
static void test_return_8_vectors(void **state)
{
	const v4si x = { 1, 0x100, 0x10000, 0x1000000 };
	struct eight_vecs want = ret_8v_fp(x), got;
	int i;

	for (i = 0; i < 8; i++)
		kp_check(vec_eq(want.v[i], x * (i + 1) +
				(v4si){ i, -i, 16 * i, -16 * i }),
			 "ret_8v(x) unprobed: element %d", i);
	init_rp(&rp, ret_8v, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_8v)");
	got = ret_8v_fp(x);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	for (i = 0; i < 8; i++)
		kp_check(vec_eq(got.v[i], want.v[i]), "struct of eight "
			 "vectors in " IN_8V ": ret_8v(x) return-probed "
			 "(handler clobbers " FP_CLOBBER "): element %d is "
			 "{%#x, %#x, %#x, %#x}, expected {%#x, %#x, %#x, %#x}",
			 i, got.v[i][0], got.v[i][1], got.v[i][2],
			 got.v[i][3], want.v[i][0], want.v[i][1],
			 want.v[i][2], want.v[i][3]);
	kp_test_done();
}

static void test_return_float128(void **state)
{
#ifdef HAVE_F128
	/* 1 + 2^-100: the low doubleword of the result is not zero. */
	const __float128 x = (__float128)1 + (__float128)0x1p-50 * 0x1p-50;
	const __float128 expect = (__float128)3.125 +
				  (__float128)0x3p-50 * 0x1p-50;
	__float128 want = ret_f128_fp(x), got;

	kp_check(want == expect, "ret_f128(1 + 2^-100) unprobed is 3.125 + "
		 "3 * 2^-100");
	init_rp(&rp, ret_f128, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_f128)");
	got = ret_f128_fp(x);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check(memcmp(&got, &want, sizeof(got)) == 0, "__float128 in "
		 IN_F128 ": ret_f128(1 + 2^-100) return-probed (handler "
		 "clobbers " FP_CLOBBER ") returned %.17g + %.17g, expected "
		 "%.17g + %.17g", (double)got, (double)(got - (double)got),
		 (double)want, (double)(want - (double)want));
	kp_test_done();
#else
	skip();		/* no __float128 in this compiler */
#endif
}

/* The caller's callee-saved registers and stack pointer are what they would
 * be without the probe. */
static void test_callee_saved_preserved(void **state)
{
	unsigned long diff;

	diff = kr_call_saved(ret_site, 1);
	kp_check_eq(diff, 0, "callee-saved registers that differ after an "
		    "unprobed call (" KR_SAVED_BITS ")");
	init_rp(&rp, ret_site, harsh_ret);
	kp_check_ret(register_kretprobe(&rp), 0,
		     "register_kretprobe(ret_site)");
	diff = kr_call_saved(ret_site, 1);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	kp_check_eq(diff, 0, "callee-saved registers (" KR_SAVED_BITS ") "
		    "that differ in the caller after a return-probed call, "
		    "the handler clobbering every caller-saved register: all "
		    "must be preserved");
	kp_check_eq(kr_saved_ret, 6, "ret_site(1) return-probed, called with "
		    "known callee-saved registers");
	unregister_kretprobe(&rp);
	kp_test_done();
}

/*
 * The caller-saved registers the callee leaves alone are left alone by
 * the return probe too, on the jump-optimized entry and on the trap's: a
 * caller compiled with -fipa-ra keeps values there across the call. (The
 * return stubs used to carry their index in r11, and on ppc64 r11, r12
 * and r0.)
 */
static void test_scratch_preserved_for_known_callee(void **state)
{
	unsigned long diff;

	diff = kr_call_scratch(kr_leaf, 41);
	kp_check_eq(diff, 0, "registers that differ after an unprobed call "
		    "(" KR_SCRATCH_BITS ")");
	for (int opt = 1; opt >= 0; opt--) {
		kprobe_optimization(opt);
		init_rp(&rp, kr_leaf, harsh_ret);
		kp_check_ret(register_kretprobe(&rp), 0,
			     "register_kretprobe(kr_leaf)");
		cnt_set(&ret_calls, 0);
		diff = kr_call_scratch(kr_leaf, 41);
		kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
		kp_check_eq(diff, 0, "registers (" KR_SCRATCH_BITS ") that "
			    "differ in the caller after a return-probed call "
			    "(jump optimization %s) to a function that does "
			    "not touch them: all must be preserved",
			    opt ? "on" : "off");
		unregister_kretprobe(&rp);
	}
	kprobe_optimization(1);
	kp_test_done();
}

/*
 * Every general register and the flags, as the caller left them, at the
 * first instruction of a return-probed function: through the direct way
 * of a jump-optimized entry (no entry_handler: optprobe.S saves only what
 * its C code may change), through the general way (an entry_handler), and
 * through the trap. Also with OF set (the direct way keeps it with an add,
 * not POPF) and with DF set (the direct way hands that case to the
 * general one).
 */
static void test_entry_regs(void **state)
{
#if defined(__x86_64__)
	static const char *const names[16] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
		"r9", "r10", "r11", "r12", "r13", "r14", "r15", "rflags",
	};
	static const char *const modes[3] = {
		"CF SF AF PF", "OF SF AF PF", "CF SF AF PF and DF",
	};
	unsigned long want[3][16], got[16];

	for (int m = 0; m < 3; m++)
		kr_call_entry_regs(want[m], m);
	kp_check_eq(want[1][15] & 0x8c5, 0x884, "flags at kr_entry_regs() "
		    "unprobed, mode 1: OF SF PF set, CF ZF clear");
	kp_check_eq(want[2][15] & 0x400, 0x400, "DF at kr_entry_regs() "
		    "unprobed, mode 2");
	for (int way = 0; way < 3; way++) {
		static const char *const ways[3] = {
			"the optimized entry's direct way",
			"the optimized entry with an entry_handler",
			"a trap at the entry",
		};

		kprobe_optimization(way < 2);
		init_rp(&rp, (void *)kr_entry_regs, count_ret);
		if (way == 1)
			rp.entry_handler = count_entry;
		kp_check_ret(register_kretprobe(&rp), 0,
			     "register_kretprobe(kr_entry_regs)");
		kp_check_eq(kprobe_optimized(&rp.kp), way < 2,
			    "kr_entry_regs' entry optimized (%s)", ways[way]);
		cnt_set(&ret_calls, 0);
		cnt_set(&entry_calls, 0);
		for (int m = 0; m < 3; m++) {
			memset(got, 0, sizeof(got));
			kr_call_entry_regs(got, m);
			for (int i = 0; i < 16; i++)
				kp_check_eq(got[i], want[m][i], "%s at a "
					    "return-probed function's first "
					    "instruction, flags %s, through "
					    "%s", names[i], modes[m],
					    ways[way]);
		}
		kp_check_eq(cnt_get(&ret_calls), 3, "return handler calls "
			    "(%s)", ways[way]);
		kp_check_eq(cnt_get(&entry_calls), way == 1 ? 3 : 0,
			    "entry handler calls (%s)", ways[way]);
		unregister_kretprobe(&rp);
	}
	kprobe_optimization(1);
	kp_test_done();
#else
	skip();		/* jump optimization is x86_64's only */
#endif
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

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&entry_calls);
	return 0;
}

/*
 * A kprobe joins a kretprobe alone at a function's entry, then leaves,
 * then the kretprobe is disabled and enabled again. A lone kretprobe with
 * no entry_handler may take the direct way (docs/design.md, "Return
 * probes"), which runs no other handler: every change at the address must
 * take it off that way or back on, and no hit may miss a handler.
 */
static void test_kprobe_joins_kretprobe(void **state)
{
	struct kprobe kp = { .addr = (kprobe_opcode_t *)kr_leaf,
			     .pre_handler = count_pre };
	long (*volatile leaf_fp)(long) = kr_leaf;
	int calls = 0, pres = 0;

	init_rp(&rp, kr_leaf, count_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(kr_leaf)");
	for (int round = 0; round < 4; round++) {
		static const char *const what[4] = {
			"the kretprobe alone",
			"a kprobe joined it",
			"the kprobe left",
			"the kretprobe disabled and enabled again",
		};

		if (round == 1)
			kp_check_ret(register_kprobe(&kp), 0,
				     "register_kprobe(kr_leaf) beside the "
				     "kretprobe");
		if (round == 2)
			unregister_kprobe(&kp);
		if (round == 3) {
			kp_check_ret(disable_kprobe(&rp.kp), 0,
				     "disable_kprobe(&rp.kp)");
			kp_check_eq(leaf_fp(1), 2, "kr_leaf(1), disabled");
			kp_check_ret(enable_kprobe(&rp.kp), 0,
				     "enable_kprobe(&rp.kp)");
		}
		for (int i = 0; i < 10; i++)
			kp_check_eq(leaf_fp(i), i + 1, "kr_leaf(%d) (%s)", i,
				    what[round]);
		calls += 10;
		pres += round == 1 ? 10 : 0;
		kp_check_eq(cnt_get(&ret_calls), calls, "return handler "
			    "calls (%s)", what[round]);
		kp_check_eq(cnt_get(&entry_calls), pres, "kprobe pre_handler "
			    "calls (%s)", what[round]);
	}
	kp_check_eq(rp_nmissed(&rp), 0, "rp.nmissed");
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

/* The second return register too: rdx, r4. */
static int set_ret_2l(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	cnt_inc(&ret_calls);
#if defined(__x86_64__)
	regs->rax += 1000;
	regs->rdx += 2000;
#else
	regs->gpr[3] += 1000;
	regs->gpr[4] += 2000;
#endif
	clobber_caller_saved();
	return 0;
}

static void test_set_return_struct(void **state)
{
	struct two_longs got;

	init_rp(&rp, ret_2l, set_ret_2l);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe(ret_2l)");
	got = ret_2l_fp(1000);
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check(got.a == 2001 && got.b == 3993, "ret_2l(1000) when the "
		 "return handler adds 1000 and 2000 to " IN_2L " in regs "
		 "returned {%ld, %ld}, expected {2001, 3993}", got.a, got.b);
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

/*
 * A return-probed function that leaves by a tail call into another: the
 * callee's entry finds the caller's return stub as its return address, and
 * its return goes through both stubs, the callee's handler first, each
 * seeing the callee's value; nothing is left pending (maxactive 1, many
 * calls, nothing missed). Both ways in: jump-optimized where the arch has
 * it (on x86_64 each is then called from its return stub, a call-in, and
 * the callee's stub returns into the caller's call-in return), and through
 * traps.
 */
long t_tail_a(long x), t_tail_b(long x);
#if defined(__x86_64__)
/* t_tail_a(x): t_tail_b(x + 1) by a jmp; t_tail_b(x): 3x. Each starts
 * with at least 5 bytes of straight-line code: both can be optimized. */
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl t_tail_a\n"
	"	.type t_tail_a, @function\n"
	"t_tail_a:\n"
	"	movq %rdi, %rax\n"
	"	leaq 1(%rdi), %rdi\n"
	"	jmp t_tail_b\n"
	"	.size t_tail_a, . - t_tail_a\n"
	"	.p2align 4\n"
	"	.globl t_tail_b\n"
	"	.type t_tail_b, @function\n"
	"t_tail_b:\n"
	"	leaq (%rdi,%rdi,2), %rax\n"
	"	addq $0, %rax\n"
	"	ret\n"
	"	.size t_tail_b, . - t_tail_b\n"
	"	.popsection\n");
#else
/* The same on ppc64: a b leaves LR, the return address, alone. */
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.globl t_tail_a\n"
	"	.type t_tail_a, @function\n"
	"t_tail_a:\n"
	"	addi 3, 3, 1\n"
	"	b t_tail_b\n"
	"	.size t_tail_a, . - t_tail_a\n"
	"	.p2align 4\n"
	"	.globl t_tail_b\n"
	"	.type t_tail_b, @function\n"
	"t_tail_b:\n"
	"	mulli 3, 3, 3\n"
	"	blr\n"
	"	.size t_tail_b, . - t_tail_b\n"
	"	.popsection\n");
#endif
static long (*volatile tail_fp)(long) = t_tail_a;
static struct kretprobe *tail_seen[64];

static int tail_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	unsigned long i = __atomic_fetch_add(&norder, 1, __ATOMIC_RELAXED);

	if (i < 64) {
		tail_seen[i] = get_kretprobe(ri);
		order_rax[i] = regs_return_value(regs);
	}
	cnt_inc(&ret_calls);
	return 0;
}

static void test_tail_call(void **state)
{
	int was = kprobe_optimization(-1);

	for (int opt = 1; opt >= 0; opt--) {
		kprobe_optimization(opt);
		init_rp(&rp, t_tail_a, tail_ret);
		init_rp(&rp2, t_tail_b, tail_ret);
		rp.maxactive = rp2.maxactive = 1;
		kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe("
			     "t_tail_a)");
		kp_check_ret(register_kretprobe(&rp2), 0, "register_kretprobe("
			     "t_tail_b)");
#if defined(__x86_64__)
		kp_check_eq(kprobe_optimized(&rp.kp) && kprobe_optimized(&rp2.kp),
			    opt, "both entries optimized");
#endif
		for (long x = 0; x < 100; x++) {
			cnt_set(&norder, 0);
			kp_check_eq(tail_fp(x), 3 * (x + 1), "t_tail_a(%ld) "
				    "with %s", x, opt ? "jumps" : "traps");
			kp_check_eq(cnt_get(&norder), 2, "return handler calls "
				    "for one tail-called return");
			kp_check_eq((uintptr_t)tail_seen[0], (uintptr_t)&rp2,
				    "first return handler: the callee's");
			kp_check_eq((uintptr_t)tail_seen[1], (uintptr_t)&rp,
				    "second: the tail caller's");
			kp_check_eq(order_rax[0], 3 * (x + 1), "return value "
				    "the callee's handler saw");
			kp_check_eq(order_rax[1], 3 * (x + 1), "return value "
				    "the caller's handler saw");
		}
		kp_check_eq(rp_nmissed(&rp) + rp_nmissed(&rp2), 0,
			    "nmissed with maxactive 1 over 100 calls");
		unregister_kretprobe(&rp2);
		unregister_kretprobe(&rp);
	}
	kprobe_optimization(was);
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

#if defined(__x86_64__)
#define NOT_ENTRY	1
#else
#define NOT_ENTRY	4
#endif

static void test_not_function_entry(void **state)
{
	uint8_t saved[KP_TEXT_LEN], saved_cs[KP_TEXT_LEN];
	uint8_t saved_rs[KP_TEXT_LEN];
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
	 * not the entry. On ppc64, call_site+4 is the second instruction
	 * (the addi of its TOC setup): neither its global nor its local
	 * entry. */
	text_read(call_site, saved_cs, KP_TEXT_LEN);
	init_rp(&rp, (char *)call_site + NOT_ENTRY, count_ret);
	ret = register_kretprobe(&rp);
	kp_check(ret < 0, "register_kretprobe() on kp.addr = call_site + %d "
		 "(not a function's entry) must fail with a negative errno; "
		 "returned %d", NOT_ENTRY, ret);
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
	/* On ppc64 ELFv2: ret_int's local entry point, if it has one. */
	kp_check_eq(rp.kp.addr, kp_probed_entry(ret_int),
		    "rp.kp.addr filled in from the symbol");
	kp_check_eq(ret_int_fp(1), 4, "ret_int(1)");
	kp_check_eq(cnt_get(&ret_calls), 1, "return handler calls");
	unregister_kretprobe(&rp);

	/* At the local entry point given as an address (on ppc64 ELFv2,
	 * ret_site's is after its TOC setup; elsewhere the function's
	 * address): a function's entry too. */
	text_read(ret_site, saved_rs, KP_TEXT_LEN);
	init_rp(&rp, kp_probed_entry(ret_site), count_ret);
	kp_check_ret(register_kretprobe(&rp), 0, "register_kretprobe() at "
		     "ret_site's local entry point %p (ret_site at %p)",
		     kp_probed_entry(ret_site), (void *)ret_site);
	kp_check_eq(rp.kp.addr, kp_probed_entry(ret_site), "rp.kp.addr");
	kp_check_eq(call_site_fp(1), 6 ^ 0x5a, "call_site(1)");
	kp_check_eq(cnt_get(&ret_calls), 2, "return handler calls");
	unregister_kretprobe(&rp);
	kp_check_text(ret_site, saved_rs, "ret_site after unregistering");
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
		KRET_TEST(test_errno_preserved),
		KRET_TEST(test_return_struct_rax_rdx),
		KRET_TEST(test_return_struct_xmm0_xmm1),
		KRET_TEST(test_return_8_doubles),
		KRET_TEST(test_return_vector),
		KRET_TEST(test_return_8_vectors),
		KRET_TEST(test_return_float128),
		KRET_TEST(test_callee_saved_preserved),
		KRET_TEST(test_scratch_preserved_for_known_callee),
		KRET_TEST(test_entry_regs),
		KRET_TEST(test_handler_sees_return_address),
		KRET_TEST(test_entry_handler_and_data),
		KRET_TEST(test_entry_handler_skips),
		KRET_TEST(test_kprobe_joins_kretprobe),
		KRET_TEST(test_set_return_value),
		KRET_TEST(test_set_return_struct),
		KRET_TEST(test_recursion_lifo),
		KRET_TEST(test_recursion_maxactive),
		KRET_TEST(test_tail_call),
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

#endif /* __x86_64__ || __powerpc64__ */
