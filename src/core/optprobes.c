// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Jump optimization: a probe whose handlers need no second trap, and whose
 * instructions allow it, is reached by a jump to a detour instead of a
 * breakpoint, and its handlers run without any signal (the kernel's
 * optprobes; docs/design.md, "Jump optimization").
 *
 * A probe point is first armed with a breakpoint as always. Registration
 * queues it; at the end of the public call (kp_unlock) the queue is
 * optimized in one batch, as the kernel's optimizer does after a delay:
 *
 *   1. analyse (arch_prepare_optimized), build the detour, publish it in
 *      pp->detour: from now on a trap at the address resumes in the
 *      detour's copy of the instructions, never at an instruction boundary
 *      inside the range;
 *   2. wait for a grace period: every trap handler that could still send a
 *      thread into the range has ended;
 *   3. wait until no thread can be inside the range (quiesce(), below);
 *   4. write the jump's tail behind the breakpoint, serialize every thread
 *      (membarrier SYNC_CORE), write the jump's first byte, serialize:
 *      the kernel's text_poke_bp order. A thread sees either the
 *      breakpoint or the whole jump, never half of one.
 *
 * Unoptimizing does the reverse: breakpoint first, serialize, the original
 * tail, serialize. The detour stays with its probe point while the point
 * lives, and is then parked, never reused for other code (slots.c).
 *
 * Everything here holds kprobe_mutex and runs outside handlers; the trap
 * path reads only pp->detour.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "internal.h"
#include "symbols.h"

#define KP_EXPORT __attribute__((visibility("default")))

static bool opt_enabled = true;
static struct probe_point **queue;
static size_t nqueued, queue_size;

/* ---- serializing other threads (the kernel's text_poke_sync) ---- */

static int sync_cmd = -1;	/* the membarrier command, or 0: none */

static int membarrier(int cmd)
{
	return (int)syscall(SYS_membarrier, cmd, 0, 0);
}

/*
 * After a code change, make every thread of the process execute a
 * serializing instruction before it runs another one of ours: then no CPU
 * runs a stale or half-seen copy of the bytes. SYNC_CORE does exactly
 * that; the plain expedited barrier interrupts every running thread of the
 * process, and the return from that interrupt serializes on x86.
 */
static int text_sync(void)
{
	if (sync_cmd < 0) {
		sync_cmd = 0;
		if (!membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
			sync_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE;
		else if (!membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
			sync_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	}
	if (!sync_cmd)
		return -ENOSYS;
	return membarrier(sync_cmd) ? -errno : 0;
}

/* ---- the queue ---- */

static void dequeue(struct probe_point *pp)
{
	for (size_t i = 0; i < nqueued; i++) {
		if (queue[i] != pp)
			continue;
		queue[i] = queue[--nqueued];
		break;
	}
	pp->opt_state = KP_OPT_NONE;
}

static void enqueue(struct probe_point *pp)
{
	if (nqueued == queue_size) {
		size_t n = queue_size ? queue_size * 2 : 64;
		struct probe_point **q = realloc(queue, n * sizeof(*q));

		if (!q)
			return;		/* it stays a breakpoint */
		queue = q;
		queue_size = n;
	}
	queue[nqueued++] = pp;
	pp->opt_state = KP_OPT_QUEUED;
}

static bool may_optimize(const struct probe_point *pp)
{
	return opt_enabled && pp->armed && pp->nr_enabled && !pp->has_post &&
	       !pp->opt_refused;
}

/* ---- where a thread must not be when the jump is written ---- */

struct range {
	uintptr_t lo, hi;	/* [lo, hi) */
};

static bool pc_unsafe(uintptr_t pc, const struct range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pc >= r[i].lo && pc < r[i].hi)
			return true;
	return false;
}

/* A thread's state from /proc: 0 running, 1 blocked at *pc, -1 gone. */
static int thread_pc(const char *tid, uintptr_t *pc)
{
	char path[64], buf[256], *last;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!strncmp(buf, "running", 7))
		return 0;
	/* "nr args... sp pc" in a system call, "-1 sp pc" in a fault. */
	last = strrchr(buf, ' ');
	if (!last)
		return 0;
	*pc = strtoul(last + 1, NULL, 16);
	return 1;
}

/* The thread's time on a CPU in ns, or 0 if it is gone. */
static unsigned long long thread_runtime(const char *tid)
{
	char path[64], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* Integers only: floating point here would set the caller's MXCSR
 * exception flags, which a program may test (fetestexcept). */
static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

#define QUIESCE_MIN_US	1000
#define QUIESCE_MAX_US	250000

/*
 * The kernel waits for an RCU-tasks grace period here: every task has
 * scheduled voluntarily, so none is preempted at an instruction boundary
 * inside a range. A process cannot see its threads' registers without
 * stopping them, but /proc says enough:
 *  - a thread blocked in a system call or a fault shows its user pc: it
 *    must not be inside a range (nor in a slot that jumps back into one);
 *  - a running thread must have run for a while since the breakpoints and
 *    detours were in place: the ranges are straight-line code without
 *    calls, so it left them within a few instructions.
 * Threads created after step 1 never saw the ranges. What this cannot see
 * is a signal handler's saved context inside a range (docs/design.md).
 * Return 0, or -EBUSY if some thread did not show either in time.
 */
static int quiesce(const struct range *r, size_t nr)
{
	struct waiting {
		char tid[24];
		unsigned long long runtime;
	} *w = NULL;
	size_t nw = 0, cap = 0;
	char self[16];
	struct dirent *de;
	long long start = now_us();
	DIR *dir;
	int ret = 0;

	snprintf(self, sizeof(self), "%ld", (long)syscall(SYS_gettid));
	dir = opendir("/proc/self/task");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		uintptr_t pc;
		int st;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, self))
			continue;
		st = thread_pc(de->d_name, &pc);
		if (st < 0)
			continue;
		if (st == 1) {
			if (pc_unsafe(pc, r, nr))
				ret = -EBUSY;
			continue;
		}
		if (nw == cap) {
			struct waiting *n2;

			cap = cap ? cap * 2 : 16;
			n2 = realloc(w, cap * sizeof(*w));
			if (!n2) {
				ret = -ENOMEM;
				break;
			}
			w = n2;
		}
		snprintf(w[nw].tid, sizeof(w[nw].tid), "%.20s", de->d_name);
		w[nw].runtime = thread_runtime(de->d_name);
		nw++;
	}
	closedir(dir);

	while (!ret && nw) {
		struct timespec nap = { 0, 200000 };
		long long t = now_us() - start;

		if (t > QUIESCE_MAX_US) {
			ret = -EBUSY;
			break;
		}
		nanosleep(&nap, NULL);
		for (size_t i = 0; i < nw;) {
			unsigned long long rt;
			uintptr_t pc;
			int st = thread_pc(w[i].tid, &pc);
			bool done = st < 0;

			if (st == 1) {
				if (pc_unsafe(pc, r, nr))
					ret = -EBUSY;
				done = true;
			} else if (st == 0 && t >= QUIESCE_MIN_US) {
				rt = thread_runtime(w[i].tid);
				done = !rt || rt != w[i].runtime;
			}
			if (done)
				w[i] = w[--nw];
			else
				i++;
		}
	}
	free(w);
	return ret;
}

/* ---- analysis ---- */

/* The C++ exception tables of @pc's function: libgcc's FDE lookup. */
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *b);

/*
 * Does @pc's function have a language-specific data area (landing pads
 * for C++ exceptions or cleanups)? A landing pad is entered by the
 * unwinder, not by a branch the scan could see: one inside a range would
 * land in the jump's rel32. Rather than read the call-site table, such
 * functions are not optimized.
 */
static bool has_lsda(uintptr_t pc)
{
	struct dwarf_eh_bases bases;
	const uint8_t *fde = _Unwind_Find_FDE((void *)pc, &bases), *cie;
	int32_t delta;

	if (!fde)
		return false;
	memcpy(&delta, fde + 4, sizeof(delta));
	cie = fde + 4 - delta;
	/* length, id, version, then the augmentation string. */
	return strchr((const char *)cie + 9, 'L') != NULL;
}

/*
 * Is pp a kretprobe's, at its function's first instruction? Then its
 * detour may dispatch (arch_prepare_detour()): a return probe's entry can
 * call the function from its return stub (docs/design.md, "Return
 * probes").
 */
static bool wants_dispatch(const struct probe_point *pp)
{
	if (!ARCH_RET_CALLIN || pp->addr != pp->func_addr)
		return false;
	for (const struct kprobe_node *n = pp->probes; n; n = n->next)
		if (kp_is_kretprobe(n->kp))
			return true;
	return false;
}

/* Step 1 for one probe point: can it be optimized, and its detour. */
static int prepare(struct probe_point *pp, const char **why)
{
	bool dispatch = wants_dispatch(pp);
	uint8_t code[ARCH_SLOT_SIZE];
	struct kp_mapping m;
	struct kp_slot *d;
	uint8_t *func;
	int ret;

	if (pp->opt_slot) {
		kp_rcu_assign(pp->detour, pp->opt_slot);
		return 0;
	}
	if (!pp->func_size) {
		*why = "the function's size is unknown";
		return -EOPNOTSUPP;
	}
	if (kp_find_mapping(pp->func_addr, &m) ||
	    pp->func_addr + pp->func_size > m.end) {
		*why = "the function is not in one mapping";
		return -EOPNOTSUPP;
	}
	if (has_lsda(pp->addr)) {
		*why = "the function has exception landing pads";
		return -EOPNOTSUPP;
	}
	func = malloc(pp->func_size);
	if (!func)
		return -ENOMEM;
	kp_read_text(pp->func_addr, func, pp->func_size);
	ret = arch_prepare_optimized(pp, func, pp->func_size, pp->func_addr,
				     why);
	free(func);
	if (ret)
		return ret;

	d = kp_parked_slot_find(pp->addr, KP_SLOT_DETOUR);
	if (d) {
		/*
		 * Built aside, with the parked slot's address in the code: a
		 * thread may still be in that detour, reading its copies and
		 * dispatch_off, which must not change unless it is taken
		 * (and then the same code means the same fields).
		 */
		struct kp_slot aside = { .addr = d->addr };

		memset(code, 0, sizeof(code));
		if (!arch_prepare_detour(pp, &aside, code, dispatch)) {
			memcpy(code + ARCH_DETOUR_SELF, &d, sizeof(d));
			if (!memcmp(code, (const void *)d->addr, sizeof(code)))
				d->state = KP_SLOT_USED;
			else
				d = NULL;
		} else {
			d = NULL;
		}
	}
	if (!d) {
		d = kp_slot_alloc(pp->addr, ARCH_SLOT_REACH);
		if (!d) {
			*why = "no slot within reach for the detour";
			return -ENOMEM;
		}
		memset(code, 0, sizeof(code));
		if (arch_prepare_detour(pp, d, code, dispatch)) {
			kp_slot_free(d);
			*why = "an operand is out of the detour's reach";
			return -ERANGE;
		}
		kp_slot_write(d, code, sizeof(code));
	}
	kp_rcu_assign(d->owner, pp);
	kp_rcu_assign(d->kret, kp_kretprobe_direct_of(pp));
	pp->opt_slot = d;
	kp_rcu_assign(pp->detour, d);
	return 0;
}

/* A probe point inside (addr, addr + len) would be jumped over. */
static bool range_has_probe(const struct probe_point *pp)
{
	for (size_t i = 1; i < arch_opt_len(pp); i++)
		if (kp_table_lookup(pp->addr + i))
			return true;
	return false;
}

/* Is the code at pp still ours to rewrite (not unloaded and replaced)? */
static bool text_is(const struct probe_point *pp, const uint8_t *bytes,
		    size_t len)
{
	struct kp_mapping m;

	return !kp_find_mapping(pp->addr, &m) && (m.prot & PROT_EXEC) &&
	       pp->addr + len <= m.end &&
	       !memcmp((const void *)pp->addr, bytes, len);
}

/* ---- the light path: handlers that need no vector state saved ---- */

#define LIGHT_MAX_FUNCS	32
#define LIGHT_MAX_BYTES	65536

/* Answers already given in this public call (a batch of 10,000 probes
 * often shares one handler). Forgotten at kp_unlock(): once the lock is
 * dropped, the code at an address may be unloaded and replaced. */
static struct {
	uintptr_t fn;
	bool light;
} light_memo[8];
static unsigned int light_memo_n, light_memo_next;

/* Is @fn, and everything it calls, code that leaves the vector, x87 and
 * MXCSR state alone (arch_code_gpr_only())? Each function reached must be
 * a symbol of known size, decoded whole; a call through the PLT or a
 * pointer, or a graph of more than LIGHT_MAX_FUNCS functions, is a no. */
static bool scan_light(uintptr_t fn)
{
	uintptr_t todo[LIGHT_MAX_FUNCS], seen[LIGHT_MAX_FUNCS];
	size_t ntodo = 0, nseen = 0;
	struct kp_symbol sym0;
	bool ok = true;

	if (kp_sym_find_addr(fn, &sym0) || sym0.addr != fn)
		return false;		/* a handler is a function's start */
	todo[ntodo++] = fn;
	while (ntodo && ok) {
		uintptr_t f = todo[--ntodo], callees[LIGHT_MAX_FUNCS];
		struct kp_symbol sym;
		size_t n = 0;
		uint8_t *code;
		bool known = false;

		/* A jump may land inside a function (GCC's .cold parts):
		 * the whole function is what is decoded. */
		if (kp_sym_find_addr(f, &sym) || !sym.size ||
		    sym.size > LIGHT_MAX_BYTES)
			return false;
		f = sym.addr;
		for (size_t i = 0; i < nseen; i++)
			known |= seen[i] == f;
		if (known)
			continue;
		if (nseen == LIGHT_MAX_FUNCS)
			return false;
		seen[nseen++] = f;
		code = malloc(sym.size);
		if (!code)
			return false;
		kp_read_text(f, code, sym.size);
		ok = arch_code_gpr_only(code, sym.size, f, callees,
					LIGHT_MAX_FUNCS, &n);
		free(code);
		for (size_t i = 0; ok && i < n; i++) {
			if (!callees[i] || ntodo == LIGHT_MAX_FUNCS)
				ok = false;	/* indirect, or too many */
			else
				todo[ntodo++] = callees[i];
		}
	}
	return ok;
}

bool kp_opt_handler_light(uintptr_t handler)
{
	bool light;

	kp_assert_locked();
#ifdef KP_SANITIZED
	return false;	/* see meson.build */
#endif
	for (unsigned int i = 0; i < light_memo_n; i++)
		if (light_memo[i].fn == handler)
			return light_memo[i].light;
	light = scan_light(handler);
	light_memo[light_memo_next].fn = handler;
	light_memo[light_memo_next].light = light;
	light_memo_next = (light_memo_next + 1) % 8;
	if (light_memo_n < 8)
		light_memo_n++;
	return light;
}

/* ---- optimizing and unoptimizing ---- */

void kp_opt_run(void)
{
	struct range *r = NULL;
	struct probe_point **batch = NULL;
	size_t n = 0, nr = 0;
	uint8_t jmp[ARCH_OPT_JMP_LEN];

	light_memo_n = 0;
	if (!nqueued)
		return;
	kp_assert_locked();
	kp_self_enter();
	batch = malloc(nqueued * sizeof(*batch));
	r = malloc(nqueued * 3 * sizeof(*r));
	if (!batch || !r)
		goto out;

	/* 1: analyse and publish the detours. */
	while (nqueued) {
		struct probe_point *pp = queue[--nqueued];
		const char *why = NULL;

		pp->opt_state = KP_OPT_NONE;
		if (!may_optimize(pp) || !arch_is_breakpoint(pp->addr))
			continue;
		if (prepare(pp, &why)) {
			pp->opt_refused = true;
			pp->opt_why = why;
			continue;
		}
		if (range_has_probe(pp)) {
			kp_rcu_assign(pp->detour, NULL);
			continue;
		}
		batch[n++] = pp;
		r[nr++] = (struct range){ pp->addr + 1,
					  pp->addr + arch_opt_len(pp) };
		/* Threads in these jump back into the range. */
		if (pp->slot)
			r[nr++] = (struct range){ pp->slot->addr,
				pp->slot->addr + ARCH_SLOT_SIZE };
		if (pp->boost)
			r[nr++] = (struct range){ pp->boost->addr,
				pp->boost->addr + ARCH_SLOT_SIZE };
	}
	if (!n)
		goto out;

	/* 2, 3: no trap handler and no thread can still be inside. */
	kp_synchronize();
	if (quiesce(r, nr) || text_sync()) {
		/* Try again at the next call; they work as breakpoints. */
		for (size_t i = 0; i < n; i++) {
			kp_rcu_assign(batch[i]->detour, NULL);
			enqueue(batch[i]);
		}
		goto out;
	}

	/* 4: the tail behind the breakpoint, then the first byte. */
	for (size_t i = 0; i < n; i++) {
		arch_opt_jump(batch[i], batch[i]->detour, jmp);
		kp_text_poke(batch[i]->addr + ARCH_BP_LEN, jmp + ARCH_BP_LEN,
			     sizeof(jmp) - ARCH_BP_LEN);
	}
	text_sync();
	for (size_t i = 0; i < n; i++) {
		arch_opt_jump(batch[i], batch[i]->detour, jmp);
		kp_text_poke(batch[i]->addr, jmp, ARCH_BP_LEN);
		batch[i]->opt_state = KP_OPT_DONE;
	}
	text_sync();
out:
	free(batch);
	free(r);
	kp_self_exit();
}

/* Put the breakpoint back in place of pp's jump (the reverse of step 4). */
static void unoptimize(struct probe_point *pp)
{
	uint8_t jmp[ARCH_OPT_JMP_LEN];

	pp->opt_state = KP_OPT_NONE;
	arch_opt_jump(pp, pp->opt_slot, jmp);
	/* Unloaded and replaced: not ours to write any more. */
	if (text_is(pp, jmp, sizeof(jmp))) {
		kp_text_poke(pp->addr, arch_bp_insn, ARCH_BP_LEN);
		text_sync();
		kp_text_poke(pp->addr + ARCH_BP_LEN,
			     arch_opt_bytes(pp) + ARCH_BP_LEN,
			     sizeof(jmp) - ARCH_BP_LEN);
		text_sync();
	}
	/* No thread can be inside the range now: traps may resume at the
	 * instruction after the probed one again. */
	kp_rcu_assign(pp->detour, NULL);
}

void kp_opt_update(struct probe_point *pp)
{
	kp_assert_locked();
	if (may_optimize(pp)) {
		if (pp->opt_state == KP_OPT_NONE)
			enqueue(pp);
		return;
	}
	kp_opt_remove(pp);
}

/* pp's code is gone (unloaded): forget its jump without writing. */
void kp_opt_forget(struct probe_point *pp)
{
	kp_assert_locked();
	if (pp->opt_state == KP_OPT_QUEUED)
		dequeue(pp);
	pp->opt_state = KP_OPT_NONE;
	kp_rcu_assign(pp->detour, NULL);
}

void kp_opt_remove(struct probe_point *pp)
{
	kp_assert_locked();
	if (pp->opt_state == KP_OPT_QUEUED)
		dequeue(pp);
	else if (pp->opt_state == KP_OPT_DONE)
		unoptimize(pp);
}

/* After a grace period, pp going away: park its detour. */
void kp_opt_release(struct probe_point *pp)
{
	if (pp->opt_slot)
		kp_slot_park(pp->opt_slot);
}

/* A new probe point at @addr: a jump over it must go. */
void kp_opt_make_room(uintptr_t addr)
{
	for (size_t back = 1; back < ARCH_OPT_MAX; back++) {
		struct probe_point *pp = kp_table_lookup(addr - back);

		if (pp && pp->opt_state == KP_OPT_DONE &&
		    back < arch_opt_len(pp))
			unoptimize(pp);
	}
}

/* Original bytes under our jumps in [addr, addr + len) (kp_read_text). */
void kp_opt_recover(uintptr_t addr, uint8_t *buf, size_t len)
{
	for (uintptr_t a = addr > ARCH_OPT_JMP_LEN ? addr - ARCH_OPT_JMP_LEN + 1
						   : 0;
	     a < addr + len; a++) {
		struct probe_point *pp;

		if (a >= addr && buf[a - addr] != ARCH_OPT_FIRST_BYTE)
			continue;
		pp = kp_table_lookup(a);
		if (!pp || pp->opt_state != KP_OPT_DONE)
			continue;
		for (size_t i = 0; i < ARCH_OPT_JMP_LEN; i++)
			if (a + i >= addr && a + i < addr + len)
				buf[a + i - addr] = arch_opt_bytes(pp)[i];
	}
}

/* ---- the switch (the kernel's debug.kprobes-optimization) ---- */

void kp_opt_init(void)
{
	const char *env = getenv("LIBKPROBE_OPTIMIZE");

	if (env && !strcmp(env, "0"))
		opt_enabled = false;
}

KP_EXPORT int kprobe_optimization(int enable)
{
	struct probe_point *pp;
	int i, was, ret;

	kp_clear_error();
	if (enable != 0 && enable != 1 && enable != -1)
		return kp_error(-EINVAL, "kprobe_optimization(%d): 0, 1 or -1",
				enable);
	kp_lock();
	ret = kp_init();
	was = opt_enabled;
	if (!ret && enable >= 0 && enable != was) {
		opt_enabled = enable;
		kp_table_for_each(pp, i)
			kp_opt_update(pp);
	}
	kp_unlock();
	return ret ? ret : was;
}

KP_EXPORT bool kprobe_optimized(const struct kprobe *p)
{
	const struct kprobe_node *node;
	bool ret = false;

	kp_lock();
	if (p && kp_is_registered(p)) {
		node = p->priv;
		ret = node->pp->opt_state == KP_OPT_DONE;
	}
	kp_unlock();
	return ret;
}
