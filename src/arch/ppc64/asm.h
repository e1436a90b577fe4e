/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the two ppc64 ABIs need of our assembly.
 *
 * ELFv2 (ppc64le): a function symbol is its code; the caller's TOC pointer
 * is saved at 24(r1) and the smallest frame is 32 bytes.
 * ELFv1 (big-endian ppc64): a function symbol is a descriptor in .opd
 * ({ code, TOC, environment }) that C calls and function pointers go
 * through; the TOC pointer is saved at 40(r1) and the smallest frame is
 * 112 bytes (48 of linkage, 64 of parameter save area).
 *
 * C_FUNC(name)/C_END(name) define a function C calls, which needs no TOC
 * of its own (a leaf, or one that sets r2 itself).
 */
#ifndef LIBKPROBE_PPC64_ASM_H
#define LIBKPROBE_PPC64_ASM_H

#if defined(_CALL_ELF) && _CALL_ELF == 2
#define PPC_ELFV2		1
#define PPC_TOC_SLOT		24
#define ABI_HEADER		.abiversion 2
#define C_FUNC(name)		\
	.globl name;		\
	.type name, @function;	\
	.p2align 2;		\
name:
#define C_END(name)		.size name, . - name
#else
#define PPC_ELFV2		0
#define PPC_TOC_SLOT		40
#define ABI_HEADER
#define C_FUNC(name)				\
	.section ".opd", "aw";			\
	.p2align 3;				\
	.globl name;				\
name:	.quad .L.name, .TOC.@tocbase, 0;	\
	.previous;				\
	.type name, @function;			\
	.p2align 2;				\
.L.name:
#define C_END(name)		.size name, . - .L.name
#endif

#endif
