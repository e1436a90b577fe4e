/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Small helpers shared by the live tests.
 *
 * Failures should say what the contract expected, not just that two numbers
 * differ: when a live test fails the bug may be on either side (library or
 * test), and the message is what the reader has to go on. Hence the
 * kp_check_*() macros below, which take a printf-style description.
 */
#ifndef LIBKPROBE_TESTUTIL_H
#define LIBKPROBE_TESTUTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kprobes.h>

/* meson reads this exit status as SKIP. */
#define KP_EXIT_SKIP	77

/* How many bytes of text the tests save and compare around a probe. */
#define KP_TEXT_LEN	16

#if defined(__x86_64__)
#define KP_BREAKPOINT	0xcc	/* int3 */
/* The instruction pointer in a signal handler's context. */
#define KP_UC_IP(uc)	((uc)->uc_mcontext.gregs[REG_RIP])
#elif defined(__powerpc64__)
#define KP_UC_IP(uc)	((uc)->uc_mcontext.gp_regs[32])	/* PT_NIP */
#endif

/*
 * t_add (targets_x86_64.S, targets_ppc64.S): long t_add(long a, long b),
 * a + b in three instructions. The first copies a into a scratch register,
 * T_ADD_DST(regs) in a handler; the second, t_add_second, starts
 * T_ADD_SECOND_OFF bytes in; the function is T_ADD_SIZE bytes long.
 */
#if defined(__x86_64__)
#define T_ADD_SECOND_OFF	3	/* movq %rdi, %rax */
#define T_ADD_SIZE		7	/* + addq %rsi, %rax (3) + ret (1) */
#define T_ADD_DST(regs)		((regs)->rax)
#elif defined(__powerpc64__)
#define T_ADD_SECOND_OFF	4	/* mr r5, r3 */
#define T_ADD_SIZE		12	/* + add r3, r5, r4 + blr */
#define T_ADD_DST(regs)		((regs)->gpr[5])
#endif

/*
 * A test file that cannot run on this host defines its main() with this, so
 * the reason shows in the log and meson counts it as skipped.
 */
#define KP_SKIP_MAIN(why)						\
	int main(void)							\
	{								\
		printf("SKIP: %s\n", why);				\
		return KP_EXIT_SKIP;					\
	}

/* The errno name of a negative return ("ENOENT"), for messages. */
static inline const char *kp_errname(long ret)
{
	const char *s;

	if (ret >= 0)
		return "success";
	s = strerrorname_np((int)-ret);
	return s ? s : "unknown errno";
}

/* Handlers run in signal context: counters are plain atomics. */
static inline void cnt_inc(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline unsigned long cnt_get(const unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static inline void cnt_set(unsigned long *c, unsigned long v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/* nmissed is updated atomically by the library; the header says to read it
 * with a relaxed load. */
static inline unsigned long kp_nmissed(const struct kprobe *p)
{
	return __atomic_load_n(&p->nmissed, __ATOMIC_RELAXED);
}

/*
 * Read code bytes. Text is readable, and a volatile read makes sure we see
 * the byte as it is now, not a value the compiler kept from before a probe
 * was armed.
 */
/* Reads code, or data next to it: not an object access for ASan. */
__attribute__((no_sanitize_address))
static inline void text_read(const void *addr, uint8_t *buf, size_t n)
{
	const volatile uint8_t *p = addr;
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = p[i];
}

static inline uint8_t text_byte(const void *addr)
{
	return *(const volatile uint8_t *)addr;
}

/*
 * Where a probe on the function @fn (by its name, or by its own address)
 * lands: @fn's first instruction; on ppc64 ELFv2 its local entry point
 * when it has one, after the global entry's TOC setup (addis r2,r12,hi or
 * lis r2,hi, then addi r2,r2,lo; or the large model's ld r2,-8(r12), then
 * add r2,r2,r12), which is where calls from within its object enter. This
 * reads the code, not the symbol table (st_other) the library reads, so
 * the two are checked against each other. On ELFv1 @fn is a descriptor
 * whose first word is the code address.
 */
static inline void *kp_probed_entry(const void *fn)
{
#if defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
	const volatile uint32_t *w = fn;
	uint32_t w0 = w[0], w1 = w[1];

	if (((w0 & 0xffff0000u) == 0x3c4c0000u ||	/* addis r2,r12,hi */
	     (w0 & 0xffff0000u) == 0x3c400000u) &&	/* lis r2,hi */
	    (w1 & 0xffff0000u) == 0x38420000u)		/* addi r2,r2,lo */
		return (void *)(w + 2);
	if (w0 == 0xe84cfff8u && w1 == 0x7c426214u)	/* ld; add */
		return (void *)(w + 2);
	return (void *)fn;
#elif defined(__powerpc64__)
	return *(void *const *)fn;
#else
	return (void *)fn;
#endif
}

static inline void kp_print_bytes(const char *label, const uint8_t *b,
				  size_t n)
{
	char line[3 * KP_TEXT_LEN * 2 + 1];
	size_t i, o = 0;

	for (i = 0; i < n && o + 4 < sizeof(line); i++)
		o += snprintf(line + o, sizeof(line) - o, " %02x", b[i]);
	line[o] = '\0';
	print_error("  %s:%s\n", label, line);
}

/* The first argument after the values is a string literal: a description of
 * what was expected, with printf arguments. */
#define kp_check_eq(actual, expected, ...) do {				\
	unsigned long a_ = (unsigned long)(actual);			\
	unsigned long e_ = (unsigned long)(expected);			\
	if (a_ != e_) {							\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": got %lu (%#lx), expected %lu (%#lx)\n",	\
			    a_, a_, e_, e_);				\
		fail();							\
	}								\
} while (0)

/* A libkprobe return value (0 or -errno) against the one the contract
 * gives. */
#define kp_check_ret(actual, expected, ...) do {			\
	long a_ = (long)(actual);					\
	long e_ = (long)(expected);					\
	if (a_ != e_) {							\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": returned %ld (%s), expected %ld (%s); "	\
			    "kprobe_last_error(): \"%s\"\n",		\
			    a_, kp_errname(a_), e_, kp_errname(e_),	\
			    kprobe_last_error());			\
		fail();							\
	}								\
} while (0)

#define kp_check(cond, ...) do {					\
	if (!(cond)) {							\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(" (failed: %s)\n", #cond);			\
		fail();							\
	}								\
} while (0)

/* Code at @addr equals @saved (KP_TEXT_LEN bytes): the probe left no trace. */
#define kp_check_text(addr, saved, ...) do {				\
	uint8_t now_[KP_TEXT_LEN];					\
	text_read((addr), now_, KP_TEXT_LEN);				\
	if (memcmp(now_, (saved), KP_TEXT_LEN) != 0) {			\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": text at %p differs from the original\n",\
			    (const void *)(addr));			\
		kp_print_bytes("original", (saved), KP_TEXT_LEN);	\
		kp_print_bytes("now     ", now_, KP_TEXT_LEN);		\
		fail();							\
	}								\
} while (0)

/*
 * Cleanup after a failed check. A failed check longjmps out of the test with
 * its probes still registered; were they on the test's stack, the library
 * would run the next hit through a dead struct and one failure would take
 * the whole executable down. So the tests keep struct kprobe in static
 * storage, end with kp_test_done(), and their teardown calls
 * kp_cleanup() with every struct they may have registered: it unregisters
 * them when the test stopped half way (unregistering a probe that is not
 * registered is harmless, as in the kernel).
 */
static int kp_test_passed __attribute__((unused));

static inline void kp_test_done(void)
{
	kp_test_passed = 1;
}

static inline void kp_test_begin(void)
{
	kp_test_passed = 0;
}

static inline void kp_cleanup(struct kprobe **probes, int n)
{
	if (!kp_test_passed)
		unregister_kprobes(probes, n);
	kp_test_passed = 0;
}

#if defined(__x86_64__)
/*
 * While a probe is armed its first byte is int3 and the rest is untouched;
 * or, jump-optimized, its first 5 bytes are a jmp rel32 and the rest is
 * untouched.
 */
#define kp_check_armed(addr, saved, ...) do {				\
	uint8_t now_[KP_TEXT_LEN];					\
	int skip_;							\
	text_read((addr), now_, KP_TEXT_LEN);				\
	skip_ = now_[0] == 0xe9 ? 5 : 1;				\
	if ((now_[0] != KP_BREAKPOINT && now_[0] != 0xe9) ||		\
	    memcmp(now_ + skip_, (saved) + skip_,			\
		   KP_TEXT_LEN - skip_) != 0) {				\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": expected int3 (0xcc) or a jmp rel32 "	\
			    "(0xe9) at %p and the following bytes "	\
			    "unchanged\n", (const void *)(addr));	\
		kp_print_bytes("original", (saved), KP_TEXT_LEN);	\
		kp_print_bytes("now     ", now_, KP_TEXT_LEN);		\
		fail();							\
	}								\
} while (0)
#elif defined(__powerpc64__)
/* While a probe is armed its first word is `trap` (tw 31,0,0) and the
 * rest is untouched (no jump optimization on ppc64). */
#define kp_check_armed(addr, saved, ...) do {				\
	uint8_t now_[KP_TEXT_LEN];					\
	uint32_t w_;							\
	text_read((addr), now_, KP_TEXT_LEN);				\
	memcpy(&w_, now_, 4);						\
	if (w_ != 0x7fe00008u ||					\
	    memcmp(now_ + 4, (saved) + 4, KP_TEXT_LEN - 4) != 0) {	\
		print_error("ERROR: " __VA_ARGS__);			\
		print_error(": expected trap (0x7fe00008) at %p and "	\
			    "the following bytes unchanged\n",		\
			    (const void *)(addr));			\
		kp_print_bytes("original", (saved), KP_TEXT_LEN);	\
		kp_print_bytes("now     ", now_, KP_TEXT_LEN);		\
		fail();							\
	}								\
} while (0)
#endif

#endif /* LIBKPROBE_TESTUTIL_H */
