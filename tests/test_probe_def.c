// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kprobe_events parser (src/trace/probe_def.c): definitions in, what
 * the tracer will register and fetch out; and for every way a definition
 * can be wrong, the column the caret goes under and the reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kprobes.h>

#include "probe_def.h"

#define REG(f) ((long)offsetof(struct pt_regs, f))

/*
 * Register names are the arch's (regs_query_register_offset()). The two
 * letter ones stand in where any register will do; they are as long on
 * both archs, so the error columns below hold for both.
 */
#if defined(__x86_64__)
#define R_A	"ax"
#define R_B	"bx"
#define R_ARG0	"di"		/* first argument */
#define F_ARG0	rdi
#define R_ARG1	"si"
#define R_SP	"sp"
#define F_SP	rsp
/* Four names of four kinds: a GPR, the ip, the flags, the last GPR. */
#define R_FOUR	"%rax %ip %flags %r15"
#define F_FOUR	{ REG(rax), REG(rip), REG(eflags), REG(r15) }
#elif defined(__powerpc64__)
#define R_A	"r3"
#define R_B	"r4"
#define R_ARG0	"r3"
#define F_ARG0	gpr[3]
#define R_ARG1	"r4"
#define R_SP	"r1"
#define F_SP	gpr[1]
#define R_FOUR	"%r3 %nip %ccr %r31"
#define F_FOUR	{ REG(gpr[3]), REG(nip), REG(ccr), REG(gpr[31]) }
#endif

static struct kp_probe_def def;
static struct kp_def_error err;

static void parse_ok(const char *text)
{
	int ret = kp_probe_def_parse(text, &def, &err);

	if (ret) {
		char buf[512];

		kp_probe_def_error(text, &err, buf, sizeof(buf));
		fail_msg("refused (%d):\n%s", ret, buf);
	}
}

static void test_entry(void **state)
{
	(void)state;
	parse_ok("p:myprobe libz:deflate+4 %" R_ARG0
		 " len=$arg3:u32 +8($arg1):s16");
	assert_int_equal(def.kind, KP_DEF_ENTRY);
	assert_string_equal(def.group, "kprobes");
	assert_string_equal(def.event, "myprobe");
	assert_string_equal(def.object, "libz");
	assert_string_equal(def.symbol, "deflate");
	assert_int_equal(def.offset, 4);
	assert_int_equal(def.nargs, 3);

	assert_string_equal(def.args[0].name, "arg1");
	assert_int_equal(def.args[0].type, KP_TYPE_X64);
	assert_int_equal(def.args[0].fetch->kind, KP_FETCH_REG);
	assert_int_equal(def.args[0].fetch->offset, REG(F_ARG0));

	assert_string_equal(def.args[1].name, "len");
	assert_int_equal(def.args[1].type, KP_TYPE_U32);
	assert_int_equal(def.args[1].fetch->kind, KP_FETCH_ARG);
	assert_int_equal(def.args[1].fetch->n, 3);

	assert_string_equal(def.args[2].name, "arg3");
	assert_int_equal(def.args[2].type, KP_TYPE_S16);
	assert_int_equal(def.args[2].fetch->kind, KP_FETCH_DEREF);
	assert_int_equal(def.args[2].fetch->offset, 8);
	assert_int_equal(def.args[2].fetch->inner->kind, KP_FETCH_ARG);
	assert_int_equal(def.args[2].fetch->inner->n, 1);
	kp_probe_def_free(&def);
}

static void test_defaults(void **state)
{
	(void)state;
	parse_ok("p do_work");
	assert_string_equal(def.group, "kprobes");
	assert_string_equal(def.event, "p_do_work_0");
	assert_null(def.object);
	assert_int_equal(def.nargs, 0);
	kp_probe_def_free(&def);

	/* Not a name character: '_', as the kernel does it. */
	parse_ok("p foo.part.0+0x10");
	assert_string_equal(def.symbol, "foo.part.0");
	assert_int_equal(def.offset, 16);
	assert_string_equal(def.event, "p_foo_part_0_16");
	kp_probe_def_free(&def);

	parse_ok("p 0x401000");
	assert_null(def.symbol);
	assert_int_equal(def.addr, 0x401000);
	assert_string_equal(def.event, "p_0x401000");
	kp_probe_def_free(&def);

	parse_ok("p:grp/ f");		/* a group, the event by default */
	assert_string_equal(def.group, "grp");
	assert_string_equal(def.event, "p_f_0");
	kp_probe_def_free(&def);
}

static void test_return(void **state)
{
	(void)state;
	parse_ok("r16:lat/ret_deflate /usr/lib/x86_64-linux-gnu/libz.so.1:"
		 "deflate rv=$retval:s32 $comm");
	assert_int_equal(def.kind, KP_DEF_RETURN);
	assert_int_equal(def.maxactive, 16);
	assert_string_equal(def.group, "lat");
	assert_string_equal(def.event, "ret_deflate");
	assert_string_equal(def.object, "/usr/lib/x86_64-linux-gnu/libz.so.1");
	assert_string_equal(def.symbol, "deflate");
	assert_int_equal(def.nargs, 2);
	assert_int_equal(def.args[0].fetch->kind, KP_FETCH_RETVAL);
	assert_int_equal(def.args[0].type, KP_TYPE_S32);
	assert_int_equal(def.args[1].fetch->kind, KP_FETCH_COMM);
	assert_int_equal(def.args[1].type, KP_TYPE_STRING);
	kp_probe_def_free(&def);

	parse_ok("r f+0");
	assert_string_equal(def.event, "r_f_0");
	assert_int_equal(def.maxactive, 0);
	kp_probe_def_free(&def);
}

static void test_delete(void **state)
{
	(void)state;
	parse_ok("-:grp/ev");
	assert_int_equal(def.kind, KP_DEF_DELETE);
	assert_string_equal(def.group, "grp");
	assert_string_equal(def.event, "ev");
	kp_probe_def_free(&def);
}

static void test_fetchargs(void **state)
{
	struct kp_fetch *f;

	(void)state;
	static const long four[] = F_FOUR;

	parse_ok("p f " R_FOUR " @0x1000:u8 @counter-8:x32 "
		 "@libfoo:table+16 $stack $stack3 a=-16(+8(%" R_SP ")):string "
		 "s=$arg1:symbol u=+u0(%" R_ARG1 ")");
	assert_int_equal(def.nargs, 12);
	for (int i = 0; i < 4; i++)
		assert_int_equal(def.args[i].fetch->offset, four[i]);
	assert_int_equal(def.args[4].fetch->kind, KP_FETCH_ADDR);
	assert_int_equal(def.args[4].fetch->n, 0x1000);
	assert_int_equal(def.args[4].type, KP_TYPE_U8);
	assert_int_equal(def.args[5].fetch->kind, KP_FETCH_SYM);
	assert_string_equal(def.args[5].fetch->sym, "counter");
	assert_int_equal(def.args[5].fetch->offset, -8);
	assert_int_equal(def.args[5].type, KP_TYPE_X32);
	/* An object-qualified data symbol, no type. */
	assert_string_equal(def.args[6].fetch->sym, "libfoo:table");
	assert_int_equal(def.args[6].fetch->offset, 16);
	assert_int_equal(def.args[6].type, KP_TYPE_X64);
	assert_int_equal(def.args[7].fetch->kind, KP_FETCH_STACK);
	assert_int_equal(def.args[8].fetch->kind, KP_FETCH_STACK_N);
	assert_int_equal(def.args[8].fetch->n, 3);
	/* Nested: the string at -16 + [8 + sp]. */
	f = def.args[9].fetch;
	assert_string_equal(def.args[9].name, "a");
	assert_int_equal(def.args[9].type, KP_TYPE_STRING);
	assert_int_equal(f->kind, KP_FETCH_DEREF);
	assert_int_equal(f->offset, -16);
	assert_int_equal(f->inner->kind, KP_FETCH_DEREF);
	assert_int_equal(f->inner->offset, 8);
	assert_int_equal(f->inner->inner->kind, KP_FETCH_REG);
	assert_int_equal(f->inner->inner->offset, REG(F_SP));
	assert_int_equal(def.args[10].type, KP_TYPE_SYMBOL);
	assert_int_equal(def.args[11].fetch->kind, KP_FETCH_DEREF);
	kp_probe_def_free(&def);
}

/* Each wrong definition: where the caret goes, and a word of the reason. */
static const struct {
	const char *text;
	size_t column;
	const char *reason;
} bad[] = {
	{ "", 0, "empty" },
	{ "   ", 3, "empty" },
	{ "x:ev f", 0, "starts with" },
	{ "p:ev", 4, "missing" },
	{ "p: f", 2, "event name was expected" },
	{ "p:9ev f", 2, "must start with" },
	{ "p:e-v f", 3, "letters, digits" },
	{ "p:g/e/v f", 5, "letters, digits" },
	{ "pp f", 1, "':' or a blank" },
	{ "r0 f", 1, "MAXACTIVE" },
	{ "r5000 f", 1, "MAXACTIVE" },
	{ "r f+4", 3, "offset must be 0" },
	{ "p f+x", 4, "number was expected" },
	{ "p f+4z", 5, "not a number" },
	{ "p :f", 2, "object name" },
	{ "p lib:+4", 6, "symbol name is empty" },
	{ "p 0x12g", 6, "not a number" },
	{ "-:", 2, "event name was expected" },
	{ "-f", 1, "followed by ':'" },
	{ "-:ev extra", 5, "nothing may follow" },
	{ "p f %zz", 5, "unknown register \"zz\"" },
	{ "p f %", 5, "unknown register" },
	{ "p f $retval", 4, "return probes only" },
	{ "p f $arg0", 8, "1 to 64" },
	{ "p f $arg", 4, "unknown variable" },
	{ "p f $argx", 8, "number was expected" },
	{ "p f $foo", 4, "unknown variable" },
	{ "p f $stack2x", 11, "not a number" },
	{ "p f x=%" R_A " x=%" R_B, 10, "used twice" },
	{ "p f 1x=%" R_A, 4, "must start with" },
	{ "p f =%" R_A, 4, "is empty" },
	{ "p f %" R_A ":u128", 8, "unknown type" },
	{ "p f $comm:u32", 10, "is a string" },
	{ "p f +8(%" R_A, 10, "')' was expected" },
	{ "p f +8%" R_A ")", 6, "'(' was expected" },
	{ "p f +8($comm)", 7, "not an address" },
	{ "p f +(%" R_A ")", 5, "number was expected" },
	{ "p f 1(1(1(1(1(1(1(1(1(%" R_A ")))))))))", 20, "nest deeper" },
	{ "p f @", 5, "expected after '@'" },
	{ "p f @sym+", 9, "number was expected" },
	{ "p f @0x10q", 9, "not a number" },
	{ "p f ^", 4, "starts with" },
	{ "p f 8()", 6, "fetch argument was expected" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int ret = kp_probe_def_parse(bad[i].text, &def, &err);
		char buf[512];

		kp_probe_def_error(bad[i].text, &err, buf, sizeof(buf));
		if (ret != -EINVAL || err.column != bad[i].column ||
		    !strstr(err.msg, bad[i].reason))
			fail_msg("\"%s\": got %d at column %zu, \"%s\"; expected "
				 "-EINVAL at %zu, \"...%s...\"\n%s", bad[i].text,
				 ret, err.column, err.msg, bad[i].column,
				 bad[i].reason, buf);
		/* A refused definition leaves nothing behind. */
		assert_null(def.symbol);
		assert_int_equal(def.nargs, 0);
	}
}

static void test_too_many_args(void **state)
{
	char text[KP_DEF_MAX_ARGS * 5 + 64];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "p f");
	for (int i = 0; i <= KP_DEF_MAX_ARGS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " %%" R_A);
	assert_int_equal(kp_probe_def_parse(text, &def, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "more than 128"));
	assert_int_equal(err.column, 3 + 4 * KP_DEF_MAX_ARGS + 1);
}

/* The three lines of the kernel's error_log. */
static void test_error_text(void **state)
{
	const char *text = "p:myprobe deflate $arg1 %zz";
	char buf[256];

	(void)state;
	assert_int_equal(kp_probe_def_parse(text, &def, &err), -EINVAL);
	kp_probe_def_error(text, &err, buf, sizeof(buf));
	assert_string_equal(buf, "p:myprobe deflate $arg1 %zz\n"
				 "                         ^\n"
				 "unknown register \"zz\"\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_return),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_fetchargs),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_many_args),
		cmocka_unit_test(test_error_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
