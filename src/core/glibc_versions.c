// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkprobe.so only: the interposed libc functions (signals.c, dl.c) under
 * glibc's own versions too.
 *
 * A library linked against libc asks for "sigaction@GLIBC_2.2.5" (on
 * x86_64; GLIBC_2.17 on ppc64le), not for
 * our LIBKPROBE_0.1 one, and the dynamic linker binds a versioned
 * reference only to a definition of that version. Without these, such a
 * library's calls (CMocka's signal() around every test, say) reached libc
 * and replaced our handlers; with them, they find ours whenever libkprobe
 * comes before libc in the search order, as they do for the program's own
 * calls. They are compatibility versions (one '@'), never the default:
 * programs that link against libkprobe still get LIBKPROBE_0.1.
 *
 * Not in the static archive or the preload library: a static link has no
 * versions, and the preload library's definitions are unversioned, which
 * a versioned reference accepts already.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>

#define KP_HIDDEN __attribute__((visibility("hidden")))

/* The arch's first glibc version: KP_GLIBC_BASE, from meson.build, which
 * writes the same into the version script (libkprobe.map.in). */
#define GLIBC_BASE KP_GLIBC_BASE

/* The wrappers' own names stay local (the version script's "local: *");
 * only their versioned names are exported. */

KP_HIDDEN extern __typeof(sigaction) kp_sigaction_impl;
KP_HIDDEN extern __typeof(signal) kp_signal_impl;
KP_HIDDEN extern __typeof(sigprocmask) kp_sigprocmask_impl;
KP_HIDDEN extern __typeof(pthread_sigmask) kp_pthread_sigmask_impl;
KP_HIDDEN extern __typeof(dlclose) kp_dlclose_impl;

int kp_glibc_sigaction(int sig, const struct sigaction *act,
				 struct sigaction *old)
{
	return kp_sigaction_impl(sig, act, old);
}
__asm__(".symver kp_glibc_sigaction, sigaction@" GLIBC_BASE);

sighandler_t kp_glibc_signal(int sig, sighandler_t handler)
{
	return kp_signal_impl(sig, handler);
}
__asm__(".symver kp_glibc_signal, signal@" GLIBC_BASE);

int kp_glibc_sigprocmask(int how, const sigset_t *set,
				   sigset_t *old)
{
	return kp_sigprocmask_impl(how, set, old);
}
__asm__(".symver kp_glibc_sigprocmask, sigprocmask@" GLIBC_BASE);

int kp_glibc_pthread_sigmask(int how, const sigset_t *set,
				       sigset_t *old)
{
	return kp_pthread_sigmask_impl(how, set, old);
}
__asm__(".symver kp_glibc_pthread_sigmask, pthread_sigmask@" GLIBC_BASE);
__asm__(".symver kp_glibc_pthread_sigmask, pthread_sigmask@GLIBC_2.32");

int kp_glibc_dlclose(void *handle)
{
	return kp_dlclose_impl(handle);
}
__asm__(".symver kp_glibc_dlclose, dlclose@" GLIBC_BASE);
__asm__(".symver kp_glibc_dlclose, dlclose@GLIBC_2.34");
