/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probe definitions in the kernel's kprobe_events syntax (docs/tracing.md):
 * parsed once, before a program runs, into what the tracer registers and
 * fetches at each hit. Nothing here runs in a handler.
 */
#ifndef LIBKPROBE_TRACE_PROBE_DEF_H
#define LIBKPROBE_TRACE_PROBE_DEF_H

#include <stddef.h>
#include <stdint.h>

#define KP_DEF_NAME_MAX		64	/* group, event, argument names */
#define KP_DEF_MAX_ARGS		128	/* the kernel's MAX_TRACE_ARGS */
#define KP_DEF_MAX_DEPTH	8	/* nested +OFFS(...) dereferences */
#define KP_DEF_MAX_ACTIVE	4096

enum kp_def_kind {
	KP_DEF_ENTRY,		/* p */
	KP_DEF_RETURN,		/* r */
	KP_DEF_DELETE,		/* -: */
};

enum kp_fetch_kind {
	KP_FETCH_REG,		/* %REG: reg is the offset in struct pt_regs */
	KP_FETCH_ADDR,		/* @ADDR: the memory at addr */
	KP_FETCH_SYM,		/* @SYM+-OFFS: the memory at sym + offset */
	KP_FETCH_STACK_N,	/* $stackN: n */
	KP_FETCH_STACK,		/* $stack */
	KP_FETCH_ARG,		/* $argN: n, 1-based */
	KP_FETCH_RETVAL,	/* $retval */
	KP_FETCH_COMM,		/* $comm */
	KP_FETCH_DEREF,		/* OFFS(inner): the memory at inner + offset */
};

enum kp_fetch_type {
	KP_TYPE_U8, KP_TYPE_U16, KP_TYPE_U32, KP_TYPE_U64,
	KP_TYPE_S8, KP_TYPE_S16, KP_TYPE_S32, KP_TYPE_S64,
	KP_TYPE_X8, KP_TYPE_X16, KP_TYPE_X32, KP_TYPE_X64,
	KP_TYPE_STRING, KP_TYPE_SYMBOL,
};

struct kp_fetch {
	enum kp_fetch_kind kind;
	long offset;		/* REG: pt_regs offset; SYM, DEREF: +-OFFS */
	unsigned long n;	/* ADDR: address; STACK_N, ARG: N */
	char *sym;		/* SYM */
	struct kp_fetch *inner;	/* DEREF */
};

struct kp_def_arg {
	char name[KP_DEF_NAME_MAX];
	enum kp_fetch_type type;
	struct kp_fetch *fetch;
};

struct kp_probe_def {
	enum kp_def_kind kind;
	char group[KP_DEF_NAME_MAX];
	char event[KP_DEF_NAME_MAX];
	char *object;		/* OBJ of OBJ:SYM, or NULL */
	char *symbol;		/* SYM, or NULL for an address */
	unsigned long offset;	/* +OFFS */
	uintptr_t addr;		/* ADDR, when symbol is NULL */
	int maxactive;		/* return probes; 0: the library's default */
	int nargs;
	struct kp_def_arg args[KP_DEF_MAX_ARGS];
};

/* Where and why a definition was refused. */
struct kp_def_error {
	size_t column;		/* byte offset into the definition */
	char msg[128];
};

/*
 * kp_probe_def_parse() - parse one definition (@text, one line) into *@def.
 * Return 0, or -EINVAL with *@err set (and *@def left empty), or -ENOMEM.
 * kp_probe_def_free() releases what a successful parse allocated.
 */
int kp_probe_def_parse(const char *text, struct kp_probe_def *def,
		       struct kp_def_error *err);
void kp_probe_def_free(struct kp_probe_def *def);

/*
 * kp_probe_def_error() - the three lines the kernel's error_log shows:
 * the definition, a caret under the column, the reason. Into @buf (@len
 * bytes, always terminated); return the length it needed.
 */
size_t kp_probe_def_error(const char *text, const struct kp_def_error *err,
			  char *buf, size_t len);

/* The name of a type ("u32", "string"). */
const char *kp_fetch_type_name(enum kp_fetch_type type);

#endif
