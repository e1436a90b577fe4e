// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The light path's two promises (docs/design.md, "The light path"):
 * - kp_opt_handler_light() says yes only for handlers whose whole call
 *   graph leaves the vector, x87 and MXCSR state alone: it is asked about
 *   real functions of this process, compiled as users write them;
 * - the library's own code on that path (compiled with ARCH_GPR_ONLY) is
 *   such code too, and calls nothing else.
 * Both are read from this executable's machine code, as the library reads
 * a handler's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "symbols.h"

#define NOIPA __attribute__((noinline, noipa))

static volatile unsigned long counter;
static volatile double dsink;
static volatile long double ldsink;

/* ---- handlers that may take the light path ---- */

NOIPA static int h_count(struct kprobe *p, struct pt_regs *regs)
{
	counter++;
	return 0;
}

NOIPA static unsigned long helper_int(unsigned long x)
{
	return x * 3 + counter;
}

NOIPA static int h_calls_int(struct kprobe *p, struct pt_regs *regs)
{
	counter = helper_int(regs_get_argument(regs, 0));
	return 0;
}

/* ---- handlers that may not ---- */

NOIPA static int h_double(struct kprobe *p, struct pt_regs *regs)
{
	dsink = dsink / 3.0;
	return 0;
}

NOIPA static double helper_fp(double x)
{
	return x / 7.0;
}

NOIPA static int h_calls_fp(struct kprobe *p, struct pt_regs *regs)
{
	counter = (unsigned long)helper_fp((double)counter);
	return 0;
}

NOIPA static void helper_deep_fp(void)
{
	dsink = dsink * 1.5;
}

NOIPA static void helper_middle(void)
{
	counter++;
	helper_deep_fp();
}

NOIPA static int h_calls_deep_fp(struct kprobe *p, struct pt_regs *regs)
{
	helper_middle();
	return 0;
}

static void (*volatile indirect)(void) = helper_middle;

NOIPA static int h_indirect(struct kprobe *p, struct pt_regs *regs)
{
	indirect();
	return 0;
}

NOIPA static int h_libc(struct kprobe *p, struct pt_regs *regs)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%lu", counter);
	counter = strlen(buf);
	return 0;
}

NOIPA static int h_ymm(struct kprobe *p, struct pt_regs *regs)
{
	__asm__ volatile("vpxor %%ymm9, %%ymm9, %%ymm9" ::: "xmm9");
	return 0;
}

NOIPA static int h_long_double(struct kprobe *p, struct pt_regs *regs)
{
	ldsink = ldsink * 3;
	return 0;
}

NOIPA static int h_mxcsr(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int m = 0x1f80;

	__asm__ volatile("ldmxcsr %0" : : "m"(m));
	return 0;
}

static bool light(void *fn)
{
	bool r;

	kp_lock();
	r = kp_opt_handler_light((uintptr_t)fn);
	kp_unlock();
	return r;
}

static void test_handlers(void **state)
{
	(void)state;
	assert_true(light(h_count));
	assert_true(light(h_calls_int));
	assert_false(light(h_double));
	assert_false(light(h_calls_fp));
	assert_false(light(h_calls_deep_fp));
	assert_false(light(h_indirect));
	assert_false(light(h_libc));
	assert_false(light(h_ymm));
	assert_false(light(h_long_double));
	assert_false(light(h_mxcsr));
	/* Not a function start: no symbol begins there. */
	assert_false(light((char *)h_count + 1));
}

/*
 * The library's own light path: each function is GPR-only and calls only
 * functions of this list, except that run_pre_handlers() calls the
 * handlers (through a pointer; kp_opt_handler_light() vouched for them).
 * errno is reached through the thread pointer, not __errno_location().
 */
static const char *const light_path[] = {
	"kp_optprobe_handler", "kp_optprobe_sp_moved", "run_pre_handlers",
	"all_light", "section_enter", "section_exit", "handler_enter",
	"handler_exit", "kprobe_disabled", "inc_missed", "kp_errno_ptr",
	"kp_read_lock", "kp_read_unlock", "reader_shard",
	/* Out-of-line copies of <kprobes.h>'s inline accessors. */
	"instruction_pointer", "user_stack_pointer",
};

static bool on_path(uintptr_t addr)
{
	struct kp_symbol sym;

	if (kp_sym_find_addr(addr, &sym) || sym.addr != addr) {
		print_message("%#lx: no symbol starts there\n",
			      (unsigned long)addr);
		return false;
	}
	/* GCC's clones keep the name before a suffix (.isra.0, .part.0). */
	for (size_t i = 0; i < sizeof(light_path) / sizeof(*light_path); i++)
		if (!strncmp(sym.name, light_path[i], strlen(light_path[i])) &&
		    (sym.name[strlen(light_path[i])] == '\0' ||
		     sym.name[strlen(light_path[i])] == '.'))
			return true;
	print_message("%s is not on the light path\n", sym.name);
	return false;
}

/* Check the function at @addr and, through its calls, everything it can
 * reach; @seen keeps the ones done. */
static void check_path(uintptr_t addr, uintptr_t *seen, size_t *nseen)
{
	uintptr_t callees[32];
	struct kp_symbol sym;
	size_t n = 0;
	uint8_t *code;
	bool ok;

	for (size_t i = 0; i < *nseen; i++)
		if (seen[i] == addr)
			return;
	assert_true(*nseen < 64);
	seen[(*nseen)++] = addr;
	if (!on_path(addr))
		fail_msg("%#lx is reached from the light path",
			 (unsigned long)addr);
	assert_int_equal(kp_sym_find_addr(addr, &sym), 0);
	assert_true(sym.size > 0);
	code = malloc(sym.size);
	assert_non_null(code);
	memcpy(code, (const void *)sym.addr, sym.size);
	ok = arch_code_gpr_only(code, sym.size, sym.addr, callees, 32, &n);
	free(code);
	if (!ok)
		fail_msg("%s touches more than the general registers",
			 sym.name);
	for (size_t k = 0; k < n; k++) {
		if (callees[k])
			check_path(callees[k], seen, nseen);
		else if (strncmp(sym.name, "run_pre_handlers", 16))
			fail_msg("%s calls through a pointer", sym.name);
	}
}

static void test_library_path(void **state)
{
	static const char *const entries[] = {
		"kp_optprobe_handler", "kp_optprobe_sp_moved",
	};
	uintptr_t seen[64];
	size_t nseen = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(entries) / sizeof(*entries); i++) {
		struct kp_symbol sym;

		assert_int_equal(kp_sym_lookup(entries[i], &sym), 0);
		check_path(sym.addr, seen, &nseen);
	}
	/* The handler loop is out of line, so the walk went somewhere. */
	assert_true(nseen > 2);
}

int main(void)
{
#ifdef KP_SANITIZED
	/* Instrumented code calls the sanitizer's runtime everywhere, and
	 * the library does not take the light path in such a build. */
	printf("SKIP: a sanitizer build has no light path\n");
	return 77;
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handlers),
		cmocka_unit_test(test_library_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
