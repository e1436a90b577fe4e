// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Symbol lookup in a core-only build (meson -Dcore_only=true), for a
 * target without libelf: the dynamic linker's own tables, through dlsym()
 * and dladdr1(). The same interface as symbols.c (symbols.h), with less
 * reach:
 *  - only exported (.dynsym) functions are found: link a program with
 *    -rdynamic for its own functions to be probed by name or address;
 *  - no ambiguity check across objects: "sym" is what the dynamic linker
 *    binds it to, "obj:sym" what that object's handle finds;
 *  - kp_sym_parse_image() is not there (-ENOSYS).
 * What it does the same: a function pointer that is a descriptor (ELFv1)
 * becomes its code address (arch_func_entry()), and ".foo" names foo's
 * code as the kernel's ppc64 kprobe_lookup_name() allows; the local entry
 * point is
 * reported (arch_local_entry_offset()), IFUNCs resolve as dlsym() resolves
 * them.
 *
 * Registration time only; not async-signal-safe.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "error.h"
#include "symbols.h"

struct obj_match {
	const char *obj;
	const char *path;	/* dlpi_name; "" for the main program */
	bool found;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* The rules of symbols.h: the path, the basename, or the basename's
 * start up to a '.'; the main program by /proc/self/exe's basename. */
static bool name_matches(const char *path, const char *obj)
{
	const char *b = base_name(path);
	size_t n = strlen(obj);

	return !strcmp(path, obj) || !strcmp(b, obj) ||
	       (!strncmp(b, obj, n) && b[n] == '.');
}

static int match_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct obj_match *m = arg;
	const char *path = info->dlpi_name;
	char exe[PATH_MAX];
	ssize_t n;

	if (!path[0]) {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return 0;
		exe[n] = '\0';
		if (!name_matches(exe, m->obj))
			return 0;
	} else if (!name_matches(path, m->obj)) {
		return 0;
	}
	m->path = path;
	m->found = true;
	return 1;
}

bool kp_sym_object_loaded(const char *obj)
{
	struct obj_match m = { .obj = obj };

	if (!obj || !obj[0])
		return false;
	dl_iterate_phdr(match_cb, &m);
	return m.found;
}

/* Fill @out for the function whose code holds @addr. */
static int describe(uintptr_t addr, struct kp_symbol *out)
{
	const ElfW(Sym) *sym = NULL;
	uintptr_t start;
	Dl_info info;
	int type;

	if (!dladdr1((void *)addr, &info, (void **)&sym, RTLD_DL_SYMENT) ||
	    !sym || !info.dli_sname)
		return -ENOENT;
	type = ELF64_ST_TYPE(sym->st_info);
	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return -ENOENT;
	/* ELFv1: dli_saddr is the descriptor, the code is what it names. */
	start = arch_func_entry(info.dli_saddr);
	if (addr < start || (sym->st_size && addr - start >= sym->st_size) ||
	    (!sym->st_size && addr != start))
		return -ENOENT;
	out->addr = start;
	out->size = sym->st_size;
	out->name = info.dli_sname;
	out->object = info.dli_fname;
	out->load_bias = (uintptr_t)info.dli_fbase;
	out->local_entry = arch_local_entry_offset(sym->st_other);
	return 0;
}

/*
 * The code address of @name in @h (dlsym()'s handle), or 0. A function
 * pointer goes through arch_func_entry() (ELFv1: a descriptor's code). A
 * name the ABI reserves for a function's code (ELFv1's ".foo") is looked
 * up as it is first, and is code if found; else as the function's plain
 * name (new toolchains emit no dot-symbols).
 */
static uintptr_t lookup_code(void *h, const char *name)
{
	const char *plain = arch_code_symbol(name);
	void *p;

	if (plain) {
		p = dlsym(h, name);
		if (p)
			return (uintptr_t)p;
		name = plain;
	}
	p = dlsym(h, name);
	return p ? arch_func_entry(p) : 0;
}

int kp_sym_lookup(const char *spec, struct kp_symbol *out)
{
	const char *colon, *name;
	struct obj_match m = { 0 };
	void *h = RTLD_DEFAULT;
	uintptr_t code;
	char obj[PATH_MAX];
	int ret;

	if (!spec || !spec[0])
		return kp_error(-EINVAL, "empty symbol name");
	colon = strrchr(spec, ':');
	name = colon ? colon + 1 : spec;
	if (!name[0] || (colon && colon == spec))
		return kp_error(-EINVAL, "\"%s\": expected SYM or OBJ:SYM", spec);
	if (colon) {
		if ((size_t)(colon - spec) >= sizeof(obj))
			return kp_error(-EINVAL, "object name too long");
		memcpy(obj, spec, (size_t)(colon - spec));
		obj[colon - spec] = '\0';
		m.obj = obj;
		dl_iterate_phdr(match_cb, &m);
		if (!m.found)
			return kp_error(-ENOENT, "no loaded object matches \"%s\"",
					obj);
		h = dlopen(m.path[0] ? m.path : NULL, RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			return kp_error(-ENOENT, "cannot reach \"%s\": %s", obj,
					dlerror());
	}
	code = lookup_code(h, name);
	if (h != RTLD_DEFAULT)
		kp_real_dlclose(h);	/* not our interposer's sweep */
	if (!code)
		return kp_error(-ENOENT,
				"no exported function %s (this build finds only exported symbols: built without libelf)",
				spec);
	ret = describe(code, out);
	if (ret)
		return kp_error(ret, "%s is not a function", spec);
	if (m.found && strcmp(out->object, m.path[0] ? m.path : out->object))
		return kp_error(-ENOENT, "%s is not defined in %s", name, obj);
	return 0;
}

int kp_sym_find_addr(uintptr_t addr, struct kp_symbol *out)
{
	if (describe(addr, out))
		return kp_error(-ENOENT, "no exported function at %#lx",
				(unsigned long)addr);
	return 0;
}

int kp_sym_object_of(uintptr_t addr, const char **path, uintptr_t *bias)
{
	Dl_info info;

	if (!dladdr((void *)addr, &info) || !info.dli_fname)
		return -ENOENT;
	*path = info.dli_fname;
	*bias = (uintptr_t)info.dli_fbase;
	return 0;
}

int kp_sym_parse_image(const void *image, size_t len,
		       void (*cb)(const char *name, uintptr_t value,
				  size_t size, int type, void *arg),
		       void *arg)
{
	return -ENOSYS;
}

void kp_sym_flush(void)
{
}
