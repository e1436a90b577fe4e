// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Symbol lookup in the running process: the userspace counterpart of
 * kallsyms_lookup_name() and kallsyms_lookup().
 *
 * Where the symbols come from. dl_iterate_phdr() lists the loaded objects;
 * each one's file is read once with libelf (.symtab when the file is not
 * stripped, .dynsym always) and its function symbols are cached as an
 * array sorted by name (for kp_sym_lookup()) plus an index sorted by
 * address (for kp_sym_find_addr()). The main executable is read through
 * /proc/self/exe, so a deleted or replaced binary still gives the symbols
 * of what runs. Objects without a file (linux-vdso.so.1) are mapped but
 * contribute no symbols: the vDSO exports clock_gettime, gettimeofday and
 * time, and reading it would make those common names ambiguous with libc.
 *
 * "obj:sym". The spec is split at its FIRST ':' only when the part before
 * it names an object: it matches a loaded object (see object_matches()),
 * or it looks like a file name (contains '/' or ".so", or is the basename
 * of the executable). A prefix that looks like a file but matches nothing
 * gives -ENOENT; any other spec is taken whole as a symbol name, so a
 * name that happens to hold a ':' still works. C++ mangled names never
 * hold one.
 *
 * Ambiguity. Every defined function symbol of the requested name, in every
 * selected object, is a candidate; an IFUNC stands for the implementation
 * its resolver picks. Candidates at the same (resolved) address are one,
 * so .symtab/.dynsym duplicates and an IFUNC that resolves to a function
 * already listed do not count. Two addresses left are ambiguous
 * (-EADDRNOTAVAIL), whether in two objects (interposition, "_init") or in
 * one (two static functions of the same name in different CUs). A hidden
 * version ("memcpy@GLIBC_2.2.5") is not a candidate when the same object
 * has a default one ("memcpy@@GLIBC_2.14").
 *
 * IFUNC. For a symbol dlsym() can see (exported by .dynsym, default
 * version) the implementation is what dlsym() returns on the object's own
 * handle: glibc runs the resolver exactly as it did for the relocations
 * the process uses. A local IFUNC (only in .symtab) has its resolver called
 * directly, with the AT_HWCAP/AT_HWCAP2 arguments powerpc resolvers expect
 * (x86_64 resolvers take none and ignore them). The result is cached.
 *
 * Lifetime. The strings in a struct kp_symbol point into the cache: they
 * stay valid until kp_sym_flush(), even when their object is unloaded in
 * between (an unloaded object is retired, not freed).
 *
 * Locking: sym_lock protects everything below. It nests outside the dynamic
 * loader's locks (we call dl_iterate_phdr() and dlopen(RTLD_NOLOAD) under
 * it), so none of this may run from an ELF constructor. Nothing here is
 * async-signal-safe.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "arch/arch.h"
#include "error.h"
#include "symbols.h"

/* Versym bit of a non-default version ("name@VER" rather than "@@"). */
#define SYM_VERSYM_HIDDEN	0x8000

/* Candidates listed in the ambiguity message before "...". */
#define SYM_AMBIG_SHOWN		6

struct sym_entry {
	uintptr_t addr;		/* bias + st_value; an IFUNC's resolver */
	size_t size;
	const char *name;	/* without @version; in the object's pool */
	uintptr_t impl;		/* IFUNC: resolved target, 0 until needed */
	unsigned char bind;	/* STB_LOCAL, STB_GLOBAL, STB_WEAK */
	unsigned char type;	/* STT_FUNC or STT_GNU_IFUNC */
	bool vhidden;		/* a non-default version */
	bool shadowed;		/* vhidden and a default version exists */
	bool exported;		/* dlsym() on the object's handle finds it */
	uint8_t local_entry;	/* arch_local_entry_offset(st_other) */
};

struct sym_segment {
	uintptr_t start, end;	/* runtime [start, end) of a PT_LOAD */
	bool exec;
};

struct sym_object {
	struct sym_object *next;
	char *path;		/* shown; exe: readlink(/proc/self/exe) */
	char *dl_name;		/* dlpi_name, what dlopen() knows it by */
	char *real;		/* realpath(path), computed on first need */
	bool real_done;
	bool is_exe;
	uintptr_t bias;
	struct sym_segment *segs;
	size_t nsegs;

	bool parsed;		/* the arrays below are filled */
	struct sym_entry *syms;	/* sorted by name, then address */
	size_t nsyms;
	size_t *by_addr;	/* indices into syms, sorted by address */
	size_t max_size;	/* bounds kp_sym_find_addr()'s backward walk */
	char *names;		/* pool behind syms[].name */
};

static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sym_object *sym_objects;	/* loaded, in dl_iterate_phdr order */
static struct sym_object *sym_retired;	/* unloaded; freed by kp_sym_flush() */
static bool sym_valid;			/* sym_objects matches the counters */
static unsigned long long sym_adds, sym_subs;
static bool sym_elf_ready;

/* ---- the list of loaded objects ---------------------------------------- */

struct sym_seen {
	char *dl_name;
	uintptr_t bias;
	bool is_exe;
	struct sym_segment *segs;
	size_t nsegs;
};

struct sym_scan {
	bool counters_only;
	bool have_counters;
	unsigned long long adds, subs;
	struct sym_seen *seen;
	size_t n, cap;
	bool nomem;
};

static int sym_scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct sym_scan *scan = data;
	struct sym_seen *s;
	size_t i, n = 0;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		scan->have_counters = true;
		scan->adds = info->dlpi_adds;
		scan->subs = info->dlpi_subs;
	}
	if (scan->counters_only)
		return 1;

	if (scan->n == scan->cap) {
		size_t cap = scan->cap ? 2 * scan->cap : 16;
		struct sym_seen *p = realloc(scan->seen, cap * sizeof(*p));

		if (!p)
			goto nomem;
		scan->seen = p;
		scan->cap = cap;
	}
	s = &scan->seen[scan->n];
	memset(s, 0, sizeof(*s));
	/* Only the first entry is the executable; its name is "". */
	s->is_exe = scan->n == 0 && (!info->dlpi_name || !info->dlpi_name[0]);
	s->bias = info->dlpi_addr;
	s->dl_name = strdup(info->dlpi_name ? info->dlpi_name : "");
	if (!s->dl_name)
		goto nomem;
	for (i = 0; i < info->dlpi_phnum; i++)
		n += info->dlpi_phdr[i].p_type == PT_LOAD;
	s->segs = calloc(n ? n : 1, sizeof(*s->segs));
	if (!s->segs) {
		free(s->dl_name);
		goto nomem;
	}
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		s->segs[s->nsegs].start = info->dlpi_addr + ph->p_vaddr;
		s->segs[s->nsegs].end = info->dlpi_addr + ph->p_vaddr +
					ph->p_memsz;
		s->segs[s->nsegs].exec = ph->p_flags & PF_X;
		s->nsegs++;
	}
	scan->n++;
	return 0;
nomem:
	scan->nomem = true;
	return 1;
}

static void sym_free_object(struct sym_object *o)
{
	free(o->path);
	free(o->dl_name);
	free(o->real);
	free(o->segs);
	free(o->syms);
	free(o->by_addr);
	free(o->names);
	free(o);
}

static void sym_free_list(struct sym_object *o)
{
	while (o) {
		struct sym_object *next = o->next;

		sym_free_object(o);
		o = next;
	}
}

static char *sym_exe_path(void)
{
	char buf[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (len <= 0)
		return strdup("/proc/self/exe");
	buf[len] = '\0';
	return strdup(buf);
}

/*
 * Bring sym_objects in line with what is loaded now. The common case costs
 * one dl_iterate_phdr() step: the loader's add/sub counters tell whether
 * anything was dlopen()ed or dlclose()d since the last look.
 */
static int sym_refresh(void)
{
	struct sym_scan scan = { .counters_only = true };
	struct sym_object *list = NULL, **tail = &list;
	size_t i;
	int ret = 0;

	dl_iterate_phdr(sym_scan_cb, &scan);
	if (sym_valid && scan.have_counters && scan.adds == sym_adds &&
	    scan.subs == sym_subs)
		return 0;

	scan.counters_only = false;
	scan.have_counters = false;
	dl_iterate_phdr(sym_scan_cb, &scan);
	if (scan.nomem) {
		ret = kp_error(-ENOMEM, "out of memory listing loaded objects");
		goto out;
	}

	for (i = 0; i < scan.n; i++) {
		struct sym_seen *s = &scan.seen[i];
		struct sym_object **pp, *o = NULL;

		/* Keep what is still loaded at the same place. */
		for (pp = &sym_objects; *pp; pp = &(*pp)->next) {
			struct sym_object *old = *pp;

			if (old->bias == s->bias && old->is_exe == s->is_exe &&
			    !strcmp(old->dl_name, s->dl_name)) {
				o = old;
				*pp = o->next;
				break;
			}
		}
		if (!o) {
			o = calloc(1, sizeof(*o));
			if (!o) {
				ret = kp_error(-ENOMEM, "out of memory");
				goto out;
			}
			o->is_exe = s->is_exe;
			o->bias = s->bias;
			o->dl_name = s->dl_name;
			s->dl_name = NULL;
			o->path = o->is_exe ? sym_exe_path() :
					      strdup(o->dl_name);
			if (!o->path) {
				sym_free_object(o);
				ret = kp_error(-ENOMEM, "out of memory");
				goto out;
			}
		}
		free(o->segs);
		o->segs = s->segs;
		o->nsegs = s->nsegs;
		s->segs = NULL;
		o->next = NULL;
		*tail = o;
		tail = &o->next;
	}

	/* Unloaded objects: callers may still hold their strings. */
	*tail = NULL;
	if (sym_objects) {
		struct sym_object *last = sym_objects;

		while (last->next)
			last = last->next;
		last->next = sym_retired;
		sym_retired = sym_objects;
	}
	sym_objects = list;
	list = NULL;
	sym_valid = scan.have_counters;
	sym_adds = scan.adds;
	sym_subs = scan.subs;
out:
	/* On failure, what was moved to list goes back to the live list. */
	if (list) {
		*tail = sym_objects;
		sym_objects = list;
		sym_valid = false;
	}
	for (i = 0; i < scan.n; i++) {
		free(scan.seen[i].dl_name);
		free(scan.seen[i].segs);
	}
	free(scan.seen);
	return ret;
}

static struct sym_object *sym_object_at(uintptr_t addr)
{
	struct sym_object *o;
	size_t i;

	for (o = sym_objects; o; o = o->next)
		for (i = 0; i < o->nsegs; i++)
			if (addr >= o->segs[i].start && addr < o->segs[i].end)
				return o;
	return NULL;
}

static bool sym_in_segment(const struct sym_object *o, uintptr_t addr,
			   bool need_exec)
{
	size_t i;

	for (i = 0; i < o->nsegs; i++)
		if (addr >= o->segs[i].start && addr < o->segs[i].end &&
		    (o->segs[i].exec || !need_exec))
			return true;
	return false;
}

/* ---- reading one object's symbols --------------------------------------- */

struct sym_build {
	struct sym_entry *v;
	size_t n, cap;
};

static int sym_cmp_name(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (x->addr > y->addr) - (x->addr < y->addr);
}

static int sym_cmp_addr(const void *a, const void *b, void *base)
{
	const struct sym_entry *syms = base;
	const struct sym_entry *x = &syms[*(const size_t *)a];
	const struct sym_entry *y = &syms[*(const size_t *)b];

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int sym_bind_rank(unsigned char bind)
{
	return bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
}

/*
 * Add the function symbols of one symbol table. @versym is the
 * .gnu.version data matching a .dynsym, or NULL. Names point into libelf's
 * copy of the string table until sym_parse() copies the survivors.
 */
static int sym_read_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr,
			  Elf_Data *versym, bool dynamic,
			  const struct sym_object *o, struct sym_build *b)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	size_t i, count;

	if (!data || !data->d_buf || data->d_type != ELF_T_SYM || !entsize)
		return 0;
	count = data->d_size / entsize;

	for (i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Versym vs;
		struct sym_entry *e;
		const char *name, *at;
		unsigned char type, bind;
		uintptr_t addr;
		bool vhidden = false;

		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS ||
		    sym.st_value == 0)
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		if (!name || !name[0] || name[0] == '@')
			continue;
		addr = o->bias + sym.st_value;
		/* A file that does not match the mapping gives no symbols. */
		if (!sym_in_segment(o, addr, false))
			continue;

		/* .symtab spells versions in the name, .dynsym in versym. */
		at = strchr(name, '@');
		if (at)
			vhidden = at[1] != '@';
		else if (versym && gelf_getversym(versym, (int)i, &vs))
			vhidden = vs & SYM_VERSYM_HIDDEN;

		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 256;
			struct sym_entry *p = realloc(b->v, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			b->v = p;
			b->cap = cap;
		}
		e = &b->v[b->n++];
		memset(e, 0, sizeof(*e));
		e->addr = addr;
		e->size = sym.st_size;
		e->local_entry = (uint8_t)arch_local_entry_offset(sym.st_other);
		/* Cut "@VER" later, when copying into the pool. */
		e->name = name;
		e->bind = bind;
		e->type = type;
		e->vhidden = vhidden;
		e->exported = dynamic && bind != STB_LOCAL && !vhidden;
	}
	return 0;
}

static size_t sym_name_len(const char *name)
{
	const char *at = strchr(name, '@');

	return at ? (size_t)(at - name) : strlen(name);
}

/*
 * Sort, merge the same name at the same address (.symtab and .dynsym, or
 * "foo@VER" and "foo@@VER"), mark shadowed hidden versions, and copy the
 * names out of libelf's memory.
 */
static int sym_finish(struct sym_object *o, struct sym_build *b)
{
	size_t i, j, n = 0, pool = 0, off = 0;
	char *names;

	/* Compare names without their version while sorting. */
	for (i = 0; i < b->n; i++)
		pool += sym_name_len(b->v[i].name) + 1;
	names = malloc(pool ? pool : 1);
	if (!names)
		return -ENOMEM;
	for (i = 0; i < b->n; i++) {
		size_t len = sym_name_len(b->v[i].name);

		memcpy(names + off, b->v[i].name, len);
		names[off + len] = '\0';
		b->v[i].name = names + off;
		off += len + 1;
	}
	if (b->n)
		qsort(b->v, b->n, sizeof(*b->v), sym_cmp_name);

	for (i = 0; i < b->n; i++) {
		struct sym_entry *e = &b->v[i];

		if (n && !strcmp(b->v[n - 1].name, e->name) &&
		    b->v[n - 1].addr == e->addr) {
			struct sym_entry *k = &b->v[n - 1];

			if (e->size > k->size)
				k->size = e->size;
			if (sym_bind_rank(e->bind) > sym_bind_rank(k->bind))
				k->bind = e->bind;
			if (e->type == STT_GNU_IFUNC)
				k->type = STT_GNU_IFUNC;
			k->vhidden = k->vhidden && e->vhidden;
			k->exported = k->exported || e->exported;
			continue;
		}
		b->v[n++] = *e;
	}

	for (i = 0; i < n; i = j) {
		bool have_default = false;

		for (j = i; j < n && !strcmp(b->v[j].name, b->v[i].name); j++)
			have_default |= !b->v[j].vhidden;
		if (have_default)
			for (size_t k = i; k < j; k++)
				b->v[k].shadowed = b->v[k].vhidden;
	}

	o->by_addr = malloc((n ? n : 1) * sizeof(*o->by_addr));
	if (!o->by_addr) {
		free(names);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		o->by_addr[i] = i;
		if (b->v[i].size > o->max_size)
			o->max_size = b->v[i].size;
	}
	if (n)
		qsort_r(o->by_addr, n, sizeof(*o->by_addr), sym_cmp_addr, b->v);

	o->syms = b->v;
	o->nsyms = n;
	o->names = names;
	b->v = NULL;
	return 0;
}

/* libelf's version handshake, once. Called under sym_lock. */
static int sym_elf_init(void)
{
	if (!sym_elf_ready) {
		if (elf_version(EV_CURRENT) == EV_NONE)
			return kp_error(-ENOSYS, "libelf: %s", elf_errmsg(-1));
		sym_elf_ready = true;
	}
	return 0;
}

/*
 * The function symbols of @elf into @o's arrays: every .symtab and .dynsym
 * (with its .gnu.version), then sym_finish(). Symbols outside @o's
 * segments are dropped. Return: 0, -ENOEXEC when @elf is not a readable
 * ELF file (@o left empty), or -ENOMEM.
 */
static int sym_parse_elf(Elf *elf, struct sym_object *o)
{
	struct sym_build b = { 0 };
	Elf_Scn *scn = NULL;
	GElf_Ehdr ehdr;
	size_t shstrndx;
	int ret = 0;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -ENOEXEC;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Scn *vscn = NULL;
		Elf_Data *versym = NULL;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type != SHT_SYMTAB && shdr.sh_type != SHT_DYNSYM)
			continue;
		if (shdr.sh_type == SHT_DYNSYM) {
			size_t idx = elf_ndxscn(scn);

			/* The versym table whose sh_link names this dynsym. */
			while ((vscn = elf_nextscn(elf, vscn))) {
				GElf_Shdr vsh;

				if (gelf_getshdr(vscn, &vsh) &&
				    vsh.sh_type == SHT_GNU_versym &&
				    vsh.sh_link == idx) {
					versym = elf_getdata(vscn, NULL);
					break;
				}
			}
		}
		ret = sym_read_table(elf, scn, &shdr, versym,
				     shdr.sh_type == SHT_DYNSYM, o, &b);
		if (ret)
			goto out;
	}
	ret = sym_finish(o, &b);
out:
	free(b.v);
	return ret;
}

/*
 * Read @o's function symbols once. A file that cannot be opened or parsed
 * leaves the object empty rather than failing lookups in other objects.
 */
static int sym_parse(struct sym_object *o)
{
	Elf *elf = NULL;
	int fd, ret;

	if (o->parsed)
		return 0;
	ret = sym_elf_init();
	if (ret)
		return ret;

	fd = open(o->is_exe ? "/proc/self/exe" : o->dl_name,
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto done;
	/* Not READ_MMAP: a file truncated under us must not SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf)
		ret = sym_parse_elf(elf, o);
	if (ret == -ENOEXEC)
		ret = 0;
done:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (ret)
		return kp_error(ret, "cannot read the symbols of %s", o->path);
	o->parsed = true;
	return 0;
}

/*
 * The PT_LOAD segments of an image, at bias 0: what dl_iterate_phdr()
 * would report for it loaded at its link-time addresses.
 */
static int sym_image_segments(Elf *elf, struct sym_object *o)
{
	size_t i, phnum, n = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &phnum) != 0)
		phnum = 0;
	/* Count first: phnum is the file's claim, not what can be read. */
	for (i = 0; i < phnum && i <= INT_MAX; i++)
		n += gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD;
	o->segs = calloc(n ? n : 1, sizeof(*o->segs));
	if (!o->segs)
		return -ENOMEM;
	for (i = 0; i < phnum && i <= INT_MAX && o->nsegs < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		o->segs[o->nsegs].start = o->bias + ph.p_vaddr;
		o->segs[o->nsegs].end = o->bias + ph.p_vaddr + ph.p_memsz;
		o->segs[o->nsegs].exec = ph.p_flags & PF_X;
		o->nsegs++;
	}
	return 0;
}

int kp_sym_parse_image(const void *image, size_t len,
		       void (*cb)(const char *name, uintptr_t value,
				  size_t size, int type, void *arg),
		       void *arg)
{
	struct sym_object o = { 0 };
	Elf *elf = NULL;
	char *copy;
	size_t i;
	int ret;

	if (!image || !cb)
		return -EINVAL;
	pthread_mutex_lock(&sym_lock);
	ret = sym_elf_init();
	pthread_mutex_unlock(&sym_lock);
	if (ret)
		return ret;

	/*
	 * elf_memory() wants writable memory (it treats the image like a
	 * private mapping): give it a copy, the caller's image is const.
	 */
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, image, len);
	elf = elf_memory(copy, len);
	if (!elf) {
		ret = -ENOEXEC;
		goto out;
	}
	ret = sym_image_segments(elf, &o);
	if (!ret)
		ret = sym_parse_elf(elf, &o);
	if (ret)
		goto out;
	for (i = 0; i < o.nsyms; i++) {
		const struct sym_entry *e = &o.syms[o.by_addr[i]];

		cb(e->name, e->addr, e->size, e->type, arg);
	}
out:
	if (elf)
		elf_end(elf);
	free(copy);
	free(o.segs);
	free(o.syms);
	free(o.by_addr);
	free(o.names);
	return ret;
}

/* ---- lookups ------------------------------------------------------------- */

/* The first entry named @name in @o, or NULL; its equals follow it. */
static struct sym_entry *sym_first_named(struct sym_object *o,
					 const char *name)
{
	size_t lo = 0, hi = o->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(o->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < o->nsyms && !strcmp(o->syms[lo].name, name))
		return &o->syms[lo];
	return NULL;
}

/* Index in o->by_addr of the first symbol starting above @addr. */
static size_t sym_upper_bound(const struct sym_object *o, uintptr_t addr)
{
	size_t lo = 0, hi = o->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->syms[o->by_addr[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A sized plain function starting exactly at @addr, in whatever object. */
static const struct sym_entry *sym_sized_at(uintptr_t addr)
{
	struct sym_object *o = sym_object_at(addr);
	size_t i;

	if (!o || sym_parse(o))
		return NULL;
	for (i = sym_upper_bound(o, addr); i > 0; i--) {
		const struct sym_entry *e = &o->syms[o->by_addr[i - 1]];

		if (e->addr != addr)
			break;
		if (e->size && e->type == STT_FUNC)
			return e;
	}
	return NULL;
}

typedef void *(*sym_resolver_t)(unsigned long hwcap, unsigned long hwcap2);

/* The implementation an IFUNC stands for; 0 if it cannot be told. */
static uintptr_t sym_resolve_ifunc(struct sym_object *o, struct sym_entry *e)
{
	void *impl = NULL;

	if (e->impl)
		return e->impl;
	if (e->exported) {
		/*
		 * The object's own handle searches the object first, so this
		 * is its definition even when another object interposes it.
		 */
		void *h = dlopen(o->is_exe ? NULL : o->dl_name,
				 RTLD_NOLOAD | RTLD_LAZY);

		if (h) {
			impl = dlsym(h, e->name);
			kp_real_dlclose(h);	/* under sym_lock: no sweep */
		}
	}
	if (!impl && sym_in_segment(o, e->addr, true)) {
		sym_resolver_t resolver = (sym_resolver_t)e->addr;

		impl = resolver(getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
	}
	e->impl = (uintptr_t)impl;
	return e->impl;
}

/* The address a lookup of @e yields: IFUNCs stand for their target. */
static uintptr_t sym_effective(struct sym_object *o, struct sym_entry *e)
{
	return e->type == STT_GNU_IFUNC ? sym_resolve_ifunc(o, e) : e->addr;
}

static const char *sym_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/*
 * Does "obj" select @o? Its path or basename equals it, or the basename
 * starts with it followed by '.' ("libz" and "libz.so" select libz.so.1).
 * A path holding '/' also matches through symlinks (/usr/lib vs /lib).
 */
static bool object_matches(struct sym_object *o, const char *obj)
{
	size_t len = strlen(obj);
	const char *names[2] = { o->path, o->dl_name };
	int i;

	for (i = 0; i < 2; i++) {
		const char *base = sym_basename(names[i]);

		if (!names[i][0])
			continue;
		if (!strcmp(names[i], obj) || !strcmp(base, obj))
			return true;
		if (!strncmp(base, obj, len) && base[len] == '.')
			return true;
	}
	if (strchr(obj, '/')) {
		char real[PATH_MAX];

		if (!o->real_done) {
			o->real = realpath(o->path, NULL);
			o->real_done = true;
		}
		if (o->real && realpath(obj, real) && !strcmp(real, o->real))
			return true;
	}
	return false;
}

bool kp_sym_object_loaded(const char *obj)
{
	struct sym_object *o;
	bool found = false;

	if (!obj || !obj[0])
		return false;
	pthread_mutex_lock(&sym_lock);
	if (!sym_refresh())
		for (o = sym_objects; o && !found; o = o->next)
			found = object_matches(o, obj);
	pthread_mutex_unlock(&sym_lock);
	return found;
}

static bool sym_looks_like_file(const char *obj)
{
	struct sym_object *o;

	if (strchr(obj, '/') || strstr(obj, ".so"))
		return true;
	for (o = sym_objects; o; o = o->next)
		if (o->is_exe && !strcmp(sym_basename(o->path), obj))
			return true;
	return false;
}

struct sym_cand {
	struct sym_object *obj;
	struct sym_entry *e;
	uintptr_t addr;
};

/* Add @c unless a candidate at the same address is known already. */
static int sym_add_cand(struct sym_cand **cand, size_t *ncand, size_t *cap,
			struct sym_cand c)
{
	size_t i;

	for (i = 0; i < *ncand; i++)
		if ((*cand)[i].addr == c.addr)
			return 0;
	if (*ncand == *cap) {
		size_t ncap = *cap ? 2 * *cap : 4;
		struct sym_cand *p = realloc(*cand, ncap * sizeof(*p));

		if (!p)
			return kp_error(-ENOMEM, "out of memory");
		*cand = p;
		*cap = ncap;
	}
	(*cand)[(*ncand)++] = c;
	return 0;
}

static int sym_lookup_locked(const char *spec, struct kp_symbol *out)
{
	const char *colon = strchr(spec, ':');
	const char *name = spec;
	char *obj = NULL;
	struct sym_cand *cand = NULL;
	size_t ncand = 0, cap = 0, i;
	struct sym_object *o;
	bool any_obj = false;
	int ret;

	ret = sym_refresh();
	if (ret)
		return ret;

	if (colon) {
		obj = strndup(spec, colon - spec);
		if (!obj)
			return kp_error(-ENOMEM, "out of memory");
		for (o = sym_objects; o && !any_obj; o = o->next)
			any_obj = obj[0] && object_matches(o, obj);
		if (any_obj || sym_looks_like_file(obj)) {
			name = colon + 1;
		} else {
			free(obj);
			obj = NULL;
		}
	}
	if (colon && (colon == spec || !name[0])) {
		ret = kp_error(-EINVAL, "malformed '%s': want SYM or OBJ:SYM",
			       spec);
		goto out;
	}
	if (obj && !any_obj) {
		ret = kp_error(-ENOENT, "no loaded object matches '%s'", obj);
		goto out;
	}

	for (o = sym_objects; o; o = o->next) {
		struct sym_entry *e;

		if (obj && !object_matches(o, obj))
			continue;
		if (sym_parse(o))
			continue;
		e = sym_first_named(o, name);
		for (; e && e < o->syms + o->nsyms && !strcmp(e->name, name);
		     e++) {
			uintptr_t addr;

			if (e->shadowed)
				continue;
			addr = sym_effective(o, e);
			if (!addr)
				continue;
			ret = sym_add_cand(&cand, &ncand, &cap,
					   (struct sym_cand){ o, e, addr });
			if (ret)
				goto out;
		}
	}

	if (!ncand) {
		if (obj)
			ret = kp_error(-ENOENT, "no function '%s' in '%s'",
				       name, obj);
		else
			ret = kp_error(-ENOENT, "no function '%s' loaded",
				       name);
		goto out;
	}
	if (ncand > 1) {
		ret = kp_error(-EADDRNOTAVAIL, "symbol '%s' is ambiguous: ",
			       name);
		for (i = 0; i < ncand && i < SYM_AMBIG_SHOWN; i++)
			kp_error_append("%s%s:%s@%#lx", i ? ", " : "",
					cand[i].obj->path, name,
					(unsigned long)cand[i].addr);
		if (ncand > SYM_AMBIG_SHOWN)
			kp_error_append(", ... (%zu in all)", ncand);
		kp_error_append("; use OBJ:SYM");
		goto out;
	}

	out->addr = cand[0].addr;
	out->name = cand[0].e->name;
	out->object = cand[0].obj->path;
	out->load_bias = cand[0].obj->bias;
	if (cand[0].e->type == STT_GNU_IFUNC) {
		const struct sym_entry *impl = sym_sized_at(out->addr);
		struct sym_object *where = sym_object_at(out->addr);

		/* The code may live elsewhere (libc's time() is the vDSO's). */
		out->size = impl ? impl->size : 0;
		out->local_entry = impl ? impl->local_entry : 0;
		if (where) {
			out->object = where->path;
			out->load_bias = where->bias;
		}
	} else {
		out->size = cand[0].e->size;
		out->local_entry = cand[0].e->local_entry;
	}
	ret = 0;
out:
	free(cand);
	free(obj);
	return ret;
}

int kp_sym_lookup(const char *spec, struct kp_symbol *out)
{
	int ret;

	if (!spec || !spec[0] || !out)
		return kp_error(-EINVAL, "no symbol name given");
	pthread_mutex_lock(&sym_lock);
	ret = sym_lookup_locked(spec, out);
	pthread_mutex_unlock(&sym_lock);
	return ret;
}

/* Is @a a better description of an address than @b (same start)? */
static bool sym_better(const struct sym_entry *a, const struct sym_entry *b)
{
	if (!b)
		return true;
	if (!!a->size != !!b->size)
		return a->size;
	if (a->shadowed != b->shadowed)
		return !a->shadowed;
	return sym_bind_rank(a->bind) > sym_bind_rank(b->bind);
}

/* The loaded object that maps @addr, the object list refreshed first.
 * sym_lock held. Return 0 or -ENOENT (with a message). */
static int object_at_locked(uintptr_t addr, struct sym_object **o)
{
	int ret = sym_refresh();

	if (ret)
		return ret;
	*o = sym_object_at(addr);
	if (!*o)
		return kp_error(-ENOENT, "%#lx is in no loaded object",
				(unsigned long)addr);
	return 0;
}

int kp_sym_find_addr(uintptr_t addr, struct kp_symbol *out)
{
	const struct sym_entry *best = NULL;
	struct sym_object *o;
	size_t i;
	int ret;

	if (!out)
		return -EINVAL;
	pthread_mutex_lock(&sym_lock);
	ret = object_at_locked(addr, &o);
	if (ret)
		goto out;
	ret = sym_parse(o);
	if (ret)
		goto out;

	/*
	 * Walk down from the last symbol starting at or below addr; the
	 * innermost (highest) start covering it wins. Nothing that starts
	 * max_size or more below addr can cover it.
	 */
	for (i = sym_upper_bound(o, addr); i > 0; i--) {
		const struct sym_entry *e = &o->syms[o->by_addr[i - 1]];

		if (best && e->addr != best->addr)
			break;
		if (e->addr != addr && addr - e->addr >= o->max_size)
			break;
		if (e->addr != addr && addr - e->addr >= e->size)
			continue;
		if (sym_better(e, best))
			best = e;
	}
	if (!best) {
		ret = kp_error(-ENOENT, "no function at %#lx in %s",
			       (unsigned long)addr, o->path);
		goto out;
	}
	out->addr = best->addr;
	out->size = best->size;
	out->local_entry = best->local_entry;
	out->name = best->name;
	out->object = o->path;
	out->load_bias = o->bias;
out:
	pthread_mutex_unlock(&sym_lock);
	return ret;
}

int kp_sym_object_of(uintptr_t addr, const char **path, uintptr_t *bias)
{
	struct sym_object *o;
	int ret;

	pthread_mutex_lock(&sym_lock);
	ret = object_at_locked(addr, &o);
	if (ret)
		goto out;
	if (path)
		*path = o->path;
	if (bias)
		*bias = o->bias;
out:
	pthread_mutex_unlock(&sym_lock);
	return ret;
}

void kp_sym_flush(void)
{
	pthread_mutex_lock(&sym_lock);
	sym_free_list(sym_objects);
	sym_free_list(sym_retired);
	sym_objects = NULL;
	sym_retired = NULL;
	sym_valid = false;
	pthread_mutex_unlock(&sym_lock);
}
