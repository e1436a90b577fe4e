// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the kprobe_events parser (src/trace/probe_def.c), on
 * any line a user could type or a file could hold.
 *
 * Whatever the bytes: the parser returns 0 or -EINVAL (it allocates only
 * small strings), frees all it allocated (LeakSanitizer runs after each
 * input), and says the same twice. Accepted, the definition holds what the
 * tracer relies on: a kind, names that are names, at most 128 arguments
 * each with a fetch chain no deeper than 8 and a known type, $retval only
 * in a return probe, a return probe at offset 0. Refused, the column lies
 * within the line and the three-line message formats. A broken invariant
 * aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe_def.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_probe_def.c:%d: check "	\
				"failed: %s\n", __LINE__, #cond);	\
			abort();					\
		}							\
	} while (0)

static int is_name(const char *s)
{
	if (!*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		     *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void check_def(const struct kp_probe_def *d)
{
	CHECK(d->kind == KP_DEF_ENTRY || d->kind == KP_DEF_RETURN ||
	      d->kind == KP_DEF_DELETE);
	CHECK(is_name(d->group));
	CHECK(is_name(d->event));
	CHECK(d->nargs >= 0 && d->nargs <= KP_DEF_MAX_ARGS);
	if (d->kind == KP_DEF_DELETE) {
		CHECK(!d->symbol && !d->nargs);
		return;
	}
	CHECK(d->symbol || !d->object);
	if (d->symbol)
		CHECK(d->symbol[0]);
	if (d->kind == KP_DEF_RETURN)
		CHECK(d->offset == 0);
	CHECK(d->maxactive >= 0 && d->maxactive <= KP_DEF_MAX_ACTIVE);
	for (int i = 0; i < d->nargs; i++) {
		const struct kp_def_arg *a = &d->args[i];
		int depth = 0;

		CHECK(is_name(a->name));
		CHECK(a->type >= KP_TYPE_U8 && a->type <= KP_TYPE_SYMBOL);
		CHECK(strcmp(kp_fetch_type_name(a->type), "?"));
		for (const struct kp_fetch *f = a->fetch; f; f = f->inner) {
			CHECK(depth++ <= KP_DEF_MAX_DEPTH);
			CHECK(f->kind >= KP_FETCH_REG &&
			      f->kind <= KP_FETCH_DEREF);
			CHECK((f->kind == KP_FETCH_DEREF) == (f->inner != NULL));
			if (f->kind == KP_FETCH_RETVAL)
				CHECK(d->kind == KP_DEF_RETURN);
			if (f->kind == KP_FETCH_ARG)
				CHECK(f->n >= 1 && f->n <= 64);
			if (f->kind == KP_FETCH_SYM)
				CHECK(f->sym && f->sym[0]);
			if (f->kind == KP_FETCH_COMM)
				CHECK(a->type == KP_TYPE_STRING && depth == 1);
		}
		for (int k = 0; k < i; k++)
			CHECK(strcmp(d->args[k].name, a->name));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kp_probe_def def, def2;
	struct kp_def_error err, err2;
	char *text = malloc(size + 1), msg[4096];
	int ret, ret2;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ret = kp_probe_def_parse(text, &def, &err);
	CHECK(ret == 0 || ret == -EINVAL);
	ret2 = kp_probe_def_parse(text, &def2, &err2);
	CHECK(ret2 == ret);
	if (ret) {
		CHECK(err.column <= strlen(text));
		CHECK(err.msg[0]);
		CHECK(err2.column == err.column && !strcmp(err2.msg, err.msg));
		/* The line, a caret under the column, the reason: what it
		 * needs fits here (a line is at most -max_len bytes). */
		CHECK(kp_probe_def_error(text, &err, msg, sizeof(msg)) <
		      sizeof(msg));
		CHECK(strchr(msg, '^'));
	} else {
		check_def(&def);
		CHECK(def2.nargs == def.nargs && !strcmp(def2.event, def.event));
		kp_probe_def_free(&def);
		kp_probe_def_free(&def2);
	}
	free(text);
	return 0;
}
