// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The instruction-slot cache: executable pages cut into fixed slots where
 * displaced instructions run out of line (the seed's get_insn_slot() /
 * free_insn_slot() / collect_garbage_slots()).
 *
 * A slot is CLEAN (free), USED (owned by a probe point) or DIRTY (its probe
 * is gone but a thread may still be executing in it). Each slot counts the
 * threads between entering it (first trap) and leaving it (second trap, or
 * a fault in it): that count is the seed's check_safety() done per slot, and
 * it covers every thread of the process, whatever it is doing, because a
 * thread increments it before it can reach the slot. Dirty slots are
 * collected in a batch, when an allocation finds no clean one; pages left
 * with no used slot are unmapped, except the last one, which is kept.
 *
 * RIP-relative operands are re-targeted to run from the slot, so a slot must
 * be within ARCH_SLOT_REACH of its probe: there is one pool of pages per
 * region of the address space, found by distance.
 *
 * Writers hold kprobe_mutex. kp_slot_lookup() runs on the trap path, inside
 * a read-side section; page structs are freed only after a grace period.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

struct kp_slot_page {
	struct kp_slot_page *next;	/* RCU */
	struct kp_slot_page *gc_next;	/* pages being freed */
	uintptr_t base;
	size_t size;
	int nslots;
	int nused;			/* used + dirty */
	int ndirty;
	struct kp_slot *slots;
};

static struct kp_slot_page *slot_pages;
static int nr_dirty;

static size_t page_size(void)
{
	static size_t pgsz;

	if (!pgsz)
		pgsz = (size_t)sysconf(_SC_PAGESIZE);
	return pgsz;
}

/* Does [a, a + span) lie within @reach bytes of @b? */
static bool in_reach(uintptr_t a, uintptr_t b, size_t span, size_t reach)
{
	uintptr_t d = a > b ? a - b : b - a;

	return d < reach && reach - d > span;
}

/*
 * Find room for a page within @reach of @near: walk the gaps between the
 * mappings and take the free address closest to @near. Stay clear of the
 * brk heap's growth and of the main stack's guard gap.
 */
static uintptr_t find_gap(uintptr_t near, size_t size, size_t reach)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t brk_lo = (uintptr_t)sbrk(0), brk_hi = brk_lo + (1ul << 30);
	uintptr_t prev_end = 1ul << 20, best = 0, best_d = UINTPTR_MAX;
	char line[512];

	if (!f)
		return 0;
	for (;;) {
		unsigned long start = 0, end = 0;
		bool more = fgets(line, sizeof(line), f) != NULL;
		uintptr_t lo, hi, cand;

		if (more && sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (!more)
			start = ARCH_MMAP_TOP;	/* the top mmap() uses */
		if (more && strstr(line, "[stack]"))
			start = start > (64ul << 20) ? start - (64ul << 20) : 0;
		lo = prev_end;
		hi = start;
		if (lo <= brk_lo && hi > brk_lo) {
			/* The heap grows into this gap (and only this one:
			 * brk stops at the next mapping). Split around its
			 * room to grow: take the part nearer to @near. */
			if (near < brk_lo)
				hi = brk_lo;
			else
				lo = brk_hi;
		}
		if (hi > lo && hi - lo >= size) {
			/* The address in [lo, hi - size] closest to near. */
			cand = near < lo ? lo : near > hi - size ? hi - size
								  : near;
			cand &= ~(uintptr_t)(page_size() - 1);
			if (cand >= lo && cand + size <= hi &&
			    in_reach(cand, near, size, reach)) {
				uintptr_t d = cand > near ? cand - near
							  : near - cand;

				if (d < best_d) {
					best = cand;
					best_d = d;
				}
			}
		}
		if (!more)
			break;
		if (end > prev_end)
			prev_end = end;
	}
	fclose(f);
	return best;
}

static struct kp_slot_page *new_page(uintptr_t near, size_t reach)
{
	size_t size = page_size();
	struct kp_slot_page *pg;
	uintptr_t where;
	void *mem = MAP_FAILED;
	int tries;

	/* The maps can change under us (other threads map too): retry. */
	for (tries = 0; tries < 8 && mem == MAP_FAILED; tries++) {
		where = find_gap(near, size, reach);
		if (!where)
			return NULL;
		mem = mmap((void *)where, size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			   -1, 0);
		if (mem != MAP_FAILED && (uintptr_t)mem != where &&
		    !in_reach((uintptr_t)mem, near, size, reach)) {
			/* An old kernel (or qemu-user) took the hint as a
			 * hint, and put the page out of reach. */
			munmap(mem, size);
			mem = MAP_FAILED;
		}
	}
	if (mem == MAP_FAILED)
		return NULL;
	/* Unused bytes trap: a stray jump into the page stops at once. */
	for (size_t off = 0; off + ARCH_BP_LEN <= size; off += ARCH_BP_LEN)
		memcpy((uint8_t *)mem + off, arch_bp_insn, ARCH_BP_LEN);
	if (mprotect(mem, size, PROT_READ | PROT_EXEC)) {
		munmap(mem, size);
		return NULL;
	}
	pg = calloc(1, sizeof(*pg));
	if (pg)
		pg->slots = calloc(size / ARCH_SLOT_SIZE, sizeof(*pg->slots));
	if (!pg || !pg->slots) {
		free(pg);
		munmap(mem, size);
		return NULL;
	}
	pg->base = (uintptr_t)mem;
	pg->size = size;
	pg->nslots = (int)(size / ARCH_SLOT_SIZE);
	for (int i = 0; i < pg->nslots; i++)
		pg->slots[i].addr = pg->base + (uintptr_t)i * ARCH_SLOT_SIZE;
	pg->next = slot_pages;
	kp_rcu_assign(slot_pages, pg);
	return pg;
}

static struct kp_slot *take_clean(uintptr_t near, size_t reach)
{
	struct kp_slot_page *pg;

	for (pg = slot_pages; pg; pg = pg->next) {
		if (pg->nused == pg->nslots ||
		    !in_reach(pg->base, near, pg->size, reach))
			continue;
		for (int i = 0; i < pg->nslots; i++) {
			struct kp_slot *s = &pg->slots[i];

			if (s->state != KP_SLOT_CLEAN)
				continue;
			s->state = KP_SLOT_USED;
			pg->nused++;
			return s;
		}
	}
	return NULL;
}

/* A clean slot within @reach bytes of @near, as close as can be, or NULL
 * (no memory, no room). */
struct kp_slot *kp_slot_alloc(uintptr_t near, size_t reach)
{
	struct kp_slot *s;

	kp_assert_locked();
	s = take_clean(near, reach);
	if (!s && nr_dirty && kp_slot_collect_garbage() > 0)
		s = take_clean(near, reach);
	if (!s && new_page(near, reach))
		s = take_clean(near, reach);
	if (s) {
		atomic_store(&s->inflight, 0);
		s->owner = NULL;
	}
	return s;
}

void kp_slot_write(struct kp_slot *slot, const uint8_t *code, size_t len)
{
	kp_text_poke(slot->addr, code, len);
}

static struct kp_slot_page *page_of(uintptr_t addr)
{
	struct kp_slot_page *pg;

	for (pg = kp_rcu_deref(slot_pages); pg; pg = kp_rcu_deref(pg->next))
		if (addr >= pg->base && addr < pg->base + pg->size)
			return pg;
	return NULL;
}

/*
 * Give a slot back. The caller has cleared slot->owner and waited for a
 * grace period, so no thread can still be on its way into it; one may still
 * be executing in it, and then the slot stays dirty until it leaves.
 */
void kp_slot_free(struct kp_slot *slot)
{
	struct kp_slot_page *pg = page_of(slot->addr);

	kp_assert_locked();
	if (atomic_load(&slot->inflight) == 0) {
		slot->state = KP_SLOT_CLEAN;
		pg->nused--;
	} else {
		slot->state = KP_SLOT_DIRTY;
		pg->ndirty++;
		nr_dirty++;
	}
}

/*
 * Collect dirty slots no thread is executing in, then unmap pages left
 * empty (keeping one). Return the number of slots made clean.
 */
int kp_slot_collect_garbage(void)
{
	struct kp_slot_page *pg, **link, *doomed = NULL;
	int collected = 0, pages = 0;

	kp_assert_locked();
	for (pg = slot_pages; pg; pg = pg->next) {
		pages++;
		for (int i = 0; pg->ndirty && i < pg->nslots; i++) {
			struct kp_slot *s = &pg->slots[i];

			if (s->state != KP_SLOT_DIRTY ||
			    atomic_load(&s->inflight) != 0)
				continue;
			s->state = KP_SLOT_CLEAN;
			pg->ndirty--;
			pg->nused--;
			nr_dirty--;
			collected++;
		}
	}
	for (link = &slot_pages; (pg = *link) && pages > 1;) {
		if (pg->nused) {
			link = &pg->next;
			continue;
		}
		/* pg->next stays intact: a reader may be standing on pg. */
		kp_rcu_assign(*link, pg->next);
		pg->gc_next = doomed;
		doomed = pg;
		pages--;
	}
	if (doomed) {
		/* kp_slot_lookup() may be walking them. */
		kp_synchronize();
		while ((pg = doomed)) {
			doomed = pg->gc_next;
			munmap((void *)pg->base, pg->size);
			free(pg->slots);
			free(pg);
		}
	}
	return collected;
}

/*
 * Boosted slots and detours. A thread leaves them by a jump, with no trap,
 * so no count can say when the last one left, and a thread preempted there
 * may stay for any time. Such a slot is therefore never rewritten for
 * another instruction: when its probe goes it is parked, and a later probe
 * on the same address whose code comes out byte for byte the same takes it
 * back as it is (a thread still inside runs the same code either way). The
 * cost is one slot per distinct address ever boosted or optimized.
 */
struct kp_slot *kp_parked_slot_find(uintptr_t orig, enum kp_slot_kind kind)
{
	struct kp_slot_page *pg;

	kp_assert_locked();
	for (pg = slot_pages; pg; pg = pg->next)
		for (int i = 0; i < pg->nslots; i++)
			if (pg->slots[i].state == KP_SLOT_PARKED &&
			    pg->slots[i].kind == kind &&
			    pg->slots[i].orig == orig)
				return &pg->slots[i];
	return NULL;
}

void kp_slot_park(struct kp_slot *slot)
{
	kp_assert_locked();
	slot->state = KP_SLOT_PARKED;	/* still counted in its page's nused */
}

/* Async-signal-safe; call inside a read-side section. */
struct kp_slot *kp_slot_lookup(uintptr_t addr)
{
	struct kp_slot_page *pg = page_of(addr);

	if (!pg)
		return NULL;
	return &pg->slots[(addr - pg->base) / ARCH_SLOT_SIZE];
}

void kp_slots_stats(int *pages, int *used, int *dirty)
{
	struct kp_slot_page *pg;

	*pages = *used = *dirty = 0;
	for (pg = slot_pages; pg; pg = pg->next) {
		(*pages)++;
		*used += pg->nused - pg->ndirty;
		*dirty += pg->ndirty;
	}
}
