// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A program for test_preload to trace: it knows nothing of libkprobe.
 * work(i, name) for i = 0..4, then the sum on stdout.
 *
 * "trace_target threads N M R": R rounds (20 ms apart) of N threads, all
 * alive at once, each calling work() M times; then the total count on
 * stdout. "trace_target fork":
 * work() 5 times, then a child that calls it 3 times; the parent waits.
 * "trace_target _exit": work() 5 times, then _exit(0), which runs no
 * destructor. "trace_target vfork": a vfork() child that leaves at once
 * by _exit(0), then work() 5 times and the sum. "trace_target exec PATH":
 * work() 5 times, then execl(PATH); if that fails, work() 3 times more
 * and the sum. "trace_target segv" and "trace_target abort": work() 5
 * times, then die of SIGSEGV (a store through NULL) or abort(), with no
 * core dump; "term", "quit", "pipe" and "assert" likewise die of SIGTERM,
 * SIGQUIT (raise()), SIGPIPE (a write into a pipe nobody reads) and a
 * failed assert() (glibc's own abort()); "again" of SIGTERM after setting
 * SIG_IGN, then SIG_DFL; "vterm" of SIGTERM after a vfork() child set
 * SIGTERM's action (its own: the parent still reads what it read before,
 * status 0 if so). "ign": signal(SIGTERM, SIG_IGN),
 * then raise(SIGTERM), survived. "query": does the program see SIG_DFL
 * for SIGINT, and what it sets? Status 1 if not. "wait FD": work() 5
 * times, a byte to FD, then wait for a signal for ever. "exitterm":
 * work() 5 times, then return from main() while a thread of its own
 * sends the process SIGTERM as soon as it sees a thread of the process
 * end (the tracer's, whose end is the start of its exit-time writing).
 */
#undef NDEBUG
#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) int work(int a, const char *name)
{
	return a * 2 + (int)strlen(name);
}

static pthread_barrier_t all_up;
static long per_thread;

static void *worker(void *arg)
{
	long s = 0;

	pthread_barrier_wait(&all_up);
	for (long i = 0; i < per_thread; i++)
		s += work((int)i, "t");
	/* Everyone counted before anyone leaves. */
	pthread_barrier_wait(&all_up);
	return (void *)s;
}

static int threads(int n, long m, int rounds)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	per_thread = m;
	if (!t || pthread_barrier_init(&all_up, NULL, (unsigned int)n))
		return 1;
	for (int r = 0; r < rounds; r++) {
		if (r)
			nanosleep(&pause, NULL);
		for (int i = 0; i < n; i++)
			if (pthread_create(&t[i], NULL, worker, NULL))
				return 1;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	}
	printf("calls=%ld\n", n * m * rounds);
	return 0;
}

static int forked(void)
{
	long s = 0;
	pid_t pid;
	int st;

	for (int i = 0; i < 5; i++)
		s += work(i, "parent");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			s += work(i, "child");
		printf("child=%ld\n", s);
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 1;
	printf("sum=%ld\n", s);
	return 0;
}

/* A vfork() child shares our memory until it leaves: by _exit(). */
static int vforked(void)
{
	pid_t pid = vfork();

	if (pid == 0)
		_exit(0);
	return pid < 0 || waitpid(pid, NULL, 0) != pid;
}

/* The vfork() child of vterm(), async-signal-safe calls only: SIG_DFL
 * with flags, then SIG_IGN, both its own (it survives its SIGTERM). */
static __attribute__((noinline)) int vterm_child(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGTERM, NULL, &old) ||
	    old.sa_handler != SIG_DFL || !(old.sa_flags & SA_NODEFER))
		return 2;
	if (signal(SIGTERM, SIG_IGN) != SIG_DFL)
		return 3;
	/* Not raise(): glibc's sends to the thread it caches, the parent's. */
	kill(getpid(), SIGTERM);
	return 0;
}

/* A vfork() child sets SIGTERM's action; ours must read back as before. */
static int vterm(void)
{
	struct sigaction before, after;
	int st = -1;
	pid_t pid;

	if (sigaction(SIGTERM, NULL, &before))
		return 1;
	pid = vfork();
	if (pid == 0)
		_exit(vterm_child());
	if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0) {
		printf("the vfork() child: status %#x\n", st);
		return 1;
	}
	if (sigaction(SIGTERM, NULL, &after) ||
	    after.sa_handler != before.sa_handler ||
	    after.sa_flags != before.sa_flags) {
		printf("SIGTERM reads back %p, flags %#x, not %p, %#x\n",
		       (void *)after.sa_handler, after.sa_flags,
		       (void *)before.sa_handler, before.sa_flags);
		return 1;
	}
	return 0;
}

/* The program's view of SIGINT: SIG_DFL, and then what it sets. */
static int query(void)
{
	struct sigaction old;

	if (sigaction(SIGINT, NULL, &old) || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO)) {
		puts("SIGINT is not SIG_DFL");
		return 1;
	}
	if (signal(SIGINT, SIG_IGN) != SIG_DFL ||
	    signal(SIGINT, SIG_DFL) != SIG_IGN ||
	    sigaction(SIGINT, NULL, &old) || old.sa_handler != SIG_DFL) {
		puts("SIGINT does not read back");
		return 1;
	}
	puts("SIG_DFL");
	return 0;
}

/* The threads of this process, as /proc/self/task lists them. */
static int nthreads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void *exit_watcher(void *arg)
{
	int start = *(int *)arg;

	while (nthreads() >= start)
		;
	kill(getpid(), SIGTERM);
	for (;;)
		pause();
	return NULL;
}

static const char *const deaths[] = {
	"segv", "abort", "assert", "term", "again", "vterm", "quit", "pipe",
};

static bool is_death(const char *mode)
{
	for (size_t i = 0; i < sizeof(deaths) / sizeof(*deaths); i++)
		if (!strcmp(mode, deaths[i]))
			return true;
	return false;
}

/* Die of @mode's signal; return only if it did not kill. */
static void die(const char *mode, long s)
{
	int fds[2];

	if (!strcmp(mode, "abort"))
		abort();
	if (!strcmp(mode, "assert"))
		assert(s == 0);
	if (!strcmp(mode, "term"))
		raise(SIGTERM);
	if (!strcmp(mode, "again")) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
	}
	if (!strcmp(mode, "vterm") && !vterm())
		raise(SIGTERM);
	if (!strcmp(mode, "quit"))
		raise(SIGQUIT);
	if (!strcmp(mode, "pipe") && !pipe(fds)) {
		close(fds[0]);
		if (write(fds[1], "x", 1) < 0)
			perror("write");
	}
	if (!strcmp(mode, "segv"))
		*(volatile int *)(uintptr_t)s = 1;	/* s is small: no page */
}

int main(int argc, char **argv)
{
	long s = 0;

	if (argc == 2 && !strcmp(argv[1], "query"))
		return query();
	if (argc == 3 && !strcmp(argv[1], "wait")) {
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		printf("sum=%ld\n", s);	/* (else the calls are dead) */
		fflush(stdout);
		if (write(atoi(argv[2]), "r", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	if (argc == 2 && !strcmp(argv[1], "ign")) {
		if (signal(SIGTERM, SIG_IGN) != SIG_DFL)
			return 1;
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		raise(SIGTERM);
		printf("sum=%ld\n", s);
		return 0;
	}

	if (argc == 5 && !strcmp(argv[1], "threads"))
		return threads(atoi(argv[2]), atol(argv[3]), atoi(argv[4]));
	if (argc == 2 && !strcmp(argv[1], "fork"))
		return forked();
	if (argc == 2 && !strcmp(argv[1], "_exit")) {
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		printf("sum=%ld\n", s);
		fflush(stdout);
		_exit(0);
	}
	if (argc == 2 && !strcmp(argv[1], "exitterm")) {
		static int start;
		pthread_t t;

		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		printf("sum=%ld\n", s);
		fflush(stdout);
		start = nthreads() + 1;		/* and the watcher */
		if (pthread_create(&t, NULL, exit_watcher, &start))
			return 1;
		while (nthreads() < start)
			;
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "vfork") && vforked())
		return 1;
	if (argc == 2 && is_death(argv[1])) {
		struct rlimit none = { 0, 0 };

		setrlimit(RLIMIT_CORE, &none);
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		printf("sum=%ld\n", s);
		fflush(stdout);
		die(argv[1], s);
		puts("survived");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "exec")) {
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		fflush(stdout);
		execl(argv[2], argv[2], (char *)NULL);
		for (int i = 0; i < 3; i++)
			s += work(i, "y");
		printf("exec failed, sum=%ld\n", s);
		return 0;
	}
	for (int i = 0; i < 5; i++)
		s += work(i, i % 2 ? "odd" : "even");
	printf("sum=%ld\n", s);
	return 0;
}
