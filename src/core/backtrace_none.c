// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kprobe_backtrace() in a core-only build (meson -Dcore_only=true), for a
 * target without libunwind: there is no walk to make. The return stubs'
 * unwind info still goes to libgcc (kretprobes.c), so C++ exceptions and
 * backtrace(3) walk through a hijacked return there too.
 */
#include <errno.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

void kp_unwind_init(void)
{
}

void kp_unwind_register(const struct arch_ret_chunk *chunk)
{
}

KP_EXPORT int kprobe_backtrace(const struct pt_regs *regs, void **buf,
			       int size)
{
	if (!buf || size <= 0)
		return -EINVAL;
	return -ENOSYS;
}
