// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's own text: which mapping holds an address, writing
 * breakpoints and slots into code that is read-only and possibly running on
 * other threads, and reading code back as it was before we patched it.
 *
 * None of this runs on the trap path except kp_was_disarmed().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/*
 * Within one registration call (kprobe_mutex held), the mapping found last
 * is reused for addresses inside it: a batch of 10,000 probes would
 * otherwise read /proc/self/maps 10,000 times. The cache lives only as long
 * as the call: mappings change between calls.
 */
static struct kp_mapping map_cache;
static bool map_cache_on, map_cache_valid;

void kp_mapping_cache(bool on)
{
	kp_assert_locked();
	map_cache_on = on;
	map_cache_valid = false;
}

static int read_mapping(uintptr_t addr, struct kp_mapping *m);

int kp_find_mapping(uintptr_t addr, struct kp_mapping *m)
{
	int ret;

	if (map_cache_on && map_cache_valid && addr >= map_cache.start &&
	    addr < map_cache.end) {
		*m = map_cache;
		return 0;
	}
	ret = read_mapping(addr, m);
	if (!ret && map_cache_on) {
		map_cache = *m;
		map_cache_valid = true;
	}
	return ret;
}

static int read_mapping(uintptr_t addr, struct kp_mapping *m)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, off;
		char perms[5], path[256] = "";
		unsigned int dmaj, dmin;
		unsigned long ino;

		if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %255[^\n]", &start,
			   &end, perms, &off, &dmaj, &dmin, &ino, path) < 7)
			continue;
		if (addr < start || addr >= end)
			continue;
		m->start = start;
		m->end = end;
		m->prot = (perms[0] == 'r' ? PROT_READ : 0) |
			  (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		/* The path column is left-padded with spaces. */
		snprintf(m->path, sizeof(m->path), "%s",
			 path + strspn(path, " "));
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

static int mem_fd = -1;

/*
 * Write through /proc/self/mem where we can: the kernel writes read-only
 * text for us (as for a debugger), so no page is ever writable and the
 * mappings stay as the program made them. Elsewhere (no /proc, qemu-user,
 * whose translated code would not see such a write) make the page RWX for
 * the moment of the write: it must stay executable, another thread may be
 * running on it.
 */
static int poke_mprotect(uintptr_t addr, const void *src, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t start = addr & ~(uintptr_t)(pg - 1);
	uintptr_t end = (addr + len + pg - 1) & ~(uintptr_t)(pg - 1);
	struct kp_mapping m;
	int ret;

	ret = kp_find_mapping(addr, &m);
	if (ret)
		return ret;
	if (addr + len > m.end)
		return -EINVAL;
	if (mprotect((void *)start, end - start,
		     PROT_READ | PROT_WRITE | PROT_EXEC))
		return -errno;
	memcpy((void *)addr, src, len);
	__builtin___clear_cache((char *)addr, (char *)addr + len);
	if (mprotect((void *)start, end - start, m.prot))
		return -errno;
	return 0;
}

int kp_text_poke(uintptr_t addr, const void *src, size_t len)
{
	kp_assert_locked();
	if (ARCH_POKE_VIA_PROC_MEM && mem_fd < 0) {
		mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		kp_fd_out_of_the_way(&mem_fd);
	}
	if (ARCH_POKE_VIA_PROC_MEM && mem_fd >= 0) {
		ssize_t n = pwrite(mem_fd, src, len, (off_t)addr);

		if (n == (ssize_t)len)
			return 0;
	}
	return poke_mprotect(addr, src, len);
}

/* A fork()ed child shares the open file, which names the parent's memory. */
void kp_text_atfork_child(void)
{
	if (mem_fd >= 0)
		close(mem_fd);
	mem_fd = -1;
}

/*
 * Read code as it was: where a breakpoint or an optimized probe's jump of
 * ours sits, put back the bytes it hides (the kernel's
 * recover_probed_instruction()). kprobe_mutex held.
 */
void kp_read_text(uintptr_t addr, void *dst, size_t len)
{
	uint8_t *d = dst;
	size_t i;

	kp_assert_locked();
	memcpy(d, (const void *)addr, len);
	for (i = 0; i < len; i++) {
		struct probe_point *pp;
		size_t n;

		if (d[i] != arch_bp_insn[0])
			continue;
		pp = kp_table_lookup(addr + i);
		if (!pp || !pp->armed)
			continue;
		n = len - i < ARCH_BP_LEN ? len - i : ARCH_BP_LEN;
		memcpy(d + i, arch_saved_bytes(pp), n);
	}
	kp_opt_recover(addr, d, len);
}

/*
 * A thread may execute a breakpoint just before another thread removes it
 * and reach the trap handler after the probe is gone. The handler then
 * finds no probe and a restored instruction at the address; this ring says
 * the address was ours, so the thread can simply run it again. Writers hold
 * kprobe_mutex; the trap path reads entries with relaxed loads.
 */
#define KP_DISARMED_RING 512
static uintptr_t disarmed[KP_DISARMED_RING];
static unsigned int disarmed_next;

void kp_note_disarmed(uintptr_t addr)
{
	kp_assert_locked();
	__atomic_store_n(&disarmed[disarmed_next++ % KP_DISARMED_RING], addr,
			 __ATOMIC_RELEASE);
}

/* Async-signal-safe. */
bool kp_was_disarmed(uintptr_t addr)
{
	for (int i = 0; i < KP_DISARMED_RING; i++)
		if (__atomic_load_n(&disarmed[i], __ATOMIC_ACQUIRE) == addr)
			return true;
	return false;
}
