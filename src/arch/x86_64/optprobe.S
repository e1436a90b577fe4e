/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kp_optprobe_common: where every jump-optimized probe's detour calls
 * (the detour's layout is in optprobe.c). No signal is involved: the
 * handlers run on the thread's own stack, in its ordinary context.
 *
 * On entry, with S the probed code's rsp:
 *   rsp = S - 136: the detour's return address R (its relocated copy of the
 *   replaced instructions), pushed below S's 128-byte red zone;
 *   R - 35 holds the detour's struct kp_slot *, R - 27 the probed address.
 *
 * Frame, from S down:
 *   S - 128 .. S       the red zone: never written
 *   S - 136            R, then the resume address; "ret $128" pops it
 *   S - 304            struct pt_regs (168 bytes), anchored in rbx
 *   below, 64-aligned  the XSAVE (or FXSAVE) area: x87, MXCSR and every
 *                      vector register the kernel enabled (XCR0)
 *
 * C sees struct pt_regs at the probed address; kp_optprobe_handler()
 * returns where to go on: R to run the relocated instructions, or the
 * address a handler set. Every register, the flags (as a handler left the
 * ones it may change) and the vector state are as they were, or as the
 * handler set them in pt_regs; rsp is S again.
 *
 * The frame's unwind info makes it look like a signal frame interrupting
 * the probed code at the probed address, so a backtrace from a handler goes
 * through to the probed function and its callers.
 */
#include "flags.h"

	.text

#define R15	0
#define R14	8
#define R13	16
#define R12	24
#define RBP	32
#define RBX	40
#define R11	48
#define R10	56
#define R9	64
#define R8	72
#define RAX	80
#define RCX	88
#define RDX	96
#define RSI	104
#define RDI	112
#define ORIG_RAX 120
#define RIP	128
#define CS	136
#define EFLAGS	144
#define RSP	152
#define SS	160
#define PT_REGS	168
/* From pt_regs to S: pt_regs, R, the red zone. */
#define TO_S	(PT_REGS + 8 + 128)

#define SAVE_FX		0
#define SAVE_X		1
#define SAVE_XC		2
#define XSTATE_BV	512
/* The fast and lean ways' area: 16 registers of 32 bytes, then MXCSR,
 * the x87 status word and room for an FNSTENV image (28 bytes). */
#define FAST_MXCSR	512
#define FAST_FSW	516
#define FAST_FCW	518
#define FAST_ENV	520
#define FAST_SIZE	576

/*
 * Both ways in share their first and last parts.
 *
 * OPT_ENTRY: build struct pt_regs, anchor it in rbx, keep the probed
 * code's flags in r13 too (the handler may change the copy in pt_regs) and
 * the detour's slot in r14, and align rsp to 64 for the vector save area.
 * (r15 keeps errno across each call, OPT_CALL; r12 the way taken.)
 */
.macro OPT_ENTRY
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_def_cfa %rsp, 136
	.cfi_undefined %rip
	leaq	-PT_REGS(%rsp), %rsp
	.cfi_adjust_cfa_offset PT_REGS
	movq	%r15, R15(%rsp)
	movq	%r14, R14(%rsp)
	movq	%r13, R13(%rsp)
	movq	%r12, R12(%rsp)
	movq	%rbp, RBP(%rsp)
	movq	%rbx, RBX(%rsp)
	movq	%r11, R11(%rsp)
	movq	%r10, R10(%rsp)
	movq	%r9, R9(%rsp)
	movq	%r8, R8(%rsp)
	movq	%rax, RAX(%rsp)
	movq	%rcx, RCX(%rsp)
	movq	%rdx, RDX(%rsp)
	movq	%rsi, RSI(%rsp)
	movq	%rdi, RDI(%rsp)
	.cfi_rel_offset %r15, R15
	.cfi_rel_offset %r14, R14
	.cfi_rel_offset %r13, R13
	.cfi_rel_offset %r12, R12
	.cfi_rel_offset %rbp, RBP
	.cfi_rel_offset %rbx, RBX
	pushfq
	.cfi_adjust_cfa_offset 8
	popq	%r13
	.cfi_adjust_cfa_offset -8
	movq	%r13, EFLAGS(%rsp)
	movq	$-1, ORIG_RAX(%rsp)
	movq	PT_REGS(%rsp), %rax	/* R */
	movq	-27(%rax), %rdx
	movq	%rdx, RIP(%rsp)		/* the probed address */
	.cfi_rel_offset %rip, RIP
	movq	-35(%rax), %r14		/* the detour's slot */
	leaq	TO_S(%rsp), %rax
	movq	%rax, RSP(%rsp)
	movq	kp_x86_user_cs(%rip), %rax	/* reading %cs costs ns */
	movq	%rax, CS(%rsp)
	movq	kp_x86_user_ss(%rip), %rax
	movq	%rax, SS(%rsp)

	movq	%rsp, %rbx
	.cfi_def_cfa_register %rbx
	andq	$-64, %rsp
.endm

/* OPT_CALL: kp_optprobe_handler(slot, regs, light), which returns where
 * to go on (or, light, 0). errno is kept around it here, in r15 (saved in
 * pt_regs), not in C: 1.2 ns less a hit than the C code's save. */
.macro OPT_CALL light
	movq	kp_errno_off(%rip), %r15
	movl	%fs:(%r15), %r15d
	movq	%r14, %rdi		/* the detour's slot */
	movq	%rbx, %rsi		/* struct pt_regs * */
	movl	$\light, %edx
	call	kp_optprobe_handler
	movq	kp_errno_off(%rip), %rcx
	movl	%r15d, %fs:(%rcx)
.endm

/* OPT_RESUME: where "ret $128" goes, from rax, unless a handler moved the
 * stack pointer: kp_optprobe_sp_moved() then sends the thread through one
 * trap that applies the registers whole. */
.macro OPT_RESUME
	leaq	TO_S(%rbx), %rcx
	cmpq	%rcx, RSP(%rbx)
	je	16f
	movq	%rbx, %rdi
	movq	%rax, %rsi
	call	kp_optprobe_sp_moved
16:	movq	%rax, PT_REGS(%rbx)
.endm

/*
 * OPT_EXIT: the flags, as the probed code had them but for those a handler
 * may change (SET_FLAGS, flags.h); then every general register from
 * pt_regs, and back.
 */
.macro OPT_EXIT
	movq	%rbx, %rsp
	.cfi_def_cfa_register %rsp
	movq	EFLAGS(%rsp), %rdx
	andl	$USER_FLAGS, %edx
	andq	$~USER_FLAGS, %r13
	orq	%r13, %rdx
	SET_FLAGS
	/* From here on nothing may change the flags: mov and lea only. */
	movq	R15(%rsp), %r15
	movq	R14(%rsp), %r14
	movq	R13(%rsp), %r13
	movq	R12(%rsp), %r12
	movq	RBP(%rsp), %rbp
	movq	RBX(%rsp), %rbx
	movq	R11(%rsp), %r11
	movq	R10(%rsp), %r10
	movq	R9(%rsp), %r9
	movq	R8(%rsp), %r8
	movq	RAX(%rsp), %rax
	movq	RCX(%rsp), %rcx
	movq	RDX(%rsp), %rdx
	movq	RSI(%rsp), %rsi
	movq	RDI(%rsp), %rdi
	leaq	PT_REGS(%rsp), %rsp
	.cfi_def_cfa_offset 136
	.cfi_undefined %rip
	ret	$128
	.cfi_endproc
.endm

/* ymm0-15 (or xmm0-15 without AVX) to and from the area at rsp. */
.macro SAVE_VECTORS
	cmpb	$0, kp_x86_has_avx(%rip)
	je	12f
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	%ymm\n, \n * 32(%rsp)
	.endr
	vzeroupper			/* no AVX-SSE transition stalls */
	jmp	13f
12:	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	%xmm\n, \n * 32(%rsp)
	.endr
13:
.endm

.macro RESTORE_VECTORS
	cmpb	$0, kp_x86_has_avx(%rip)
	je	14f
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	\n * 32(%rsp), %ymm\n
	.endr
	jmp	15f
14:	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	\n * 32(%rsp), %xmm\n
	.endr
15:
.endm

/*
 * kp_optprobe_lean: for a probe in a function with no x87 or MMX
 * instruction, on a CPU whose XCR0 holds no more than x87, SSE, AVX and
 * PKRU (optprobe.c chooses). The x87 register stack is then empty at the
 * probe (the ABI empties it at every call and return, and the function
 * itself never fills it), so only what a handler can change is saved:
 * ymm0-15, MXCSR, and the x87 status and control words (a handler computing
 * with long double may raise sticky exception flags). No XGETBV (16 ns
 * here).
 *
 * First the light path: when every handler at the probe is known to touch
 * only general registers (the core decoded them at registration),
 * kp_optprobe_handler() runs them at once, and none of that state needs
 * saving: reading MXCSR and the x87 words alone costs about 18 ns here. It
 * returns 0 when a handler needs the state saved.
 */
	.globl	kp_optprobe_lean
	.hidden	kp_optprobe_lean
	.type	kp_optprobe_lean, @function
	.p2align 4
kp_optprobe_lean:
	OPT_ENTRY
	btl	$10, %r13d		/* DF: C wants it clear */
	jnc	5f
	cld
5:
	cmpb	$0, kp_x86_light_ok(%rip)
	je	3f
	OPT_CALL 1
	testq	%rax, %rax
	jz	3f
	OPT_RESUME
	jmp	4f

3:	subq	$FAST_SIZE, %rsp
	stmxcsr	FAST_MXCSR(%rsp)
	fnstsw	FAST_FSW(%rsp)
	fnstcw	FAST_FCW(%rsp)
	SAVE_VECTORS
	OPT_CALL 0
	OPT_RESUME
	fnstcw	FAST_ENV(%rsp)
	movzwl	FAST_ENV(%rsp), %eax
	shll	$16, %eax
	fnstsw	%ax
	cmpl	FAST_FSW(%rsp), %eax	/* the status and control words */
	jne	2f
1:	ldmxcsr	FAST_MXCSR(%rsp)
	RESTORE_VECTORS
4:	OPT_EXIT
2:	/* A handler raised x87 exception flags or changed the control word
	 * (rounding, precision): put both words back. */
	fnstenv	FAST_ENV(%rsp)
	movzwl	FAST_FSW(%rsp), %eax
	movw	%ax, FAST_ENV+4(%rsp)
	movzwl	FAST_FCW(%rsp), %eax
	movw	%ax, FAST_ENV(%rsp)
	fldenv	FAST_ENV(%rsp)
	jmp	1b
	.size	kp_optprobe_lean, . - kp_optprobe_lean

/*
 * kp_optprobe_common: for every other probe. The fast way, when XGETBV(1)
 * says that only SSE and AVX state is in use (no x87 in use, no AVX-512):
 * save ymm or xmm 0-15 and MXCSR with plain moves, where XSAVE/XRSTOR cost
 * about 200 ns here. Otherwise XSAVEC, XSAVE or FXSAVE. r12 (saved in
 * pt_regs) remembers the way taken.
 */
	.globl	kp_optprobe_common
	.hidden	kp_optprobe_common
	.type	kp_optprobe_common, @function
	.p2align 4
kp_optprobe_common:
	OPT_ENTRY
	xorl	%r12d, %r12d
	cmpb	$0, kp_x86_fast_ok(%rip)
	je	8f
	movl	$1, %ecx
	xgetbv
	testl	kp_x86_slow_mask(%rip), %eax
	jnz	8f
	movl	$1, %r12d
	subq	$FAST_SIZE, %rsp
	stmxcsr	FAST_MXCSR(%rsp)
	SAVE_VECTORS
	jmp	5f

8:	subq	kp_x86_save_size(%rip), %rsp
	movl	kp_x86_save_kind(%rip), %ecx
	cmpl	$SAVE_FX, %ecx
	je	1f
	/* XRSTOR faults on a header with reserved bytes set; XSAVE and
	 * XSAVEC write only its first 8 or 16. */
	xorl	%eax, %eax
	movq	%rax, XSTATE_BV(%rsp)
	movq	%rax, XSTATE_BV+8(%rsp)
	movq	%rax, XSTATE_BV+16(%rsp)
	movq	%rax, XSTATE_BV+24(%rsp)
	movq	%rax, XSTATE_BV+32(%rsp)
	movq	%rax, XSTATE_BV+40(%rsp)
	movq	%rax, XSTATE_BV+48(%rsp)
	movq	%rax, XSTATE_BV+56(%rsp)
	movl	kp_x86_save_mask(%rip), %eax
	movl	kp_x86_save_mask+4(%rip), %edx
	cmpl	$SAVE_XC, %ecx
	je	2f
	xsave64	(%rsp)
	jmp	3f
2:	xsavec64 (%rsp)
	/* XSAVEC skips MXCSR when SSE and AVX are in their initial state,
	 * but XRSTOR loads it all the same: store it ourselves. */
	stmxcsr	24(%rsp)
3:	/* XSTATE_BV says which components are not in their initial state:
	 * only those need resetting for C code. */
	testb	$1, XSTATE_BV(%rsp)
	jz	4f
	fninit				/* C wants an empty x87 stack */
4:	testb	$4, XSTATE_BV(%rsp)
	jz	5f
	vzeroupper			/* no AVX-SSE transition stalls */
	jmp	5f
1:	fxsave64 (%rsp)
	fninit
5:	cld

	OPT_CALL 0
	OPT_RESUME

	testl	%r12d, %r12d
	jz	8f
	/* x87 was in its initial state: if a handler used it, so is it
	 * again (FNINIT sets exactly that state). */
	movl	$1, %ecx
	xgetbv
	testb	$1, %al
	jz	1f
	fninit
1:	ldmxcsr	FAST_MXCSR(%rsp)
	RESTORE_VECTORS
	jmp	7f

8:	movl	kp_x86_save_kind(%rip), %ecx
	cmpl	$SAVE_FX, %ecx
	je	6f
	movl	kp_x86_save_mask(%rip), %eax
	movl	kp_x86_save_mask+4(%rip), %edx
	xrstor64 (%rsp)
	jmp	7f
6:	fxrstor64 (%rsp)
7:	OPT_EXIT
	.size	kp_optprobe_common, . - kp_optprobe_common

/*
 * kp_optprobe_kret_lean, kp_optprobe_kret_common: the routine of a
 * dispatching detour (optprobe.c), at a kretprobe's function entry. The
 * direct way first (docs/design.md, "Return probes"): kp_kretprobe_direct()
 * takes a lone kretprobe's instance with nothing of the probed code's
 * saved but what C code may change: the caller-saved general registers
 * and the arithmetic flags (LAHF and SETO, put back with an ADD that
 * overflows or not and SAHF, as flags.h does). No pt_regs, no vector
 * state: no handler of the program's runs here. Where it says no (0), the
 * general way, kp_optprobe_lean or kp_optprobe_common, is entered as the
 * detour's call would have entered it, everything as it was. DF set (C
 * wants it clear; the ABI says it is at a function's entry, so only
 * hand-written code gets here so) goes the general way at once.
 *
 * Frame, from S (the probed code's rsp) down:
 *   S - 128 .. S     the red zone: only kp_kretprobe_direct() writes its
 *                    top two slots, the dispatch (arch_opt_dispatch_at())
 *   S - 136          R, the detour's dispatch; "ret $128" returns there
 *   S - 144          rax
 *   S - 152          the flags: AH as LAHF left it, AL the overflow flag
 *   S - 160          rcx (the PUSHFQ image first, for the DF test)
 *   S - 168 .. S - 216  rdx, rsi, rdi, r8, r9, r10, r11
 * S is 16n + 8 at a function's entry, so rsp is 16-aligned at the call.
 *
 * The unwind info describes a signal frame interrupting the probed code at
 * the probed address (the detour's +8, R - 27), as kp_optprobe_common's,
 * and where the registers saved here are (a debugger shows the probed
 * function's arguments right).
 */
#define KRET_R		80		/* from the lowest push */
#define KRET_S		216

/* Put back the arithmetic flags from S - 152, then rax. */
.macro KRET_FLAGS_RAX
	popq	%rax
	.cfi_adjust_cfa_offset -8
	addb	$0x7f, %al		/* OF: 1 + 0x7f overflows, 0 + 0x7f not */
	sahf
	popq	%rax
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rax
.endm

.macro OPT_KRET general
	.cfi_startproc simple
	.cfi_signal_frame
	.cfi_def_cfa %rsp, 136
	/* DW_CFA_expression rip: *(CFA - 136) - 27 */
	.cfi_escape 0x10, 0x10, 0x07, 0x08, 0x88, 0x1c, 0x06, 0x08, 0x1b, 0x1c
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rax, 0
	lahf
	seto	%al
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	pushfq
	.cfi_adjust_cfa_offset 8
	.cfi_remember_state		/* as at 3 */
	testb	$4, 1(%rsp)		/* DF */
	jnz	3f
	movq	%rcx, (%rsp)
	.cfi_rel_offset %rcx, 0
	.irp	r, rdx, rsi, rdi, r8, r9, r10, r11
	pushq	%\r
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %\r, 0
	.endr
	movq	KRET_R(%rsp), %rdi
	movq	-35(%rdi), %rdi		/* the detour's slot */
	leaq	KRET_S(%rsp), %rsi	/* S */
	call	kp_kretprobe_direct
	testq	%rax, %rax
	/* From here on nothing may change the flags: pop and jcc only. */
	.irp	r, r11, r10, r9, r8, rdi, rsi, rdx, rcx
	popq	%\r
	.cfi_adjust_cfa_offset -8
	.cfi_restore %\r
	.endr
	jz	2f
	KRET_FLAGS_RAX
	ret	$128
3:	.cfi_restore_state		/* rax, the flags, PUSHFQ's image */
	leaq	8(%rsp), %rsp		/* the PUSHFQ image */
	.cfi_adjust_cfa_offset -8
2:	KRET_FLAGS_RAX
	jmp	\general
	.cfi_endproc
.endm

	.globl	kp_optprobe_kret_lean
	.hidden	kp_optprobe_kret_lean
	.type	kp_optprobe_kret_lean, @function
	.p2align 4
kp_optprobe_kret_lean:
	OPT_KRET kp_optprobe_lean
	.size	kp_optprobe_kret_lean, . - kp_optprobe_kret_lean

	.globl	kp_optprobe_kret_common
	.hidden	kp_optprobe_kret_common
	.type	kp_optprobe_kret_common, @function
	.p2align 4
kp_optprobe_kret_common:
	OPT_KRET kp_optprobe_common
	.size	kp_optprobe_kret_common, . - kp_optprobe_kret_common

	/* See kp_optprobe_handler(): the trap that applies the registers a
	 * handler chose, stack pointer included. Never returns here. */
	.globl	kp_opt_resume_bp
	.hidden	kp_opt_resume_bp
	.type	kp_opt_resume_bp, @function
kp_opt_resume_bp:
	int3
	ud2
	.size	kp_opt_resume_bp, . - kp_opt_resume_bp

	.section .note.GNU-stack,"",@progbits
