/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hit paths' register accessors for x86_64 (src/arch/arch.h says what
 * each does): inline, after <kprobes.h>'s struct pt_regs.
 */
#ifndef LIBKPROBE_X86_64_ARCH_REGS_H
#define LIBKPROBE_X86_64_ARCH_REGS_H

#include <stdint.h>

#include <kprobes.h>

#include "arch-insn.h"

/* See arch.h. */
ARCH_GPR_ONLY static inline uintptr_t arch_regs_sp(const struct pt_regs *regs)
{
	return regs->rsp;
}

ARCH_GPR_ONLY static inline void arch_regs_ip_set(struct pt_regs *regs,
						  uintptr_t ip)
{
	regs->rip = ip;
}

ARCH_GPR_ONLY static inline uintptr_t
arch_ret_addr_slot(const struct pt_regs *regs)
{
	return regs->rsp;
}

ARCH_GPR_ONLY static inline uintptr_t
arch_ret_addr_get(const struct pt_regs *regs)
{
	return *(const uintptr_t *)regs->rsp;
}

ARCH_GPR_ONLY static inline void arch_ret_addr_set(struct pt_regs *regs,
						   uintptr_t addr)
{
	*(uintptr_t *)regs->rsp = addr;
}

#endif
