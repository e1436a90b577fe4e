// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A jump-optimized probe's detour outlives its probe: it is parked (a
 * thread may still be running in it, with no trap left to say when it
 * leaves) and taken again only by a later probe at the same address whose
 * detour would be the very same code. Built against the library's
 * internals, to look at the parked slot itself: a later probe whose
 * detour differs (a plain kprobe where a kretprobe's dispatching detour
 * was) must leave the parked one exactly as it was, since a thread still
 * in it reads where to go on from its fields; one whose detour is the same
 * takes it back and runs. x86_64 only (tests/meson.build): jump
 * optimization is its only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* dl_target(x) = 9x + 4, in the test library given as argument: this
 * program holds the library's own code, which may not be probed. */
static long (*volatile target_fp)(long);
#define WANT(x)	((x) * 9 + 4)

static unsigned long pres, rets;

static int count_pre(struct kprobe *p, struct pt_regs *regs)
{
	pres++;
	return 0;
}

static int count_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	rets++;
	return 0;
}

/* The detour of the probe point at dl_target, read under kprobe_mutex. */
static struct kp_slot *detour_now(void)
{
	struct probe_point *pp;
	struct kp_slot *d;

	kp_lock();
	pp = kp_table_lookup((uintptr_t)target_fp);
	d = pp ? pp->opt_slot : NULL;
	kp_unlock();
	return d;
}

static void test_parked_detour_kept(void **state)
{
	struct kretprobe rp = { .kp.addr = (kprobe_opcode_t *)target_fp,
				.handler = count_ret };
	struct kprobe kp = { .addr = (kprobe_opcode_t *)target_fp,
			     .pre_handler = count_pre };
	struct kp_slot *parked, *d;
	struct kp_copies copies;
	uint8_t dispatch_off;

	(void)state;
	if (register_kretprobe(&rp))
		fail_msg("register_kretprobe(dl_target): %s",
			 kprobe_last_error());
	if (!kprobe_optimized(&rp.kp)) {
		unregister_kretprobe(&rp);
		skip();		/* LIBKPROBE_OPTIMIZE=0 */
	}
	assert_int_equal(target_fp(1), WANT(1));
	assert_int_equal(rets, 1);
	parked = detour_now();
	assert_non_null(parked);
	assert_int_not_equal(parked->dispatch_off, 0);
	copies = parked->copies;
	dispatch_off = parked->dispatch_off;
	unregister_kretprobe(&rp);
	assert_int_equal(parked->state, KP_SLOT_PARKED);

	/* A plain kprobe: a detour that does not dispatch. Not this one. */
	assert_int_equal(register_kprobe(&kp), 0);
	assert_true(kprobe_optimized(&kp));
	d = detour_now();
	assert_non_null(d);
	assert_ptr_not_equal(d, parked);
	assert_int_equal(parked->state, KP_SLOT_PARKED);
	assert_int_equal(parked->dispatch_off, dispatch_off);
	assert_memory_equal(&parked->copies, &copies, sizeof(copies));
	assert_int_equal(target_fp(2), WANT(2));
	assert_int_equal(pres, 1);
	unregister_kprobe(&kp);

	/* A kretprobe again: the same code, the parked detour taken back. */
	rets = 0;
	assert_int_equal(register_kretprobe(&rp), 0);
	assert_true(kprobe_optimized(&rp.kp));
	assert_ptr_equal(detour_now(), parked);
	assert_int_equal(parked->state, KP_SLOT_USED);
	assert_int_equal(target_fp(3), WANT(3));
	assert_int_equal(rets, 1);
	unregister_kretprobe(&rp);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parked_detour_kept),
	};
	void *lib = argc > 1 ? dlopen(argv[1], RTLD_NOW) : NULL;

	if (!lib || !(target_fp = (long (*)(long))dlsym(lib, "dl_target"))) {
		fprintf(stderr, "usage: %s LIBDLTARGET (%s)\n", argv[0],
			dlerror());
		return 2;
	}

	return cmocka_run_group_tests(tests, NULL, NULL);
}
