// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What register_kprobe() must refuse, with which errno, leaving the text as
 * it was and a message in kprobe_last_error().
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <stdbool.h>

/* targets_x86_64.S, targets_ppc64.S */
long t_add(long a, long b);		/* T_ADD_SIZE bytes */
extern char t_long_first[];		/* a long first instruction; ret */
extern char t_long_first_ret[];

#if defined(__x86_64__)
/* t_add: 7 bytes (3 + 3 + 1). t_long_first: movabsq (10 bytes); ret. */
#define LONG_FIRST_LEN		10
/* Offsets into t_long_first's first instruction (not boundaries). */
#define LONG_MID_ADDR_OFF	1
#define LONG_MID_SYM_OFF	5
#define LONG_FIRST_INSN		"a 10-byte instruction"
extern char t_bad_ud2[], t_bad_int3[], t_bad_int80[], t_bad_hlt[];
#elif defined(__powerpc64__)
/*
 * t_add: 12 bytes (4 + 4 + 4). t_long_first: a prefixed pli (8 bytes, a
 * prefix word and a suffix word); blr. Its suffix, at + 4, is a word
 * boundary but no instruction boundary: the probe must be refused there as
 * inside x86_64's movabs.
 */
#define LONG_FIRST_LEN		8
#define LONG_MID_ADDR_OFF	4
#define LONG_MID_SYM_OFF	4
#define LONG_FIRST_INSN		"the suffix of an 8-byte prefixed instruction"
extern char t_bad_trap[], t_bad_tw[], t_bad_twi[], t_bad_td[], t_bad_tdi[];
extern char t_bad_lwarx[], t_bad_stwcx[], t_bad_ldarx[], t_bad_stdcx[];
extern char t_bad_lbarx[], t_bad_stbcx[], t_bad_lharx[], t_bad_sthcx[];
extern char t_bad_lqarx[], t_bad_stqcx[];
extern char t_bad_prefixed[], t_bad_bctar[], t_bad_bcctr[];
#endif

static __attribute__((noinline, used)) int target_err(int x)
{
	__asm__ volatile("");
	return x ^ 0x33;
}

static int (*volatile err_fp)(int) = target_err;
static long global_variable = 42;

static struct kprobe kp, kp2;
static unsigned long hits;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&hits);
	return 0;
}

static int setup(void **state)
{
	memset(&kp, 0, sizeof(kp));
	memset(&kp2, 0, sizeof(kp2));
	kp.pre_handler = count_pre;
	kp2.pre_handler = count_pre;
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

/*
 * register_kprobe(&kp) must fail with @expect, leave the KP_TEXT_LEN bytes
 * at @text (may be NULL: nothing to look at) unchanged, and say why in
 * kprobe_last_error(). @what describes the probe.
 */
static void check_refused(const void *text, int expect, const char *what)
{
	uint8_t before[KP_TEXT_LEN];
	const char *msg;

	if (text)
		text_read(text, before, KP_TEXT_LEN);
	kp_check_ret(register_kprobe(&kp), expect, "register_kprobe(%s)",
		     what);
	if (text)
		kp_check_text(text, before, "after the refused %s", what);
	msg = kprobe_last_error();
	kp_check(msg != NULL && msg[0] != '\0',
		 "kprobe_last_error() after the refused %s must say why",
		 what);
}

static void test_null_probe(void **state)
{
	kp_check_ret(register_kprobe(NULL), -EINVAL, "register_kprobe(NULL)");
	kp_test_done();
}

static void test_addr_and_symbol(void **state)
{
	kp.addr = (kprobe_opcode_t *)target_err;
	kp.symbol_name = "target_err";
	check_refused(target_err, -EINVAL, "both addr and symbol_name set");
	kp_test_done();
}

static void test_neither(void **state)
{
	check_refused(NULL, -EINVAL, "neither addr nor symbol_name set");
	kp_test_done();
}

static void test_already_registered(void **state)
{
	void *site = kp_probed_entry(target_err);
	uint8_t saved[KP_TEXT_LEN];

	text_read(site, saved, KP_TEXT_LEN);
	kp.addr = (kprobe_opcode_t *)target_err;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_err)");
	kp_check_ret(register_kprobe(&kp), -EINVAL,
		     "register_kprobe() of a struct already registered");
	kp_check_armed(site, saved, "after the refused second "
		       "registration");
	kp_check_eq(err_fp(0), 0x33, "target_err(0)");
	kp_check_eq(cnt_get(&hits), 1,
		    "handler runs per hit after a refused second registration "
		    "(it must not have been added twice)");
	unregister_kprobe(&kp);
	kp_check_text(site, saved, "one unregister_kprobe() after a "
		      "refused second registration");
	kp_test_done();
}

static void test_unknown_symbol(void **state)
{
	kp.symbol_name = "libkprobe_test_no_such_symbol";
	check_refused(NULL, -ENOENT, "unknown symbol");
	kp_test_done();
}

static void test_unknown_symbol_in_object(void **state)
{
	kp.symbol_name = "libz.so.1:libkprobe_test_no_such_symbol";
	check_refused(NULL, -ENOENT, "unknown symbol in libz.so.1");
	kp_test_done();
}

static void test_unknown_object(void **state)
{
	kp.symbol_name = "libkprobe-test-no-such-object.so:crc32";
	check_refused(NULL, -ENOENT, "symbol of an object not loaded");
	kp_test_done();
}

static void test_data_address(void **state)
{
	kp.addr = (kprobe_opcode_t *)&global_variable;
	check_refused(&global_variable, -EINVAL, "address of a global "
		      "variable");
	kp_check_eq(global_variable, 42, "the global variable, untouched");
	kp_test_done();
}

static void test_heap_address(void **state)
{
	uint8_t *buf = malloc(64);

	assert_non_null(buf);
	memset(buf, 0x90, 64);
	kp.addr = (kprobe_opcode_t *)buf;
	check_refused(buf, -EINVAL, "address of a malloc'd buffer");
	free(buf);
	kp_test_done();
}

static void test_stack_address(void **state)
{
	uint8_t buf[64];

	memset(buf, 0x90, sizeof(buf));
	kp.addr = (kprobe_opcode_t *)buf;
	check_refused(buf, -EINVAL, "address of a stack buffer");
	kp_test_done();
}

static void test_unmapped_address(void **state)
{
	kp.addr = (kprobe_opcode_t *)16;
	check_refused(NULL, -EINVAL, "address 16 (unmapped)");
	kp_test_done();
}

/* libkprobe's own code is blacklisted: probing it would recurse. */
static void test_blacklisted_addr(void **state)
{
	kp.addr = (kprobe_opcode_t *)register_kprobe;
	check_refused(register_kprobe, -EINVAL, "(void *)register_kprobe");
	kp_test_done();
}

static void test_blacklisted_symbol(void **state)
{
	kp.symbol_name = "kprobe_lookup_name";
	check_refused(kprobe_lookup_name, -EINVAL,
		      "symbol \"kprobe_lookup_name\" (libkprobe's own)");
	kp_test_done();
}

/*
 * t_long_first starts with a 10-byte movabs (x86_64; +1 and +5 are inside
 * it) or an 8-byte prefixed instruction (ppc64; +4 is its suffix).
 */
static void test_mid_instruction_addr(void **state)
{
	char what[96];

	snprintf(what, sizeof(what), "t_long_first + %d (inside %s)",
		 LONG_MID_ADDR_OFF, LONG_FIRST_INSN);
	kp.addr = (kprobe_opcode_t *)(t_long_first + LONG_MID_ADDR_OFF);
	check_refused(t_long_first, -EILSEQ, what);
#if defined(__powerpc64__)
	/* Instructions are words: an address that is not a multiple of 4
	 * is inside one (here t_add's first, mr r5, r3). */
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)((char *)t_add + 2);
	check_refused(t_add, -EILSEQ, "t_add + 2 (not a multiple of 4)");
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)(t_long_first + 1);
	check_refused(t_long_first, -EILSEQ,
		      "t_long_first + 1 (not a multiple of 4, in a prefix)");
#endif
	kp_test_done();
}

static void test_mid_instruction_symbol(void **state)
{
	char what[96];

	snprintf(what, sizeof(what), "\"t_long_first\" + %d (inside %s)",
		 LONG_MID_SYM_OFF, LONG_FIRST_INSN);
	kp.symbol_name = "t_long_first";
	kp.offset = LONG_MID_SYM_OFF;
	check_refused(t_long_first, -EILSEQ, what);
#if defined(__powerpc64__)
	/* Offsets that are not a multiple of 4, in t_add's second and last
	 * instructions. */
	memset(&kp, 0, sizeof(kp));
	kp.symbol_name = "t_add";
	kp.offset = 6;
	check_refused(t_add, -EILSEQ, "\"t_add\" + 6 (not a multiple of 4)");
	memset(&kp, 0, sizeof(kp));
	kp.symbol_name = "t_add";
	kp.offset = 11;
	check_refused(t_add, -EILSEQ,
		      "\"t_add\" + 11 (not a multiple of 4)");
#endif
	kp_test_done();
}

/* The boundary right after it is fine. */
static void test_instruction_boundary(void **state)
{
	uint8_t saved[KP_TEXT_LEN];

	text_read(t_long_first_ret, saved, KP_TEXT_LEN);
	kp.symbol_name = "t_long_first";
	kp.offset = LONG_FIRST_LEN;
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe(\"t_long_first\" + %d, the ret)",
		     LONG_FIRST_LEN);
	kp_check_eq(kp.addr, t_long_first_ret, "p->addr for +%d",
		    LONG_FIRST_LEN);
	kp_check_armed(t_long_first_ret, saved, "probe on t_long_first + %d",
		       LONG_FIRST_LEN);
	unregister_kprobe(&kp);
	kp_check_text(t_long_first_ret, saved, "after unregistering");
	kp_test_done();
}

static void test_unprobeable(void **state)
{
	static const struct {
		char *addr;
		const char *name;
	} bad[] = {
#if defined(__x86_64__)
		{ t_bad_ud2, "ud2" },
		{ t_bad_int3, "int3" },
		{ t_bad_int80, "int $0x80" },
		{ t_bad_hlt, "hlt" },
#elif defined(__powerpc64__)
		/* The breakpoint itself and the other trap forms. */
		{ t_bad_trap, "trap" },
		{ t_bad_tw, "tweq" },
		{ t_bad_twi, "tweqi" },
		{ t_bad_td, "tdne" },
		{ t_bad_tdi, "tdnei" },
		/* Both halves of every reservation pair. */
		{ t_bad_lwarx, "lwarx" },
		{ t_bad_stwcx, "stwcx." },
		{ t_bad_ldarx, "ldarx" },
		{ t_bad_stdcx, "stdcx." },
		{ t_bad_lbarx, "lbarx" },
		{ t_bad_stbcx, "stbcx." },
		{ t_bad_lharx, "lharx" },
		{ t_bad_sthcx, "sthcx." },
		{ t_bad_lqarx, "lqarx" },
		{ t_bad_stqcx, "stqcx." },
		/* Prefixed (Power10): the suffix would run alone. */
		{ t_long_first, "pli (prefixed)" },
		{ t_bad_prefixed, "paddi (prefixed)" },
		/* Branches that cannot be emulated. */
		{ t_bad_bctar, "bctar" },
		{ t_bad_bcctr, "bcctr with BO_2 clear (invalid form)" },
#endif
	};
	char what[64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&kp, 0, sizeof(kp));
		kp.addr = (kprobe_opcode_t *)bad[i].addr;
		snprintf(what, sizeof(what), "a probe on %s", bad[i].name);
		check_refused(bad[i].addr, -EOPNOTSUPP, what);
	}
	kp_test_done();
}

/* t_add is T_ADD_SIZE bytes long (7; 12 on ppc64): offset T_ADD_SIZE is
 * the first byte after it. */
static void test_offset_past_end(void **state)
{
	char what[64];

	snprintf(what, sizeof(what), "\"t_add\" + %d (t_add is %d bytes)",
		 T_ADD_SIZE, T_ADD_SIZE);
	kp.symbol_name = "t_add";
	kp.offset = T_ADD_SIZE;
	check_refused(t_add, -EINVAL, what);
	memset(&kp, 0, sizeof(kp));
	kp.symbol_name = "t_add";
	kp.offset = 4096;
	check_refused(t_add, -EINVAL, "\"t_add\" + 4096");
	kp_test_done();
}

/* After a refusal the struct is not registered and can be fixed. */
static void test_usable_after_failure(void **state)
{
	kp.symbol_name = "libkprobe_test_no_such_symbol";
	check_refused(NULL, -ENOENT, "unknown symbol");
	kp_check_ret(disable_kprobe(&kp), -EINVAL,
		     "disable_kprobe() of a refused probe (not registered)");
	kp.symbol_name = "target_err";
	kp_check_ret(register_kprobe(&kp), 0,
		     "register_kprobe() after fixing the symbol name");
	kp_check_eq(err_fp(1), 0x32, "target_err(1)");
	kp_check_eq(cnt_get(&hits), 1, "hits of the fixed probe");
	unregister_kprobe(&kp);
	kp_test_done();
}

/* Unregistering a struct that was never registered changes nothing, and
 * does not disturb a registered probe on the same address. */
static void test_unregister_unregistered(void **state)
{
	void *site = kp_probed_entry(target_err);
	uint8_t saved[KP_TEXT_LEN];

	text_read(site, saved, KP_TEXT_LEN);
	kp.addr = (kprobe_opcode_t *)target_err;
	kp2.addr = (kprobe_opcode_t *)target_err;
	unregister_kprobe(&kp2);
	kp_check_text(site, saved, "unregistering a probe never "
		      "registered");
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_err)");
	unregister_kprobe(&kp2);
	kp_check_armed(site, saved, "kp still registered after "
		       "unregistering an unrelated struct on its address");
	kp_check_eq(err_fp(0), 0x33, "target_err(0)");
	kp_check_eq(cnt_get(&hits), 1, "hits of kp");
	unregister_kprobe(&kp);
	kp_check_text(site, saved, "after unregistering kp");
	kp_test_done();
}

static void test_unregister_null(void **state)
{
	unregister_kprobe(NULL);
	kp_test_done();
}

/* Registration keeps KPROBE_FLAG_DISABLED and clears the library's own
 * flags a caller may have left set. */
static void test_flags_cleared(void **state)
{
	kp.addr = (kprobe_opcode_t *)target_err;
	kp.flags = KPROBE_FLAG_GONE | KPROBE_FLAG_OPTIMIZED;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe(target_err)");
	kp_check_eq(kp.flags, 0,
		    "p->flags after registering with GONE|OPTIMIZED set");
	kp_check_eq(err_fp(0), 0x33, "target_err(0)");
	kp_check_eq(cnt_get(&hits), 1, "hits of target_err");
	unregister_kprobe(&kp);
	kp_test_done();
}

#define ERROR_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ERROR_TEST(test_null_probe),
		ERROR_TEST(test_addr_and_symbol),
		ERROR_TEST(test_neither),
		ERROR_TEST(test_already_registered),
		ERROR_TEST(test_unknown_symbol),
		ERROR_TEST(test_unknown_symbol_in_object),
		ERROR_TEST(test_unknown_object),
		ERROR_TEST(test_data_address),
		ERROR_TEST(test_heap_address),
		ERROR_TEST(test_stack_address),
		ERROR_TEST(test_unmapped_address),
		ERROR_TEST(test_blacklisted_addr),
		ERROR_TEST(test_blacklisted_symbol),
		ERROR_TEST(test_mid_instruction_addr),
		ERROR_TEST(test_mid_instruction_symbol),
		ERROR_TEST(test_instruction_boundary),
		ERROR_TEST(test_unprobeable),
		ERROR_TEST(test_offset_past_end),
		ERROR_TEST(test_usable_after_failure),
		ERROR_TEST(test_unregister_unregistered),
		ERROR_TEST(test_unregister_null),
		ERROR_TEST(test_flags_cleared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
