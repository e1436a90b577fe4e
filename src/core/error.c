// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
