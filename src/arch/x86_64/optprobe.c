// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86_64 jump optimization: the analysis that says whether a probe's range
 * may be replaced by a jmp rel32, and the detour that jump leads to.
 *
 * A detour is one slot (ARCH_SLOT_SIZE bytes, within rel32 reach of the
 * probe):
 *
 *   +0   .quad  the struct kp_slot of this detour
 *   +8   .quad  the probed address
 *   +16  .quad  kp_optprobe_lean or kp_optprobe_common (dispatching:
 *               kp_optprobe_kret_lean or _common, which try the direct
 *               way first, then go on into the former)
 *   +24  lea    -128(%rsp), %rsp        step over the red zone
 *   +29  call   *-19(%rip)              the .quad at +16; pushes +35
 *   +35  the replaced instructions, relocated
 *        jmp    back to the first byte after the range
 *
 * Either routine (optprobe.S) saves what a handler could change, calls the
 * handlers in C, restores it all and returns with "ret $128": into +35, or to the
 * address a handler chose, with rsp back to what it was at the probe. The
 * call's push lands 136 bytes below the probed code's rsp, under its red
 * zone, which nothing here ever writes.
 *
 * A dispatching detour, at a kretprobe's function entry, where the red
 * zone is free (the function has not begun; its caller's call just wrote
 * over the top of any red zone of its own):
 *
 *   +35  jmp    *-8(%rsp)               dispatch_off
 *   +39  the replaced instructions, relocated, and the jump back
 *
 * Its ret $128 goes to +35, as the call that pushed it says (predicted),
 * and on from there to what arch_opt_dispatch() left at -8(%rsp): the
 * copy at +39, or a return stub's call-in (retstub.c), which calls the
 * copy as the function's caller did: the function's own ret then returns
 * into the stub as the return stack predictor expects.
 *
 * Registration time only (kprobe_mutex held), except where marked.
 */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/* The offsets are arch-insn.h's (X86_DT_*): optprobe.S and a test read
 * the detour too. A dispatching detour's jmp *-8(%rsp) is at
 * X86_DT_COPY, its copy after it. */

extern const char kp_optprobe_common[], kp_optprobe_lean[];
extern const char kp_optprobe_kret_common[], kp_optprobe_kret_lean[];

/* How kp_optprobe_common saves the vector and x87 state (optprobe.S). */
enum { KP_X86_FXSAVE, KP_X86_XSAVE, KP_X86_XSAVEC };
__attribute__((visibility("hidden"))) uint32_t kp_x86_save_kind;
__attribute__((visibility("hidden"))) uint64_t kp_x86_save_size = 512 + 64;
__attribute__((visibility("hidden"))) uint64_t kp_x86_save_mask;
/* The fast way (optprobe.S): XGETBV(1) works, and which in-use state
 * components send a hit the slow way (x87, AVX-512, anything but SSE, AVX
 * and PKRU, which C code does not change). */
__attribute__((visibility("hidden"))) uint8_t kp_x86_fast_ok;
__attribute__((visibility("hidden"))) uint8_t kp_x86_has_avx;
__attribute__((visibility("hidden"))) uint32_t kp_x86_slow_mask;
/* The segment selectors a process's code runs with, for pt_regs. */
__attribute__((visibility("hidden"))) uint64_t kp_x86_user_cs, kp_x86_user_ss;
/* The light path is tried (not in a sanitizer build: see meson.build). */
#ifdef KP_SANITIZED
__attribute__((visibility("hidden"))) uint8_t kp_x86_light_ok;
#else
__attribute__((visibility("hidden"))) uint8_t kp_x86_light_ok = 1;
#endif
/* SAHF works in 64-bit mode (restoring the flags without POPF). */
__attribute__((visibility("hidden"))) uint8_t kp_x86_sahf_ok;
/* kp_optprobe_lean may serve probes in code without x87 instructions:
 * XCR0 holds nothing a handler might change but x87, SSE and AVX state
 * (and PKRU, which C code does not change). With AVX-512 enabled, glibc's
 * string functions may use zmm16-31, which the lean way does not save. */
static bool x86_lean_ok;

/* What the CPU and the kernel let us save: XCR0's components, except AMX
 * tile data (8 KiB, and a program must ask the kernel before using it). */
void x86_init_save_area(void)
{
	unsigned int a, b, c, d;
	uint32_t lo, hi;
	uint16_t cs, ss;

	__asm__("movw %%cs, %0; movw %%ss, %1" : "=r"(cs), "=r"(ss));
	kp_x86_user_cs = cs;
	kp_x86_user_ss = ss;
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		kp_x86_sahf_ok = (c & bit_LAHF_LM) != 0;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	kp_x86_save_mask = ((uint64_t)hi << 32 | lo) & ~(3ull << 17);
	__cpuid_count(0xd, 0, a, b, c, d);
	kp_x86_save_size = b;
	kp_x86_save_kind = KP_X86_XSAVE;
	__cpuid_count(0xd, 1, a, b, c, d);
	kp_x86_fast_ok = (a & 4) != 0;		/* XGETBV with ecx = 1 */
	kp_x86_has_avx = (kp_x86_save_mask & 6) == 6;
	kp_x86_slow_mask = (uint32_t)(kp_x86_save_mask & ~0x206ull);
	x86_lean_ok = (kp_x86_save_mask & ~0x207ull) == 0 &&
		      (kp_x86_save_mask & 6) == 6;
	if (kp_x86_save_mask >> 32)
		kp_x86_fast_ok = 0;	/* components the fast test misses */
	if (a & 2) {
		/* The compacted form is never larger than the standard one;
		 * b covers XCR0 | IA32_XSS, a superset of what we save. */
		kp_x86_save_kind = KP_X86_XSAVEC;
		if (b > kp_x86_save_size)
			kp_x86_save_size = b;
	}
	/* A multiple of 64, for the stack's alignment. */
	kp_x86_save_size = (kp_x86_save_size + 63) & ~63ull;
}

int arch_prepare_optimized(struct probe_point *pp, const uint8_t *func,
			   size_t func_len, uintptr_t func_addr,
			   const char **why)
{
	size_t off = pp->addr - func_addr, pos = off;
	struct arch_insn ai;
	bool x87;
	int n = 0;

	while (pos - off < ARCH_OPT_JMP_LEN) {
		if (pos >= func_len) {
			*why = "the function ends within the jump's 5 bytes";
			return -EOPNOTSUPP;
		}
		if (x86_decode(func + pos, func_len - pos, func_addr + pos,
			       &ai) || ai.kind != X86_OOL || pos + ai.len >
			       func_len) {
			*why = "the jump would replace a branch or an instruction that cannot run out of line";
			return -EOPNOTSUPP;
		}
		pos += ai.len;
		n++;
	}
	if (x86_scan_branches(func, func_len, func_addr, pp->addr,
			      func_addr + pos, &x87, why))
		return -EOPNOTSUPP;
	pp->ainsn.opt_lean = x86_lean_ok && !x87;
	pp->ainsn.opt_len = (uint8_t)(pos - off);
	memcpy(pp->ainsn.opt_bytes, func + off, pos - off);
	return 0;
}

bool arch_code_gpr_only(const uint8_t *code, size_t len, uintptr_t addr,
			uintptr_t *callees, size_t max, size_t *n)
{
	return x86_scan_gpr_only(code, len, addr, (uint64_t *)callees, max, n);
}

size_t arch_opt_len(const struct probe_point *pp)
{
	return pp->ainsn.opt_len;
}

const uint8_t *arch_opt_bytes(const struct probe_point *pp)
{
	return pp->ainsn.opt_bytes;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static int put_jmp(uint8_t *p, uint64_t from, uint64_t to)
{
	int64_t rel = (int64_t)(to - (from + 5));
	int32_t rel32 = (int32_t)rel;

	if (rel != rel32)
		return -ERANGE;
	p[0] = 0xe9;
	memcpy(p + 1, &rel32, sizeof(rel32));
	return 0;
}

int arch_prepare_detour(const struct probe_point *pp, struct kp_slot *d,
			uint8_t *buf, bool dispatch)
{
	static const uint8_t entry[] = {
		0x48, 0x8d, 0x64, 0x24, 0x80,		/* lea -128(%rsp),%rsp */
		0xff, 0x15, 0xed, 0xff, 0xff, 0xff,	/* call *-19(%rip) */
	};
	static const uint8_t jmp_on[] = {
		0xff, 0x64, 0x24, 0xf8,			/* jmp *-8(%rsp) */
	};
	/* A dispatching detour tries the direct way first (optprobe.S),
	 * where the flags can be kept without POPF and the light path is
	 * allowed. */
	bool direct = dispatch && kp_x86_light_ok && kp_x86_sahf_ok;
	size_t at = X86_DT_COPY, off = 0, len = pp->ainsn.opt_len;
	struct kp_copies *c = &d->copies;
	int ret = 0;

	memset(buf, 0xcc, ARCH_SLOT_SIZE);
	put64(buf + X86_DT_SLOT, (uintptr_t)d);
	put64(buf + X86_DT_ORIG, pp->addr);
	put64(buf + X86_DT_ROUTINE, pp->ainsn.opt_lean ?
	      (uintptr_t)(direct ? kp_optprobe_kret_lean : kp_optprobe_lean) :
	      (uintptr_t)(direct ? kp_optprobe_kret_common :
			  kp_optprobe_common));
	memcpy(buf + X86_DT_ENTRY, entry, sizeof(entry));
	d->dispatch_off = 0;
	if (dispatch) {
		memcpy(buf + X86_DT_COPY, jmp_on, sizeof(jmp_on));
		at += sizeof(jmp_on);
		d->dispatch_off = X86_DT_COPY;
	}
	c->n = 0;
	while (off < len) {
		struct arch_insn ai;
		uint8_t trap_off, fixups;
		uint64_t resume;

		ret = x86_decode(pp->ainsn.opt_bytes + off, len - off,
				 pp->addr + off, &ai);
		if (ret)
			break;
		if (at + ai.len + 1 > ARCH_SLOT_SIZE ||
		    c->n == ARCH_OPT_MAX_INSNS) {
			ret = -ERANGE;
			break;
		}
		ret = x86_build_slot(&ai, pp->addr + off, d->addr + at,
				     buf + at, &trap_off, &resume, &fixups);
		if (ret)
			break;
		c->copy_off[c->n] = (uint8_t)at;
		c->orig_off[c->n] = (uint8_t)off;
		c->len[c->n] = ai.len;
		c->n++;
		at += ai.len;
		off += ai.len;
	}
	if (at + 5 > ARCH_SLOT_SIZE)
		ret = -ERANGE;
	if (ret == -ERANGE && dispatch)		/* room without the jmp */
		return arch_prepare_detour(pp, d, buf, false);
	if (ret)
		return ret;
	d->orig = pp->addr;
	d->resume = pp->addr + len;
	d->trap_off = 0;
	d->insn_len = 0;
	d->boosted = true;	/* left by a jump, never by a trap */
	d->kind = KP_SLOT_DETOUR;
	d->fixups = 0;
	return put_jmp(buf + at, d->addr + at, pp->addr + len);
}

/*
 * Where the hit goes on is left at -8(%rsp), in the free red zone, for
 * the detour's jmp at dispatch_off; for a call-in, the copy's address at
 * -16(%rsp) for the stub's call (-24 from its rsp, which is 8 higher by
 * then). Both slots are within 128 bytes below the stack pointer of the
 * instruction that reads them: no signal frame overwrites them.
 * Async-signal-safe.
 */
ARCH_GPR_ONLY uintptr_t arch_opt_dispatch_at(const struct kp_slot *d,
					     uintptr_t sp, uintptr_t to,
					     uintptr_t callin)
{
	uintptr_t *s = (uintptr_t *)sp;

	if (callin) {
		s[-2] = to;
		to = callin;
	}
	s[-1] = to;
	return d->addr + d->dispatch_off;
}

/* The same after the general way, unless a handler moved the stack
 * pointer. Async-signal-safe. */
ARCH_GPR_ONLY uintptr_t arch_opt_dispatch(const struct kp_slot *d,
					  struct pt_regs *regs, uintptr_t to,
					  uintptr_t callin)
{
	/* optprobe.S's frame: pt_regs, the detour's return address, the
	 * red zone, then the probed code's rsp. */
	if (regs->rsp != (uintptr_t)regs + sizeof(*regs) + 8 + 128)
		return to;
	return arch_opt_dispatch_at(d, regs->rsp, to, callin);
}

void arch_opt_jump(const struct probe_point *pp, const struct kp_slot *d,
		   uint8_t *buf)
{
	/* Detours are allocated within reach: this cannot fail. */
	put_jmp(buf, pp->addr, d->addr + X86_DT_ENTRY);
}
