/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hit paths' register accessors for ppc64 (src/arch/arch.h says what
 * each does): inline, after <kprobes.h>'s struct pt_regs.
 */
#ifndef LIBKPROBE_PPC64_ARCH_REGS_H
#define LIBKPROBE_PPC64_ARCH_REGS_H

#include <stdint.h>

#include <kprobes.h>

#include "arch-insn.h"

/* See arch.h. At a function's entry the return address is in LR; what
 * identifies the frame is the caller's stack pointer: a deeper call has a
 * lower one. */
static inline uintptr_t arch_regs_sp(const struct pt_regs *regs)
{
	return regs->gpr[1];
}

static inline void arch_regs_ip_set(struct pt_regs *regs, uintptr_t ip)
{
	regs->nip = ip;
}

static inline uintptr_t arch_ret_addr_slot(const struct pt_regs *regs)
{
	return regs->gpr[1];
}

static inline uintptr_t arch_ret_addr_get(const struct pt_regs *regs)
{
	return regs->link;
}

static inline void arch_ret_addr_set(struct pt_regs *regs, uintptr_t addr)
{
	regs->link = addr;
}

#endif
