// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The listing, like the kernel's /sys/kernel/debug/kprobes/list:
 *
 *   00005555555551a9  k  target_add+0x0  /path/to/prog  [DISABLED]
 *
 * The kind is k (kprobe), r (kretprobe) or j (jprobe). One line per
 * registered struct kprobe; probes aggregated at one address
 * get one line each. Not for handlers: it takes kprobe_mutex and uses stdio.
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

/* One line per probe at @pp. */
static int list_point(FILE *out, const struct probe_point *pp)
{
	int count = 0;

	for (const struct kprobe_node *n = pp->probes; n; n = n->next) {
		unsigned int flags = n->kp->flags;

		fprintf(out, "%016lx  %c  %s+0x%lx  %s%s%s%s%s\n",
			(unsigned long)pp->addr,
			kp_is_kretprobe(n->kp) ? 'r' :
			kp_is_jprobe(n->kp) ? 'j' : 'k',
			pp->symbol, (unsigned long)pp->sym_offset,
			pp->object ? pp->object : "?",
			flags & KPROBE_FLAG_GONE ? "  [GONE]" : "",
			flags & KPROBE_FLAG_DISABLED ? "  [DISABLED]" : "",
			pp->opt_state == KP_OPT_DONE ? "  [OPTIMIZED]" : "",
			pp->opt_state != KP_OPT_DONE && pp->boost &&
			!pp->has_post ? "  [BOOSTED]" : "");
		count++;
	}
	return count;
}

KP_EXPORT int kprobe_list(FILE *out)
{
	struct probe_point *pp;
	int count = 0, i;

	if (!out)
		return -EINVAL;
	kp_lock();
	for (i = 0; i < KP_TABLE_SIZE; i++)
		for (pp = kp_table[i]; pp; pp = pp->hnext)
			count += list_point(out, pp);
	/* Probes whose code was unloaded, until they are unregistered. */
	for (pp = kp_gone_list; pp; pp = pp->gone_next)
		count += list_point(out, pp);
	kp_unlock();
	return count;
}
