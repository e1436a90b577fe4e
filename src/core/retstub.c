// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A chunk of return stubs and its unwind info, laid out the same way for
 * every arch; what a stub's code and its unwind rules say is the arch's
 * (arch_ret_*(), src/arch/<arch>/retstub.c says why they are as they are).
 *
 * One executable mapping of ARCH_RET_CODE bytes: ARCH_RET_STUBS stubs
 * ARCH_RET_STRIDE bytes apart, each entered ARCH_RET_ENTRY bytes into its
 * stride (the bytes before are a breakpoint that never runs, so that
 * "return address - 1", where unwinders look a return address up, falls
 * in the stub's own FDE), and what they share at its end. Then read-write
 * pages with two .eh_frames, one for libgcc and one for libunwind (their
 * CIEs differ, arch_ret_cie() says why), one FDE per stub saying that the
 * caller of stub k is ret_table[k], and an .eh_frame_hdr-style search
 * table over libunwind's for its dynamic registration.
 *
 * Registration time only (kprobe_mutex held).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ehframe.h"
#include "internal.h"

int kp_ret_chunk_create(unsigned int first, const uintptr_t *ret_table,
			struct arch_ret_chunk *chunk)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t code = (ARCH_RET_CODE + page - 1) & ~(page - 1);
	size_t eh_size = ARCH_RET_CIE_SIZE +
			 ARCH_RET_STUBS * ARCH_RET_FDE_SIZE + 4;
	size_t tab_size = ARCH_RET_STUBS * sizeof(struct kp_eh_table_entry);
	size_t data = (2 * eh_size + tab_size + page - 1) & ~(page - 1);
	struct kp_eh_table_entry *tab;
	uint8_t *base, *eh_gcc, *eh_unw;

	base = mmap(NULL, code + data, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	arch_ret_code_init(base, code);

	eh_gcc = base + code;
	eh_unw = eh_gcc + eh_size;
	tab = (struct kp_eh_table_entry *)(eh_unw + eh_size);
	arch_ret_cie(eh_gcc, true);
	arch_ret_cie(eh_unw, false);
	for (unsigned int k = 0; k < ARCH_RET_STUBS; k++) {
		uint8_t *start = base + k * ARCH_RET_STRIDE;
		size_t fde_off = ARCH_RET_CIE_SIZE + k * ARCH_RET_FDE_SIZE;

		arch_ret_stub(base, start + ARCH_RET_ENTRY, first + k);
		arch_ret_fde(eh_gcc + fde_off, eh_gcc, (uintptr_t)start,
			     ARCH_RET_STRIDE, &ret_table[k], true);
		arch_ret_fde(eh_unw + fde_off, eh_unw, (uintptr_t)start,
			     ARCH_RET_STRIDE, &ret_table[k], false);
		tab[k].start_ip_offset = (int32_t)(start - base);
		tab[k].fde_offset = (int32_t)(eh_unw + fde_off - base);
	}
	kp_put32(eh_gcc + eh_size - 4, 0);	/* .eh_frame terminators */
	kp_put32(eh_unw + eh_size - 4, 0);

	__builtin___clear_cache((char *)base, (char *)base + code);
	if (mprotect(base, code, PROT_READ | PROT_EXEC)) {
		munmap(base, code + data);
		return -ENOMEM;
	}
	chunk->stub0 = (uintptr_t)base + ARCH_RET_ENTRY;
	chunk->stride = ARCH_RET_STRIDE;
	chunk->eh_frame = eh_gcc;
	chunk->table = tab;
	chunk->table_len = tab_size;
	chunk->segbase = (uintptr_t)base;
	chunk->start_ip = (uintptr_t)base;
	chunk->end_ip = (uintptr_t)base + ARCH_RET_STUBS * ARCH_RET_STRIDE;
	return 0;
}
