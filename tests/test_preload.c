// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkprobe-preload.so on programs that know nothing of it: our own
 * trace_target, and Debian's gzip. Each is run twice, traced and not: its
 * output must not change, and the events must be the calls it made.
 *
 * Then kprobe-trace, the command around it: the same through it, its
 * refusals (the program not started), its exit status (the program's).
 *
 * argv[1]: libkprobe-preload.so; argv[2]: trace_target; argv[3]:
 * kprobe-trace; argv[4]: dlopen_target; argv[5]: the library it loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *preload, *target, *cli, *dl_prog, *dl_lib;
static char dir[] = "/tmp/kp-preload-XXXXXX";

/* Read a whole file (NUL-terminated); NULL if it cannot. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &n, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	if (len)
		*len = strlen(buf);
	fclose(f);
	return buf;
}

/* The signals the tests kill with: default in every program we start,
 * whatever this process inherited. */
static const int test_signals[] = { SIGINT, SIGTERM, SIGQUIT, SIGPIPE };

/*
 * Start argv with stdout to @out and stderr to @err (paths in dir; NULL:
 * ours), and, if @events, traced: the definitions, the format, the trace
 * to @trace. Return its pid.
 */
static pid_t spawn(char *const argv[], const char *events,
		   const char *format, const char *trace, const char *out,
		   const char *err)
{
	char path[256];
	pid_t pid = fork();

	if (pid == 0) {
		for (size_t i = 0; i < sizeof(test_signals) / sizeof(int); i++)
			signal(test_signals[i], SIG_DFL);
		snprintf(path, sizeof(path), "%s/%s", dir, out);
		if (!freopen(path, "w", stdout))
			_exit(126);
		snprintf(path, sizeof(path), "%s/%s", dir, err);
		if (err && !freopen(path, "w", stderr))
			_exit(126);
		if (events) {
			setenv("KPROBE_TRACE_EVENTS", events, 1);
			snprintf(path, sizeof(path), "%s/%s", dir, trace);
			setenv("KPROBE_TRACE_OUTPUT", path, 1);
			if (format)
				setenv("KPROBE_TRACE_FORMAT", format, 1);
			/* (main() sets preload before any test runs.) */
			setenv("LD_PRELOAD", preload ? preload : "", 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_true(pid > 0);
	return pid;
}

/* spawn(), then its exit status. */
static int run(char *const argv[], const char *events, const char *format,
	       const char *trace, const char *out, const char *err)
{
	int status = -1;

	waitpid(spawn(argv, events, format, trace, out, err), &status, 0);
	return status;
}

static char *in_dir(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static void test_target(void **state)
{
	char *argv[] = { (char *)target, NULL };
	char *plain, *traced, *trace;
	int st;

	(void)state;
	st = run(argv, NULL, NULL, NULL, "plain.out", "plain.err");
	assert_int_equal(st, 0);
	st = run(argv, "p:w work a=$arg1:s32 n=$arg2:string;"
		 "r:wr work rv=$retval:s32", NULL, "trace.txt", "traced.out",
		 "traced.err");
	assert_int_equal(st, 0);
	plain = slurp(in_dir("plain.out"), NULL);
	traced = slurp(in_dir("traced.out"), NULL);
	assert_non_null(plain);
	assert_non_null(traced);
	assert_string_equal(plain, "sum=38\n");
	assert_string_equal(traced, plain);
	free(traced);
	traced = slurp(in_dir("traced.err"), NULL);
	assert_string_equal(traced, "");	/* nothing on its stderr */
	trace = slurp(in_dir("trace.txt"), NULL);
	assert_non_null(trace);
	/* Every call, in order, with its arguments and its return value. */
	assert_int_equal(count(trace, ": w: (work+0x0)"), 5);
	assert_int_equal(count(trace, ": wr: ("), 5);
	assert_non_null(strstr(trace, "w: (work+0x0) a=0 n=\"even\"\n"));
	assert_non_null(strstr(trace, "w: (work+0x0) a=3 n=\"odd\"\n"));
	assert_non_null(strstr(trace, "<- work) rv=12\n"));
	assert_non_null(strstr(trace, ": 10 events, 0 dropped\n"));
	assert_non_null(strstr(trace, "trace_target-"));	/* comm-tid */
	free(plain);
	free(traced);
	free(trace);
}

static void test_json(void **state)
{
	char *argv[] = { (char *)target, NULL };
	char *trace;

	(void)state;
	assert_int_equal(run(argv, "p:w work a=$arg1:u8 $comm", "json",
			     "trace.json", "json.out", "json.err"), 0);
	trace = slurp(in_dir("trace.json"), NULL);
	assert_non_null(trace);
	assert_int_equal(count(trace, "\"event\":\"w\""), 5);
	assert_non_null(strstr(trace, "\"args\":{\"a\":4,\"arg2\":"
				      "\"trace_target\"}}\n"));
	assert_non_null(strstr(trace, "{\"summary\":{"));
	assert_non_null(strstr(trace, "\"events\":5,\"dropped\":0}}\n"));
	free(trace);
}

/* A definition that does not parse: said on stderr with a caret, nothing
 * traced, and the program runs as ever. */
static void test_bad_definition(void **state)
{
	char *argv[] = { (char *)target, NULL };
	char *out, *err;

	(void)state;
	assert_int_equal(run(argv, "p:w work %zz", NULL, "bad.txt", "bad.out",
			     "bad.err"), 0);
	out = slurp(in_dir("bad.out"), NULL);
	err = slurp(in_dir("bad.err"), NULL);
	assert_string_equal(out, "sum=38\n");
	assert_non_null(strstr(err, "p:w work %zz\n"
				    "          ^\n"
				    "unknown register \"zz\"\n"));
	assert_non_null(strstr(err, "nothing is traced"));
	assert_int_equal(access(in_dir("bad.txt"), F_OK), -1);
	free(out);
	free(err);
}

/* Debian's gzip: libc's read() as it reads its input. The compressed
 * bytes are the same; the reads it returned add up to the file's size. */
static void test_gzip(void **state)
{
	char *input = strdup(in_dir("input.bin"));
	char *argv[] = { "gzip", "-c", input, NULL };
	char *plain, *traced, *trace, buf[4096];
	size_t plain_len, traced_len;
	long total = 0, entries, returns;
	int fd, rnd;

	(void)state;
	if (access("/bin/gzip", X_OK) && access("/usr/bin/gzip", X_OK)) {
		print_message("gzip is not installed: skipped\n");
		skip();
	}
	/* 200 kB of a fixed pseudo-random pattern. */
	fd = open(input, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	rnd = 12345;
	for (int k = 0; k < 50; k++) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			rnd = rnd * 1103515245 + 12345;
			buf[i] = (char)(rnd >> 16);
		}
		assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	}
	close(fd);
	assert_int_equal(run(argv, NULL, NULL, NULL, "gz.plain", "gz.err"), 0);
	assert_int_equal(run(argv, "p:rd libc:read fd=$arg1:s32 n=$arg3:u64;"
			     "r:rdr libc:read rv=$retval:s64", NULL, "gz.txt",
			     "gz.traced", "gz.err2"), 0);
	plain = slurp(in_dir("gz.plain"), &plain_len);
	traced = slurp(in_dir("gz.traced"), &traced_len);
	assert_non_null(plain);
	assert_non_null(traced);
	/* Binary: compare through the files' sizes and bytes. */
	{
		struct stat a, b;
		char cmd[600];

		assert_int_equal(stat(in_dir("gz.plain"), &a), 0);
		assert_int_equal(stat(in_dir("gz.traced"), &b), 0);
		assert_int_equal(a.st_size, b.st_size);
		snprintf(cmd, sizeof(cmd), "cmp -s %s/gz.plain %s/gz.traced",
			 dir, dir);
		assert_int_equal(system(cmd), 0);
	}
	trace = slurp(in_dir("gz.txt"), NULL);
	assert_non_null(trace);
	entries = count(trace, ": rd: (read+0x0) fd=");
	returns = count(trace, ": rdr: (");
	assert_true(entries > 0);
	assert_int_equal(entries, returns);
	for (const char *p = trace; (p = strstr(p, " rv=")); p++) {
		long v = strtol(p + 4, NULL, 10);

		if (v > 0)
			total += v;
	}
	assert_int_equal(total, 50 * (long)sizeof(buf));
	free(plain);
	free(traced);
	free(trace);
	free(input);
}

/* Start kprobe-trace ARGS with stdout and stderr to files (NULL: ours);
 * its pid. */
static pid_t spawn_cli(char *const args[], const char *out, const char *err)
{
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)cli;
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	return spawn(argv, NULL, NULL, NULL, out, err);
}

/* The same, then its wait status. */
static int run_cli(char *const args[], const char *out, const char *err)
{
	int status = -1;

	waitpid(spawn_cli(args, out, err), &status, 0);
	return status;
}

static void test_cli(void **state)
{
	char *trace_file = strdup(in_dir("cli.txt"));
	char *args[] = { "-o", trace_file, "-e", "p:w work a=$arg1:s32",
			 "-e", "r:wr work rv=$retval:s32", "--",
			 (char *)target, NULL };
	char *out, *trace;
	int st;

	(void)state;
	st = run_cli(args, "cli.out", "cli.err");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	out = slurp(in_dir("cli.out"), NULL);
	trace = slurp(in_dir("cli.txt"), NULL);
	assert_string_equal(out, "sum=38\n");
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	assert_non_null(strstr(trace, "<- work) rv=12\n"));
	free(out);
	free(trace);
	free(trace_file);
}

/* "OBJ:SYM" naming the program itself: loaded from the start, by the
 * same rule as libkprobe's symbol_name (the main executable included). */
static void test_cli_own_object(void **state)
{
	char *trace_file = strdup(in_dir("own.txt"));
	char *args[] = { "-o", trace_file, "-e",
			 "p:w trace_target:work a=$arg1:s32", "--",
			 (char *)target, NULL };
	char *trace;

	(void)state;
	assert_int_equal(run_cli(args, "own.out", "own.err"), 0);
	trace = slurp(in_dir("own.txt"), NULL);
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	free(trace);
	free(trace_file);
}

/* Refused before the program starts: its output stays empty, status 2. */
static void test_cli_refusals(void **state)
{
	char *bad_syntax[] = { "-e", "p:w work %zz", "--", (char *)target,
			       NULL };
	char *no_such[] = { "-e", "p:w no_such_function", "--",
			    (char *)target, NULL };
	char *out, *err;
	int st;

	(void)state;
	st = run_cli(bad_syntax, "r1.out", "r1.err");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	out = slurp(in_dir("r1.out"), NULL);
	err = slurp(in_dir("r1.err"), NULL);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "p:w work %zz\n          ^\n"
				    "unknown register \"zz\"\n"));
	free(out);
	free(err);

	st = run_cli(no_such, "r2.out", "r2.err");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	out = slurp(in_dir("r2.out"), NULL);
	err = slurp(in_dir("r2.err"), NULL);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "no_such_function"));
	assert_non_null(strstr(err, "is not started"));
	free(out);
	free(err);
}

/* The exit status and the fatal signal are the program's. */
static void test_cli_status(void **state)
{
	char *exit3[] = { "-o", "/dev/null", "-e", "p libc:getpid", "--",
			  "sh", "-c", "exit 3", NULL };
	char *killed[] = { "-o", "/dev/null", "-e", "p libc:getpid", "--",
			   "sh", "-c", "kill -TERM $$", NULL };
	int st;

	(void)state;
	st = run_cli(exit3, "s1.out", "s1.err");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	st = run_cli(killed, "s2.out", "s2.err");
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGTERM);
}

/* --stats: the counts are the calls; a return probe's durations are
 * ordered (p50 <= p90 <= p99 <= max). No event is written. */
static void test_cli_stats(void **state)
{
	char *trace_file = strdup(in_dir("stats.txt"));
	char *args[] = { "--stats", "-o", trace_file, "-e", "p:w work",
			 "-e", "r:wr work", "--", (char *)target, NULL };
	char *out, *trace, *line;

	(void)state;
	assert_int_equal(run_cli(args, "st.out", "st.err"), 0);
	out = slurp(in_dir("st.out"), NULL);
	trace = slurp(in_dir("stats.txt"), NULL);
	assert_string_equal(out, "sum=38\n");
	assert_non_null(strstr(trace, "# kprobe-trace --stats"));
	assert_non_null(strstr(trace, "\nw                                   "
				      "5\n"));
	line = strstr(trace, "\nwr ");
	assert_non_null(line);
	{
		double v[4];
		char u[4][3];
		long hits = 0;

		assert_int_equal(sscanf(line, "\nwr %ld %lf%2s %lf%2s %lf%2s "
					"%lf%2s", &hits, &v[0], u[0], &v[1],
					u[1], &v[2], u[2], &v[3], u[3]), 9);
		assert_int_equal(hits, 5);
		for (int i = 0; i < 4; i++) {
			double scale = u[i][0] == 'n' ? 1 : u[i][0] == 'u' ?
				       1e3 : u[i][0] == 'm' ? 1e6 : 1e9;

			v[i] *= scale;
		}
		assert_true(v[0] > 0 && v[0] <= v[1] && v[1] <= v[2] &&
			    v[2] <= v[3]);
	}
	assert_null(strstr(trace, ": w: ("));
	free(out);
	free(trace);
	free(trace_file);
}

/* The count on an event's line of a --stats table in @trace: -1 if none. */
static long stats_count(const char *trace, const char *event)
{
	char key[64];
	const char *line;
	long n;

	snprintf(key, sizeof(key), "\n%s ", event);
	line = strstr(trace, key);
	if (!line || sscanf(line + strlen(key), "%ld", &n) != 1)
		return -1;
	return n;
}

/*
 * --stats with 100 threads alive at once, more than there are per-thread
 * blocks of counters (64): the first ones count in their blocks, the rest
 * in the shared counts, and the table sums both, every call counted. Two
 * rounds, so that the flusher may fold the first round's blocks into the
 * shared counts and the second round reuse them.
 */
static void test_cli_stats_threads(void **state)
{
	char *trace_file = strdup(in_dir("stthr.txt"));
	char *args[] = { "--stats", "-o", trace_file, "-e", "p:w work",
			 "-e", "r:wr work", "--", (char *)target, "threads",
			 "100", "500", "2", NULL };
	char *out, *trace;

	(void)state;
	assert_int_equal(run_cli(args, "stt.out", "stt.err"), 0);
	out = slurp(in_dir("stt.out"), NULL);
	trace = slurp(in_dir("stthr.txt"), NULL);
	assert_string_equal(out, "calls=100000\n");
	/* 100 threads x 1000 calls, entries and returns */
	assert_int_equal(stats_count(trace, "w"), 100000);
	assert_int_equal(stats_count(trace, "wr"), 100000);
	free(out);
	free(trace);
	free(trace_file);
}

/* --stats in a program that forks: each process's table counts its own
 * calls (the child's does not repeat the parent's before the fork). */
static void test_cli_stats_fork(void **state)
{
	char *trace_file = strdup(in_dir("stfork.txt"));
	char *args[] = { "--stats", "-o", trace_file, "-e", "p:w work",
			 "--", (char *)target, "fork", NULL };
	char *trace, *second;

	(void)state;
	assert_int_equal(run_cli(args, "stf.out", "stf.err"), 0);
	trace = slurp(in_dir("stfork.txt"), NULL);
	second = strstr(trace, "# kprobe-trace --stats");
	assert_non_null(second);
	second = strstr(second + 1, "# kprobe-trace --stats");
	assert_non_null(second);
	/* The child exits first: its table comes first. */
	assert_int_equal(stats_count(trace, "w"), 3);
	assert_int_equal(stats_count(second, "w"), 5);
	free(trace);
	free(trace_file);
}

/*
 * A program that leaves by _exit() runs no destructor: its events and the
 * summary are written all the same (the flusher's last drain), and the
 * summary says how it left. A vfork() child's _exit() leaves the parent's
 * trace alone.
 */
static void test_cli_exit(void **state)
{
	char *trace_file = strdup(in_dir("exit.txt"));
	char *vfork_file = strdup(in_dir("vfork.txt"));
	char *args[] = { "-o", trace_file, "-e", "p:w work a=$arg1:s32",
			 "-e", "r:wr work", "--", (char *)target, "_exit",
			 NULL };
	char *vargs[] = { "-o", vfork_file, "-e", "p:w work a=$arg1:s32",
			  "--", (char *)target, "vfork", NULL };
	char *out, *trace;

	(void)state;
	assert_int_equal(run_cli(args, "ex.out", "ex.err"), 0);
	out = slurp(in_dir("ex.out"), NULL);
	trace = slurp(in_dir("exit.txt"), NULL);
	assert_string_equal(out, "sum=25\n");
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	assert_int_equal(count(trace, ": wr: ("), 5);
	assert_non_null(strstr(trace, ": 10 events, 0 dropped (left by "
				      "_exit)\n"));
	free(out);
	free(trace);

	assert_int_equal(run_cli(vargs, "vf.out", "vf.err"), 0);
	out = slurp(in_dir("vf.out"), NULL);
	trace = slurp(in_dir("vfork.txt"), NULL);
	assert_string_equal(out, "sum=38\n");
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	assert_non_null(strstr(trace, ": 5 events, 0 dropped\n"));
	assert_int_equal(count(trace, "# kprobe-trace: pid"), 1);
	free(out);
	free(trace);
	free(trace_file);
	free(vfork_file);
}

/*
 * A program that replaces itself by exec(): its events are written before
 * the new image starts (which finds no function to trace, and says so in
 * its own summary line); and when the exec fails, the trace goes on.
 */
static void test_cli_exec(void **state)
{
	char *trace_file = strdup(in_dir("exec.txt"));
	char *fail_file = strdup(in_dir("execfail.txt"));
	char *args[] = { "-o", trace_file, "-e", "p:w work a=$arg1:s32",
			 "--", (char *)target, "exec", "/bin/true", NULL };
	char *fargs[] = { "-o", fail_file, "-e", "p:w work a=$arg1:s32",
			  "--", (char *)target, "exec", "/nonexistent", NULL };
	char *out, *trace;

	(void)state;
	assert_int_equal(run_cli(args, "exe.out", "exe.err"), 0);
	trace = slurp(in_dir("exec.txt"), NULL);
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	assert_non_null(strstr(trace, ": 5 events, 0 dropped (exec)\n"));
	free(trace);

	assert_int_equal(run_cli(fargs, "exf.out", "exf.err"), 0);
	out = slurp(in_dir("exf.out"), NULL);
	trace = slurp(in_dir("execfail.txt"), NULL);
	assert_string_equal(out, "exec failed, sum=34\n");
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 8);
	assert_non_null(strstr(trace, ": 5 events, 0 dropped (exec)\n"));
	assert_non_null(strstr(trace, ": 8 events, 0 dropped\n"));
	free(out);
	free(trace);
	free(trace_file);
	free(fail_file);
}

/* "trace_target MODE [ARG]" traced into fatal.txt: started, its pid. */
static pid_t spawn_target(const char *mode, const char *arg)
{
	char *trace_file = in_dir("fatal.txt");
	char *args[] = { "-o", trace_file, "-e", "p:w work a=$arg1:s32", "--",
			 (char *)target, (char *)mode, (char *)arg, NULL };

	unlink(trace_file);
	return spawn_cli(args, "fa.out", "fa.err");
}

/* Wait for the traced target: it must die of @sig, its 5 events and the
 * summary saying so written. */
static void expect_killed(pid_t pid, int sig)
{
	char want[64], *trace;
	int st = -1;

	waitpid(pid, &st, 0);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), sig);
	trace = slurp(in_dir("fatal.txt"), NULL);
	assert_non_null(trace);
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	snprintf(want, sizeof(want), ": 5 events, 0 dropped (killed by "
		 "SIG%s)\n", sigabbrev_np(sig));
	assert_non_null(strstr(trace, want));
	free(trace);
}

/*
 * A program that dies of a signal it does not handle, a fault or abort():
 * its events and the summary are written before it dies, and it dies of
 * the same signal.
 */
static void test_cli_fatal_signal(void **state)
{
	(void)state;
	expect_killed(spawn_target("segv", NULL), SIGSEGV);
	expect_killed(spawn_target("abort", NULL), SIGABRT);
}

/*
 * The same for a terminating signal the program leaves default: one it
 * raises itself, SIGPIPE from a write nobody reads, glibc's own abort()
 * (assert(), which our abort() would not see), and one sent from outside
 * to a program that waits (after its events: the byte it writes says so).
 */
static void test_cli_term_signal(void **state)
{
	const int outside[] = { SIGINT, SIGTERM };

	(void)state;
	expect_killed(spawn_target("term", NULL), SIGTERM);
	expect_killed(spawn_target("again", NULL), SIGTERM);	/* taken back */
	/* A vfork() child's SIG_DFL and SIG_IGN: its own, not ours. */
	expect_killed(spawn_target("vterm", NULL), SIGTERM);
	expect_killed(spawn_target("quit", NULL), SIGQUIT);
	expect_killed(spawn_target("pipe", NULL), SIGPIPE);
	expect_killed(spawn_target("assert", NULL), SIGABRT);
	for (size_t i = 0; i < sizeof(outside) / sizeof(int); i++) {
		int ready[2];
		char fd[16], byte;
		pid_t pid;

		assert_int_equal(pipe(ready), 0);
		snprintf(fd, sizeof(fd), "%d", ready[1]);
		pid = spawn_target("wait", fd);
		close(ready[1]);
		/* EOF instead: it died first, and the checks below say so. */
		if (read(ready[0], &byte, 1) == 1)
			kill(pid, outside[i]);
		close(ready[0]);
		expect_killed(pid, outside[i]);
	}
}

/*
 * A terminating signal that comes while exit() writes the end of the
 * trace (the target's own thread sends SIGTERM as soon as the tracer's
 * thread is gone): the trace still has its 5 events and its summary. The
 * process dies of the signal, and the summary says so, unless the signal
 * came too late for either, when the program exited 0 and the summary
 * names no signal. Before, the process most often died with neither the
 * events nor the summary written.
 */
static void test_cli_exit_race(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++) {
		int st = -1;
		char *trace;

		waitpid(spawn_target("exitterm", NULL), &st, 0);
		trace = slurp(in_dir("fatal.txt"), NULL);
		assert_non_null(trace);
		assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
		if (WIFSIGNALED(st)) {
			assert_int_equal(WTERMSIG(st), SIGTERM);
			assert_true(strstr(trace, ": 5 events, 0 dropped "
					   "(killed by SIGTERM)\n") ||
				    strstr(trace, ": 5 events, 0 dropped\n"));
		} else {
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
			assert_non_null(strstr(trace,
					       ": 5 events, 0 dropped\n"));
		}
		free(trace);
	}
}

/* The program exited 0, printed @want (in @out), and its trace in
 * view.txt is whole: 5 events, and a summary that names no signal. */
static void expect_survived(int status, const char *out, const char *want)
{
	char *text = slurp(in_dir(out), NULL), *trace;

	assert_int_equal(status, 0);
	assert_string_equal(text, want);
	trace = slurp(in_dir("view.txt"), NULL);
	assert_int_equal(count(trace, ": w: (work+0x0) a="), 5);
	assert_non_null(strstr(trace, ": 5 events, 0 dropped\n"));
	free(text);
	free(trace);
}

/*
 * Terminating signals stay the program's: it reads SIG_DFL back, its
 * SIG_IGN holds (it survives its own SIGTERM), and one ignored from the
 * start (a shell's trap '' TERM, nohup) is left ignored.
 */
static void test_cli_signal_view(void **state)
{
	char *trace_file = strdup(in_dir("view.txt"));
	char *args[] = { "-o", trace_file, "-e", "p:w work a=$arg1:s32",
			 "--", (char *)target, "ign", NULL };
	char *query[] = { "-o", trace_file, "-e", "p:w work", "--",
			  (char *)target, "query", NULL };
	char cmd[1024], *out;
	char *sh[] = { "sh", "-c", cmd, NULL };

	(void)state;
	if (!trace_file || !cli || !target) {
		fail_msg("no memory, or no arguments");
		return;
	}
	expect_survived(run_cli(args, "vi.out", "vi.err"), "vi.out",
			"sum=25\n");

	assert_int_equal(run_cli(query, "vq.out", "vq.err"), 0);
	out = slurp(in_dir("vq.out"), NULL);
	assert_string_equal(out, "SIG_DFL\n");
	free(out);

	snprintf(cmd, sizeof(cmd), "trap '' TERM; exec %s -o %s -e "
		 "'p:w work a=$arg1:s32' -- %s term", cli, trace_file, target);
	expect_survived(run(sh, NULL, NULL, NULL, "vt.out", "vt.err"),
			"vt.out", "sum=25\nsurvived\n");
	free(trace_file);
}

/*
 * The trace's output is a pipe nobody reads (kprobe-trace ... 2>&1 |
 * head, head gone): the tracer's writes fail, the program's exit status
 * stays its own. Its stdout is a file: only the trace goes to the pipe.
 */
static void test_cli_broken_output(void **state)
{
	char *args[] = { "-e", "p:w work a=$arg1:s32", "--", (char *)target,
			 "threads", "2", "100", "3", NULL };
	int fds[2], saved, st = -1;
	char *out;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	saved = dup(STDERR_FILENO);
	dup2(fds[1], STDERR_FILENO);	/* kprobe-trace's stderr: the trace */
	pid = spawn_cli(args, "bo.out", NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	out = slurp(in_dir("bo.out"), NULL);
	assert_string_equal(out, "calls=600\n");
	free(out);
}

/* --format chrome: a JSON array of trace events, the entry and return of
 * one function a B and an E on the thread. */
static void test_cli_chrome(void **state)
{
	char *trace_file = strdup(in_dir("trace.chrome"));
	char *args[] = { "--format", "chrome", "-o", trace_file, "-e",
			 "p:w work a=$arg1:s32", "-e", "r:wr work rv=$retval:s32",
			 "--", (char *)target, NULL };
	char *trace;

	(void)state;
	assert_int_equal(run_cli(args, "ch.out", "ch.err"), 0);
	trace = slurp(in_dir("trace.chrome"), NULL);
	assert_true(!strncmp(trace, "[\n{", 3));
	assert_int_equal(count(trace, "\"name\":\"work\",\"cat\":\"kprobes\","
				      "\"ph\":\"B\""), 5);
	assert_int_equal(count(trace, "\"ph\":\"E\""), 5);
	assert_non_null(strstr(trace, "\"args\":{\"a\":3}},\n"));
	assert_non_null(strstr(trace, "\"args\":{\"rv\":12}},\n"));
	assert_non_null(strstr(trace, "\"events\":10,\"dropped\":0}},\n"));
	free(trace);
	free(trace_file);
}

/* Debian's python3: the interpreter's own PyObject_GetAttr and zlib's
 * deflate under it, counted and timed; its output unchanged. */
static void test_cli_python(void **state)
{
	char *trace_file = strdup(in_dir("py.txt"));
	char *args[] = { "--stats", "-o", trace_file,
			 "-e", "r:deflate libz:deflate rv=$retval:s32",
			 "-e", "p:getattr PyObject_GetAttr", "--",
			 "/usr/bin/python3", "-c",
			 "import zlib; print(len(zlib.compress(b'abc' * 300000)))",
			 NULL };
	char *plain_args[] = { "/usr/bin/python3", "-c",
			       "import zlib; print(len(zlib.compress(b'abc' * "
			       "300000)))", NULL };
	char *plain, *traced, *trace, *line;
	long n;

	(void)state;
	if (access("/usr/bin/python3", X_OK)) {
		print_message("no /usr/bin/python3: skipped\n");
		skip();
	}
	assert_int_equal(run(plain_args, NULL, NULL, NULL, "py.plain",
			     "py.err"), 0);
	assert_int_equal(run_cli(args, "py.out", "py.err2"), 0);
	plain = slurp(in_dir("py.plain"), NULL);
	traced = slurp(in_dir("py.out"), NULL);
	trace = slurp(in_dir("py.txt"), NULL);
	assert_string_equal(traced, plain);
	/* One compress() is one deflate(Z_FINISH) call. */
	line = strstr(trace, "\ndeflate ");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "\ndeflate %ld", &n), 1);
	assert_int_equal(n, 1);
	line = strstr(trace, "\ngetattr ");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "\ngetattr %ld", &n), 1);
	assert_true(n > 100);
	free(plain);
	free(traced);
	free(trace);
	free(trace_file);
}

/* A probe on a library the program loads later: armed when it appears,
 * gone at dlclose(), armed again when it is loaded again. */
static void test_cli_dlopen(void **state)
{
	char *trace_file = strdup(in_dir("dl.txt"));
	char *args[] = { "-o", trace_file, "-e",
			 "p:dt libdltarget:dl_target x=$arg1:s64", "--",
			 (char *)dl_prog, (char *)dl_lib, NULL };
	char *out, *trace;

	(void)state;
	assert_int_equal(run_cli(args, "dl.out", "dl.err"), 0);
	out = slurp(in_dir("dl.out"), NULL);
	trace = slurp(in_dir("dl.txt"), NULL);
	/* dl_target(x) = 9x + 4: 3 calls a round. */
	assert_string_equal(out, "round 0: 39\nround 1: 309\n");
	assert_int_equal(count(trace, ": dt: (dl_target+0x0) x="), 6);
	assert_non_null(strstr(trace, " x=0\n"));
	assert_non_null(strstr(trace, " x=2\n"));
	assert_non_null(strstr(trace, " x=10\n"));
	assert_non_null(strstr(trace, " x=12\n"));
	free(out);
	free(trace);
	free(trace_file);
}

/*
 * The tracer's handlers touch only general registers and call no libc, so
 * that an optimized hit saves no vector state (docs/design.md, the light
 * path): a printf or memcpy slipped into them would double a traced
 * call's cost. The preload library says, in a dry run.
 */
static void test_handlers_light(void **state)
{
	char *argv[] = { (char *)target, NULL };
	char *err;

	(void)state;
	setenv("KPROBE_TRACE_DRYRUN", "1", 1);
	setenv("KPROBE_TRACE_SELFTEST", "1", 1);
	assert_int_equal(run(argv, "p:w work a=$arg1:s32 s=$arg2:string", NULL,
			     "light.txt", "light.out", "light.err"), 0);
	unsetenv("KPROBE_TRACE_DRYRUN");
	unsetenv("KPROBE_TRACE_SELFTEST");
	err = slurp(in_dir("light.err"), NULL);
	assert_non_null(err);
	if (!strstr(err, "light: entry=1 return=1 call=1\n"))
		fail_msg("the tracer's handlers are not light: %s", err);
	free(err);
}

static void test_cli_list(void **state)
{
	char *args[] = { "-l", "inflate*", "/lib/x86_64-linux-gnu/libz.so.1",
			 NULL };
	char *out;

	(void)state;
	if (access("/lib/x86_64-linux-gnu/libz.so.1", R_OK)) {
		print_message("no libz.so.1: skipped\n");
		skip();
	}
	assert_int_equal(run_cli(args, "l.out", "l.err"), 0);
	out = slurp(in_dir("l.out"), NULL);
	assert_non_null(strstr(out, "inflateReset\n"));
	assert_non_null(strstr(out, "inflateEnd\n"));
	assert_null(strstr(out, "deflate"));
	free(out);
}

static int cleanup(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Can this machine start @prog? Not when its exec fails with ENOEXEC. */
static bool can_exec(const char *prog)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(prog, prog, (char *)NULL);
		_exit(errno == ENOEXEC ? 126 : 127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return true;	/* let the tests say what is wrong */
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 126);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_bad_definition),
		cmocka_unit_test(test_gzip),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_cli_own_object),
		cmocka_unit_test(test_cli_refusals),
		cmocka_unit_test(test_cli_status),
		cmocka_unit_test(test_cli_list),
		cmocka_unit_test(test_cli_stats),
		cmocka_unit_test(test_cli_stats_threads),
		cmocka_unit_test(test_cli_stats_fork),
		cmocka_unit_test(test_cli_exit),
		cmocka_unit_test(test_cli_exec),
		cmocka_unit_test(test_cli_fatal_signal),
		cmocka_unit_test(test_cli_term_signal),
		cmocka_unit_test(test_cli_exit_race),
		cmocka_unit_test(test_cli_signal_view),
		cmocka_unit_test(test_cli_broken_output),
		cmocka_unit_test(test_cli_chrome),
		cmocka_unit_test(test_cli_python),
		cmocka_unit_test(test_cli_dlopen),
		cmocka_unit_test(test_handlers_light),
	};

#ifdef KP_SANITIZED
	/* A sanitized library cannot be preloaded into a program built
	 * without the sanitizer's runtime (it must come first). */
	printf("SKIP: a sanitizer build's preload library needs its runtime "
	       "in the traced program\n");
	return 77;
#endif
	if (argc < 6) {
		fprintf(stderr, "usage: %s PRELOAD TARGET CLI DLPROG DLLIB\n",
			argv[0]);
		return 2;
	}
	preload = argv[1];
	target = argv[2];
	cli = argv[3];
	dl_prog = argv[4];
	dl_lib = argv[5];
	if (!can_exec(target)) {
		/* Under qemu-user (the ppc64 cross build's tests) a program
		 * we start runs on the host kernel, which cannot run a ppc64
		 * file unless binfmt_misc hands it to qemu. */
		printf("SKIP: this machine cannot start %s (%s): the tracer's "
		       "tests start programs\n", target, strerror(ENOEXEC));
		return 77;
	}
	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
