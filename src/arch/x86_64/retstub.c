// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86_64 return stubs and their unwind info.
 *
 * A kretprobe swaps a function's return address for a stub. When the
 * function returns into stub k, it runs
 *
 *	movq	$index, -8(%rsp)	; the slot the return just left
 *	jmp	*trampoline(%rip)	; kp_kretprobe_trampoline
 *
 * A jump-optimized entry does better (a call-in, docs/design.md "Return
 * probes"): its detour goes on into the stub's second part, which calls
 * the function's relocated first instructions, so that the return stack
 * predictor holds the stub's address, not the caller's, and the function's
 * own ret is predicted:
 *
 *	leaq	8(%rsp), %rsp		; pop the return address: it is saved
 *	call	*-24(%rsp)		; the copy, put in the red zone
 *	movq	$(index | 1 << 31), -8(%rsp)	; the function returns here
 *	jmp	*trampoline(%rip)
 *
 * and the trampoline, told by bit 31 that the predictor's next entry is
 * still the real caller's, returns with a ret instead of a jump.
 *
 * (No register carries the index: see arch_ret_stub().)
 *
 * One chunk (laid out by src/core/retstub.c) is 256 such stubs (48 bytes
 * apart, the first byte of each slot an int3 that never runs) and the
 * trampoline's address after them, in four executable pages, followed by
 * read-write pages with the unwind info:
 *
 *   - an .eh_frame with one FDE per stub, covering the stub and the byte
 *     before it (unwinders look up "return address - 1"). Its rules: the
 *     CFA is rsp (8 more before the call-in's leaq), and the return
 *     address is saved at &ret_table[k]
 *     (DW_CFA_expression, DW_OP_const8u: "saved at", not "has the value":
 *     libgcc aborts installing a landing pad's context when the return
 *     address column is a value). ret_table[k] holds the real return address while the
 *     instance of stub k is pending, so an unwinder that meets stub k in a
 *     stack steps to the real caller, with every register as it is;
 *   - a binary search table over those FDEs, as .eh_frame_hdr has, for
 *     libunwind's dynamic registration.
 *
 * Why not one trampoline address for all, as the kernel has: an unwinder
 * meeting it cannot know which return it stands for; C++ exceptions then
 * end in std::terminate. With one stub per instance the unwind info can
 * name the real return address, and the trampoline finds its instance in
 * O(1) from the index.
 *
 * Registration time only (kprobe_mutex held).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ehframe.h"
#include "internal.h"

extern const char kp_kretprobe_trampoline[];

#define DW_RIP		16	/* the return address column */

/*
 * CIE: version 1, "zR", code align 1, data align -8, RA column 16,
 * pointers absolute. Two flavours of the stub's frame:
 *
 * for libgcc: CFA = rsp + 8 and rsp = CFA - 8. libgcc tells frames apart
 *   by their CFA when it installs a C++ landing pad; with CFA = rsp, a stub
 *   would share it with the frame it returns to, and libgcc would take the
 *   stub for the handler's frame and abort.
 * for libunwind: CFA = rsp. libunwind takes the CFA for the caller's rsp
 *   and ignores a rule for rsp itself.
 */
void arch_ret_cie(uint8_t *p, bool for_libgcc)
{
	static const uint8_t gcc_rules[] = {
		0x0c, 7, 8,		/* DW_CFA_def_cfa: rsp + 8 */
		0x14, 7, 1,		/* DW_CFA_val_offset: rsp = CFA - 8 */
	};
	static const uint8_t unw_rules[] = {
		0x0c, 7, 0,		/* DW_CFA_def_cfa: rsp + 0 */
	};

	if (for_libgcc)
		kp_eh_cie(p, ARCH_RET_CIE_SIZE, 1, 0x78, DW_RIP, gcc_rules,
			  sizeof(gcc_rules));
	else
		kp_eh_cie(p, ARCH_RET_CIE_SIZE, 1, 0x78, DW_RIP, unw_rules,
			  sizeof(unw_rules));
}

/*
 * FDE for the stub at [start, start + len): RA = *ret_slot. At the
 * call-in's first instruction the caller's rsp is 8 bytes further up than
 * everywhere else in the stub (the return address is still on the stack):
 * the CFA follows, for that one instruction.
 */
void arch_ret_fde(uint8_t *p, const uint8_t *cie, uintptr_t start,
		  size_t len, const uintptr_t *ret_slot, bool for_libgcc)
{
	uint8_t base = for_libgcc ? 8 : 0;	/* the CIE's CFA offset */
	uint8_t *q = kp_eh_fde(p, ARCH_RET_FDE_SIZE, cie, start, len, DW_RIP,
			       ret_slot);

	*q++ = 0x40 | (ARCH_RET_ENTRY + ARCH_RET_CALLIN); /* advance_loc */
	*q++ = 0x0e;				/* DW_CFA_def_cfa_offset */
	*q++ = base + 8;
	*q++ = 0x40 | 5;			/* past the leaq */
	*q++ = 0x0e;
	*q++ = base;
	kp_eh_pad(p, q, ARCH_RET_FDE_SIZE);
}

/* int3 everywhere, and the trampoline's address in the last 8 bytes. */
void arch_ret_code_init(uint8_t *code, size_t len)
{
	memset(code, 0xcc, len);
	kp_put64(code + ARCH_RET_CODE - 8, (uintptr_t)kp_kretprobe_trampoline);
}

/* movq $@imm, -8(%rsp); jmp *trampoline(%rip): 15 bytes at @s. */
static void put_to_trampoline(const uint8_t *code, uint8_t *s, uint32_t imm)
{
	int32_t disp = (int32_t)((code + ARCH_RET_CODE - 8) - (s + 15));

	/* The index goes into the slot the return address just left, not a
	 * register. Every register is the caller's to keep: GCC's -fipa-ra
	 * keeps values in caller-saved ones across a call to a function it
	 * knows leaves them alone. */
	s[0] = 0x48;
	s[1] = 0xc7;
	s[2] = 0x44;
	s[3] = 0x24;
	s[4] = 0xf8;
	kp_put32(s + 5, imm);
	s[9] = 0xff;			/* jmp *disp(%rip) */
	s[10] = 0x25;
	kp_put32(s + 11, (uint32_t)disp);
}

void arch_ret_stub(uint8_t *code, uint8_t *s, unsigned int index)
{
	static const uint8_t callin[] = {
		0x48, 0x8d, 0x64, 0x24, 0x08,	/* leaq 8(%rsp), %rsp */
		0xff, 0x54, 0x24, 0xe8,		/* call *-24(%rsp) */
	};

	_Static_assert(ARCH_RET_CALLIN >= 15 &&
		       ARCH_RET_CALLIN + sizeof(callin) == ARCH_RET_CALLIN_RET &&
		       ARCH_RET_ENTRY + ARCH_RET_CALLIN_RET + 15 <=
		       ARCH_RET_STRIDE, "the stub's layout");
	put_to_trampoline(code, s, index);
	memcpy(s + ARCH_RET_CALLIN, callin, sizeof(callin));
	put_to_trampoline(code, s + ARCH_RET_CALLIN_RET,
			  index | ARCH_RET_CALLIN_BIT);
}

int kp_x86_safe_read64(const uint64_t *src, uint64_t *dst);

ARCH_GPR_ONLY int arch_copy_safe(void *dst, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i += 8)
		if (kp_x86_safe_read64((const uint64_t *)((const char *)src + i),
				       (uint64_t *)((char *)dst + i)))
			return -EFAULT;
	return 0;
}
