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
 * core dump.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	long s = 0;

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
	if (argc == 2 && !strcmp(argv[1], "vfork") && vforked())
		return 1;
	if (argc == 2 && (!strcmp(argv[1], "segv") ||
			  !strcmp(argv[1], "abort"))) {
		struct rlimit none = { 0, 0 };

		setrlimit(RLIMIT_CORE, &none);
		for (int i = 0; i < 5; i++)
			s += work(i, "x");
		printf("sum=%ld\n", s);
		fflush(stdout);
		if (!strcmp(argv[1], "abort"))
			abort();
		*(volatile int *)(uintptr_t)s = 1;	/* s is small: no page */
		return 1;
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
