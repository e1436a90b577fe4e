// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kprobe-trace: trace a function of any unmodified program, without root
 * (docs/tracing.md, docs/kprobe-trace.1.md).
 *
 *   kprobe-trace [-e DEF]... [-f FILE] [-o OUT]
 *                [--format text|json|chrome] [--stats] -- PROG [ARGS...]
 *   kprobe-trace -l PATTERN OBJ
 *
 * The definitions are checked twice before the program runs: their syntax
 * here (a caret under the column that is wrong), then their functions in
 * the program's own process (started with KPROBE_TRACE_DRYRUN, it leaves
 * before main()). Then kprobe-trace becomes the program (execve), with
 * libkprobe-preload.so preloaded: the exit status and the signals are the
 * program's own. Events go to OUT, or to kprobe-trace's stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_def.h"
#include "symbols.h"

#ifndef KP_PRELOAD_INSTALLED
#define KP_PRELOAD_INSTALLED "libkprobe-preload.so"
#endif

static const char usage[] =
"usage: kprobe-trace [-e DEF]... [-f FILE] [-o OUT]\n"
"                    [--format text|json|chrome] [--stats] -- PROG [ARGS...]\n"
"       kprobe-trace -l PATTERN OBJ\n"
"\n"
"Trace functions of PROG, an unmodified program, without root.\n"
"\n"
"  -e, --event DEF     a probe, in the kernel's kprobe_events syntax;\n"
"                      may be repeated\n"
"  -f, --file FILE     probes, one per line ('#' starts a comment)\n"
"  -o, --output OUT    write the events to OUT (default: stderr)\n"
"      --format FMT    text (ftrace-like, default), json (JSON lines) or\n"
"                      chrome (trace events that Perfetto UI opens: an\n"
"                      entry and a return of one function make a slice)\n"
"      --stats         no events: at exit, per event, the count and, for\n"
"                      return probes, the call durations' p50/p90/p99/max\n"
"  -l, --list PATTERN OBJ\n"
"                      list the functions of OBJ (a program or a library)\n"
"                      whose names match the shell PATTERN\n"
"  -h, --help          this text\n"
"\n"
"DEF is p[:[GRP/]EVENT] [OBJ:]SYM[+OFFS]|ADDR [FETCHARGS] for an entry,\n"
"r[MAXACTIVE][:[GRP/]EVENT] [OBJ:]SYM [FETCHARGS] for a return; FETCHARGS\n"
"are %REG @ADDR @SYM $stackN $stack $argN $retval $comm +|-OFFS(FETCHARG),\n"
"each as [NAME=]FETCHARG[:TYPE], TYPE one of u8..u64 s8..s64 x8..x64\n"
"string symbol.\n"
"\n"
"Examples:\n"
"  kprobe-trace -e 'p:rd libc:read fd=$arg1:s32 n=$arg3:u64' \\\n"
"               -e 'r:rdr libc:read rv=$retval:s64' -- gzip -c /etc/services\n"
"  kprobe-trace --stats -e 'r:deflate libz:deflate' -- gzip -c /etc/services\n"
"  kprobe-trace -l 'inflate*' /lib/x86_64-linux-gnu/libz.so.1\n"
"\n"
"The exit status is the program's; 2 when a probe is refused (then the\n"
"program is not started), 127 when it cannot be run.\n";

/* Check one definition's syntax; say what is wrong with a caret. */
static bool check_syntax(const char *text, const char *where)
{
	struct kp_probe_def def;
	struct kp_def_error err;
	char msg[1024];

	if (!kp_probe_def_parse(text, &def, &err)) {
		kp_probe_def_free(&def);
		return true;
	}
	kp_probe_def_error(text, &err, msg, sizeof(msg));
	fprintf(stderr, "kprobe-trace: %s:\n%s", where, msg);
	return false;
}

/* Every line of a definitions file; false if one is wrong. */
static bool check_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, where[PATH_MAX + 32];
	size_t cap = 0;
	bool ok = true;
	int n = 0;

	if (!f) {
		fprintf(stderr, "kprobe-trace: %s: %s\n", path,
			strerror(errno));
		return false;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s = line;

		n++;
		s[strcspn(s, "\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, n);
		ok &= check_syntax(s, where);
	}
	free(line);
	fclose(f);
	return ok;
}

/* libkprobe-preload.so: next to us (a build tree), else installed. */
static const char *preload_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("KPROBE_TRACE_PRELOAD");
	ssize_t n;

	if (env)
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n > 0) {
		path[n] = '\0';
		strcpy(strrchr(path, '/') + 1, "libkprobe-preload.so");
		if (!access(path, R_OK))
			return path;
	}
	return KP_PRELOAD_INSTALLED;
}

static void print_symbol(const char *name, uintptr_t value, size_t size,
			 int type, void *arg)
{
	const char *pattern = arg;

	(void)type;
	if (!fnmatch(pattern, name, 0))
		printf("%s\n", name);
	(void)value;
	(void)size;
}

/* -l PATTERN OBJ: the function symbols of OBJ matching PATTERN. */
static int list_symbols(const char *pattern, const char *obj)
{
	struct stat st;
	void *image;
	int fd, ret;

	fd = open(obj, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "kprobe-trace: %s: %s\n", obj, strerror(errno));
		return 1;
	}
	image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (image == MAP_FAILED) {
		fprintf(stderr, "kprobe-trace: %s: %s\n", obj, strerror(errno));
		return 1;
	}
	ret = kp_sym_parse_image(image, (size_t)st.st_size, print_symbol,
				 (void *)pattern);
	munmap(image, (size_t)st.st_size);
	if (ret) {
		fprintf(stderr, "kprobe-trace: %s: not an ELF file we can read\n",
			obj);
		return 1;
	}
	return 0;
}

/* Run the program with the definitions and KPROBE_TRACE_DRYRUN: its
 * process says whether every probe can be placed. */
static bool check_in_program(char **argv)
{
	int status = -1;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		/* Quiet: the program must not run, nor print. */
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		setenv("KPROBE_TRACE_DRYRUN", "1", 1);
		execvp(argv[0], argv);
		fprintf(stderr, "kprobe-trace: %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		exit(127);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "list", required_argument, NULL, 'l' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *events = NULL, *file = NULL, *out = NULL, *list = NULL;
	const char *format = "text";
	size_t events_len = 0;
	bool ok = true, stats = false;
	int c, n = 0;

	while ((c = getopt_long(argc, argv, "+e:f:o:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e': {
			char where[32];
			size_t len = strlen(optarg);
			char *e = realloc(events, events_len + len + 2);

			if (!e)
				return 1;
			events = e;
			memcpy(events + events_len, optarg, len);
			events_len += len;
			events[events_len++] = '\n';
			events[events_len] = '\0';
			snprintf(where, sizeof(where), "-e #%d", ++n);
			if (strchr(optarg, ';') || strchr(optarg, '\n')) {
				fprintf(stderr, "kprobe-trace: %s: one "
					"definition per -e\n", where);
				ok = false;
			}
			ok &= check_syntax(optarg, where);
			break;
		}
		case 'f':
			file = optarg;
			ok &= check_file(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'F':
			format = optarg;
			if (strcmp(format, "text") && strcmp(format, "json") &&
			    strcmp(format, "chrome")) {
				fprintf(stderr, "kprobe-trace: --format: text, "
					"json or chrome, not %s\n", format);
				return 2;
			}
			break;
		case 'S':
			stats = true;
			break;
		case 'l':
			list = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (list) {
		if (optind != argc - 1) {
			fputs("kprobe-trace: -l PATTERN OBJ\n", stderr);
			return 2;
		}
		return list_symbols(list, argv[optind]);
	}
	if (optind == argc || (!events && !file)) {
		fputs(usage, stderr);
		return 2;
	}
	if (!ok)
		return 2;
	if (events)
		setenv("KPROBE_TRACE_EVENTS", events, 1);
	if (file)
		setenv("KPROBE_TRACE_FILE", file, 1);
	setenv("KPROBE_TRACE_FORMAT", format, 1);
	if (stats)
		setenv("KPROBE_TRACE_STATS", "1", 1);
	else
		unsetenv("KPROBE_TRACE_STATS");
	{
		/* Ours first; the program's own preloads after. */
		const char *prev = getenv("LD_PRELOAD");
		char *pre = malloc(strlen(preload_path()) +
				   (prev ? strlen(prev) : 0) + 2);

		if (!pre)
			return 1;
		sprintf(pre, "%s%s%s", preload_path(), prev && *prev ? ":" : "",
			prev ? prev : "");
		setenv("LD_PRELOAD", pre, 1);
		free(pre);
	}
	unsetenv("KPROBE_TRACE_APPEND");
	if (!check_in_program(argv + optind)) {
		fprintf(stderr, "kprobe-trace: %s is not started\n",
			argv[optind]);
		return 2;
	}
	if (out) {
		setenv("KPROBE_TRACE_OUTPUT", out, 1);
	} else {
		char fd[16];
		int high = fcntl(STDERR_FILENO, F_DUPFD, 900);

		if (high < 0) {
			perror("kprobe-trace: dup");
			return 1;
		}
		snprintf(fd, sizeof(fd), "%d", high);
		setenv("KPROBE_TRACE_FD", fd, 1);
		unsetenv("KPROBE_TRACE_OUTPUT");
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "kprobe-trace: %s: %s\n", argv[optind],
		strerror(errno));
	return 127;
}
