// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The blacklist: code a probe must never be put on, because the trap path
 * runs it and a breakpoint there would recurse without end (the kernel's
 * NOKPROBE_SYMBOL and .kprobes.text). It holds:
 *  - libkprobe's own executable code, whole;
 *  - the libc functions every trap reaches: __errno_location (our handlers
 *    save and restore errno);
 *  - the signal-return trampoline the kernel returns through (the arch
 *    knows where it is).
 * Written once under kprobe_mutex at initialisation, read afterwards.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "symbols.h"

#define KP_EXPORT __attribute__((visibility("default")))

struct kp_bl_entry {
	uintptr_t start, end;
	char why[96];
};

static struct kp_bl_entry blacklist[16];
static int nr_blacklist;

static void bl_add(uintptr_t start, uintptr_t end, const char *why)
{
	struct kp_bl_entry *e;

	if (nr_blacklist == (int)(sizeof(blacklist) / sizeof(blacklist[0])) ||
	    end <= start)
		return;
	e = &blacklist[nr_blacklist++];
	e->start = start;
	e->end = end;
	snprintf(e->why, sizeof(e->why), "%s", why);
}

/* Our own executable segments: whichever object holds this very code. */
static int own_text(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t self = (uintptr_t)&own_text;
	int found = 0;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) &&
		    self >= lo && self < lo + ph->p_memsz)
			found = 1;
	}
	if (!found)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			bl_add(lo, lo + ph->p_memsz,
			       "libkprobe itself (its trap path)");
	}
	return 1;
}

static void bl_symbol(const char *spec, const char *why)
{
	struct kp_symbol sym;

	if (kp_sym_lookup(spec, &sym))
		return;
	bl_add(sym.addr, sym.addr + (sym.size ? sym.size : 1), why);
}

int kp_blacklist_init(void)
{
	uintptr_t start;
	size_t len;

	kp_assert_locked();
	dl_iterate_phdr(own_text, NULL);
	bl_symbol("libc.so.6:__errno_location",
		  "__errno_location (every trap saves errno)");
	if (!arch_sigreturn_trampoline(&start, &len))
		bl_add(start, start + len, "the signal return trampoline");
	return 0;
}

/* The reason @addr cannot be probed, or NULL. */
const char *kp_blacklisted(uintptr_t addr)
{
	for (int i = 0; i < nr_blacklist; i++)
		if (addr >= blacklist[i].start && addr < blacklist[i].end)
			return blacklist[i].why;
	return NULL;
}

KP_EXPORT int kprobe_blacklist_print(FILE *out)
{
	int n;

	if (!out)
		return -EINVAL;
	kp_lock();
	kp_init();	/* the blacklist is filled at initialisation */
	for (n = 0; n < nr_blacklist; n++)
		fprintf(out, "0x%016lx-0x%016lx\t%s\n",
			(unsigned long)blacklist[n].start,
			(unsigned long)blacklist[n].end, blacklist[n].why);
	kp_unlock();
	return n;
}
