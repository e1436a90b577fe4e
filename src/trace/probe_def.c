// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's kprobe_events syntax, parsed (docs/tracing.md).
 *
 * One definition is one line of blank-separated tokens: the kind and name,
 * the target, then the fetchargs. The parser walks the line with a cursor
 * and, on the first thing it cannot accept, records the byte where it
 * stands and why, as the kernel's tracing/error_log does. Registration
 * time only: it allocates.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kprobes.h>

#include "probe_def.h"

struct cursor {
	const char *text;	/* the whole definition */
	const char *p;		/* where we are */
	struct kp_def_error *err;
};

static int fail_at(struct cursor *c, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct cursor *c, const char *at, const char *fmt, ...)
{
	va_list ap;

	c->err->column = (size_t)(at - c->text);
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* The end of the token at @p: the next blank, newline or end. */
static const char *token_end(const char *p)
{
	while (*p && !is_blank(*p) && *p != '\n')
		p++;
	return p;
}

static bool is_name_start(char ch)
{
	return isalpha((unsigned char)ch) || ch == '_';
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* Copy a name [@p, @end) into @dst (KP_DEF_NAME_MAX), checking it. */
static int take_name(struct cursor *c, const char *p, const char *end,
		     char *dst, const char *what)
{
	size_t n = (size_t)(end - p);

	if (!n)
		return fail_at(c, p, "%s is empty", what);
	if (!is_name_start(*p))
		return fail_at(c, p, "%s must start with a letter or '_'", what);
	for (const char *q = p; q < end; q++)
		if (!is_name_char(*q))
			return fail_at(c, q, "%s may hold letters, digits and "
				       "'_' only", what);
	if (n >= KP_DEF_NAME_MAX)
		return fail_at(c, p, "%s is longer than %d characters", what,
			       KP_DEF_NAME_MAX - 1);
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/*
 * A number at @p, decimal or 0x hex, ending before @end or at the first
 * character that is not a digit (*@next says where). Overflow and "no
 * digits" are errors.
 */
static int take_number(struct cursor *c, const char *p, unsigned long *v,
		       const char **next, const char *what)
{
	char *q;

	if (!isdigit((unsigned char)*p))
		return fail_at(c, p, "%s: a number was expected", what);
	errno = 0;
	*v = strtoul(p, &q, 0);
	if (errno == ERANGE)
		return fail_at(c, p, "%s is too large", what);
	*next = q;
	return 0;
}

/* ---- the first token: p/r/-, maxactive, [GRP/][EVENT] ---- */

static int parse_head(struct cursor *c, struct kp_probe_def *def,
		      bool *has_event)
{
	const char *p = c->p, *end = token_end(p), *slash, *colon;

	*has_event = false;
	switch (*p) {
	case 'p':
		def->kind = KP_DEF_ENTRY;
		p++;
		break;
	case 'r':
		def->kind = KP_DEF_RETURN;
		p++;
		if (isdigit((unsigned char)*p)) {
			unsigned long m;

			if (take_number(c, p, &m, &p, "MAXACTIVE"))
				return -EINVAL;
			if (m < 1 || m > KP_DEF_MAX_ACTIVE)
				return fail_at(c, c->p + 1, "MAXACTIVE must be "
					       "1 to %d", KP_DEF_MAX_ACTIVE);
			def->maxactive = (int)m;
		}
		break;
	case '-':
		def->kind = KP_DEF_DELETE;
		p++;
		if (*p != ':')
			return fail_at(c, p, "'-' is followed by ':' and the "
				       "event to delete");
		break;
	default:
		return fail_at(c, p, "a definition starts with 'p', 'r' or "
			       "'-:'");
	}
	strcpy(def->group, "kprobes");
	if (p == end) {
		c->p = end;
		return 0;
	}
	if (*p != ':')
		return fail_at(c, p, "':' or a blank was expected here");
	colon = p++;
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash) {
		if (take_name(c, p, slash, def->group, "the group name"))
			return -EINVAL;
		p = slash + 1;
	}
	if (p < end) {
		if (take_name(c, p, end, def->event, "the event name"))
			return -EINVAL;
		*has_event = true;
	} else if (!slash) {
		return fail_at(c, colon + 1, "an event name was expected after "
			       "':'");
	}
	c->p = end;
	return 0;
}

/* ---- the second token: [OBJ:]SYM[+OFFS] or ADDR ---- */

static int parse_target(struct cursor *c, struct kp_probe_def *def)
{
	const char *p = c->p, *end = token_end(p), *colon = NULL, *plus;
	const char *sym;

	if (p == end)
		return fail_at(c, p, "the probed function (SYM or ADDR) is "
			       "missing");
	if (isdigit((unsigned char)*p)) {
		unsigned long a;
		const char *q;

		if (take_number(c, p, &a, &q, "the address"))
			return -EINVAL;
		if (q != end)
			return fail_at(c, q, "not a number");
		def->addr = a;
		c->p = end;
		return 0;
	}
	for (const char *q = p; q < end; q++)
		if (*q == ':')
			colon = q;
	sym = colon ? colon + 1 : p;
	if (colon) {
		if (colon == p)
			return fail_at(c, p, "the object name before ':' is "
				       "empty");
		def->object = strndup(p, (size_t)(colon - p));
		if (!def->object)
			return -ENOMEM;
	}
	plus = memchr(sym, '+', (size_t)(end - sym));
	if (!plus)
		plus = end;
	if (plus == sym)
		return fail_at(c, sym, "the symbol name is empty");
	def->symbol = strndup(sym, (size_t)(plus - sym));
	if (!def->symbol)
		return -ENOMEM;
	if (plus < end) {
		const char *q;

		if (take_number(c, plus + 1, &def->offset, &q, "the offset"))
			return -EINVAL;
		if (q != end)
			return fail_at(c, q, "not a number");
	}
	if (def->kind == KP_DEF_RETURN && def->offset)
		return fail_at(c, plus, "a return probe goes on a function's "
			       "entry: the offset must be 0");
	c->p = end;
	return 0;
}

/* ---- fetchargs ---- */

static const char *const type_names[] = {
	[KP_TYPE_U8] = "u8", [KP_TYPE_U16] = "u16", [KP_TYPE_U32] = "u32",
	[KP_TYPE_U64] = "u64", [KP_TYPE_S8] = "s8", [KP_TYPE_S16] = "s16",
	[KP_TYPE_S32] = "s32", [KP_TYPE_S64] = "s64", [KP_TYPE_X8] = "x8",
	[KP_TYPE_X16] = "x16", [KP_TYPE_X32] = "x32", [KP_TYPE_X64] = "x64",
	[KP_TYPE_STRING] = "string", [KP_TYPE_SYMBOL] = "symbol",
};

const char *kp_fetch_type_name(enum kp_fetch_type type)
{
	return (unsigned int)type < sizeof(type_names) / sizeof(*type_names) ?
	       type_names[type] : "?";
}

static int type_of(const char *p, const char *end)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
		if (strlen(type_names[i]) == (size_t)(end - p) &&
		    !memcmp(type_names[i], p, (size_t)(end - p)))
			return (int)i;
	return -1;
}

static void free_fetch(struct kp_fetch *f)
{
	while (f) {
		struct kp_fetch *inner = f->inner;

		free(f->sym);
		free(f);
		f = inner;
	}
}

/* Does [@p, @end) start with the word @w, and only that? */
static bool is_word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) == n && !memcmp(p, w, n);
}

/* One fetch expression, exactly [@p, @end). */
static int parse_fetch(struct cursor *c, const struct kp_probe_def *def,
		       const char *p, const char *end, int depth,
		       struct kp_fetch **out)
{
	struct kp_fetch *f;
	const char *q;
	int ret = -EINVAL;

	if (p == end)
		return fail_at(c, p, "a fetch argument was expected");
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*out = f;
	if (*p == '%') {
		char reg[16];
		int off;

		if ((size_t)(end - p - 1) >= sizeof(reg) || end - p == 1)
			return fail_at(c, p + 1, "unknown register \"%.*s\"",
				       (int)(end - p - 1), p + 1);
		memcpy(reg, p + 1, (size_t)(end - p - 1));
		reg[end - p - 1] = '\0';
		off = regs_query_register_offset(reg);
		if (off < 0)
			return fail_at(c, p + 1, "unknown register \"%s\"",
				       reg);
		f->kind = KP_FETCH_REG;
		f->offset = off;
		return 0;
	}
	if (*p == '@') {
		p++;
		if (p == end)
			return fail_at(c, p, "an address or a symbol was "
				       "expected after '@'");
		if (isdigit((unsigned char)*p)) {
			if (take_number(c, p, &f->n, &q, "the address"))
				return -EINVAL;
			if (q != end)
				return fail_at(c, q, "not a number");
			f->kind = KP_FETCH_ADDR;
			return 0;
		}
		for (q = p; q < end && *q != '+' && *q != '-'; q++)
			;
		if (q == p)
			return fail_at(c, p, "the symbol name is empty");
		f->kind = KP_FETCH_SYM;
		f->sym = strndup(p, (size_t)(q - p));
		if (!f->sym)
			return -ENOMEM;
		if (q < end) {
			unsigned long off;
			const char *r;

			if (take_number(c, q + 1, &off, &r, "the offset"))
				return -EINVAL;
			if (r != end)
				return fail_at(c, r, "not a number");
			f->offset = *q == '-' ? -(long)off : (long)off;
		}
		return 0;
	}
	if (*p == '$') {
		if (is_word(p, end, "$stack")) {
			f->kind = KP_FETCH_STACK;
			return 0;
		}
		if (is_word(p, end, "$retval")) {
			if (def->kind != KP_DEF_RETURN)
				return fail_at(c, p, "$retval is for return "
					       "probes only");
			f->kind = KP_FETCH_RETVAL;
			return 0;
		}
		if (is_word(p, end, "$comm")) {
			f->kind = KP_FETCH_COMM;
			return 0;
		}
		if (end - p > 6 && !memcmp(p, "$stack", 6)) {
			if (take_number(c, p + 6, &f->n, &q, "$stackN"))
				return -EINVAL;
			if (q != end)
				return fail_at(c, q, "not a number");
			f->kind = KP_FETCH_STACK_N;
			return 0;
		}
		if (end - p > 4 && !memcmp(p, "$arg", 4)) {
			if (take_number(c, p + 4, &f->n, &q, "$argN"))
				return -EINVAL;
			if (q != end)
				return fail_at(c, q, "not a number");
			if (f->n < 1 || f->n > 64)
				return fail_at(c, p + 4, "N of $argN must be 1 "
					       "to 64");
			f->kind = KP_FETCH_ARG;
			return 0;
		}
		return fail_at(c, p, "unknown variable \"%.*s\" ($stack, "
			       "$stackN, $argN, $retval, $comm)",
			       (int)(end - p), p);
	}
	if (*p == '+' || *p == '-' || isdigit((unsigned char)*p)) {
		bool neg = *p == '-';
		unsigned long off;
		const char *open, *close = end - 1;

		q = (*p == '+' || *p == '-') ? p + 1 : p;
		if (*q == 'u')
			q++;	/* the kernel's user-memory mark: all is */
		if (take_number(c, q, &off, &open, "the offset"))
			return -EINVAL;
		if (*open != '(')
			return fail_at(c, open, "'(' was expected after the "
				       "offset");
		if (*close != ')')
			return fail_at(c, end, "')' was expected");
		if (depth == KP_DEF_MAX_DEPTH)
			return fail_at(c, p, "dereferences nest deeper than %d",
				       KP_DEF_MAX_DEPTH);
		f->kind = KP_FETCH_DEREF;
		f->offset = neg ? -(long)off : (long)off;
		ret = parse_fetch(c, def, open + 1, close, depth + 1,
				  &f->inner);
		if (!ret && f->inner->kind == KP_FETCH_COMM)
			return fail_at(c, open + 1, "$comm is a string, not "
				       "an address");
		return ret;
	}
	return fail_at(c, p, "a fetch argument starts with %%, @, $, + or "
		       "- (or an offset before '(')");
}

/* One fetcharg token: [NAME=]FETCH[:TYPE]. */
static int parse_arg(struct cursor *c, struct kp_probe_def *def)
{
	const char *p = c->p, *end = token_end(p), *eq, *colon = NULL;
	struct kp_def_arg *a = &def->args[def->nargs];
	int depth = 0, ret, t;

	if (def->nargs == KP_DEF_MAX_ARGS)
		return fail_at(c, p, "more than %d fetch arguments",
			       KP_DEF_MAX_ARGS);
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq) {
		if (take_name(c, p, eq, a->name, "the argument name"))
			return -EINVAL;
		p = eq + 1;
	} else {
		snprintf(a->name, sizeof(a->name), "arg%d", def->nargs + 1);
	}
	for (int i = 0; i < def->nargs; i++)
		if (!strcmp(def->args[i].name, a->name))
			return fail_at(c, c->p, "the argument name \"%s\" is "
				       "used twice", a->name);
	/* The type is after the last ':' outside parentheses, when what
	 * follows it is a type; else the ':' is an object's (@obj:sym). */
	for (const char *q = p; q < end; q++) {
		if (*q == '(')
			depth++;
		else if (*q == ')')
			depth--;
		else if (*q == ':' && !depth)
			colon = q;
	}
	a->type = KP_TYPE_X64;
	if (colon) {
		t = type_of(colon + 1, end);
		if (t < 0 && p[0] != '@')
			return fail_at(c, colon + 1, "unknown type \"%.*s\" "
				       "(u8..u64, s8..s64, x8..x64, string, "
				       "symbol)", (int)(end - colon - 1),
				       colon + 1);
		if (t >= 0) {
			a->type = (enum kp_fetch_type)t;
			end = colon;
		}
	}
	ret = parse_fetch(c, def, p, end, 0, &a->fetch);
	def->nargs++;		/* kp_probe_def_free() frees it either way */
	if (ret)
		return ret;
	if (a->fetch->kind == KP_FETCH_COMM) {
		if (colon && a->type != KP_TYPE_STRING)
			return fail_at(c, colon + 1, "$comm is a string");
		a->type = KP_TYPE_STRING;
	}
	c->p = token_end(c->p);
	return 0;
}

void kp_probe_def_free(struct kp_probe_def *def)
{
	free(def->object);
	free(def->symbol);
	for (int i = 0; i < def->nargs; i++)
		free_fetch(def->args[i].fetch);
	memset(def, 0, sizeof(*def));
}

int kp_probe_def_parse(const char *text, struct kp_probe_def *def,
		       struct kp_def_error *err)
{
	struct cursor c = { text, text, err };
	bool has_event;
	int ret;

	memset(def, 0, sizeof(*def));
	memset(err, 0, sizeof(*err));
	c.p = skip_blanks(text);
	if (!*c.p || *c.p == '\n')
		return fail_at(&c, c.p, "the definition is empty");
	ret = parse_head(&c, def, &has_event);
	if (ret)
		goto out;
	c.p = skip_blanks(c.p);
	if (def->kind == KP_DEF_DELETE) {
		if (!has_event)
			ret = fail_at(&c, c.p, "'-:' names the event to delete");
		else if (*c.p && *c.p != '\n')
			ret = fail_at(&c, c.p, "nothing may follow the event "
				      "to delete");
		goto out;
	}
	ret = parse_target(&c, def);
	if (ret)
		goto out;
	if (!has_event) {
		if (def->symbol)
			snprintf(def->event, sizeof(def->event), "%c_%s_%lu",
				 def->kind == KP_DEF_RETURN ? 'r' : 'p',
				 def->symbol, def->offset);
		else
			snprintf(def->event, sizeof(def->event), "%c_0x%lx",
				 def->kind == KP_DEF_RETURN ? 'r' : 'p',
				 (unsigned long)def->addr);
		/* The kernel's rule: what is not a name character is '_'. */
		for (char *q = def->event; *q; q++)
			if (!is_name_char(*q))
				*q = '_';
	}
	for (;;) {
		c.p = skip_blanks(c.p);
		if (!*c.p || *c.p == '\n')
			break;
		ret = parse_arg(&c, def);
		if (ret)
			goto out;
	}
out:
	if (ret)
		kp_probe_def_free(def);
	return ret;
}

size_t kp_probe_def_error(const char *text, const struct kp_def_error *err,
			  char *buf, size_t len)
{
	size_t line = strcspn(text, "\n");
	size_t col = err->column < line ? err->column : line;

	return (size_t)snprintf(buf, len, "%.*s\n%*s^\n%s\n", (int)line, text,
				(int)col, "", err->msg);
}
