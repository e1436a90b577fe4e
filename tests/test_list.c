// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Introspection: kprobe_list() (one line per registered probe, like the
 * kernel's debugfs kprobes/list), kprobe_blacklist_print(), and
 * kprobe_lookup_name().
 */
#include "testutil.h"

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the live tests' targets are x86_64 and ppc64 code")
#else

#include <dlfcn.h>

/* targets_x86_64.S, targets_ppc64.S: t_add_second is t_add +
 * T_ADD_SECOND_OFF. */
long t_add(long a, long b);
extern char t_add_second[];

static __attribute__((noinline, used)) int target_list_a(int x)
{
	__asm__ volatile("");
	return x + 5;
}

#if defined(__powerpc64__)
/*
 * target_list_c reads a global: it needs its TOC pointer, so on ELFv2 the
 * probe on it goes to its local entry point and the listing must show
 * that offset ("target_list_c+0x8").
 */
static volatile int list_five = 5;
#define LIST_FIVE	list_five
#else
#define LIST_FIVE	5
#endif

static __attribute__((noinline, used)) int target_list_c(int x)
{
	__asm__ volatile("");
	return x - LIST_FIVE;
}

/*
 * Where a probe on @fn lands (kp_probed_entry()), and how the listing
 * names it: "fn+0x0", or "fn+0x8" at a ppc64 ELFv2 local entry point.
 */
static void *probed(const void *fn, const char *name, char *sym, size_t size)
{
	void *site = kp_probed_entry(fn);

	snprintf(sym, size, "%s+0x%lx", name,
		 (unsigned long)((const char *)site - (const char *)fn));
	return site;
}

static struct kprobe kpa, kpb, kpc, kpa2;

static int setup(void **state)
{
	memset(&kpa, 0, sizeof(kpa));
	memset(&kpb, 0, sizeof(kpb));
	memset(&kpc, 0, sizeof(kpc));
	memset(&kpa2, 0, sizeof(kpa2));
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	struct kprobe *all[] = { &kpa, &kpb, &kpc, &kpa2 };

	kp_cleanup(all, 4);
	return 0;
}

/* The listing, captured in memory. */
struct listing {
	char *text;
	size_t len;
	int ret;
};

static void capture(struct listing *l, int (*fn)(FILE *))
{
	FILE *f = open_memstream(&l->text, &l->len);

	assert_non_null(f);
	l->ret = fn(f);
	assert_int_equal(fclose(f), 0);
}

/* Is @tok one of the whitespace separated tokens of @line? */
static int has_token(const char *line, const char *tok)
{
	size_t n = strlen(tok);
	const char *s = line;

	while ((s = strstr(s, tok)) != NULL) {
		if ((s == line || s[-1] == ' ' || s[-1] == '\t') &&
		    (s[n] == '\0' || s[n] == ' ' || s[n] == '\t'))
			return 1;
		s += n;
	}
	return 0;
}

/*
 * Count the lines of @l that show @addr (as 16 hex digits, the kernel's
 * format, or without leading zeros), and copy the last one to @line.
 */
static int lines_for(const struct listing *l, const void *addr, char *line,
		     size_t size)
{
	char hex16[32], hex[32];
	const char *s = l->text;
	int n = 0;

	snprintf(hex16, sizeof(hex16), "%016lx", (unsigned long)addr);
	snprintf(hex, sizeof(hex), "%lx", (unsigned long)addr);
	while (s && *s) {
		const char *end = strchr(s, '\n');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char buf[1024];

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (strcasestr(buf, hex16) || strcasestr(buf, hex)) {
			n++;
			snprintf(line, size, "%s", buf);
		}
		s = end ? end + 1 : NULL;
	}
	return n;
}

#define check_line(l, addr, sym, disabled) do {				\
	char line_[1024] = "";						\
	int n_ = lines_for((l), (addr), line_, sizeof(line_));		\
	if (n_ != 1)							\
		fail_msg("kprobe_list(): %d lines show %p (%s), "	\
			 "expected 1; the listing:\n%s", n_,		\
			 (void *)(addr), (sym), (l)->text);		\
	if (!has_token(line_, "k"))					\
		fail_msg("kprobe_list(): no \"k\" field in \"%s\"",	\
			 line_);					\
	if (!strstr(line_, (sym)))					\
		fail_msg("kprobe_list(): \"%s\" does not show %s",	\
			 line_, (sym));					\
	if (!!strstr(line_, "[DISABLED]") != !!(disabled))		\
		fail_msg("kprobe_list(): \"%s\" %s [DISABLED]", line_,	\
			 (disabled) ? "lacks" : "must not show");	\
} while (0)

static void test_list(void **state)
{
	struct listing l = { 0 };
	char sym_a[64], sym_b[64], sym_c[64];
	void *site_a = probed(target_list_a, "target_list_a", sym_a,
			      sizeof(sym_a));
	void *site_c = probed(target_list_c, "target_list_c", sym_c,
			      sizeof(sym_c));

	snprintf(sym_b, sizeof(sym_b), "t_add+0x%x", T_ADD_SECOND_OFF);

	capture(&l, kprobe_list);
	kp_check_eq(l.ret, 0, "kprobe_list() with no probe registered");
	free(l.text);

	kpa.symbol_name = "target_list_a";
	kpb.addr = (kprobe_opcode_t *)t_add_second;
	kpc.addr = (kprobe_opcode_t *)target_list_c;
	kpc.flags = KPROBE_FLAG_DISABLED;
	kp_check_ret(register_kprobe(&kpa), 0, "register target_list_a");
	kp_check_ret(register_kprobe(&kpb), 0, "register %s", sym_b);
	kp_check_ret(register_kprobe(&kpc), 0,
		     "register target_list_c, disabled");

	capture(&l, kprobe_list);
	print_message("%s", l.text);
	kp_check_eq(l.ret, 3, "kprobe_list() return with three probes");
	check_line(&l, site_a, sym_a, 0);
	check_line(&l, t_add_second, sym_b, 0);
	check_line(&l, site_c, sym_c, 1);
	free(l.text);

	/* Disabling shows up; enabling takes it away. */
	kp_check_ret(disable_kprobe(&kpa), 0, "disable target_list_a");
	kp_check_ret(enable_kprobe(&kpc), 0, "enable target_list_c");
	capture(&l, kprobe_list);
	check_line(&l, site_a, sym_a, 1);
	check_line(&l, site_c, sym_c, 0);
	free(l.text);

	unregister_kprobe(&kpa);
	unregister_kprobe(&kpb);
	unregister_kprobe(&kpc);
	capture(&l, kprobe_list);
	kp_check_eq(l.ret, 0, "kprobe_list() after unregistering all");
	kp_check(l.len == 0, "kprobe_list() printed \"%s\" with no probe "
		 "registered", l.text);
	free(l.text);
	kp_test_done();
}

/* Two probes on one address: a line each. */
static void test_list_aggregate(void **state)
{
	struct listing l = { 0 };
	char line[1024], sym[64];
	void *site = probed(target_list_a, "target_list_a", sym, sizeof(sym));

	kpa.addr = (kprobe_opcode_t *)target_list_a;
	kpa2.addr = (kprobe_opcode_t *)target_list_a;
	kp_check_ret(register_kprobe(&kpa), 0, "register target_list_a");
	kp_check_ret(register_kprobe(&kpa2), 0, "register it again (kpa2)");
	capture(&l, kprobe_list);
	kp_check_eq(l.ret, 2, "kprobe_list() with two probes on one address");
	kp_check_eq(lines_for(&l, site, line, sizeof(line)), 2,
		    "lines for the aggregated address (one per struct "
		    "kprobe)");
	free(l.text);
	unregister_kprobe(&kpa2);
	unregister_kprobe(&kpa);
	kp_test_done();
}

static void test_list_null(void **state)
{
	kp_check_ret(kprobe_list(NULL), -EINVAL, "kprobe_list(NULL)");
	kp_check_ret(kprobe_blacklist_print(NULL), -EINVAL,
		     "kprobe_blacklist_print(NULL)");
	kp_test_done();
}

static void test_blacklist_print(void **state)
{
	struct listing l = { 0 };

	capture(&l, kprobe_blacklist_print);
	print_message("%s", l.text);
	kp_check(l.ret > 0, "kprobe_blacklist_print() returned %d, expected "
		 "at least one range", l.ret);
	kp_check(strstr(l.text, "libkprobe") != NULL,
		 "kprobe_blacklist_print() must show a range for libkprobe "
		 "itself; it printed \"%s\"", l.text);
	free(l.text);
	kp_test_done();
}

/*
 * With offset 0 kprobe_lookup_name() gives where a probe on the name goes:
 * the function's address, or on ppc64 ELFv2 its local entry point (as the
 * kernel's on ppc64); with an offset, the symbol's address plus it.
 */
static void test_lookup_name(void **state)
{
	void *crc = dlsym(RTLD_DEFAULT, "crc32");
	const char *msg;

	assert_non_null(crc);
	crc = kp_probed_entry(crc);
	kp_check_eq(kprobe_lookup_name("crc32", 0), crc,
		    "kprobe_lookup_name(\"crc32\", 0) == dlsym(RTLD_DEFAULT, "
		    "\"crc32\") (+ its local entry offset)");
	kp_check_eq(kprobe_lookup_name("libz.so.1:crc32", 0), crc,
		    "kprobe_lookup_name(\"libz.so.1:crc32\", 0)");
	kp_check_eq(kprobe_lookup_name("libz:crc32", 0), crc,
		    "kprobe_lookup_name(\"libz:crc32\", 0)");
	kp_check_eq(kprobe_lookup_name("target_list_a", 0),
		    kp_probed_entry(target_list_a),
		    "kprobe_lookup_name() of a static function");
	kp_check_eq(kprobe_lookup_name("target_list_c", 0),
		    kp_probed_entry(target_list_c),
		    "kprobe_lookup_name() of a static function that uses the "
		    "TOC on ppc64");
	kp_check_eq(kprobe_lookup_name("t_add", T_ADD_SECOND_OFF),
		    t_add_second, "kprobe_lookup_name(\"t_add\", %d)",
		    T_ADD_SECOND_OFF);

	kp_check_eq(kprobe_lookup_name("libkprobe_test_no_such_symbol", 0),
		    NULL, "kprobe_lookup_name() of an unknown name");
	msg = kprobe_last_error();
	kp_check(msg && msg[0], "kprobe_last_error() after a failed lookup");
	kp_check_eq(kprobe_lookup_name("libz.so.1:no_such_symbol", 0), NULL,
		    "kprobe_lookup_name() of an unknown name in libz");
	kp_check_eq(kprobe_lookup_name("no-such-object.so:crc32", 0), NULL,
		    "kprobe_lookup_name() in an object not loaded");
	kp_test_done();
}

#define LIST_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LIST_TEST(test_list),
		LIST_TEST(test_list_aggregate),
		LIST_TEST(test_list_null),
		LIST_TEST(test_blacklist_print),
		LIST_TEST(test_lookup_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* __x86_64__ || __powerpc64__ */
