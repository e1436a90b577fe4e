// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * C++ exceptions through return-probed frames. While a return is pending,
 * the return address on the stack is one of the library's trampolines;
 * the C++ unwinder must still find the caller's handler, run the
 * destructors on the way, and reach the catch block as if no probe were
 * there. The calls the exception leaves never return through the
 * trampoline: their instances must be reclaimed (maxactive 2, ten throws,
 * then a normal call is still return-probed, nmissed 0).
 *
 * A plain main(): testutil.h is C. Exit status 0 pass, 1 fail, 77 skip.
 * std::terminate() (which is what an unwinder that cannot get past a
 * trampoline leads to) is reported as a failure with its own message.
 */
#include <kprobes.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include <unistd.h>

#if !defined(__x86_64__) && !defined(__powerpc64__)
int main()
{
	std::printf("SKIP: the live tests' targets are x86_64 code\n");
	return 77;
}
#else

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		std::fprintf(stderr, "ERROR: " __VA_ARGS__);		\
		std::fprintf(stderr, " (failed: %s)\n", #cond);		\
		failures++;						\
	}								\
} while (0)

#define CHECK_EQ(actual, expected, ...) do {				\
	long a_ = (long)(actual), e_ = (long)(expected);		\
	if (a_ != e_) {							\
		std::fprintf(stderr, "ERROR: " __VA_ARGS__);		\
		std::fprintf(stderr, ": got %ld, expected %ld\n",	\
			     a_, e_);					\
		failures++;						\
	}								\
} while (0)

static unsigned long dtor_runs;

static void cnt_inc(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static unsigned long cnt_get(const unsigned long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void cnt_set(unsigned long *c, unsigned long v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/* A local with a destructor: a cleanup the unwinder must run in middle()'s
 * frame. */
struct Guard {
	~Guard() { cnt_inc(&dtor_runs); }
};

/* ---- targets: C++ linkage, out of line, called through pointers ---- */

__attribute__((noinline)) int thrower(int x)
{
	if (x >= 0)
		throw std::runtime_error("thrower(" + std::to_string(x) + ")");
	return x * 2;
}

static int (*volatile thrower_fp)(int) = thrower;

/* Return-probed. */
__attribute__((noinline)) int middle(int x)
{
	Guard g;

	return thrower_fp(x) + 1;
}

static int (*volatile middle_fp)(int) = middle;

/* Return-probed too: the exception passes two probed frames. */
__attribute__((noinline)) int outer(int x)
{
	return middle_fp(x) + 10;
}

static int (*volatile outer_fp)(int) = outer;

/* Return-probed: catches what passed through middle(), then returns
 * normally, through its own trampoline. */
__attribute__((noinline)) int catcher(int x)
{
	try {
		return middle_fp(x);
	} catch (const std::runtime_error &e) {
		return 4000 + x;
	}
}

static int (*volatile catcher_fp)(int) = catcher;

static kprobe_opcode_t *addr_of(int (*fn)(int))
{
	return reinterpret_cast<kprobe_opcode_t *>(
		reinterpret_cast<uintptr_t>(fn));
}

/* ---- handlers ---- */

static struct kretprobe rp_middle, rp_outer, rp_catcher;
static unsigned long middle_rets, outer_rets, catcher_rets;
static long middle_rax, outer_rax, catcher_rax;
static unsigned long seq, middle_seq, outer_seq;

static int middle_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	middle_rax = (int)regs_return_value(regs);
	middle_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	cnt_inc(&middle_rets);
	return 0;
}

static int outer_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	outer_rax = (int)regs_return_value(regs);
	outer_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	cnt_inc(&outer_rets);
	return 0;
}

static int catcher_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	catcher_rax = (int)regs_return_value(regs);
	cnt_inc(&catcher_rets);
	return 0;
}

static void reset(void)
{
	cnt_set(&middle_rets, 0);
	cnt_set(&outer_rets, 0);
	cnt_set(&catcher_rets, 0);
	cnt_set(&dtor_runs, 0);
	cnt_set(&seq, 0);
	middle_rax = outer_rax = catcher_rax = 0;
	middle_seq = outer_seq = 0;
}

static bool register_rp(struct kretprobe *rp, int (*fn)(int),
			kretprobe_handler_t h, int maxactive,
			const char *name)
{
	int ret;

	std::memset(rp, 0, sizeof(*rp));
	rp->kp.addr = addr_of(fn);
	rp->handler = h;
	rp->maxactive = maxactive;
	ret = register_kretprobe(rp);
	if (ret) {
		std::fprintf(stderr, "ERROR: register_kretprobe(%s) returned "
			     "%d (%s): %s\n", name, ret, strerror(-ret),
			     kprobe_last_error());
		failures++;
		return false;
	}
	return true;
}

static int rp_nmissed(const struct kretprobe *rp)
{
	return __atomic_load_n(&rp->nmissed, __ATOMIC_RELAXED);
}

/*
 * Call @fn(@x), which must throw thrower's runtime_error; catch it here.
 * Return true if the catch block was reached with the right message.
 */
static bool expect_throw(int (*fn)(int), int x, const char *what)
{
	std::string want = "thrower(" + std::to_string(x) + ")";

	try {
		int r = fn(x);

		std::fprintf(stderr, "ERROR: %s(%d) returned %d instead of "
			     "throwing\n", what, x, r);
		failures++;
	} catch (const std::runtime_error &e) {
		if (want == e.what())
			return true;
		std::fprintf(stderr, "ERROR: %s(%d): caught runtime_error "
			     "\"%s\", expected \"%s\"\n", what, x, e.what(),
			     want.c_str());
		failures++;
	} catch (...) {
		std::fprintf(stderr, "ERROR: %s(%d): caught something other "
			     "than std::runtime_error\n", what, x);
		failures++;
	}
	return false;
}

/* ---- tests ---- */

static void test_unprobed(void)
{
	reset();
	CHECK(expect_throw(middle_fp, 1, "middle"), "middle(1) unprobed "
	      "throws thrower's exception to the test's catch block");
	CHECK_EQ(cnt_get(&dtor_runs), 1, "middle's Guard destructor runs "
		 "during the unwinding, unprobed");
	CHECK_EQ(middle_fp(-3), -5, "middle(-3) unprobed");
}

static void test_throw_through_probed_frame(void)
{
	reset();
	if (!register_rp(&rp_middle, middle, middle_ret, 0, "middle"))
		return;
	CHECK(expect_throw(middle_fp, 2, "middle"), "middle(2) "
	      "return-probed throws thrower's exception to the test's catch "
	      "block, as if no probe were there");
	CHECK_EQ(cnt_get(&dtor_runs), 1, "middle's Guard destructor runs "
		 "during the unwinding through its probed frame");
	CHECK_EQ(cnt_get(&middle_rets), 0, "middle's return handler calls "
		 "for a call left by an exception (it never returned)");
	CHECK_EQ(middle_fp(-3), -5, "middle(-3) return-probed, after a throw");
	CHECK_EQ(cnt_get(&middle_rets), 1, "middle's return handler calls of "
		 "a normal call after a throw");
	CHECK_EQ(middle_rax, -5, "regs_return_value() of middle(-3)");
	CHECK_EQ(rp_nmissed(&rp_middle), 0, "middle's nmissed");
	unregister_kretprobe(&rp_middle);
}

static void test_throws_reclaim_instances(void)
{
	int i, caught = 0;

	reset();
	if (!register_rp(&rp_middle, middle, middle_ret, 2, "middle"))
		return;
	for (i = 0; i < 10; i++)
		caught += expect_throw(middle_fp, i, "middle");
	CHECK_EQ(caught, 10, "throws out of return-probed middle() caught "
		 "with the right message");
	CHECK_EQ(cnt_get(&dtor_runs), 10, "Guard destructor runs");
	CHECK_EQ(cnt_get(&middle_rets), 0, "middle's return handler calls "
		 "for 10 calls left by an exception");
	for (i = 0; i < 3; i++)
		CHECK_EQ(middle_fp(-1 - i), -1 - 2 * i, "middle(%d) after 10 "
			 "throws, maxactive 2", -1 - i);
	CHECK_EQ(cnt_get(&middle_rets), 3, "middle's return handler calls of "
		 "3 normal calls after 10 throws with maxactive 2: the "
		 "instances of the calls the exceptions left must be "
		 "reclaimed");
	CHECK_EQ(rp_nmissed(&rp_middle), 0, "middle's nmissed after 10 throws "
		 "and 3 normal calls, maxactive 2");
	unregister_kretprobe(&rp_middle);
}

static void test_throw_through_two_probed_frames(void)
{
	int i, caught = 0;

	reset();
	if (!register_rp(&rp_middle, middle, middle_ret, 2, "middle"))
		return;
	if (!register_rp(&rp_outer, outer, outer_ret, 2, "outer")) {
		unregister_kretprobe(&rp_middle);
		return;
	}
	for (i = 0; i < 10; i++)
		caught += expect_throw(outer_fp, i, "outer");
	CHECK_EQ(caught, 10, "throws through return-probed middle() and "
		 "return-probed outer() caught with the right message");
	CHECK_EQ(cnt_get(&middle_rets) + cnt_get(&outer_rets), 0, "return "
		 "handler calls for calls left by an exception");
	CHECK_EQ(outer_fp(-4), -7 + 10, "outer(-4) after 10 throws through "
		 "two probed frames");
	CHECK_EQ(cnt_get(&middle_rets), 1, "middle's return handler calls of "
		 "a normal outer(-4)");
	CHECK_EQ(cnt_get(&outer_rets), 1, "outer's return handler calls of a "
		 "normal outer(-4)");
	CHECK(middle_seq == 1 && outer_seq == 2, "middle's return handler "
	      "runs before outer's (got sequence %lu, %lu)", middle_seq,
	      outer_seq);
	CHECK_EQ(middle_rax, -7, "regs_return_value() of middle(-4)");
	CHECK_EQ(outer_rax, 3, "regs_return_value() of outer(-4)");
	CHECK_EQ(rp_nmissed(&rp_middle), 0, "middle's nmissed");
	CHECK_EQ(rp_nmissed(&rp_outer), 0, "outer's nmissed");
	unregister_kretprobe(&rp_outer);
	unregister_kretprobe(&rp_middle);
}

/* catcher() (probed) catches what left middle() (probed): middle's
 * abandoned instance sits above catcher's, which must still work. */
static void test_caught_by_probed_caller(void)
{
	int i;

	reset();
	if (!register_rp(&rp_middle, middle, middle_ret, 2, "middle"))
		return;
	if (!register_rp(&rp_catcher, catcher, catcher_ret, 2, "catcher")) {
		unregister_kretprobe(&rp_middle);
		return;
	}
	for (i = 0; i < 10; i++)
		CHECK_EQ(catcher_fp(i), 4000 + i, "catcher(%d), return-probed, "
			 "catching a throw out of return-probed middle()", i);
	CHECK_EQ(cnt_get(&catcher_rets), 10, "catcher's return handler calls "
		 "(it returned normally each time)");
	CHECK_EQ(catcher_rax, 4009, "regs_return_value() of catcher(9)");
	CHECK_EQ(cnt_get(&middle_rets), 0, "middle's return handler calls "
		 "for calls left by an exception");
	CHECK_EQ(middle_fp(-2), -3, "middle(-2) after that");
	CHECK_EQ(cnt_get(&middle_rets), 1, "middle's return handler calls of "
		 "a normal call, maxactive 2");
	CHECK_EQ(rp_nmissed(&rp_middle), 0, "middle's nmissed");
	CHECK_EQ(rp_nmissed(&rp_catcher), 0, "catcher's nmissed");
	unregister_kretprobe(&rp_catcher);
	unregister_kretprobe(&rp_middle);
}

static void on_terminate()
{
	static const char msg[] = "ERROR: std::terminate() was called: the "
		"C++ unwinder could not get through a return-probed frame\n";

	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(1);
}

int main()
{
	std::set_terminate(on_terminate);

	test_unprobed();
	test_throw_through_probed_frame();
	test_throws_reclaim_instances();
	test_throw_through_two_probed_frames();
	test_caught_by_probed_caller();

	if (failures) {
		std::fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	std::printf("PASS: C++ exceptions through return-probed frames\n");
	return 0;
}

#endif /* __x86_64__ || __powerpc64__ */
