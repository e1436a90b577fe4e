// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Basic probes: by address and by symbol, in the test executable and in a
 * shared library (zlib's crc32); what a pre_handler sees (the probed address,
 * the arguments) and that its register writes reach the probed function.
 */
#include "testutil.h"

#if !defined(__x86_64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 code")
#else

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>
#include <zlib.h>

/* targets_x86_64.S */
long t_add(long a, long b);
extern char t_add_second[];

/*
 * C targets: noinline and used so they exist as real functions, called
 * through volatile pointers so every call goes to the probed address.
 */
static __attribute__((noinline, used)) int target_add(int a, int b)
{
	__asm__ volatile("");
	return a + b;
}

static __attribute__((noinline, used)) long
target_args8(long a, long b, long c, long d, long e, long f, long g, long h)
{
	__asm__ volatile("");
	return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

static __attribute__((noinline, used)) int target_incr(int x)
{
	__asm__ volatile("");
	return x + 1;
}

static int (*volatile add_fp)(int, int) = target_add;
static long (*volatile args8_fp)(long, long, long, long, long, long, long,
				 long) = target_args8;
static int (*volatile incr_fp)(int) = target_incr;
static long (*volatile t_add_fp)(long, long) = t_add;
static uLong (*volatile crc_fp)(uLong, const Bytef *, uInt) = crc32;

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kprobe kp;

/* Written by handlers (signal context), read by the tests. */
static unsigned long hits;
static unsigned long bad_ip;
static struct kprobe *seen_p;
static unsigned long seen_args[8];

static void reset(void)
{
	cnt_set(&hits, 0);
	cnt_set(&bad_ip, 0);
	__atomic_store_n(&seen_p, NULL, __ATOMIC_RELAXED);
	memset(seen_args, 0, sizeof(seen_args));
}

static int setup(void **state)
{
	reset();
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kp };

	kp_cleanup(all, 1);
	return 0;
}

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	if (instruction_pointer(regs) != (unsigned long)p->addr)
		cnt_inc(&bad_ip);
	__atomic_store_n(&seen_p, p, __ATOMIC_RELAXED);
	return 0;
}

static int args_pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int i;

	for (i = 0; i < 8; i++)
		seen_args[i] = regs_get_argument(regs, i);
	return count_pre(p, regs);
}

static int args3_pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		seen_args[i] = regs_get_argument(regs, i);
	return count_pre(p, regs);
}

static int set_rdi_pre(struct kprobe *p, struct pt_regs *regs)
{
	regs->rdi = 42;
	return count_pre(p, regs);
}

/*
 * Register @probe (some spelling of target_add), check it resolved to
 * target_add, is armed, counts 100 calls exactly with ip == p->addr, and
 * leaves no trace once unregistered. @what names the probe in messages.
 */
static void check_target_add_probe(struct kprobe *probe, const char *what)
{
	uint8_t saved[KP_TEXT_LEN];
	int i;

	reset();
	text_read(target_add, saved, KP_TEXT_LEN);
	kp_check_eq(add_fp(2, 3), 5, "target_add(2, 3) before registering");

	kp_check_ret(register_kprobe(probe), 0, "register_kprobe(%s)", what);
	kp_check_eq(probe->addr, target_add,
		    "p->addr after register_kprobe(%s) must be the resolved "
		    "address of target_add", what);
	kp_check_eq(kp_nmissed(probe), 0,
		    "p->nmissed after register_kprobe(%s) must be reset", what);
	kp_check_armed(target_add, saved, "probe %s registered", what);

	for (i = 0; i < 100; i++)
		kp_check_eq(add_fp(i, 7), i + 7,
			    "target_add(%d, 7) with the probe %s", i, what);
	kp_check_eq(cnt_get(&hits), 100,
		    "pre_handler calls for 100 calls of target_add (%s)", what);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "pre_handler calls where instruction_pointer(regs) != "
		    "p->addr (%s)", what);
	kp_check_eq(__atomic_load_n(&seen_p, __ATOMIC_RELAXED), probe,
		    "the struct kprobe passed to the pre_handler (%s)", what);
	kp_check_eq(kp_nmissed(probe), 0, "p->nmissed after 100 hits (%s)",
		    what);

	unregister_kprobe(probe);
	kp_check_text(target_add, saved, "after unregister_kprobe(%s)", what);
	kp_check_eq(add_fp(4, 5), 9, "target_add(4, 5) after unregistering");
	kp_check_eq(cnt_get(&hits), 100,
		    "pre_handler calls after unregister_kprobe(%s)", what);
}

static void test_addr_probe(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_add,
		.pre_handler = count_pre,
		.nmissed = 12345,	/* garbage the library must reset */
	};

	check_target_add_probe(&kp, "addr = target_add");
	kp_test_done();
}

static void test_symbol_probe(void **state)
{
	kp = (struct kprobe){
		.symbol_name = "target_add",
		.pre_handler = count_pre,
	};

	check_target_add_probe(&kp, "symbol_name = \"target_add\"");
	kp_test_done();
}

/* "obj:sym" where obj is the executable's own file name. */
static void test_symbol_in_executable_object(void **state)
{
	char exe[PATH_MAX], spec[PATH_MAX + 32];
	const char *base;
	ssize_t n;

	kp = (struct kprobe){ .pre_handler = count_pre };
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	snprintf(spec, sizeof(spec), "%s:target_add", base);
	kp.symbol_name = spec;

	check_target_add_probe(&kp, spec);
	kp_test_done();
}

/* A symbol plus an offset on an instruction boundary (t_add + 3 is the
 * addq; the asm says so). */
static void test_symbol_offset(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	kp = (struct kprobe){
		.symbol_name = "t_add",
		.offset = 3,
		.pre_handler = count_pre,
	};

	reset();
	text_read(t_add_second, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(\"t_add\" + 3)");
	kp_check_eq(kp.addr, t_add_second,
		    "p->addr for \"t_add\" + 3 must be t_add + 3");
	kp_check_armed(t_add_second, saved, "probe on t_add + 3");
	kp_check_eq(t_add_fp(40, 2), 42, "t_add(40, 2) with a probe on +3");
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_add + 3");
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != t_add + 3");
	unregister_kprobe(&kp);
	kp_check_text(t_add_second, saved, "after unregistering t_add + 3");
	kp_test_done();
}

/* addr plus offset: the kernel's kprobe_addr() adds them too. */
static void test_addr_offset(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.offset = 3,
		.pre_handler = count_pre,
	};

	reset();
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(addr = t_add, offset = 3)");
	kp_check_eq(kp.addr, t_add_second,
		    "p->addr for addr = t_add, offset = 3 must be t_add + 3");
	kp_check_eq(t_add_fp(1, 2), 3, "t_add(1, 2) with a probe on +3");
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_add + 3");
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != t_add + 3");
	unregister_kprobe(&kp);
	kp_test_done();
}

/* A function of a shared library, named "obj:sym" and plain "sym". */
static void check_crc32_probe(const char *spec)
{
	static const Bytef buf[] = "The quick brown fox";
	uint8_t saved[KP_TEXT_LEN];
	void *real = dlsym(RTLD_DEFAULT, "crc32");
	uLong want, got;

	kp = (struct kprobe){
		.symbol_name = spec,
		.pre_handler = args3_pre,
	};
	assert_non_null(real);
	reset();
	text_read(real, saved, KP_TEXT_LEN);
	want = crc_fp(0x12345678, buf, sizeof(buf) - 1);

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(\"%s\")",
		     spec);
	kp_check_eq(kp.addr, real,
		    "p->addr for \"%s\" must be dlsym(RTLD_DEFAULT, \"crc32\")",
		    spec);
	kp_check_armed(real, saved, "probe on %s", spec);

	got = crc_fp(0x12345678, buf, sizeof(buf) - 1);
	kp_check_eq(got, want, "crc32() with a probe on %s", spec);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on %s", spec);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != p->addr (%s)",
		    spec);
	kp_check_eq(seen_args[0], 0x12345678,
		    "regs_get_argument(regs, 0) at crc32 entry (crc)");
	kp_check_eq(seen_args[1], buf,
		    "regs_get_argument(regs, 1) at crc32 entry (buf)");
	kp_check_eq((uint32_t)seen_args[2], sizeof(buf) - 1,
		    "regs_get_argument(regs, 2) at crc32 entry (len)");

	unregister_kprobe(&kp);
	kp_check_text(real, saved, "crc32 after unregistering %s", spec);
	kp_check_eq(crc_fp(0x12345678, buf, sizeof(buf) - 1), want,
		    "crc32() after unregistering %s", spec);
	kp_check_eq(cnt_get(&hits), 1, "hits after unregistering %s", spec);
}

static void test_shared_library_obj_sym(void **state)
{
	check_crc32_probe("libz.so.1:crc32");
	kp_test_done();
}

static void test_shared_library_sym(void **state)
{
	check_crc32_probe("crc32");
	kp_test_done();
}

/* Six register arguments and two on the stack. */
static void test_arguments(void **state)
{
	long want = args8_fp(11, 22, 33, 44, 55, 66, 77, 88);
	unsigned int i;

	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_args8,
		.pre_handler = args_pre,
	};
	reset();
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(target_args8)");
	kp_check_eq(args8_fp(11, 22, 33, 44, 55, 66, 77, 88), want,
		    "target_args8() with the probe");
	kp_check_eq(cnt_get(&hits), 1, "hits of target_args8");
	for (i = 0; i < 8; i++)
		kp_check_eq(seen_args[i], 11 * (i + 1),
			    "regs_get_argument(regs, %u) at target_args8 "
			    "entry", i);
	unregister_kprobe(&kp);
	kp_test_done();
}

/* regs->rdi = 42 at the entry of int f(int x): f sees 42. */
static void test_register_write(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_incr,
		.pre_handler = set_rdi_pre,
	};

	reset();
	kp_check_eq(incr_fp(1), 2, "target_incr(1) before registering");
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_incr)");
	kp_check_eq(incr_fp(1), 43,
		    "target_incr(1) with a pre_handler setting rdi = 42 must "
		    "return 43");
	kp_check_eq(incr_fp(-5), 43,
		    "target_incr(-5) with a pre_handler setting rdi = 42");
	kp_check_eq(cnt_get(&hits), 2, "hits of target_incr");
	unregister_kprobe(&kp);
	kp_check_eq(incr_fp(1), 2, "target_incr(1) after unregistering");
	kp_test_done();
}

/* An unregistered struct kprobe may be registered again. */
static void test_reregister(void **state)
{
	int round;

	kp = (struct kprobe){ .pre_handler = count_pre };
	reset();
	for (round = 0; round < 3; round++) {
		kp.addr = (kprobe_opcode_t *)target_add;
		kp.symbol_name = NULL;
		kp.offset = 0;
		kp_check_ret(register_kprobe(&kp), 0,
			     "register_kprobe(target_add), round %d", round);
		kp_check_eq(add_fp(1, 1), 2, "target_add(1, 1), round %d",
			    round);
		unregister_kprobe(&kp);
	}
	kp_check_eq(cnt_get(&hits), 3,
		    "hits over three register/unregister rounds");
	kp_test_done();
}

#define BASIC_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BASIC_TEST(test_addr_probe),
		BASIC_TEST(test_symbol_probe),
		BASIC_TEST(test_symbol_in_executable_object),
		BASIC_TEST(test_symbol_offset),
		BASIC_TEST(test_addr_offset),
		BASIC_TEST(test_shared_library_obj_sym),
		BASIC_TEST(test_shared_library_sym),
		BASIC_TEST(test_arguments),
		BASIC_TEST(test_register_write),
		BASIC_TEST(test_reregister),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ */
