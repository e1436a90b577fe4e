// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Code that goes away under its probes: dlclose().
 *
 * The kernel marks the kprobes of a module that is unloaded GONE and
 * forgets their addresses (kill_kprobe()). Here an object's code can be
 * unmapped by dlclose(), and other code mapped at the same address by the
 * next dlopen(). So after a dlclose() - ours, interposed, right away; one
 * that libc made itself, at the next call into libkprobe - every probe
 * point whose address no loaded object's executable segment holds any
 * more is killed (kp_kill_probe_point()): its probes are flagged
 * KPROBE_FLAG_GONE, and nothing is written there again.
 *
 * glibc counts the objects it has unloaded (dl_phdr_info.dlpi_subs): the
 * sweep runs only when that count moved.
 */
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

static unsigned long long seen_subs;

struct find {
	uintptr_t addr;
	bool found;
	unsigned long long subs;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs))
		f->subs = info->dlpi_subs;
	for (int i = 0; i < info->dlpi_phnum && !f->found; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    f->addr >= start && f->addr < start + ph->p_memsz)
			f->found = true;
	}
	return f->found;
}

/* Is @addr in the code of a loaded object? */
bool kp_dl_addr_loaded(uintptr_t addr)
{
	struct find f = { addr, false, 0 };

	dl_iterate_phdr(find_cb, &f);
	return f.found;
}

static unsigned long long current_subs(void)
{
	struct find f = { 0, false, 0 };

	dl_iterate_phdr(find_cb, &f);
	return f.subs;
}

/* kprobe_mutex held. */
void kp_dl_check(void)
{
	unsigned long long subs = current_subs();
	struct probe_point *pp, *next;
	int i;

	kp_assert_locked();
	if (subs == seen_subs)
		return;
	seen_subs = subs;
	for (i = 0; i < KP_TABLE_SIZE; i++)
		for (pp = kp_table[i]; pp; pp = next) {
			next = pp->hnext;
			if (!kp_dl_addr_loaded(pp->addr))
				kp_kill_probe_point(pp);
		}
}

/* libc's dlclose(), for the interposer and for libkprobe's own calls
 * (which must not sweep: they may hold kprobe_mutex or sym_lock). */
int kp_real_dlclose(void *handle)
{
	static int (*real)(void *);

	if (!real)
		real = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
	if (!real)
		real = (int (*)(void *))dlvsym(RTLD_DEFAULT, "dlclose",
					       "GLIBC_2.34");
	if (!real)
		real = (int (*)(void *))dlvsym(RTLD_DEFAULT, "dlclose",
					       "GLIBC_2.2.5");
	if (!real || real == dlclose)
		return -1;
	return real(handle);
}

/*
 * The program's dlclose(): the real one, then the sweep. Not when this
 * thread is inside libkprobe already (libkprobe's own work under
 * kprobe_mutex), nor when another thread holds kprobe_mutex (this one may
 * hold the loader's lock, which that one may be waiting for): then the
 * next call into libkprobe sweeps.
 */
KP_EXPORT int dlclose(void *handle)
{
	int ret = kp_real_dlclose(handle);

	if (kp_initialized() && !kp_mutex_held() && kp_trylock())
		kp_unlock();	/* kp_trylock() swept */
	return ret;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif
/* For glibc_versions.c: a hidden name that always means ours. */
extern __typeof(dlclose) kp_dlclose_impl
	__attribute__((alias("dlclose"), visibility("hidden")));
