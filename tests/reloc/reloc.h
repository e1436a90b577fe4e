/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the generated corpus (gen_corpus.py -> corpus.S) and the driver
 * (reloc_differential.c) share: the state block's layout, the form table's
 * layout and the flag bits. Offsets are spelled out as numbers because the
 * assembly reads them too; the driver checks them against offsetof().
 */
#ifndef LIBKPROBE_RELOC_H
#define LIBKPROBE_RELOC_H

/* struct rl_state: the registers a form starts from and ends with. GPRs in
 * hardware encoding order (rax rcx rdx rbx rsp rbp rsi rdi r8..r15). */
#define RL_GPR(n)	((n) * 8)
#define RL_RSP		RL_GPR(4)
#define RL_RDI		RL_GPR(7)
#define RL_FLAGS	128
#define RL_MXCSR	136
#define RL_FCW		140
#define RL_FSW		142
#define RL_YMM(n)	(160 + (n) * 32)	/* ymm0-3, ymm8, ymm9 */
#define RL_NYMM		6
#define RL_STATE_SIZE	352

/* The memory a form may touch (corpus.S, .data): all of it is reset before
 * and compared after every run. */
#define RL_DATA_OFF	64	/* rl_data: RIP-relative operands */
#define RL_DATA_SIZE	256
#define RL_MARKER_OFF	320	/* rl_marker: which way a branch went */
#define RL_MARKER2_OFF	328	/* rl_marker2: the callee ran */
#define RL_JT_OFF	336	/* rl_jt: a jump-table slot */
#define RL_MEM_OFF	512	/* rl_mem: what rbx, rsi, rdi, r12 point at */
#define RL_MEM_SIZE	4096
#define RL_STACK_OFF	(RL_MEM_OFF + RL_MEM_SIZE)
#define RL_STACK_SIZE	16384	/* signal frames land here too */
#define RL_STACK_TOP_GAP 512	/* initial rsp is this far below the top */
#define RL_ARENA_SIZE	(RL_STACK_OFF + RL_STACK_SIZE)

/* A page at a fixed low address for 32-bit address-size forms. */
#define RL_LOW_ADDR	0x20000000
#define RL_LOW_SIZE	4096

/* Form kinds. */
#define RL_KIND_OOL	0	/* runs out of line from a slot */
#define RL_KIND_BRANCH	1	/* emulated */
#define RL_KIND_FAULT	2	/* raises a signal, probed or not */
#define RL_KIND_REFUSED	3	/* register_kprobe() must refuse it */

/* Form flags. */
#define RL_F_POST	0x1	/* code between the site and the epilogue */
#define RL_F_LOW	0x2	/* needs the low page */
#define RL_F_MAY_REFUSE	0x4	/* a refusal is tolerated (reported) */
#define RL_F_MAY_BE_MAPPED 0x8	/* a fault form whose address may be mapped
				 * in some processes (ASan's shadow in the
				 * low 4 GiB): skipped when it does not fault */

/* Features a form needs (cpuid). */
#define RL_REQ_AVX2	0x0001
#define RL_REQ_BMI1	0x0002
#define RL_REQ_BMI2	0x0004
#define RL_REQ_LZCNT	0x0008
#define RL_REQ_POPCNT	0x0010
#define RL_REQ_ADX	0x0020
#define RL_REQ_MOVBE	0x0040
#define RL_REQ_SSE41	0x0080
#define RL_REQ_SSE42	0x0100
#define RL_REQ_AES	0x0200
#define RL_REQ_PCLMUL	0x0400
#define RL_REQ_F16C	0x0800
#define RL_REQ_FMA	0x1000
#define RL_REQ_SHA	0x2000
#define RL_REQ_RDRAND	0x4000
#define RL_REQ_RDSEED	0x8000
#define RL_REQ_CLFLUSHOPT 0x10000
#define RL_REQ_CLWB	0x20000
#define RL_REQ_RDPID	0x40000
#define RL_REQ_VAES	0x80000
#define RL_REQ_VPCLMUL	0x100000
#define RL_REQ_SSSE3	0x200000

/* Fields a form's result may differ in (nondeterministic results): bit n
 * for GPR n, and these. */
#define RL_IGN_FLAGS	0x10000

/* struct rl_form: one entry of rl_forms[] (corpus.S). */
#define RL_FORM_SIZE	56

#endif
