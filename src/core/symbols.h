/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Symbol lookup in the running process (libelf).
 *
 * None of this is async-signal-safe: it allocates, opens files and takes a
 * mutex. It is called at registration time only, never on the trap path.
 */
#ifndef LIBKPROBE_CORE_SYMBOLS_H
#define LIBKPROBE_CORE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_symbol {
	uintptr_t addr;		/* runtime address of the code */
	size_t size;		/* st_size; 0 when unknown */
	const char *name;	/* symbol name, without @version */
	const char *object;	/* path of the loaded object that holds it */
	uintptr_t load_bias;	/* that object's l_addr / dlpi_addr */
	/* Bytes from addr to the local entry point (ppc64 ELFv2), else 0. */
	size_t local_entry;
};

/*
 * kp_sym_lookup() - resolve "sym" or "obj:sym" to a function in the process.
 *
 * Searches the main executable and every object dl_iterate_phdr() reports,
 * .symtab (local and global functions) and .dynsym alike. Only function
 * symbols (STT_FUNC, STT_GNU_IFUNC) that are defined (st_shndx != UNDEF)
 * count. Symbol versions: "name@VER" entries of .dynsym are matched by
 * "name"; a hidden (non-default) version is ignored when a default one of
 * the same object exists. The same address reached from .symtab and
 * .dynsym, or from several aliases of one name, counts once.
 *
 * "obj" matches an object whose path equals it, whose basename equals it,
 * or whose basename starts with it followed by '.' ("libz" and "libz.so"
 * both select "libz.so.1"). The main executable is also matched by the
 * basename of /proc/self/exe.
 *
 * STT_GNU_IFUNC: the returned addr is the implementation the process uses
 * (what dlsym() returns for it, i.e. the resolver's result), with size 0
 * unless that address is itself a known sized function symbol.
 *
 * Return: 0 and *out filled; -ENOENT if no object defines it (or "obj"
 * names no loaded object); -EADDRNOTAVAIL if it is defined at more than one
 * address (the message, via kp_set_error(), lists the candidates as
 * "obj:sym@0xaddr"); -EINVAL for an empty or malformed spec.
 */
int kp_sym_lookup(const char *spec, struct kp_symbol *out);

/*
 * kp_sym_find_addr() - the function symbol whose [addr, addr + size) holds
 * @addr (size 0 symbols match only their own start address). When several
 * symbols cover it, prefer a global one, then the longest name-stable one
 * (first found). Return: 0 and *out filled, or -ENOENT.
 */
int kp_sym_find_addr(uintptr_t addr, struct kp_symbol *out);

/*
 * kp_sym_object_of() - path and load bias of the object mapping @addr.
 * Return: 0, or -ENOENT when no loaded object contains @addr.
 */
int kp_sym_object_of(uintptr_t addr, const char **path, uintptr_t *bias);

/*
 * kp_sym_parse_image() - run the parser kp_sym_lookup() uses for a loaded
 * object's file on the ELF image at [@image, @image + @len), for the
 * fuzzer (tests/fuzz/).
 * The image counts as loaded at its link-time addresses (bias 0, its
 * PT_LOAD segments), so a symbol outside them is dropped as it would be
 * for a file that does not match its mapping. @cb sees each entry of the
 * table kp_sym_lookup() and kp_sym_find_addr() would search (duplicates
 * merged, hidden versions kept), in address order: @name (without
 * @version) is valid during the call only; @type is STT_FUNC or
 * STT_GNU_IFUNC. No IFUNC resolver runs, and no cache is touched.
 * Return: 0; -ENOEXEC if @image is not a readable ELF file; -ENOMEM;
 * -EINVAL for a NULL @image or @cb.
 */
int kp_sym_parse_image(const void *image, size_t len,
		       void (*cb)(const char *name, uintptr_t value,
				  size_t size, int type, void *arg),
		       void *arg);

/* Forget cached symbol tables (after dlopen/dlclose). */
void kp_sym_flush(void);

/*
 * kp_sym_object_loaded() - does "obj" (of "obj:sym") select a loaded
 * object, by the rules of kp_sym_lookup() (the main executable included)?
 */
bool kp_sym_object_loaded(const char *obj);

/* libc's dlclose(), not libkprobe's interposer (dl.c). */
int kp_real_dlclose(void *handle);

#endif
