// SPDX-License-Identifier: LGPL-2.1-or-later
/* A library the dlclose test loads, probes and unloads. */
__attribute__((noinline)) long dl_target(long x);
__attribute__((noinline)) long dl_target(long x)
{
	__asm__ volatile("");
	return x * 9 + 4;
}
