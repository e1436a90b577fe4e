// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * copy_from_user_nofault() and strncpy_from_user_nofault(): memory that is
 * there is read, memory that is not gives -EFAULT and no signal, and a
 * string that ends just before an unmapped page is read whole.
 *
 * The first two run in a child that registers its probe inside the test,
 * after CMocka's handlers are in place; the last two in this process,
 * across CMocka's setting and resetting of its fault handlers between
 * tests, which libkprobe now sees (glibc_versions.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kprobes.h>

#include "testutil.h"

static __attribute__((noinline, used)) int nf_target(int x)
{
	return x + 1;
}

static int (*volatile nf_fp)(int) = nf_target;
static struct kprobe kp;
static char *page;		/* one readable page, an unmapped one after */
static long psize;

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	return 0;
}

static void setup_child(void)
{
	psize = sysconf(_SC_PAGESIZE);
	page = mmap(NULL, 2 * psize, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kp_check(page != MAP_FAILED, "mmap");
	kp_check_eq(munmap(page + psize, psize), 0, "munmap");
	kp.addr = (kprobe_opcode_t *)nf_target;
	kp.pre_handler = pre;
	kp_check_ret(register_kprobe(&kp), 0, "register_kprobe");
}

/* Run @body in a child that registers first; its failures are its exit. */
static void in_child(void (*body)(void))
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		setup_child();
		body();
		unregister_kprobe(&kp);
		_exit(0);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("the child failed (status %#x)", status);
}

static void copy_body(void)
{
	char out[64];
	static const char text[] = "hello, nofault";

	kp_check_eq(nf_fp(1), 2, "nf_target(1) probed");
	memset(out, 0, sizeof(out));
	kp_check_eq(copy_from_user_nofault(out, text + 1, 5), 0,
		    "copy of 5 unaligned bytes");
	kp_check(!memcmp(out, "ello,", 5), "the bytes copied");
	/* The last 3 bytes of the mapped page: fine; 4 cross: -EFAULT. */
	memcpy(page + psize - 3, "xyz", 3);
	kp_check_eq(copy_from_user_nofault(out, page + psize - 3, 3), 0,
		    "copy up to the end of a page");
	kp_check(!memcmp(out, "xyz", 3), "the bytes at the page's end");
	kp_check_eq(copy_from_user_nofault(out, page + psize - 3, 4), -EFAULT,
		    "copy across into an unmapped page");
	kp_check_eq(copy_from_user_nofault(out, NULL, 8), -EFAULT,
		    "copy from NULL");
	kp_check_eq(copy_from_user_nofault(out, page + psize, 1), -EFAULT,
		    "copy from an unmapped page");
	kp_check_eq(copy_from_user_nofault(out, text, 0), 0, "copy nothing");
}

static void string_body(void)
{
	char out[64];

	/* "abc\0" ending at the last byte of the page. */
	memcpy(page + psize - 4, "abc", 4);
	kp_check_eq(strncpy_from_user_nofault(out, page + psize - 4,
					      sizeof(out)), 3,
		    "a string that ends at the page's last byte");
	kp_check(!strcmp(out, "abc"), "the string read");
	/* Not terminated before the unmapped page. */
	memcpy(page + psize - 4, "abcd", 4);
	kp_check_eq(strncpy_from_user_nofault(out, page + psize - 4,
					      sizeof(out)), -EFAULT,
		    "a string that runs into an unmapped page");
	/* @count reached first: count, not terminated. */
	kp_check_eq(strncpy_from_user_nofault(out, "long string", 4), 4,
		    "a string longer than count");
	kp_check(!memcmp(out, "long", 4), "its first count bytes");
	kp_check_eq(strncpy_from_user_nofault(out, NULL, 8), -EFAULT,
		    "a string at NULL");
	kp_check_eq(strncpy_from_user_nofault(out, "x", 0), -EINVAL,
		    "count 0");
}

static void test_copy(void **state)
{
	(void)state;
	in_child(copy_body);
}

static void test_string(void **state)
{
	(void)state;
	in_child(string_body);
}

/*
 * In this process, between CMocka's own signal() calls around each test:
 * since libkprobe.so also answers to glibc's versions of signal() and
 * sigaction() (glibc_versions.c), CMocka's calls reach libkprobe and no
 * longer replace its fault handler. Before, test_in_process_use faulted.
 * Last: these register in this process, which the children above must
 * not inherit.
 */
static void test_in_process_register(void **state)
{
	(void)state;
	setup_child();
}

/* A test later: CMocka has set and reset its handlers in between. */
static void test_in_process_use(void **state)
{
	(void)state;
	copy_body();
	string_body();
	unregister_kprobe(&kp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_in_process_register),
		cmocka_unit_test(test_in_process_use),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
