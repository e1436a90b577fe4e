// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Slots where no page is free near the probed code: every gap in the
 * address space within the arch's slot reach of a function is taken
 * (PROT_NONE reservations), then the function is probed.
 *
 *  - A slot that ends in a second trap may lie anywhere when its code does
 *    not refer to the probed code by a displacement: the probe registers,
 *    its pre_handler and post_handler run. A probe without a post_handler,
 *    which cannot be boosted there (the jump back needs reach), takes the
 *    two traps instead.
 *  - x86_64's RIP-relative operands are re-targeted by a rel32 from the
 *    slot: such a probe has no slot to have, and register_kprobe() fails
 *    with -ENOMEM, says so, and changes nothing.
 *
 * Its own process: the reservations and the first slot page must be this
 * test's. The probed code is t_add, from the arch's targets file.
 */
#include "testutil.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__x86_64__) && !defined(__powerpc64__)
KP_SKIP_MAIN("the slot reach is x86_64's and ppc64's")
#else

#if defined(__x86_64__)
#define REACH	(2ul << 30)		/* rel32 */
#else
#define REACH	(32ul << 20)		/* b's LI field */
#endif
#define MARGIN	(1ul << 20)

#if defined(__x86_64__)
/* From targets_x86_64.S: a RIP-relative load of t_data. */
long t_riprel_load(void);
extern const char t_riprel_load_site[];
extern const long t_data;
#endif

/* From the arch's targets file: long t_add(long a, long b), whose second
 * instruction is at t_add_second; neither is RIP-relative. */
long t_add(long a, long b);
extern const char t_add_second[];
static long (*volatile add_fp)(long, long) = t_add;

static unsigned long pre_calls, post_calls;

static int sr_pre(struct kprobe *p, struct pt_regs *regs)
{
	cnt_inc(&pre_calls);
	return 0;
}

static void sr_post(struct kprobe *p, struct pt_regs *regs,
		    unsigned long flags)
{
	cnt_inc(&post_calls);
}

#define MAX_RES 512
static struct { uintptr_t addr; size_t len; } res[MAX_RES];
static int nres;

/* Reserve every free page within @radius of @c. /proc/self/maps is read
 * whole before the first mmap, with no allocation in between. */
static void reserve_around(uintptr_t c, size_t radius)
{
	static char maps[1 << 20];
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (c > radius + 0x10000 ? c - radius : 0x10000) & ~(pg - 1);
	uintptr_t hi = (c + radius + pg - 1) & ~(pg - 1), prev = 0;
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY);
	char *line;

	assert_true(fd >= 0);
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = '\0';
	for (line = maps; ; line = strchr(line, '\n') + 1) {
		unsigned long start, end;
		bool last = !*line;
		uintptr_t a, b;

		if (last)
			start = end = hi;
		else if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			break;
		a = prev > lo ? prev : lo;
		b = start < hi ? start : hi;
		if (b > a) {
			void *m = mmap((void *)a, b - a, PROT_NONE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_NORESERVE | MAP_FIXED_NOREPLACE,
				       -1, 0);

			if (m == MAP_FAILED || (uintptr_t)m != a)
				fail_msg("cannot reserve %#lx-%#lx",
					 (unsigned long)a, (unsigned long)b);
			assert_true(nres < MAX_RES);
			res[nres].addr = a;
			res[nres++].len = b - a;
		}
		if (end > prev)
			prev = end;
		if (last || !strchr(line, '\n'))
			break;
	}
}

static void release_all(void)
{
	while (nres > 0) {
		nres--;
		munmap((void *)res[nres].addr, res[nres].len);
	}
}

static void test_no_page_in_reach(void **state)
{
	struct kprobe kp = { .addr = (kprobe_opcode_t *)(void *)t_add,
			     .pre_handler = sr_pre,
			     .post_handler = sr_post };
	uint8_t before[KP_TEXT_LEN], after[KP_TEXT_LEN];
	uintptr_t code = (uintptr_t)t_add;
	int ret;

	text_read((void *)code, before, KP_TEXT_LEN);
	reserve_around(code, REACH + MARGIN);
	ret = register_kprobe(&kp);
	{
	/* The second instruction, with no post_handler: boosted where it
	 * can be (on x86_64 even jump-optimized). */
	struct kprobe kb = { .addr = (kprobe_opcode_t *)(void *)t_add_second,
			     .pre_handler = sr_pre };

	kp_check_ret(ret, 0, "register_kprobe() with a post_handler, no page "
		     "free within the slot reach of t_add: its slot may be "
		     "anywhere");
	kp_check_ret(register_kprobe(&kb), 0, "register_kprobe() without a "
		     "post_handler there: not boosted, two traps");
	pre_calls = post_calls = 0;
	kp_check_eq(add_fp(3, 4), 7, "t_add(3, 4) probed");
	kp_check_eq(cnt_get(&pre_calls), 2, "pre_handler calls (two probes)");
	kp_check_eq(cnt_get(&post_calls), 1, "post_handler calls");
#if defined(__x86_64__)
	{
		struct kprobe kr = { .addr = (kprobe_opcode_t *)
					     (void *)t_riprel_load_site,
				     .pre_handler = sr_pre };
		uint8_t rb[KP_TEXT_LEN], ra[KP_TEXT_LEN];

		text_read((void *)t_riprel_load_site, rb, KP_TEXT_LEN);
		kp_check_ret(register_kprobe(&kr), -ENOMEM, "register_kprobe() "
			     "on a RIP-relative load with no page free within "
			     "rel32 reach");
		kp_check(strstr(kprobe_last_error(), "within reach") != NULL,
			 "the message says why: \"%s\"", kprobe_last_error());
		text_read((void *)t_riprel_load_site, ra, KP_TEXT_LEN);
		kp_check(!memcmp(rb, ra, KP_TEXT_LEN), "the load's text "
			 "unchanged after the refusal");
		kp_check_eq(t_riprel_load(), (long)t_data, "t_riprel_load() "
			    "after the refusal");
	}
#endif
	unregister_kprobe(&kb);
	unregister_kprobe(&kp);
	text_read((void *)code, after, KP_TEXT_LEN);
	kp_check(!memcmp(before, after, KP_TEXT_LEN), "t_add's text "
		 "restored");
	release_all();
	/* With room again, the same probe is boosted and still right. */
	kp_check_ret(register_kprobe(&kb), 0, "register_kprobe() with room");
	pre_calls = 0;
	kp_check_eq(add_fp(4, 5), 9, "t_add(4, 5) probed, boosted");
	kp_check_eq(cnt_get(&pre_calls), 1, "pre_handler calls, boosted");
	unregister_kprobe(&kb);
	}
	kp_test_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_page_in_reach),
	};

#ifdef KP_SANITIZED
	/* The sanitizer runtime maps memory of its own as it goes. */
	printf("SKIP: the address space around the code is the sanitizer's "
	       "too\n");
	return KP_EXIT_SKIP;
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
