// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Basic probes: by address and by symbol, in the test executable and in a
 * shared library (zlib's crc32); what a pre_handler sees (the probed address,
 * the arguments) and that its register writes reach the probed function.
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <dlfcn.h>
#include <limits.h>
#include <unistd.h>
#include <zlib.h>

/* targets_x86_64.S, targets_ppc64.S; testutil.h says where t_add_second
 * is (T_ADD_SECOND_OFF). */
long t_add(long a, long b);
extern char t_add_second[];
long t_straddle(void);
extern char t_straddle_second[];

#if defined(__x86_64__)
/* The first argument's register, for a handler to write. */
#define REG_ARG0(regs)	((regs)->rdi)
#define REG_ARG0_NAME	"rdi"
/* target_args: six register arguments and two on the stack. */
#define NARGS		8
#define ARGS_DECL	long a, long b, long c, long d, long e, long f,	\
			long g, long h
#define ARGS_SUM	(a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f +	\
			 7 * g + 8 * h)
#define ARGS_TYPES	long, long, long, long, long, long, long, long
#define ARGS_VALUES	11, 22, 33, 44, 55, 66, 77, 88
#elif defined(__powerpc64__)
#define REG_ARG0(regs)	((regs)->gpr[3])
#define REG_ARG0_NAME	"r3"
/* target_args: eight register arguments (r3..r10) and two in the caller's
 * parameter save area, on the stack. */
#define NARGS		10
#define ARGS_DECL	long a, long b, long c, long d, long e, long f,	\
			long g, long h, long i, long j
#define ARGS_SUM	(a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f +	\
			 7 * g + 8 * h + 9 * i + 10 * j)
#define ARGS_TYPES	long, long, long, long, long, long, long, long,	\
			long, long
#define ARGS_VALUES	11, 22, 33, 44, 55, 66, 77, 88, 99, 110
#endif

/*
 * C targets: noinline and used so they exist as real functions, called
 * through volatile pointers so every call goes to the probed address.
 */
static __attribute__((noinline, used)) int target_add(int a, int b)
{
	__asm__ volatile("");
	return a + b;
}

static __attribute__((noinline, used)) long target_args(ARGS_DECL)
{
	__asm__ volatile("");
	return ARGS_SUM;
}

static __attribute__((noinline, used)) int target_incr(int x)
{
	__asm__ volatile("");
	return x + 1;
}

/*
 * Reads a global: on ppc64 ELFv2 it needs its TOC pointer, so it has a
 * global entry point that sets r2 up from r12 and, 8 bytes in, a local
 * entry point where calls from within this executable enter. noclone keeps
 * the direct calls going to this very function.
 */
static volatile long toc_value = 100;

static __attribute__((noinline, noclone, used)) long target_toc(long x)
{
	return x + toc_value;
}

static int (*volatile add_fp)(int, int) = target_add;
static long (*volatile args_fp)(ARGS_TYPES) = target_args;
static long (*volatile toc_fp)(long) = target_toc;
static int (*volatile incr_fp)(int) = target_incr;
static long (*volatile t_add_fp)(long, long) = t_add;
static uLong (*volatile crc_fp)(uLong, const Bytef *, uInt) = crc32;

/* Static, not on a test's stack: see kp_cleanup(). */
static struct kprobe kp;

/* Written by handlers (signal context), read by the tests. */
static unsigned long hits;
static unsigned long bad_ip;
static struct kprobe *seen_p;
static unsigned long seen_args[NARGS];

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

	for (i = 0; i < NARGS; i++)
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

static int set_arg0_pre(struct kprobe *p, struct pt_regs *regs)
{
	REG_ARG0(regs) = 42;
	return count_pre(p, regs);
}

/*
 * Register @probe (some spelling of target_add), check it resolved to
 * target_add (its local entry point on ppc64 ELFv2, if it has one), is
 * armed, counts 100 calls exactly with ip == p->addr, and leaves no trace
 * once unregistered. @what names the probe in messages.
 */
static void check_target_add_probe(struct kprobe *probe, const char *what)
{
	void *site = kp_probed_entry(target_add);
	uint8_t saved[KP_TEXT_LEN];
	int i;

	reset();
	text_read(site, saved, KP_TEXT_LEN);
	kp_check_eq(add_fp(2, 3), 5, "target_add(2, 3) before registering");

	kp_check_ret(register_kprobe(probe), 0, "register_kprobe(%s)", what);
	kp_check_eq(probe->addr, site,
		    "p->addr after register_kprobe(%s) must be the resolved "
		    "address of target_add", what);
	kp_check_eq(kp_nmissed(probe), 0,
		    "p->nmissed after register_kprobe(%s) must be reset", what);
	kp_check_armed(site, saved, "probe %s registered", what);

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
	kp_check_text(site, saved, "after unregister_kprobe(%s)", what);
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
 * addq on x86_64, t_add + 4 the add on ppc64: T_ADD_SECOND_OFF; the asm
 * says so). */
static void test_symbol_offset(void **state)
{
	uint8_t saved[KP_TEXT_LEN];
	const int off = T_ADD_SECOND_OFF;

	kp = (struct kprobe){
		.symbol_name = "t_add",
		.offset = off,
		.pre_handler = count_pre,
	};

	reset();
	text_read(t_add_second, saved, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(\"t_add\" + %d)", off);
	kp_check_eq(kp.addr, t_add_second,
		    "p->addr for \"t_add\" + %d must be t_add + %d", off, off);
	kp_check_armed(t_add_second, saved, "probe on t_add + %d", off);
	kp_check_eq(t_add_fp(40, 2), 42, "t_add(40, 2) with a probe on +%d",
		    off);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_add + %d", off);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != t_add + %d", off);
	unregister_kprobe(&kp);
	kp_check_text(t_add_second, saved, "after unregistering t_add + %d",
		      off);
	kp_test_done();
}

/* addr plus offset: the kernel's kprobe_addr() adds them too. */
static void test_addr_offset(void **state)
{
	const int off = T_ADD_SECOND_OFF;

	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)t_add,
		.offset = off,
		.pre_handler = count_pre,
	};

	reset();
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(addr = t_add, offset = %d)", off);
	kp_check_eq(kp.addr, t_add_second,
		    "p->addr for addr = t_add, offset = %d must be t_add + %d",
		    off, off);
	kp_check_eq(t_add_fp(1, 2), 3, "t_add(1, 2) with a probe on +%d", off);
	kp_check_eq(cnt_get(&hits), 1, "hits of the probe on t_add + %d", off);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != t_add + %d", off);
	unregister_kprobe(&kp);
	kp_test_done();
}

/*
 * A function of a shared library, named "obj:sym" and plain "sym". On
 * ppc64 ELFv2 crc32 sets up its TOC pointer first: the probe goes to its
 * local entry point, after that, which is where calls from inside libz
 * enter; a call through a pointer, as here, runs into it too.
 */
static void check_crc32_probe(const char *spec)
{
	static const Bytef buf[] = "The quick brown fox";
	uint8_t saved[KP_TEXT_LEN];
	void *real = dlsym(RTLD_DEFAULT, "crc32");
	void *site;
	uLong want, got;

	kp = (struct kprobe){
		.symbol_name = spec,
		.pre_handler = args3_pre,
	};
	assert_non_null(real);
	site = kp_probed_entry(real);
	reset();
	text_read(site, saved, KP_TEXT_LEN);
	want = crc_fp(0x12345678, buf, sizeof(buf) - 1);

	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(\"%s\")",
		     spec);
	kp_check_eq(kp.addr, site,
		    "p->addr for \"%s\" must be dlsym(RTLD_DEFAULT, \"crc32\")"
		    " (+ %ld: its local entry point)", spec,
		    (long)((char *)site - (char *)real));
	kp_check_armed(site, saved, "probe on %s", spec);

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
	kp_check_text(site, saved, "crc32 after unregistering %s", spec);
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

/* The argument registers and two arguments on the stack: on x86_64 six
 * and two, on ppc64 eight (r3..r10) and two (NARGS). */
static void test_arguments(void **state)
{
	long want = args_fp(ARGS_VALUES);
	unsigned int i;

	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_args,
		.pre_handler = args_pre,
	};
	reset();
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(target_args)");
	kp_check_eq(args_fp(ARGS_VALUES), want,
		    "target_args() with the probe");
	kp_check_eq(cnt_get(&hits), 1, "hits of target_args");
	for (i = 0; i < NARGS; i++)
		kp_check_eq(seen_args[i], 11 * (i + 1),
			    "regs_get_argument(regs, %u) at target_args "
			    "entry (%u arguments)", i, NARGS);
	unregister_kprobe(&kp);
	kp_test_done();
}

/* regs->rdi = 42 (r3 on ppc64) at the entry of int f(int x): f sees 42. */
static void test_register_write(void **state)
{
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_incr,
		.pre_handler = set_arg0_pre,
	};

	reset();
	kp_check_eq(incr_fp(1), 2, "target_incr(1) before registering");
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_incr)");
	kp_check_eq(incr_fp(1), 43,
		    "target_incr(1) with a pre_handler setting %s = 42 must "
		    "return 43", REG_ARG0_NAME);
	kp_check_eq(incr_fp(-5), 43,
		    "target_incr(-5) with a pre_handler setting %s = 42",
		    REG_ARG0_NAME);
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

/*
 * Register @probe (target_toc by some spelling) and call target_toc ten
 * times directly and ten times through a pointer: every call must hit.
 * On ppc64 ELFv2 the direct calls enter at the local entry point, past the
 * global entry's TOC setup, so only a probe there sees them all (the
 * kernel's probes on ppc64 go there too); the TOC setup itself must stay
 * as it was.
 */
static void check_local_calls(struct kprobe *probe, const char *what)
{
	char *fn = (char *)target_toc, *site = kp_probed_entry(target_toc);
	uint8_t saved[KP_TEXT_LEN], entry[KP_TEXT_LEN], now[KP_TEXT_LEN];
	long i;

	reset();
	text_read(site, saved, KP_TEXT_LEN);
	text_read(fn, entry, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(probe), 0, "register_kprobe(%s)", what);
	kp_check_eq(probe->addr, site,
		    "p->addr for %s: target_toc + %ld, where the calls from "
		    "within the executable enter", what, (long)(site - fn));
	kp_check_armed(site, saved, "probe %s registered", what);
	text_read(fn, now, KP_TEXT_LEN);
	kp_check(!memcmp(now, entry, (size_t)(site - fn)),
		 "probe %s: the %ld bytes of target_toc before its local "
		 "entry point must be unchanged", what, (long)(site - fn));
	for (i = 0; i < 10; i++)
		kp_check_eq(target_toc(i), i + 100,
			    "target_toc(%ld), a direct call (%s)", i, what);
	kp_check_eq(cnt_get(&hits), 10,
		    "hits of the probe %s for 10 direct calls of target_toc",
		    what);
	for (i = 0; i < 10; i++)
		kp_check_eq(toc_fp(i), i + 100,
			    "target_toc(%ld) through a pointer (%s)", i, what);
	kp_check_eq(cnt_get(&hits), 20,
		    "hits of the probe %s after 10 more calls of target_toc "
		    "through a pointer", what);
	kp_check_eq(cnt_get(&bad_ip), 0,
		    "hits where instruction_pointer(regs) != p->addr (%s)",
		    what);
	unregister_kprobe(probe);
	kp_check_text(site, saved, "after unregister_kprobe(%s)", what);
	kp_check_eq(target_toc(1), 101, "target_toc(1) after unregistering");
	kp_check_eq(cnt_get(&hits), 20, "hits after unregistering (%s)", what);
}

static void test_local_calls(void **state)
{
#if defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
	if (kp_probed_entry(target_toc) == (void *)target_toc) {
		/* Built pc-relative (Power10): no TOC, no local entry. */
		print_message("target_toc has no TOC setup: nothing to "
			      "check\n");
		skip();
	}
#endif
	kp = (struct kprobe){
		.addr = (kprobe_opcode_t *)target_toc,
		.pre_handler = count_pre,
	};
	check_local_calls(&kp, "addr = target_toc");
	kp = (struct kprobe){
		.symbol_name = "target_toc",
		.pre_handler = count_pre,
	};
	check_local_calls(&kp, "symbol_name = \"target_toc\"");
	kp_test_done();
}

/*
 * t_straddle starts on one page and goes on into the next; the probe is on
 * the next page, at its second instruction. Arming it patches that page,
 * which may leave it a mapping of its own (an mprotect()ed private page
 * keeps its own VMA); the probe must still register the second time, when
 * the function starts in the mapping before the probed one.
 */
static void test_page_straddle(void **state)
{
	long (*volatile straddle_fp)(void) = t_straddle;
	const int off = (int)(t_straddle_second - (char *)t_straddle);
	int round;

	for (round = 0; round < 2; round++) {
		kp = (struct kprobe){
			.symbol_name = "t_straddle",
			.offset = off,
			.pre_handler = count_pre,
		};
		reset();
		kp_check_ret(register_kprobe(&kp), 0,
			     "register_kprobe(\"t_straddle\" + %d), the first "
			     "instruction on the next page, round %d", off,
			     round);
		kp_check_eq(kp.addr, t_straddle_second,
			    "p->addr for \"t_straddle\" + %d", off);
		kp_check_eq(straddle_fp(), 7, "t_straddle() with the probe");
		kp_check_eq(cnt_get(&hits), 1, "hits of t_straddle + %d, "
			    "round %d", off, round);
		unregister_kprobe(&kp);
	}
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
		BASIC_TEST(test_local_calls),
		BASIC_TEST(test_page_straddle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
