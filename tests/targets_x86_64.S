/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probe targets whose exact instructions the live tests need.
 *
 * C gives no control over which instruction sits at which offset; these do.
 * Every function follows the SysV ABI so the tests call it from C through a
 * pointer. A global label *_site marks the probed instruction, and other
 * labels mark where execution must continue after it (the successor, a
 * branch target, a return address), so a post_handler can compare
 * instruction_pointer(regs) with them. Labels are globals of no type: they
 * do not split the enclosing function in the symbol table.
 */

#define FUNC(name)	.globl name; .type name, @function; name:
#define END(name)	.size name, . - name
#define LABEL(name)	.globl name; name:

	.data
	.balign 8
LABEL(t_data)
	.quad	0x1122334455667788
/* t_small sits between two guard words: a RIP-relative operand resolved
 * against the wrong instruction end reads or writes a neighbour. */
LABEL(t_guard0)
	.quad	0x0badc0de0badc0de
LABEL(t_small)
	.long	0x12345678
	.long	0x0badc0de
LABEL(t_store32)
	.long	0
	.long	0x0badc0de
LABEL(t_guard1)
	.quad	0x0badc0de0badc0de
LABEL(t_store)
	.quad	0
/* A PLT-like slot for the memory-indirect call and jmp. */
LABEL(t_fnptr)
	.quad	t_mul3

	.text

/* long t_add(long a, long b): a + b. First instruction 3 bytes, size 7. */
	.p2align 4
FUNC(t_add)
	movq	%rdi, %rax		/* 48 89 f8 */
LABEL(t_add_second)
	addq	%rsi, %rax		/* 48 01 f0 */
LABEL(t_add_ret)
	ret				/* c3 */
END(t_add)

/* long t_mul3(long x): 3 * x. The callee of the call/jmp vectors. */
	.p2align 4
FUNC(t_mul3)
	leaq	(%rdi,%rdi,2), %rax
	ret
END(t_mul3)

/* ---- RIP-relative operands ---- */

/* long t_riprel_load(void): t_data. */
	.p2align 4
FUNC(t_riprel_load)
	xorl	%eax, %eax
LABEL(t_riprel_load_site)
	movq	t_data(%rip), %rax
LABEL(t_riprel_load_next)
	ret
END(t_riprel_load)

/* long t_riprel_lea(void): &t_data. */
	.p2align 4
FUNC(t_riprel_lea)
	xorl	%eax, %eax
LABEL(t_riprel_lea_site)
	leaq	t_data(%rip), %rax
	ret
END(t_riprel_lea)

/*
 * long t_riprel_cmpimm(void): 1 if t_small == 0x12345678. The immediate
 * follows the displacement, so the displacement is relative to the end of
 * the immediate, not of the displacement.
 */
	.p2align 4
FUNC(t_riprel_cmpimm)
	xorl	%eax, %eax
LABEL(t_riprel_cmpimm_site)
	cmpl	$0x12345678, t_small(%rip)
	sete	%al
	ret
END(t_riprel_cmpimm)

/* long t_riprel_store(long x): stores x in t_store, returns it reloaded. */
	.p2align 4
FUNC(t_riprel_store)
LABEL(t_riprel_store_site)
	movq	%rdi, t_store(%rip)
	movq	t_store(%rip), %rax
	ret
END(t_riprel_store)

/* long t_riprel_storeimm(void): stores an immediate in t_store32 (disp32
 * then imm32) and returns it reloaded. */
	.p2align 4
FUNC(t_riprel_storeimm)
LABEL(t_riprel_storeimm_site)
	movl	$0x5aa55aa5, t_store32(%rip)
	movl	t_store32(%rip), %eax
	ret
END(t_riprel_storeimm)

/* ---- direct branches ---- */

/* long t_call(long x): 3 * x + 1 through a call rel32. */
	.p2align 4
FUNC(t_call)
	pushq	%rbp
	movq	%rsp, %rbp
LABEL(t_call_site)
	call	t_mul3
LABEL(t_call_ret)
	addq	$1, %rax
	popq	%rbp
	ret
END(t_call)

/* long t_jmp8(long x): x + 1; the jmp rel8 skips the + 100. */
	.p2align 4
FUNC(t_jmp8)
	movq	%rdi, %rax
LABEL(t_jmp8_site)
	jmp	1f			/* eb 04 */
	addq	$100, %rax		/* 48 83 c0 64 */
1:
LABEL(t_jmp8_target)
	addq	$1, %rax
	ret
END(t_jmp8)

/* long t_jmp32(long x): x + 2; jmp rel32 spelled out, since gas would
 * choose the short form. */
	.p2align 4
FUNC(t_jmp32)
	movq	%rdi, %rax
LABEL(t_jmp32_site)
	.byte	0xe9
	.long	t_jmp32_target - (. + 4)
	addq	$100, %rax
LABEL(t_jmp32_target)
	addq	$2, %rax
	ret
END(t_jmp32)

/* long t_jz(long x): x == 0 ? 10 : 20; the jz rel8 is taken for x == 0. */
	.p2align 4
FUNC(t_jz)
	testq	%rdi, %rdi
LABEL(t_jz_site)
	jz	1f			/* 74 06 */
LABEL(t_jz_fall)
	movl	$20, %eax
	ret
1:
LABEL(t_jz_target)
	movl	$10, %eax
	ret
END(t_jz)

/* long t_jnz32(long x): x != 0 ? 40 : 30; jnz rel32 (0f 85) spelled out. */
	.p2align 4
FUNC(t_jnz32)
	testq	%rdi, %rdi
LABEL(t_jnz32_site)
	.byte	0x0f, 0x85
	.long	t_jnz32_target - (. + 4)
LABEL(t_jnz32_fall)
	movl	$30, %eax
	ret
LABEL(t_jnz32_target)
	movl	$40, %eax
	ret
END(t_jnz32)

/* long t_jnz_back(long n): n for n >= 1; the backward jnz runs n times,
 * taken n - 1 times. */
	.p2align 4
FUNC(t_jnz_back)
	xorl	%eax, %eax
LABEL(t_jnz_back_top)
1:	addq	$1, %rax
	subq	$1, %rdi
LABEL(t_jnz_back_site)
	jnz	1b			/* 75 f6 */
LABEL(t_jnz_back_fall)
	ret
END(t_jnz_back)

/* long t_loop(long n): n for n >= 1; the loop instruction runs n times. */
	.p2align 4
FUNC(t_loop)
	movq	%rdi, %rcx
	xorl	%eax, %eax
LABEL(t_loop_top)
1:	addq	$1, %rax
LABEL(t_loop_site)
	loop	1b			/* e2 fa */
LABEL(t_loop_fall)
	ret
END(t_loop)

/* long t_ret(long x): x ^ 0x5a, probed on its ret. */
	.p2align 4
FUNC(t_ret)
	movq	%rdi, %rax
	xorq	$0x5a, %rax
LABEL(t_ret_site)
	ret
END(t_ret)

/* ---- indirect branches ---- */

/* long t_call_rax(long x): 3 * x + 1 through call *%rax. */
	.p2align 4
FUNC(t_call_rax)
	pushq	%rbp
	movq	%rsp, %rbp
	leaq	t_mul3(%rip), %rax
LABEL(t_call_rax_site)
	call	*%rax
LABEL(t_call_rax_ret)
	addq	$1, %rax
	popq	%rbp
	ret
END(t_call_rax)

/* long t_call_r11(long x): 3 * x + 2 through call *%r11 (REX prefix). */
	.p2align 4
FUNC(t_call_r11)
	pushq	%rbp
	movq	%rsp, %rbp
	leaq	t_mul3(%rip), %r11
LABEL(t_call_r11_site)
	call	*%r11
	addq	$2, %rax
	popq	%rbp
	ret
END(t_call_r11)

/* long t_jmp_rax(long x): 3 * x, a tail call through jmp *%rax. */
	.p2align 4
FUNC(t_jmp_rax)
	leaq	t_mul3(%rip), %rax
LABEL(t_jmp_rax_site)
	jmp	*%rax
END(t_jmp_rax)

/* long t_call_mem(long x): 3 * x + 3 through call *t_fnptr(%rip). */
	.p2align 4
FUNC(t_call_mem)
	pushq	%rbp
	movq	%rsp, %rbp
LABEL(t_call_mem_site)
	call	*t_fnptr(%rip)
LABEL(t_call_mem_ret)
	addq	$3, %rax
	popq	%rbp
	ret
END(t_call_mem)

/* long t_jmp_mem(long x): 3 * x through jmp *t_fnptr(%rip), as a PLT
 * entry does. */
	.p2align 4
FUNC(t_jmp_mem)
LABEL(t_jmp_mem_site)
	jmp	*t_fnptr(%rip)
END(t_jmp_mem)

/* ---- stack ---- */

/* long t_pushpop(long x): x, through the stack. */
	.p2align 4
FUNC(t_pushpop)
LABEL(t_push_site)
	pushq	%rdi
LABEL(t_pop_site)
	popq	%rax
	ret
END(t_pushpop)

/* long t_push_riprel(void): t_data, pushed from memory RIP-relative. */
	.p2align 4
FUNC(t_push_riprel)
LABEL(t_push_riprel_site)
	pushq	t_data(%rip)
	popq	%rax
	ret
END(t_push_riprel)

/* ---- system call ---- */

/* long t_getpid(void): getpid() through a raw syscall. */
	.p2align 4
FUNC(t_getpid)
	movl	$39, %eax		/* __NR_getpid */
LABEL(t_syscall_site)
	syscall
LABEL(t_syscall_next)
	ret
END(t_getpid)

/*
 * long t_straddle(void): 7. Its first byte (a nop) is the last of a page
 * and the rest is on the next: t_straddle_second, page-aligned, is in
 * another mapping once patching has split the text at page granularity.
 */
	.p2align 12
	.skip	4095, 0xcc
FUNC(t_straddle)
	nop
LABEL(t_straddle_second)
	movl	$7, %eax
	ret
END(t_straddle)

/* ---- what register_kprobe() must refuse (never called) ---- */

/* A 10-byte first instruction: t_long_first + 1..9 are not boundaries. */
	.p2align 4
FUNC(t_long_first)
	movabsq	$0x1122334455667788, %rax
LABEL(t_long_first_ret)
	ret
END(t_long_first)

	.p2align 4
FUNC(t_bad_ud2)
	ud2
	ret
END(t_bad_ud2)

	.p2align 4
FUNC(t_bad_int3)
	int3
	ret
END(t_bad_int3)

	.p2align 4
FUNC(t_bad_int80)
	int	$0x80
	ret
END(t_bad_int80)

	.p2align 4
FUNC(t_bad_hlt)
	hlt
	ret
END(t_bad_hlt)

/* ---- a breakpoint that is the program's own ---- */

/* long t_foreign_int3(long x): x + 1, with an int3 after the first
 * instruction that no probe owns. The addq is 4 bytes, so a SIGTRAP handler
 * that skips it makes the function return x. */
	.p2align 4
FUNC(t_foreign_int3)
	movq	%rdi, %rax
LABEL(t_foreign_int3_site)
	int3
LABEL(t_foreign_int3_after)
	addq	$1, %rax		/* 48 83 c0 01 */
LABEL(t_foreign_int3_end)
	ret
END(t_foreign_int3)

/* ---- faults ---- */

/* long t_fault_load(const long *p): *p; the load is 3 bytes. */
	.p2align 4
FUNC(t_fault_load)
LABEL(t_fault_load_site)
	movq	(%rdi), %rax		/* 48 8b 07 */
LABEL(t_fault_load_next)
	ret
END(t_fault_load)

/* long t_fault_plain(const long *p): the same load, never probed. */
	.p2align 4
FUNC(t_fault_plain)
	movq	(%rdi), %rax
	ret
END(t_fault_plain)

/* long t_fault_callmem(long (**fp)(long), long x): (*fp)(x) through
 * call *(%rax): the operand is read by whoever executes the call. */
	.p2align 4
FUNC(t_fault_callmem)
	pushq	%rbp
	movq	%rsp, %rbp
	movq	%rdi, %rax
	movq	%rsi, %rdi
LABEL(t_fault_callmem_site)
	call	*(%rax)
	popq	%rbp
	ret
END(t_fault_callmem)

/* ---- register state across a hit ---- */

/*
 * void t_xmm(const uint8_t in[256], uint8_t out[260]): loads xmm0..xmm15
 * from in, runs a probed nop and a probed mov, then stores xmm0..xmm15 and
 * MXCSR to out.
 */
	.p2align 4
FUNC(t_xmm)
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	\n * 16(%rdi), %xmm\n
	.endr
LABEL(t_xmm_nop)
	nop
LABEL(t_xmm_mov)
	movq	%rdi, %rax
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	movdqu	%xmm\n, \n * 16(%rsi)
	.endr
	stmxcsr	256(%rsi)
	ret
END(t_xmm)

/*
 * void t_gprs(unsigned long out[16]): puts a known value in every general
 * register but rsp and known flags (CF, SF, AF, PF set; ZF, OF clear), runs
 * a probed nop, and stores rax, rbx, rcx, rdx, rsi, rdi, rbp, r8..r15 and
 * rflags to out[0..15].
 */
	.p2align 4
FUNC(t_gprs)
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	%rdi
	movabsq	$0xa0a0a0a0a0a0a000, %rax
	movabsq	$0xa1a1a1a1a1a1a101, %rbx
	movabsq	$0xa2a2a2a2a2a2a202, %rcx
	movabsq	$0xa3a3a3a3a3a3a303, %rdx
	movabsq	$0xa4a4a4a4a4a4a404, %rsi
	movabsq	$0xa5a5a5a5a5a5a505, %rdi
	movabsq	$0xa6a6a6a6a6a6a606, %rbp
	movabsq	$0xa7a7a7a7a7a7a707, %r8
	movabsq	$0xa8a8a8a8a8a8a808, %r9
	movabsq	$0xa9a9a9a9a9a9a909, %r10
	movabsq	$0xaaaaaaaaaaaaaa0a, %r11
	movabsq	$0xabababababab0b0b, %r12
	movabsq	$0xacacacacacac0c0c, %r13
	movabsq	$0xadadadadadad0d0d, %r14
	movabsq	$0xaeaeaeaeaeae0e0e, %r15
	/* 0 - 1: CF, SF, AF, PF set; ZF, OF clear. movabs leaves flags. */
	movl	$0, %eax
	subl	$1, %eax
	movabsq	$0xa0a0a0a0a0a0a000, %rax
LABEL(t_gprs_site)
	nop
	pushfq
	pushq	%rax
	movq	16(%rsp), %rax		/* out */
	movq	%rbx, 8(%rax)
	movq	%rcx, 16(%rax)
	movq	%rdx, 24(%rax)
	movq	%rsi, 32(%rax)
	movq	%rdi, 40(%rax)
	movq	%rbp, 48(%rax)
	movq	%r8, 56(%rax)
	movq	%r9, 64(%rax)
	movq	%r10, 72(%rax)
	movq	%r11, 80(%rax)
	movq	%r12, 88(%rax)
	movq	%r13, 96(%rax)
	movq	%r14, 104(%rax)
	movq	%r15, 112(%rax)
	popq	%rbx			/* rax at the probe */
	movq	%rbx, 0(%rax)
	popq	%rbx			/* rflags at the probe */
	movq	%rbx, 120(%rax)
	popq	%rdi
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret
END(t_gprs)

/*
 * long t_redzone(long x): a leaf function keeping data in its red zone (the
 * 128 bytes below rsp that signal delivery must not touch) across a probed
 * nop. Returns 7 when all three words survived; each lost word clears a bit.
 */
	.p2align 4
FUNC(t_redzone)
	movq	%rdi, -8(%rsp)
	movq	%rdi, %rdx
	notq	%rdx
	movq	%rdx, -64(%rsp)
	movq	%rdi, %rdx
	xorq	$0x5555, %rdx
	movq	%rdx, -128(%rsp)
LABEL(t_redzone_site)
	nop
	xorl	%eax, %eax
	cmpq	%rdi, -8(%rsp)
	jne	1f
	orl	$1, %eax
1:	movq	%rdi, %rdx
	notq	%rdx
	cmpq	%rdx, -64(%rsp)
	jne	2f
	orl	$2, %eax
2:	movq	%rdi, %rdx
	xorq	$0x5555, %rdx
	cmpq	%rdx, -128(%rsp)
	jne	3f
	orl	$4, %eax
3:	ret
END(t_redzone)


/*
 * Jump optimization (test_optprobe.c). Each function starts with at least
 * 5 bytes of straight-line instructions unless it says otherwise.
 */

/* long t_opt_add(long x): x + 1. */
	.p2align 4
FUNC(t_opt_add)
	movq	%rdi, %rax
	addq	$1, %rax
	ret
END(t_opt_add)

/* long t_opt_other(long x): 2x, where a redirecting handler sends calls. */
	.p2align 4
FUNC(t_opt_other)
	leaq	(%rdi,%rdi), %rax
	ret
END(t_opt_other)

/* long t_opt_fault(const long *p): *p + 1. The load is the second
 * instruction of the range a jump at the entry replaces. */
	.p2align 4
FUNC(t_opt_fault)
	nop
LABEL(t_opt_fault_load)
	movq	(%rdi), %rax
	addq	$1, %rax
	ret
END(t_opt_fault)

/* long t_opt_jumpin(long n): n (n >= 1) by a loop whose branch goes back
 * to the entry's second instruction: the entry cannot be optimized. */
	.p2align 4
FUNC(t_opt_jumpin)
	xorl	%eax, %eax
1:	addq	$1, %rax
	decq	%rdi
	jg	1b
	ret
END(t_opt_jumpin)

/* long t_opt_indirect(long x): x + 1, through an indirect jump, which may
 * be a jump table's: nothing in the function can be optimized. */
	.p2align 4
FUNC(t_opt_indirect)
	movq	%rdi, %rax
	addq	$1, %rax
	leaq	1f(%rip), %rcx
	jmp	*%rcx
1:	ret
END(t_opt_indirect)

/* void t_ymm(const uint8_t in[512], uint8_t out[512]): loads ymm0-15,
 * runs the probed site, stores them (AVX). */
	.p2align 4
FUNC(t_ymm)
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	\n * 32(%rdi), %ymm\n
	.endr
LABEL(t_ymm_site)
	movq	%rdi, %rax
	addq	$0, %rax
	.irp	n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	%ymm\n, \n * 32(%rsi)
	.endr
	vzeroupper
	ret
END(t_ymm)

	.section .note.GNU-stack, "", @progbits
