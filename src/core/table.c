// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The probe table: the seed's 64-bucket hash of probed addresses.
 *
 * Writers (kprobe_mutex held) publish and unlink entries with release
 * stores; the trap path walks a chain with acquire loads inside a read-side
 * section (sync.c), so it never sees a half-built entry and never one that
 * was freed.
 */
#include <assert.h>

#include "internal.h"

struct probe_point *kp_table[KP_TABLE_SIZE];

static unsigned int kp_hash(uintptr_t addr)
{
	/* Fibonacci hashing: code addresses share their low and high bits. */
	return (unsigned int)((addr * 0x9E3779B97F4A7C15ull) >>
			      (64 - KP_HASH_BITS));
}

/* Async-signal-safe; call inside a read-side section. */
struct probe_point *kp_table_lookup(uintptr_t addr)
{
	struct probe_point *pp;

	for (pp = kp_rcu_deref(kp_table[kp_hash(addr)]); pp;
	     pp = kp_rcu_deref(pp->hnext))
		if (pp->addr == addr)
			return pp;
	return NULL;
}

void kp_table_insert(struct probe_point *pp)
{
	unsigned int h = kp_hash(pp->addr);

	kp_assert_locked();
	pp->hnext = kp_table[h];
	kp_rcu_assign(kp_table[h], pp);
}

/* The caller frees pp only after kp_synchronize(). */
void kp_table_remove(struct probe_point *pp)
{
	struct probe_point **link = &kp_table[kp_hash(pp->addr)];

	kp_assert_locked();
	while (*link && *link != pp)
		link = &(*link)->hnext;
	assert(*link == pp);
	/* Readers already on pp still follow pp->hnext, which stays valid. */
	kp_rcu_assign(*link, pp->hnext);
}
