// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Differential test of the instruction relocator and the branch emulator.
 *
 * corpus.S (written by gen_corpus.py) holds one function per instruction
 * form. Each runs the form's instruction at a site from a known register
 * state, on a stack inside a memory arena, and stores every general
 * register, the flags, MXCSR, the x87 control and status words and
 * ymm0-3/8/9 back. We run each form unprobed (twice: the corpus must be
 * deterministic), then with a probe on its site three ways: a pre_handler
 * only (a boostable probe: one trap), a pre_handler and a post_handler (the
 * second trap's path), and a pre_handler again (the parked slot of the
 * first); each registration runs the form twice. Then unprobed again after
 * unregistering. Every run is compared with the first, register for
 * register and byte for byte over the arena and a low page. The handlers
 * check what they see: the pre_handler the registers at the site, the
 * post_handler of an out-of-line instruction those right after it.
 *
 * Forms that fault are compared on the signal the program's handler gets
 * (signal, code, address and the registers in its context); forms the
 * library must refuse are checked for the errno and untouched text.
 *
 * A plain main(), not CMocka: CMocka installs its own fault handlers around
 * every test and puts the previous ones back afterwards, which would replace
 * libkprobe's handlers (see test_fault.c); here the program's handlers are
 * installed once, before the first registration, as the contract wants.
 * Every difference is printed with the form's text and bytes; any makes the
 * test fail. To look at one form: RL_ONLY=<number> (as printed); -v lists
 * the forms as they run.
 */
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <kprobes.h>

#include "reloc.h"


#if !defined(__x86_64__)
int main(void)
{
	printf("SKIP: the corpus is x86_64 code\n");
	return 77;
}
#else

struct rl_state {
	uint64_t gpr[16];
	uint64_t flags;
	uint32_t mxcsr;
	uint16_t fcw, fsw;
	uint8_t pad[16];
	uint8_t ymm[RL_NYMM][32];
};
_Static_assert(offsetof(struct rl_state, flags) == RL_FLAGS, "layout");
_Static_assert(offsetof(struct rl_state, mxcsr) == RL_MXCSR, "layout");
_Static_assert(offsetof(struct rl_state, fcw) == RL_FCW, "layout");
_Static_assert(offsetof(struct rl_state, fsw) == RL_FSW, "layout");
_Static_assert(offsetof(struct rl_state, ymm) == RL_YMM(0), "layout");
_Static_assert(sizeof(struct rl_state) == RL_STATE_SIZE, "layout");

struct rl_form {
	void (*fn)(struct rl_state *);
	const uint8_t *site, *next;
	const char *name, *cls;
	uint16_t kind, flags;
	uint32_t req;
	int16_t err, err2;	/* refused forms: the errnos accepted */
	uint32_t ignore;	/* RL_IGN_* */
};
_Static_assert(sizeof(struct rl_form) == RL_FORM_SIZE, "layout");

extern const struct rl_form rl_forms[];
extern const int rl_nforms;
extern uint8_t rl_arena[];
extern uint64_t rl_presite[17];

static const char *const gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const ymm_name[RL_NYMM] = {
	"ymm0", "ymm1", "ymm2", "ymm3", "ymm8", "ymm9",
};

/* ---- the program's signal handlers (installed before any probe) ---- */

struct rl_fault {
	int signo, code;
	uintptr_t addr;
	greg_t gregs[NGREG];
};

static volatile sig_atomic_t running;
static struct rl_fault fault_rec;
static void *low_page;

/* corpus.S: the end of a form's function after its stores (the host's
 * stack and registers back, return to the caller). */
extern const char rl_exit[];

/*
 * A signal in a run ends the run: record it and return from the form's
 * function through rl_exit, by sigreturn. Not a siglongjmp(): a
 * handler of libkprobe's may be below ours (it passes us the faults of
 * emulated branches), and it should end as it does for any program.
 */
static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;

	if (!running) {
		if (sig == SIGALRM)
			return;
		/* Not during a run: die of it, as without us. */
		signal(sig, SIG_DFL);
		return;
	}
	running = 0;
	fault_rec.signo = sig;
	fault_rec.code = si->si_code;
	fault_rec.addr = (uintptr_t)si->si_addr;
	memcpy(fault_rec.gregs, uc->uc_mcontext.gregs, sizeof(fault_rec.gregs));
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)rl_exit;
}

static void install_handlers(void)
{
	static const int sigs[] = {
		SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGALRM,
	};
	static char alt_stack[1 << 16] __attribute__((aligned(16)));
	stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof(alt_stack) };
	struct sigaction sa;

	/* Our handlers run on their own stack: a fault's frame must not land
	 * in the compared arena. */
	if (sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		exit(1);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ---- what a run leaves ---- */

struct rl_result {
	struct rl_state st;
	uint64_t presite[17];
	int faulted;		/* 0, 1: a signal, 2: a timeout */
	struct rl_fault fault;
	uint8_t arena[RL_ARENA_SIZE];
	uint8_t low[RL_LOW_SIZE];
};

static struct rl_state init_st;
static uint8_t init_arena[RL_ARENA_SIZE], init_low[RL_LOW_SIZE];
static struct rl_state run_st;

static void make_initial_state(void)
{
	static const double dv[] = {
		1.5, -2.75, 3.25e3, 0.1, -7.0, 1e-3, 65536.5, -0.5,
		2.0, 3.0, -1e10, 42.25, 0.75, -3.5, 1e5, 9.0,
		-0.125, 12.5, 7.75, -8.0, 5.5, 1e-7, -2.0, 6.25,
	};
	struct rl_state *s = &init_st;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	/* Bytes that differ from word to word and inside a word. */
	for (size_t i = 0; i < RL_ARENA_SIZE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		init_arena[i] = (uint8_t)x;
	}
	/* A few doubles where the x87 forms load them. */
	memcpy(init_arena + RL_DATA_OFF + 8, &(double){ 12345.678 }, 8);
	memcpy(init_arena + RL_DATA_OFF + 40, &(double){ 2.5 }, 8);
	memcpy(init_arena + RL_DATA_OFF + 48, &(double){ -1.75e-3 }, 8);
	for (size_t i = 0; i < RL_LOW_SIZE; i++)
		init_low[i] = (uint8_t)(i * 7 + 3);

	memset(s, 0, sizeof(*s));
	s->gpr[0] = 0x0123456789abcdefull;			/* rax */
	s->gpr[1] = 5;						/* rcx */
	s->gpr[2] = 0xfedcba9876543210ull;			/* rdx */
	s->gpr[3] = (uint64_t)(rl_arena + RL_MEM_OFF);		/* rbx */
	s->gpr[4] = (uint64_t)(rl_arena + RL_STACK_OFF + RL_STACK_SIZE -
			       RL_STACK_TOP_GAP);		/* rsp */
	s->gpr[5] = 0x7766554433221100ull;			/* rbp */
	s->gpr[6] = (uint64_t)(rl_arena + RL_MEM_OFF + 1024);	/* rsi */
	s->gpr[7] = (uint64_t)(rl_arena + RL_MEM_OFF + 2048);	/* rdi */
	s->gpr[8] = 3;
	s->gpr[9] = 0xffffffffffffffffull;
	s->gpr[10] = 0x8000000000000000ull;
	s->gpr[11] = 0x00000000ffffffffull;
	s->gpr[12] = (uint64_t)(rl_arena + RL_MEM_OFF + 512);
	s->gpr[13] = 0x13;
	s->gpr[14] = 0x5555aaaa5555aaaaull;
	s->gpr[15] = 0xdeadbeefcafebabeull;
	s->flags = 0xa93;	/* OF SF AF CF, IF */
	s->mxcsr = 0x1f80;
	s->fcw = 0x37f;
	for (int i = 0; i < RL_NYMM; i++)
		memcpy(s->ymm[i], &dv[i * 4 % 24], 32);
}

static void run(const struct rl_form *f, struct rl_result *r)
{
	memcpy(rl_arena, init_arena, RL_ARENA_SIZE);
	if (low_page)
		memcpy(low_page, init_low, RL_LOW_SIZE);
	memset(rl_presite, 0, sizeof(uint64_t) * 17);
	run_st = init_st;
	memset(&fault_rec, 0, sizeof(fault_rec));
	r->faulted = 0;
	running = 1;
	alarm(5);
	f->fn(&run_st);
	running = 0;
	alarm(0);
	if (fault_rec.signo) {
		r->faulted = fault_rec.signo == SIGALRM ? 2 : 1;
		r->fault = fault_rec;
	}
	r->st = run_st;
	memcpy(r->presite, rl_presite, sizeof(r->presite));
	memcpy(r->arena, rl_arena, RL_ARENA_SIZE);
	if (low_page)
		memcpy(r->low, low_page, RL_LOW_SIZE);
}

/* ---- comparing two runs ---- */

static char report[1 << 16];
static size_t report_len;

static void report_reset(void)
{
	report_len = 0;
	report[0] = '\0';
}

__attribute__((format(printf, 1, 2)))
static void note(const char *fmt, ...)
{
	va_list ap;

	if (report_len >= sizeof(report) - 1)
		return;
	va_start(ap, fmt);
	report_len += (size_t)vsnprintf(report + report_len,
					sizeof(report) - report_len, fmt, ap);
	va_end(ap);
	if (report_len > sizeof(report) - 1)
		report_len = sizeof(report) - 1;
}

static const char *arena_name(size_t off, size_t *rel)
{
	if (off >= RL_STACK_OFF)
		return *rel = off - RL_STACK_OFF, "rl_stack";
	if (off >= RL_MEM_OFF)
		return *rel = off - RL_MEM_OFF, "rl_mem";
	if (off >= RL_MARKER_OFF)
		return *rel = off - RL_MARKER_OFF, "rl_marker";
	if (off >= RL_DATA_OFF)
		return *rel = off - RL_DATA_OFF, "rl_data";
	return *rel = off, "rl_arena";
}

static void hexbytes(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		note("%s%02x", i ? " " : "", b[i]);
}

/* Differing byte ranges of two buffers, [from, n). */
static int diff_mem(const char *what, const uint8_t *e, const uint8_t *g,
		    size_t from, size_t n, bool arena)
{
	int ranges = 0;

	for (size_t i = from; i < n; i++) {
		size_t j = i, rel;
		const char *name;

		if (e[i] == g[i])
			continue;
		while (j < n && j < i + 16 && e[j] != g[j])
			j++;
		if (++ranges <= 4) {
			name = arena ? arena_name(i, &rel) : what;
			if (!arena)
				rel = i;
			note("    mem %s+%#zx: expected ", name, rel);
			hexbytes(e + i, j - i);
			note(", got ");
			hexbytes(g + i, j - i);
			note("\n");
		}
		i = j;
	}
	if (ranges > 4)
		note("    ... %d more differing ranges\n", ranges - 4);
	return ranges;
}

static void flag_names(uint64_t v)
{
	static const struct { uint64_t bit; const char *n; } fl[] = {
		{ 0x1, "CF" }, { 0x4, "PF" }, { 0x10, "AF" }, { 0x40, "ZF" },
		{ 0x80, "SF" }, { 0x100, "TF" }, { 0x200, "IF" },
		{ 0x400, "DF" }, { 0x800, "OF" }, { 0x10000, "RF" },
		{ 0x40000, "AC" },
	};
	note("%#lx [", (unsigned long)v);
	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		if (v & fl[i].bit)
			note(" %s", fl[i].n);
	note(" ]");
}

#define CHK(cond_differs, ...) do {					\
	if (cond_differs) {						\
		n++;							\
		note(__VA_ARGS__);					\
	}								\
} while (0)

static const struct {
	int reg;
	const char *name;
} uc_regs[] = {
	{ REG_RIP, "rip" }, { REG_EFL, "eflags" }, { REG_RSP, "rsp" },
	{ REG_RAX, "rax" }, { REG_RCX, "rcx" }, { REG_RDX, "rdx" },
	{ REG_RBX, "rbx" }, { REG_RBP, "rbp" }, { REG_RSI, "rsi" },
	{ REG_RDI, "rdi" }, { REG_R8, "r8" }, { REG_R9, "r9" },
	{ REG_R10, "r10" }, { REG_R11, "r11" }, { REG_R12, "r12" },
	{ REG_R13, "r13" }, { REG_R14, "r14" }, { REG_R15, "r15" },
	{ REG_TRAPNO, "trapno" }, { REG_ERR, "err" }, { REG_CR2, "cr2" },
};

static const char *signame(int sig)
{
	const char *s = sigabbrev_np(sig);

	return s ? s : "?";
}

/* Count and describe the differences between @e (unprobed) and @g. */
static int compare(const struct rl_form *f, const struct rl_result *e,
		   const struct rl_result *g)
{
	uint64_t low_rsp;	/* compare the stack from here up */
	size_t from;
	int n = 0;

	if (e->faulted != g->faulted || (e->faulted &&
	    e->fault.signo != g->fault.signo)) {
		n++;
		note("    outcome: expected %s, got %s\n",
		     !e->faulted ? "no signal" : e->faulted == 2 ? "timeout" :
		     signame(e->fault.signo),
		     !g->faulted ? "no signal" : g->faulted == 2 ? "timeout" :
		     signame(g->fault.signo));
		if (g->faulted == 1)
			note("    (got SIG%s code %d addr %#lx at rip %#lx)\n",
			     signame(g->fault.signo), g->fault.code,
			     (unsigned long)g->fault.addr,
			     (unsigned long)g->fault.gregs[REG_RIP]);
		return n;
	}
	for (int i = 0; i < 17; i++)
		CHK(e->presite[i] != g->presite[i],
		    "    at the site, %s: expected %#lx, got %#lx\n",
		    i < 16 ? gpr_name[i] : "flags",
		    (unsigned long)e->presite[i], (unsigned long)g->presite[i]);
	low_rsp = e->presite[4];
	if (e->faulted == 1) {
		const struct rl_fault *a = &e->fault, *b = &g->fault;

		CHK(a->code != b->code, "    si_code: expected %d, got %d\n",
		    a->code, b->code);
		CHK(a->addr != b->addr,
		    "    si_addr: expected %#lx, got %#lx\n",
		    (unsigned long)a->addr, (unsigned long)b->addr);
		for (size_t i = 0; i < sizeof(uc_regs) / sizeof(uc_regs[0]); i++) {
			int r = uc_regs[i].reg;

			CHK(a->gregs[r] != b->gregs[r],
			    "    handler's %s: expected %#lx, got %#lx\n",
			    uc_regs[i].name, (unsigned long)a->gregs[r],
			    (unsigned long)b->gregs[r]);
		}
		if ((uint64_t)a->gregs[REG_RSP] > low_rsp)
			low_rsp = (uint64_t)a->gregs[REG_RSP];
	} else if (!e->faulted) {
		const struct rl_state *a = &e->st, *b = &g->st;

		for (int i = 0; i < 16; i++)
			CHK(!(f->ignore & (1u << i)) && a->gpr[i] != b->gpr[i],
			    "    %s: expected %#lx, got %#lx\n", gpr_name[i],
			    (unsigned long)a->gpr[i], (unsigned long)b->gpr[i]);
		if (!(f->ignore & RL_IGN_FLAGS) && a->flags != b->flags) {
			n++;
			note("    flags: expected ");
			flag_names(a->flags);
			note(", got ");
			flag_names(b->flags);
			note("\n");
		}
		CHK(a->mxcsr != b->mxcsr, "    mxcsr: expected %#x, got %#x\n",
		    a->mxcsr, b->mxcsr);
		CHK(a->fcw != b->fcw, "    x87 fcw: expected %#x, got %#x\n",
		    a->fcw, b->fcw);
		CHK(a->fsw != b->fsw, "    x87 fsw: expected %#x, got %#x\n",
		    a->fsw, b->fsw);
		for (int i = 0; i < RL_NYMM; i++) {
			if (!memcmp(a->ymm[i], b->ymm[i], 32))
				continue;
			n++;
			note("    %s: expected ", ymm_name[i]);
			hexbytes(a->ymm[i], 32);
			note(",\n          got ");
			hexbytes(b->ymm[i], 32);
			note("\n");
		}
		if (a->gpr[4] > low_rsp)
			low_rsp = a->gpr[4];
	}
	/*
	 * The probed run's traps put signal frames below the stack pointer
	 * less the red zone: the first trap below the site's, the second
	 * below the one after the instruction. Memory there is free at that
	 * moment, so anything may be left in it: compare only above both.
	 */
	from = (size_t)(low_rsp - 128 - (uint64_t)rl_arena);
	if (low_rsp < (uint64_t)rl_arena + RL_STACK_OFF + 128 ||
	    low_rsp > (uint64_t)rl_arena + RL_ARENA_SIZE)
		from = RL_ARENA_SIZE;	/* rsp left the arena: no stack */
	n += diff_mem("rl_arena", e->arena, g->arena, 0,
		      from < RL_STACK_OFF ? from : RL_STACK_OFF, true);
	if (from < RL_ARENA_SIZE && from >= RL_STACK_OFF)
		n += diff_mem("rl_arena", e->arena, g->arena, from,
			      RL_ARENA_SIZE, true);
	if (low_page)
		n += diff_mem("low", e->low, g->low, 0, RL_LOW_SIZE, false);
	return n;
}

/* ---- probes ---- */

static unsigned long pre_hits, post_hits;
static struct pt_regs pre_regs, post_regs;

/* Signal context: plain stores only. */
static int on_pre(struct kprobe *p, struct pt_regs *regs)
{
	pre_hits++;
	pre_regs = *regs;
	return 0;
}

static void on_post(struct kprobe *p, struct pt_regs *regs,
		    unsigned long flags)
{
	post_hits++;
	post_regs = *regs;
}

static uint64_t regs_gpr(const struct pt_regs *r, int i)
{
	const unsigned long v[16] = {
		r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
	};
	return v[i];
}

/* The flags a handler sees and may change (CF PF AF ZF SF DF OF). */
#define USER_FLAGS 0xcd5ul

/* What the handlers saw, against the unprobed run. */
static int check_handlers(const struct rl_form *f, const struct rl_result *e,
			  const struct kprobe *kp, bool with_post)
{
	unsigned long want_post = with_post && f->kind != RL_KIND_FAULT;
	int n = 0;

	CHK(pre_hits != 1, "    pre_handler ran %lu times, expected once\n",
	    pre_hits);
	CHK(post_hits != want_post,
	    "    post_handler ran %lu times, expected %lu\n", post_hits,
	    want_post);
	CHK(__atomic_load_n(&kp->nmissed, __ATOMIC_RELAXED) != 0,
	    "    nmissed %lu, expected 0\n", kp->nmissed);
	if (pre_hits) {
		CHK(pre_regs.rip != (uintptr_t)f->site,
		    "    pre_handler's rip: expected the site %p, got %#lx\n",
		    (const void *)f->site, pre_regs.rip);
		for (int i = 0; i < 16; i++)
			CHK(regs_gpr(&pre_regs, i) != e->presite[i],
			    "    pre_handler's %s: expected %#lx, got %#lx\n",
			    gpr_name[i], (unsigned long)e->presite[i],
			    (unsigned long)regs_gpr(&pre_regs, i));
		CHK((pre_regs.eflags ^ e->presite[16]) & USER_FLAGS,
		    "    pre_handler's eflags: expected %#lx, got %#lx\n",
		    (unsigned long)e->presite[16], pre_regs.eflags);
	}
	if (!post_hits || f->kind != RL_KIND_OOL || e->faulted)
		return n;
	CHK(post_regs.rip != (uintptr_t)f->next,
	    "    post_handler's rip: expected the next instruction %p, got %#lx\n",
	    (const void *)f->next, post_regs.rip);
	if (f->flags & RL_F_POST)
		return n;
	/* Nothing runs between the instruction and the epilogue's store. */
	for (int i = 0; i < 16; i++)
		CHK(!(f->ignore & (1u << i)) &&
		    regs_gpr(&post_regs, i) != e->st.gpr[i],
		    "    post_handler's %s: expected %#lx, got %#lx\n",
		    gpr_name[i], (unsigned long)e->st.gpr[i],
		    (unsigned long)regs_gpr(&post_regs, i));
	CHK(!(f->ignore & RL_IGN_FLAGS) &&
	    ((post_regs.eflags ^ e->st.flags) & USER_FLAGS),
	    "    post_handler's eflags: expected %#lx, got %#lx\n",
	    (unsigned long)e->st.flags, post_regs.eflags);
	return n;
}

/* ---- the corpus ---- */

static uint32_t cpu_features(bool *avx_ok)
{
	unsigned int a, b, c, d, c1 = 0, b7 = 0, c7 = 0, cx = 0;
	uint32_t r = 0;

	if (__get_cpuid(1, &a, &b, &c, &d))
		c1 = c;
	if (__get_cpuid_max(0, NULL) >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		b7 = b;
		c7 = c;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d))
		cx = c;
	*avx_ok = false;
	if ((c1 & bit_OSXSAVE) && (c1 & bit_AVX)) {
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		*avx_ok = (lo & 6) == 6;
	}
	if (*avx_ok && (b7 & bit_AVX2))
		r |= RL_REQ_AVX2;
	if (b7 & bit_BMI)
		r |= RL_REQ_BMI1;
	if (b7 & bit_BMI2)
		r |= RL_REQ_BMI2;
	if (cx & bit_ABM)
		r |= RL_REQ_LZCNT;
	if (c1 & bit_POPCNT)
		r |= RL_REQ_POPCNT;
	if (b7 & bit_ADX)
		r |= RL_REQ_ADX;
	if (c1 & bit_MOVBE)
		r |= RL_REQ_MOVBE;
	if (c1 & bit_SSE4_1)
		r |= RL_REQ_SSE41;
	if (c1 & bit_SSE4_2)
		r |= RL_REQ_SSE42;
	if (c1 & bit_SSSE3)
		r |= RL_REQ_SSSE3;
	if (c1 & bit_AES)
		r |= RL_REQ_AES;
	if (c1 & bit_PCLMUL)
		r |= RL_REQ_PCLMUL;
	if (*avx_ok && (c1 & bit_F16C))
		r |= RL_REQ_F16C;
	if (*avx_ok && (c1 & bit_FMA))
		r |= RL_REQ_FMA;
	if (b7 & bit_SHA)
		r |= RL_REQ_SHA;
	if (c1 & bit_RDRND)
		r |= RL_REQ_RDRAND;
	if (b7 & bit_RDSEED)
		r |= RL_REQ_RDSEED;
	if (b7 & bit_CLFLUSHOPT)
		r |= RL_REQ_CLFLUSHOPT;
	if (b7 & bit_CLWB)
		r |= RL_REQ_CLWB;
	if (c7 & bit_RDPID)
		r |= RL_REQ_RDPID;
	if (*avx_ok && (b7 & bit_AVX2) && (c7 & bit_VAES))
		r |= RL_REQ_VAES;
	if (*avx_ok && (b7 & bit_AVX2) && (c7 & bit_VPCLMULQDQ))
		r |= RL_REQ_VPCLMUL;
	return r;
}

struct counts {
	int forms, probed, ool, branch, fault, refused, skipped, tolerated;
	int unexpected_refusals;
	int failed_forms, nondet;
};

/* Per class of forms (the generator's; a handful): forms and failures. */
#define MAX_CLASSES 32
static struct {
	const char *name;
	int forms, failed;
} classes[MAX_CLASSES];

static void count_class(const char *cls, int failed)
{
	int i;

	for (i = 0; i < MAX_CLASSES && classes[i].name; i++)
		if (!strcmp(classes[i].name, cls))
			break;
	if (i == MAX_CLASSES)
		return;
	classes[i].name = cls;
	classes[i].forms++;
	classes[i].failed += failed != 0;
}

static struct rl_result r_ref, r_ref2, r_probed;
static struct kprobe kp;

static void form_header(const struct rl_form *f, int idx, const char *what)
{
	size_t len = (size_t)(f->next - f->site);

	printf("MISMATCH %s: form %d [%s] `%s` (", what, idx, f->cls, f->name);
	for (size_t i = 0; i < len && i < 16; i++)
		printf("%s%02x", i ? " " : "", f->site[i]);
	printf(")\n");
}

/* Print the report of a failed check; 1 if there was one. */
static int flush(const struct rl_form *f, int idx, const char *what, int n)
{
	if (n) {
		form_header(f, idx, what);
		fputs(report, stdout);
	}
	report_reset();
	return n != 0;
}

/*
 * How a form is probed. A probe without a post_handler may be boosted (its
 * slot jumps back: one trap); with one, the slot ends in a second trap.
 * The third registration finds the first one's parked slot.
 */
enum probe_mode { PROBE_PRE, PROBE_PRE_POST, PROBE_PRE_AGAIN, NR_MODES };

static const char *const mode_name[NR_MODES] = {
	"pre_handler", "pre+post handlers", "pre_handler, registered again",
};

/* Register, run twice, unregister, compare. Return 0, 1 if it differed,
 * 2 if refused, -1 if refused and that is tolerated. */
static int probe_run(const struct rl_form *f, int idx, enum probe_mode mode,
		     struct counts *c)
{
	bool with_post = mode == PROBE_PRE_POST;
	uint8_t before[32], armed;
	int ret, n = 0;

	memcpy(before, f->site, sizeof(before));
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)f->site;
	kp.pre_handler = on_pre;
	kp.post_handler = with_post ? on_post : NULL;
	ret = register_kprobe(&kp);
	if (ret) {
		if ((f->flags & RL_F_MAY_REFUSE) &&
		    (ret == f->err || ret == f->err2)) {
			if (mode == PROBE_PRE) {
				c->tolerated++;
				printf("NOTE: form %d [%s] `%s` refused (%s: %s), "
				       "tolerated for this form\n", idx, f->cls,
				       f->name, strerrorname_np(-ret),
				       kprobe_last_error());
			}
			return -1;
		}
		note("    register_kprobe: %d (%s): %s\n", ret,
		     strerrorname_np(-ret), kprobe_last_error());
		flush(f, idx, "unexpected refusal", 1);
		return 2;
	}
	armed = *(volatile const uint8_t *)f->site;
	/* A breakpoint, or the jump of an optimized probe (whose detour
	 * runs a relocated copy of this form and the ones after it). */
	CHK(armed != 0xcc && !(armed == 0xe9 && kprobe_optimized(&kp)),
	    "    site not armed: %#x\n", armed);
	/* Twice: the second hit goes through the same slot. */
	for (int k = 0; k < 2 && !n; k++) {
		pre_hits = post_hits = 0;
		run(f, &r_probed);
		if (k)
			note("    (the second run with the probe)\n");
		n += compare(f, &r_ref, &r_probed);
		n += check_handlers(f, &r_ref, &kp, with_post);
		if (!n)
			report_reset();
	}
	unregister_kprobe(&kp);
	CHK(memcmp(before, f->site, sizeof(before)),
	    "    text not restored after unregister_kprobe\n");
	return flush(f, idx, mode_name[mode], n);
}

static int check_refused(const struct rl_form *f, int idx)
{
	uint8_t before[16];
	int ret, n = 0;

	memcpy(before, f->site, sizeof(before));
	memset(&kp, 0, sizeof(kp));
	kp.addr = (kprobe_opcode_t *)f->site;
	kp.pre_handler = on_pre;
	ret = register_kprobe(&kp);
	if (ret == 0) {
		unregister_kprobe(&kp);
		note("    register_kprobe succeeded, expected %s\n",
		     strerrorname_np(-f->err));
		n++;
	} else if (ret != f->err && ret != f->err2) {
		note("    register_kprobe: %s (%s), expected %s\n",
		     strerrorname_np(-ret), kprobe_last_error(),
		     strerrorname_np(-f->err));
		n++;
	}
	CHK(memcmp(before, f->site, sizeof(before)),
	    "    the text changed\n");
	return flush(f, idx, "refused form", n);
}

/* Run one form every way; non-zero if it failed. */
static int check_form(const struct rl_form *f, int i, struct counts *c)
{
	int bad;

	if (f->kind == RL_KIND_REFUSED) {
		c->refused++;
		bad = check_refused(f, i);
		c->failed_forms += bad;
		return bad;
	}
	run(f, &r_ref);
	run(f, &r_ref2);
	if (compare(f, &r_ref, &r_ref2)) {
		/* The corpus's fault, not the library's. */
		c->nondet++;
		return flush(f, i, "NONDETERMINISTIC unprobed runs", 1);
	}
	flush(f, i, "", 0);
	if (f->kind == RL_KIND_FAULT && r_ref.faulted != 1 &&
	    (f->flags & RL_F_MAY_BE_MAPPED)) {
		/* Its address is mapped in this process: nothing to compare
		 * (the non-faulting forms cover the relocation itself). */
		printf("NOTE: form %d: its address is mapped here: skipped\n",
		       i);
		c->skipped++;
		return 0;
	}
	if (f->kind == RL_KIND_FAULT && r_ref.faulted != 1) {
		note("    the unprobed run raised no signal\n");
		c->nondet++;
		return flush(f, i, "corpus: fault form did not fault", 1);
	}
	if (f->kind != RL_KIND_FAULT && r_ref.faulted) {
		note("    the unprobed run: %s\n", r_ref.faulted == 2 ?
		     "timeout" : signame(r_ref.fault.signo));
		c->nondet++;
		return flush(f, i, "corpus: unprobed run faulted", 1);
	}
	bad = probe_run(f, i, PROBE_PRE, c);
	if (bad < 0)
		return 0;	/* a tolerated refusal */
	if (bad == 2) {
		c->unexpected_refusals++;
		c->failed_forms++;
		return 1;
	}
	c->probed++;
	c->ool += f->kind == RL_KIND_OOL;
	c->branch += f->kind == RL_KIND_BRANCH;
	c->fault += f->kind == RL_KIND_FAULT;
	for (int m = PROBE_PRE_POST; m < NR_MODES; m++)
		bad |= probe_run(f, i, m, c) > 0;
	/* Unprobed again: nothing left behind. */
	run(f, &r_probed);
	bad |= flush(f, i, "after unregister_kprobe",
		     compare(f, &r_ref, &r_probed));
	c->failed_forms += bad;
	return bad;
}

int main(int argc, char **argv)
{
	struct counts c = { 0 };
	uint32_t have;
	bool avx_ok, verbose = argc > 1 && !strcmp(argv[1], "-v");
	const char *only = getenv("RL_ONLY");	/* a form number, to debug */

	setvbuf(stdout, NULL, _IOLBF, 0);
	have = cpu_features(&avx_ok);
	if (!avx_ok) {
		printf("SKIP: the harness loads ymm registers: no AVX\n");
		return 77;
	}
	install_handlers();
	low_page = mmap((void *)RL_LOW_ADDR, RL_LOW_SIZE,
			PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			-1, 0);
	if (low_page == MAP_FAILED || low_page != (void *)RL_LOW_ADDR) {
		printf("NOTE: no page at %#x: forms with 32-bit addresses "
		       "skipped\n", RL_LOW_ADDR);
		low_page = NULL;
	}
	make_initial_state();

	for (int i = 0; i < rl_nforms; i++) {
		const struct rl_form *f = &rl_forms[i];

		if (only && atoi(only) != i)
			continue;
		c.forms++;
		if ((f->req & ~have) || ((f->flags & RL_F_LOW) && !low_page)) {
			c.skipped++;
			continue;
		}
		if (verbose)
			printf("form %d [%s] %s\n", i, f->cls, f->name);
		count_class(f->cls, check_form(f, i, &c));
	}

	printf("\nreloc_differential: %d forms; %d probed and compared "
	       "(%d out of line, %d emulated branches, %d faulting); %d refused "
	       "unexpectedly; %d refusals tolerated; %d in the refused group; "
	       "%d skipped (CPU features, or a fault address mapped here)\n",
	       c.forms, c.probed, c.ool,
	       c.branch, c.fault, c.unexpected_refusals, c.tolerated,
	       c.refused, c.skipped);
	printf("reloc_differential: classes:");
	for (int i = 0; i < MAX_CLASSES && classes[i].name; i++) {
		printf(" %s %d", classes[i].name, classes[i].forms);
		if (classes[i].failed)
			printf(" (%d FAIL)", classes[i].failed);
	}
	printf("\nreloc_differential: %d forms FAIL (differ from the unprobed "
	       "run, or refused or accepted wrongly); %d corpus problems\n",
	       c.failed_forms, c.nondet);
	return c.failed_forms || c.nondet ? 1 : 0;
}

#endif
