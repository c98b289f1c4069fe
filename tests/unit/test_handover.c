/* SPDX-License-Identifier: MIT */
/*
 * A move's thaw when the job's scheduler suspended it meanwhile
 * (helper/engine/move_handover.c): a whole move of a live process on this
 * machine (nm_move_run, onto the node it is on), with a suspended hook
 * that answers as a script says.
 */
#include "testutil.h"

#include <pthread.h>

#include "cgtest.h"
#include "helper/engine/move.h"

struct script {
	const bool *answers;	/* what the hook says, call by call */
	int n, calls;
};

static bool said_suspended(void *arg)
{
	struct script *s = arg;

	bool a = s->calls < s->n ? s->answers[s->calls] : false;

	s->calls++;
	return a;
}

/* One move of @pid onto node 0 (this host's only one); its result. */
static void move(pid_t pid, struct script *sc, struct nm_move_result *r)
{
	struct nm_target target = { .kind = NM_TARGET_NODES };
	const struct nm_move_spec spec = {
		.pids = &pid, .npids = 1, .target = &target,
		.what = "job 42", .freeze_timeout_ms = 2000,
	};
	const struct nm_move_hooks hooks = {
		.arg = sc, .suspended = said_suspended,
	};
	char err[NM_ERRLEN] = "";

	nm_bitmap_set(&target.new_nodes, 0);
	if (nm_move_run(&spec, &hooks, r, err) != NM_MOVE_OK)
		fail_msg("move: %s", err);
	assert_true(r->frozen);
	assert_false(r->thaw_failed);
}

/* SIGSTOP freeze, suspended: left stopped, and SIGCONT (the resume) runs it. */
static void test_sigstop_left_held(void **state)
{
	static const bool yes[] = { true };
	struct script sc = { yes, 1, 0 };
	struct nm_move_result r;
	pid_t p = spawn_sleeper(1);

	(void)state;
	move(p, &sc, &r);
	assert_true(r.left_suspended);
	assert_int_equal(sc.calls, 1);
	assert_true(settles(p, 1));
	nm_move_result_free(&r);
	kill(p, SIGCONT);
	assert_true(settles(p, 0));
	reap(p);
}

/* Not suspended: thawed as always, the hook asked once. */
static void test_not_suspended(void **state)
{
	struct script sc = { NULL, 0, 0 };
	struct nm_move_result r;
	pid_t p = spawn_sleeper(0);

	(void)state;
	move(p, &sc, &r);
	assert_false(r.left_suspended);
	assert_int_equal(sc.calls, 1);
	assert_true(settles(p, 0));
	nm_move_result_free(&r);
	reap(p);
}

/*
 * A v1 freezer of the job's own: suspended at both asks, the cgroup is
 * thawed and the process left stopped by SIGSTOP (what Slurm's resume
 * lifts); resumed between the asks, it runs.
 */
static void test_cgroup_hand_over(void **state)
{
	static const bool held[] = { true, true }, resumed[] = { true, false };
	struct script sc = { held, 2, 0 };
	struct nm_cgroup_mounts m;
	struct nm_move_result r;
	char err[NM_ERRLEN] = "", dir[600], st[64];
	pid_t p;

	(void)state;
	assert_int_equal(nm_cgroup_mounts("/proc/self/mountinfo", &m, err), 0);
	if (!make_cgroup(m.v1_freezer, "ho", dir, sizeof(dir), false))
		skip();	/* no v1 freezer hierarchy or not root: SKIPPED */
	p = spawn_sleeper(1);
	enter(dir, p);
	move(p, &sc, &r);
	assert_true(r.left_suspended);
	assert_int_equal(sc.calls, 2);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "THAWED\n");
	assert_true(settles(p, 1));
	nm_move_result_free(&r);
	kill(p, SIGCONT);
	assert_true(settles(p, 0));

	sc = (struct script){ resumed, 2, 0 };
	move(p, &sc, &r);
	assert_false(r.left_suspended);
	assert_int_equal(sc.calls, 2);
	get(dir, "freezer.state", st, sizeof(st));
	assert_string_equal(st, "THAWED\n");
	assert_true(settles(p, 0));
	nm_move_result_free(&r);
	reap(p);
	drop_cgroup(m.v1_freezer, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigstop_left_held),
		cmocka_unit_test(test_not_suspended),
		cmocka_unit_test(test_cgroup_hand_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
