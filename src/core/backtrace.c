// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Honest stacks: libunwind, and what it must know about our return stubs.
 * kprobe_backtrace() is a libunwind walk that leaves the return stubs out
 * (their unwind info steps on to the real callers they stand for).
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL), not linked: libunwind.so.8
 * also exports the _Unwind_* functions of the C++ ABI, and linking it into
 * every program that links libkprobe could put it in front of libgcc's for
 * the program's own exceptions. When the program links libunwind itself,
 * dlopen() returns that same copy, so the stubs' unwind info registered
 * here (_U_dyn_register) is what the program's unw_backtrace() sees.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

static struct {
	bool ok;
	int (*getcontext)(unw_context_t *);
	int (*init_local)(unw_cursor_t *, unw_context_t *);
	int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
	int (*step)(unw_cursor_t *);
	int (*get_reg)(unw_cursor_t *, int, unw_word_t *);
	void (*dyn_register)(unw_dyn_info_t *);
} unw;

/* At initialisation (kprobe_mutex held). Without libunwind, everything
 * but kprobe_backtrace() works. */
void kp_unwind_init(void)
{
	void *h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	unw.getcontext = (int (*)(unw_context_t *))dlsym(h, ARCH_UNW_GETCONTEXT);
	unw.init_local = (int (*)(unw_cursor_t *, unw_context_t *))
		dlsym(h, ARCH_UNW_PREFIX "init_local");
	unw.init_local2 = (int (*)(unw_cursor_t *, unw_context_t *, int))
		dlsym(h, ARCH_UNW_PREFIX "init_local2");
	unw.step = (int (*)(unw_cursor_t *))dlsym(h, ARCH_UNW_PREFIX "step");
	unw.get_reg = (int (*)(unw_cursor_t *, int, unw_word_t *))
		dlsym(h, ARCH_UNW_PREFIX "get_reg");
	unw.dyn_register = (void (*)(unw_dyn_info_t *))
		dlsym(h, "_U_dyn_register");
	unw.ok = unw.getcontext && unw.init_local && unw.init_local2 &&
		 unw.step &&
		 unw.get_reg && unw.dyn_register;
}

/* Tell libunwind about a chunk of return stubs (kprobe_mutex held). */
void kp_unwind_register(const struct arch_ret_chunk *chunk)
{
	static const char name[] = "libkprobe return stubs";
	unw_dyn_info_t *di;

	if (!unw.ok)
		return;
	di = calloc(1, sizeof(*di));	/* registered for good */
	if (!di)
		return;
	di->start_ip = chunk->start_ip;
	di->end_ip = chunk->end_ip;
	di->format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di->u.rti.name_ptr = (unw_word_t)name;
	di->u.rti.segbase = chunk->segbase;
	di->u.rti.table_len = chunk->table_len / sizeof(unw_word_t);
	di->u.rti.table_data = (unw_word_t)chunk->table;
	unw.dyn_register(di);
}

/*
 * Async-signal-safe as far as libunwind's local unwinding is.
 *
 * Where the walk starts:
 *  - no @regs: at our caller;
 *  - a return handler's @regs: their ip is a return address, an ordinary
 *    call site; walk from here through the trampoline (whose unwind info
 *    leads to the real caller) and record from the frame they describe;
 *  - any other handler's @regs (a pre_handler's): start from @regs
 *    themselves. Walking from here would reach the probed function through
 *    the signal frame with the ip past the breakpoint, and at a function's
 *    first instruction the unwind info for that ip assumes a push that has
 *    not happened yet.
 */
KP_EXPORT int kprobe_backtrace(const struct pt_regs *regs, void **buf,
			       int size)
{
	unw_context_t ctx;
	unw_cursor_t cur;
	bool from_regs = regs && !kp_is_return_regs(regs);
	bool recording = !regs || from_regs;
	int n = 0, steps = 0;

	if (!buf || size <= 0)
		return -EINVAL;
	if (!unw.ok)
		return -ENOSYS;
	if (unw.getcontext(&ctx))
		return -EFAULT;
	/*
	 * unw_context_t is a ucontext_t on the arches we support. Starting
	 * from regs, tell libunwind that their ip is exact (as in a signal
	 * frame): by default it takes the ip for a return address and looks
	 * up the instruction before it, in the previous function.
	 */
	if (from_regs) {
		arch_regs_to_uc(regs, (ucontext_t *)&ctx);
		if (unw.init_local2(&cur, &ctx, UNW_INIT_SIGNAL_FRAME) < 0)
			return -EFAULT;
	} else if (unw.init_local(&cur, &ctx) < 0) {
		return -EFAULT;
	}
	/* Not ourselves. */
	if (!from_regs && unw.step(&cur) <= 0)
		return 0;
	do {
		unw_word_t ip, sp;

		if (unw.get_reg(&cur, UNW_REG_IP, &ip) ||
		    unw.get_reg(&cur, UNW_REG_SP, &sp))
			break;
		if (!recording && sp == user_stack_pointer(regs) &&
		    ip == instruction_pointer(regs))
			recording = true;
		/* A return stub's frame: the next step lands on the real
		 * caller, which it stands for. */
		if (recording && kretprobe_find_ret_addr(ip) == ip)
			buf[n++] = (void *)ip;
	} while (n < size && ++steps < 1024 && unw.step(&cur) > 0);
	return n;
}
