// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * jprobes, the seed's: a kprobe at a function's entry whose pre_handler
 * sends the thread to an entry function with the probed function's own
 * prototype, and whose break handler (reached through jprobe_return())
 * puts the registers and stack arguments back before the probed function
 * runs. The kernel removed them in 2018 (they needed a copy of an unknown
 * amount of stack and a special exit, and kprobes on the entry with
 * regs_get_argument() do the same job); they are here for code that
 * still uses them. The trap-path halves live in trap.c (the per-thread
 * state they need is there).
 */
#include <errno.h>
#include <stdlib.h>

#include "error.h"
#include "internal.h"

#define KP_EXPORT __attribute__((visibility("default")))

int kp_jprobe_setjmp(struct kprobe *p, struct pt_regs *regs, void *entry);
int kp_jprobe_longjmp(struct kprobe *p, struct pt_regs *regs);

/* Async-signal-safe (a pre_handler). */
static int setjmp_pre_handler(struct kprobe *p, struct pt_regs *regs)
{
	struct jprobe *jp = (struct jprobe *)p;

	return kp_jprobe_setjmp(p, regs, jp->entry);
}

bool kp_is_jprobe(const struct kprobe *p)
{
	return p->pre_handler == setjmp_pre_handler;
}

static struct kprobe *prepare_item(void *items, int i, int *err)
{
	struct jprobe *jp = ((struct jprobe **)items)[i];

	if (!jp || !jp->entry) {
		*err = kp_error(-EINVAL, "jprobe %d has no entry", i);
		return NULL;
	}
	if (kp_is_registered(&jp->kp)) {
		*err = kp_error(-EINVAL, "this jprobe is already registered");
		return NULL;
	}
	jp->kp.pre_handler = setjmp_pre_handler;
	jp->kp.break_handler = kp_jprobe_longjmp;
	return &jp->kp;
}

static void undo_item(void *items, int i)
{
	struct jprobe *jp = ((struct jprobe **)items)[i];

	jp->kp.pre_handler = NULL;
	jp->kp.break_handler = NULL;
}

KP_EXPORT int register_jprobes(struct jprobe **jps, int num)
{
	return kp_register_entry_batch(jps, num, prepare_item, undo_item);
}

KP_EXPORT int register_jprobe(struct jprobe *jp)
{
	return register_jprobes(&jp, 1);
}

KP_EXPORT void unregister_jprobes(struct jprobe **jps, int num)
{
	if (!jps || num <= 0)
		return;
	struct kprobe **kps = calloc((size_t)num, sizeof(*kps));

	if (!kps)
		return;
	for (int i = 0; i < num; i++)
		kps[i] = jps[i] ? &jps[i]->kp : NULL;
	/* One grace period for the whole batch. */
	kp_lock();
	kp_unregister_batch(kps, num);
	kp_unlock();
	free(kps);
}

KP_EXPORT void unregister_jprobe(struct jprobe *jp)
{
	unregister_jprobes(&jp, 1);
}
