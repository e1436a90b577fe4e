// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the ELF symbol parser of src/core/symbols.c, through
 * kp_sym_parse_image() (the code kp_sym_lookup() runs on each loaded
 * object's file, here on an image in memory).
 *
 * Whatever the bytes, the parser must return, free all it allocated
 * (LeakSanitizer runs after each input) and hand out only entries a lookup
 * can use: a non-empty name without its "@version", a function type, a
 * non-zero address, in address order. Twice on the same bytes, the same
 * answer. A broken invariant aborts.
 */
#include <errno.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_symbols.c:%d: check "	\
				"failed: %s\n", __LINE__, #cond);	\
			abort();					\
		}							\
	} while (0)

/*
 * libelf is not instrumented: these counters tell libFuzzer how much an
 * input got through it (how many symbols, of which types, what return),
 * so inputs that parse further are kept.
 */
static uint8_t extra_counters[1024]
	__attribute__((section("__libfuzzer_extra_counters"), used));

struct seen {
	size_t n;
	size_t ifuncs;
	uintptr_t last;
	uint64_t hash;	/* of everything reported, to compare two runs */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

static void on_symbol(const char *name, uintptr_t value, size_t size,
		      int type, void *arg)
{
	struct seen *s = arg;
	size_t len;

	CHECK(name && name[0]);
	len = strlen(name);
	CHECK(!memchr(name, '@', len));
	CHECK(type == STT_FUNC || type == STT_GNU_IFUNC);
	CHECK(value != 0);
	CHECK(s->n == 0 || value >= s->last);
	s->last = value;
	s->n++;
	s->ifuncs += type == STT_GNU_IFUNC;
	s->hash = mix(s->hash, value);
	s->hash = mix(s->hash, size);
	s->hash = mix(s->hash, (uint64_t)type);
	for (size_t i = 0; i < len; i++)
		s->hash = mix(s->hash, (unsigned char)name[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = { 0 }, b = { 0 };
	int ret;

	ret = kp_sym_parse_image(data, size, on_symbol, &a);
	CHECK(ret == 0 || ret == -ENOEXEC || ret == -ENOMEM);
	if (ret)
		CHECK(a.n == 0);
	CHECK(kp_sym_parse_image(data, size, on_symbol, &b) == ret);
	CHECK(a.n == b.n && a.hash == b.hash);
	extra_counters[(a.n < 255 ? a.n : 255) + 256 * (ret == 0 ? 0 :
		       ret == -ENOEXEC ? 1 : 2)]++;
	extra_counters[768 + (a.ifuncs < 255 ? a.ifuncs : 255)]++;
	return 0;
}
