// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkprobe-preload.so: trace an unmodified program (docs/tracing.md).
 *
 *   KPROBE_TRACE_EVENTS="p:open libc:open \$arg1:string;r libc:open \$retval:s32" \
 *   KPROBE_TRACE_OUTPUT=trace.txt LD_PRELOAD=libkprobe-preload.so PROG
 *
 * At load: the definitions (KPROBE_TRACE_EVENTS, separated by ';' or new
 * lines, and the lines of the file KPROBE_TRACE_FILE) are parsed and
 * registered, and a flusher thread starts. At each hit a handler fetches
 * the arguments into the thread's ring (evbuf.c): no lock, no allocation,
 * signal context allowed. The flusher formats the records (text or JSON
 * lines, KPROBE_TRACE_FORMAT) into KPROBE_TRACE_OUTPUT every few
 * milliseconds and at exit, where it also writes how many were dropped.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <kprobes.h>

#include "evbuf.h"
#include "internal.h"
#include "probe_def.h"
#include "symbols.h"

#define MAX_PROBES	256
#define STR_MAX		128	/* bytes of a string argument kept */
#define NRINGS		256
#define RING_SIZE	(4u << 20)	/* per thread; touched as it fills */

struct tprobe {
	struct kp_probe_def def;
	int id;
	struct kprobe kp;
	struct kretprobe rp;
	char spec[512];		/* "obj:sym" for symbol_name */
	bool registered;
	bool pending;		/* its object is not loaded (yet) */
	struct tstats *stats;	/* --stats */
	char ph;		/* chrome: 'B'/'E' (an entry/return pair), 'i' */
	/* The text format's fixed part after the timestamp, made once:
	 * "event: (" and, for an entry probe on a symbol, "sym+0xoff)". */
	char head[160];
	uint8_t head_len;
	bool head_where;	/* head holds the "where" part too */
};

/*
 * --stats: per probe, how many hits, and for a return probe how long the
 * calls took, in a log-linear histogram: 8 buckets per power of two of
 * nanoseconds, so a percentile is known to 1/8 of its value.
 */
#define HIST_SUB	8
#define HIST_BUCKETS	(64 * HIST_SUB)

struct tstats {
	atomic_ulong hits;
	atomic_ulong max_ns;
	atomic_ulong hist[HIST_BUCKETS];
};

/*
 * The same counts per thread: the first STAT_BLOCKS threads to hit a probe
 * each claim a block, one struct tstats_own per probe, that only they
 * write (kp_own_inc(): no locked instruction; three locked adds on shared
 * lines cost about as much as the rest of a --stats hit). Later threads
 * count in the shared struct tstats. The flusher folds the block of a
 * thread that exited into the shared counts and frees it; the table sums
 * the shared counts and every block.
 */
#define STAT_BLOCKS	64

struct tstats_own {
	uint64_t hits;
	uint64_t max_ns;
	uint64_t hist[HIST_BUCKETS];
};

static struct {
	atomic_int owner;		/* tid, 0 when free */
	struct tstats_own *s;		/* one per probe */
} stat_blocks[STAT_BLOCKS];
static __thread struct tstats_own *my_stats
	__attribute__((tls_model("initial-exec")));
/* Every block was taken when this thread looked: the shared counts. */
static __thread bool my_stats_none
	__attribute__((tls_model("initial-exec")));

/* One record: these, the values, then the strings. */
struct ev {
	uint64_t ts;
	uint32_t id;
	int32_t cpu;
	uint64_t ip;
	uint64_t faults[(KP_DEF_MAX_ARGS + 63) / 64];	/* bit i: arg i */
	uint64_t vals[];
};

/* A string value: its offset in the record and its length. */
#define STR_VAL(off, len)	((uint64_t)(off) << 32 | (uint32_t)(len))

static struct tprobe probes[MAX_PROBES];
static int nprobes;
static int out_fd = -1;
static bool json;		/* JSON values: the json and chrome formats */
static bool chrome;		/* Chrome trace events (Perfetto opens them) */
static bool stats;		/* count and time, write no event */
static pthread_t flusher;
static atomic_bool stopping, flusher_running;
/* _exit()/_Exit(): the flusher's last drain and summary, asked and done
 * (see leaving()). */
static atomic_bool final_asked, final_done;
/* exit(): preload_fini() has written the end of the trace. */
static atomic_bool fini_done;
/* exec*(): checkpoints asked and written (see before_exec()). */
static atomic_uint exec_req, exec_ack;
/* Bumped to wake the flusher before its 5 ms are up (a futex). */
static atomic_uint flusher_wake;

static void wake_flusher(void)
{
	atomic_fetch_add(&flusher_wake, 1);
	syscall(SYS_futex, &flusher_wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
		0);
}

/* Wait until @done(@arg), at most 2 s: whatever a thread waits for at
 * the end of the trace may never come (the program's state is what it
 * is), and the program must not hang on its trace. Async-signal-safe. */
static void wait_until(bool (*done)(unsigned int), unsigned int arg)
{
	struct timespec ms = { 0, 1000 * 1000 };

	for (int i = 0; i < 2000 && !done(arg); i++)
		nanosleep(&ms, NULL);
}
/* The process these rings are this one's in (a vfork() child shares them
 * and must not touch them). */
static pid_t traced_pid;
static unsigned long nevents;
/* The calling thread is the tracer's own (the flusher, or the setup): its
 * calls are not the program's and are not recorded. */
static __thread bool in_flusher __attribute__((tls_model("initial-exec")));

/*
 * Time: at a hit, the TSC (one instruction, general registers only, so
 * that a handler can take the light path); nanoseconds only when the
 * flusher writes. The ratio is the run's own: TSC and clock read together
 * at start, and again at each conversion, which the flusher makes only
 * after its first sleep (at exit, a run shorter than 1 ms waits out the
 * rest of that millisecond). Nothing is spent at start. Without an
 * invariant TSC, the clock at the hit instead.
 */
static bool use_tsc;
static uint64_t tsc0, ns0;

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

ARCH_GPR_ONLY static inline uint64_t tick(void)
{
	struct timespec ts;
#if defined(__x86_64__)
	uint32_t lo, hi;

	if (__builtin_expect(use_tsc, 1)) {
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		return (uint64_t)hi << 32 | lo;
	}
#endif
	/* The system call, not libc's clock_gettime() (the light path). */
	arch_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ns_per_tick = 1.0;

static void calibrate(void)
{
#if defined(__x86_64__)
	unsigned int a, b, c, d;

	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			: "a"(0x80000007u), "c"(0));
	if (!(d & (1u << 8)))
		return;			/* no invariant TSC */
	use_tsc = true;
	ns0 = clock_ns();
	tsc0 = tick();
#endif
}

/* The flusher's, before it converts: the ratio over the run so far. */
static void refine(void)
{
	uint64_t n = clock_ns(), t;

	if (!use_tsc)
		return;
	while (n - ns0 < 1000000)	/* too short to measure */
		n = clock_ns();
	t = tick();
	if (t > tsc0)
		ns_per_tick = (double)(n - ns0) / (double)(t - tsc0);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return use_tsc ? (uint64_t)((double)ticks * ns_per_tick) : ticks;
}

static uint64_t stamp_ns(uint64_t t)
{
	return use_tsc ? ns0 + ticks_to_ns(t - tsc0) : t;
}

/* The CPU the thread runs on, from glibc's rseq area (-1 without). */
ARCH_GPR_ONLY static inline int32_t this_cpu(void)
{
	return *(const int32_t *)((const char *)arch_thread_pointer() +
				  __rseq_offset +
				  offsetof(struct rseq, cpu_id));
}

/* ---- at a hit (async-signal-safe) ---- */

ARCH_GPR_ONLY static size_t type_size(enum kp_fetch_type t)
{
	switch (t) {
	case KP_TYPE_U8: case KP_TYPE_S8: case KP_TYPE_X8: return 1;
	case KP_TYPE_U16: case KP_TYPE_S16: case KP_TYPE_X16: return 2;
	case KP_TYPE_U32: case KP_TYPE_S32: case KP_TYPE_X32: return 4;
	default: return 8;
	}
}

/* The value of @f; memory is read @size bytes wide. */
ARCH_GPR_ONLY static int fetch(const struct kp_fetch *f,
			     const struct pt_regs *regs, size_t size,
			     uint64_t *v)
{
	uint64_t base = 0;

	*v = 0;
	switch (f->kind) {
	case KP_FETCH_REG:
		*v = *(const unsigned long *)((const char *)regs + f->offset);
		return 0;
	case KP_FETCH_STACK:
		*v = user_stack_pointer(regs);
		return 0;
	case KP_FETCH_ARG:
		*v = regs_get_argument(regs, (unsigned int)f->n - 1);
		return 0;
	case KP_FETCH_RETVAL:
		*v = regs_return_value(regs);
		return 0;
	case KP_FETCH_COMM:
		return 0;
	case KP_FETCH_STACK_N:
		base = user_stack_pointer(regs) + 8 * f->n;
		break;
	case KP_FETCH_ADDR:
	case KP_FETCH_SYM:	/* resolved into n at registration */
		base = f->n + (uint64_t)f->offset;
		break;
	case KP_FETCH_DEREF:
		if (fetch(f->inner, regs, 8, &base))
			return -EFAULT;
		base += (uint64_t)f->offset;
		break;
	}
	return copy_from_user_nofault(v, (const void *)base, size) ? -EFAULT
								   : 0;
}

/*
 * Every function from the handlers down is ARCH_GPR_ONLY and calls no
 * libc: then libkprobe finds them light (docs/design.md) and an optimized
 * hit saves no vector state.
 */
ARCH_GPR_ONLY static void record(const struct tprobe *t, struct pt_regs *regs,
				 uintptr_t ip)
{
	const struct kp_probe_def *d = &t->def;
	size_t strings = 0, len;
	struct ev *e;
	char *s;

	if (in_flusher)
		return;		/* our own write()s are not the program's */
	for (int i = 0; i < d->nargs; i++)
		if (d->args[i].type == KP_TYPE_STRING)
			strings += STR_MAX;
	len = sizeof(*e) + d->nargs * sizeof(uint64_t) + strings;
	e = kp_ev_reserve(len);
	if (!e)
		return;
	e->ts = tick();
	e->id = (uint32_t)t->id;
	e->cpu = this_cpu();
	e->ip = ip;
	for (size_t k = 0; k < sizeof(e->faults) / sizeof(*e->faults); k++)
		e->faults[k] = 0;
	s = (char *)&e->vals[d->nargs];
	for (int i = 0; i < d->nargs; i++) {
		const struct kp_def_arg *a = &d->args[i];
		uint64_t v;

		if (a->type != KP_TYPE_STRING) {
			if (fetch(a->fetch, regs, type_size(a->type), &v))
				e->faults[i / 64] |= 1ull << (i % 64);
			e->vals[i] = v;
			continue;
		}
		if (a->fetch->kind == KP_FETCH_COMM) {
			const char *comm = kp_ev_comm();
			size_t n = 0;

			while (n < 15 && comm[n]) {
				s[n] = comm[n];
				n++;
			}
			e->vals[i] = STR_VAL(s - (char *)e, n);
		} else {
			long n = -EFAULT;

			if (!fetch(a->fetch, regs, 8, &v))
				n = strncpy_from_user_nofault(s, (void *)v,
							      STR_MAX);
			if (n < 0)
				e->faults[i / 64] |= 1ull << (i % 64);
			e->vals[i] = STR_VAL(s - (char *)e, n < 0 ? 0 : n);
		}
		s += STR_MAX;
	}
	kp_ev_commit(e);
}

ARCH_GPR_ONLY static unsigned int hist_bucket(uint64_t ns)
{
	unsigned int msb;

	if (ns < HIST_SUB)
		return (unsigned int)ns;
	msb = 63u - (unsigned int)__builtin_clzll(ns);
	return (msb - 2) * HIST_SUB +
	       (unsigned int)((ns >> (msb - 3)) & (HIST_SUB - 1));
}

/* The largest duration in bucket @b. */
static uint64_t hist_upper(unsigned int b)
{
	unsigned int msb = b / HIST_SUB + 2, sub = b % HIST_SUB;

	if (b < HIST_SUB)
		return b;
	return ((uint64_t)(HIST_SUB + sub + 1) << (msb - 3)) - 1;
}

/* The calling thread's block, claimed at its first hit; NULL when there
 * is none left. Async-signal-safe: a signal handler that claims between
 * our compare-and-swap and the store below leaves one block unused, its
 * counts still summed. */
ARCH_GPR_ONLY static struct tstats_own *own_stats(void)
{
	int tid;

	if (my_stats || my_stats_none)
		return my_stats;
	tid = kp_gettid();
	for (unsigned int i = 0; i < STAT_BLOCKS; i++) {
		int expected = 0;

		if (atomic_load_explicit(&stat_blocks[i].owner,
					 memory_order_relaxed) ||
		    !atomic_compare_exchange_strong(&stat_blocks[i].owner,
						    &expected, tid))
			continue;
		my_stats = stat_blocks[i].s;
		return my_stats;
	}
	my_stats_none = true;
	return NULL;
}

/* st->max_ns = max(st->max_ns, @ns), with any thread writing. */
ARCH_GPR_ONLY static void shared_max(struct tstats *st, uint64_t ns)
{
	unsigned long max = atomic_load_explicit(&st->max_ns,
						 memory_order_relaxed);

	while (ns > max && !atomic_compare_exchange_weak(&st->max_ns, &max,
							 ns))
		;
}

ARCH_GPR_ONLY static void stats_hit(const struct tprobe *t, uint64_t ns,
				   bool timed)
{
	struct tstats_own *own = own_stats();
	struct tstats *st = t->stats;

	if (own) {
		own += t->id;
		kp_own_inc(&own->hits);
		if (timed) {
			kp_own_inc(&own->hist[hist_bucket(ns)]);
			kp_own_max(&own->max_ns, ns);
		}
		return;
	}
	atomic_fetch_add_explicit(&st->hits, 1, memory_order_relaxed);
	if (!timed)
		return;
	atomic_fetch_add_explicit(&st->hist[hist_bucket(ns)], 1,
				  memory_order_relaxed);
	shared_max(st, ns);
}

ARCH_GPR_ONLY static int on_entry(struct kprobe *p, struct pt_regs *regs)
{
	const struct tprobe *t = (const struct tprobe *)
		((char *)p - offsetof(struct tprobe, kp));

	if (stats) {
		if (!in_flusher)
			stats_hit(t, 0, false);
		return 0;
	}
	record(t, regs, instruction_pointer(regs));
	return 0;
}

/* --stats: when the call began, for its return handler. */
ARCH_GPR_ONLY static int on_call(struct kretprobe_instance *ri,
				 struct pt_regs *regs)
{
	*(uint64_t *)ri->data = tick();
	return 0;
}

ARCH_GPR_ONLY static int on_return(struct kretprobe_instance *ri,
				   struct pt_regs *regs)
{
	const struct tprobe *t = (const struct tprobe *)
		((char *)get_kretprobe(ri) - offsetof(struct tprobe, rp));

	if (stats) {
		if (!in_flusher)
			stats_hit(t, tick() - *(uint64_t *)ri->data,
				  true);
		return 0;
	}
	record(t, regs, (uintptr_t)ri->ret_addr);
	return 0;
}

/* ---- the flusher ---- */

struct outbuf {
	char data[65536];
	size_t len;
};

static void flush_out(struct outbuf *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t n = write(out_fd, o->data + done, o->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	o->len = 0;
}

static void put(struct outbuf *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len > sizeof(o->data) - 1024)
		flush_out(o);
	va_start(ap, fmt);
	n = vsnprintf(o->data + o->len, sizeof(o->data) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < sizeof(o->data) - o->len ?
			  (size_t)n : sizeof(o->data) - o->len - 1;
}

/*
 * The text format's hot path, without printf: a busy program makes
 * millions of events a second, and the flusher must keep up.
 */
static inline void put_raw(struct outbuf *o, const char *p, size_t n)
{
	if (__builtin_expect(o->len + n > sizeof(o->data) - 64, 0)) {
		flush_out(o);
		if (n > sizeof(o->data) - 64)
			n = sizeof(o->data) - 64;
	}
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

/* "00".."99", for two digits at a time. */
static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930"
	"31323334353637383940414243444546474849505152535455565758596061"
	"62636465666768697071727374757677787980818283848586878889909192"
	"939495969798990";

/* @v in decimal at @p, at least @width wide (padded with @pad); returns
 * the end. */
static char *dec_fixed(char *p, uint64_t v, int width, char pad)
{
	char buf[24], *q = buf + sizeof(buf);
	int n;

	while (v >= 100) {
		q -= 2;
		memcpy(q, &digits2[(v % 100) * 2], 2);
		v /= 100;
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, &digits2[v * 2], 2);
	} else {
		*--q = (char)('0' + v);
	}
	n = (int)(buf + sizeof(buf) - q);
	for (; n < width; n++)
		*p++ = pad;
	memcpy(p, q, (size_t)(buf + sizeof(buf) - q));
	return p + (buf + sizeof(buf) - q);
}

/*
 * "%16.16s-%-7d " for a thread, made once per thread: the flusher writes
 * the same few threads over and over.
 */
static struct {
	int tid;
	uint8_t len;
	char comm[16];
	char text[40];
} task_cache[64];

static char *put_task(char *p, const char *comm, int tid)
{
	unsigned int h = (unsigned int)tid % 64;

	if (task_cache[h].tid != tid || !task_cache[h].len ||
	    strncmp(task_cache[h].comm, comm, 16)) {
		char *q = task_cache[h].text;
		size_t cl = strnlen(comm, 16);

		memset(q, ' ', 16 - cl);
		q += 16 - cl;
		memcpy(q, comm, cl);
		q += cl;
		*q++ = '-';
		q = dec_fixed(q, (uint64_t)tid, 0, ' ');
		while (q < task_cache[h].text + 16 + 1 + 7)
			*q++ = ' ';
		*q++ = ' ';
		task_cache[h].len = (uint8_t)(q - task_cache[h].text);
		task_cache[h].tid = tid;
		strncpy(task_cache[h].comm, comm, 16);
	}
	memcpy(p, task_cache[h].text, task_cache[h].len);
	return p + task_cache[h].len;
}

/* @v in decimal, at least @width digits wide (padded with @pad), up to
 * 24 characters. */
static void put_dec(struct outbuf *o, uint64_t v, int width, char pad)
{
	char buf[24], *end = buf + sizeof(buf), *p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (p > buf && end - p < width)
		*--p = pad;
	put_raw(o, p, (size_t)(end - p));
}

static void put_sdec(struct outbuf *o, int64_t v)
{
	if (v < 0) {
		put_raw(o, "-", 1);
		put_dec(o, (uint64_t)0 - (uint64_t)v, 0, ' ');
	} else {
		put_dec(o, (uint64_t)v, 0, ' ');
	}
}

static void put_hex(struct outbuf *o, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[18];
	int n = 0;

	do {
		buf[sizeof(buf) - 1 - n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	buf[sizeof(buf) - 1 - n++] = 'x';
	buf[sizeof(buf) - 1 - n++] = '0';
	put_raw(o, buf + sizeof(buf) - n, (size_t)n);
}

static void put_cstr(struct outbuf *o, const char *s)
{
	put_raw(o, s, strlen(s));
}

/* A string, escaped for the output (JSON's rules serve both). */
static void put_string(struct outbuf *o, const char *s, size_t n)
{
	put(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			put(o, "\\u%04x", ch);
		else
			put(o, "%c", ch);
	}
	put(o, "\"");
}

/* The flusher's: dladdr() on every return event would be most of its
 * time, and a hot function returns to few places. */
static struct {
	uint64_t addr;
	char text[120];
} sym_cache[256];

static void put_symbol(struct outbuf *o, uint64_t v)
{
	unsigned int h = (unsigned int)((v * 0x9e3779b97f4a7c15ull) >> 56);
	Dl_info info;

	if (sym_cache[h].addr != v || !sym_cache[h].text[0]) {
		if (dladdr((void *)(uintptr_t)v, &info) && info.dli_sname)
			snprintf(sym_cache[h].text, sizeof(sym_cache[h].text),
				 "%s+0x%" PRIx64, info.dli_sname,
				 v - (uint64_t)(uintptr_t)info.dli_saddr);
		else
			snprintf(sym_cache[h].text, sizeof(sym_cache[h].text),
				 "0x%" PRIx64, v);
		sym_cache[h].addr = v;
	}
	put_cstr(o, sym_cache[h].text);
}

static void put_value(struct outbuf *o, const struct kp_def_arg *a,
		      const struct ev *e, int i)
{
	uint64_t v = e->vals[i];

	if (e->faults[i / 64] & (1ull << (i % 64))) {
		put(o, json ? "null" : "(fault)");
		return;
	}
	if (a->type == KP_TYPE_STRING) {
		put_string(o, (const char *)e + (v >> 32), (uint32_t)v);
		return;
	}
	if (!json) {
		switch (a->type) {
		case KP_TYPE_U8: put_dec(o, (uint8_t)v, 0, ' '); return;
		case KP_TYPE_U16: put_dec(o, (uint16_t)v, 0, ' '); return;
		case KP_TYPE_U32: put_dec(o, (uint32_t)v, 0, ' '); return;
		case KP_TYPE_U64: put_dec(o, v, 0, ' '); return;
		case KP_TYPE_S8: put_sdec(o, (int8_t)v); return;
		case KP_TYPE_S16: put_sdec(o, (int16_t)v); return;
		case KP_TYPE_S32: put_sdec(o, (int32_t)v); return;
		case KP_TYPE_S64: put_sdec(o, (int64_t)v); return;
		case KP_TYPE_X8: put_hex(o, (uint8_t)v); return;
		case KP_TYPE_X16: put_hex(o, (uint16_t)v); return;
		case KP_TYPE_X32: put_hex(o, (uint32_t)v); return;
		case KP_TYPE_X64: put_hex(o, v); return;
		default: break;
		}
	}
	switch (a->type) {
	case KP_TYPE_U8: put(o, "%u", (uint8_t)v); break;
	case KP_TYPE_U16: put(o, "%u", (uint16_t)v); break;
	case KP_TYPE_U32: put(o, "%u", (uint32_t)v); break;
	case KP_TYPE_U64: put(o, "%" PRIu64, v); break;
	case KP_TYPE_S8: put(o, "%d", (int8_t)v); break;
	case KP_TYPE_S16: put(o, "%d", (int16_t)v); break;
	case KP_TYPE_S32: put(o, "%d", (int32_t)v); break;
	case KP_TYPE_S64: put(o, "%" PRId64, (int64_t)v); break;
	case KP_TYPE_X8: put(o, json ? "\"0x%x\"" : "0x%x", (uint8_t)v); break;
	case KP_TYPE_X16: put(o, json ? "\"0x%x\"" : "0x%x", (uint16_t)v); break;
	case KP_TYPE_X32: put(o, json ? "\"0x%x\"" : "0x%x", (uint32_t)v); break;
	case KP_TYPE_SYMBOL:
		if (json)
			put(o, "\"");
		put_symbol(o, v);
		if (json)
			put(o, "\"");
		break;
	default:
		put(o, json ? "\"0x%" PRIx64 "\"" : "0x%" PRIx64, v);
		break;
	}
}

/* Where the hit was: "sym+0xoff", or "caller <- sym" for a return. */
static void put_where(struct outbuf *o, const struct tprobe *t,
		      const struct ev *e)
{
	const struct kp_probe_def *d = &t->def;

	if (d->kind == KP_DEF_RETURN) {
		put_symbol(o, e->ip);
		put_raw(o, " <- ", 4);
		put_cstr(o, d->symbol ? d->symbol : "?");
	} else if (d->symbol) {
		put(o, "%s+0x%lx", d->symbol, d->offset);
	} else {
		put(o, "0x%" PRIx64, e->ip);
	}
}

static void format_one(const void *rec, size_t len, int tid,
		       const char *comm, void *arg)
{
	const struct ev *e = rec;
	uint64_t ts;
	struct outbuf *o = arg;
	const struct tprobe *t;

	if (len < sizeof(*e) || e->id >= (uint32_t)nprobes)
		return;
	t = &probes[e->id];
	ts = stamp_ns(e->ts);
	nevents++;
	if (chrome) {
		put(o, "{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"%c\",",
		    t->ph == 'i' ? t->def.event : t->def.symbol, t->def.group,
		    t->ph);
		if (t->ph == 'i')
			put(o, "\"s\":\"t\",");
		put(o, "\"ts\":%" PRIu64 ".%03" PRIu64 ",\"pid\":%d,\"tid\":%d,"
		    "\"args\":{", ts / 1000, ts % 1000, getpid(), tid);
		for (int i = 0; i < t->def.nargs; i++) {
			put(o, "%s\"%s\":", i ? "," : "", t->def.args[i].name);
			put_value(o, &t->def.args[i], e, i);
		}
		put(o, "}},\n");
		return;
	}
	if (json) {
		put(o, "{\"ts\":%" PRIu64 ",\"comm\":", ts);
		put_string(o, comm, strnlen(comm, 16));
		put(o, ",\"tid\":%d,\"cpu\":%d,\"group\":\"%s\",\"event\":"
		    "\"%s\",\"where\":\"", tid, e->cpu, t->def.group,
		    t->def.event);
		put_where(o, t, e);
		put(o, "\",\"args\":{");
		for (int i = 0; i < t->def.nargs; i++) {
			put(o, "%s\"%s\":", i ? "," : "", t->def.args[i].name);
			put_value(o, &t->def.args[i], e, i);
		}
		put(o, "}}\n");
		return;
	}
	if (o->len > sizeof(o->data) - 512)
		flush_out(o);
	{
		/* "%16.16s-%-7d [%03d] %6lu.%06lu: " by hand, straight into
		 * the buffer (room checked above): a busy program makes
		 * millions of events a second, and every one the flusher
		 * does not write in time is dropped. */
		char *p = o->data + o->len;

		p = put_task(p, comm, tid);
		*p++ = '[';
		p = dec_fixed(p, (uint64_t)(e->cpu < 0 ? 0 : e->cpu), 3, '0');
		*p++ = ']';
		*p++ = ' ';
		p = dec_fixed(p, ts / 1000000000u, 6, ' ');
		*p++ = '.';
		p = dec_fixed(p, ts % 1000000000u / 1000, 6, '0');
		*p++ = ':';
		*p++ = ' ';
		o->len = (size_t)(p - o->data);
	}
	if (t->head_where) {
		put_raw(o, t->head, t->head_len);
		goto args;
	}
	if (t->head_len) {
		put_raw(o, t->head, t->head_len);
	} else {
		put_cstr(o, t->def.event);
		put_raw(o, ": (", 3);
	}
	if (t->def.kind != KP_DEF_RETURN && t->def.symbol) {
		put_cstr(o, t->def.symbol);
		put_raw(o, "+", 1);
		put_hex(o, t->def.offset);
	} else {
		put_where(o, t, e);
	}
	put_raw(o, ")", 1);
args:
	for (int i = 0; i < t->def.nargs; i++) {
		put_raw(o, " ", 1);
		put_cstr(o, t->def.args[i].name);
		put_raw(o, "=", 1);
		put_value(o, &t->def.args[i], e, i);
	}
	put_raw(o, "\n", 1);
}

static void fold_stat_blocks(void);

static void drain(void)
{
	static struct outbuf o;

	refine();
	kp_ev_drain(format_one, &o);
	flush_out(&o);
	if (stats)
		fold_stat_blocks();
}

static bool objects_changed(void);
static void rearm(void);
enum summary_kind { SUMMARY_END, SUMMARY_EXIT, SUMMARY_EXEC };
/* The signal the program is dying of (last_words()), or 0. */
static atomic_int dying_of;
static void write_summary(enum summary_kind kind);

static void *flusher_main(void *arg)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	(void)arg;
	/* Every signal is blocked here (start_flusher()): a SIGPIPE of our
	 * own write()s stays pending on this thread, and the write fails
	 * with EPIPE. */
	in_flusher = true;
	while (!atomic_load(&stopping)) {
		unsigned int seen = atomic_load(&flusher_wake);

		/* 5 ms, or less when _exit() or exec() asks (wake_flusher()). */
		if (!atomic_load(&final_asked) &&
		    atomic_load(&exec_req) == atomic_load(&exec_ack))
			syscall(SYS_futex, &flusher_wake, FUTEX_WAIT_PRIVATE,
				seen, &ts, NULL, 0);
		if (atomic_load(&final_asked)) {
			write_summary(SUMMARY_EXIT);
			atomic_store(&final_done, true);
			return NULL;
		}
		if (atomic_load(&exec_req) != atomic_load(&exec_ack)) {
			unsigned int req = atomic_load(&exec_req);

			write_summary(SUMMARY_EXEC);
			atomic_store(&exec_ack, req);
		}
		if (objects_changed())
			rearm();
		drain();
	}
	return NULL;
}

static void start_flusher(void)
{
	sigset_t all, saved;

	/* Born with every signal blocked: the program's signals are for its
	 * own threads, and a terminating signal must never run its last
	 * words on the thread that is to write them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (!pthread_create(&flusher, NULL, flusher_main, NULL))
		atomic_store(&flusher_running, true);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/* ---- setup and teardown ---- */

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void report(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 && write(STDERR_FILENO, buf, (size_t)n) < 0)
		return;
}

/* Resolve @SYM fetches to addresses (data symbols: dlsym). */
static int resolve_syms(struct kp_fetch *f)
{
	for (; f; f = f->inner) {
		void *h = RTLD_DEFAULT, *a;
		char *colon;

		if (f->kind != KP_FETCH_SYM)
			continue;
		colon = strrchr(f->sym, ':');
		if (colon) {
			*colon = '\0';
			h = dlopen(f->sym, RTLD_LAZY | RTLD_NOLOAD);
			*colon = ':';
			if (!h)
				return -ENOENT;
		}
		a = dlsym(h, colon ? colon + 1 : f->sym);
		if (!a)
			return -ENOENT;
		f->n = (uintptr_t)a;
	}
	return 0;
}

static int add_definition(const char *text)
{
	struct kp_def_error err;
	struct tprobe *t;
	char msg[1024];
	int ret;

	if (nprobes == MAX_PROBES) {
		report("libkprobe-preload: more than %d definitions\n",
		       MAX_PROBES);
		return -E2BIG;
	}
	t = &probes[nprobes];
	ret = kp_probe_def_parse(text, &t->def, &err);
	if (ret) {
		kp_probe_def_error(text, &err, msg, sizeof(msg));
		report("libkprobe-preload: a definition is refused:\n%s", msg);
		return ret;
	}
	if (t->def.kind == KP_DEF_DELETE) {
		kp_probe_def_free(&t->def);
		report("libkprobe-preload: '-:' deletes events of tracefs; "
		       "here there is nothing to delete\n");
		return -EINVAL;
	}
	for (int i = 0; i < t->def.nargs; i++)
		if (resolve_syms(t->def.args[i].fetch)) {
			report("libkprobe-preload: %s: no data symbol for "
			       "argument %s\n", t->def.event,
			       t->def.args[i].name);
			kp_probe_def_free(&t->def);
			return -ENOENT;
		}
	t->id = nprobes++;
	return 0;
}

/* Same function? (for Chrome's B/E pairs) */
static bool same_function(const struct kp_probe_def *a,
			  const struct kp_probe_def *b)
{
	return a->symbol && b->symbol && !strcmp(a->symbol, b->symbol) &&
	       !a->offset && !b->offset &&
	       !strcmp(a->object ? a->object : "", b->object ? b->object : "");
}

/* What each probe becomes in the Chrome format: an entry and a return of
 * one function are a slice (B, E); anything else an instant (i). */
static void pair_probes(void)
{
	for (int i = 0; i < nprobes; i++) {
		struct tprobe *t = &probes[i];
		int n;

		if (t->def.kind != KP_DEF_RETURN && t->def.symbol)
			n = snprintf(t->head, sizeof(t->head), "%s: (%s+0x%lx)",
				     t->def.event, t->def.symbol,
				     (unsigned long)t->def.offset);
		else
			n = snprintf(t->head, sizeof(t->head), "%s: (",
				     t->def.event);
		/* Too long for the head: the slow way, piece by piece. */
		t->head_len = n > 0 && (size_t)n < sizeof(t->head) ?
			      (uint8_t)n : 0;
		t->head_where = t->head_len && t->def.kind != KP_DEF_RETURN &&
				t->def.symbol;
	}
	for (int i = 0; i < nprobes; i++) {
		probes[i].ph = 'i';
		for (int k = 0; k < nprobes; k++)
			if (probes[i].def.kind != probes[k].def.kind &&
			    same_function(&probes[i].def, &probes[k].def))
				probes[i].ph = probes[i].def.kind ==
					       KP_DEF_RETURN ? 'E' : 'B';
	}
}

/* Definitions separated by ';' or new lines; '#' starts a comment line. */
static int add_definitions(char *list)
{
	char *save = NULL;

	for (char *s = strtok_r(list, ";\n", &save); s;
	     s = strtok_r(NULL, ";\n", &save)) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		if (add_definition(s))
			return -EINVAL;
	}
	return 0;
}

/*
 * Register every definition. The first process of a run refuses to trace
 * anything if one fails (it says which and why); the processes it starts
 * (KPROBE_TRACE_APPEND set) trace what they have and skip the rest
 * quietly: a shell started by the program has none of its functions.
 */
/* ---- objects loaded and unloaded while the program runs ---- */

struct obj_find {
	unsigned long long changes;	/* dlpi_adds + dlpi_subs */
};

static int obj_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct obj_find *f = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs))
		f->changes = info->dlpi_adds + info->dlpi_subs;
	return 0;
}

/* Did the program load or unload an object since the last look? */
static bool objects_changed(void)
{
	static unsigned long long seen;
	struct obj_find f = { 0 };

	dl_iterate_phdr(obj_cb, &f);
	if (f.changes == seen)
		return false;
	seen = f.changes;
	return true;
}

/* Register @t afresh (a struct is filled anew: a registered one keeps its
 * resolved address). */
static int register_one(struct tprobe *t)
{
	struct kprobe *kp;

	memset(&t->kp, 0, sizeof(t->kp));
	memset(&t->rp, 0, sizeof(t->rp));
	kp = t->def.kind == KP_DEF_RETURN ? &t->rp.kp : &t->kp;
	if (t->def.symbol) {
		snprintf(t->spec, sizeof(t->spec), "%s%s%s",
			 t->def.object ? t->def.object : "",
			 t->def.object ? ":" : "", t->def.symbol);
		kp->symbol_name = t->spec;
		kp->offset = (unsigned int)t->def.offset;
	} else {
		kp->addr = (kprobe_opcode_t *)t->def.addr;
	}
	if (t->def.kind == KP_DEF_RETURN) {
		t->rp.handler = on_return;
		t->rp.maxactive = t->def.maxactive;
		if (stats) {
			t->rp.entry_handler = on_call;
			t->rp.data_size = sizeof(uint64_t);
		}
		return register_kretprobe(&t->rp);
	}
	kp->pre_handler = on_entry;
	return register_kprobe(kp);
}

static void unregister_one(struct tprobe *t)
{
	if (t->def.kind == KP_DEF_RETURN)
		unregister_kretprobe(&t->rp);
	else
		unregister_kprobe(&t->kp);
	t->registered = false;
}

/*
 * Register every definition. One whose object is not loaded yet waits
 * (pending) for the program to dlopen() it. The first process of a run
 * refuses to trace anything if another one fails (it says which and why);
 * the processes it starts (KPROBE_TRACE_APPEND set) trace what they have
 * and skip the rest quietly: a shell started by the program has none of
 * its functions.
 */
static int register_all(bool quiet)
{
	for (int i = 0; i < nprobes; i++) {
		struct tprobe *t = &probes[i];
		int ret;

		if (t->def.object && !kp_sym_object_loaded(t->def.object)) {
			t->pending = true;
			continue;
		}
		ret = register_one(t);
		if (ret && quiet)
			continue;
		if (ret) {
			report("libkprobe-preload: %s/%s: %s (%d)\n",
			       t->def.group, t->def.event, kprobe_last_error(),
			       ret);
			return ret;
		}
		t->registered = true;
	}
	return 0;
}

/*
 * The flusher's, when objects came or went: arm what waited for its
 * object, and re-arm what dlclose() made gone once its object is back.
 * Events of the calls made between the dlopen() and this are not
 * recorded: the flusher looks every few milliseconds.
 */
static void rearm(void)
{
	for (int i = 0; i < nprobes; i++) {
		struct tprobe *t = &probes[i];
		const struct kprobe *kp = t->def.kind == KP_DEF_RETURN ?
					  &t->rp.kp : &t->kp;

		if (t->registered && (kp->flags & KPROBE_FLAG_GONE)) {
			unregister_one(t);
			t->pending = true;
		}
		if (!t->pending || !kp_sym_object_loaded(t->def.object))
			continue;
		if (!register_one(t)) {
			t->registered = true;
			t->pending = false;
		}
	}
}

static void unregister_all(void)
{
	for (int i = 0; i < nprobes; i++) {
		struct tprobe *t = &probes[i];

		if (!t->registered)
			continue;
		unregister_one(t);
	}
}

static void put_ns(struct outbuf *o, uint64_t ns)
{
	if (ns < 10000)
		put(o, " %9" PRIu64 "ns", ns);
	else if (ns < 10000000)
		put(o, " %9.1fus", ns / 1e3);
	else if (ns < 10000000000ull)
		put(o, " %9.1fms", ns / 1e6);
	else
		put(o, " %9.2fs ", ns / 1e9);
}

/* The smallest duration that @pct percent of the calls did not exceed
 * (to the histogram's precision). */
/* A probe's counts, the shared ones and every block's, summed. */
struct tstats_sum {
	unsigned long hits, max_ns;
	unsigned long hist[HIST_BUCKETS];
};

static void sum_stats(const struct tprobe *t, struct tstats_sum *sum)
{
	sum->hits = atomic_load(&t->stats->hits);
	sum->max_ns = atomic_load(&t->stats->max_ns);
	for (unsigned int b = 0; b < HIST_BUCKETS; b++)
		sum->hist[b] = atomic_load(&t->stats->hist[b]);
	for (unsigned int i = 0; i < STAT_BLOCKS; i++) {
		const struct tstats_own *own;

		if (!atomic_load(&stat_blocks[i].owner))
			continue;
		own = &stat_blocks[i].s[t->id];
		sum->hits += __atomic_load_n(&own->hits, __ATOMIC_RELAXED);
		if (own->max_ns > sum->max_ns)
			sum->max_ns = own->max_ns;
		for (unsigned int b = 0; b < HIST_BUCKETS; b++)
			sum->hist[b] += __atomic_load_n(&own->hist[b],
							__ATOMIC_RELAXED);
	}
}

/* The flusher's: the blocks of threads that exited go into the shared
 * counts, and back to the pool. */
static void fold_stat_blocks(void)
{
	for (unsigned int i = 0; i < STAT_BLOCKS; i++) {
		int tid = atomic_load(&stat_blocks[i].owner);

		if (!tid || !syscall(SYS_tgkill, getpid(), tid, 0) ||
		    errno != ESRCH)
			continue;
		for (int p = 0; p < nprobes; p++) {
			struct tstats_own *own = &stat_blocks[i].s[p];
			struct tstats *st = probes[p].stats;

			atomic_fetch_add(&st->hits, own->hits);
			for (unsigned int b = 0; b < HIST_BUCKETS; b++)
				if (own->hist[b])
					atomic_fetch_add(&st->hist[b],
							 own->hist[b]);
			shared_max(st, own->max_ns);
			memset(own, 0, sizeof(*own));
		}
		atomic_store(&stat_blocks[i].owner, 0);
	}
}

static uint64_t percentile(const struct tstats_sum *st, unsigned long timed,
			   unsigned int pct)
{
	unsigned long want = (timed * pct + 99) / 100, seen = 0;
	uint64_t max = st->max_ns;

	for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
		seen += st->hist[b];
		if (seen >= want && want)
			return hist_upper(b) < max ? hist_upper(b) : max;
	}
	return max;
}

/* --stats: a line per event, the hits, and for returns the durations. */
static void print_stats(struct outbuf *o)
{
	refine();
	put(o, "# kprobe-trace --stats, pid %d (durations: entry to return, "
	    "to 1/8 of their value)\n", getpid());
	put(o, "%-24s %12s %11s %11s %11s %11s\n", "event", "count", "p50",
	    "p90", "p99", "max");
	for (int i = 0; i < nprobes; i++) {
		const struct tprobe *t = &probes[i];
		static struct tstats_sum sum;
		unsigned long hits;

		sum_stats(t, &sum);
		hits = sum.hits;
		put(o, "%-24s %12lu", t->def.event, hits);
		if (t->def.kind == KP_DEF_RETURN && hits) {
			put_ns(o, ticks_to_ns(percentile(&sum, hits, 50)));
			put_ns(o, ticks_to_ns(percentile(&sum, hits, 90)));
			put_ns(o, ticks_to_ns(percentile(&sum, hits, 99)));
			put_ns(o, ticks_to_ns(sum.max_ns));
		}
		put(o, "\n");
	}
	if (kp_ev_dropped())
		put(o, "# %lu hits not counted\n", kp_ev_dropped());
}

/*
 * What the rings still hold, then the summary (or the --stats table), and
 * the file closed. SUMMARY_EXIT: the program left by _exit() (the
 * flusher's last drain); SUMMARY_EXEC: it is about to exec() (the file
 * stays open, in case the exec fails). The summary says which.
 */
static void write_summary(enum summary_kind kind)
{
	struct outbuf o = { .len = 0 };
	unsigned long dropped;
	const char *how = kind == SUMMARY_EXIT ? " (left by _exit)" :
			  kind == SUMMARY_EXEC ? " (exec)" : "";
	char killed[48];
	int sig = atomic_load(&dying_of);

	if (kind != SUMMARY_EXEC && sig) {
		snprintf(killed, sizeof(killed), " (killed by SIG%s)",
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		how = killed;
	}

	drain();
	dropped = kp_ev_dropped();
	if (stats) {
		print_stats(&o);
		flush_out(&o);
		if (kind != SUMMARY_EXEC) {
			close(out_fd);
			out_fd = -1;
		}
		return;
	}
	if (chrome)
		put(&o, "{\"name\":\"kprobe-trace\",\"ph\":\"i\",\"s\":\"g\","
		    "\"ts\":%" PRIu64 ",\"pid\":%d,\"tid\":0,\"args\":"
		    "{\"events\":%lu,\"dropped\":%lu}},\n", clock_ns() / 1000,
		    getpid(), nevents, dropped);
	else if (json)
		put(&o, "{\"summary\":{\"pid\":%d,\"events\":%lu,"
		    "\"dropped\":%lu}}\n", getpid(), nevents, dropped);
	else
		put(&o, "# kprobe-trace: pid %d: %lu events, %lu dropped%s\n",
		    getpid(), nevents, dropped, how);
	flush_out(&o);
	if (kind == SUMMARY_EXEC)
		return;
	if (dropped)
		report("libkprobe-preload: %lu events dropped (the trace "
		       "could not keep up)\n", dropped);
	close(out_fd);
	out_fd = -1;
}

/*
 * The signals whose default action ends the process (core dump or not),
 * taken while the program leaves them default, for last_words(). Not the
 * real-time ones, nor SIGKILL, which nobody can take.
 */
static const int terminating[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2, SIGPIPE,
	SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
	SIGPOLL, SIGPWR, SIGSYS,
};
static const size_t nterminating = sizeof(terminating) /
				   sizeof(*terminating);

static bool nobody_dying(unsigned int unused)
{
	return !atomic_load(&dying_of);
}

/*
 * exit(): the flusher stops, and this thread writes what the rings hold
 * and the summary. A terminating signal meanwhile must not end the
 * process before that: on this thread it waits, blocked, until the end is
 * written (then it is delivered, and kills as before); on another,
 * last_words() waits for the end (leaving()), and the summary says which
 * signal the process dies of, which it then does.
 */
static void preload_fini(void)
{
	sigset_t pipe, saved, pending, term;
	struct timespec now = { 0, 0 };
	bool had_pipe;

	if (out_fd < 0 || atomic_load(&final_asked))
		return;
	sigemptyset(&term);
	for (size_t i = 0; i < nterminating; i++)
		sigaddset(&term, terminating[i]);
	pthread_sigmask(SIG_BLOCK, &term, &saved);
	atomic_store(&stopping, true);
	if (atomic_load(&flusher_running))
		pthread_join(flusher, NULL);
	/* No handler runs after this; then what they left. */
	in_flusher = true;
	unregister_all();
	/* Written on the program's thread: into a pipe nobody reads any
	 * more, the write must fail (EPIPE), not kill the program. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	had_pipe = !sigpending(&pending) && sigismember(&pending, SIGPIPE);
	write_summary(SUMMARY_END);
	if (!had_pipe)
		sigtimedwait(&pipe, NULL, &now);	/* ours, if raised */
	atomic_store(&fini_done, true);
	/* Another thread is dying of a signal, waiting in last_words() for
	 * the end written above: it ends the process (as it would have, and
	 * as the summary says), not exit()'s status. */
	wait_until(nobody_dying, 0);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

/*
 * The program leaves by _exit() or _Exit(): no destructor runs, and what
 * the rings hold (the last 5 ms, or a short program's whole trace) would
 * be lost without a word. Ask the flusher for its last drain and the
 * summary, and wait for it, but not for ever: _exit() may come from a
 * signal handler that interrupted something the flusher needs (a lock of
 * the loader's, say), and the program must not hang on its trace. After
 * 2 s it leaves anyway, and the trace has no summary line: the sign that
 * its end is missing. Not in a vfork() child: it shares the parent's
 * memory, rings and file offset included.
 */
typedef void exit_fn(int);
static exit_fn *real_exit, *real_Exit;

/* May this thread ask the flusher for a drain and wait for it? Not the
 * flusher itself, not a vfork() child, not once it has stopped or is
 * stopping (exit()). Async-signal-safe. */
static bool may_ask_flusher(void)
{
	return out_fd >= 0 && getpid() == traced_pid &&
	       atomic_load(&flusher_running) && !atomic_load(&stopping) &&
	       !in_flusher;
}

/* Wake the flusher and wait until @done() says it has served us, at most
 * 2 s. Async-signal-safe. */
static void await_flusher(bool (*done)(unsigned int), unsigned int arg)
{
	wake_flusher();
	wait_until(done, arg);
}

static bool final_written(unsigned int unused)
{
	return atomic_load(&final_done);
}

static bool fini_written(unsigned int unused)
{
	return atomic_load(&fini_done);
}

/*
 * (The same steps serve last_words().) Every thread that leaves waits for
 * the one drain: a second thread's _exit() or fatal signal, coming while
 * the first waits, would otherwise end the process before it is written.
 * Async-signal-safe.
 */
static void leaving(void)
{
	/* exit() is writing the end on another thread (preload_fini()):
	 * wait for it instead. Not a vfork() child, not that thread. */
	if (atomic_load(&stopping) && !atomic_load(&fini_done) &&
	    !in_flusher && getpid() == traced_pid) {
		wait_until(fini_written, 0);
		return;
	}
	if (!may_ask_flusher())
		return;
	atomic_store(&final_asked, true);
	await_flusher(final_written, 0);
}

/*
 * The program dies of a signal nobody handles, in that signal's handler
 * (kp_last_words): a fault (libkprobe's fault handler), or a terminating
 * signal the program leaves default (SIGTERM, SIGINT, SIGPIPE, SIGABRT
 * from abort() or assert(), ...: taken at start, see take_signals()).
 * The same last drain as _exit()'s, bounded the same way (a crashed
 * program's state may stop the flusher: then the program still dies of
 * its signal, 2 s later, without the summary), and the summary says which
 * signal: the first, should two threads die at once. A vfork() child's
 * death is not ours to tell. Async-signal-safe.
 */
static void last_words(int sig)
{
	int none = 0;

	if (getpid() != traced_pid)
		return;
	atomic_compare_exchange_strong(&dying_of, &none, sig);
	leaving();
}

static void take_signals(void)
{
	kp_signals_take_default(terminating, nterminating);
}

__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
	leaving();
	if (real_exit)
		real_exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status)
{
	leaving();
	if (real_Exit)
		real_Exit(status);
	for (;;)
		syscall(SYS_exit_group, status);
}

/*
 * The program replaces itself (exec*()): the new image starts with empty
 * rings, so what this one's hold is written first. The flusher drains and
 * writes a summary line ("(exec)", or the --stats table), the file stays
 * open, and the program goes on to its exec; if that fails, the trace goes
 * on too (a later summary for the same pid counts everything). The wait
 * is bounded as _exit()'s is, and a vfork() child (posix_spawn(), a
 * shell's fork-and-exec) is left alone.
 */
static bool checkpoint_written(unsigned int req)
{
	return (int)(atomic_load(&exec_ack) - req) >= 0;
}

static void before_exec(void)
{
	if (!may_ask_flusher() || atomic_load(&final_asked))
		return;
	/* Nothing to write (a shell's child about to exec a command, say):
	 * no checkpoint, no wait. */
	if (!kp_ev_pending() && !kp_ev_dropped() && !stats)
		return;
	await_flusher(checkpoint_written, atomic_fetch_add(&exec_req, 1) + 1);
}

typedef int execve_fn(const char *, char *const[], char *const[]);
typedef int execv_fn(const char *, char *const[]);
typedef int fexecve_fn(int, char *const[], char *const[]);
typedef int execveat_fn(int, const char *, char *const[], char *const[],
			int);
static execve_fn *real_execve, *real_execvpe;
static execv_fn *real_execv, *real_execvp;
static fexecve_fn *real_fexecve;
static execveat_fn *real_execveat;

static void resolve_exec(void)
{
	real_execve = (execve_fn *)dlsym(RTLD_NEXT, "execve");
	real_execvpe = (execve_fn *)dlsym(RTLD_NEXT, "execvpe");
	real_execv = (execv_fn *)dlsym(RTLD_NEXT, "execv");
	real_execvp = (execv_fn *)dlsym(RTLD_NEXT, "execvp");
	real_fexecve = (fexecve_fn *)dlsym(RTLD_NEXT, "fexecve");
	real_execveat = (execveat_fn *)dlsym(RTLD_NEXT, "execveat");
}

#define KP_EXPORT_EXEC __attribute__((visibility("default")))

KP_EXPORT_EXEC int execve(const char *path, char *const argv[],
			  char *const envp[])
{
	before_exec();
	return real_execve ? real_execve(path, argv, envp) :
	       (int)syscall(SYS_execve, path, argv, envp);
}

KP_EXPORT_EXEC int execv(const char *path, char *const argv[])
{
	before_exec();
	return real_execv ? real_execv(path, argv) :
	       (int)syscall(SYS_execve, path, argv, environ);
}

KP_EXPORT_EXEC int execvp(const char *file, char *const argv[])
{
	before_exec();
	if (!real_execvp) {
		errno = ENOSYS;
		return -1;
	}
	return real_execvp(file, argv);
}

KP_EXPORT_EXEC int execvpe(const char *file, char *const argv[],
			   char *const envp[])
{
	before_exec();
	if (!real_execvpe) {
		errno = ENOSYS;
		return -1;
	}
	return real_execvpe(file, argv, envp);
}

KP_EXPORT_EXEC int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec();
	if (!real_fexecve) {
		errno = ENOSYS;
		return -1;
	}
	return real_fexecve(fd, argv, envp);
}

KP_EXPORT_EXEC int execveat(int dirfd, const char *path, char *const argv[],
			    char *const envp[], int flags)
{
	before_exec();
	if (!real_execveat) {
		errno = ENOSYS;
		return -1;
	}
	return real_execveat(dirfd, path, argv, envp, flags);
}

/* The list forms: their arguments into an array, then the vector form.
 * count_args(): how many, arg0 included, before the NULL; fill_args():
 * @argv (n + 1 entries) from arg0 and the rest, NULL last. */
static size_t count_args(va_list ap)
{
	va_list c;
	size_t n = 1;

	va_copy(c, ap);
	while (va_arg(c, const char *))
		n++;
	va_end(c);
	return n;
}

/* No argument vector that large fits in memory; saying so also tells the
 * compiler that the vectors below have room. */
#define MAX_EXEC_ARGS	(SIZE_MAX / 2 / sizeof(char *))

static void fill_args(char **argv, const char *arg, va_list *ap, size_t n)
{
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(*ap, char *);
}

/* execl() and execlp(): the arguments after @arg, then @vec; execle()
 * (@vec NULL): then execve() with the envp that follows their NULL. */
static int exec_list(execv_fn *vec, const char *path, const char *arg,
		     va_list *ap)
{
	size_t n = count_args(*ap);

	if (n > MAX_EXEC_ARGS) {
		errno = E2BIG;
		return -1;
	}
	char *argv[n + 1];

	fill_args(argv, arg, ap, n);
	if (!vec)
		return execve(path, argv, va_arg(*ap, char *const *));
	return vec(path, argv);
}

KP_EXPORT_EXEC int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(execv, path, arg, &ap);
	va_end(ap);
	return ret;
}

KP_EXPORT_EXEC int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(execvp, file, arg, &ap);
	va_end(ap);
	return ret;
}

KP_EXPORT_EXEC int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, arg);
	ret = exec_list(NULL, path, arg, &ap);
	va_end(ap);
	return ret;
}

static void atfork_child(void)
{
	/* Only the forking thread is here: no flusher, empty rings, and the
	 * child's --stats table counts the child's calls alone. */
	kp_evbuf_atfork_child();
	traced_pid = getpid();
	for (int i = 0; stats && i < nprobes; i++)
		memset(probes[i].stats, 0, sizeof(*probes[i].stats));
	for (unsigned int i = 0; stats && i < STAT_BLOCKS; i++) {
		if (atomic_load(&stat_blocks[i].owner))
			memset(stat_blocks[i].s, 0,
			       (size_t)nprobes * sizeof(struct tstats_own));
		atomic_store(&stat_blocks[i].owner, 0);
	}
	my_stats = NULL;
	my_stats_none = false;
	atomic_store(&stopping, false);
	atomic_store(&fini_done, false);
	atomic_store(&flusher_running, false);
	nevents = 0;
	start_flusher();
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

__attribute__((constructor)) static void preload_init(void)
{
	const char *events = getenv("KPROBE_TRACE_EVENTS");
	const char *file = getenv("KPROBE_TRACE_FILE");
	const char *out = getenv("KPROBE_TRACE_OUTPUT");
	const char *format = getenv("KPROBE_TRACE_FORMAT");
	const char *append = getenv("KPROBE_TRACE_APPEND");
	const char *out_fd_env = getenv("KPROBE_TRACE_FD");
	bool dry_run = getenv("KPROBE_TRACE_DRYRUN") != NULL;
	char *list;
	int ret;

	/* Now, not in _exit(), which may run in a signal handler. */
	resolve_exec();
	real_exit = (exit_fn *)dlsym(RTLD_NEXT, "_exit");
	real_Exit = (exit_fn *)dlsym(RTLD_NEXT, "_Exit");
	kp_last_words = last_words;
	traced_pid = getpid();

	if (!events && !file)
		return;
	chrome = format && !strcmp(format, "chrome");
	json = chrome || (format && !strcmp(format, "json"));
	stats = getenv("KPROBE_TRACE_STATS") != NULL;
	if (events) {
		list = strdup(events);
		if (!list || add_definitions(list))
			goto fail;
		free(list);
	}
	if (file) {
		list = read_file(file);
		if (!list) {
			report("libkprobe-preload: cannot read %s: %s\n", file,
			       strerror(errno));
			goto fail;
		}
		if (add_definitions(list))
			goto fail;
		free(list);
	}
	list = NULL;
	if (dry_run) {
		/*
		 * kprobe-trace checks the definitions in the program's own
		 * process before starting it for real: register, and leave
		 * before main() with 0, or 2 having said why.
		 */
		in_flusher = true;
		ret = register_all(false);
		unregister_all();
		if (getenv("KPROBE_TRACE_SELFTEST")) {
			/* For test_preload: are the handlers light? */
			kp_lock();
			report("light: entry=%d return=%d call=%d\n",
			       kp_opt_handler_light((uintptr_t)on_entry),
			       kp_opt_handler_light((uintptr_t)on_return),
			       kp_opt_handler_light((uintptr_t)on_call));
			kp_unlock();
		}
		for (int i = 0; !ret && i < nprobes; i++)
			if (probes[i].pending)
				report("libkprobe-preload: %s/%s: %s is not "
				       "loaded yet: armed when the program "
				       "loads it\n", probes[i].def.group,
				       probes[i].def.event,
				       probes[i].def.object);
		_exit(ret ? 2 : 0);
	}
	pair_probes();
	for (int i = 0; stats && i < nprobes; i++) {
		probes[i].stats = calloc(1, sizeof(*probes[i].stats));
		if (!probes[i].stats) {
			report("libkprobe-preload: no memory for --stats\n");
			goto fail;
		}
	}
	if (stats && nprobes) {
		/* Untouched pages cost nothing: a block becomes memory as
		 * its thread counts. */
		size_t per = (size_t)nprobes * sizeof(struct tstats_own);
		uint8_t *mem = mmap(NULL, STAT_BLOCKS * per,
				    PROT_READ | PROT_WRITE, MAP_PRIVATE |
				    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (mem == MAP_FAILED) {
			report("libkprobe-preload: no memory for --stats\n");
			goto fail;
		}
		for (unsigned int i = 0; i < STAT_BLOCKS; i++)
			stat_blocks[i].s = (struct tstats_own *)(mem + i * per);
	}
	calibrate();
	if (kp_evbuf_init(NRINGS, RING_SIZE)) {
		report("libkprobe-preload: no memory for the event rings\n");
		goto fail;
	}
	/* The first process truncates; its children (exec) append. A
	 * descriptor kprobe-trace left open (its stderr) comes first. */
	if (out_fd_env && !out)
		out_fd = fcntl(atoi(out_fd_env), F_DUPFD_CLOEXEC, 900);
	else
		out_fd = open(out ? out : "kprobe-trace.out",
			      O_WRONLY | O_CREAT | O_CLOEXEC |
			      (append ? O_APPEND : O_TRUNC), 0644);
	if (out_fd < 0) {
		report("libkprobe-preload: cannot open %s: %s\n",
		       out ? out : "kprobe-trace.out", strerror(errno));
		goto fail;
	}
	/* Out of the way of the program's own descriptors: it may expect
	 * its first open() to return 3. */
	{
		int high = fcntl(out_fd, F_DUPFD_CLOEXEC, 900);

		if (high >= 0) {
			close(out_fd);
			out_fd = high;
		}
	}
	if (chrome && !append && !stats && write(out_fd, "[\n", 2) != 2) {
		report("libkprobe-preload: cannot write the trace\n");
		goto fail;
	}
	setenv("KPROBE_TRACE_APPEND", "1", 1);
	/* Registering reads files (symbols, /proc): not the program's calls,
	 * even where they hit a probe armed a moment before. */
	in_flusher = true;
	ret = register_all(append != NULL);
	in_flusher = false;
	if (ret) {
		unregister_all();
		close(out_fd);
		out_fd = -1;
		goto fail;
	}
	start_flusher();
	take_signals();
	atexit(preload_fini);
	pthread_atfork(NULL, NULL, atfork_child);
	return;
fail:
	free(list);
	report("libkprobe-preload: nothing is traced\n");
}
