// SPDX-License-Identifier: LGPL-2.1-or-later
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kprobes.h>

#include "error.h"

static __thread char last_error[512];

int kp_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

void kp_error_append(const char *fmt, ...)
{
	size_t len = strlen(last_error);
	va_list ap;

	if (len >= sizeof(last_error) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(last_error + len, sizeof(last_error) - len, fmt, ap);
	va_end(ap);
}

void kp_clear_error(void)
{
	last_error[0] = '\0';
}

__attribute__((visibility("default")))
const char *kprobe_last_error(void)
{
	return last_error;
}

/*
 * A descriptor libkprobe keeps open, moved above the ones a program uses:
 * a program may expect its first open() to return 3, and a traced one
 * must get what it would without us. Kept where it is if that fails.
 */
void kp_fd_out_of_the_way(int *fd)
{
	int high;

	if (*fd < 0 || *fd >= 900)
		return;
	high = fcntl(*fd, F_DUPFD_CLOEXEC, 900);
	if (high >= 0) {
		close(*fd);
		*fd = high;
	}
}
