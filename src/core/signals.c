// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The program's view of the signals libkprobe takes over.
 *
 * libkprobe owns SIGTRAP and the fault signals (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL) from its first registration on, and passes on to the program
 * whatever is not its own. A program that installs its own handler for one
 * of them afterwards would replace ours and lose its probes; one that
 * blocks SIGTRAP would turn the next hit into a kill (the kernel does not
 * deliver a blocked synchronous signal: it kills). So sigaction(), signal(),
 * sigprocmask() and pthread_sigmask() are interposed (libkprobe is loaded
 * before libc in the symbol search order, or preloaded):
 *
 *  - for an owned signal, sigaction()/signal() read and write the program's
 *    action here, not the kernel's; our handler chains to it. A change of
 *    SA_ONSTACK is carried over to our own action (a stack-overflow handler
 *    needs its alternate stack);
 *  - SIGTRAP is never really blocked: taken out of every mask set through
 *    these calls and out of every sa_mask. Each thread keeps the blocked bit
 *    the program believes in; a foreign SIGTRAP sent while it is "blocked"
 *    stays pending and is raised again when the program unblocks it, and a
 *    foreign int3 executed while it is "blocked" kills, as the kernel would.
 *
 * On request (kp_signals_take_default(), the tracer's), libkprobe also
 * takes terminating signals (SIGTERM, SIGINT, ...) that the program leaves
 * to their default action, for a last word before the process dies of
 * them. Only while that action is SIG_DFL, and invisibly: the program
 * reads SIG_DFL back, and any other action it sets goes to the kernel as
 * it is, the signal no longer ours; setting SIG_DFL again takes it back.
 * The kernel holds the truth (its action is our handler or not), so a
 * vfork() child, which shares our memory but not our actions, and libc's
 * own calls, which bypass us, cannot make us lie. A signal whose action
 * was not SIG_DFL when asked (nohup's SIG_IGN) is never touched.
 *
 * A vfork() child (or clone(CLONE_VM | CLONE_VFORK)'s) shares prog[] and
 * the TLS of its parent's thread, which must find both as it left them,
 * but has its own actions and mask in the kernel, and runs no atfork
 * handler. There, sigaction() on a signal we keep acts on the kernel
 * only, as if we were not there, and reads the kernel's action: the
 * program's while one of ours is still installed (child_sigaction()); the
 * SIGTRAP bits are read, never written (filtered_mask()).
 *
 * The actions are read by signal handlers and written by any thread, even
 * from a signal handler (sigaction() is async-signal-safe): a sequence
 * count per signal lets readers retry a torn copy; writers take a per-
 * signal spin lock with every signal blocked. Everything here is
 * async-signal-safe.
 *
 * The program's libraries reach these too: libkprobe.so also defines them
 * under glibc's version names (glibc_versions.c).
 *
 * Not covered: masks passed to sigsuspend(), pselect(), ppoll(),
 * epoll_pwait() and signalfd(), and calls made inside libc itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

static int (*real_sigaction)(int, const struct sigaction *,
			     struct sigaction *);
static int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);

struct prog_action {
	atomic_bool owned;
	/* Taken while the program's action is SIG_DFL (act is then that
	 * SIG_DFL action, as the program set it). */
	atomic_bool take_dfl;
	atomic_flag lock;
	atomic_uint seq;
	struct sigaction act;
};

static struct prog_action prog[NSIG];
static void (*owner_update)(int sig, int flags);

/* The blocked bit of SIGTRAP as the program believes it, per thread. */
static __thread bool trap_blocked __attribute__((tls_model("initial-exec")));
static __thread bool trap_pending __attribute__((tls_model("initial-exec")));

/*
 * libc's own functions. RTLD_NEXT finds them when libc comes after us in
 * the search order (we are linked before it, or preloaded). Loaded after
 * it (a dependency of a preloaded library, or dlopen()ed), we see nothing
 * next: then libc's own names for them, which nobody interposes.
 */
__attribute__((constructor)) static void kp_signals_resolve(void)
{
	real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (!real_sigaction)
		real_sigaction = dlsym(RTLD_DEFAULT, "__sigaction");
	real_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
	real_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
}

/*
 * The process prog[] and trap_blocked belong to: ours from load on, a
 * fork()ed child's own from its atfork handler on. Registered here, not at
 * the first registration (kp_init()): the SIGTRAP bits are kept before it.
 */
static pid_t self_pid;

static void kp_signals_atfork_child(void)
{
	self_pid = (pid_t)syscall(SYS_getpid);
}

__attribute__((constructor)) static void kp_signals_init(void)
{
	kp_signals_atfork_child();
	pthread_atfork(NULL, NULL, kp_signals_atfork_child);
}

/*
 * Are we a vfork() child, or another clone(CLONE_VM) child with a pid of
 * its own? It runs in our memory with no atfork handler run, so with
 * another pid than self_pid. A system call: asked only where the answer
 * changes what we write. Async-signal-safe.
 */
static bool in_vfork_child(void)
{
	pid_t me = self_pid;

	return me && (pid_t)syscall(SYS_getpid) != me;
}

/* The raw system call, should dlsym() have failed (a static link). */
static int sys_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (real_sigprocmask)
		return real_sigprocmask(how, set, old);
	return (int)syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

int kp_real_sigaction(int sig, const struct sigaction *act,
		      struct sigaction *old)
{
	if (!real_sigaction)
		kp_signals_resolve();
	if (!real_sigaction) {
		errno = ENOSYS;
		return -1;
	}
	return real_sigaction(sig, act, old);
}

static bool owned(int sig)
{
	return sig > 0 && sig < NSIG &&
	       atomic_load_explicit(&prog[sig].owned, memory_order_acquire);
}

/* A copy of the program's action for an owned signal. */
void kp_prog_action(int sig, struct sigaction *out)
{
	struct prog_action *p = &prog[sig];
	unsigned int s1, s2;

	do {
		while ((s1 = atomic_load(&p->seq)) & 1)
			;
		memcpy(out, &p->act, sizeof(*out));
		s2 = atomic_load(&p->seq);
	} while (s1 != s2);
}

/* A writer's hold on @p: no handler of this thread may come in while we
 * have it. */
static void lock_action(struct prog_action *p, sigset_t *saved)
{
	sigset_t all;

	sigfillset(&all);
	sys_sigprocmask(SIG_SETMASK, &all, saved);
	while (atomic_flag_test_and_set(&p->lock))
		;
}

static void unlock_action(struct prog_action *p, const sigset_t *saved)
{
	atomic_flag_clear(&p->lock);
	sys_sigprocmask(SIG_SETMASK, saved, NULL);
}

/* Lock held. */
static void store_action(struct prog_action *p, const struct sigaction *act)
{
	atomic_fetch_add(&p->seq, 1);
	memcpy(&p->act, act, sizeof(*act));
	atomic_fetch_add(&p->seq, 1);
}

static void set_prog_action(int sig, const struct sigaction *act)
{
	struct prog_action *p = &prog[sig];
	sigset_t saved;

	lock_action(p, &saved);
	store_action(p, act);
	unlock_action(p, &saved);
}

/* SA_RESETHAND: after one delivery the program's action is the default;
 * a vfork() child's in its kernel only, prog[] being its parent's.
 * Async-signal-safe. */
void kp_prog_action_reset(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if (in_vfork_child())
		kp_real_sigaction(sig, &dfl, NULL);
	else
		set_prog_action(sig, &dfl);
}

/*
 * Take over @sig (kprobe_mutex held, at initialisation): from now on the
 * program's action for it is @prog_act, kept here. @update is called when
 * the program changes its action's flags.
 */
void kp_signals_own(int sig, const struct sigaction *prog_act,
		    void (*update)(int sig, int flags))
{
	owner_update = update;
	set_prog_action(sig, prog_act);
	atomic_store_explicit(&prog[sig].owned, true, memory_order_release);
}

/* ---- terminating signals, taken while the program leaves them default */

/*
 * The handler of a taken signal: the program's action is SIG_DFL, so the
 * process dies of it, after kp_last_words. It never returns; the other
 * asynchronous signals are blocked meanwhile (kp_handler_mask()), so a
 * second one on this thread waits for the death. Async-signal-safe as far
 * as kp_last_words is, as on the fault path.
 */
static void dfl_handler(int sig, siginfo_t *info, void *ctx)
{
	(void)info;
	(void)ctx;
	kp_die_by(sig);
}

static bool is_ours(const struct sigaction *act)
{
	return (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == dfl_handler;
}

/* sa_handler and sa_sigaction share their storage: the kernel reads
 * SIG_DFL whatever the flags. */
static bool is_default(const struct sigaction *act)
{
	return act->sa_handler == SIG_DFL;
}

/* Our handler for @sig, in the kernel. Lock held. */
static int take(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = dfl_handler;
	/* On the alternate stack, if any: a signal that comes when the
	 * stack is nearly full must not turn into a SIGSEGV. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	kp_handler_mask(&sa.sa_mask);
	return kp_real_sigaction(sig, &sa, NULL);
}

/*
 * sigaction() on a signal taken while default: the program's view. The
 * kernel says whether it is ours now; the program reads back the SIG_DFL
 * it believes in if so, the kernel's action if not. SIG_DFL is taken (back);
 * anything else goes to the kernel as it is. Async-signal-safe.
 */
static int dfl_sigaction(int sig, const struct sigaction *act,
			 struct sigaction *old)
{
	struct prog_action *p = &prog[sig];
	struct sigaction cur, want;
	sigset_t saved;
	int ret;

	if (act)
		want = *act;	/* @old may be the same storage */
	lock_action(p, &saved);
	ret = kp_real_sigaction(sig, NULL, &cur);
	if (!ret && old)
		*old = is_ours(&cur) ? p->act : cur;
	if (!ret && act) {
		if (is_default(&want)) {
			store_action(p, &want);
			ret = take(sig);
		} else {
			ret = kp_real_sigaction(sig, &want, NULL);
		}
	}
	unlock_action(p, &saved);
	return ret;
}

/*
 * Take each of @sigs, terminating signals, while the program's action for
 * it is SIG_DFL: when one comes, kp_last_words runs, then the process dies
 * of it as it would have (kp_die_by()). One whose action is anything else
 * now is left alone for good. For an embedder that has last words to say
 * (the tracer); nothing is taken unless asked.
 */
void kp_signals_take_default(const int *sigs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct prog_action *p;
		struct sigaction cur;
		sigset_t saved;

		if (sigs[i] <= 0 || sigs[i] >= NSIG || owned(sigs[i]))
			continue;
		p = &prog[sigs[i]];
		lock_action(p, &saved);
		/* Marked first: a racing sigaction() then waits for us. */
		atomic_store(&p->take_dfl, true);
		if (kp_real_sigaction(sigs[i], NULL, &cur) ||
		    !is_default(&cur)) {
			atomic_store(&p->take_dfl, false);
		} else {
			store_action(p, &cur);
			if (take(sigs[i]))
				atomic_store(&p->take_dfl, false);
		}
		unlock_action(p, &saved);
	}
}

static bool taken_while_default(int sig)
{
	return sig > 0 && sig < NSIG && atomic_load(&prog[sig].take_dfl);
}

/* ---- in a vfork() child ---- */

/*
 * sigaction() in a vfork() child on a signal we keep (owned, or taken while
 * default): on the child's kernel action only, never prog[], which is its
 * parent's. It reads what the kernel holds: while that is one of our
 * handlers, the program's action, inherited from the parent as the kernel
 * would have; once the child set its own, that. Async-signal-safe.
 */
static int child_sigaction(int sig, const struct sigaction *act,
			   struct sigaction *old)
{
	struct sigaction cur;

	if (old) {
		if (kp_real_sigaction(sig, NULL, &cur))
			return -1;
		if (kp_trap_handler_installed(&cur) || is_ours(&cur))
			kp_prog_action(sig, &cur);
	}
	if (act && kp_real_sigaction(sig, act, NULL))
		return -1;
	if (old)
		*old = cur;	/* after: @old may be @act's storage */
	return 0;
}

/* ---- the virtual SIGTRAP block ---- */

bool kp_prog_blocks_sigtrap(void)
{
	return trap_blocked;
}

/* A foreign, asynchronous SIGTRAP came while the program blocks it. Lost
 * in a vfork() child: trap_pending is its parent's thread's.
 * Async-signal-safe. */
void kp_prog_sigtrap_pending(void)
{
	if (!in_vfork_child())
		trap_pending = true;
}

static void strip_sigtrap(sigset_t *set)
{
	sigdelset(set, SIGTRAP);
}

static int filtered_mask(int (*real)(int, const sigset_t *, sigset_t *),
			 int how, const sigset_t *set, sigset_t *old)
{
	bool was = trap_blocked, now = was, has;
	sigset_t copy;
	int ret;

	if (set) {
		copy = *set;
		has = sigismember(&copy, SIGTRAP) == 1;
		if (how == SIG_BLOCK && has)
			now = true;
		else if (how == SIG_UNBLOCK && has)
			now = false;
		else if (how == SIG_SETMASK)
			now = has;
		/* A vfork() child's trap_blocked is its parent's: the child
		 * keeps the block it inherited (and SIGTRAP is never really
		 * blocked, so that probes it hits before exec work). */
		if (now != was && in_vfork_child())
			now = was;
		trap_blocked = now;
		strip_sigtrap(&copy);
		set = &copy;
	}
	ret = real ? real(how, set, old)
		   : (int)syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
	if (ret) {
		trap_blocked = was;
		return ret;
	}
	if (old && was)
		sigaddset(old, SIGTRAP);
	if (was && !trap_blocked && trap_pending) {
		trap_pending = false;
		syscall(SYS_tgkill, getpid(), gettid(), SIGTRAP);
	}
	return 0;
}

/* ---- the interposed calls ---- */

KP_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!real_sigprocmask)
		kp_signals_resolve();
	return filtered_mask(real_sigprocmask, how, set, old);
}

KP_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	int ret;

	if (!real_pthread_sigmask)
		kp_signals_resolve();
	if (!real_pthread_sigmask)
		return filtered_mask(NULL, how, set, old) ? errno : 0;
	/* pthread_sigmask returns an error number, not -1. */
	ret = filtered_mask(real_pthread_sigmask, how, set, old);
	return ret;
}

KP_EXPORT int sigaction(int sig, const struct sigaction *act,
			struct sigaction *old)
{
	struct sigaction copy;

	if (act && sigismember(&act->sa_mask, SIGTRAP) == 1) {
		/* A handler's mask must not block our SIGTRAP. */
		copy = *act;
		strip_sigtrap(&copy.sa_mask);
		act = &copy;
	}
	if (!owned(sig) && !taken_while_default(sig))
		return kp_real_sigaction(sig, act, old);
	if (in_vfork_child())
		return child_sigaction(sig, act, old);
	if (!owned(sig))
		return dfl_sigaction(sig, act, old);
	if (act)
		copy = *act;	/* before @old is written: it may be @act */
	if (old)
		kp_prog_action(sig, old);
	if (act) {
		set_prog_action(sig, &copy);
		if (owner_update)
			owner_update(sig, copy.sa_flags);
	}
	return 0;
}

KP_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;	/* glibc's BSD semantics */
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
/* For glibc_versions.c, which gives these glibc's version names too:
 * hidden names that always mean ours. */
extern __typeof(sigaction) kp_sigaction_impl
	__attribute__((alias("sigaction"), visibility("hidden")));
extern __typeof(signal) kp_signal_impl
	__attribute__((alias("signal"), visibility("hidden")));
extern __typeof(sigprocmask) kp_sigprocmask_impl
	__attribute__((alias("sigprocmask"), visibility("hidden")));
extern __typeof(pthread_sigmask) kp_pthread_sigmask_impl
	__attribute__((alias("pthread_sigmask"), visibility("hidden")));
