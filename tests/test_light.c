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
 * The library's own light path, from its entry points: every function it
 * can reach is GPR-only and is the library's own (a symbol of known size
 * in this executable, so never a PLT stub into libc). Only the functions
 * that call the handlers call through a pointer: kp_opt_handler_light()
 * vouched for those handlers.
 */
static const char *const calls_handlers[] = {
	"kp_optprobe_handler", "run_pre_handlers", "pre_handler_kretprobe",
	"kp_kretprobe_trampoline_handler",
};

static bool may_call_pointers(const char *name)
{
	for (size_t i = 0; i < sizeof(calls_handlers) / sizeof(*calls_handlers);
	     i++)
		if (!strncmp(name, calls_handlers[i], strlen(calls_handlers[i])))
			return true;
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

	/* A jump may land inside a function (GCC's .cold parts): the whole
	 * function is what is decoded, as kp_opt_handler_light() does. */
	if (kp_sym_find_addr(addr, &sym) || !sym.size)
		fail_msg("the light path calls %#lx, which is no function of "
			 "the library's", (unsigned long)addr);
	for (size_t i = 0; i < *nseen; i++)
		if (seen[i] == sym.addr)
			return;
	assert_true(*nseen < 128);
	seen[(*nseen)++] = sym.addr;
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
		else if (!may_call_pointers(sym.name))
			fail_msg("%s calls through a pointer", sym.name);
	}
}

static void test_library_path(void **state)
{
	static const char *const entries[] = {
		"kp_optprobe_handler", "kp_optprobe_sp_moved",
		"pre_handler_kretprobe", "kp_kretprobe_trampoline_handler",
	};
	uintptr_t seen[128];
	size_t nseen = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(entries) / sizeof(*entries); i++) {
		struct kp_symbol sym;

		assert_int_equal(kp_sym_lookup(entries[i], &sym), 0);
		check_path(sym.addr, seen, &nseen);
	}
	/* The walk went somewhere: the kretprobe side calls helpers. */
	assert_true(nseen > 4);
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
