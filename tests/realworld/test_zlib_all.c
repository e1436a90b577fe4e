// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every function of a real library, probed: Debian's libz.so.1, built by
 * its compiler with its flags, not by us. On x86_64 the host's; on ppc64le
 * (ELFv2) the one in the cross sysroot, under qemu.
 *
 * The function symbols of the loaded libz (.dynsym, and .symtab when the
 * file has one) are read with libelf. A deterministic workload (deflate at
 * several levels, strategies and wrappers, inflate, checksums,
 * compress2/uncompress, gzwrite/gzread on a temporary file, then briefly
 * the rest of the API so that most of zlib's functions run) runs three
 * times:
 *
 *   reference  no probes;
 *   pass 1     a probe at the entry of every function, one batch;
 *   pass 2     probes at the 2nd and 3rd instruction of every function
 *              (boundaries from Capstone), one batch: whatever the compiler
 *              put there runs out of line or is emulated; then the same
 *              probes without post_handlers (boosted);
 *   pass 3     a probe on every branch of the functions that ran at most
 *              a few dozen times, one batch: every branch form the compiler
 *              used there is emulated, taken and not taken.
 *
 * Every output byte (compressed streams, checksums, decompressed data, the
 * gzip files) must equal the reference's. Pass 1 counts each function's
 * calls, checked against the calls the workload itself made; pass 2 must
 * count the same at the 2nd and 3rd instructions, which we only probe where
 * they are reached straight from the entry (no jump, ret or trap before
 * them), so every entry passes them exactly once. After each pass the first
 * 64 bytes of every function are what they were before the test. Every
 * post_handler checks where the probed instruction went: the next one, the
 * branch target, or (conditional) either.
 *
 * ppc64le (ELFv2): instructions are 4 bytes (8 for Power10's prefixed
 * ones, whose first word has primary opcode 1), decoded here from the
 * ISA's fields; Capstone's PPC decoder only names them for messages. A
 * function that sets up its TOC pointer has two entries: the global one
 * (its symbol's address: `addis r2,r12,..; addi r2,r2,..`), which calls
 * through the PLT or a function pointer take, and the local one after it
 * (st_other), which direct calls from inside the object take and every
 * call passes. So on ppc64:
 *
 *   pass 1     the probe asks for the function's own address and must land
 *              on its local entry (kp.addr says where it went): it counts
 *              every call;
 *   pass 2     the 2nd and 3rd instructions from the local entry, as on
 *              x86_64; the first call straight from it (bl, emulated: LR
 *              must bring the callee back) and the instruction after it,
 *              once per entry too; and the two words of the global entry,
 *              which count the calls that came through it: never more than
 *              pass 1 counted, and exactly the workload's own calls of the
 *              function (libz's calls of its own functions take the local
 *              entry, see check_gep_calls());
 *   pass 3     also bdnz/bdz, bctrl, beqlr...: for blr and bctr the
 *              post_handler must see the LR or CTR the pre_handler saw.
 *
 * Registration on ppc64 is checked both ways: an instruction the library's
 * decoder declares unprobe-able (larx/stcx., traps, prefixed, bctar, bcctr
 * with BO_2 clear) must be refused with -EOPNOTSUPP, and every other one
 * must register.
 *
 * Handlers only touch the probe's own counters, with atomics: they run in
 * signal context.
 */
#include "testutil.h"

#if !defined(__x86_64__) && \
	!(defined(__powerpc64__) && defined(_CALL_ELF) && _CALL_ELF == 2)
KP_SKIP_MAIN("instruction boundaries are only known here for x86_64 and "
	     "ppc64 ELFv2 (ELFv1's function symbols are descriptors)")
#else

#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Bytes of each function compared before the test and after each pass. */
#define TEXT_SAVE	64
/* Instructions decoded at each function's start: entry, 2nd, 3rd. */
#define MAX_INSN	3
#if defined(__x86_64__)
#define MAX_DECODE	MAX_INSN
#else
/* ppc64 decodes further, to find the first call straight from the entry:
 * a probe on it and on the instruction it returns to (pass 2). */
#define MAX_DECODE	32
#endif
/* Refusals we accept (documented unprobe-able instructions) per pass. */
#define MAX_ACCEPTED_REFUSALS	3
/* ppc64: words of a global entry probed (addis r2,r12; addi r2,r2). */
#define MAX_GEP		2

#if defined(__x86_64__)
/* x86_64: docs/api.md's -EOPNOTSUPP list says what MAY be refused; an
 * instruction on it that the library handles anyway is no error. */
#define MUST_REFUSE	0
#else
/* ppc64: the decoder (src/arch/ppc64/insn.c) refuses exactly that list. */
#define MUST_REFUSE	1
#endif

/* ---- the library under test: its functions ---- */

/* Where the instruction after a probed one continues, for post_handler. */
enum post_kind {
	POST_ANY,	/* ret, indirect branch: not checked */
	POST_NEXT,	/* straight-line: p->addr + size */
	POST_TARGET,	/* jmp/call rel: the target */
	POST_EITHER,	/* jcc/loop: the target or the next instruction */
	POST_REG,	/* ppc64 bclr/bcctr: where LR/CTR pointed at the
			 * pre_handler, or the next one if conditional */
};

struct zinsn {
	unsigned int off, size;
	uint8_t bytes[16];
	char text[200];		/* "mnemonic operands", for messages */
	enum post_kind post;
	uintptr_t target;
	/* Control does not fall through to the next instruction. */
	bool ends_straight_line;
	/* ppc64: a branch that sets LR (bl, bcl, bctrl...): comes back. */
	bool call;
	/* ppc64 POST_REG: through CTR (else LR); may fall through. */
	bool via_ctr, cond;
	/* docs/api.md's -EOPNOTSUPP list: why this one may be refused. */
	const char *unsupported;
};

struct zfunc {
	char name[160];		/* every symbol at this address, "/"-joined */
	uintptr_t addr;
	size_t size;
	uint8_t saved[TEXT_SAVE];
	size_t saved_len;
	/* ppc64 ELFv2: the local entry's offset from the symbol (st_other),
	 * where every call passes; 0 elsewhere. */
	unsigned int local;
	/* From the entry every call passes (addr + local): insn[k].off is
	 * from addr, so insn[0].off == local. */
	struct zinsn insn[MAX_DECODE];
	unsigned int ninsn;	/* decoded (up to MAX_DECODE) */
	unsigned int nstraight;	/* of those, reached straight from the entry */
	/* ppc64: the first call among those (an index), or 0: none. */
	unsigned int call;
	/* ppc64: the global entry's words before the local entry, all
	 * straight-line (else ngep is 0). */
	struct zinsn gep[MAX_GEP];
	unsigned int ngep;
	unsigned long pass1;	/* entry hits in pass 1 */
	bool pass1_valid;
};

static struct {
	char path[PATH_MAX];
	uintptr_t base;
	uintptr_t xstart[8], xend[8];	/* executable PT_LOAD segments */
	int nx;
	uintptr_t text_start, text_end;
	uintptr_t plt_start, plt_end;	/* ppc64: .plt, the PLT slots */
	int ndynsym, nsymtab;		/* function symbols read */
} libz;

static struct zfunc *funcs;
static int nfuncs;

/* Direct branch targets anywhere in libz's .text, sorted. */
static uintptr_t *branch_targets;
static size_t nbranch_targets;

/* ---- probes ---- */

struct zprobe {
	struct kprobe kp;
	/* Written by the handlers (signal context): atomics only. */
	unsigned long pre, post;
	unsigned long bad_pre_ip, bad_post_ip, last_bad_post_ip;
	/* POST_REG: LR or CTR as the pre_handler saw it. Emulated: its
	 * post_handler runs in the same trap, nothing comes between. */
	unsigned long reg_target;

	struct zfunc *fn;
	const struct zinsn *in;
	unsigned int idx;	/* index in fn->insn (fn->gep if gep) */
	bool gep;		/* ppc64: a word of the global entry (idx: which) */
	/* What register_kprobe() is asked for: kp.addr and kp.offset. It
	 * must land on fn->addr + in->off (kp.addr says where it did). */
	uintptr_t req_addr;
	unsigned int req_off;
	int refused;		/* the errno of a refusal; 0 when registered */
};

static const struct zinsn unknown_insn = {
	.text = "(not decoded)",
	.post = POST_ANY,
	.ends_straight_line = true,
};

static int z_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct zprobe *z = container_of(p, struct zprobe, kp);

	cnt_inc(&z->pre);
	if (instruction_pointer(regs) != (unsigned long)p->addr)
		cnt_inc(&z->bad_pre_ip);
#if defined(__powerpc64__)
	if (z->in->post == POST_REG)
		__atomic_store_n(&z->reg_target, (z->in->via_ctr ? regs->ctr :
						  regs->link) & ~3ul,
				 __ATOMIC_RELAXED);
#endif
	return 0;
}

static void z_post(struct kprobe *p, struct pt_regs *regs,
		   unsigned long flags)
{
	struct zprobe *z = container_of(p, struct zprobe, kp);
	unsigned long ip = instruction_pointer(regs);
	unsigned long next = (unsigned long)p->addr + z->in->size;
	bool ok = true;

	switch (z->in->post) {
	case POST_ANY:
		break;
	case POST_NEXT:
		ok = ip == next;
		break;
	case POST_TARGET:
		ok = ip == z->in->target;
		break;
	case POST_EITHER:
		ok = ip == next || ip == z->in->target;
		break;
	case POST_REG:
		ok = ip == __atomic_load_n(&z->reg_target, __ATOMIC_RELAXED) ||
		     (z->in->cond && ip == next);
		break;
	}
	cnt_inc(&z->post);
	if (!ok) {
		cnt_inc(&z->bad_post_ip);
		__atomic_store_n(&z->last_bad_post_ip, ip, __ATOMIC_RELAXED);
	}
}

/* Pass 1: one per function; pass 2: up to two per function. */
static struct zprobe *pass1_probes, *pass2_probes;
/* With a post_handler, every hit takes two traps; without, the library
 * boosts it (one trap, the slot jumps back): both paths are run. */
static bool with_post = true;
static int npass1, npass2;
/* What a failed test leaves registered: kp_cleanup() unregisters it. */
static struct kprobe **cleanup_kps;
static int cleanup_n;

/* ---- finding libz and its functions ---- */

static int find_libz(struct dl_phdr_info *info, size_t size, void *data)
{
	const char *name = info->dlpi_name, *slash;
	int i;

	if (!name || !*name)
		return 0;
	slash = strrchr(name, '/');
	if (strncmp(slash ? slash + 1 : name, "libz.so.1", 9) != 0)
		return 0;
	snprintf(libz.path, sizeof(libz.path), "%s", name);
	libz.base = info->dlpi_addr;
	for (i = 0; i < info->dlpi_phnum && libz.nx < 8; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		libz.xstart[libz.nx] = libz.base + ph->p_vaddr;
		libz.xend[libz.nx] = libz.base + ph->p_vaddr + ph->p_memsz;
		libz.nx++;
	}
	return 1;
}

static uintptr_t exec_end(uintptr_t addr)
{
	int i;

	for (i = 0; i < libz.nx; i++)
		if (addr >= libz.xstart[i] && addr < libz.xend[i])
			return libz.xend[i];
	return 0;
}

static void add_func(const char *name, uintptr_t addr, size_t size,
		     unsigned int local)
{
	struct zfunc *f;
	size_t len;
	int i;

	/* Aliases of one address are one function, probed once. */
	for (i = 0; i < nfuncs; i++) {
		f = &funcs[i];
		if (f->addr != addr)
			continue;
		if (size > f->size)
			f->size = size;
		/* "name" already there (the same symbol in both tables)? */
		len = strlen(name);
		for (const char *s = f->name; (s = strstr(s, name)); s++)
			if ((s == f->name || s[-1] == '/') &&
			    (s[len] == '\0' || s[len] == '/'))
				return;
		len = strlen(f->name);
		snprintf(f->name + len, sizeof(f->name) - len, "/%s", name);
		return;
	}
	funcs = realloc(funcs, (nfuncs + 1) * sizeof(*funcs));
	if (!funcs)
		abort();
	f = &funcs[nfuncs++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->addr = addr;
	f->size = size;
	f->local = local;
}

static int cmp_func(const void *a, const void *b)
{
	const struct zfunc *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * How far after its symbol a function's local entry lies, from st_other:
 * ELFv2 (ppc64le) keeps (1 << v) >> 2 instructions there in bits 5-7 (0 and
 * 1: no separate local entry). None elsewhere.
 */
static unsigned int local_entry(unsigned char st_other)
{
#if defined(__powerpc64__)
	unsigned int v = (st_other >> 5) & 7;

	return v < 2 ? 0 : ((1u << v) >> 2) * 4;
#else
	return 0;
#endif
}

/* STT_FUNC and STT_GNU_IFUNC symbols, defined, with a size. Runtime
 * address: load base + st_value (an IFUNC's is its resolver). */
static int read_symbols(void)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf *e;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	fd = open(libz.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("cannot open %s: %s\n", libz.path, strerror(errno));
		return -1;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx) != 0) {
		printf("libelf cannot read %s: %s\n", libz.path,
		       elf_errmsg(-1));
		close(fd);
		return -1;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		const char *sname;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		sname = elf_strptr(e, shstrndx, sh.sh_name);
		if (sname && !strcmp(sname, ".text")) {
			libz.text_start = libz.base + sh.sh_addr;
			libz.text_end = libz.text_start + sh.sh_size;
		}
		if (sname && !strcmp(sname, ".plt")) {
			libz.plt_start = libz.base + sh.sh_addr;
			libz.plt_end = libz.plt_start + sh.sh_size;
		}
		if (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;
			int type;

			if (!gelf_getsym(d, (int)i, &s))
				continue;
			type = GELF_ST_TYPE(s.st_info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			if (s.st_shndx == SHN_UNDEF || s.st_size == 0)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			if (sh.sh_type == SHT_DYNSYM)
				libz.ndynsym++;
			else
				libz.nsymtab++;
			add_func(name, libz.base + s.st_value, s.st_size,
				 local_entry(s.st_other));
		}
	}
	elf_end(e);
	close(fd);
	qsort(funcs, nfuncs, sizeof(*funcs), cmp_func);
	return 0;
}

/* ---- decoding (Capstone, before any probe is armed) ---- */

static csh cs;

#if defined(__x86_64__)

/* docs/api.md, Errors, -EOPNOTSUPP: instructions that can neither run out
 * of line nor be emulated. Only these may be refused. */
static const char *unsupported_reason(const cs_insn *in)
{
	static const struct {
		unsigned int id;
		const char *why;
	} list[] = {
		{ X86_INS_INT3, "int3" }, { X86_INS_INT, "int n" },
		{ X86_INS_INT1, "int1" }, { X86_INS_INTO, "into" },
		{ X86_INS_UD0, "ud0" }, { X86_INS_UD2B, "ud1" },
		{ X86_INS_UD2, "ud2" }, { X86_INS_HLT, "hlt" },
		{ X86_INS_IRET, "iret" }, { X86_INS_IRETD, "iret" },
		{ X86_INS_IRETQ, "iret" }, { X86_INS_LJMP, "far jmp" },
		{ X86_INS_LCALL, "far call" }, { X86_INS_RETF, "far ret" },
		{ X86_INS_RETFQ, "far ret" }, { X86_INS_SYSENTER, "sysenter" },
		{ X86_INS_SYSEXIT, "sysexit" }, { X86_INS_SYSRET, "sysret" },
		{ X86_INS_XBEGIN, "xbegin" }, { X86_INS_XEND, "xend" },
		{ X86_INS_XABORT, "xabort" }, { X86_INS_BOUND, "bound" },
		{ X86_INS_ENCLU, "enclu" }, { X86_INS_VMCALL, "vmcall" },
		{ X86_INS_VMMCALL, "vmmcall" }, { X86_INS_VMFUNC, "vmfunc" },
	};
	const cs_x86 *x = &in->detail->x86;
	bool branch = cs_insn_group(cs, in, X86_GRP_JUMP) ||
		      cs_insn_group(cs, in, X86_GRP_CALL);
	size_t i;

	for (i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		if (in->id == list[i].id)
			return list[i].why;
	if (branch && x->prefix[3] == 0x67)
		return "branch with an address-size (0x67) prefix";
	if (branch && x->op_count == 1 && x->operands[0].type == X86_OP_MEM &&
	    (x->operands[0].mem.segment == X86_REG_FS ||
	     x->operands[0].mem.segment == X86_REG_GS))
		return "indirect branch through fs:/gs:";
	return NULL;
}

static void classify(const cs_insn *in, struct zinsn *z, uintptr_t start)
{
	const cs_x86 *x = &in->detail->x86;
	bool imm = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;

	z->off = (unsigned int)(in->address - start);
	z->size = in->size;
	memcpy(z->bytes, in->bytes, in->size < 16 ? in->size : 16);
	snprintf(z->text, sizeof(z->text), "%s%s%s", in->mnemonic,
		 in->op_str[0] ? " " : "", in->op_str);
	z->unsupported = unsupported_reason(in);
	z->post = POST_NEXT;
	z->ends_straight_line = false;
	if (cs_insn_group(cs, in, X86_GRP_JUMP)) {
		bool uncond = in->id == X86_INS_JMP;

		z->target = imm ? (uintptr_t)x->operands[0].imm : 0;
		z->post = !imm ? POST_ANY : uncond ? POST_TARGET : POST_EITHER;
		/* A jcc may fall through, but then the next instruction is
		 * not reached on every entry. */
		z->ends_straight_line = true;
	} else if (cs_insn_group(cs, in, X86_GRP_CALL)) {
		/* A call comes back (zlib neither longjmps nor throws): the
		 * next instruction still runs once per entry. */
		z->target = imm ? (uintptr_t)x->operands[0].imm : 0;
		z->post = imm ? POST_TARGET : POST_ANY;
	} else if (cs_insn_group(cs, in, X86_GRP_RET) ||
		   cs_insn_group(cs, in, X86_GRP_IRET) ||
		   cs_insn_group(cs, in, X86_GRP_INT) || z->unsupported) {
		z->post = POST_ANY;
		z->ends_straight_line = true;
	}
}

static void decode_funcs(void)
{
	int i;

	for (i = 0; i < nfuncs; i++) {
		struct zfunc *f = &funcs[i];
		size_t room = exec_end(f->addr) - f->addr;
		cs_insn *insn;
		size_t n, k;

		f->saved_len = room < TEXT_SAVE ? room : TEXT_SAVE;
		text_read((const void *)f->addr, f->saved, f->saved_len);

		n = cs_disasm(cs, (const uint8_t *)f->addr, f->size, f->addr,
			      MAX_INSN, &insn);
		f->ninsn = (unsigned int)n;
		f->nstraight = n ? 1 : 0;
		for (k = 0; k < n; k++)
			classify(&insn[k], &f->insn[k], f->addr);
		for (k = 1; k < n && !f->insn[k - 1].ends_straight_line; k++)
			f->nstraight = (unsigned int)k + 1;
		if (n)
			cs_free(insn, n);
	}
}

/* Every jump, call and ret in @f (linear decode of its symbol's range),
 * but those docs/api.md lists as unprobe-able: into *@out. */
static unsigned int decode_branches(const struct zfunc *f, struct zinsn **out)
{
	const uint8_t *code = (const uint8_t *)f->addr;
	size_t left = f->size;
	uint64_t addr = f->addr;
	cs_insn *in = cs_malloc(cs);
	unsigned int n = 0;

	*out = NULL;
	while (left && cs_disasm_iter(cs, &code, &left, &addr, in)) {
		struct zinsn z = { 0 };

		if (!cs_insn_group(cs, in, X86_GRP_JUMP) &&
		    !cs_insn_group(cs, in, X86_GRP_CALL) &&
		    !cs_insn_group(cs, in, X86_GRP_RET))
			continue;
		classify(in, &z, f->addr);
		if (z.unsupported)
			continue;
		*out = realloc(*out, (n + 1) * sizeof(**out));
		if (!*out)
			abort();
		(*out)[n++] = z;
	}
	cs_free(in, 1);
	return n;
}

#else /* ppc64 */

/*
 * ppc64 is decoded here from the ISA's fields (Power ISA 3.1, Book I), not
 * by asking the library: the test's idea of what is a branch, where it
 * goes and what may not be probed must not share a bug with it. Capstone 4
 * only names the instruction, and may not know every Power9/10 one.
 */
#define PPC_OPCD(w)	((w) >> 26)
#define PPC_XO10(w)	(((w) >> 1) & 0x3ff)
#define PPC_BO(w)	(((w) >> 21) & 0x1f)
#define PPC_LK(w)	((w) & 1)
#define PPC_AA(w)	((w) & 2)
/* BO = 1z1zz: branch always (no condition, no CTR decrement). */
#define PPC_BO_ALWAYS(bo)	(((bo) & 0x14) == 0x14)

static int64_t sext(uint64_t v, unsigned int bits)
{
	uint64_t m = 1ull << (bits - 1);

	v &= (1ull << bits) - 1;
	return (int64_t)((v ^ m) - m);
}

static uint32_t word_at(uintptr_t addr)
{
	uint32_t w;
	uint8_t b[4];

	text_read((const void *)addr, b, 4);
	memcpy(&w, b, 4);
	return w;
}

/*
 * The library's documented refusals on ppc64 (src/arch/ppc64/insn.c,
 * ppc_decode): instructions that cannot run apart from where they are and
 * cannot be emulated. Exactly these must be refused, with -EOPNOTSUPP.
 */
static const char *unsupported_reason(uint32_t w)
{
	switch (PPC_OPCD(w)) {
	case 1:
		return "prefixed (Power10): the suffix cannot run alone";
	case 2:
		return "tdi (trap)";
	case 3:
		return "twi (trap)";
	case 19:
		if (PPC_XO10(w) == 560)
			return "bctar: TAR is not in struct pt_regs";
		if (PPC_XO10(w) == 528 && !(PPC_BO(w) & 4))
			return "bcctr with BO_2 clear (an invalid form)";
		return NULL;
	case 31:
		switch (PPC_XO10(w)) {
		case 4:
			return "tw (trap)";
		case 68:
			return "td (trap)";
		case 20: case 52: case 84: case 116: case 276:
			return "load and reserve (l*arx): its reservation "
			       "cannot be kept out of line";
		case 150: case 182: case 214: case 694: case 726:
			return "store conditional (st*cx.): its reservation "
			       "cannot be kept out of line";
		}
		return NULL;
	}
	return NULL;
}

/*
 * The instruction at @addr (@left bytes of the function from there), its
 * offset from @start. Returns its size: 4, or 8 for a prefixed one.
 *
 * After it: relative b/bc go to their target (bc: or the next word); blr,
 * bctr and their conditional forms go where LR or CTR said before them
 * (or to the next word); everything else runs from a slot and continues at
 * the next word. A branch with LK=1 comes back to the next word (zlib neither
 * longjmps nor throws; `bcl 20,31,$+4` "returns" there at once), so only a
 * branch without it ends the straight line from the entry.
 */
static unsigned int classify(uintptr_t addr, size_t left, struct zinsn *z,
			     uintptr_t start)
{
	uint32_t w = word_at(addr);
	unsigned int bo = PPC_BO(w);
	cs_insn *in;

	z->off = (unsigned int)(addr - start);
	z->size = PPC_OPCD(w) == 1 && left >= 8 ? 8 : 4;
	text_read((const void *)addr, z->bytes, z->size);
	z->unsupported = unsupported_reason(w);
	z->post = POST_NEXT;
	z->target = 0;
	z->ends_straight_line = false;
	z->call = false;
	z->via_ctr = z->cond = false;
	if (PPC_OPCD(w) == 1)
		snprintf(z->text, sizeof(z->text), "prefixed %08x %08x", w,
			 z->size == 8 ? word_at(addr + 4) : 0);
	else if (cs_disasm(cs, z->bytes, 4, addr, 1, &in) == 1) {
		snprintf(z->text, sizeof(z->text), "%s%s%s", in->mnemonic,
			 in->op_str[0] ? " " : "", in->op_str);
		cs_free(in, 1);
	} else {
		snprintf(z->text, sizeof(z->text), ".long %#010x", w);
	}

	switch (PPC_OPCD(w)) {
	case 18:				/* b, ba, bl, bla */
		z->target = (PPC_AA(w) ? 0 : addr) +
			    (uint64_t)sext(w & 0x03fffffc, 26);
		z->post = POST_TARGET;
		z->ends_straight_line = !PPC_LK(w);
		z->call = PPC_LK(w);
		break;
	case 16:				/* bc, bca, bcl, bcla */
		z->target = (PPC_AA(w) ? 0 : addr) +
			    (uint64_t)sext(w & 0xfffc, 16);
		z->post = PPC_BO_ALWAYS(bo) ? POST_TARGET : POST_EITHER;
		z->ends_straight_line = !PPC_LK(w);
		z->call = PPC_LK(w);
		break;
	case 19:
		if (PPC_XO10(w) == 16 || PPC_XO10(w) == 528) {
			/* bclr, bcctr: to LR or CTR as they were before */
			z->post = POST_REG;
			z->via_ctr = PPC_XO10(w) == 528;
			z->cond = !PPC_BO_ALWAYS(bo);
			z->ends_straight_line = !PPC_LK(w);
			z->call = PPC_LK(w);
		}
		break;
	}
	if (z->unsupported) {
		z->post = POST_ANY;
		z->ends_straight_line = true;
		z->call = false;
	}
	return z->size;
}

static void decode_funcs(void)
{
	int i;

	for (i = 0; i < nfuncs; i++) {
		struct zfunc *f = &funcs[i];
		size_t room = exec_end(f->addr) - f->addr;
		size_t end = f->size < room ? f->size : room;
		size_t off;
		unsigned int k;

		f->saved_len = room < TEXT_SAVE ? room : TEXT_SAVE;
		text_read((const void *)f->addr, f->saved, f->saved_len);

		if (f->local >= end || (f->local & 3)) {
			printf("%s: local entry +%u outside the function, "
			       "taken as none\n", f->name, f->local);
			f->local = 0;
		}
		/* The global entry: probed only if every word of it runs
		 * straight into the local entry (addis; addi: it does). */
		f->ngep = 0;
		for (off = 0; off < f->local; off += 4) {
			struct zinsn z = { 0 };

			classify(f->addr + off, end - off, &z, f->addr);
			if (z.ends_straight_line || z.size != 4 ||
			    f->ngep == MAX_GEP) {
				f->ngep = 0;
				break;
			}
			f->gep[f->ngep++] = z;
		}

		f->ninsn = 0;
		for (off = f->local; off + 4 <= end && f->ninsn < MAX_DECODE;
		     off += f->insn[f->ninsn++].size)
			classify(f->addr + off, end - off, &f->insn[f->ninsn],
				 f->addr);
		f->nstraight = f->ninsn ? 1 : 0;
		for (k = 1; k < f->ninsn && !f->insn[k - 1].ends_straight_line;
		     k++)
			f->nstraight = k + 1;
		f->call = 0;
		for (k = 1; k < f->nstraight && !f->call; k++)
			if (f->insn[k].call)
				f->call = k;
	}
}

/* Every branch in @f from its local entry (b, bc, bclr, bcctr, with and
 * without link), but the unprobe-able ones: into *@out. */
static unsigned int decode_branches(const struct zfunc *f, struct zinsn **out)
{
	size_t room = exec_end(f->addr) - f->addr;
	size_t end = f->size < room ? f->size : room, off;
	unsigned int n = 0;

	*out = NULL;
	for (off = f->local; off + 4 <= end; ) {
		uint32_t w = word_at(f->addr + off);
		struct zinsn z = { 0 };
		bool branch = PPC_OPCD(w) == 16 || PPC_OPCD(w) == 18 ||
			      (PPC_OPCD(w) == 19 && (PPC_XO10(w) == 16 ||
						     PPC_XO10(w) == 528));

		off += classify(f->addr + off, end - off, &z, f->addr);
		if (!branch || z.unsupported)
			continue;
		*out = realloc(*out, (n + 1) * sizeof(**out));
		if (!*out)
			abort();
		(*out)[n++] = z;
	}
	return n;
}

#endif /* ppc64 */

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void add_branch_target(uintptr_t target)
{
	static size_t cap;

	if (nbranch_targets == cap) {
		cap = cap ? 2 * cap : 1024;
		branch_targets = realloc(branch_targets,
					 cap * sizeof(*branch_targets));
		if (!branch_targets)
			abort();
	}
	branch_targets[nbranch_targets++] = target;
}

#if defined(__x86_64__)
/* Linear sweep of .text (gcc output: no data in it) for the targets of
 * direct jumps and calls: a probe at such a target is also reached other
 * than from its function's entry. */
static void collect_branch_targets(void)
{
	const uint8_t *code = (const uint8_t *)libz.text_start;
	size_t left = libz.text_end - libz.text_start;
	uint64_t addr = libz.text_start;
	cs_insn *in = cs_malloc(cs);

	while (left) {
		const cs_x86 *x;

		if (!cs_disasm_iter(cs, &code, &left, &addr, in)) {
			code++, left--, addr++;
			continue;
		}
		if (!cs_insn_group(cs, in, X86_GRP_JUMP) &&
		    !cs_insn_group(cs, in, X86_GRP_CALL))
			continue;
		x = &in->detail->x86;
		if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		add_branch_target(x->operands[0].imm);
	}
	cs_free(in, 1);
	qsort(branch_targets, nbranch_targets, sizeof(*branch_targets),
	      cmp_uptr);
}
#else
/*
 * Sweep of .text, word by word, for the targets of b and bc (calls
 * included): a probe at such a target is also reached other than from its
 * function's entry. gcc puts traceback tables and switch tables among the
 * code; their words have primary opcode 0, so they add no target (and an
 * extra target only loosens a count check).
 */
static void collect_branch_targets(void)
{
	uintptr_t addr = libz.text_start;

	while (addr + 4 <= libz.text_end) {
		uint32_t w = word_at(addr);
		uintptr_t base = PPC_AA(w) ? 0 : addr;

		if (PPC_OPCD(w) == 18)
			add_branch_target(base +
					  (uint64_t)sext(w & 0x03fffffc, 26));
		else if (PPC_OPCD(w) == 16)
			add_branch_target(base + (uint64_t)sext(w & 0xfffc, 16));
		addr += PPC_OPCD(w) == 1 ? 8 : 4;
	}
	qsort(branch_targets, nbranch_targets, sizeof(*branch_targets),
	      cmp_uptr);
}
#endif

static bool is_branch_target(uintptr_t addr)
{
	return bsearch(&addr, branch_targets, nbranch_targets,
		       sizeof(*branch_targets), cmp_uptr) != NULL;
}

static struct zfunc *func_named(const char *name)
{
	size_t len = strlen(name);
	int i;

	for (i = 0; i < nfuncs; i++)
		for (const char *s = funcs[i].name; (s = strstr(s, name)); s++)
			if ((s == funcs[i].name || s[-1] == '/') &&
			    (s[len] == '\0' || s[len] == '/'))
				return &funcs[i];
	return NULL;
}

/* ---- the workload ---- */

#define IN_LEN		(256 * 1024)
#define DEFLATE_CHUNK	40000	/* input given to deflate() per call */
#define DEFLATE_WIN	16384	/* output window per deflate() call */
#define INFLATE_CHUNK	20000
#define INFLATE_WIN	32768
#define GZ_WCHUNK	10000
#define GZ_RCHUNK	8192

static uint8_t input[IN_LEN];

/* Calls the workload makes itself (not those zlib makes internally). */
struct zcalls {
	unsigned long deflateInit2_, deflateInit_, deflate, deflateEnd;
	unsigned long deflateBound;
	unsigned long inflateInit2_, inflateInit_, inflate, inflateEnd;
	unsigned long compress2, compressBound, uncompress;
	unsigned long crc32, adler32, crc32_combine, adler32_combine;
	unsigned long gzopen, gzwrite, gzread, gzclose;
	unsigned long gz_wfiles, gz_rfiles;	/* gzFiles written / read */
};

struct section {
	char label[64];
	size_t off, len;
};

/* Everything one run of the workload produced, in order. */
struct transcript {
	uint8_t *buf;
	size_t len, cap;
	struct section sec[128];
	int nsec;
	int nerr;
	char err[256];
	struct zcalls calls;
	double seconds;
};

static struct transcript ref_run, probed_run;

static void tr_free(struct transcript *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

static void tr_add(struct transcript *t, const char *label, const void *p,
		   size_t n)
{
	struct section *s;

	if (t->len + n > t->cap) {
		t->cap = (t->len + n) * 2;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			abort();
	}
	memcpy(t->buf + t->len, p, n);
	if (t->nsec == (int)(sizeof(t->sec) / sizeof(t->sec[0])))
		abort();
	s = &t->sec[t->nsec++];
	snprintf(s->label, sizeof(s->label), "%s", label);
	s->off = t->len;
	s->len = n;
	t->len += n;
}

__attribute__((format(printf, 2, 3)))
static void tr_err(struct transcript *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nerr++)
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		abort();
	return p;
}

/* Text with words and newlines, and repeats of earlier stretches: enough
 * structure for every deflate strategy to find something. */
static void make_input(void)
{
	static const char *const words[] = {
		"the", "quick", "brown", "fox", "jumps", "over", "lazy",
		"dog", "kprobe", "breakpoint", "deflate", "inflate", "window",
		"huffman", "literal", "length", "distance", "adler", "crc",
		"stream", "block", "trap", "slot", "relocate", "instruction",
		"zlib", "debian", "bookworm", "x86_64", "0123456789", "aaaaaaaa",
		"\t", "  ", ",", ".", "\n",
	};
	const size_t nwords = sizeof(words) / sizeof(words[0]);
	uint32_t x = 0x2545f491;
	size_t pos = 0;

	while (pos < IN_LEN) {
		size_t n;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		if (pos > 1024 && (x & 15) == 0) {
			size_t from = (x >> 8) % (pos - 512);

			n = 16 + (x >> 20) % 240;
			if (n > IN_LEN - pos)
				n = IN_LEN - pos;
			memmove(input + pos, input + from, n);
		} else {
			const char *w = words[(x >> 4) % nwords];

			n = strlen(w);
			if (n > IN_LEN - pos)
				n = IN_LEN - pos;
			memcpy(input + pos, w, n);
			if (pos + n < IN_LEN && (x & 0x300))
				input[pos + n++] = ' ';
		}
		pos += n;
	}
}

static const char *strategy_name(int s)
{
	switch (s) {
	case Z_DEFAULT_STRATEGY: return "default";
	case Z_FILTERED: return "filtered";
	case Z_HUFFMAN_ONLY: return "huffman";
	case Z_RLE: return "rle";
	}
	return "?";
}

/* deflateInit2/deflate/deflateEnd, then inflateInit2/inflate/inflateEnd,
 * in chunks, with a Z_SYNC_FLUSH half way. */
static void wl_stream(struct transcript *t, int level, int strategy,
		      int wbits)
{
	struct zcalls *c = &t->calls;
	char label[64], what[128];
	uLong sums[2];
	size_t cap, olen = 0, pos = 0, ipos = 0, blen = 0;
	uint8_t *out, *back;
	z_stream s;
	int rc, flush;

	snprintf(label, sizeof(label), "level %d %s wbits %d", level,
		 strategy_name(strategy), wbits);
	memset(&s, 0, sizeof(s));
	rc = deflateInit2(&s, level, Z_DEFLATED, wbits, 8, strategy);
	c->deflateInit2_++;
	if (rc != Z_OK) {
		tr_err(t, "%s: deflateInit2 returned %d", label, rc);
		return;
	}
	/* The bound covers Z_FINISH; the sync flush adds a few bytes. */
	cap = deflateBound(&s, IN_LEN) + 64;
	c->deflateBound++;
	out = xmalloc(cap);
	do {
		size_t n = IN_LEN - pos < DEFLATE_CHUNK ? IN_LEN - pos :
							  DEFLATE_CHUNK;

		s.next_in = input + pos;
		s.avail_in = (uInt)n;
		pos += n;
		flush = pos == IN_LEN ? Z_FINISH :
			pos == 3 * DEFLATE_CHUNK ? Z_SYNC_FLUSH : Z_NO_FLUSH;
		do {
			size_t room = cap - olen < DEFLATE_WIN ? cap - olen :
								 DEFLATE_WIN;

			if (!room) {
				tr_err(t, "%s: deflate output exceeds "
				       "deflateBound", label);
				goto end_deflate;
			}
			s.next_out = out + olen;
			s.avail_out = (uInt)room;
			rc = deflate(&s, flush);
			c->deflate++;
			olen += room - s.avail_out;
			if (rc == Z_STREAM_ERROR) {
				tr_err(t, "%s: deflate returned "
				       "Z_STREAM_ERROR", label);
				goto end_deflate;
			}
		} while (s.avail_out == 0);
		if (s.avail_in) {
			tr_err(t, "%s: deflate left %u bytes of input",
			       label, s.avail_in);
			goto end_deflate;
		}
	} while (flush != Z_FINISH);
	if (rc != Z_STREAM_END)
		tr_err(t, "%s: deflate(Z_FINISH) returned %d", label, rc);
end_deflate:
	rc = deflateEnd(&s);
	c->deflateEnd++;
	if (rc != Z_OK)
		tr_err(t, "%s: deflateEnd returned %d", label, rc);
	snprintf(what, sizeof(what), "deflate %s", label);
	tr_add(t, what, out, olen);

	sums[0] = crc32(0L, out, (uInt)olen);
	sums[1] = adler32(1L, out, (uInt)olen);
	c->crc32++;
	c->adler32++;
	snprintf(what, sizeof(what), "crc32/adler32 of deflate %s", label);
	tr_add(t, what, sums, sizeof(sums));

	back = xmalloc(IN_LEN + 64);
	memset(&s, 0, sizeof(s));
	rc = inflateInit2(&s, wbits);
	c->inflateInit2_++;
	if (rc != Z_OK) {
		tr_err(t, "%s: inflateInit2 returned %d", label, rc);
		goto out;
	}
	do {
		size_t n = olen - ipos < INFLATE_CHUNK ? olen - ipos :
							 INFLATE_CHUNK;

		s.next_in = out + ipos;
		s.avail_in = (uInt)n;
		ipos += n;
		do {
			size_t room = IN_LEN + 64 - blen < INFLATE_WIN ?
				      IN_LEN + 64 - blen : INFLATE_WIN;

			s.next_out = back + blen;
			s.avail_out = (uInt)room;
			rc = inflate(&s, Z_NO_FLUSH);
			c->inflate++;
			blen += room - s.avail_out;
		} while (s.avail_out == 0 && rc == Z_OK);
	} while (rc == Z_OK && ipos < olen);
	if (rc != Z_STREAM_END)
		tr_err(t, "%s: inflate returned %d (%s) after %zu of %zu "
		       "bytes", label, rc, s.msg ? s.msg : "", ipos, olen);
	rc = inflateEnd(&s);
	c->inflateEnd++;
	if (rc != Z_OK)
		tr_err(t, "%s: inflateEnd returned %d", label, rc);
	if (blen != IN_LEN || memcmp(back, input, IN_LEN))
		tr_err(t, "%s: inflate gave %zu bytes that differ from the "
		       "input", label, blen);
	snprintf(what, sizeof(what), "inflate %s", label);
	tr_add(t, what, back, blen);
out:
	free(back);
	free(out);
}

static void wl_compress2(struct transcript *t, int level)
{
	struct zcalls *c = &t->calls;
	uLongf dlen, blen = IN_LEN + 64;
	uint8_t *dst, *back = xmalloc(IN_LEN + 64);
	char what[64];
	int rc;

	dlen = compressBound(IN_LEN);
	c->compressBound++;
	dst = xmalloc(dlen);
	rc = compress2(dst, &dlen, input, IN_LEN, level);
	c->compress2++;
	if (rc != Z_OK)
		tr_err(t, "compress2(level %d) returned %d", level, rc);
	snprintf(what, sizeof(what), "compress2 level %d", level);
	tr_add(t, what, dst, dlen);
	rc = uncompress(back, &blen, dst, dlen);
	c->uncompress++;
	if (rc != Z_OK || blen != IN_LEN || memcmp(back, input, IN_LEN))
		tr_err(t, "uncompress(compress2 level %d) returned %d, %lu "
		       "bytes", level, rc, (unsigned long)blen);
	snprintf(what, sizeof(what), "uncompress level %d", level);
	tr_add(t, what, back, blen);
	free(dst);
	free(back);
}

static void wl_checksums(struct transcript *t)
{
	struct zcalls *c = &t->calls;
	const size_t a = 100000, b = IN_LEN - 100000;
	uLong v[11];

	v[0] = crc32(0L, Z_NULL, 0);
	v[1] = crc32(v[0], input, IN_LEN);
	v[2] = crc32(v[0], input, a);
	v[3] = crc32(v[0], input + a, b);
	v[4] = crc32_combine(v[2], v[3], b);
	v[5] = adler32(0L, Z_NULL, 0);
	v[6] = adler32(v[5], input, IN_LEN);
	v[7] = adler32(v[5], input, a);
	v[8] = adler32(v[5], input + a, b);
	v[9] = adler32_combine(v[7], v[8], b);
	v[10] = crc32_combine_op(v[2], v[3], crc32_combine_gen(b));
	c->crc32 += 4;
	c->adler32 += 4;
	c->crc32_combine++;
	c->adler32_combine++;
	if (v[4] != v[1] || v[9] != v[6] || v[10] != v[1])
		tr_err(t, "crc32_combine/adler32_combine disagree with the "
		       "whole-buffer checksums");
	tr_add(t, "crc32/adler32 of the input", v, sizeof(v));
}

/* gzopen/gzwrite/gzclose to a temporary file, read its bytes, then
 * gzopen/gzread/gzclose it back. */
static void wl_gz(struct transcript *t, const char *mode)
{
	struct zcalls *c = &t->calls;
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX], what[64];
	uint8_t *raw = NULL, *back = xmalloc(IN_LEN + GZ_RCHUNK);
	size_t pos, blen = 0;
	struct stat st;
	gzFile f;
	int fd, rc, n;

	snprintf(path, sizeof(path), "%s/libkprobe-zlib-all-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		tr_err(t, "mkstemp(%s): %s", path, strerror(errno));
		free(back);
		return;
	}
	close(fd);

	f = gzopen(path, mode);
	c->gzopen++;
	if (!f) {
		tr_err(t, "gzopen(%s, \"%s\") failed", path, mode);
		goto out;
	}
	for (pos = 0; pos < IN_LEN; pos += GZ_WCHUNK) {
		unsigned int len = IN_LEN - pos < GZ_WCHUNK ?
				   (unsigned int)(IN_LEN - pos) : GZ_WCHUNK;

		n = gzwrite(f, input + pos, len);
		c->gzwrite++;
		if (n != (int)len) {
			tr_err(t, "gzwrite(\"%s\") returned %d for %u bytes",
			       mode, n, len);
			break;
		}
	}
	rc = gzclose(f);
	c->gzclose++;
	c->gz_wfiles++;
	if (rc != Z_OK)
		tr_err(t, "gzclose(\"%s\") returned %d", mode, rc);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		tr_err(t, "cannot reopen %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	raw = xmalloc(st.st_size + 1);
	if (read(fd, raw, st.st_size) != st.st_size)
		tr_err(t, "short read of %s", path);
	close(fd);
	snprintf(what, sizeof(what), "gz file \"%s\"", mode);
	tr_add(t, what, raw, st.st_size);

	f = gzopen(path, "rb");
	c->gzopen++;
	if (!f) {
		tr_err(t, "gzopen(%s, \"rb\") failed", path);
		goto out;
	}
	while ((n = gzread(f, back + blen, GZ_RCHUNK)) > 0) {
		c->gzread++;
		blen += n;
		if (blen > IN_LEN)
			break;
	}
	c->gzread++;	/* the one that returned 0 (or the error) */
	if (n < 0)
		tr_err(t, "gzread(\"%s\") returned %d", mode, n);
	rc = gzclose(f);
	c->gzclose++;
	c->gz_rfiles++;
	if (rc != Z_OK)
		tr_err(t, "gzclose(read of \"%s\") returned %d", mode, rc);
	if (blen != IN_LEN || memcmp(back, input, IN_LEN))
		tr_err(t, "gzread(\"%s\") gave %zu bytes that differ from "
		       "the input", mode, blen);
	snprintf(what, sizeof(what), "gzread \"%s\"", mode);
	tr_add(t, what, back, blen);
out:
	unlink(path);
	free(raw);
	free(back);
}

/* The rest of the API, briefly, so that more of zlib's functions (and their
 * first instructions) run: a preset dictionary, deflateParams mid-stream,
 * deflateCopy/inflateCopy, a gzip header, inflateBack, the gz* helpers. */
static void wl_dict(struct transcript *t)
{
	struct zcalls *c = &t->calls;
	const size_t len = 65536, half = len / 2, cap = 2 * len;
	const uint8_t *dict = input + IN_LEN - 4096;
	uint8_t *oa = xmalloc(cap), *ob = xmalloc(cap);
	uint8_t *ba = xmalloc(len + 64), *bb = xmalloc(len + 64);
	uint8_t window[32768];
	uInt wlen = 0;
	unsigned int pend = 0;
	int bits = 0, rc;
	size_t p, alen, blen;
	z_stream a, b;
	long info[12];

	memset(info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rc = deflateInit(&a, 6);
	c->deflateInit_++;
	if (rc != Z_OK) {
		tr_err(t, "deflateInit returned %d", rc);
		goto out;
	}
	info[0] = deflateSetDictionary(&a, dict, 4096);
	a.next_in = input;
	a.avail_in = half;
	a.next_out = oa;
	a.avail_out = cap;
	info[1] = deflate(&a, Z_NO_FLUSH);
	c->deflate++;
	info[2] = deflateParams(&a, 9, Z_FILTERED);
	info[3] = deflatePending(&a, &pend, &bits);
	info[4] = pend;
	info[5] = bits;
	rc = deflateCopy(&b, &a);
	if (rc != Z_OK) {
		tr_err(t, "deflateCopy returned %d", rc);
		deflateEnd(&a);
		c->deflateEnd++;
		goto out;
	}
	p = cap - a.avail_out;
	memcpy(ob, oa, p);
	b.next_out = ob + p;
	b.avail_out = cap - p;
	a.next_in = b.next_in = input + half;
	a.avail_in = b.avail_in = len - half;
	rc = deflate(&a, Z_FINISH);
	c->deflate++;
	if (rc != Z_STREAM_END)
		tr_err(t, "deflate with a dictionary returned %d", rc);
	rc = deflate(&b, Z_FINISH);
	c->deflate++;
	if (rc != Z_STREAM_END)
		tr_err(t, "deflate of deflateCopy's stream returned %d", rc);
	alen = cap - a.avail_out;
	blen = cap - b.avail_out;
	if (alen != blen || memcmp(oa, ob, alen))
		tr_err(t, "deflateCopy's stream differs from the original's");
	deflateEnd(&a);
	deflateEnd(&b);
	c->deflateEnd += 2;
	tr_add(t, "deflate with a dictionary", oa, alen);

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rc = inflateInit(&a);
	c->inflateInit_++;
	if (rc != Z_OK) {
		tr_err(t, "inflateInit returned %d", rc);
		goto out;
	}
	a.next_in = oa;
	a.avail_in = alen;
	a.next_out = ba;
	a.avail_out = half;
	info[6] = inflate(&a, Z_NO_FLUSH);	/* Z_NEED_DICT */
	c->inflate++;
	info[7] = inflateSetDictionary(&a, dict, 4096);
	info[8] = inflate(&a, Z_NO_FLUSH);
	c->inflate++;
	info[9] = inflateMark(&a);
	info[10] = inflateCodesUsed(&a);
	info[11] = inflateSyncPoint(&a);
	rc = inflateGetDictionary(&a, window, &wlen);
	if (rc != Z_OK)
		tr_err(t, "inflateGetDictionary returned %d", rc);
	tr_add(t, "inflateGetDictionary", window, wlen);
	rc = inflateCopy(&b, &a);
	if (rc != Z_OK) {
		tr_err(t, "inflateCopy returned %d", rc);
		inflateEnd(&a);
		c->inflateEnd++;
		goto out;
	}
	p = half - a.avail_out;
	memcpy(bb, ba, p);
	b.next_out = bb + p;
	a.avail_out = b.avail_out = len + 64 - p;
	rc = inflate(&a, Z_FINISH);
	c->inflate++;
	if (rc != Z_STREAM_END || a.total_out != len || memcmp(ba, input, len))
		tr_err(t, "inflate with a dictionary returned %d, %lu bytes",
		       rc, a.total_out);
	rc = inflate(&b, Z_FINISH);
	c->inflate++;
	if (rc != Z_STREAM_END || b.total_out != len || memcmp(bb, input, len))
		tr_err(t, "inflate of inflateCopy's stream returned %d, %lu "
		       "bytes", rc, b.total_out);
	inflateEnd(&a);
	inflateEnd(&b);
	c->inflateEnd += 2;
	tr_add(t, "inflate with a dictionary", ba, a.total_out);
	tr_add(t, "inflate of inflateCopy", bb, b.total_out);
	tr_add(t, "dictionary stream return codes", info, sizeof(info));
out:
	free(oa);
	free(ob);
	free(ba);
	free(bb);
}

/* deflateSetHeader/inflateGetHeader: a gzip header with every field. */
static void wl_header(struct transcript *t)
{
	struct zcalls *c = &t->calls;
	const size_t len = 20000;
	uint8_t extra[] = { 'K', 'P', 4, 0, 1, 2, 3, 4 };
	uint8_t *out, *back = xmalloc(len + 64);
	Bytef name[64], comment[64], xbuf[64];
	gz_header h, g;
	z_stream s;
	size_t cap;
	long info[8];
	int rc;

	memset(&h, 0, sizeof(h));
	h.text = 1;
	h.time = 1700000000;
	h.os = 3;
	h.extra = extra;
	h.extra_len = sizeof(extra);
	h.name = (Bytef *)"zlib_all.txt";
	h.comment = (Bytef *)"libkprobe real-world test";
	h.hcrc = 1;
	memset(&s, 0, sizeof(s));
	rc = deflateInit2(&s, 6, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
	c->deflateInit2_++;
	if (rc != Z_OK) {
		tr_err(t, "deflateInit2 (header) returned %d", rc);
		free(back);
		return;
	}
	info[0] = deflateSetHeader(&s, &h);
	info[1] = deflateTune(&s, 8, 32, 64, 256);
	cap = deflateBound(&s, len) + 256;
	c->deflateBound++;
	out = xmalloc(cap);
	s.next_in = input;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = cap;
	rc = deflate(&s, Z_FINISH);
	c->deflate++;
	if (rc != Z_STREAM_END)
		tr_err(t, "deflate (header) returned %d", rc);
	deflateEnd(&s);
	c->deflateEnd++;
	tr_add(t, "deflate with a gzip header", out, s.total_out);

	memset(&g, 0, sizeof(g));
	g.extra = xbuf;
	g.extra_max = sizeof(xbuf);
	g.name = name;
	g.name_max = sizeof(name);
	g.comment = comment;
	g.comm_max = sizeof(comment);
	memset(&s, 0, sizeof(s));
	rc = inflateInit2(&s, 31);
	c->inflateInit2_++;
	if (rc != Z_OK) {
		tr_err(t, "inflateInit2 (header) returned %d", rc);
		goto out;
	}
	info[2] = inflateGetHeader(&s, &g);
	s.next_in = out;
	s.avail_in = cap - s.avail_out;
	s.next_out = back;
	s.avail_out = len + 64;
	rc = inflate(&s, Z_FINISH);
	c->inflate++;
	if (rc != Z_STREAM_END || s.total_out != len ||
	    memcmp(back, input, len) || g.done != 1 ||
	    strcmp((char *)name, "zlib_all.txt") || g.extra_len != 8)
		tr_err(t, "inflate (header) returned %d, %lu bytes, header "
		       "done %d, name \"%.20s\"", rc, s.total_out, g.done,
		       name);
	info[3] = g.time;
	info[4] = g.os;
	info[5] = g.hcrc;
	info[6] = g.text;
	info[7] = inflateEnd(&s);
	c->inflateEnd++;
	tr_add(t, "gzip header read back", name, sizeof(name));
	tr_add(t, "gzip header comment read back", comment, sizeof(comment));
	tr_add(t, "gzip header return codes", info, sizeof(info));
out:
	free(out);
	free(back);
}

struct back_io {
	const uint8_t *in;
	size_t in_left;
	uint8_t *out;
	size_t out_len, out_cap;
};

/* inflateBack's callbacks: ordinary code, called from zlib. */
static unsigned int back_in(void *d, z_const unsigned char **buf)
{
	struct back_io *io = d;
	size_t n = io->in_left < 4096 ? io->in_left : 4096;

	*buf = (unsigned char *)io->in;
	io->in += n;
	io->in_left -= n;
	return (unsigned int)n;
}

static int back_out(void *d, unsigned char *buf, unsigned int len)
{
	struct back_io *io = d;

	if (len > io->out_cap - io->out_len)
		return 1;
	memcpy(io->out + io->out_len, buf, len);
	io->out_len += len;
	return 0;
}

static void wl_inflate_back(struct transcript *t)
{
	struct zcalls *c = &t->calls;
	const size_t len = 100000;
	uint8_t *raw, *window = xmalloc(32768);
	struct back_io io = { 0 };
	z_stream s;
	size_t cap;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	c->deflateInit2_++;
	if (rc != Z_OK) {
		tr_err(t, "deflateInit2 (raw) returned %d", rc);
		free(window);
		return;
	}
	cap = deflateBound(&s, len);
	c->deflateBound++;
	raw = xmalloc(cap);
	s.next_in = input;
	s.avail_in = len;
	s.next_out = raw;
	s.avail_out = cap;
	rc = deflate(&s, Z_FINISH);
	c->deflate++;
	if (rc != Z_STREAM_END)
		tr_err(t, "deflate (raw) returned %d", rc);
	deflateEnd(&s);
	c->deflateEnd++;
	tr_add(t, "raw deflate", raw, s.total_out);

	io.in = raw;
	io.in_left = s.total_out;
	io.out = xmalloc(len + 64);
	io.out_cap = len + 64;
	memset(&s, 0, sizeof(s));
	rc = inflateBackInit(&s, 15, window);
	if (rc != Z_OK) {
		tr_err(t, "inflateBackInit returned %d", rc);
		goto out;
	}
	rc = inflateBack(&s, back_in, &io, back_out, &io);
	if (rc != Z_STREAM_END || io.out_len != len ||
	    memcmp(io.out, input, len))
		tr_err(t, "inflateBack returned %d, %zu bytes", rc,
		       io.out_len);
	inflateBackEnd(&s);
	tr_add(t, "inflateBack", io.out, io.out_len);
out:
	free(io.out);
	free(raw);
	free(window);
}

/* zlibVersion, zlibCompileFlags, zError, get_crc_table. */
static void wl_info(struct transcript *t)
{
	const char *v = zlibVersion(), *e = zError(Z_DATA_ERROR);
	uLong flags = zlibCompileFlags();
	const z_crc_t *tab = get_crc_table();

	tr_add(t, "zlibVersion", v, strlen(v));
	tr_add(t, "zError(Z_DATA_ERROR)", e, strlen(e));
	tr_add(t, "zlibCompileFlags", &flags, sizeof(flags));
	tr_add(t, "get_crc_table", tab, 256 * sizeof(*tab));
}

/* gzbuffer, gzputs, gzputc, gzprintf, gzsetparams, gzfwrite, gzflush,
 * gztell, gzoffset; gzgetc, gzungetc, gzgets, gzseek, gzfread, gzeof,
 * gzerror, gzrewind, gzdirect, gzclearerr. */
static void wl_gz_misc(struct transcript *t)
{
	struct zcalls *c = &t->calls;
	const char *dir = getenv("TMPDIR"), *msg;
	char path[PATH_MAX], line[64];
	uint8_t *buf = xmalloc(IN_LEN), *raw = NULL;
	long info[12];
	struct stat st;
	gzFile f;
	int fd;

	memset(info, 0, sizeof(info));
	memset(line, 0, sizeof(line));
	snprintf(path, sizeof(path), "%s/libkprobe-zlib-all-XXXXXX",
		 dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		tr_err(t, "mkstemp(%s): %s", path, strerror(errno));
		free(buf);
		return;
	}
	close(fd);
	f = gzopen(path, "wb");
	c->gzopen++;
	if (!f) {
		tr_err(t, "gzopen(%s, \"wb\") failed", path);
		goto out;
	}
	gzbuffer(f, 4096);
	gzputs(f, "libkprobe zlib_all\n");
	gzputc(f, 'x');
	gzputc(f, '\n');
	gzprintf(f, "%d %s %5.2f %x\n", 42, "kprobe", 3.25, 0xbeef);
	if (gzwrite(f, input, 30000) != 30000)
		tr_err(t, "gzwrite (misc) failed");
	c->gzwrite++;
	info[0] = gzsetparams(f, 9, Z_FILTERED);
	info[1] = (long)gzfwrite(input + 30000, 1, 20000, f);
	info[2] = gzflush(f, Z_SYNC_FLUSH);
	info[3] = (long)gztell(f);
	info[4] = (long)gzoffset(f);
	if (gzclose(f) != Z_OK)
		tr_err(t, "gzclose (misc write) failed");
	c->gzclose++;
	c->gz_wfiles++;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		tr_err(t, "cannot reopen %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	raw = xmalloc(st.st_size + 1);
	if (read(fd, raw, st.st_size) != st.st_size)
		tr_err(t, "short read of %s", path);
	close(fd);
	tr_add(t, "gz file (misc)", raw, st.st_size);

	f = gzopen(path, "rb");
	c->gzopen++;
	if (!f) {
		tr_err(t, "gzopen(%s, \"rb\") failed", path);
		goto out;
	}
	gzbuffer(f, 8192);
	info[5] = gzgetc(f);
	info[6] = gzungetc((int)info[5], f);
	if (!gzgets(f, line, sizeof(line)) ||
	    strcmp(line, "libkprobe zlib_all\n"))
		tr_err(t, "gzgets read \"%s\"", line);
	info[7] = gzread(f, buf, 1000);
	c->gzread++;
	info[8] = (long)gzseek(f, 5000, SEEK_CUR);
	info[9] = (long)gzfread(buf + 1000, 1, 70000, f);
	info[10] = gzeof(f);
	msg = gzerror(f, &fd);
	info[11] = fd;
	tr_add(t, "gzerror", msg, strlen(msg));
	tr_add(t, "gzread/gzfread (misc)", buf, 1000 + info[9]);
	gzrewind(f);
	if (gzread(f, buf, 100) != 100 ||
	    memcmp(buf, "libkprobe zlib_all\nx\n42 kprobe  3.25 beef\n", 42))
		tr_err(t, "gzread after gzrewind");
	c->gzread++;
	tr_add(t, "gzread after gzrewind", buf, 100);
	if (gzdirect(f))
		tr_err(t, "gzdirect: our gzip file read as not compressed");
	gzclearerr(f);
	if (gzclose(f) != Z_OK)
		tr_err(t, "gzclose (misc read) failed");
	c->gzclose++;
	c->gz_rfiles++;
	tr_add(t, "gz misc return values", info, sizeof(info));
out:
	unlink(path);
	free(raw);
	free(buf);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_workload(struct transcript *t)
{
	static const int levels[] = { 1, 6, 9 };
	static const int strategies[] = {
		Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
	};
	static const int wbits[] = { 15, 31 };	/* zlib, gzip wrapper */
	double t0 = now();
	size_t w, l, s;

	tr_free(t);
	for (w = 0; w < 2; w++)
		for (l = 0; l < 3; l++)
			for (s = 0; s < 4; s++)
				wl_stream(t, levels[l], strategies[s],
					  wbits[w]);
	for (l = 0; l < 3; l++)
		wl_compress2(t, levels[l]);
	wl_checksums(t);
	wl_gz(t, "wb6");
	wl_gz(t, "wb1F");
	wl_dict(t);
	wl_header(t);
	wl_inflate_back(t);
	wl_info(t);
	wl_gz_misc(t);
	t->seconds = now() - t0;
}

/* The probed run's output against the reference's, byte for byte. */
static bool same_output(const struct transcript *got, const char *pass)
{
	const struct transcript *ref = &ref_run;
	int i;

	if (got->nerr) {
		print_error("ERROR: %s: the workload failed (%d errors), "
			    "first: %s\n", pass, got->nerr, got->err);
		return false;
	}
	for (i = 0; i < ref->nsec; i++) {
		const struct section *r = &ref->sec[i], *g = &got->sec[i];
		size_t k, n;

		if (i >= got->nsec || strcmp(r->label, g->label)) {
			print_error("ERROR: %s: output section %d is \"%s\", "
				    "the reference's is \"%s\"\n", pass, i,
				    i < got->nsec ? g->label : "(missing)",
				    r->label);
			return false;
		}
		n = r->len < g->len ? r->len : g->len;
		for (k = 0; k < n; k++)
			if (ref->buf[r->off + k] != got->buf[g->off + k])
				break;
		if (k == n && r->len == g->len)
			continue;
		print_error("ERROR: %s: \"%s\" differs from the unprobed "
			    "run: %zu bytes, reference %zu; first difference "
			    "at byte %zu\n", pass, r->label, g->len, r->len,
			    k);
		if (k < n) {
			size_t m = n - k < KP_TEXT_LEN ? n - k : KP_TEXT_LEN;

			kp_print_bytes("reference", ref->buf + r->off + k, m);
			kp_print_bytes("probed   ", got->buf + g->off + k, m);
		}
		return false;
	}
	if (got->nsec != ref->nsec) {
		print_error("ERROR: %s: %d output sections, reference %d\n",
			    pass, got->nsec, ref->nsec);
		return false;
	}
	return true;
}

/* ---- registering a pass ---- */

static void zprobe_init(struct zprobe *z)
{
	memset(&z->kp, 0, sizeof(z->kp));
	z->kp.addr = (kprobe_opcode_t *)z->req_addr;
	z->kp.offset = z->req_off;
	z->kp.pre_handler = z_pre;
	z->kp.post_handler = with_post ? z_post : NULL;
	cnt_set(&z->pre, 0);
	cnt_set(&z->post, 0);
	cnt_set(&z->bad_pre_ip, 0);
	cnt_set(&z->bad_post_ip, 0);
}

static void describe(const struct zprobe *z, char *buf, size_t n)
{
	const struct zinsn *in = z->in;
	size_t o;
	unsigned int i;

	o = snprintf(buf, n, "%s+%#x (%#lx)%s: %s [", z->fn->name, in->off,
		     (unsigned long)(z->fn->addr + in->off),
		     z->gep ? " global entry" : "", in->text);
	for (i = 0; i < in->size && i < 16 && o + 4 < n; i++)
		o += snprintf(buf + o, n - o, "%s%02x", i ? " " : "",
			      in->bytes[i]);
	snprintf(buf + o, n - o, "]");
}

/* Is the probe at @addr armed: its first instruction the breakpoint? */
static bool bp_armed(const void *addr)
{
#if defined(__x86_64__)
	return text_byte(addr) == KP_BREAKPOINT;
#else
	return word_at((uintptr_t)addr) == 0x7fe00008u;	/* trap */
#endif
}

/*
 * One register_kprobes() for all of @z. When the batch is refused, find
 * which probes the library refuses (one at a time), report each by name,
 * instruction and errno, and register the batch without them. Refusing is
 * acceptable only for an instruction docs/api.md lists under -EOPNOTSUPP;
 * where MUST_REFUSE, registering one of those is an error too.
 */
static void register_pass(struct zprobe *z, int n, const char *pass)
{
	struct kprobe **kps = calloc(n, sizeof(*kps));
	int i, m = 0, ret, accepted = 0, wrong = 0, unarmed = 0, nreg = n;
	int optimized = 0;
	char d[256];

	if (!kps)
		abort();
	for (i = 0; i < n; i++) {
		z[i].refused = 0;
		zprobe_init(&z[i]);
		kps[i] = &z[i].kp;
	}
	free(cleanup_kps);
	cleanup_kps = kps;
	cleanup_n = n;
	ret = register_kprobes(kps, n);
	if (ret) {
		printf("%s: register_kprobes(%d probes) returned %s: %s\n"
		       "%s: registering them one by one to find the refused "
		       "ones\n", pass, n, kp_errname(ret),
		       kprobe_last_error(), pass);
		for (i = 0; i < n; i++) {
			const char *why;
			int r;

			zprobe_init(&z[i]);
			r = register_kprobe(&z[i].kp);
			if (!r) {
				unregister_kprobe(&z[i].kp);
				continue;
			}
			z[i].refused = r;
			describe(&z[i], d, sizeof(d));
			why = r == -EOPNOTSUPP ? z[i].in->unsupported : NULL;
			printf("%s: REFUSED %s: %s (%s); %s\n", pass, d,
			       kp_errname(r), kprobe_last_error(),
			       why ? "acceptable: docs/api.md lists it as "
				     "not probe-able" :
				     "NOT acceptable: the instruction is "
				     "probe-able");
			if (why)
				printf("%s:   reason: %s\n", pass, why);
			if (why)
				accepted++;
			else
				wrong++;
		}
		for (i = 0; i < n; i++) {
			if (z[i].refused)
				continue;
			zprobe_init(&z[i]);
			kps[m++] = &z[i].kp;
		}
		cleanup_n = nreg = m;
		ret = m ? register_kprobes(kps, m) : 0;
		kp_check_ret(ret, 0, "%s: register_kprobes() of the %d "
			     "probes that registered one by one", pass, m);
	}
	for (i = 0; i < n; i++) {
		if (z[i].refused)
			continue;
		if (MUST_REFUSE && z[i].in->unsupported) {
			describe(&z[i], d, sizeof(d));
			print_error("ERROR: %s: %s registered, but it must be "
				    "refused with -EOPNOTSUPP: %s\n", pass, d,
				    z[i].in->unsupported);
			wrong++;
		}
		if ((uintptr_t)z[i].kp.addr != z[i].fn->addr + z[i].in->off) {
			describe(&z[i], d, sizeof(d));
			print_error("ERROR: %s: %s registered at %p\n", pass,
				    d, (void *)z[i].kp.addr);
			wrong++;
		}
		if (kprobe_optimized(&z[i].kp))
			optimized++;
		else if (!bp_armed(z[i].kp.addr))
			unarmed++;
	}
	printf("%s: %d probes registered in one batch, %d refused, %d "
	       "jump-optimized\n", pass, nreg, n - nreg, optimized);
	kp_check_eq(unarmed, 0, "%s: registered probes neither optimized "
		    "nor with the breakpoint as their first instruction", pass);
#if defined(__powerpc64__)
	kp_check_eq(optimized, 0, "%s: jump-optimized probes on ppc64, which "
		    "has no jump optimization", pass);
#endif
	kp_check_eq(wrong, 0, "%s: refusals of probe-able instructions, "
		    "registrations of unprobe-able ones or probes registered "
		    "at the wrong address, listed above", pass);
	kp_check(accepted <= MAX_ACCEPTED_REFUSALS,
		 "%s: %d probes refused, more than a handful (%d)", pass,
		 accepted, MAX_ACCEPTED_REFUSALS);
}

/* After a pass: the hits counted per probe are consistent, and the probe
 * left nothing behind. */
static void check_probe_sanity(struct zprobe *z, int n, const char *pass)
{
	int i, bad = 0;
	char d[256];

	for (i = 0; i < n; i++) {
		unsigned long pre = cnt_get(&z[i].pre);
		unsigned long post = cnt_get(&z[i].post);

		if (z[i].refused)
			continue;
		describe(&z[i], d, sizeof(d));
		if (kp_nmissed(&z[i].kp)) {
			print_error("ERROR: %s: %s: nmissed %lu\n", pass, d,
				    kp_nmissed(&z[i].kp));
			bad++;
		}
		if (cnt_get(&z[i].bad_pre_ip)) {
			print_error("ERROR: %s: %s: %lu pre_handler calls "
				    "with instruction_pointer(regs) != "
				    "p->addr\n", pass, d,
				    cnt_get(&z[i].bad_pre_ip));
			bad++;
		}
		if (with_post && post != pre) {
			print_error("ERROR: %s: %s: %lu pre_handler calls "
				    "but %lu post_handler calls\n", pass, d,
				    pre, post);
			bad++;
		}
		if (cnt_get(&z[i].bad_post_ip)) {
			print_error("ERROR: %s: %s: %lu post_handler calls "
				    "where the next instruction was wrong "
				    "(last: %#lx)\n", pass, d,
				    cnt_get(&z[i].bad_post_ip),
				    cnt_get(&z[i].last_bad_post_ip));
			bad++;
		}
	}
	kp_check_eq(bad, 0, "%s: probes with missed hits or wrong registers "
		    "in the handlers, listed above", pass);
}

static void check_text_restored(const char *when)
{
	int i, bad = 0;

	for (i = 0; i < nfuncs; i++) {
		struct zfunc *f = &funcs[i];
		uint8_t now_[TEXT_SAVE];
		size_t k;

		text_read((const void *)f->addr, now_, f->saved_len);
		for (k = 0; k < f->saved_len; k++)
			if (now_[k] != f->saved[k])
				break;
		if (k == f->saved_len)
			continue;
		print_error("ERROR: %s: %s (%#lx): byte %zu of the function "
			    "is %#x, was %#x\n", when, f->name,
			    (unsigned long)f->addr, k, now_[k], f->saved[k]);
		kp_print_bytes("original", f->saved + (k & ~15UL),
			       f->saved_len - (k & ~15UL) < KP_TEXT_LEN ?
			       f->saved_len - (k & ~15UL) : KP_TEXT_LEN);
		kp_print_bytes("now     ", now_ + (k & ~15UL),
			       f->saved_len - (k & ~15UL) < KP_TEXT_LEN ?
			       f->saved_len - (k & ~15UL) : KP_TEXT_LEN);
		bad++;
	}
	kp_check_eq(bad, 0, "%s: functions whose first %d bytes changed",
		    when, TEXT_SAVE);
}

/* ---- the tests ---- */

static int setup(void **state)
{
	kp_test_begin();
	return 0;
}

static int teardown(void **state)
{
	kp_cleanup(cleanup_kps, cleanup_n);
	return 0;
}

static struct zprobe *entry_probe(const char *name)
{
	struct zfunc *f = func_named(name);
	int i;

	for (i = 0; f && i < npass1; i++)
		if (pass1_probes[i].fn == f)
			return &pass1_probes[i];
	return NULL;
}

/* Calls zlib makes internally follow its call graph, the same since
 * 1.2.x; elsewhere we only know a lower bound. */
/*
 * The symbol a call in this file reaches: with _FILE_OFFSET_BITS=64 (meson's
 * default), <zlib.h> maps gzopen, crc32_combine and adler32_combine to
 * their *64 variants, and zlib's own crc32_combine() is never called.
 */
#define ZNAME_(x)	#x
#define ZNAME(x)	ZNAME_(x)

static bool known_call_graph(void)
{
	const char *v = zlibVersion();

	return !strncmp(v, "1.2.", 4) || !strncmp(v, "1.3", 3);
}

static void check_count(const char *name, unsigned long expected,
			bool exact, const char *why)
{
	struct zprobe *z = entry_probe(name);
	unsigned long got;

	kp_check(z != NULL, "pass 1: %s is not among libz's functions",
		 name);
	if (z->refused) {
		print_error("ERROR: pass 1: %s was refused, its calls are not "
			    "counted\n", name);
		fail();
	}
	got = cnt_get(&z->pre);
	if (exact)
		kp_check_eq(got, expected, "pass 1: hits at %s's entry: %s",
			    name, why);
	else
		kp_check(got >= expected && got > 0,
			 "pass 1: %s ran %lu times, expected at least %lu "
			 "and more than 0 (%s)", name, got, expected, why);
}

/* Pass 1: a probe on every function's entry. */
static void test_entry_probes(void **state)
{
	const struct zcalls *c = &ref_run.calls;
	bool graph = known_call_graph();
	unsigned long total = 0, during_reg = 0;
	int i, ran = 0;

	npass1 = nfuncs;
	for (i = 0; i < nfuncs; i++) {
		pass1_probes[i].fn = &funcs[i];
		pass1_probes[i].in = funcs[i].ninsn ? &funcs[i].insn[0] :
						      &unknown_insn;
		pass1_probes[i].idx = 0;
		pass1_probes[i].gep = false;
		/* The function's own address: on ppc64 the library must put
		 * the probe on the local entry, insn[0] (register_pass()
		 * checks kp.addr). */
		pass1_probes[i].req_addr = funcs[i].addr;
		pass1_probes[i].req_off = 0;
		funcs[i].pass1_valid = false;
	}
	register_pass(pass1_probes, npass1, "pass 1 (entries)");
	for (i = 0; i < npass1; i++) {
		during_reg += cnt_get(&pass1_probes[i].pre);
		cnt_set(&pass1_probes[i].pre, 0);
		cnt_set(&pass1_probes[i].post, 0);
	}
	if (during_reg)
		printf("pass 1: %lu hits while registering (libkprobe's own "
		       "use of zlib?), not counted\n", during_reg);

	run_workload(&probed_run);
	unregister_kprobes(cleanup_kps, cleanup_n);

	check_text_restored("after pass 1");
	kp_check(same_output(&probed_run, "pass 1"),
		 "pass 1: the workload's output must equal the unprobed "
		 "run's");
	check_probe_sanity(pass1_probes, npass1, "pass 1");

	printf("pass 1: functions that ran (entry hits):\n");
	for (i = 0; i < npass1; i++) {
		struct zprobe *z = &pass1_probes[i];
		unsigned long n = cnt_get(&z->pre);

		if (z->refused)
			continue;
		z->fn->pass1 = n;
		z->fn->pass1_valid = true;
		total += n;
		if (n) {
			ran++;
			printf("  %-28.28s %6lu\n", z->fn->name, n);
		}
	}
	printf("pass 1: %d of %d functions ran, %lu hits, workload %.3f s "
	       "(unprobed %.3f s)\n", ran, npass1, total,
	       probed_run.seconds, ref_run.seconds);
	kp_check(probed_run.calls.deflate == c->deflate &&
		 probed_run.calls.gzread == c->gzread,
		 "pass 1: the workload made the same calls as unprobed");

	/* Called only by the workload itself. */
	check_count("compress2", c->compress2, true,
		    "the workload's compress2() calls");
	check_count("uncompress", c->uncompress, true,
		    "the workload's uncompress() calls");
	check_count("compressBound", c->compressBound, true,
		    "the workload's compressBound() calls");
	check_count("deflateBound", c->deflateBound, true,
		    "the workload's deflateBound() calls");
	check_count(ZNAME(crc32_combine), c->crc32_combine, true,
		    "the workload's crc32_combine() calls");
	check_count(ZNAME(adler32_combine), c->adler32_combine, true,
		    "the workload's adler32_combine() calls");
	check_count(ZNAME(gzopen), c->gzopen, true,
		    "the workload's gzopen() calls");
	check_count("gzwrite", c->gzwrite, true,
		    "the workload's gzwrite() calls");
	check_count("gzread", c->gzread, true,
		    "the workload's gzread() calls");
	check_count("gzclose", c->gzclose, true,
		    "the workload's gzclose() calls");

	/* Called by the workload and, per zlib's call graph, from inside
	 * zlib: compress2 -> deflateInit_ -> deflateInit2_, deflateEnd;
	 * uncompress -> uncompress2 -> inflateInit_ -> inflateInit2_,
	 * inflateEnd; gzwrite's gz_init -> deflateInit2_, gzclose_w ->
	 * deflateEnd; gzread's gz_look -> inflateInit2_, gzclose_r ->
	 * inflateEnd; crc32_combine -> crc32_combine64. */
	check_count("deflateInit2_",
		    c->deflateInit2_ + c->deflateInit_ + c->compress2 +
		    c->gz_wfiles, graph,
		    "the workload's deflateInit2() and deflateInit() calls, "
		    "plus one per compress2() and per gzFile written");
	check_count("deflateInit_", c->deflateInit_ + c->compress2, graph,
		    "the workload's deflateInit() calls, plus one per "
		    "compress2()");
	check_count("deflateEnd", c->deflateEnd + c->compress2 + c->gz_wfiles,
		    graph, "the workload's deflateEnd() calls, plus one per "
		    "compress2() and per gzFile written");
	check_count("inflateInit2_",
		    c->inflateInit2_ + c->inflateInit_ + c->uncompress +
		    c->gz_rfiles, graph,
		    "the workload's inflateInit2() and inflateInit() calls, "
		    "plus one per uncompress() and per gzFile read");
	check_count("inflateInit_", c->inflateInit_ + c->uncompress, graph,
		    "the workload's inflateInit() calls, plus one per "
		    "uncompress()");
	check_count("uncompress2", c->uncompress, graph,
		    "one per uncompress()");
	check_count("inflateEnd", c->inflateEnd + c->uncompress + c->gz_rfiles,
		    graph, "the workload's inflateEnd() calls, plus one per "
		    "uncompress() and per gzFile read");
	check_count("gzclose_w", c->gz_wfiles, graph,
		    "one per gzFile written");
	check_count("gzclose_r", c->gz_rfiles, graph, "one per gzFile read");
#ifndef crc32_combine
	check_count("crc32_combine64", c->crc32_combine, graph,
		    "one per crc32_combine()");
#endif

	/* The workhorses, called by the workload and by zlib itself. */
	check_count("deflate", c->deflate, false, "workload and gzwrite");
	check_count("inflate", c->inflate, false, "workload and gzread");
	check_count("crc32", c->crc32, false, "workload, gzip wrappers");
	check_count("adler32", c->adler32, false, "workload, zlib wrappers");
	/* Only called from inside zlib. */
	check_count("crc32_z", 1, false, "crc32() tail-calls it");
	check_count("adler32_z", 1, false, "adler32() tail-calls it");
	check_count("deflateReset", 1, false, "deflateInit2_() calls it");
	check_count("deflateResetKeep", 1, false, "deflateReset() calls it");
	check_count("inflateReset2", 1, false, "inflateInit2_() calls it");
	check_count("inflateResetKeep", 1, false, "inflateReset() calls it");

	kp_test_done();
}

#if defined(__powerpc64__)
/* How many of libz's own PLT slots (ld.so fills them) hold @addr. */
static int plt_slots_holding(uintptr_t addr)
{
	uintptr_t p;
	int n = 0;

	for (p = libz.plt_start; p + 8 <= libz.plt_end; p += 8)
		n += *(const volatile uintptr_t *)p == addr;
	return n;
}

/*
 * ppc64: who comes in through a global entry. The executable's PLT stubs
 * enter libz there (with r12 = that address, as ELFv2 wants). libz's own
 * calls of its exported functions go through its PLT too, but glibc's
 * ld.so binds such a slot to the local entry when caller and callee share
 * a TOC (ppc64_local_entry_offset()), and direct calls branch to the local
 * entry. So when none of libz's PLT slots holds a function's global
 * address (read here, after runs that bound every slot the workload uses),
 * its global entry counts exactly the workload's own calls of it: known
 * for the functions below, 0 for those only zlib calls.
 */
static int check_gep_calls(int ngep)
{
	const struct zcalls *c = &probed_run.calls;
	const struct {
		const char *name;
		unsigned long calls;
	} known[] = {
		{ "deflateInit2_", c->deflateInit2_ },
		{ "deflateInit_", c->deflateInit_ },
		{ "deflate", c->deflate },
		{ "deflateEnd", c->deflateEnd },
		{ "deflateBound", c->deflateBound },
		{ "inflateInit2_", c->inflateInit2_ },
		{ "inflateInit_", c->inflateInit_ },
		{ "inflate", c->inflate },
		{ "inflateEnd", c->inflateEnd },
		{ "compress2", c->compress2 },
		{ "compressBound", c->compressBound },
		{ "uncompress", c->uncompress },
		{ "crc32", c->crc32 },
		{ "adler32", c->adler32 },
		{ ZNAME(crc32_combine), c->crc32_combine },
		{ ZNAME(adler32_combine), c->adler32_combine },
		{ ZNAME(gzopen), c->gzopen },
		{ "gzwrite", c->gzwrite },
		{ "gzread", c->gzread },
		{ "gzclose", c->gzclose },
		/* Called only from inside zlib (check_count()'s list). */
		{ "crc32_z", 0 },
		{ "adler32_z", 0 },
		{ "deflateReset", 0 },
		{ "deflateResetKeep", 0 },
		{ "inflateReset", 0 },
		{ "inflateReset2", 0 },
		{ "inflateResetKeep", 0 },
		{ "uncompress2", 0 },
		{ "gzclose_r", 0 },
		{ "gzclose_w", 0 },
	};
	int i, j, bad = 0, exact = 0, plt_local = 0, plt_global = 0;
	int plt_single = 0;
	char d[256];

	for (i = 0; i < nfuncs; i++) {
		if (!funcs[i].local) {
			plt_single += plt_slots_holding(funcs[i].addr);
			continue;
		}
		plt_global += plt_slots_holding(funcs[i].addr);
		plt_local += plt_slots_holding(funcs[i].addr + funcs[i].local);
	}
	printf("pass 2: %d probes on global entries; libz's PLT slots bound "
	       "to its own functions: %d to local entries, %d to global "
	       "ones, %d to functions with a single entry\n", ngep,
	       plt_local, plt_global, plt_single);
	for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++) {
		struct zfunc *f = func_named(known[i].name);

		if (!f) {
			print_error("ERROR: pass 2: %s is not among libz's "
				    "functions\n", known[i].name);
			bad++;
			continue;
		}
		if (!f->ngep)
			continue;	/* no TOC setup, one entry */
		if (plt_slots_holding(f->addr)) {
			printf("pass 2: %s: libz calls it through a PLT slot "
			       "bound to its global entry: its count there is "
			       "only bounded\n", f->name);
			continue;
		}
		for (j = 0; j < npass2; j++) {
			struct zprobe *z = &pass2_probes[j];
			unsigned long got = cnt_get(&z->pre);

			if (!z->gep || z->fn != f || z->refused)
				continue;
			exact++;
			if (got == known[i].calls)
				continue;
			describe(z, d, sizeof(d));
			print_error("ERROR: pass 2: %s: %lu hits on the global "
				    "entry, but the workload called %s %lu "
				    "times (and zlib's own calls take the "
				    "local entry)\n", d, got, known[i].name,
				    known[i].calls);
			bad++;
		}
	}
	printf("pass 2: %d global-entry counts equal to the workload's own "
	       "calls (checked)\n", exact);
	if (!exact) {
		print_error("ERROR: pass 2: no global-entry count could be "
			    "checked exactly\n");
		bad++;
	}
	return bad;
}
#endif

/*
 * ppc64: the count of a probe on the global entry. Every path through it
 * goes on to the local entry, so it is at most what pass 1 counted there.
 * Its two words run one after the other: the same count, unless something
 * branches to the second. (check_gep_calls() says how many exactly.)
 */
static bool check_gep_count(const struct zprobe *z, const struct zprobe *prev)
{
	unsigned long got = cnt_get(&z->pre), want = z->fn->pass1;
	char d[256];

	describe(z, d, sizeof(d));
	if (got > want) {
		print_error("ERROR: pass 2: %s: %lu hits on the global entry, "
			    "but the local entry after it was hit only %lu "
			    "times in pass 1\n", d, got, want);
		return false;
	}
	if (prev && prev->gep && prev->fn == z->fn && !prev->refused &&
	    prev->idx + 1 == z->idx &&
	    !is_branch_target(z->fn->addr + z->in->off) &&
	    cnt_get(&prev->pre) != got) {
		print_error("ERROR: pass 2: %s: %lu hits, but the global "
			    "entry's previous word %lu\n", d, got,
			    cnt_get(&prev->pre));
		return false;
	}
	return true;
}

/*
 * The instructions of @f that pass 2 probes, by index in f->insn: the 2nd
 * and 3rd; on ppc64 also the first call straight from the entry and the
 * instruction it returns to, once per call (bl's LR, emulated, brings it
 * back there). Every one of them runs exactly once per entry.
 */
static unsigned int pass2_sites(const struct zfunc *f, unsigned int *k)
{
	unsigned int i, n = 0;

	for (i = 1; i < f->nstraight && i < MAX_INSN; i++)
		k[n++] = i;
	for (i = f->call; f->call && i <= f->call + 1 && i < f->nstraight;
	     i++)
		if (i >= MAX_INSN)
			k[n++] = i;
	return n;
}

/*
 * ppc64: a probe on word @k of @f's global entry. Word 0 is the function's
 * own address, which the library takes to mean its local entry (pass 1);
 * asked for as the word before it plus 4, it is just an address.
 */
static bool gep_probe(struct zprobe *z, struct zfunc *f, unsigned int k)
{
	const struct zinsn *in = &f->gep[k];

	z->fn = f;
	z->in = in;
	z->idx = k;
	z->gep = true;
	z->req_addr = f->addr + in->off;
	z->req_off = 0;
	if (in->off)
		return true;
	/* Not across the start of the executable segment. */
	if (exec_end(f->addr - 4) != exec_end(f->addr))
		return false;
	z->req_addr = f->addr - 4;
	z->req_off = 4;
	return true;
}

/* Pass 2: the 2nd and 3rd instructions of every function (ppc64: from
 * the local entry, and the global entry's words). */
static void offset_pass(const char *pass_name)
{
	unsigned long total = 0;
	int i, k, bad = 0, checked = 0, targets = 0, ran = 0;
	int ngep = 0, ncalls = 0;
	unsigned int sites[MAX_INSN + 2], nsites;
	bool have_pass1 = false;

	npass2 = 0;
	for (i = 0; i < nfuncs; i++) {
		struct zfunc *f = &funcs[i];

		have_pass1 |= f->pass1_valid;
		nsites = pass2_sites(f, sites);
		for (k = 0; k < (int)nsites; k++) {
			struct zprobe *z = &pass2_probes[npass2++];

			z->fn = f;
			z->in = &f->insn[sites[k]];
			z->idx = sites[k];
			z->gep = false;
			z->req_addr = f->addr;
			z->req_off = z->in->off;
			ncalls += z->in->call;
		}
		for (k = 0; k < (int)f->ngep; k++)
			if (gep_probe(&pass2_probes[npass2], f, k))
				npass2++, ngep++;
	}
	if (ncalls || ngep)
		printf("pass 2: %d probes on calls straight from the entry, "
		       "%d on global entries\n", ncalls, ngep);
	printf("pass 2: %d probes on %d functions; no straight-line 2nd "
	       "instruction in:", npass2, nfuncs);
	for (i = 0; i < nfuncs; i++)
		if (funcs[i].nstraight < 2)
			printf(" %s (%s)", funcs[i].name,
			       funcs[i].ninsn ? funcs[i].insn[0].text :
						"not decoded");
	printf("\n");

	register_pass(pass2_probes, npass2, pass_name);
	for (i = 0; i < npass2; i++) {
		cnt_set(&pass2_probes[i].pre, 0);
		cnt_set(&pass2_probes[i].post, 0);
	}
	run_workload(&probed_run);
	unregister_kprobes(cleanup_kps, cleanup_n);

	check_text_restored("after pass 2");
	kp_check(same_output(&probed_run, "pass 2"),
		 "pass 2: the workload's output must equal the unprobed "
		 "run's");
	check_probe_sanity(pass2_probes, npass2, "pass 2");
	kp_check(have_pass1, "pass 2 compares its counts with pass 1's, "
		 "which did not run");

	for (i = 0; i < npass2; i++) {
		struct zprobe *z = &pass2_probes[i];
		unsigned long got = cnt_get(&z->pre), want = z->fn->pass1;
		uintptr_t addr = z->fn->addr + z->in->off;
		char d[256];

		total += got;
		ran += got != 0;
		if (z->refused || !z->fn->pass1_valid)
			continue;
		checked++;
		if (z->gep) {
			if (!check_gep_count(z, i ? &z[-1] : NULL))
				bad++;
			continue;
		}
		if (got == want)
			continue;
		describe(z, d, sizeof(d));
		/* Also a jump target: reached other than from the entry. */
		if (is_branch_target(addr)) {
			targets++;
			if (got > want)
				continue;
		}
		print_error("ERROR: pass 2: %s: %lu hits, but the entry was "
			    "hit %lu times in pass 1 (instruction %u, "
			    "straight-line from the entry%s)\n", d, got, want,
			    z->idx + 1, is_branch_target(addr) ?
			    ", also a jump target" : "");
		bad++;
	}
	printf("pass 2: probes that were hit:\n");
	for (i = 0; i < npass2; i++) {
		struct zprobe *z = &pass2_probes[i];
		char d[256];

		if (!cnt_get(&z->pre))
			continue;
		describe(z, d, sizeof(d));
		printf("  %6lu  %s\n", cnt_get(&z->pre), d);
	}
	printf("pass 2: %lu hits on %d probes, workload %.3f s; %d counts "
	       "compared with pass 1 (%d at jump targets)\n", total, ran,
	       probed_run.seconds, checked, targets);
#if defined(__powerpc64__)
	if (ngep)
		bad += check_gep_calls(ngep);
#endif
	kp_check_eq(bad, 0, "pass 2: probes whose count differs from their "
		    "function's entry count in pass 1, listed above");
	kp_test_done();
}

static void test_offset_probes(void **state)
{
	with_post = true;
	offset_pass("pass 2 (offsets)");
}

/* The same probes with pre_handlers only: boosted. */
static void test_offset_probes_boosted(void **state)
{
	with_post = false;
	offset_pass("pass 2b (offsets, boosted)");
	with_post = true;
}

/*
 * Pass 3: every branch (x86_64: jmp, jcc, call, ret; ppc64: b, bc, bclr,
 * bcctr and their link forms, bdnz and friends included) of the functions
 * that ran at most PASS3_MAX_CALLS times in pass 1, one batch, with
 * post_handlers: branches are what the library emulates rather than runs
 * from a slot, and this takes every form the compiler used in them, not
 * only those near an entry. The output must equal the reference's, every
 * post_handler must see the branch's target or (conditional) the next
 * instruction, and nothing may be missed.
 */
#define PASS3_MAX_CALLS	64

static const char *const pass3_skip[] = {
	/* Ran once, but its decoding loop takes ~10^5 turns: as many traps
	 * per branch in it. */
	"inflateBack",
};

static bool pass3_wanted(const struct zfunc *f)
{
	size_t i;

	if (!f->pass1_valid || !f->pass1 || f->pass1 > PASS3_MAX_CALLS)
		return false;
	for (i = 0; i < sizeof(pass3_skip) / sizeof(pass3_skip[0]); i++)
		if (func_named(pass3_skip[i]) == f)
			return false;
	return true;
}

static void test_branch_probes(void **state)
{
	static struct zprobe *z;
	static struct zinsn *all;
	struct {
		char name[16];
		unsigned int probes, hit;
		unsigned long hits;
	} kind[96];
	unsigned int nkind = 0;
	unsigned long total = 0;
	int i, j, n = 0, nf = 0, ran = 0;
	bool have_pass1 = false;

	free(z);
	free(all);
	z = NULL;
	all = NULL;
	for (i = 0; i < nfuncs; i++) {
		struct zinsn *br;
		unsigned int nb;

		have_pass1 |= funcs[i].pass1_valid;
		if (!pass3_wanted(&funcs[i]))
			continue;
		nb = decode_branches(&funcs[i], &br);
		all = realloc(all, (n + nb + 1) * sizeof(*all));
		z = realloc(z, (n + nb + 1) * sizeof(*z));
		if (!all || !z)
			abort();
		for (j = 0; j < (int)nb; j++) {
			memset(&z[n], 0, sizeof(z[n]));
			all[n] = br[j];
			z[n].fn = &funcs[i];
			z[n].idx = j;
			z[n].req_addr = funcs[i].addr;
			z[n].req_off = br[j].off;
			n++;
		}
		free(br);
		nf++;
	}
	kp_check(have_pass1, "pass 3 picks its functions from pass 1's "
		 "counts, and pass 1 did not run");
	kp_check(n > 0, "pass 3: no branch found in %d functions", nf);
	for (i = 0; i < n; i++)
		z[i].in = &all[i];
	printf("pass 3: %d probes on the branches of %d functions that ran "
	       "1 to %d times\n", n, nf, PASS3_MAX_CALLS);

	with_post = true;
	register_pass(z, n, "pass 3 (branches)");
	for (i = 0; i < n; i++) {
		cnt_set(&z[i].pre, 0);
		cnt_set(&z[i].post, 0);
	}
	run_workload(&probed_run);
	unregister_kprobes(cleanup_kps, cleanup_n);

	check_text_restored("after pass 3");
	kp_check(same_output(&probed_run, "pass 3"),
		 "pass 3: the workload's output must equal the unprobed "
		 "run's");
	check_probe_sanity(z, n, "pass 3");

	/* Which forms ran, by mnemonic. */
	for (i = 0; i < n; i++) {
		unsigned long got = cnt_get(&z[i].pre);
		char name[16];
		unsigned int k;

		sscanf(z[i].in->text, "%15s", name);
		for (k = 0; k < nkind && strcmp(kind[k].name, name); k++)
			;
		if (k == nkind && nkind < sizeof(kind) / sizeof(kind[0])) {
			memset(&kind[k], 0, sizeof(kind[k]));
			snprintf(kind[k].name, sizeof(kind[k].name), "%s",
				 name);
			nkind++;
		}
		if (k < nkind) {
			kind[k].probes++;
			kind[k].hit += got != 0;
			kind[k].hits += got;
		}
		total += got;
		ran += got != 0;
	}
	printf("pass 3: %lu hits on %d probes, workload %.3f s; by "
	       "mnemonic (probes, of which hit, hits):\n", total, ran,
	       probed_run.seconds);
	for (i = 0; i < (int)nkind; i++)
		printf("  %-10s %5u %5u %9lu\n", kind[i].name, kind[i].probes,
		       kind[i].hit, kind[i].hits);
	kp_check(ran > 0, "pass 3: none of the %d branch probes was hit", n);
	kp_test_done();
}

static void test_text_restored(void **state)
{
	check_text_restored("after all passes");
	kp_test_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entry_probes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_offset_probes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_offset_probes_boosted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_probes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_text_restored, setup,
						teardown),
	};
	int i, n2 = 0, nlocal = 0, ret;

	/* cmocka reports on stderr: keep our lines in order with its. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	dl_iterate_phdr(find_libz, NULL);
	if (!libz.path[0]) {
		printf("SKIP: libz.so.1 is not loaded in this process\n");
		return KP_EXIT_SKIP;
	}
	if (read_symbols() || nfuncs <= 0 || !libz.text_end) {
		printf("no function symbols or no .text in %s\n", libz.path);
		return 1;
	}
#if defined(__x86_64__)
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK ||
	    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
		printf("Capstone cannot open an x86_64 decoder\n");
		return 1;
	}
#else
	/* Only for the instructions' names in messages. */
	if (cs_open(CS_ARCH_PPC, CS_MODE_64 | CS_MODE_LITTLE_ENDIAN,
		    &cs) != CS_ERR_OK) {
		printf("Capstone cannot open a ppc64le decoder\n");
		return 1;
	}
#endif
	decode_funcs();
	collect_branch_targets();
	for (i = 0; i < nfuncs; i++) {
		unsigned int sites[MAX_INSN + 2];

		n2 += pass2_sites(&funcs[i], sites);
		n2 += funcs[i].ngep;
		nlocal += funcs[i].local != 0;
	}
	pass1_probes = calloc((unsigned int)nfuncs, sizeof(*pass1_probes));
	pass2_probes = calloc(n2 ? n2 : 1, sizeof(*pass2_probes));
	if (!pass1_probes || !pass2_probes)
		return 1;

	make_input();
	run_workload(&ref_run);
	printf("%s (zlib %s) at %#lx: %d function symbols (%d .dynsym, %d "
	       ".symtab), %d functions at distinct addresses; %zu direct "
	       "branch targets in .text\n", libz.path, zlibVersion(),
	       (unsigned long)libz.base, libz.ndynsym + libz.nsymtab,
	       libz.ndynsym, libz.nsymtab, nfuncs, nbranch_targets);
	if (nlocal)
		printf("%d functions have a local entry after their global "
		       "one\n", nlocal);
	printf("reference run: %d output sections, %zu bytes, %.3f s\n",
	       ref_run.nsec, ref_run.len, ref_run.seconds);
	if (ref_run.nerr) {
		printf("the unprobed workload fails (%d errors), first: %s\n",
		       ref_run.nerr, ref_run.err);
		return 1;
	}
	fflush(stdout);

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	cs_close(&cs);
	return ret;
}

#endif /* __x86_64__ || ppc64 ELFv2 */
