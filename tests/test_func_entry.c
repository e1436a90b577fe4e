// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Functions as the ABI enters them, on every arch and without CMocka: the
 * whole suite of the core-only build (big-endian ppc64, ELFv1, where a
 * function pointer is a descriptor), and a test of the full suite too.
 *
 *  - A probe given a function pointer (kp.addr = fn) lands on the
 *    function's code: on ELFv1 where the descriptor's first word says; on
 *    ELFv2 at the local entry point (local calls skip the global one);
 *    elsewhere at the pointer itself. By name, the same address.
 *  - The pre_handler sees the arguments (regs_get_argument()).
 *  - A kretprobe registered by pointer changes the return value the caller
 *    gets, through the return stub and trampoline.
 *  - A jprobe whose entry is a function pointer runs with the probed
 *    function's arguments (ELFv1 takes the entry's TOC from its
 *    descriptor, ELFv2 wants r12 = the entry) and jprobe_return() resumes
 *    the function, which computes as before.
 *  - Every instruction of a function with a loop, a call and its returns
 *    probed at once (branches emulated, the rest out of line, boosted or
 *    not): the results do not change and the entry probe counts each call.
 *  - Unregistering puts the text back byte for byte.
 *
 * Exit 0 on success, 1 with a message on the first failure.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kprobes.h>

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		exit(1);						\
	}								\
} while (0)

/* The targets: exported (-rdynamic), so that a core-only build, which
 * knows only the dynamic symbols, finds them too. */
__attribute__((noinline, used)) long fe_add(long a, long b)
{
	__asm__ volatile("");
	return a + b;
}

__attribute__((noinline, used)) long fe_loop(long n)
{
	long s = 0;

	for (long i = 0; i < n; i++) {
		s = fe_add(s, i * i);
		if (s & 1)
			s += 3;
	}
	return s;
}

static long (*volatile add_fp)(long, long) = fe_add;
static long (*volatile loop_fp)(long) = fe_loop;

/* The code address a function pointer stands for, as the ABI says. */
static uintptr_t code_of(void *fn)
{
#if defined(__powerpc64__) && !(defined(_CALL_ELF) && _CALL_ELF == 2)
	return ((uintptr_t *)fn)[0];	/* ELFv1 descriptor: entry, TOC, env */
#else
	return (uintptr_t)fn;
#endif
}

/* Where a probe on the function goes: its local entry point (ELFv2
 * st_other), else its code. */
static uintptr_t entry_of(void *fn)
{
	uintptr_t code = code_of(fn);
#if defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2
	const ElfW(Sym) *sym = NULL;
	Dl_info info;
	unsigned int v;

	CHECK(dladdr1((void *)code, &info, (void **)&sym, RTLD_DL_SYMENT) &&
	      sym, "dladdr1 finds the target at %#lx", (unsigned long)code);
	v = (sym->st_other >> 5) & 7;
	if (v >= 2)
		code += (1u << v) >> 2 << 2;
#endif
	return code;
}

/* The function's size, from the dynamic symbol table. */
static size_t size_of(void *fn)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info info;

	CHECK(dladdr1((void *)code_of(fn), &info, (void **)&sym,
		      RTLD_DL_SYMENT) && sym && sym->st_size,
	      "dladdr1 gives the size of the target");
	return sym->st_size;
}

static long pre_hits, pre_arg0, pre_arg1;

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	pre_hits++;
	pre_arg0 = (long)regs_get_argument(regs, 0);
	pre_arg1 = (long)regs_get_argument(regs, 1);
	return 0;
}

static void test_probe_by_pointer_and_name(void)
{
	struct kprobe kp = { .addr = (kprobe_opcode_t *)(void *)fe_add,
			     .pre_handler = pre };
	struct kprobe kn = { .symbol_name = "fe_add", .pre_handler = pre };
	int ret;

	ret = register_kprobe(&kp);
	CHECK(ret == 0, "register_kprobe(fe_add by pointer): %d %s", ret,
	      kprobe_last_error());
	CHECK((uintptr_t)kp.addr == entry_of((void *)fe_add),
	      "the probe by pointer is at %p, the function's entry is %#lx",
	      (void *)kp.addr, (unsigned long)entry_of((void *)fe_add));
	pre_hits = 0;
	CHECK(add_fp(40, 2) == 42, "fe_add(40, 2) probed");
	CHECK(pre_hits == 1 && pre_arg0 == 40 && pre_arg1 == 2,
	      "pre_handler: %ld hits, arguments %ld, %ld", pre_hits, pre_arg0,
	      pre_arg1);
	unregister_kprobe(&kp);

	ret = register_kprobe(&kn);
	CHECK(ret == 0, "register_kprobe(\"fe_add\"): %d %s", ret,
	      kprobe_last_error());
	CHECK((uintptr_t)kn.addr == entry_of((void *)fe_add),
	      "the probe by name is at %p, the function's entry is %#lx",
	      (void *)kn.addr, (unsigned long)entry_of((void *)fe_add));
	pre_hits = 0;
	CHECK(add_fp(5, 6) == 11 && pre_hits == 1, "fe_add(5, 6) probed by "
	      "name: %ld hits", pre_hits);
	unregister_kprobe(&kn);

	/* ELFv1's dot-symbol names the code (the kernel's ppc64
	 * kprobe_lookup_name() takes it too). */
	CHECK((uintptr_t)kprobe_lookup_name("fe_add", 0) ==
	      entry_of((void *)fe_add), "kprobe_lookup_name(\"fe_add\", 0)");
#if defined(__powerpc64__) && !(defined(_CALL_ELF) && _CALL_ELF == 2)
	CHECK((uintptr_t)kprobe_lookup_name(".fe_add", 0) ==
	      code_of((void *)fe_add), "kprobe_lookup_name(\".fe_add\", 0)");
#endif
}

static long ret_seen;

static int ret_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	ret_seen = (long)regs_return_value(regs);
	regs_set_return_value(regs, 1000);
	return 0;
}

static void test_kretprobe_by_pointer(void)
{
	struct kretprobe rp = {
		.kp.addr = (kprobe_opcode_t *)(void *)fe_add,
		.handler = ret_handler,
		.maxactive = 4,
	};
	int ret = register_kretprobe(&rp);

	CHECK(ret == 0, "register_kretprobe(fe_add): %d %s", ret,
	      kprobe_last_error());
	CHECK(add_fp(1, 2) == 1000, "the return handler's value reaches "
	      "the caller");
	CHECK(ret_seen == 3, "regs_return_value() in the return handler: %ld",
	      ret_seen);
	unregister_kretprobe(&rp);
	CHECK(add_fp(1, 2) == 3, "fe_add after unregister_kretprobe");
}

static long jp_a, jp_b, jp_hits;

static long jp_entry(long a, long b)
{
	jp_hits++;
	jp_a = a;
	jp_b = b;
	jprobe_return();
	return 0;
}

static void test_jprobe_entry_pointer(void)
{
	struct jprobe jp = {
		.kp.addr = (kprobe_opcode_t *)(void *)fe_add,
		.entry = (void *)jp_entry,
	};
	int ret = register_jprobe(&jp);

	CHECK(ret == 0, "register_jprobe(fe_add): %d %s", ret,
	      kprobe_last_error());
	CHECK(add_fp(7, 8) == 15, "fe_add(7, 8) with a jprobe");
	CHECK(jp_hits == 1 && jp_a == 7 && jp_b == 8,
	      "jprobe entry: %ld calls, arguments %ld, %ld", jp_hits, jp_a,
	      jp_b);
	unregister_jprobe(&jp);
}

static long any_hits;

static int count(struct kprobe *p, struct pt_regs *regs)
{
	any_hits++;
	return 0;
}

/* A post_handler on every other probe: those take the second trap,
 * the others are boosted. */
static void post(struct kprobe *p, struct pt_regs *regs, unsigned long f)
{
}

#define MAX_PROBES 512

static void test_every_instruction(void)
{
	static struct kprobe kps[MAX_PROBES];
	static uint8_t before[4096];
	uintptr_t code = code_of((void *)fe_loop);
	size_t size = size_of((void *)fe_loop), n = 0, refused = 0;
	long want = loop_fp(20);
	struct kprobe entry = { .addr = (kprobe_opcode_t *)(void *)fe_loop,
				.pre_handler = pre };

	CHECK(size <= sizeof(before), "fe_loop is %zu bytes", size);
	memcpy(before, (void *)code, size);
	for (size_t off = 0; off < size && n < MAX_PROBES; off++) {
		int ret;

		memset(&kps[n], 0, sizeof(kps[n]));
		kps[n].addr = (kprobe_opcode_t *)(code + off);
		kps[n].pre_handler = count;
		if (n % 2)
			kps[n].post_handler = post;
		ret = register_kprobe(&kps[n]);
		if (ret == -EILSEQ)
			continue;	/* not an instruction boundary */
		if (ret == -EOPNOTSUPP) {
			refused++;
			continue;
		}
		CHECK(ret == 0, "register_kprobe(fe_loop+%#zx): %d %s", off,
		      ret, kprobe_last_error());
		n++;
	}
	CHECK(n > 5, "%zu probes placed in fe_loop (%zu refused)", n, refused);
	/* One more on the entry, by pointer, next to the one there. */
	CHECK(register_kprobe(&entry) == 0, "register_kprobe(fe_loop): %s",
	      kprobe_last_error());
	pre_hits = any_hits = 0;
	for (int i = 0; i < 3; i++)
		CHECK(loop_fp(20) == want, "fe_loop(20) with %zu probes", n);
	CHECK(pre_hits == 3, "the entry probe's hits: %ld of 3 calls",
	      pre_hits);
	CHECK(any_hits > (long)n, "%ld hits on %zu probes in 3 calls",
	      any_hits, n);
	unregister_kprobe(&entry);
	for (size_t i = 0; i < n; i++)
		unregister_kprobe(&kps[i]);
	CHECK(!memcmp(before, (void *)code, size),
	      "fe_loop's text is back as it was");
	CHECK(loop_fp(20) == want, "fe_loop(20) after unregistering");
	printf("fe_loop: %zu bytes, %zu probes, %zu refused\n", size, n,
	       refused);
}

int main(void)
{
	test_probe_by_pointer_and_name();
	test_kretprobe_by_pointer();
	test_jprobe_entry_pointer();
	test_every_instruction();
	printf("func_entry: OK\n");
	return 0;
}
