// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What a probe costs: ns per hit of each kind of probe, side by side with
 * the unprobed call and with the floor every trap-based probe pays (one
 * int3 -> SIGTRAP -> sigreturn round trip, measured here with a bare
 * handler). Run by `meson test --benchmark` (a Meson benchmark(), never a
 * timed test) or directly: `bench_probes [--json]`.
 *
 * Each figure is the median of 5 runs of N calls, in this process, on this
 * machine; ratios are to the unprobed call (for the cost per call) and to
 * the trap floor (for the trap-based paths).
 */
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <kprobes.h>

#define RUNS 5	/* of the hits-per-second runs: the best one counts */

/* long bench_target(long x): x + 1, in 7 bytes of straight-line code
 * before its ret, so that a probe on its entry can be jump-optimized. */
__asm__(".text\n"
	".p2align 4\n"
	".type bench_target, @function\n"
	"bench_target:\n"
	"	movq %rdi, %rax\n"
	"	addq $1, %rax\n"
	"	ret\n"
	".size bench_target, . - bench_target\n");
long bench_target(long x);
static long (*volatile target_fp)(long) = bench_target;

/* An int3 and a ret: the floor of every trap-based hit. */
__asm__(".text\n"
	".type bench_int3, @function\n"
	"bench_int3:\n"
	"	int3\n"
	"	ret\n"
	".size bench_int3, . - bench_int3\n");
void bench_int3(void);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * ns per call of @fn, over BATCHES batches of @n / BATCHES calls: the best
 * batch is returned, the median kept in last_median. This machine's speed
 * swings by up to 2x from moment to moment (a virtual machine with
 * neighbours); the best batch is the figure that repeats from run to run,
 * and the median says how far the rest of the run was from it.
 */
#define BATCHES 200
static double last_median;

static double measure(void (*fn)(long), long n)
{
	long per = n / BATCHES;
	double t[BATCHES];

	fn(per);	/* warm up */
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();

		fn(per);
		t[b] = (now_ns() - t0) / per;
	}
	qsort(t, BATCHES, sizeof(t[0]), cmp_double);
	last_median = t[BATCHES / 2];
	return t[0];
}

static void call_target(long n)
{
	for (long i = 0; i < n; i++)
		target_fp(i);
}

static void call_int3(long n)
{
	for (long i = 0; i < n; i++)
		bench_int3();
}

static void bare_trap(int sig, siginfo_t *info, void *ctx)
{
	/* rip already points past the int3. */
}

/* Per thread: the 2-thread figure measures libkprobe, not a shared line. */
static __thread unsigned long count;

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	count++;
	return 0;
}

/* The same with a floating-point add: no light path (docs/design.md). */
static volatile double fp_sum;

static int pre_fp(struct kprobe *p, struct pt_regs *regs)
{
	count++;
	fp_sum = fp_sum + 1.5;
	return 0;
}

static void post(struct kprobe *p, struct pt_regs *regs, unsigned long f)
{
}

static int ret_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	count++;
	return 0;
}

static void must(int ret)
{
	if (ret) {
		fprintf(stderr, "bench_probes: %s (%d)\n", kprobe_last_error(),
			ret);
		exit(1);
	}
}

/* ---- the kernel's uprobes on the same function, through tracefs ---- */

#define TRACEFS "/sys/kernel/tracing"

static bool tracefs_write(const char *file, const char *text, bool append)
{
	char path[256];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | (append ? O_APPEND : O_TRUNC));
	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

struct file_off {
	uintptr_t addr;
	unsigned long off;
	bool found;
};

/* The file offset of an address of the main executable. */
static int exe_offset(struct dl_phdr_info *info, size_t size, void *data)
{
	struct file_off *fo = data;

	if (info->dlpi_name[0])
		return 0;	/* the main program comes first, unnamed */
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && fo->addr >= lo &&
		    fo->addr < lo + ph->p_memsz) {
			fo->off = fo->addr - lo + ph->p_offset;
			fo->found = true;
		}
	}
	return 1;
}

/*
 * ns per hit of a kernel uprobe ('p') or uretprobe ('r') on bench_target,
 * recorded into the trace buffer as tracefs does; 0 when tracefs cannot be
 * used here (not root, no uprobes).
 */
static double measure_uprobe(char kind, long n)
{
	struct file_off fo = { .addr = (uintptr_t)bench_target };
	char exe[512], def[700];
	ssize_t len;
	double ns = 0;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0 || geteuid() != 0)
		return 0;
	exe[len] = '\0';
	dl_iterate_phdr(exe_offset, &fo);
	if (!fo.found)
		return 0;
	snprintf(def, sizeof(def), "%c:kpbench/hit %s:0x%lx\n", kind, exe,
		 fo.off);
	tracefs_write("uprobe_events", "-:kpbench/hit\n", true);
	if (!tracefs_write("uprobe_events", def, true))
		return 0;
	if (tracefs_write("events/kpbench/hit/enable", "1\n", false))
		ns = measure(call_target, n);
	tracefs_write("events/kpbench/hit/enable", "0\n", false);
	tracefs_write("uprobe_events", "-:kpbench/hit\n", true);
	tracefs_write("trace", "", false);	/* empty the buffer */
	return ns;
}

struct result {
	const char *name;
	double ns, median;
};

static struct result results[16];
static int nresults;

static void record(const char *name, double ns)
{
	results[nresults].name = name;
	results[nresults].median = last_median;
	results[nresults++].ns = ns;
}

static void *thread_calls(void *arg)
{
	call_target((long)arg);
	return NULL;
}

/* Hits per second with @threads threads calling the probed function: the
 * best of RUNS runs. */
static double hits_per_second(int threads, long per_thread)
{
	double best = 0;

	for (int r = 0; r < RUNS; r++) {
		pthread_t t[8];
		double t0 = now_ns(), hps;

		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, thread_calls,
				       (void *)per_thread);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		hps = threads * per_thread / ((now_ns() - t0) / 1e9);
		if (hps > best)
			best = hps;
	}
	return best;
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && !strcmp(argv[1], "--json");
	const long n_fast = 20000000, n_opt = 2000000, n_trap = 100000;
	struct sigaction sa, old;
	double base, floor_ns, hps1, hps2, reg_s, up, uret, kp_ns, rp_ns;
	double opt_ns, opt_fp_ns, ropt_ns, hps1_trap, hps2_trap;
	struct kprobe kp = { .symbol_name = "bench_target", .pre_handler = pre };
	struct kprobe kp2 = { .symbol_name = "bench_target", .pre_handler = pre };
	struct kretprobe rp = { .kp.symbol_name = "bench_target",
				.handler = ret_handler, .maxactive = 16 };
	enum { NPROBES = 10000 };
	static struct kprobe many[NPROBES];
	static struct kprobe *manyp[NPROBES];

	base = measure(call_target, n_fast);
	record("unprobed call", base);

	/* The trap floor, before libkprobe owns SIGTRAP. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bare_trap;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGTRAP, &sa, &old);
	floor_ns = measure(call_int3, n_trap);
	sigaction(SIGTRAP, &old, NULL);
	record("int3 -> SIGTRAP -> sigreturn (floor)", floor_ns);

	/* The kernel's uprobes, before libkprobe owns the function. */
	up = measure_uprobe('p', n_trap);
	if (up)
		record("kernel uprobe (tracefs)", up);
	uret = measure_uprobe('r', n_trap);
	if (uret)
		record("kernel uretprobe (tracefs)", uret);

	must(register_kprobe(&kp));
	if (!kprobe_optimized(&kp))
		fprintf(stderr, "bench_probes: bench_target's probe is not "
			"jump-optimized\n");
	opt_ns = measure(call_target, n_opt);
	record("kprobe, pre_handler (optimized)", opt_ns);
	hps1 = hits_per_second(1, n_opt);
	hps2 = hits_per_second(2, n_opt);
	unregister_kprobe(&kp);
	kp.addr = NULL;

	kp.pre_handler = pre_fp;
	must(register_kprobe(&kp));
	opt_fp_ns = measure(call_target, n_opt);
	record("kprobe, FP-using pre_handler (optimized)", opt_fp_ns);
	unregister_kprobe(&kp);
	kp.addr = NULL;
	kp.pre_handler = pre;

	must(register_kretprobe(&rp));
	ropt_ns = measure(call_target, n_opt);
	record("kretprobe (optimized entry)", ropt_ns);
	unregister_kretprobe(&rp);
	rp.kp.addr = NULL;

	kprobe_optimization(0);
	must(register_kprobe(&kp));
	kp_ns = measure(call_target, n_trap);
	record("kprobe, pre_handler (boosted)", kp_ns);
	unregister_kprobe(&kp);

	/* As in the kernel, a registered probe keeps its resolved addr:
	 * clear it to register the struct again by name. */
	kp.addr = NULL;
	kp.post_handler = post;
	must(register_kprobe(&kp));
	record("kprobe, pre + post_handler", measure(call_target, n_trap));
	unregister_kprobe(&kp);

	kp.addr = NULL;
	kp.post_handler = NULL;
	must(register_kprobe(&kp));
	must(register_kprobe(&kp2));
	record("two aggregated kprobes", measure(call_target, n_trap));
	unregister_kprobe(&kp2);
	unregister_kprobe(&kp);

	must(register_kretprobe(&rp));
	rp_ns = measure(call_target, n_trap);
	record("kretprobe (trap at entry)", rp_ns);
	unregister_kretprobe(&rp);

	kp.addr = NULL;
	must(register_kprobe(&kp));
	hps1_trap = hits_per_second(1, n_trap);
	hps2_trap = hits_per_second(2, n_trap);
	unregister_kprobe(&kp);
	kprobe_optimization(1);

	/* 10,000 probes, all aggregated at one function's entry: the batch
	 * calls' own cost (resolving, checking, the registry) is what is
	 * timed; spreading them over 10,000 functions is a later figure. */
	for (int i = 0; i < NPROBES; i++) {
		many[i] = (struct kprobe){ .symbol_name = "bench_target",
					   .pre_handler = pre };
		manyp[i] = &many[i];
	}
	{
		double t0 = now_ns();

		must(register_kprobes(manyp, NPROBES));
		unregister_kprobes(manyp, NPROBES);
		reg_s = (now_ns() - t0) / 1e9;
	}

	if (json) {
		printf("{\n  \"results_ns_per_hit\": {\n");
		for (int i = 0; i < nresults; i++)
			printf("    \"%s\": {\"best\": %.1f, \"median\": "
			       "%.1f}%s\n", results[i].name, results[i].ns,
			       results[i].median, i + 1 < nresults ? "," : "");
		printf("  },\n  \"hits_per_second\": {\"1 thread\": %.0f, "
		       "\"2 threads\": %.0f, \"1 thread, trap\": %.0f, "
		       "\"2 threads, trap\": %.0f},\n", hps1, hps2,
		       hps1_trap, hps2_trap);
		printf("  \"optimized_kprobe_ns_above_unprobed\": %.1f,\n"
		       "  \"optimized_fp_kprobe_ns_above_unprobed\": %.1f,\n"
		       "  \"optimized_kretprobe_ns_above_unprobed\": %.1f,\n",
		       opt_ns - base, opt_fp_ns - base, ropt_ns - base);
		if (up)
			printf("  \"speedup_over_uprobe\": %.2f,\n"
			       "  \"speedup_over_uretprobe\": %.2f,\n",
			       up / kp_ns, uret / rp_ns);
		printf("  \"register_unregister_10000_s\": %.3f\n}\n", reg_s);
		return 0;
	}
	printf("ns per hit: the best of %d batches, and their median; the "
	       "ratios are of the best\n\n", BATCHES);
	printf("%-42s %9s %9s %11s %8s\n", "what", "best", "median",
	       "x unprobed", "x floor");
	for (int i = 0; i < nresults; i++)
		printf("%-42s %9.1f %9.1f %11.1f %8.2f\n", results[i].name,
		       results[i].ns, results[i].median, results[i].ns / base,
		       results[i].ns / floor_ns);
	if (up)
		printf("\nkprobe vs kernel uprobe: %.2fx faster; kretprobe vs "
		       "uretprobe: %.2fx faster\n",
		       up / kp_ns, uret / rp_ns);
	else
		printf("\n(kernel uprobes not measured: needs root and "
		       "tracefs with uprobes)\n");
	printf("\noptimized: kprobe %.1f ns (%.1f ns with an FP-using "
	       "handler) and kretprobe %.1f ns above the unprobed call\n",
	       opt_ns - base, opt_fp_ns - base, ropt_ns - base);
	printf("hits/s on the optimized probe, 1 thread: %.0f; 2 threads: "
	       "%.0f (x%.2f)\n", hps1, hps2, hps2 / hps1);
	printf("hits/s on the boosted probe, 1 thread: %.0f; 2 threads: "
	       "%.0f (x%.2f)\n", hps1_trap, hps2_trap, hps2_trap / hps1_trap);
	printf("10,000 probes (aggregated at one address) registered + "
	       "unregistered in batch: %.3f s\n", reg_s);
	return 0;
}
