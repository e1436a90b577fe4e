// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a read-side section shows a writer (src/core/sync.c, internal.h;
 * docs/design.md "Read-side sections"), read from the library's own state:
 * - with a record, its word says the thread's depth after every change,
 *   and the count of ended outermost sections moves once per outermost
 *   section, not per nested one: a writer waiting on a thread that keeps
 *   entering sections stops waiting on that count (nothing else would
 *   tell it, when every sample finds the thread inside one);
 * - on the shards (LIBKPROBE_SECTIONS_SHARDED=1, the second run of this
 *   test), the outermost section holds exactly one count, and gives it
 *   back at its end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "internal.h"

#define DEPTH(s)	((uint32_t)(s))
#define GEN(s)		((uint32_t)((s) >> 32))

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

/* libkprobe initialised (sections chosen), as at a first registration:
 * on libc's atoi() (by object: a sanitizer runtime has its own),
 * this executable being libkprobe's own code. */
static int setup(void **state)
{
	struct kprobe kp = { .symbol_name = "libc.so.6:atoi",
			     .pre_handler = pre };
	int ret = register_kprobe(&kp);

	if (ret) {
		print_error("register_kprobe(libc.so.6:atoi): %d\n", ret);
		return -1;
	}
	unregister_kprobe(&kp);
	return 0;
}

static unsigned long shard_counts(void)
{
	unsigned long n = 0;

	for (int i = 0; i < KP_READ_SHARDS; i++)
		n += atomic_load(&kp_readers[i].n[0]) +
		     atomic_load(&kp_readers[i].n[1]);
	return n;
}

static void test_record_word(void **state)
{
	struct kp_reader *r;
	uint64_t outside, s;

	if (getenv("LIBKPROBE_SECTIONS_SHARDED"))
		skip();			/* the shards' run */
	kp_section_enter();
	r = kp_thr.reader;
	if (!r) {
		kp_section_exit();
		skip();			/* no membarrier(): shards only */
	}
	s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	assert_int_equal(DEPTH(s), 1);
	assert_int_equal(s, kp_thr.sect);
	kp_section_exit();
	outside = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	assert_int_equal(DEPTH(outside), 0);
	assert_int_equal(GEN(outside), GEN(s) + 1);

	/* Nested: the depth goes up and down; the count moves once. */
	kp_section_enter();
	kp_section_enter();
	s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	assert_int_equal(DEPTH(s), 2);
	assert_int_equal(GEN(s), GEN(outside));
	kp_section_exit();
	s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	assert_int_equal(DEPTH(s), 1);
	assert_int_equal(GEN(s), GEN(outside));
	kp_section_exit();
	s = __atomic_load_n(&r->state, __ATOMIC_RELAXED);
	assert_int_equal(DEPTH(s), 0);
	assert_int_equal(GEN(s), GEN(outside) + 1);
	assert_int_equal(s, kp_thr.sect);
	/* No shard counted meanwhile. */
	assert_int_equal(shard_counts(), 0);
}

static void test_shard_count(void **state)
{
	if (!getenv("LIBKPROBE_SECTIONS_SHARDED"))
		skip();			/* the records' run */
	assert_null(kp_thr.reader);
	assert_int_equal(shard_counts(), 0);
	kp_section_enter();
	assert_int_equal(shard_counts(), 1);
	kp_section_enter();		/* nested: inside the outer count */
	assert_int_equal(shard_counts(), 1);
	kp_section_exit();
	assert_int_equal(shard_counts(), 1);
	kp_section_exit();
	assert_int_equal(shard_counts(), 0);
	assert_int_equal(DEPTH(kp_thr.sect), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_word),
		cmocka_unit_test(test_shard_count),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
