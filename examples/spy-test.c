// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A CMocka unit test that spies on the code under test with kprobes
 * (<kprobe_spy.h>): a static function's calls and arguments are asserted,
 * malloc() fails on its 3rd call to drive an error path, and every spy is
 * removed at teardown. Run: build/examples/spy-test
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kprobe_spy.h>

/* ---- the code under test ---- */

/* A static helper: linker --wrap cannot reach it, a kprobe can. */
static __attribute__((noinline)) int scale(int value, int factor)
{
	__asm__ volatile("");
	return value * factor;
}

static __attribute__((noinline)) int sum_scaled(const int *v, int n,
						int factor)
{
	int sum = 0;

	for (int i = 0; i < n; i++)
		sum += scale(v[i], factor);
	return sum;
}

/* Allocates four buffers; on failure frees what it got and says so. */
static __attribute__((noinline)) int make_buffers(void **out, int n)
{
	/* Through a volatile pointer: the compiler may not assume malloc's
	 * result, and the call goes to libc's malloc, which is probed. */
	void *(*volatile alloc)(size_t) = malloc;

	for (int i = 0; i < n; i++) {
		out[i] = alloc(64);
		if (!out[i]) {
			while (i--)
				free(out[i]);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the tests ---- */

static struct kprobe_spy scale_spy, malloc_spy;

static int teardown(void **state)
{
	/* Detaching a spy that is not attached is harmless. */
	kprobe_spy_detach(&scale_spy);
	kprobe_spy_detach(&malloc_spy);
	return 0;
}

static void test_static_function_calls(void **state)
{
	const int v[] = { 1, 2, 3 };

	kprobe_spy_init(&scale_spy, "scale");
	assert_int_equal(kprobe_spy_attach(&scale_spy), 0);
	assert_int_equal(sum_scaled(v, 3, 10), 60);
	assert_int_equal(kprobe_spy_calls(&scale_spy), 3);
	/* Each call's arguments: (value, factor). */
	for (int i = 0; i < 3; i++) {
		assert_int_equal((int)scale_spy.args[i][0], v[i]);
		assert_int_equal((int)scale_spy.args[i][1], 10);
	}
}

static void test_static_function_return_value(void **state)
{
	const int v[] = { 1, 2, 3 };

	/* The 2nd call returns 1000 without running scale(). */
	kprobe_spy_init(&scale_spy, "scale");
	scale_spy.fail_from = 2;
	scale_spy.fail_count = 1;
	scale_spy.fail_value = 1000;
	assert_int_equal(kprobe_spy_attach(&scale_spy), 0);
	assert_int_equal(sum_scaled(v, 3, 10), 10 + 1000 + 30);
	assert_int_equal(scale_spy.failed, 1);
}

static void test_malloc_fails_on_third_call(void **state)
{
	void *bufs[4];

	/* The malloc this program calls (libc's, or a sanitizer's). */
	kprobe_spy_init_addr(&malloc_spy, (void *)malloc);
	malloc_spy.fail_from = 3;
	malloc_spy.fail_count = 1;
	malloc_spy.fail_value = 0;	/* NULL */
	assert_int_equal(kprobe_spy_attach(&malloc_spy), 0);
	assert_int_equal(make_buffers(bufs, 4), -ENOMEM);
	kprobe_spy_detach(&malloc_spy);
	assert_int_equal(kprobe_spy_calls(&malloc_spy), 3);
	assert_int_equal(malloc_spy.args[2][0], 64);

	/* Without the spy, the same call succeeds. */
	assert_int_equal(make_buffers(bufs, 4), 0);
	for (int i = 0; i < 4; i++)
		free(bufs[i]);
}

static void test_spies_removed_at_teardown(void **state)
{
	const int v[] = { 4 };

	/* The previous tests' teardown detached every spy: scale() runs
	 * for real and nothing counts it. */
	scale_spy.calls = 0;
	assert_int_equal(sum_scaled(v, 1, 2), 8);
	assert_int_equal(kprobe_spy_calls(&scale_spy), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_static_function_calls, teardown),
		cmocka_unit_test_teardown(test_static_function_return_value,
					  teardown),
		cmocka_unit_test_teardown(test_malloc_fails_on_third_call,
					  teardown),
		cmocka_unit_test(test_spies_removed_at_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
