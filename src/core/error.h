/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-thread message behind kprobe_last_error(). Not async-signal-safe
 * (it formats with vsnprintf): call it from registration paths only.
 */
#ifndef LIBKPROBE_CORE_ERROR_H
#define LIBKPROBE_CORE_ERROR_H

/* Set this thread's last error message; returns @err so callers can write
 * "return kp_error(-ENOENT, "no symbol %s", name);". */
int kp_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kp_clear_error(void);
/* Append to the current message (for lists of candidates). */
void kp_error_append(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

#endif
