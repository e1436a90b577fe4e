// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ABI: libkprobe.so's dynamic symbol table must export exactly the
 * functions of <kprobes.h>, all under the version LIBKPROBE_0.1 of the
 * version script. Everything else stays hidden, so a leaked internal name
 * fails here before a program comes to depend on it.
 *
 * meson passes the path of the built libkprobe.so as argv[1].
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KP_EXIT_SKIP 77

static const char *const public_api[] = {
	"register_kprobe",
	"unregister_kprobe",
	"register_kprobes",
	"unregister_kprobes",
	"enable_kprobe",
	"disable_kprobe",
	"kprobe_lookup_name",
	"kprobe_last_error",
	"kprobe_list",
	"kprobe_blacklist_print",
	"kprobe_optimization",
	"kprobe_optimized",
	"register_kretprobe",
	"unregister_kretprobe",
	"register_kretprobes",
	"unregister_kretprobes",
	"kretprobe_find_ret_addr",
	"regs_query_register_offset",
	"copy_from_user_nofault",
	"strncpy_from_user_nofault",
	"kprobe_backtrace",
	"register_jprobe",
	"unregister_jprobe",
	"register_jprobes",
	"unregister_jprobes",
	"jprobe_return",
	/*
	 * Not API: libc's own calls, interposed so that a program's handlers
	 * and masks for the signals libkprobe owns do not break its probes
	 * (src/core/signals.c).
	 */
	"sigaction",
	"signal",
	"sigprocmask",
	"pthread_sigmask",
	/* Not API either: probes on code it unloads are marked gone
	 * (src/core/dl.c). */
	"dlclose",
};
#define NR_API (sizeof(public_api) / sizeof(public_api[0]))

#define MAX_EXPORTS 256

struct export {
	const char *name;
	const char *version;	/* "" when unversioned */
	int type;		/* STT_* */
	int bind;		/* STB_* */
};

static const char *lib_path;
static struct export exports[MAX_EXPORTS];
static int nexports;
static Elf *elf;
static int elf_fd = -1;

/* Version definition index -> name, from SHT_GNU_verdef. */
static const char *verdef_name(Elf_Scn *verdef_scn, GElf_Word index)
{
	GElf_Shdr sh;
	Elf_Data *data;
	GElf_Verdef vd;
	GElf_Verdaux va;
	size_t off = 0;

	if (!verdef_scn || !gelf_getshdr(verdef_scn, &sh))
		return NULL;
	data = elf_getdata(verdef_scn, NULL);
	while (data && gelf_getverdef(data, off, &vd)) {
		if (vd.vd_ndx == index &&
		    gelf_getverdaux(data, off + vd.vd_aux, &va))
			return elf_strptr(elf, sh.sh_link, va.vda_name);
		if (!vd.vd_next)
			break;
		off += vd.vd_next;
	}
	return NULL;
}

/* Read every defined symbol of .dynsym that another object could bind
 * to: FUNC, OBJECT, IFUNC, TLS or untyped, GLOBAL, WEAK or UNIQUE. */
static int read_exports(void **state)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL, *verdef = NULL;
	GElf_Shdr sh, dsh;
	Elf_Data *syms, *vers = NULL;
	size_t i, n;

	assert_non_null(lib_path);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf_fd = open(lib_path, O_RDONLY);
	if (elf_fd < 0)
		fail_msg("cannot open %s", lib_path);
	elf = elf_begin(elf_fd, ELF_C_READ, NULL);
	if (!elf)
		fail_msg("%s: %s", lib_path, elf_errmsg(-1));

	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_GNU_versym)
			versym = scn;
		else if (sh.sh_type == SHT_GNU_verdef)
			verdef = scn;
	}
	if (!dynsym)
		fail_msg("%s has no .dynsym", lib_path);
	gelf_getshdr(dynsym, &dsh);
	syms = elf_getdata(dynsym, NULL);
	if (versym)
		vers = elf_getdata(versym, NULL);
	n = dsh.sh_entsize ? dsh.sh_size / dsh.sh_entsize : 0;

	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Versym vs = 0;
		const char *vname = NULL;
		int type, bind;

		if (!gelf_getsym(syms, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if (bind != STB_GLOBAL && bind != STB_WEAK &&
		    bind != STB_GNU_UNIQUE)
			continue;
		if (type != STT_FUNC && type != STT_OBJECT &&
		    type != STT_GNU_IFUNC && type != STT_TLS &&
		    type != STT_NOTYPE)
			continue;
		if (vers && gelf_getversym(vers, i, &vs))
			vname = verdef_name(verdef, vs & 0x7fff);
		/* The version definition itself appears as an ABS symbol. */
		if (sym.st_shndx == SHN_ABS && vname &&
		    strcmp(vname, elf_strptr(elf, dsh.sh_link,
					     sym.st_name)) == 0)
			continue;
		assert_true(nexports < MAX_EXPORTS);
		exports[nexports].name = elf_strptr(elf, dsh.sh_link,
						    sym.st_name);
		exports[nexports].version = vname ? vname : "";
		exports[nexports].type = type;
		exports[nexports].bind = bind;
		nexports++;
	}
	return 0;
}

static int close_elf(void **state)
{
	if (elf)
		elf_end(elf);
	if (elf_fd >= 0)
		close(elf_fd);
	return 0;
}

static int in_api(const char *name)
{
	size_t i;

	for (i = 0; i < NR_API; i++)
		if (strcmp(public_api[i], name) == 0)
			return 1;
	return 0;
}

static const struct export *find_export(const char *name)
{
	int i;

	for (i = 0; i < nexports; i++)
		if (strcmp(exports[i].name, name) == 0)
			return &exports[i];
	return NULL;
}

static void test_no_extra_exports(void **state)
{
	int i, extra = 0;

	for (i = 0; i < nexports; i++) {
		if (in_api(exports[i].name))
			continue;
		print_error("exported but not in <kprobes.h>: %s%s%s "
			    "(type %d, bind %d)\n", exports[i].name,
			    exports[i].version[0] ? "@" : "",
			    exports[i].version, exports[i].type,
			    exports[i].bind);
		extra++;
	}
	if (extra)
		fail_msg("%s exports %d symbol(s) beyond the public API",
			 lib_path, extra);
}

static void test_api_exported(void **state)
{
	size_t i;
	int missing = 0;

	for (i = 0; i < NR_API; i++) {
		const struct export *e = find_export(public_api[i]);

		if (!e) {
			print_error("not exported: %s\n", public_api[i]);
			missing++;
		} else if (e->type != STT_FUNC || e->bind != STB_GLOBAL) {
			print_error("%s is exported with type %d, bind %d; "
				    "expected a GLOBAL FUNC\n", e->name,
				    e->type, e->bind);
			missing++;
		}
	}
	if (missing)
		fail_msg("%d function(s) of <kprobes.h> not exported as "
			 "GLOBAL FUNC by %s", missing, lib_path);
}

/* The libc functions libkprobe interposes, which it also exports under
 * glibc's own versions (src/core/glibc_versions.c). */
static const char *const interposed[] = {
	"sigaction", "signal", "sigprocmask", "pthread_sigmask", "dlclose",
};

static int is_interposed(const char *name)
{
	for (size_t i = 0; i < sizeof(interposed) / sizeof(*interposed); i++)
		if (strcmp(interposed[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Every exported function of the API is LIBKPROBE_0.1; the interposed libc
 * functions are that too, and may besides carry glibc's versions (so that
 * libraries linked against libc reach them), nothing else.
 */
static void test_api_versioned(void **state)
{
	int wrong = 0;

	for (size_t i = 0; i < NR_API; i++) {
		int ours = 0;

		for (int k = 0; k < nexports; k++) {
			const struct export *e = &exports[k];

			if (strcmp(e->name, public_api[i]) != 0)
				continue;
			if (strcmp(e->version, "LIBKPROBE_0.1") == 0) {
				ours = 1;
			} else if (!is_interposed(e->name) ||
				   strncmp(e->version, "GLIBC_", 6) != 0) {
				print_error("%s has version \"%s\", expected "
					    "LIBKPROBE_0.1 (src/libkprobe.map.in)"
					    "\n", e->name, e->version);
				wrong++;
			}
		}
		if (!ours && find_export(public_api[i])) {
			print_error("%s has no LIBKPROBE_0.1 version\n",
				    public_api[i]);
			wrong++;
		}
	}
	if (wrong)
		fail_msg("%d exported function(s) without the version "
			 "LIBKPROBE_0.1", wrong);
}

/* The interposed functions do carry glibc's versions: a library linked
 * against libc binds to them (test_fault says why that matters). */
/* The arch's first glibc version, from meson.build. */
#define GLIBC_BASE KP_GLIBC_BASE

static void test_glibc_versions(void **state)
{
	static const char *const want[][2] = {
		{ "sigaction", GLIBC_BASE }, { "signal", GLIBC_BASE },
		{ "sigprocmask", GLIBC_BASE },
		{ "pthread_sigmask", GLIBC_BASE },
		{ "pthread_sigmask", "GLIBC_2.32" },
		{ "dlclose", GLIBC_BASE }, { "dlclose", "GLIBC_2.34" },
	};
	int missing = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		int found = 0;

		for (int k = 0; k < nexports; k++)
			found |= !strcmp(exports[k].name, want[i][0]) &&
				 !strcmp(exports[k].version, want[i][1]);
		if (!found) {
			print_error("%s@%s is not exported\n", want[i][0],
				    want[i][1]);
			missing++;
		}
	}
	if (missing)
		fail_msg("%d glibc-versioned interposer(s) missing", missing);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_exported),
		cmocka_unit_test(test_no_extra_exports),
		cmocka_unit_test(test_api_versioned),
		cmocka_unit_test(test_glibc_versions),
	};

	if (argc < 2) {
		printf("SKIP: usage: %s PATH/libkprobe.so (meson passes it)\n",
		       argv[0]);
		return KP_EXIT_SKIP;
	}
	lib_path = argv[1];
	return cmocka_run_group_tests(tests, read_exports, close_elf);
}
