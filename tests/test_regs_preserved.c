// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * State the probed code must find unchanged after a hit whose handlers do
 * not touch it through regs: every general register and the flags, the
 * vector registers and MXCSR (the handler here clobbers them on purpose),
 * errno (the handler makes a failing system call), and the red zone below
 * the stack pointer of a leaf function.
 */
#include "testutil.h"

#if !defined(__x86_64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <unistd.h>

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

static __attribute__((noinline, used)) int target_errno(int x)
{
	__asm__ volatile("");
	return x + 2;
}

static int (*volatile errno_fp)(int) = target_errno;

static struct kprobe kp, kp2;
static unsigned long hits;

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(&kp2, 0, sizeof(kp2));
	cnt_set(&hits, 0);
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
	(void)d;
	return count_pre(p, regs);
}

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
		REGS_TEST(test_xmm_nop),
		REGS_TEST(test_xmm_mov),
		REGS_TEST(test_gprs),
		REGS_TEST(test_redzone),
		REGS_TEST(test_errno_quiet_handler),
		REGS_TEST(test_errno_clobbering_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ */
