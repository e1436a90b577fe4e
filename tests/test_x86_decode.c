// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit test of the x86_64 instruction analysis (src/arch/x86_64/insn.c):
 * byte arrays in, decisions and slot code out. Nothing is patched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "internal.h"

#define ORIG 0x555555554000ull

struct vec {
	const char *asm_text;
	uint8_t bytes[16];
	uint8_t len;
	int ret;		/* x86_decode()'s return */
	enum x86_kind kind;
	uint64_t target;	/* relative branches */
};

static const struct vec vectors[] = {
	/* Out of line, unchanged. */
	{ "push %rbp", { 0x55 }, 1, 0, X86_OOL, 0 },
	{ "mov %rsp,%rbp", { 0x48, 0x89, 0xe5 }, 3, 0, X86_OOL, 0 },
	{ "endbr64", { 0xf3, 0x0f, 0x1e, 0xfa }, 4, 0, X86_OOL, 0 },
	{ "sub $0x18,%rsp", { 0x48, 0x83, 0xec, 0x18 }, 4, 0, X86_OOL, 0 },
	{ "lock xadd %eax,(%rdi)", { 0xf0, 0x0f, 0xc1, 0x07 }, 4, 0, X86_OOL, 0 },
	{ "syscall", { 0x0f, 0x05 }, 2, 0, X86_SYSCALL, 0 },
	/* RIP-relative: out of line, displacement re-targeted. */
	{ "mov 0x100(%rip),%rax", { 0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00 },
	  7, 0, X86_OOL, 0 },
	{ "lea 0x100(%rip),%rdi", { 0x48, 0x8d, 0x3d, 0x00, 0x01, 0x00, 0x00 },
	  7, 0, X86_OOL, 0 },
	{ "cmpl $0x5,0x10(%rip)", { 0x83, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x05 },
	  7, 0, X86_OOL, 0 },
	/* VEX (AVX2): Capstone 4 reports no displacement for these. */
	{ "vmovdqa %ymm1,0x469a7(%rip)", { 0xc5, 0xfd, 0x7f, 0x0d, 0xa7, 0x69,
	  0x04, 0x00 }, 8, 0, X86_OOL, 0 },
	{ "vroundpd $1,0x44e45(%rip),%ymm0", { 0xc4, 0xe3, 0x7d, 0x09, 0x05,
	  0x45, 0x4e, 0x04, 0x00, 0x01 }, 10, 0, X86_OOL, 0 },
	/* Emulated branches. */
	{ "jmp .+0x10", { 0xeb, 0x0e }, 2, 0, X86_JMP, ORIG + 0x10 },
	{ "jmp .+0x1000", { 0xe9, 0xfb, 0x0f, 0x00, 0x00 }, 5, 0, X86_JMP,
	  ORIG + 0x1000 },
	{ "je .-0x10", { 0x74, 0xee }, 2, 0, X86_JCC, ORIG - 0x10 },
	{ "jne .+0x100", { 0x0f, 0x85, 0xfa, 0x00, 0x00, 0x00 }, 6, 0, X86_JCC,
	  ORIG + 0x100 },
	{ "call .+0x20", { 0xe8, 0x1b, 0x00, 0x00, 0x00 }, 5, 0, X86_CALL,
	  ORIG + 0x20 },
	{ "ret", { 0xc3 }, 1, 0, X86_RET, 0 },
	{ "repz ret", { 0xf3, 0xc3 }, 2, 0, X86_RET, 0 },
	{ "ret $0x10", { 0xc2, 0x10, 0x00 }, 3, 0, X86_RET, 0 },
	{ "loop .+4", { 0xe2, 0x02 }, 2, 0, X86_LOOP, ORIG + 4 },
	{ "jrcxz .+4", { 0xe3, 0x02 }, 2, 0, X86_LOOP, ORIG + 4 },
	{ "call *%rax", { 0xff, 0xd0 }, 2, 0, X86_CALL_IND, 0 },
	{ "jmp *%r11", { 0x41, 0xff, 0xe3 }, 3, 0, X86_JMP_IND, 0 },
	{ "jmp *0x2fe2(%rip)", { 0xff, 0x25, 0xe2, 0x2f, 0x00, 0x00 }, 6, 0,
	  X86_JMP_IND, 0 },
	{ "call *0x8(%rax,%rbx,8)", { 0xff, 0x54, 0xd8, 0x08 }, 4, 0,
	  X86_CALL_IND, 0 },
	{ "notrack jmp *%rax", { 0x3e, 0xff, 0xe0 }, 3, 0, X86_JMP_IND, 0 },
	{ "notrack jmp *(%rbx,%r8,8)", { 0x3e, 0x42, 0xff, 0x24, 0xc3 }, 5, 0,
	  X86_JMP_IND, 0 },
	/* Refused. */
	{ "int3", { 0xcc }, 1, -EOPNOTSUPP, 0, 0 },
	{ "int $0x80", { 0xcd, 0x80 }, 2, -EOPNOTSUPP, 0, 0 },
	{ "ud2", { 0x0f, 0x0b }, 2, -EOPNOTSUPP, 0, 0 },
	{ "hlt", { 0xf4 }, 1, -EOPNOTSUPP, 0, 0 },
	{ "iretq", { 0x48, 0xcf }, 2, -EOPNOTSUPP, 0, 0 },
	{ "lret", { 0xcb }, 1, -EOPNOTSUPP, 0, 0 },
	{ "ljmp *(%rax)", { 0xff, 0x28 }, 2, -EOPNOTSUPP, 0, 0 },
	{ "sysenter", { 0x0f, 0x34 }, 2, -EOPNOTSUPP, 0, 0 },
	{ "xbegin .+6", { 0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00 }, 6, -EOPNOTSUPP,
	  0, 0 },
	{ "jmp *%fs:0x10", { 0x64, 0xff, 0x24, 0x25, 0x10, 0x00, 0x00, 0x00 },
	  8, -EOPNOTSUPP, 0, 0 },
	{ "loop (addr32) .+4", { 0x67, 0xe2, 0x02 }, 3, -EOPNOTSUPP, 0, 0 },
	/* 0x66 on near branches: 16-bit targets on AMD, ignored on Intel. */
	{ "jmpw *%ax", { 0x66, 0xff, 0xe0 }, 3, -EOPNOTSUPP, 0, 0 },
	{ "retw", { 0x66, 0xc3 }, 2, -EOPNOTSUPP, 0, 0 },
	{ "data16 je .+4", { 0x66, 0x74, 0x02 }, 3, -EOPNOTSUPP, 0, 0 },
	{ "data16 loop .", { 0x66, 0xe2, 0xfe }, 3, -EOPNOTSUPP, 0, 0 },
	/* Capstone 4 decodes these wrong (length and target): refused. */
	{ "addr32 rex.w jmp .+0x107", { 0x67, 0x48, 0xe9, 0x00, 0x01, 0x00,
	  0x00 }, 7, -EOPNOTSUPP, 0, 0 },
	{ "addr32 rex.w ret $0xe8 (fuzzer)", { 0x67, 0x48, 0xc2, 0xe8, 0x00,
	  0x01, 0x00, 0x00 }, 8, -EOPNOTSUPP, 0, 0 },
	{ "addr32 rex.w call .+0x107", { 0x67, 0x48, 0xe8, 0x00, 0x01, 0x00,
	  0x00 }, 7, -EOPNOTSUPP, 0, 0 },
	/* Undecodable. */
	{ "(bad: lone prefix)", { 0x66 }, 1, -EILSEQ, 0, 0 },
};

static void test_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vec *v = &vectors[i];
		struct arch_insn ai;
		int ret;

		ret = x86_decode(v->bytes, v->len, ORIG, &ai);
		if (ret != v->ret)
			fail_msg("%s: x86_decode() = %d, expected %d",
				 v->asm_text, ret, v->ret);
		if (ret)
			continue;
		if (ai.len != v->len)
			fail_msg("%s: length %u, expected %u", v->asm_text,
				 ai.len, v->len);
		if (ai.kind != v->kind)
			fail_msg("%s: kind %u, expected %u", v->asm_text,
				 ai.kind, v->kind);
		if (v->target && ai.target != v->target)
			fail_msg("%s: target %#llx, expected %#llx",
				 v->asm_text, (unsigned long long)ai.target,
				 (unsigned long long)v->target);
	}
}

/* mov 0x100(%rip),%rax at ORIG reads ORIG + 7 + 0x100; from a slot 1 MiB
 * below, the new displacement must name the same address. */
static void test_riprel_slot(void **state)
{
	const uint8_t mov[] = { 0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00 };
	uint64_t slot = ORIG - 0x100000, resume;
	uint8_t buf[ARCH_SLOT_SIZE], trap_off, fixups;
	struct arch_insn ai;
	int32_t disp;

	assert_int_equal(x86_decode(mov, sizeof(mov), ORIG, &ai), 0);
	assert_int_equal(ai.disp_off, 3);
	assert_int_equal(x86_build_slot(&ai, ORIG, slot, buf, &trap_off,
					&resume, &fixups), 0);
	assert_memory_equal(buf, mov, 3);
	memcpy(&disp, buf + 3, 4);
	assert_true(slot + 7 + (int64_t)disp == ORIG + 7 + 0x100);
	assert_int_equal(trap_off, 7);
	assert_int_equal(buf[7], 0xcc);
	assert_true(resume == ORIG + 7);
	assert_int_equal(fixups, 0);

	/* 3 GiB away does not fit a rel32. */
	assert_int_equal(x86_build_slot(&ai, ORIG, ORIG + (3ull << 30), buf,
					&trap_off, &resume, &fixups), -ERANGE);
}

/* The displacement of a VEX instruction is found and re-targeted too. */
static void test_vex_riprel_slot(void **state)
{
	const uint8_t insn[] = { 0xc4, 0xe3, 0x7d, 0x09, 0x05, 0x45, 0x4e, 0x04,
				 0x00, 0x01 };	/* vroundpd $1,disp(%rip),%ymm0 */
	uint64_t slot = ORIG + 0x200000, resume;
	uint8_t buf[ARCH_SLOT_SIZE], trap_off, fixups;
	struct arch_insn ai;
	int32_t disp;

	assert_int_equal(x86_decode(insn, sizeof(insn), ORIG, &ai), 0);
	assert_int_equal(ai.disp_off, 5);
	assert_int_equal(x86_build_slot(&ai, ORIG, slot, buf, &trap_off,
					&resume, &fixups), 0);
	memcpy(&disp, buf + 5, 4);
	assert_true(slot + sizeof(insn) + (int64_t)disp ==
		    ORIG + sizeof(insn) + 0x44e45);
	assert_int_equal(buf[9], 0x01);	/* the immediate is untouched */
}

/* addr32 + RIP-relative: (eip + disp) mod 2^32 from anywhere. */
static void test_eiprel_slot(void **state)
{
	const uint8_t insn[] = { 0x67, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00 };
	uint64_t slot = ORIG + (3ull << 30), resume;	/* beyond rel32 */
	uint8_t buf[ARCH_SLOT_SIZE], trap_off, fixups;
	struct arch_insn ai;
	int32_t disp;

	assert_int_equal(x86_decode(insn, sizeof(insn), ORIG, &ai), 0);
	assert_true(ai.eip_rel);
	assert_int_equal(ai.disp_off, 3);
	assert_int_equal(x86_build_slot(&ai, ORIG, slot, buf, &trap_off,
					&resume, &fixups), 0);
	memcpy(&disp, buf + 3, 4);
	assert_true((uint32_t)(slot + 7 + (int64_t)disp) ==
		    (uint32_t)(ORIG + 7 + 0x100));
}

static void test_syscall_fixup(void **state)
{
	const uint8_t sc[] = { 0x0f, 0x05 };
	uint8_t buf[ARCH_SLOT_SIZE], trap_off, fixups;
	struct arch_insn ai;
	uint64_t resume;

	assert_int_equal(x86_decode(sc, sizeof(sc), ORIG, &ai), 0);
	assert_int_equal(x86_build_slot(&ai, ORIG, ORIG + 0x1000, buf,
					&trap_off, &resume, &fixups), 0);
	assert_int_equal(fixups, X86_FIXUP_RCX);
	assert_true(resume == ORIG + 2);
}

/* A function: push %rbp; mov %rsp,%rbp; mov $0x1,%eax; pop %rbp; ret */
static void test_boundary(void **state)
{
	const uint8_t fn[] = { 0x55, 0x48, 0x89, 0xe5, 0xb8, 0x01, 0x00, 0x00,
			       0x00, 0x5d, 0xc3 };
	const size_t ok[] = { 0, 1, 4, 9, 10 };
	const size_t bad[] = { 2, 3, 5, 8 };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(arch_check_boundary(fn, sizeof(fn), ok[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(arch_check_boundary(fn, sizeof(fn), bad[i]),
				 -EILSEQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_riprel_slot),
		cmocka_unit_test(test_vex_riprel_slot),
		cmocka_unit_test(test_eiprel_slot),
		cmocka_unit_test(test_syscall_fixup),
		cmocka_unit_test(test_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
