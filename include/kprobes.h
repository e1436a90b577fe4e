/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkprobe: the Linux kernel's kprobes, for a process's own code.
 *
 * The names and semantics follow the kernel's <linux/kprobes.h> so that
 * kernel-side knowledge carries over. Everything that differs because this
 * runs in userspace is said in docs/api.md.
 */
#ifndef LIBKPROBE_KPROBES_H
#define LIBKPROBE_KPROBES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBKPROBE_VERSION_MAJOR 0
#define LIBKPROBE_VERSION_MINOR 1

/*
 * struct pt_regs: the register set a handler sees and may change.
 *
 * The layout is the kernel's uapi one (<asm/ptrace.h>). We spell it out here
 * rather than include <asm/ptrace.h>, which also defines bare macros such as
 * CS, SS and RIP and clashes with <sys/ptrace.h>. A program that included
 * <asm/ptrace.h> first gets that definition, which is the same layout.
 */
#if defined(__x86_64__)
#ifndef _ASM_X86_PTRACE_H
struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long rbp;
	unsigned long rbx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long rax;
	unsigned long rcx;
	unsigned long rdx;
	unsigned long rsi;
	unsigned long rdi;
	unsigned long orig_rax;
	unsigned long rip;
	unsigned long cs;
	unsigned long eflags;
	unsigned long rsp;
	unsigned long ss;
};
#endif
typedef uint8_t kprobe_opcode_t;
#elif defined(__powerpc64__)
/* glibc's <signal.h> brings the kernel's <asm/ptrace.h> on powerpc: use
 * its struct pt_regs (gpr[32], nip, msr, orig_gpr3, ctr, link, xer, ccr,
 * softe, trap, dar, dsisr, result), the layout of the signal frame's
 * gp_regs. */
#include <asm/ptrace.h>
typedef uint32_t kprobe_opcode_t;
#else
#error "libkprobe supports x86_64 and ppc64"
#endif

struct kprobe;

/*
 * Handler types, as in the kernel.
 *
 * pre_handler:  called before the probed instruction runs, with regs as they
 *               are at the probed address (instruction_pointer(regs) ==
 *               p->addr). Return 0 to let the instruction run; return
 *               non-zero if the handler changed the instruction pointer
 *               itself, and then the probed instruction is not executed.
 * post_handler: called after the probed instruction ran, with regs as they
 *               are then. flags is 0.
 * fault_handler: called when a fault (trapnr is the signal number: SIGSEGV,
 *               SIGBUS, SIGFPE or SIGILL) is raised while this probe's
 *               handler or its displaced instruction runs. Return non-zero if
 *               it handled the fault (for example by changing regs); return
 *               0 to pass the fault on to the program.
 *
 * In the trap path handlers run in signal context: they must be
 * async-signal-safe (see docs/api.md).
 */
typedef int (*kprobe_pre_handler_t)(struct kprobe *p, struct pt_regs *regs);
typedef void (*kprobe_post_handler_t)(struct kprobe *p, struct pt_regs *regs,
				      unsigned long flags);
typedef int (*kprobe_fault_handler_t)(struct kprobe *p, struct pt_regs *regs,
				      int trapnr);
/* break_handler: called when a breakpoint is hit while this probe's
 * handlers are active on the thread (the seed's; jprobes use it for
 * jprobe_return()). Return non-zero if it handled the hit. */
typedef int (*kprobe_break_handler_t)(struct kprobe *p, struct pt_regs *regs);

/* Values of kprobe.flags (the kernel's). */
#define KPROBE_FLAG_GONE	1 /* the code it probed was unloaded */
#define KPROBE_FLAG_DISABLED	2 /* registered but not armed */
#define KPROBE_FLAG_OPTIMIZED	4 /* hit through a jump, not a trap */

/**
 * struct kprobe - one probe, owned by the caller.
 * @addr:          address of the probed instruction; or NULL, with
 *                 @symbol_name set. Filled in by register_kprobe().
 * @symbol_name:   "sym" or "obj:sym" (obj is a loaded object's file name,
 *                 e.g. "libz.so.1", or its path); resolved at registration.
 * @offset:        byte offset from the symbol (or from @addr).
 * @pre_handler:   see kprobe_pre_handler_t; may be NULL.
 * @post_handler:  see kprobe_post_handler_t; may be NULL.
 * @fault_handler: see kprobe_fault_handler_t; may be NULL.
 * @break_handler: see kprobe_break_handler_t; NULL unless you implement a
 *                 jprobe-like scheme (register_jprobe() sets it).
 * @nmissed:       hits that did not run the handlers (recursion); updated
 *                 atomically by the library, read it with a relaxed load.
 * @flags:         KPROBE_FLAG_*; set KPROBE_FLAG_DISABLED before
 *                 registration to register without arming.
 *
 * The struct must stay at the same address and alive from register_kprobe()
 * until unregister_kprobe() returns. Fields after @flags are the library's.
 */
struct kprobe {
	kprobe_opcode_t *addr;
	const char *symbol_name;
	unsigned int offset;
	kprobe_pre_handler_t pre_handler;
	kprobe_post_handler_t post_handler;
	kprobe_fault_handler_t fault_handler;
	kprobe_break_handler_t break_handler;
	unsigned long nmissed;
	unsigned int flags;

	/* private: libkprobe's own, do not touch */
	/* Unused (it was a hit count: one counter that every hit wrote made
	 * threads hitting a probe together wait for each other). A handler
	 * counts its own calls where it needs them. */
	unsigned long reserved;
	void *priv;
};

/**
 * register_kprobe() - resolve, check and arm one probe.
 * Return: 0, or a negative errno (table in docs/api.md); on failure nothing
 * in the process changed.
 */
int register_kprobe(struct kprobe *p);
/** unregister_kprobe() - disarm and forget @p. When it returns, no thread is
 * running or will run @p's handlers, and @p may be freed. */
void unregister_kprobe(struct kprobe *p);
/** register_kprobes() - all or nothing: on a failure the probes already
 * registered by this call are unregistered and the error is returned. */
int register_kprobes(struct kprobe **kps, int num);
void unregister_kprobes(struct kprobe **kps, int num);
/** disable_kprobe()/enable_kprobe() - disarm/re-arm a registered probe.
 * Return: 0, or -EINVAL if @p is not registered. */
int disable_kprobe(struct kprobe *p);
int enable_kprobe(struct kprobe *p);

/**
 * kprobe_lookup_name() - runtime address of @name + @offset.
 * @name: "sym" or "obj:sym", as kprobe.symbol_name.
 * On ppc64 ELFv2, @offset 0 gives the local entry point (where a probe on
 * the function goes), as the kernel's does.
 * Return: the address, or NULL if the name is unknown or ambiguous
 * (kprobe_last_error() says which).
 */
kprobe_opcode_t *kprobe_lookup_name(const char *name, unsigned int offset);

/**
 * kprobe_last_error() - a message about the last failed call of this thread
 * (e.g. which objects define an ambiguous symbol). Never NULL; "" if none.
 */
const char *kprobe_last_error(void);

/**
 * kprobe_list() - print every registered probe, like the kernel's
 * /sys/kernel/debug/kprobes/list: "ADDR  k  sym+off  [obj]  [DISABLED]".
 * Return: the number of probes listed, or a negative errno.
 */
int kprobe_list(FILE *out);
/** kprobe_blacklist_print() - print the address ranges that cannot be probed
 * and why ("START-END  reason"). Return: the number of ranges. */
int kprobe_blacklist_print(FILE *out);

/**
 * kprobe_optimization() - the process-wide switch for jump optimization,
 * like the kernel's debug.kprobes-optimization sysctl. @enable: 1 turns it
 * on (probes that qualify are optimized before the call returns), 0 turns
 * it off (every optimized probe goes back to a breakpoint), -1 only asks.
 * The environment variable LIBKPROBE_OPTIMIZE=0 starts a process with it
 * off. Return: the previous setting (0 or 1), or a negative errno.
 */
int kprobe_optimization(int enable);
/**
 * kprobe_optimized() - is @p registered and reached by a jump (no trap)?
 * See docs/design.md, "Jump optimization", for when a probe qualifies.
 */
bool kprobe_optimized(const struct kprobe *p);

/*
 * Return probes (kretprobes).
 *
 * A kretprobe is a kprobe at a function's entry that swaps the return
 * address for one of the library's trampolines: when the function returns,
 * @handler runs with the return value in regs (regs_return_value()) and may
 * change it; then the caller receives it. @entry_handler runs at the entry
 * (in signal context, like a pre_handler); if it returns non-zero, this call
 * is not return-probed. Each pending return needs an instance: @maxactive of
 * them are allocated at registration (0: the default, max(10, 2 * CPUs));
 * a call that finds none free runs unprobed and counts in @nmissed.
 *
 * @handler runs in the returning thread's ordinary context (not in a signal
 * handler), but it may interrupt anything that thread was doing no more
 * than a signal handler could: keep it async-signal-safe too.
 */
struct kretprobe_instance;
typedef int (*kretprobe_handler_t)(struct kretprobe_instance *ri,
				   struct pt_regs *regs);

struct kretprobe {
	struct kprobe kp;
	kretprobe_handler_t handler;
	kretprobe_handler_t entry_handler;
	int maxactive;
	int nmissed;
	size_t data_size;

	/* private: libkprobe's own */
	void *priv;
};

/**
 * struct kretprobe_instance - one pending return of a return-probed call.
 * @rp:       the kretprobe (use get_kretprobe()).
 * @ret_addr: the real return address.
 * @fp:       the stack pointer at the function's entry (where @ret_addr
 *            was).
 * @data:     @rp->data_size bytes shared by the entry and return handlers
 *            of this call.
 */
struct kretprobe_instance {
	struct kretprobe *rp;
	kprobe_opcode_t *ret_addr;
	void *fp;
	char data[] __attribute__((aligned(16)));
};

static inline struct kretprobe *get_kretprobe(struct kretprobe_instance *ri)
{
	return ri->rp;
}

int register_kretprobe(struct kretprobe *rp);
void unregister_kretprobe(struct kretprobe *rp);
int register_kretprobes(struct kretprobe **rps, int num);
void unregister_kretprobes(struct kretprobe **rps, int num);

/**
 * kretprobe_find_ret_addr() - the real return address behind @addr, when
 * @addr is one of the library's return trampolines; @addr otherwise.
 * Async-signal-safe. For the calling thread's pending returns.
 */
unsigned long kretprobe_find_ret_addr(unsigned long addr);

/**
 * kprobe_backtrace() - the calling thread's stack, with return trampolines
 * replaced by the real return addresses (libunwind).
 * @regs: the registers of a handler (the walk starts at the probed point),
 *        or NULL to start at the caller of kprobe_backtrace().
 * @buf:  receives up to @size instruction addresses, innermost first.
 * Return: the number of addresses stored, or a negative errno.
 * Async-signal-safe as far as libunwind's local unwinding is.
 */
int kprobe_backtrace(const struct pt_regs *regs, void **buf, int size);

/*
 * jprobes (the seed's; removed from the kernel in 2018, kept here for
 * completeness). @entry is a function with the probed function's own
 * prototype; it is called with the probed function's arguments, and must
 * end with jprobe_return() instead of returning. Then the probed function
 * runs with its arguments and stack untouched. See docs/api.md for why the
 * kernel dropped them and what to use instead.
 */
struct jprobe {
	struct kprobe kp;
	void *entry;
};

int register_jprobe(struct jprobe *jp);
void unregister_jprobe(struct jprobe *jp);
int register_jprobes(struct jprobe **jps, int num);
void unregister_jprobes(struct jprobe **jps, int num);
/* End of a jprobe's entry function: never returns to it. */
void jprobe_return(void) __attribute__((noreturn));

/*
 * Read memory that may not be mapped, from a handler (the kernel's names).
 * copy_from_user_nofault() copies @size bytes: 0, or -EFAULT if any of
 * them is not readable (what was copied before is in @dst).
 * strncpy_from_user_nofault() copies a NUL-terminated string of at most
 * @count bytes with its NUL: its length, @count if no NUL came within it
 * (@dst is then not terminated), or -EFAULT.
 * Both work once a probe has been registered (the fault handler is then
 * installed). Async-signal-safe.
 */
long copy_from_user_nofault(void *dst, const void *src, size_t size);
long strncpy_from_user_nofault(char *dst, const void *src, long count);

/*
 * regs_query_register_offset() - where register @name is in struct pt_regs,
 * in bytes, as the kernel's: x86_64 "ax" "bx" "cx" "dx" "si" "di" "bp" "sp"
 * "ip" "flags" "orig_ax" "cs" "ss" "r8".."r15" (also "rax", "rip", ...);
 * ppc64 "r0".."r31" "nip" "msr" "orig_gpr3" "ctr" "link" "xer" "ccr"
 * "softe" "trap" "dar" "dsisr".
 * Return the offset, or -EINVAL for a name it does not know.
 */
int regs_query_register_offset(const char *name);

/*
 * Register accessors, as in the kernel. regs_get_argument() is valid at a
 * function's first instruction only (before it changes the stack).
 */
#if defined(__x86_64__)
static inline unsigned long instruction_pointer(const struct pt_regs *regs)
{
	return regs->rip;
}
static inline void instruction_pointer_set(struct pt_regs *regs,
					   unsigned long v)
{
	regs->rip = v;
}
static inline unsigned long user_stack_pointer(const struct pt_regs *regs)
{
	return regs->rsp;
}
static inline unsigned long regs_return_value(const struct pt_regs *regs)
{
	return regs->rax;
}
static inline void regs_set_return_value(struct pt_regs *regs,
					 unsigned long v)
{
	regs->rax = v;
}
/* The n-th integer argument (0-based) per the SysV x86_64 ABI. */
static inline unsigned long regs_get_argument(const struct pt_regs *regs,
					      unsigned int n)
{
	switch (n) {
	case 0: return regs->rdi;
	case 1: return regs->rsi;
	case 2: return regs->rdx;
	case 3: return regs->rcx;
	case 4: return regs->r8;
	case 5: return regs->r9;
	default:
		/* [rsp] is the return address; stack arguments follow it. */
		return ((const unsigned long *)regs->rsp)[n - 5];
	}
}
/* At a function's entry: return to its caller at once (pop the return
 * address). Set the return value first; return 1 from the pre_handler. */
static inline void override_function_with_return(struct pt_regs *regs)
{
	regs->rip = *(const unsigned long *)regs->rsp;
	regs->rsp += sizeof(unsigned long);
}
#elif defined(__powerpc64__)
static inline unsigned long instruction_pointer(const struct pt_regs *regs)
{
	return regs->nip;
}
static inline void instruction_pointer_set(struct pt_regs *regs,
					   unsigned long v)
{
	regs->nip = v;
}
static inline unsigned long user_stack_pointer(const struct pt_regs *regs)
{
	return regs->gpr[1];
}
static inline unsigned long regs_return_value(const struct pt_regs *regs)
{
	return regs->gpr[3];
}
static inline void regs_set_return_value(struct pt_regs *regs,
					 unsigned long v)
{
	regs->gpr[3] = v;
}
/* ELFv1/ELFv2: the first eight integer arguments are in r3..r10. */
static inline unsigned long regs_get_argument(const struct pt_regs *regs,
					      unsigned int n)
{
	if (n < 8)
		return regs->gpr[3 + n];
#if defined(_CALL_ELF) && _CALL_ELF == 2
	/* ELFv2 parameter save area starts at sp + 32. */
	return ((const unsigned long *)(regs->gpr[1] + 32))[n];
#else
	return ((const unsigned long *)(regs->gpr[1] + 48))[n];
#endif
}
static inline void override_function_with_return(struct pt_regs *regs)
{
	regs->nip = regs->link;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* LIBKPROBE_KPROBES_H */
