// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What tracing one hot function costs a program (a Meson benchmark, never
 * a timed test): trace_loop calls hot() 10 million times, untraced, under
 * kprobe-trace (--stats; and entry + return events with a timestamp and
 * two arguments), and, when it is installed, under uftrace (entry and
 * return of hot, recorded). Each figure is the best of 3 runs' ns per
 * call, beside the untraced one and as the difference.
 *
 * argv: kprobe-trace, trace_loop, trace_loop built with -pg (for uftrace).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 3

/* Run argv with stdout to /dev/null, stderr to a pipe; the ns/call it
 * printed (the last "ns/call" line), or -1. */
static double run_once(char *const argv[])
{
	int p[2], status;
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	double v = -1;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(stdout);		/* or the child's freopen() writes it again */
	pid = fork();
	if (pid == 0) {
		FILE *null = freopen("/dev/null", "w", stdout);

		(void)null;
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	for (char *s = buf; (s = strstr(s, "ns/call ")); s++)
		v = atof(s + 8);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? v : -1;
}

static double best(char *const argv[])
{
	double b = -1;

	for (int r = 0; r < RUNS; r++) {
		double v = run_once(argv);

		if (v > 0 && (b < 0 || v < b))
			b = v;
	}
	return b;
}

static void row(const char *what, double v, double base)
{
	if (v < 0)
		printf("%-52s %10s\n", what, "failed");
	else
		printf("%-52s %10.1f %10.1f %9.1fx\n", what, v, v - base,
		       v / base);
}

int main(int argc, char **argv)
{
	char *plain[] = { argv[2], NULL };
	char *stats[] = { argv[1], "--stats", "-o", "/dev/null", "-e",
			  "p:h hot a=$arg1 b=$arg2", "-e", "r:hr hot", "--",
			  argv[2], NULL };
	char *events[] = { argv[1], "-o", "/dev/null", "-e",
			   "p:h hot a=$arg1 b=$arg2", "-e", "r:hr hot", "--",
			   argv[2], NULL };
	char *uftrace[] = { "uftrace", "record", "-d", "/tmp/kp-bench-uftrace",
			    "-P", "hot", "-A", "hot@arg1,arg2", "-R", "hot",
			    argv[3], NULL };
	double base;

	if (argc < 4) {
		fprintf(stderr, "usage: %s KPROBE-TRACE TRACE_LOOP "
			"TRACE_LOOP_PG\n", argv[0]);
		return 2;
	}
	base = best(plain);
	printf("ns per call of hot() in trace_loop, the best of %d runs of "
	       "10 million calls\n\n", RUNS);
	printf("%-52s %10s %10s %10s\n", "how", "ns/call", "added", "x");
	row("untraced", base, base);
	row("kprobe-trace --stats (entry count, return times)", best(stats),
	    base);
	row("kprobe-trace, entry + return events (ts, 2 args)", best(events),
	    base);
	if (system("uftrace --version > /dev/null 2>&1") == 0) {
		double u = best(uftrace);

		row("uftrace record -P hot -A args -R retval", u, base);
		if (system("rm -rf /tmp/kp-bench-uftrace"))
			return 1;
	} else {
		printf("(uftrace not installed: apt-get install uftrace)\n");
	}
	printf("\nkprobe-trace's events are written to /dev/null here; a "
	       "writer that falls behind drops events and says how many.\n");
	return 0;
}
