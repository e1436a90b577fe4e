// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * State the probed code must find unchanged after a hit whose handlers do
 * not touch it through regs: every general register and the flags, the
 * vector registers and MXCSR (the handler here clobbers them on purpose),
 * errno (the handler makes a failing system call), and the red zone below
 * the stack pointer of a leaf function.
 *
 * On ppc64 (targets_ppc64_insn.S, t_pr_*) the same: every GPR but r1 and
 * r13, CR, XER, CTR and LR; the 64 VSX registers (f0-f31 and v0-v31),
 * FPSCR and VSCR; ELFv2's 288-byte protected zone below r1. Each at a
 * site run from a slot and at one emulated, both with a pre_handler only
 * (boosted: one trap) and with a post_handler (two traps).
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#if defined(__x86_64__)
/* targets_x86_64.S */
void t_xmm(const uint8_t in[256], uint8_t out[260]);
extern char t_xmm_nop[], t_xmm_mov[];
void t_gprs(unsigned long out[16]);
extern char t_gprs_site[];
long t_redzone(long x);
extern char t_redzone_site[];

static void (*volatile xmm_fp)(const uint8_t *, uint8_t *) = t_xmm;
static void (*volatile gprs_fp)(unsigned long *) = t_gprs;
static long (*volatile redzone_fp)(long) = t_redzone;
#elif defined(__powerpc64__)
/* targets_ppc64_insn.S */
#define PR_VSX_LEN	1056	/* vs0-vs63, VSCR's vector, FPSCR's double */
#define PR_NGPRS	36	/* r0-r31, CR, XER, CTR, LR */
void t_pr_vsx(const uint8_t in[PR_VSX_LEN], uint8_t out[PR_VSX_LEN]);
extern char t_pr_vsx_nop[], t_pr_vsx_mr[], t_pr_vsx_b[];
void t_pr_gprs(const unsigned long in[PR_NGPRS],
	       unsigned long out[PR_NGPRS]);
extern char t_pr_gprs_nop[], t_pr_gprs_b[];
long t_pr_redzone(long x);
extern char t_pr_redzone_nop[], t_pr_redzone_b[];

static void (*volatile vsx_fp)(const uint8_t *, uint8_t *) = t_pr_vsx;
static void (*volatile pr_gprs_fp)(const unsigned long *,
				   unsigned long *) = t_pr_gprs;
static long (*volatile redzone_fp)(long) = t_pr_redzone;
#endif

static __attribute__((noinline, used)) int target_errno(int x)
{
	__asm__ volatile("");
	return x + 2;
}

static int (*volatile errno_fp)(int) = target_errno;

static struct kprobe kp, kp2;
static unsigned long hits, post_hits;

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(&kp2, 0, sizeof(kp2));
	cnt_set(&hits, 0);
	cnt_set(&post_hits, 0);
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp, &kp2 };

	kp_cleanup(all, 2);
	return 0;
}

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return 0;
}

/*
 * Floating point in a handler, and every vector register and the rounding
 * mode overwritten explicitly, in case the compiler's code leaves some
 * alone.
 */
static int clobber_fp_pre(struct kprobe *p, struct pt_regs *regs)
{
	volatile double d = 1.25;
	unsigned int mxcsr = 0x1f80 | (3u << 13);	/* round toward zero */

	d = d * 3.5 + 0.125;
	d = d / 7.0;
#if defined(__x86_64__)
	__asm__ volatile(
		"pcmpeqd %%xmm0, %%xmm0\n\t"
		"pcmpeqd %%xmm1, %%xmm1\n\t"
		"pxor %%xmm2, %%xmm2\n\t"
		"pxor %%xmm3, %%xmm3\n\t"
		"pxor %%xmm4, %%xmm4\n\t"
		"pxor %%xmm5, %%xmm5\n\t"
		"pxor %%xmm6, %%xmm6\n\t"
		"pxor %%xmm7, %%xmm7\n\t"
		"pxor %%xmm8, %%xmm8\n\t"
		"pxor %%xmm9, %%xmm9\n\t"
		"pxor %%xmm10, %%xmm10\n\t"
		"pxor %%xmm11, %%xmm11\n\t"
		"pxor %%xmm12, %%xmm12\n\t"
		"pxor %%xmm13, %%xmm13\n\t"
		"pxor %%xmm14, %%xmm14\n\t"
		"pcmpeqd %%xmm15, %%xmm15\n\t"
		"ldmxcsr %0"
		: : "m"(mxcsr)
		: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
		  "xmm14", "xmm15");
#elif defined(__powerpc64__)
	/* FPSCR rounding toward -inf, VSCR SAT alone (the program sets NJ
	 * and SAT), every VSX register complemented. */
	__asm__ volatile(
		"mtfsfi 7, 3\n\t"
		"vspltisw 0, 1\n\t"
		"mtvscr 0\n\t"
		".irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
		"16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, "
		"31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, "
		"46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, "
		"61, 62, 63\n\t"
		"xxlnor \\n, \\n, \\n\n\t"
		".endr"
		: : : "vs0", "vs1", "vs2", "vs3", "vs4", "vs5", "vs6", "vs7",
		  "vs8", "vs9", "vs10", "vs11", "vs12", "vs13", "vs14",
		  "vs15", "vs16", "vs17", "vs18", "vs19", "vs20", "vs21",
		  "vs22", "vs23", "vs24", "vs25", "vs26", "vs27", "vs28",
		  "vs29", "vs30", "vs31", "vs32", "vs33", "vs34", "vs35",
		  "vs36", "vs37", "vs38", "vs39", "vs40", "vs41", "vs42",
		  "vs43", "vs44", "vs45", "vs46", "vs47", "vs48", "vs49",
		  "vs50", "vs51", "vs52", "vs53", "vs54", "vs55", "vs56",
		  "vs57", "vs58", "vs59", "vs60", "vs61", "vs62", "vs63");
	(void)mxcsr;
#endif
	(void)d;
	return count_pre(p, regs);
}

#if defined(__x86_64__)
static void check_xmm_probe(char *site, const char *what)
{
	uint8_t in[256], want[260], got[260];
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 3);
	memset(want, 0, sizeof(want));
	xmm_fp(in, want);
	kp_check(memcmp(want, in, sizeof(in)) == 0,
		 "t_xmm without a probe copies its input (asm target broken)");

	kp.addr = (kprobe_opcode_t *)site;
	kp.pre_handler = clobber_fp_pre;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(%s)", what);
	memset(got, 0, sizeof(got));
	xmm_fp(in, got);
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on %s", what);
	for (i = 0; i < 16; i++)
		kp_check(memcmp(got + 16 * i, want + 16 * i, 16) == 0,
			 "xmm%u after a hit on %s whose handler clobbers the "
			 "vector registers must keep the value loaded before",
			 i, what);
	kp_check(memcmp(got + 256, want + 256, 4) == 0,
		 "MXCSR after a hit on %s whose handler changes the rounding "
		 "mode: %#x, expected %#x", what,
		 *(uint32_t *)(got + 256), *(uint32_t *)(want + 256));
}

static void test_xmm_nop(void **state)
{
	check_xmm_probe(t_xmm_nop, "a nop between loading and storing xmm");
	kp_test_done();
}

static void test_xmm_mov(void **state)
{
	check_xmm_probe(t_xmm_mov, "a mov between loading and storing xmm");
	kp_test_done();
}

static void test_gprs(void **state)
{
	static const char *const names[16] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
		"r9", "r10", "r11", "r12", "r13", "r14", "r15", "rflags",
	};
	unsigned long want[16], got[16];
	int i;

	gprs_fp(want);
	kp.addr = (kprobe_opcode_t *)t_gprs_site;
	kp.pre_handler = clobber_fp_pre;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(t_gprs_site)");
	memset(got, 0, sizeof(got));
	gprs_fp(got);
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_gprs_site");
	for (i = 0; i < 16; i++)
		kp_check_eq(got[i], want[i],
			    "%s after a hit on a nop (the value the code set "
			    "before it)", names[i]);
	kp_test_done();
}

static void test_redzone(void **state)
{
	kp_check_eq(redzone_fp(0x1234), 7, "t_redzone() without a probe");
	kp.addr = (kprobe_opcode_t *)t_redzone_site;
	kp.pre_handler = count_pre;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(t_redzone_site)");
	kp_check_eq(redzone_fp(0x1234), 7,
		    "t_redzone(): bitmask of the red zone words (-8, -64, "
		    "-128 from rsp) that survived a hit, all three expected");
	unregister_kprobe(&kp);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_redzone_site");
	kp_test_done();
}

#elif defined(__powerpc64__)

static void count_post(struct kprobe *p, struct pt_regs *regs,
		       unsigned long flags)
{
	cnt_inc(&post_hits);
}

/* A probe on @site, with the pre_handler @pre, and a post_handler if
 * @post (then the slot ends with a second trap instead of a branch back). */
static void register_at(char *site, kprobe_pre_handler_t pre, bool post,
			const char *what)
{
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)site;
	kp.pre_handler = pre;
	kp.post_handler = post ? count_post : NULL;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(%s)", what);
}

#define HOW(post)	((post) ? "two traps" : "boosted")

/*
 * Does a signal handler's return give VSCR back here, with no probe
 * involved? The kernel's does; qemu-user 7.2's does not (it leaves the
 * handler's VSCR), and then no hit can be expected to.
 */
static void vscr_usr1(int sig)
{
	__asm__ volatile("vspltisw 0, 1\n\tmtvscr 0" : : : "v0");
}

static bool platform_keeps_vscr(void)
{
	static const uint32_t set[4] = {
		0x00010001, 0x00010001, 0x00010001, 0x00010001,
	};
	uint32_t got[4], back[4] = { 0 };
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vscr_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	__asm__ volatile("lxvw4x 32, 0, %0\n\tmtvscr 0"
			 : : "r"(set) : "v0", "memory");
	raise(SIGUSR1);
	__asm__ volatile("mfvscr 0\n\tstxvw4x 32, 0, %0"
			 : : "r"(got) : "v0", "memory");
	__asm__ volatile("lxvw4x 32, 0, %0\n\tmtvscr 0"	/* the default */
			 : : "r"(back) : "v0", "memory");
	sigaction(SIGUSR1, &old, NULL);
	return got[0] == 0x00010001 || got[3] == 0x00010001;
}

/*
 * The 64 VSX registers, VSCR and FPSCR across a hit whose handler
 * complements every VSX register and changes both rounding and
 * saturation state.
 */
static void check_vsx_probe(char *site, const char *what)
{
	static uint8_t in[PR_VSX_LEN], want[PR_VSX_LEN], got[PR_VSX_LEN];
	const uint32_t vscr = 0x00010001;	/* NJ, SAT */
	const uint64_t fpscr = 0x02000001;	/* XX, RN toward zero */
	bool check_vscr = platform_keeps_vscr();
	unsigned int i;
	int post;

	if (!check_vscr)
		print_message("VSCR not checked: a signal handler's VSCR "
			      "outlives it here even without libkprobe (as "
			      "under qemu-user 7.2)\n");
	for (i = 0; i < 1024; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < 4; i++)		/* mtvscr reads one word of four */
		memcpy(in + 1024 + 4 * i, &vscr, 4);
	memcpy(in + 1040, &fpscr, 8);
	memset(want, 0, sizeof(want));
	vsx_fp(in, want);
	kp_check(memcmp(want, in, 1024) == 0,
		 "t_pr_vsx without a probe copies its input (asm target "
		 "broken)");
	kp_check((want[1040] & 3) == 1,
		 "t_pr_vsx without a probe: FPSCR[RN] %u, expected the 1 it "
		 "set (asm target broken)", want[1040] & 3);

	for (post = 0; post < 2; post++) {
		cnt_set(&hits, 0);
		cnt_set(&post_hits, 0);
		register_at(site, clobber_fp_pre, post, what);
		memset(got, 0, sizeof(got));
		vsx_fp(in, got);
		unregister_kprobe(&kp);
		kp_check_eq(cnt_get(&hits), 1, "hits of the probe on %s (%s)",
			    what, HOW(post));
		kp_check_eq(cnt_get(&post_hits), post,
			    "post_handler calls on %s (%s)", what, HOW(post));
		for (i = 0; i < 64; i++)
			kp_check(memcmp(got + 16 * i, want + 16 * i, 16) == 0,
				 "vs%u (%s%u) after a hit (%s) on %s whose "
				 "handler clobbers the vector registers must "
				 "keep the value loaded before", i,
				 i < 32 ? "f" : "v", i % 32, HOW(post), what);
		kp_check(!check_vscr ||
			 memcmp(got + 1024, want + 1024, 16) == 0,
			 "VSCR after a hit (%s) on %s whose handler changes "
			 "it", HOW(post), what);
		kp_check(memcmp(got + 1040, want + 1040, 8) == 0,
			 "FPSCR after a hit (%s) on %s whose handler changes "
			 "the rounding mode", HOW(post), what);
	}
}

static void test_vsx_nop(void **state)
{
	check_vsx_probe(t_pr_vsx_nop, "a nop (out of line) between loading "
			"and storing the VSX registers");
	kp_test_done();
}

static void test_vsx_mr(void **state)
{
	check_vsx_probe(t_pr_vsx_mr, "an mr (out of line) between loading "
			"and storing the VSX registers");
	kp_test_done();
}

static void test_vsx_b(void **state)
{
	check_vsx_probe(t_pr_vsx_b, "a b (emulated) between loading and "
			"storing the VSX registers");
	kp_test_done();
}

/* Every GPR but r1 and r13, CR, XER, CTR and LR across hits at a nop run
 * from a slot and at a b emulated, each boosted and with two traps. */
static void test_gprs(void **state)
{
	static const char *const extra[4] = { "cr", "xer", "ctr", "lr" };
	static const struct {
		char *site;
		const char *what;
	} sites[] = {
		{ t_pr_gprs_nop, "a nop (out of line)" },
		{ t_pr_gprs_b, "a b (emulated)" },
	};
	unsigned long in[PR_NGPRS], want[PR_NGPRS], got[PR_NGPRS];
	unsigned int i, s;
	char name[8];
	int post;

	for (i = 0; i < 32; i++)
		in[i] = 0xa5a5a5a500000000ul | i << 16 | i;
	in[32] = 0x12345678;		/* CR: every field different */
	in[33] = 0xe00c0045;		/* XER: SO OV CA OV32 CA32, count */
	in[34] = 0xc7c7c7c7c7c7c7c7;	/* CTR */
	in[35] = 0x0123456789abcdec;	/* LR */
	memset(want, 0, sizeof(want));
	pr_gprs_fp(in, want);
	for (i = 0; i < PR_NGPRS; i++)
		if (i != 1 && i != 13 && i != 33)
			kp_check_eq(want[i], in[i], "t_pr_gprs without a probe:"
				    " register %u (asm target broken)", i);

	for (s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		for (post = 0; post < 2; post++) {
			cnt_set(&hits, 0);
			cnt_set(&post_hits, 0);
			register_at(sites[s].site, clobber_fp_pre, post,
				    sites[s].what);
			memset(got, 0, sizeof(got));
			pr_gprs_fp(in, got);
			unregister_kprobe(&kp);
			kp_check_eq(cnt_get(&hits), 1, "hits of the probe on "
				    "%s (%s)", sites[s].what, HOW(post));
			kp_check_eq(cnt_get(&post_hits), post,
				    "post_handler calls on %s (%s)",
				    sites[s].what, HOW(post));
			for (i = 0; i < PR_NGPRS; i++) {
				if (i == 1 || i == 13)
					continue;
				if (i < 32)
					snprintf(name, sizeof(name), "r%u", i);
				else
					snprintf(name, sizeof(name), "%s",
						 extra[i - 32]);
				kp_check_eq(got[i], want[i],
					    "%s after a hit (%s) on %s (the "
					    "value the code set before it)",
					    name, HOW(post), sites[s].what);
			}
		}
	}
	kp_test_done();
}

/*
 * ELFv2's protected zone: the 288 bytes below r1 a leaf function may use
 * without a frame. Signal delivery (the trap) must leave it alone, and so
 * must the slot and everything libkprobe runs.
 */
static void test_redzone(void **state)
{
	static const struct {
		char *site;
		const char *what;
	} sites[] = {
		{ t_pr_redzone_nop, "a nop (out of line)" },
		{ t_pr_redzone_b, "a b (emulated)" },
	};
	unsigned int s;
	int post;

	kp_check_eq(redzone_fp(0x1234), 7, "t_pr_redzone() without a probe");
	for (s = 0; s < sizeof(sites) / sizeof(sites[0]); s++) {
		for (post = 0; post < 2; post++) {
			cnt_set(&hits, 0);
			register_at(sites[s].site, count_pre, post,
				    sites[s].what);
			kp_check_eq(redzone_fp(0x1234), 7,
				    "t_pr_redzone(): bitmask of the protected "
				    "zone words (-8, -144, -288 from r1) that "
				    "survived a hit (%s) on %s, all three "
				    "expected", HOW(post), sites[s].what);
			unregister_kprobe(&kp);
			kp_check_eq(cnt_get(&hits), 1, "hits of the probe on "
				    "%s (%s)", sites[s].what, HOW(post));
		}
	}
	kp_test_done();
}
#endif /* __powerpc64__ */

/* A failing system call in a handler sets errno to EBADF. */
static int clobber_errno_pre(struct kprobe *p, struct pt_regs *regs)
{
	close(-1);
	return count_pre(p, regs);
}

static void check_errno(kprobe_pre_handler_t pre, const char *what)
{
	int r, e;

	kp.addr = (kprobe_opcode_t *)target_errno;
	kp.pre_handler = pre;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_errno)");
	errno = 1234;
	r = errno_fp(1);
	e = errno;
	unregister_kprobe(&kp);
	kp_check_eq(r, 3, "target_errno(1)");
	kp_check_eq(cnt_get(&hits), 1, "hits of target_errno");
	kp_check_eq(e, 1234, "errno set before a hit, after it (%s)", what);
}

static void test_errno_quiet_handler(void **state)
{
	check_errno(count_pre, "a handler that makes no system call");
	kp_test_done();
}

static void test_errno_clobbering_handler(void **state)
{
	check_errno(clobber_errno_pre, "a handler whose close(-1) fails");
	kp_test_done();
}

#define REGS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
#if defined(__x86_64__)
		REGS_TEST(test_xmm_nop),
		REGS_TEST(test_xmm_mov),
#else
		REGS_TEST(test_vsx_nop),
		REGS_TEST(test_vsx_mr),
		REGS_TEST(test_vsx_b),
#endif
		REGS_TEST(test_gprs),
		REGS_TEST(test_redzone),
		REGS_TEST(test_errno_quiet_handler),
		REGS_TEST(test_errno_clobbering_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
