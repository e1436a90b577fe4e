// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Reading memory that may not be mapped, from a handler: the kernel's
 * copy_from_user_nofault() and strncpy_from_user_nofault(), on the arch's
 * guarded 8-byte load (a fault there returns -EFAULT instead of a signal;
 * src/arch/x86_64/safe-access.S). Only aligned words are read, so a string
 * that ends just before an unmapped page is read whole. Works once the
 * library has installed its fault handler (at the first registration).
 * Async-signal-safe.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

/* The aligned word at @a. (ARCH_GPR_ONLY, no libc: handlers on the light
 * path call these.) */
ARCH_GPR_ONLY static int word_at(uintptr_t a, uint64_t *w)
{
	return arch_copy_safe(w, (const void *)a, sizeof(*w));
}

KP_EXPORT ARCH_GPR_ONLY long copy_from_user_nofault(void *dst,
						    const void *src,
						    size_t size)
{
	uintptr_t s = (uintptr_t)src;
	char *d = dst;

	if (!dst && size)
		return -EINVAL;
	while (size) {
		uintptr_t base = s & ~(uintptr_t)7;
		size_t skip = s - base, n = 8 - skip;
		uint64_t w;

		if (n > size)
			n = size;
		if (word_at(base, &w))
			return -EFAULT;
		for (size_t k = 0; k < n; k++)
			d[k] = ((const char *)&w)[skip + k];
		d += n;
		s += n;
		size -= n;
	}
	return 0;
}

KP_EXPORT ARCH_GPR_ONLY long strncpy_from_user_nofault(char *dst,
						       const void *src,
						       long count)
{
	uintptr_t s = (uintptr_t)src;
	long len = 0;

	if (!dst || count <= 0)
		return -EINVAL;
	while (len < count) {
		uintptr_t base = s & ~(uintptr_t)7;
		uint64_t w;

		if (word_at(base, &w))
			return -EFAULT;
		for (size_t k = s - base; k < 8 && len < count; k++, s++) {
			char ch = ((const char *)&w)[k];

			dst[len++] = ch;
			if (!ch)
				return len - 1;
		}
	}
	return count;	/* not terminated within @count, as the kernel */
}
