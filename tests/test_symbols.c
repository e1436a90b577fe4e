// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of symbol lookup (src/core/symbols.c) against the test
 * process itself: its own .symtab, zlib, glibc's IFUNCs and versioned
 * symbols, and a library dlopen()ed after the cache was built.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <kprobes.h>

#include "error.h"
#include "symbols.h"

uintptr_t symtest_dup_other(void);
uintptr_t symtest_alias_other(void);

/* Data, not code: no function symbol may cover it. */
int symtest_data[16] = { 1 };

static __attribute__((noinline, used)) int symtest_target(int x)
{
	volatile int acc = x;
	int i;

	for (i = 0; i < 4; i++)
		acc = acc * 31 + i;
	return acc;
}

/* Same name as the one in symbols_dup.c: "symtest_dup" is ambiguous. */
static __attribute__((noinline, used)) int symtest_dup(int x)
{
	return x + 5;
}

/* A local IFUNC: only .symtab knows it, dlsym() cannot resolve it. */
static __attribute__((noinline, used)) int symtest_ifunc_impl(int x)
{
	volatile int y = x;

	return y * 3 + 1;
}

static __attribute__((noinline, used)) int (*symtest_ifunc_resolver(void))(int)
{
	return symtest_ifunc_impl;
}

static int symtest_ifunc(int x) __attribute__((ifunc("symtest_ifunc_resolver")));

/* The IFUNC twin of symbols_dup.c's symtest_alias(): same target. */
static __attribute__((noinline, used)) int (*symtest_alias_resolver(void))(int)
{
	return (int (*)(int))symtest_alias_other();
}

static int symtest_alias(int x) __attribute__((ifunc("symtest_alias_resolver")));

/*
 * Symbols with known extents and gaps, which compiled code cannot promise:
 * symtest_gap covers 4 bytes (with a local alias of the same extent), then
 * 12 bytes belong to nothing, symtest_gap0 has size 0, and 15 more bytes
 * belong to nothing. Then symtest_outer (global, 32 bytes) holds
 * symtest_inner (local, 4 bytes at +8): the innermost symbol wins. The
 * bytes are never executed.
 */
__asm__(".pushsection .text\n"
	".p2align 5\n"
	".globl symtest_gap\n"
	".hidden symtest_gap\n"
	".type symtest_gap, @function\n"
	".type symtest_gap_local, @function\n"
	"symtest_gap:\n"
	"symtest_gap_local:\n"
	".long 0\n"
	".size symtest_gap, 4\n"
	".size symtest_gap_local, 4\n"
	".skip 12\n"
	".type symtest_gap0, @function\n"
	"symtest_gap0:\n"
	".skip 16\n"
	".globl symtest_outer\n"
	".hidden symtest_outer\n"
	".type symtest_outer, @function\n"
	".type symtest_inner, @function\n"
	"symtest_outer:\n"
	".skip 8\n"
	"symtest_inner:\n"
	".skip 24\n"
	".size symtest_outer, 32\n"
	".size symtest_inner, 4\n"
	".popsection\n");
extern const char symtest_gap[];

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static const char *exe_base(void)
{
	static char buf[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	assert_true(len > 0);
	buf[len] = '\0';
	return base_of(buf);
}

static uintptr_t dlsym_in(const char *lib, const char *name)
{
	void *h = dlopen(lib, RTLD_NOLOAD | RTLD_LAZY);
	void *p;

	assert_non_null(h);
	p = dlsym(h, name);
	dlclose(h);
	assert_non_null(p);
	return (uintptr_t)p;
}

static void test_own_static(void **state)
{
	struct kp_symbol sym;
	char spec[PATH_MAX + 32];

	(void)state;
	assert_int_equal(symtest_target(1), 924547);
	assert_int_equal(kp_sym_lookup("symtest_target", &sym), 0);
	assert_int_equal(sym.addr, (uintptr_t)&symtest_target);
	assert_true(sym.size > 3);
	assert_string_equal(sym.name, "symtest_target");
	assert_string_equal(base_of(sym.object), exe_base());

	/* The executable is selected by its basename. */
	snprintf(spec, sizeof(spec), "%s:symtest_target", exe_base());
	memset(&sym, 0, sizeof(sym));
	assert_int_equal(kp_sym_lookup(spec, &sym), 0);
	assert_int_equal(sym.addr, (uintptr_t)&symtest_target);
}

static void test_zlib(void **state)
{
	uintptr_t want = (uintptr_t)dlsym(RTLD_DEFAULT, "crc32");
	struct kp_symbol sym, sym2;

	(void)state;
	assert_int_equal(crc32(0, NULL, 0), 0);
	assert_true(want != 0);

	assert_int_equal(kp_sym_lookup("crc32", &sym), 0);
	assert_int_equal(sym.addr, want);
	assert_true(sym.size > 0);
	assert_string_equal(base_of(sym.object), "libz.so.1");

	assert_int_equal(kp_sym_lookup("libz.so.1:crc32", &sym2), 0);
	assert_int_equal(sym2.addr, want);
	assert_int_equal(kp_sym_lookup("libz:crc32", &sym2), 0);
	assert_int_equal(sym2.addr, want);
	assert_int_equal(kp_sym_lookup("libz.so:crc32", &sym2), 0);
	assert_int_equal(sym2.addr, want);

	/* Not loaded, or loaded but without it. */
	assert_int_equal(kp_sym_lookup("libnotloaded.so:crc32", &sym2), -ENOENT);
	assert_int_equal(kp_sym_lookup("libz.so.1:symtest_target", &sym2),
			 -ENOENT);
	assert_int_equal(kp_sym_lookup("no_such_symbol_xyz", &sym2), -ENOENT);

	/* Back from an address inside it. */
	assert_int_equal(kp_sym_find_addr(want + 1, &sym2), 0);
	assert_int_equal(sym2.addr, want);
	assert_string_equal(sym2.name, "crc32");
}

/*
 * glibc's strlen is an IFUNC: the lookup must give the implementation the
 * process calls (what dlsym() gives), not the resolver in .dynsym. Under a
 * sanitizer the runtime interposes strlen, and the plain name is then
 * rightly ambiguous; libc's own stays selectable.
 */
static void test_ifunc_strlen(void **state)
{
	uintptr_t libc_impl = dlsym_in("libc.so.6", "strlen");
	uintptr_t global = (uintptr_t)dlsym(RTLD_DEFAULT, "strlen");
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(kp_sym_lookup("libc.so.6:strlen", &sym), 0);
	assert_int_equal(sym.addr, libc_impl);
	assert_string_equal(sym.name, "strlen");

	if (global == libc_impl) {
		assert_int_equal(kp_sym_lookup("strlen", &sym), 0);
		assert_int_equal(sym.addr, global);
	} else {
		assert_int_equal(kp_sym_lookup("strlen", &sym), -EADDRNOTAVAIL);
	}
}

/* A local IFUNC resolves through its resolver, to the sized impl. */
static void test_ifunc_local(void **state)
{
	struct kp_symbol sym, impl;

	(void)state;
	assert_int_equal(symtest_ifunc(2), 7);
	assert_int_equal(kp_sym_find_addr((uintptr_t)&symtest_ifunc_impl,
					  &impl), 0);
	assert_true(impl.size > 0);

	assert_int_equal(kp_sym_lookup("symtest_ifunc", &sym), 0);
	assert_int_equal(sym.addr, (uintptr_t)&symtest_ifunc_impl);
	assert_true(sym.addr != (uintptr_t)&symtest_ifunc_resolver);
	assert_int_equal(sym.size, impl.size);
	assert_string_equal(sym.name, "symtest_ifunc");
}

/*
 * libc.so.6 has memcpy@GLIBC_2.2.5 (hidden) and memcpy@@GLIBC_2.14 at
 * different addresses: only the default one counts.
 */
static void test_versioned(void **state)
{
	uintptr_t libc_impl = dlsym_in("libc.so.6", "memcpy");
	uintptr_t global = (uintptr_t)dlsym(RTLD_DEFAULT, "memcpy");
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(kp_sym_lookup("libc.so.6:memcpy", &sym), 0);
	assert_int_equal(sym.addr, libc_impl);
	if (global == libc_impl) {
		assert_int_equal(kp_sym_lookup("memcpy", &sym), 0);
		assert_int_equal(sym.addr, global);
	}
}

static void test_ambiguous(void **state)
{
	const char *msg;
	char want[64];
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(symtest_dup(1), 6);
	assert_true(symtest_dup_other() != (uintptr_t)&symtest_dup);

	kp_clear_error();
	assert_int_equal(kp_sym_lookup("symtest_dup", &sym), -EADDRNOTAVAIL);
	msg = kprobe_last_error();
	assert_non_null(strstr(msg, "ambiguous"));
	snprintf(want, sizeof(want), "symtest_dup@%#lx",
		 (unsigned long)(uintptr_t)&symtest_dup);
	assert_non_null(strstr(msg, want));
	snprintf(want, sizeof(want), "symtest_dup@%#lx",
		 (unsigned long)symtest_dup_other());
	assert_non_null(strstr(msg, want));

	/* Both are in one object: naming it does not help. */
	snprintf(want, sizeof(want), "%s:symtest_dup", exe_base());
	assert_int_equal(kp_sym_lookup(want, &sym), -EADDRNOTAVAIL);

	/* But each is found by address. */
	assert_int_equal(kp_sym_find_addr(symtest_dup_other() + 1, &sym), 0);
	assert_int_equal(sym.addr, symtest_dup_other());
	assert_string_equal(sym.name, "symtest_dup");
}

static void test_find_addr(void **state)
{
	uintptr_t fn = (uintptr_t)&symtest_target;
	struct kp_symbol sym;
	const char *path;
	uintptr_t bias;
	size_t size;
	void *heap;
	int ret;

	(void)state;
	assert_int_equal(kp_sym_find_addr(fn + 3, &sym), 0);
	assert_int_equal(sym.addr, fn);
	assert_string_equal(sym.name, "symtest_target");
	assert_true(sym.size > 3);
	assert_string_equal(base_of(sym.object), exe_base());

	/* One past its end is not in it any more. */
	size = sym.size;
	ret = kp_sym_find_addr(fn + size, &sym);
	assert_true(ret == -ENOENT || sym.addr != fn);
	assert_int_equal(kp_sym_find_addr((uintptr_t)&symtest_data[4], &sym),
			 -ENOENT);

	assert_int_equal(kp_sym_object_of(fn, &path, &bias), 0);
	assert_string_equal(base_of(path), exe_base());
	assert_true(bias <= fn);

	heap = malloc(1 << 20);
	assert_non_null(heap);
	assert_int_equal(kp_sym_object_of((uintptr_t)heap, &path, &bias),
			 -ENOENT);
	assert_int_equal(kp_sym_find_addr((uintptr_t)heap, &sym), -ENOENT);
	free(heap);
}

/* A library dlopen()ed after the cache was filled is seen without flush. */
/* Extents are honoured: no symbol covers a gap, a size-0 one its start. */
static void test_find_addr_extent(void **state)
{
	uintptr_t gap = (uintptr_t)symtest_gap;
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(kp_sym_find_addr(gap + 3, &sym), 0);
	assert_int_equal(sym.addr, gap);
	assert_int_equal(sym.size, 4);
	/* The global wins over its local alias. */
	assert_string_equal(sym.name, "symtest_gap");

	assert_int_equal(kp_sym_find_addr(gap + 4, &sym), -ENOENT);
	assert_int_equal(kp_sym_find_addr(gap + 15, &sym), -ENOENT);
	assert_int_equal(kp_sym_find_addr(gap + 16, &sym), 0);
	assert_string_equal(sym.name, "symtest_gap0");
	assert_int_equal(sym.size, 0);
	assert_int_equal(kp_sym_find_addr(gap + 17, &sym), -ENOENT);

	assert_int_equal(kp_sym_find_addr(gap + 32 + 9, &sym), 0);
	assert_string_equal(sym.name, "symtest_inner");
	assert_int_equal(kp_sym_find_addr(gap + 32 + 12, &sym), 0);
	assert_string_equal(sym.name, "symtest_outer");
	assert_int_equal(sym.addr, gap + 32);

	assert_int_equal(kp_sym_lookup("symtest_gap_local", &sym), 0);
	assert_int_equal(sym.addr, gap);
}

/* An IFUNC whose target is a same-named function is no second candidate. */
static void test_ifunc_same_target(void **state)
{
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(symtest_alias(2), 22);
	assert_int_equal(kp_sym_lookup("symtest_alias", &sym), 0);
	assert_int_equal(sym.addr, symtest_alias_other());
	assert_true(sym.size > 0);
}

static void test_dlopen_later(void **state)
{
	static const struct { const char *lib, *prefix, *fn; } cands[] = {
		{ "libm.so.6", "libm", "cbrt" },
		{ "libcapstone.so.4", "libcapstone", "cs_version" },
	};
	struct kp_symbol sym, before;
	char spec[64];
	size_t i;
	void *h;

	(void)state;
	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		h = dlopen(cands[i].lib, RTLD_NOLOAD | RTLD_LAZY);
		if (!h)
			break;
		dlclose(h);
	}
	if (i == sizeof(cands) / sizeof(cands[0]))
		skip();

	snprintf(spec, sizeof(spec), "%s:%s", cands[i].prefix, cands[i].fn);
	assert_int_equal(kp_sym_lookup("symtest_target", &before), 0);
	assert_int_equal(kp_sym_lookup(cands[i].fn, &sym), -ENOENT);
	assert_int_equal(kp_sym_lookup(spec, &sym), -ENOENT);

	h = dlopen(cands[i].lib, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	assert_int_equal(kp_sym_lookup(cands[i].fn, &sym), 0);
	assert_int_equal(sym.addr, (uintptr_t)dlsym(h, cands[i].fn));
	assert_string_equal(base_of(sym.object), cands[i].lib);
	assert_int_equal(kp_sym_lookup(spec, &sym), 0);
	assert_int_equal(sym.addr, (uintptr_t)dlsym(h, cands[i].fn));
	dlclose(h);

	/* Gone for good: not found any more, old results still readable. */
	h = dlopen(cands[i].lib, RTLD_NOLOAD | RTLD_LAZY);
	if (h) {
		dlclose(h);
	} else {
		assert_int_equal(kp_sym_lookup(cands[i].fn, &sym), -ENOENT);
		assert_string_equal(base_of(sym.object), cands[i].lib);
	}
	assert_string_equal(before.name, "symtest_target");
}

static void test_bad_spec(void **state)
{
	struct kp_symbol sym;

	(void)state;
	assert_int_equal(kp_sym_lookup("", &sym), -EINVAL);
	assert_int_equal(kp_sym_lookup(NULL, &sym), -EINVAL);
	assert_int_equal(kp_sym_lookup(":crc32", &sym), -EINVAL);
	assert_int_equal(kp_sym_lookup("libz.so.1:", &sym), -EINVAL);
	/* A prefix that names no object is part of the name. */
	assert_int_equal(kp_sym_lookup("nothing:crc32", &sym), -ENOENT);
}

/* Registration of 10,000 probes by name must not re-read ELF files. */
static void test_many_lookups(void **state)
{
	static const char *const names[] = {
		"symtest_target", "crc32", "libz:crc32", "libc.so.6:strlen",
	};
	struct timespec t0, t1;
	struct kp_symbol sym;
	double secs;
	int i;

	(void)state;
	kp_sym_flush();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 10000; i++)
		assert_int_equal(kp_sym_lookup(names[i % 4], &sym), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 1.0);
}

static int teardown(void **state)
{
	(void)state;
	kp_sym_flush();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_static),
		cmocka_unit_test(test_zlib),
		cmocka_unit_test(test_ifunc_strlen),
		cmocka_unit_test(test_ifunc_local),
		cmocka_unit_test(test_versioned),
		cmocka_unit_test(test_ambiguous),
		cmocka_unit_test(test_find_addr),
		cmocka_unit_test(test_find_addr_extent),
		cmocka_unit_test(test_ifunc_same_target),
		cmocka_unit_test(test_dlopen_later),
		cmocka_unit_test(test_bad_spec),
		cmocka_unit_test(test_many_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
