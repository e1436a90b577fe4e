/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The records of an .eh_frame (DWARF call frame information, as libgcc and
 * libunwind read it), for the return stubs' unwind info: the byte layout
 * every arch shares. What the rules say is each arch's retstub.c.
 *
 * Registration time only.
 */
#ifndef LIBKPROBE_CORE_EHFRAME_H
#define LIBKPROBE_CORE_EHFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One row of an .eh_frame_hdr-style search table (libunwind's
 * UNW_INFO_FORMAT_REMOTE_TABLE). */
struct kp_eh_table_entry {
	int32_t start_ip_offset;
	int32_t fde_offset;
};

static inline uint8_t *kp_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return p + 4;
}

static inline uint8_t *kp_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
	return p + 8;
}

/* Fill what is left of a @size-byte record at @p, from @q, with
 * DW_CFA_nop. */
static inline void kp_eh_pad(uint8_t *p, uint8_t *q, size_t size)
{
	while (q < p + size)
		*q++ = 0;		/* DW_CFA_nop */
}

/*
 * A CIE of @size bytes at @p: version 1, augmentation "zR" with absolute
 * FDE pointers, @code_align, @data_align (one SLEB128 byte: 0x78 is -8),
 * return address column @ra_col (< 128), then the initial @rules.
 */
static inline void kp_eh_cie(uint8_t *p, size_t size, uint8_t code_align,
			     uint8_t data_align, uint8_t ra_col,
			     const uint8_t *rules, size_t nrules)
{
	uint8_t *q = kp_put32(p, (uint32_t)size - 4);

	q = kp_put32(q, 0);		/* CIE id */
	*q++ = 1;			/* version */
	*q++ = 'z';			/* augmentation "zR" */
	*q++ = 'R';
	*q++ = 0;
	*q++ = code_align;
	*q++ = data_align;
	*q++ = ra_col;
	*q++ = 1;			/* augmentation data length */
	*q++ = 0x00;			/* FDE pointers: DW_EH_PE_absptr */
	memcpy(q, rules, nrules);
	kp_eh_pad(p, q + nrules, size);
}

/*
 * The start of a @size-byte FDE at @p for [@start, @start + @len) under
 * the CIE at @cie, whose first rule says the return address column
 * @ra_col is saved at *@ra_slot: DW_CFA_expression, "saved at", not "has
 * the value" (libgcc aborts installing a landing pad's context when the
 * return address column is a value). Return where more rules go; end
 * with kp_eh_pad().
 */
static inline uint8_t *kp_eh_fde(uint8_t *p, size_t size, const uint8_t *cie,
				 uintptr_t start, size_t len, uint8_t ra_col,
				 const uintptr_t *ra_slot)
{
	uint8_t *q = kp_put32(p, (uint32_t)size - 4);

	q = kp_put32(q, (uint32_t)(q - cie));	/* CIE pointer */
	q = kp_put64(q, start);
	q = kp_put64(q, len);
	*q++ = 0;				/* augmentation data length */
	*q++ = 0x10;				/* DW_CFA_expression */
	*q++ = ra_col;
	*q++ = 9;				/* expression length */
	*q++ = 0x0e;				/* DW_OP_const8u */
	return kp_put64(q, (uintptr_t)ra_slot);
}

#endif
