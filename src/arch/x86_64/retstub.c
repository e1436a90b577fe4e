// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86_64 return stubs and their unwind info.
 *
 * A kretprobe swaps a function's return address for a stub. When the
 * function returns into stub k, it runs
 *
 *	mov	$index, %r11d		; r11 is scratch at a return
 *	jmp	*trampoline(%rip)	; kp_kretprobe_trampoline
 *
 * One chunk is one executable page of 255 such stubs (16 bytes apart, the
 * first byte of each slot an int3 that never runs) followed by read-write
 * pages with the unwind info:
 *
 *   - an .eh_frame with one FDE per stub, covering the stub and the byte
 *     before it (unwinders look up "return address - 1"). Its rules: the
 *     CFA is rsp, and the return address is saved at &ret_table[k]
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
#include <sys/mman.h>
#include <unistd.h>

#include "ehframe.h"
#include "internal.h"

extern const char kp_kretprobe_trampoline[];

#define STUB_STRIDE	16
#define PAGE		4096
#define FDE_SIZE	48	/* see put_fde() */
#define CIE_SIZE	24
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
static void put_cie(uint8_t *p, bool for_libgcc)
{
	static const uint8_t gcc_rules[] = {
		0x0c, 7, 8,		/* DW_CFA_def_cfa: rsp + 8 */
		0x14, 7, 1,		/* DW_CFA_val_offset: rsp = CFA - 8 */
	};
	static const uint8_t unw_rules[] = {
		0x0c, 7, 0,		/* DW_CFA_def_cfa: rsp + 0 */
	};

	if (for_libgcc)
		kp_eh_cie(p, CIE_SIZE, 1, 0x78, DW_RIP, gcc_rules,
			  sizeof(gcc_rules));
	else
		kp_eh_cie(p, CIE_SIZE, 1, 0x78, DW_RIP, unw_rules,
			  sizeof(unw_rules));
}

/* FDE for [start, start + len): RA = *ret_slot. */
static void put_fde(uint8_t *p, uint8_t *cie, uintptr_t start, size_t len,
		    const uintptr_t *ret_slot)
{
	kp_eh_pad(p, kp_eh_fde(p, FDE_SIZE, cie, start, len, DW_RIP, ret_slot),
		  FDE_SIZE);
}

int arch_ret_chunk_create(unsigned int first, const uintptr_t *ret_table,
			  struct arch_ret_chunk *chunk)
{
	size_t eh_size = CIE_SIZE + ARCH_RET_STUBS * FDE_SIZE + 4;
	size_t tab_size = ARCH_RET_STUBS * sizeof(struct kp_eh_table_entry);
	size_t data = (2 * eh_size + tab_size + PAGE - 1) &
		      ~(size_t)(PAGE - 1);
	struct kp_eh_table_entry *tab;
	uint8_t *base, *eh_gcc, *eh_unw;

	base = mmap(NULL, PAGE + data, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	memset(base, 0xcc, PAGE);
	/* The trampoline's address, for the stubs' indirect jump. */
	kp_put64(base + PAGE - 8, (uintptr_t)kp_kretprobe_trampoline);

	eh_gcc = base + PAGE;
	eh_unw = eh_gcc + eh_size;
	tab = (struct kp_eh_table_entry *)(eh_unw + eh_size);
	put_cie(eh_gcc, true);
	put_cie(eh_unw, false);
	for (unsigned int k = 0; k < ARCH_RET_STUBS; k++) {
		uint8_t *s = base + k * STUB_STRIDE + 1;
		int32_t disp = (int32_t)((base + PAGE - 8) - (s + 12));
		size_t fde_off = CIE_SIZE + k * FDE_SIZE;

		s[0] = 0x41;			/* mov $index, %r11d */
		s[1] = 0xbb;
		kp_put32(s + 2, first + k);
		s[6] = 0xff;			/* jmp *disp(%rip) */
		s[7] = 0x25;
		kp_put32(s + 8, (uint32_t)disp);

		put_fde(eh_gcc + fde_off, eh_gcc, (uintptr_t)s - 1,
			STUB_STRIDE, &ret_table[k]);
		put_fde(eh_unw + fde_off, eh_unw, (uintptr_t)s - 1,
			STUB_STRIDE, &ret_table[k]);
		tab[k].start_ip_offset = (int32_t)((uintptr_t)s - 1 -
						   (uintptr_t)base);
		tab[k].fde_offset = (int32_t)(eh_unw + fde_off - base);
	}
	/* .eh_frame terminators */
	kp_put32(eh_gcc + eh_size - 4, 0);
	kp_put32(eh_unw + eh_size - 4, 0);
	if (mprotect(base, PAGE, PROT_READ | PROT_EXEC)) {
		munmap(base, PAGE + data);
		return -ENOMEM;
	}

	chunk->stub0 = (uintptr_t)base + 1;
	chunk->stride = STUB_STRIDE;
	chunk->eh_frame = eh_gcc;
	chunk->table = tab;
	chunk->table_len = tab_size;
	chunk->segbase = (uintptr_t)base;
	chunk->start_ip = (uintptr_t)base;
	chunk->end_ip = (uintptr_t)base + ARCH_RET_STUBS * STUB_STRIDE;
	return 0;
}

/* ---- trap path ---- */

ARCH_GPR_ONLY uintptr_t arch_ret_addr_slot(const struct pt_regs *regs)
{
	return regs->rsp;
}

ARCH_GPR_ONLY uintptr_t arch_ret_addr_get(const struct pt_regs *regs)
{
	return *(const uintptr_t *)regs->rsp;
}

ARCH_GPR_ONLY void arch_ret_addr_set(struct pt_regs *regs, uintptr_t addr)
{
	*(uintptr_t *)regs->rsp = addr;
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
