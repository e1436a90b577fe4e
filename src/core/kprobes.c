// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The public kprobe calls: register, unregister, enable, disable, in single
 * and batch form, and the aggregation of several probes at one address.
 *
 * Names chain as in the kernel: register_kprobe -> __register_kprobe ->
 * arm_kprobe -> kp_text_poke. Everything here holds kprobe_mutex; none of
 * it may be called from a handler.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "internal.h"
#include "symbols.h"

#define KP_EXPORT __attribute__((visibility("default")))

pthread_mutex_t kprobe_mutex = PTHREAD_MUTEX_INITIALIZER;
static __thread bool kp_holding;

/* Just after taking kprobe_mutex. */
static void locked(void)
{
	kp_holding = true;
	kp_mapping_cache(true);
	/* A dlclose() we did not see (libc's own): catch up first. */
	kp_dl_check();
}

void kp_lock(void)
{
	pthread_mutex_lock(&kprobe_mutex);
	locked();
}

void kp_unlock(void)
{
	/* The end of a public call: optimize what it queued, in one batch. */
	kp_opt_run();
	kp_mapping_cache(false);
	kp_holding = false;
	pthread_mutex_unlock(&kprobe_mutex);
}

/*
 * kp_lock() if kprobe_mutex is free now, else false. For the dlclose()
 * interposer, which may run with the loader's lock held (a destructor that
 * unloads another object), while a registration holding kprobe_mutex
 * waits for the loader: waiting there would deadlock.
 */
bool kp_trylock(void)
{
	if (pthread_mutex_trylock(&kprobe_mutex))
		return false;
	locked();
	return true;
}

bool kp_mutex_held(void)
{
	return kp_holding;
}

/*
 * fork(): the child must not inherit kprobe_mutex held by a thread that
 * does not exist there, nor read-side counts of such threads.
 */
static void kp_atfork_prepare(void)
{
	kp_lock();
}

static void kp_atfork_parent(void)
{
	kp_unlock();
}

static void kp_atfork_child(void)
{
	kp_kretprobe_atfork_child();	/* first: the thread id */
	kp_sync_atfork_child();
	kp_trap_atfork_child();
	kp_text_atfork_child();
	kp_unlock();
}

static bool kp_init_done;

/* Has the first registration set libkprobe up? */
bool kp_initialized(void)
{
	return __atomic_load_n(&kp_init_done, __ATOMIC_ACQUIRE);
}

/* One-time setup, at the first registration. kprobe_mutex held. */
int kp_init(void)
{
	static bool done;
	static int err;

	kp_assert_locked();
	if (done)
		return err;
	done = true;
	err = arch_init();
	kp_sync_init();
	kp_opt_init();
	if (!err)
		err = kp_trap_init();
	/* After the handlers: the blacklist reads their sa_restorer. */
	if (!err)
		err = kp_blacklist_init();
	if (!err)
		kp_unwind_init();
	if (!err && pthread_atfork(kp_atfork_prepare, kp_atfork_parent,
				   kp_atfork_child))
		err = -ENOMEM;
	if (err)
		kp_error(err, "libkprobe could not initialise");
	else
		__atomic_store_n(&kp_init_done, true, __ATOMIC_RELEASE);
	return err;
}

/*
 * The registry: which struct kprobe are registered, so that a second
 * registration of the same struct, or unregistering a stranger, is caught
 * without trusting the caller's priv field. A hash set keyed by address.
 */
static struct kprobe_node **registry;
static size_t registry_size, registry_count;

static size_t registry_hash(const struct kprobe *p, size_t size)
{
	return (size_t)(((uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 20) &
	       (size - 1);
}

static struct kprobe_node *registry_find(const struct kprobe *p)
{
	struct kprobe_node *n;

	if (!registry_size)
		return NULL;
	for (n = registry[registry_hash(p, registry_size)]; n;
	     n = n->reg_next)
		if (n->kp == p)
			return n;
	return NULL;
}

static int registry_add(struct kprobe_node *node)
{
	size_t h;

	if (registry_count >= registry_size / 2) {
		size_t nsize = registry_size ? registry_size * 2 : 256;
		struct kprobe_node **nt = calloc(nsize, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; i < registry_size; i++) {
			struct kprobe_node *n, *next;

			for (n = registry[i]; n; n = next) {
				next = n->reg_next;
				h = registry_hash(n->kp, nsize);
				n->reg_next = nt[h];
				nt[h] = n;
			}
		}
		free(registry);
		registry = nt;
		registry_size = nsize;
	}
	h = registry_hash(node->kp, registry_size);
	node->reg_next = registry[h];
	registry[h] = node;
	registry_count++;
	return 0;
}

static void registry_del(struct kprobe_node *node)
{
	struct kprobe_node **link =
		&registry[registry_hash(node->kp, registry_size)];

	while (*link != node)
		link = &(*link)->reg_next;
	*link = node->reg_next;
	registry_count--;
}

/* ---- arming ---- */

static int arm_kprobe(struct probe_point *pp)
{
	int ret;

	if (pp->armed)
		return 0;
	if (pp->gone)
		return -ENOENT;	/* its code is unloaded: never write there */
	ret = kp_text_poke(pp->addr, arch_bp_insn, ARCH_BP_LEN);
	if (!ret) {
		pp->armed = true;
		kp_opt_update(pp);
	}
	return ret;
}

/*
 * Put the original bytes back only over our breakpoint, in a mapping that
 * is still executable: if the code was unloaded (dlclose) and something
 * else lives there now, writing would corrupt it.
 */
static void restore_text(struct probe_point *pp)
{
	struct kp_mapping m;

	if (kp_find_mapping(pp->addr, &m) || !(m.prot & PROT_EXEC) ||
	    !arch_is_breakpoint(pp->addr))
		return;
	kp_text_poke(pp->addr, arch_saved_bytes(pp), ARCH_BP_LEN);
}

static void disarm_kprobe(struct probe_point *pp)
{
	if (!pp->armed)
		return;
	kp_opt_remove(pp);	/* the breakpoint first, then the byte */
	restore_text(pp);
	pp->armed = false;
	kp_note_disarmed(pp->addr);
}

/*
 * pp's code was unloaded (the kernel's kill_kprobe() for a going module):
 * its probes are KPROBE_FLAG_GONE, it leaves the table so that code loaded
 * at the same address later can be probed afresh, and nothing is ever
 * written at its address again. Its probes stay registered until
 * unregistered, which then only frees them.
 */
struct probe_point *kp_gone_list;

/* pp's slots lead nowhere any more: a thread already in one goes on, and
 * the trap path finds no probe point through it. */
static void orphan_slots(struct probe_point *pp)
{
	if (pp->slot)
		kp_rcu_assign(pp->slot->owner, NULL);
	if (pp->boost)
		kp_rcu_assign(pp->boost->owner, NULL);
	if (pp->opt_slot) {
		kp_rcu_assign(pp->opt_slot->owner, NULL);
		kp_rcu_assign(pp->opt_slot->kret, NULL);
	}
}

void kp_kill_probe_point(struct probe_point *pp)
{
	kp_assert_locked();
	pp->gone_next = kp_gone_list;
	kp_gone_list = pp;
	for (struct kprobe_node *n = pp->probes; n; n = n->next)
		__atomic_fetch_or(&n->kp->flags, KPROBE_FLAG_GONE,
				  __ATOMIC_RELEASE);
	pp->gone = true;
	kp_opt_forget(pp);
	pp->armed = false;
	kp_table_remove(pp);
	orphan_slots(pp);
}

/* Recompute what the trap path reads about the probes at pp. */
static void update_probe_point(struct probe_point *pp)
{
	struct kprobe_node *n;
	bool has_post = false, all_light = true;
	int enabled = 0;

	for (n = pp->probes; n; n = n->next) {
		all_light &= n->light;
		if (n->kp->flags & KPROBE_FLAG_DISABLED)
			continue;
		enabled++;
		has_post |= n->kp->post_handler != NULL;
	}
	/* A jump runs no post_handler: take it out before saying there is
	 * one, so that no hit through the jump misses it. */
	if (has_post || !enabled)
		kp_opt_remove(pp);
	pp->nr_enabled = enabled;
	__atomic_store_n(&pp->has_post, has_post, __ATOMIC_RELEASE);
	__atomic_store_n(&pp->all_light, all_light, __ATOMIC_RELEASE);
	if (pp->opt_slot && !pp->gone)	/* gone: orphan_slots() cleared it */
		kp_rcu_assign(pp->opt_slot->kret, kp_kretprobe_direct_of(pp));
	kp_opt_update(pp);
}

/* ---- resolving and checking a request ---- */

struct kp_target {
	uintptr_t addr;
	struct kp_mapping map;
	bool func_known;
	struct kp_symbol func;
};

static int resolve_target(const struct kprobe *p, struct kp_target *t)
{
	const char *why;
	int ret;

	if (p->symbol_name && p->addr)
		return kp_error(-EINVAL, "both addr and symbol_name are set");
	if (!p->symbol_name && !p->addr)
		return kp_error(-EINVAL, "neither addr nor symbol_name is set");

	t->func_known = false;
	if (p->symbol_name) {
		ret = kp_sym_lookup(p->symbol_name, &t->func);
		if (ret)
			return ret;
		if (t->func.size && p->offset >= t->func.size)
			return kp_error(-EINVAL,
					"offset 0x%x is past the end of %s (size 0x%zx)",
					p->offset, p->symbol_name,
					t->func.size);
		t->func_known = true;
		/* At offset 0, the entry every caller passes (as the
		 * kernel's kprobe_lookup_name() on ppc64 ELFv2). */
		t->addr = t->func.addr +
			  (p->offset ? p->offset : t->func.local_entry);
	} else {
		t->addr = (uintptr_t)p->addr;
		/* A function pointer that is no code address (an ELFv1
		 * descriptor) stands for the code it describes. */
		if (!kp_find_mapping(t->addr, &t->map) &&
		    !(t->map.prot & PROT_EXEC) && (t->map.prot & PROT_READ))
			t->addr = arch_func_entry(p->addr);
		t->addr += p->offset;
		/* A function's own address goes to its local entry point,
		 * as its name would: local calls skip the global one. */
		if (!p->offset && !kp_sym_find_addr(t->addr, &t->func)) {
			t->func_known = true;
			if (t->addr == t->func.addr)
				t->addr += t->func.local_entry;
		}
	}

	if (kp_find_mapping(t->addr, &t->map) ||
	    !(t->map.prot & PROT_EXEC))
		return kp_error(-EINVAL, "%#lx is not in an executable mapping",
				(unsigned long)t->addr);
	why = kp_blacklisted(t->addr);
	if (why)
		return kp_error(-EINVAL, "%#lx is blacklisted: %s",
				(unsigned long)t->addr, why);

	if (!t->func_known && !kp_sym_find_addr(t->addr, &t->func))
		t->func_known = true;
	if (!t->func_known)
		return kp_error(-EILSEQ,
				"%#lx is in no known function: its instruction boundaries cannot be checked",
				(unsigned long)t->addr);
	if (t->func.size && t->addr >= t->func.addr + t->func.size)
		return kp_error(-EINVAL, "%#lx is past the end of %s",
				(unsigned long)t->addr, t->func.name);
	return 0;
}

/* Decode from the function's start: is t->addr an instruction boundary? */
static int check_boundary(const struct kp_target *t)
{
	size_t off = t->addr - t->func.addr, len;
	struct kp_mapping prev;
	uintptr_t start;
	uint8_t *code;
	int ret;

	if (off == 0)
		return 0;
	/*
	 * Patching a page may have left it a mapping of its own (a private
	 * page once mprotect()ed writable keeps its own VMA): the function
	 * may start in the executable mappings just before t->addr's.
	 */
	for (start = t->map.start; t->func.addr < start; start = prev.start)
		if (kp_find_mapping(start - 1, &prev) ||
		    !(prev.prot & PROT_EXEC) || prev.end != start)
			return kp_error(-EILSEQ, "%s starts outside its mapping",
					t->func.name);
	len = off + ARCH_MAX_INSN;
	if (t->func.addr + len > t->map.end)
		len = t->map.end - t->func.addr;
	code = malloc(len);
	if (!code)
		return -ENOMEM;
	kp_read_text(t->func.addr, code, len);
	ret = arch_check_boundary(code, len, off);
	free(code);
	if (ret)
		return kp_error(-EILSEQ,
				"%s+%#zx is not on an instruction boundary",
				t->func.name, off);
	return 0;
}

/*
 * A boosted slot for pp: a parked one for this address whose code is the
 * same (reused untouched), or a new one. NULL if none can be had: pp then
 * simply runs with two traps.
 */
static struct kp_slot *get_boost_slot(struct probe_point *pp)
{
	uint8_t code[ARCH_SLOT_SIZE];
	struct kp_slot *slot = kp_parked_slot_find(pp->addr, KP_SLOT_BOOST);

	if (slot) {
		memset(code, 0, sizeof(code));
		if (!arch_prepare_boost(pp, slot, code) &&
		    !memcmp(code, (const void *)slot->addr, sizeof(code))) {
			slot->state = KP_SLOT_USED;
			kp_rcu_assign(slot->owner, pp);
			return slot;
		}
	}
	slot = kp_slot_alloc(pp->addr, ARCH_SLOT_REACH);
	if (!slot)
		return NULL;
	memset(code, 0, sizeof(code));
	if (arch_prepare_boost(pp, slot, code)) {
		kp_slot_free(slot);
		return NULL;
	}
	slot->orig = pp->addr;
	kp_slot_write(slot, code, sizeof(code));
	kp_rcu_assign(slot->owner, pp);
	return slot;
}

/* After a grace period: give pp's slots back. */
static void release_slots(struct probe_point *pp)
{
	if (pp->slot)
		kp_slot_free(pp->slot);
	if (pp->boost)
		kp_slot_park(pp->boost);
	kp_opt_release(pp);
}

static void free_probe_point(struct probe_point *pp)
{
	free(pp->symbol);
	free(pp->object);
	free(pp);
}

static struct probe_point *alloc_probe_point(const struct kp_target *t,
					     int *err)
{
	uint8_t code[ARCH_MAX_INSN], slot_code[ARCH_SLOT_SIZE];
	size_t n = ARCH_MAX_INSN;
	struct probe_point *pp;
	struct kp_slot *slot;
	int ret;

	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		*err = -ENOMEM;
		return NULL;
	}
	pp->addr = t->addr;
	pp->func_addr = t->func.addr;
	pp->func_size = t->func.size;
	pp->symbol = strdup(t->func.name ? t->func.name : "?");
	pp->sym_offset = t->addr - t->func.addr;
	pp->object = strdup(t->func.object ? t->func.object : t->map.path);
	if (t->addr + n > t->map.end)
		n = t->map.end - t->addr;
	kp_read_text(t->addr, code, n);
	ret = arch_prepare_kprobe(pp, code, n);
	if (ret) {
		*err = kp_error(ret, "%s+%#lx: %s", pp->symbol,
				(unsigned long)pp->sym_offset,
				ret == -EOPNOTSUPP ?
				"this instruction cannot be probed" :
				"cannot decode the instruction");
		goto fail;
	}
	if (arch_needs_slot(pp)) {
		slot = kp_slot_alloc(t->addr, arch_slot_reach(pp));
		if (!slot) {
			*err = kp_error(-ENOMEM,
					"no instruction slot within reach of %#lx",
					(unsigned long)t->addr);
			goto fail;
		}
		memset(slot_code, 0, sizeof(slot_code));
		ret = arch_prepare_slot(pp, slot, slot_code);
		if (ret) {
			kp_slot_free(slot);
			*err = kp_error(-ENOMEM, "slot out of reach");
			goto fail;
		}
		slot->orig = t->addr;
		kp_slot_write(slot, slot_code, sizeof(slot_code));
		kp_rcu_assign(slot->owner, pp);
		pp->slot = slot;
		if (arch_can_boost(pp))
			pp->boost = get_boost_slot(pp);
	}
	return pp;
fail:
	free_probe_point(pp);
	return NULL;
}

/* ---- registration ---- */

static int __register_kprobe(struct kprobe *p, bool func_entry)
{
	struct probe_point *pp;
	struct kprobe_node *node, **tail;
	struct kp_target t;
	bool new_pp = false;
	int ret;

	kp_assert_locked();
	if (registry_find(p))
		return kp_error(-EINVAL, "this struct kprobe is already registered");
	ret = resolve_target(p, &t);
	if (ret)
		return ret;
	if (func_entry && t.addr != t.func.addr &&
	    t.addr != t.func.addr + t.func.local_entry)
		return kp_error(-EINVAL,
				"%#lx is not the entry of a function (%s+%#lx)",
				(unsigned long)t.addr, t.func.name,
				(unsigned long)(t.addr - t.func.addr));

	pp = kp_table_lookup(t.addr);
	if (!pp) {
		/* A breakpoint must not land inside an optimized jump. */
		kp_opt_make_room(t.addr);
		ret = check_boundary(&t);
		if (ret)
			return ret;
		pp = alloc_probe_point(&t, &ret);
		if (!pp)
			return ret;
		new_pp = true;
	}

	node = calloc(1, sizeof(*node));
	if (!node || registry_add((node->kp = p, node))) {
		free(node);
		ret = kp_error(-ENOMEM, "out of memory");
		goto fail_pp;
	}
	node->pp = pp;
	node->light = !p->pre_handler ||
		      (kp_is_kretprobe(p) ? kp_kretprobe_entry_light(p) :
		       kp_opt_handler_light((uintptr_t)p->pre_handler));
	p->addr = (kprobe_opcode_t *)t.addr;
	p->flags &= KPROBE_FLAG_DISABLED;
	p->nmissed = 0;
	p->priv = node;

	/* Publish: in the table first, then in the list, then arm. */
	if (new_pp)
		kp_table_insert(pp);
	/*
	 * Registration order, except that a probe with a break_handler (a
	 * jprobe, whose pre_handler takes the thread away) comes last, and
	 * there can be one only: as in the kernel's aggregate probes.
	 */
	for (tail = &pp->probes; *tail && !(*tail)->kp->break_handler;
	     tail = &(*tail)->next)
		;
	if (*tail && p->break_handler) {
		ret = kp_error(-EEXIST, "a jprobe is already at %#lx",
			       (unsigned long)t.addr);
		registry_del(node);
		p->priv = NULL;
		free(node);
		goto fail_pp;
	}
	node->next = *tail;
	if (!node->light)
		__atomic_store_n(&pp->all_light, false, __ATOMIC_RELEASE);
	kp_rcu_assign(*tail, node);
	pp->nr_probes++;
	update_probe_point(pp);
	if (pp->nr_enabled) {
		ret = arm_kprobe(pp);
		if (ret) {
			kp_error(ret, "cannot write the breakpoint at %#lx",
				 (unsigned long)t.addr);
			*tail = node->next;
			pp->nr_probes--;
			update_probe_point(pp);
			registry_del(node);
			p->priv = NULL;
			if (new_pp)
				kp_table_remove(pp);
			kp_synchronize();
			free(node);
			goto fail_pp;
		}
	}
	return 0;

fail_pp:
	if (new_pp) {
		orphan_slots(pp);
		release_slots(pp);
		free_probe_point(pp);
	}
	return ret;
}

/*
 * Unregister a batch: unlink everything, wait for one grace period, free.
 * After it, no thread runs or will run the handlers of these probes.
 */
static void __unregister_kprobes(struct kprobe **kps, int num)
{
	struct kprobe_node *dead_nodes = NULL, *node;
	struct probe_point *dead_pps = NULL, *pp;

	kp_assert_locked();
	for (int i = 0; i < num; i++) {
		struct kprobe_node **link;

		if (!kps[i] || !(node = registry_find(kps[i])))
			continue;
		pp = node->pp;
		registry_del(node);
		for (link = &pp->probes; *link != node; link = &(*link)->next)
			;
		/* node->next stays: a reader may be standing on node. */
		kp_rcu_assign(*link, node->next);
		pp->nr_probes--;
		update_probe_point(pp);
		if (!pp->nr_enabled)
			disarm_kprobe(pp);
		if (!pp->nr_probes) {
			if (!pp->gone) {
				kp_table_remove(pp);
			} else {
				struct probe_point **g = &kp_gone_list;

				while (*g != pp)
					g = &(*g)->gone_next;
				*g = pp->gone_next;
			}
			orphan_slots(pp);
			/* pp->hnext and pp->probes stay: readers. */
			pp->gc_next = dead_pps;
			dead_pps = pp;
		}
		node->reg_next = dead_nodes;
		dead_nodes = node;
	}
	if (!dead_nodes)
		return;
	kp_synchronize();
	while ((node = dead_nodes)) {
		dead_nodes = node->reg_next;
		node->kp->priv = NULL;
		free(node);
	}
	while ((pp = dead_pps)) {
		dead_pps = pp->gc_next;
		release_slots(pp);
		free_probe_point(pp);
	}
}

/*
 * All-or-nothing registration of @num probes of a kind built on a kprobe at
 * a function's entry (kretprobes, jprobes). @prepare(items, i, &err) readies
 * item i and gives its kprobe (NULL and err on failure); @undo(items, i)
 * takes that back. On a failure the items registered so far are
 * unregistered and undone, and the error is returned.
 */
int kp_register_entry_batch(void *items, int num,
			    struct kprobe *(*prepare)(void *items, int i,
						      int *err),
			    void (*undo)(void *items, int i))
{
	struct kprobe **kps;
	int ret, i;

	kp_clear_error();
	if (!items || num <= 0)
		return kp_error(-EINVAL, "no probes given");
	kps = calloc((size_t)num, sizeof(*kps));
	if (!kps)
		return -ENOMEM;
	kp_lock();
	ret = kp_init();
	for (i = 0; !ret && i < num; i++) {
		/* prepare() refuses an item already registered: preparing
		 * would overwrite its live state. */
		kps[i] = prepare(items, i, &ret);
		if (!kps[i])
			break;
		ret = __register_kprobe(kps[i], true);
		if (ret) {
			undo(items, i);
			break;
		}
	}
	if (ret) {
		__unregister_kprobes(kps, i);
		for (int j = 0; j < i; j++)
			undo(items, j);
	}
	kp_unlock();
	free(kps);
	return ret;
}

void kp_unregister_batch(struct kprobe **kps, int num)
{
	__unregister_kprobes(kps, num);
}

bool kp_is_registered(const struct kprobe *p)
{
	return registry_find(p) != NULL;
}

KP_EXPORT int register_kprobe(struct kprobe *p)
{
	int ret;

	kp_clear_error();
	if (!p)
		return kp_error(-EINVAL, "NULL kprobe");
	kp_lock();
	ret = kp_init();
	if (!ret)
		ret = __register_kprobe(p, false);
	kp_unlock();
	return ret;
}

KP_EXPORT void unregister_kprobe(struct kprobe *p)
{
	unregister_kprobes(&p, 1);
}

KP_EXPORT int register_kprobes(struct kprobe **kps, int num)
{
	int ret = 0, i;

	kp_clear_error();
	if (!kps || num <= 0)
		return kp_error(-EINVAL, "no probes given");
	kp_lock();
	ret = kp_init();
	for (i = 0; !ret && i < num; i++) {
		if (!kps[i])
			ret = kp_error(-EINVAL, "kps[%d] is NULL", i);
		else
			ret = __register_kprobe(kps[i], false);
	}
	if (ret && i > 1)
		/* All or nothing: take back kps[0 .. i-2]. */
		__unregister_kprobes(kps, i - 1);
	kp_unlock();
	return ret;
}

KP_EXPORT void unregister_kprobes(struct kprobe **kps, int num)
{
	if (!kps || num <= 0)
		return;
	kp_lock();
	__unregister_kprobes(kps, num);
	kp_unlock();
}

/* Arm or disarm one registered probe; the others at its address decide
 * whether the breakpoint stays. */
static int set_kprobe_disabled(struct kprobe *p, bool disable)
{
	struct kprobe_node *node;
	int ret = 0;

	kp_clear_error();
	kp_lock();
	node = p ? registry_find(p) : NULL;
	if (!node) {
		ret = kp_error(-EINVAL, "not a registered kprobe");
	} else if (!!(p->flags & KPROBE_FLAG_DISABLED) != disable) {
		if (disable)
			__atomic_fetch_or(&p->flags, KPROBE_FLAG_DISABLED,
					  __ATOMIC_RELEASE);
		else
			__atomic_fetch_and(&p->flags, ~KPROBE_FLAG_DISABLED,
					   __ATOMIC_RELEASE);
		update_probe_point(node->pp);
		if (!node->pp->nr_enabled)
			disarm_kprobe(node->pp);
		else
			ret = arm_kprobe(node->pp);
		if (ret) {
			/* Could not write the breakpoint: stay disabled. */
			__atomic_fetch_or(&p->flags, KPROBE_FLAG_DISABLED,
					  __ATOMIC_RELEASE);
			update_probe_point(node->pp);
		}
	}
	kp_unlock();
	return ret;
}

KP_EXPORT int disable_kprobe(struct kprobe *p)
{
	return set_kprobe_disabled(p, true);
}

KP_EXPORT int enable_kprobe(struct kprobe *p)
{
	return set_kprobe_disabled(p, false);
}

KP_EXPORT kprobe_opcode_t *kprobe_lookup_name(const char *name,
					      unsigned int offset)
{
	struct kp_symbol sym;

	kp_clear_error();
	if (kp_sym_lookup(name, &sym))
		return NULL;
	return (kprobe_opcode_t *)(sym.addr + (offset ? offset
						      : sym.local_entry));
}
