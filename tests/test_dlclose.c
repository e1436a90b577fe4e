// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A probe on code that is unloaded under it (dlclose) must not be the
 * reason anything else breaks: unregistering it later must not write the
 * saved byte into whatever lives at that address by then.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <kprobes.h>

static const char *lib_path;
static unsigned long hits;

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	hits++;
	return 0;
}

static void test_unregister_after_dlclose(void **state)
{
	struct kprobe kp = { .pre_handler = pre };
	long (*fn)(long);
	void *h, *page, *fixed;
	uintptr_t addr;
	long pg = sysconf(_SC_PAGESIZE);

	h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fail_msg("dlopen(%s): %s", lib_path, dlerror());
	fn = (long (*)(long))dlsym(h, "dl_target");
	assert_non_null(fn);
	kp.addr = (kprobe_opcode_t *)fn;
	assert_int_equal(register_kprobe(&kp), 0);
	assert_int_equal(fn(1), 13);
	assert_int_equal(hits, 1);
	addr = (uintptr_t)fn;

	/* Unload it, and put other memory where its code was. */
	assert_int_equal(dlclose(h), 0);
	page = (void *)(addr & ~(uintptr_t)(pg - 1));
	fixed = mmap(page, (size_t)pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (fixed == MAP_FAILED) {
		/* Still mapped: the library was not unloaded after all. */
		unregister_kprobe(&kp);
		skip();
	}
	memset(fixed, 0xcc, (size_t)pg);	/* even an int3 lookalike */
	((volatile uint8_t *)addr)[0] = 0xcc;

	unregister_kprobe(&kp);
	for (long i = 0; i < pg; i++)
		if (((uint8_t *)fixed)[i] != 0xcc)
			fail_msg("unregister_kprobe() wrote into memory mapped "
				 "after dlclose, at offset %ld", i);
	munmap(fixed, (size_t)pg);
}

/*
 * The kernel's KPROBE_FLAG_GONE: after dlclose() the probe says its code
 * is gone (flag and listing), and the library loaded again can be probed
 * afresh, at what is most likely the same address.
 */
static void test_gone_and_again(void **state)
{
	struct kprobe kp = { .pre_handler = pre }, kp2 = { .pre_handler = pre };
	char listing[4096];
	long (*fn)(long);
	uintptr_t first;
	FILE *f;
	void *h;

	(void)state;
	h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	fn = (long (*)(long))dlsym(h, "dl_target");
	kp.addr = (kprobe_opcode_t *)fn;
	first = (uintptr_t)fn;
	assert_int_equal(register_kprobe(&kp), 0);
	hits = 0;
	assert_int_equal(fn(1), 13);
	assert_int_equal(hits, 1);
	assert_int_equal(kp.flags & KPROBE_FLAG_GONE, 0);
	assert_int_equal(dlclose(h), 0);
	if (dlopen(lib_path, RTLD_NOW | RTLD_NOLOAD)) {
		/* Someone else holds it: not unloaded, nothing to check. */
		unregister_kprobe(&kp);
		skip();
	}
	if (!(kp.flags & KPROBE_FLAG_GONE))
		fail_msg("a probe on code dlclose() unloaded is not "
			 "KPROBE_FLAG_GONE");
	f = fmemopen(listing, sizeof(listing), "w");
	kprobe_list(f);
	fclose(f);
	if (!strstr(listing, "[GONE]"))
		fail_msg("the listing does not say [GONE]:\n%s", listing);

	/* Loaded again: a new probe there works, the gone one stays out. */
	h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(h);
	fn = (long (*)(long))dlsym(h, "dl_target");
	kp2.addr = (kprobe_opcode_t *)fn;
	assert_int_equal(register_kprobe(&kp2), 0);
	hits = 0;
	assert_int_equal(fn(1), 13);
	assert_int_equal(hits, 1);
	if ((uintptr_t)fn == first)
		print_message("loaded again at the same address\n");
	/* Unregistering the gone probe writes nothing at its address: the
	 * new probe there still works. */
	unregister_kprobe(&kp);
	hits = 0;
	assert_int_equal(fn(2), 22);
	assert_int_equal(hits, 1);
	unregister_kprobe(&kp2);
	hits = 0;
	assert_int_equal(fn(2), 22);
	assert_int_equal(hits, 0);
	dlclose(h);
}

/*
 * libkprobe's own dlclose() calls must not go through its interposer,
 * which takes kprobe_mutex: resolving an IFUNC by name (libc's strlen)
 * opens and closes a handle while registration holds that mutex. It hung
 * once; the alarm turns a hang into a failure.
 */
static void test_ifunc_after_init(void **state)
{
	struct kprobe a = { .symbol_name = "libc.so.6:atoi",
			    .pre_handler = pre };
	struct kprobe b = { .symbol_name = "libc.so.6:strlen",
			    .pre_handler = pre };

	(void)state;
	alarm(20);
	assert_int_equal(register_kprobe(&a), 0);
	assert_int_equal(register_kprobe(&b), 0);
	unregister_kprobe(&b);
	unregister_kprobe(&a);
	alarm(0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unregister_after_dlclose),
		cmocka_unit_test(test_gone_and_again),
		cmocka_unit_test(test_ifunc_after_init),
	};

	if (argc < 2) {
		puts("SKIP: needs the path of the test library");
		return 77;
	}
	lib_path = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
