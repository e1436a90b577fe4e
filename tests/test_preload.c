// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libkprobe-preload.so on programs that know nothing of it: our own
 * trace_target, and Debian's gzip. Each is run twice, traced and not: its
 * output must not change, and the events must be the calls it made.
 *
 * argv[1]: libkprobe-preload.so; argv[2]: trace_target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *preload, *target;
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

/*
 * Run argv with stdout to @out and stderr to @err (paths in dir), and, if
 * @events, traced: the definitions, the format, the trace to @trace.
 * Return the exit status.
 */
static int run(char *const argv[], const char *events, const char *format,
	       const char *trace, const char *out, const char *err)
{
	char path[256];
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, out);
		if (!freopen(path, "w", stdout))
			_exit(126);
		snprintf(path, sizeof(path), "%s/%s", dir, err);
		if (!freopen(path, "w", stderr))
			_exit(126);
		if (events) {
			setenv("KPROBE_TRACE_EVENTS", events, 1);
			snprintf(path, sizeof(path), "%s/%s", dir, trace);
			setenv("KPROBE_TRACE_OUTPUT", path, 1);
			if (format)
				setenv("KPROBE_TRACE_FORMAT", format, 1);
			setenv("LD_PRELOAD", preload, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
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

static int cleanup(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_bad_definition),
		cmocka_unit_test(test_gzip),
	};

#ifdef KP_SANITIZED
	/* A sanitized library cannot be preloaded into a program built
	 * without the sanitizer's runtime (it must come first). */
	printf("SKIP: a sanitizer build's preload library needs its runtime "
	       "in the traced program\n");
	return 77;
#endif
	if (argc < 3) {
		fprintf(stderr, "usage: %s PRELOAD TARGET\n", argv[0]);
		return 2;
	}
	preload = argv[1];
	target = argv[2];
	if (!mkdtemp(dir))
		return 1;
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
