// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The second translation unit of test_symbols: a static function with the
 * same name as one in test_symbols.c, so that the test executable's
 * .symtab holds "symtest_dup" at two addresses and a lookup by plain name
 * must be refused as ambiguous.
 */
#include <stdint.h>

uintptr_t symtest_dup_other(void);

static __attribute__((noinline, used)) int symtest_dup(int x)
{
	return x * 7 - 2;
}

/* Lets the test tell this copy's address from its own. */
uintptr_t symtest_dup_other(void)
{
	return (uintptr_t)&symtest_dup;
}

/*
 * "symtest_alias" here is a plain function; test_symbols.c has a local
 * IFUNC of the same name that resolves to it. Both are one candidate.
 */
uintptr_t symtest_alias_other(void);

static __attribute__((noinline, used)) int symtest_alias(int x)
{
	return x * 11;
}

uintptr_t symtest_alias_other(void)
{
	return (uintptr_t)&symtest_alias;
}
