/* SPDX-License-Identifier: MIT */
/* The numamigrated wire protocol: framing and strict decoding. */
#include <unistd.h>
#include <sys/socket.h>

#include "testutil.h"
#include "lib/proto/protocol.h"

static int decode(const char *s, struct nm_request *req, char *err)
{
	return nm_request_decode(s, strlen(s), false, req, err);
}

static void expect_error(const char *s, const char *needle)
{
	struct nm_request req;
	char err[NM_ERRLEN] = "";

	if (decode(s, &req, err) == 0)
		fail_msg("accepted: %s", s);
	if (!strstr(err, needle))
		fail_msg("%s: error '%s' lacks '%s'", s, err, needle);
	/* Nothing to release on error, and nothing left behind. */
	assert_null(req.pids);
	assert_null(req.tasks);
	assert_null(req.cgroup);
}

static void test_good_requests(void **state)
{
	struct nm_request req;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(decode("{\"version\":1,\"op\":\"ping\"}", &req, err),
			 0);
	assert_int_equal(req.op, NM_OP_PING);
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"move\",\"pids\":[3,4],"
				"\"map\":\"0-1:2-3\",\"threads\":8,"
				"\"engine\":\"syscall\",\"mode\":\"live\","
				"\"progress\":true}", &req, err), 0);
	assert_int_equal(req.op, NM_OP_MOVE);
	assert_int_equal(req.npids, 2);
	assert_int_equal(req.pids[1], 4);
	assert_int_equal(req.target.kind, NM_TARGET_MAP);
	assert_true(nm_bitmap_test(&req.target.new_nodes, 3));
	assert_int_equal(req.threads, 8);
	assert_int_equal(req.engine, NM_ENGINE_SYSCALL);
	assert_int_equal(req.mode, NM_MODE_LIVE);
	assert_true(req.progress);
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"register\",\"tasks\":"
				"[{\"pid\":10,\"rank\":1},{\"pid\":11,\"rank\":"
				"0}],\"job\":4294967295,\"step\":0}", &req,
				err), 0);
	assert_int_equal(req.ntasks, 2);
	assert_int_equal(req.tasks[0].rank, 1);
	assert_true(req.job == 4294967295ULL);
	assert_true(req.step == 0);
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"move\",\"cgroup\":"
				"\"/sys/fs/cgroup/cpuset/slurm/job_1\","
				"\"to\":\"1\"}", &req, err), 0);
	assert_string_equal(req.cgroup, "/sys/fs/cgroup/cpuset/slurm/job_1");
	assert_false(req.has_owner);
	nm_request_release(&req);

	/* A trusted caller acting for the job's owner (uid 0 included). */
	assert_int_equal(decode("{\"version\":1,\"op\":\"move\",\"job\":7,"
				"\"to\":\"1\",\"owner\":1000}", &req, err), 0);
	assert_true(req.has_owner);
	assert_int_equal(req.owner, 1000);
	nm_request_release(&req);
	assert_int_equal(decode("{\"version\":1,\"op\":\"move\",\"job\":7,"
				"\"to\":\"1\",\"owner\":0}", &req, err), 0);
	assert_true(req.has_owner);
	assert_int_equal(req.owner, 0);
	nm_request_release(&req);
}

/* "owner": a uid, on move only; (uid_t)-1 is no uid. */
static void test_owner(void **state)
{
	(void)state;
	expect_error("{\"version\":1,\"op\":\"move\",\"job\":7,\"to\":\"1\","
		     "\"owner\":-1}", "owner: -1 is out of range");
	expect_error("{\"version\":1,\"op\":\"move\",\"job\":7,\"to\":\"1\","
		     "\"owner\":4294967295}", "owner: 4294967295 is out of range");
	expect_error("{\"version\":1,\"op\":\"move\",\"job\":7,\"to\":\"1\","
		     "\"owner\":\"1000\"}", "owner: expected an integer");
	expect_error("{\"version\":1,\"op\":\"move\",\"job\":7,\"to\":\"1\","
		     "\"owner\":1.5}", "owner: expected an integer");
	expect_error("{\"version\":1,\"op\":\"move\",\"job\":7,\"to\":\"1\","
		     "\"owner\":null}", "owner: expected an integer");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":"
		     "[{\"pid\":1,\"rank\":0}],\"owner\":1000}", "owner");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":7,"
		     "\"policy\":\"auto\",\"owner\":1000}", "owner");
}

/* "host": any request may name the host it is for, strictly checked. */
static void test_host(void **state)
{
	struct nm_request req, back;
	char err[NM_ERRLEN] = "";
	json_t *o;
	char *txt;

	(void)state;
	assert_int_equal(decode("{\"version\":1,\"op\":\"move\",\"job\":7,"
				"\"to\":\"1\",\"host\":\"node-a.example\"}",
				&req, err), 0);
	assert_string_equal(req.host, "node-a.example");
	o = nm_request_encode(&req, err);
	assert_non_null(o);
	txt = json_dumps(o, JSON_COMPACT);
	assert_int_equal(decode(txt, &back, err), 0);
	assert_string_equal(back.host, "node-a.example");
	free(txt);
	json_decref(o);
	nm_request_release(&back);
	nm_request_release(&req);
	assert_int_equal(decode("{\"version\":1,\"op\":\"ping\"}", &req,
				err), 0);
	assert_string_equal(req.host, "");
	expect_error("{\"version\":1,\"op\":\"ping\",\"host\":\"\"}",
		     "host: expected 1 to 255 characters");
	expect_error("{\"version\":1,\"op\":\"ping\",\"host\":\"a b\"}",
		     "not a host name");
	expect_error("{\"version\":1,\"op\":\"ping\",\"host\":\"a/../b\"}",
		     "not a host name");
	expect_error("{\"version\":1,\"op\":\"ping\",\"host\":7}",
		     "host: expected a string");
	expect_error("{\"version\":1,\"op\":\"ping\",\"host\":\"a\","
		     "\"host\":\"b\"}", "");
}

static void test_bad_requests(void **state)
{
	(void)state;
	expect_error("", "expected 1 to");
	expect_error("[]", "not a JSON object");
	expect_error("{\"op\":\"ping\"}", "no \"version\"");
	expect_error("{\"version\":2,\"op\":\"ping\"}", "version 2");
	expect_error("{\"version\":\"1\",\"op\":\"ping\"}", "version: expected");
	expect_error("{\"version\":1}", "no \"op\"");
	expect_error("{\"version\":1,\"op\":\"reboot\"}", "unknown op");
	expect_error("{\"version\":1,\"op\":7}", "op: expected a string");
	expect_error("{\"version\":1,\"op\":\"ping\",\"x\":1}", "unknown key");
	expect_error("{\"version\":1,\"op\":\"ping\",\"op\":\"status\"}",
		     "duplicate");
	expect_error("{\"version\":1,\"op\":\"ping\"} x", "not valid JSON");
	expect_error("{\"version\":1,\"op\":\"move\",\"to\":\"1\"}",
		     "exactly one of pids, cgroup or job");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"job\":2,"
		     "\"to\":\"1\"}", "exactly one of pids, cgroup or job");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1]}",
		     "exactly one of to or map");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[],\"to\":\"1\"}",
		     "expected 1 to");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[0],\"to\":\"1\"}",
		     "out of range");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1.5],\"to\":"
		     "\"1\"}", "expected an integer");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":"
		     "\"3-1\"}", "reversed");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":1}",
		     "to: expected a string");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":\"1\","
		     "\"engine\":\"dma\"}", "expected auto, kmod or syscall");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":\"1\","
		     "\"mode\":\"default\"}", "expected frozen or live");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":\"1\","
		     "\"mode\":1}", "mode: expected a string");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":\"1\","
		     "\"threads\":-1}", "out of range");
	expect_error("{\"version\":1,\"op\":\"move\",\"pids\":[1],\"to\":\"1\","
		     "\"progress\":1}", "true or false");
	expect_error("{\"version\":1,\"op\":\"move\",\"cgroup\":\"/etc\","
		     "\"to\":\"1\"}", "not under /sys/fs/cgroup/");
	expect_error("{\"version\":1,\"op\":\"move\",\"cgroup\":"
		     "\"/sys/fs/cgroup/../../etc\",\"to\":\"1\"}", "'..'");
	expect_error("{\"version\":1,\"op\":\"move\",\"cgroup\":"
		     "\"/sys/fs/cgroup/a\\u0000b\",\"to\":\"1\"}",
		     "not valid JSON");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":[{\"pid\":1,"
		     "\"rank\":0},{\"pid\":2,\"rank\":0}]}", "given twice");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":[{\"pid\":1}"
		     "]}", "rank: expected an integer");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":[{\"pid\":1,"
		     "\"rank\":0,\"cpu\":3}]}", "unknown key 'cpu'");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":[{\"pid\":1,"
		     "\"rank\":0}],\"step\":1}", "a step needs a job");
	expect_error("{\"version\":1,\"op\":\"register\",\"tasks\":[{\"pid\":1,"
		     "\"rank\":0}],\"job\":4294967296}", "out of range");
	expect_error("{\"version\":1,\"op\":\"unregister\"}",
		     "exactly one of pids or job");
	expect_error("{\"version\":1,\"munge\":\"x\"}", "no \"op\"");
}

static void test_envelope(void **state)
{
	struct nm_request req;
	char err[NM_ERRLEN] = "";
	const char *env = "{\"version\":1,\"munge\":\"MUNGE:abc:\"}";

	(void)state;
	assert_int_equal(nm_request_decode(env, strlen(env), true, &req, err),
			 0);
	assert_string_equal(req.munge, "MUNGE:abc:");
	nm_request_release(&req);
	env = "{\"version\":1,\"op\":\"ping\"}";
	assert_int_equal(nm_request_decode(env, strlen(env), true, &req, err),
			 -1);
	assert_non_null(strstr(err, "unknown key 'op'"));
}

static void test_frames(void **state)
{
	uint8_t buf[64], hdr[4];
	struct nm_request req;
	char err[NM_ERRLEN] = "";
	const char *body = "{\"version\":1,\"op\":\"status\"}";
	size_t n = strlen(body);
	uint32_t len;

	(void)state;
	nm_frame_put_header(buf, (uint32_t)n);
	memcpy(buf + 4, body, n);
	assert_int_equal(nm_frame_decode(buf, n + 4, &req, err), 0);
	assert_int_equal(req.op, NM_OP_STATUS);
	nm_request_release(&req);
	/* truncated, extra bytes, short header */
	assert_int_equal(nm_frame_decode(buf, n + 3, &req, err), -1);
	assert_non_null(strstr(err, "follow"));
	assert_int_equal(nm_frame_decode(buf, 3, &req, err), -1);
	assert_non_null(strstr(err, "truncated frame header"));
	/* limits */
	nm_frame_put_header(hdr, NM_PROTO_MAX_FRAME);
	assert_int_equal(nm_frame_get_header(hdr, &len, err), 0);
	nm_frame_put_header(hdr, NM_PROTO_MAX_FRAME + 1);
	assert_int_equal(nm_frame_get_header(hdr, &len, err), -1);
	assert_non_null(strstr(err, "over the"));
	nm_frame_put_header(hdr, 0);
	assert_int_equal(nm_frame_get_header(hdr, &len, err), -1);
}

static void test_round_trip(void **state)
{
	struct nm_request req, back;
	char err[NM_ERRLEN] = "";
	pid_t pids[] = { 5, 6, 7 };
	json_t *o;
	char *s;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.op = NM_OP_MOVE;
	req.job = req.step = NM_NO_ID;
	req.pids = pids;
	req.npids = 3;
	assert_int_equal(nm_target_parse_map("0-1:3,2", &req.target, err), 0);
	req.has_target = true;
	req.threads = 4;
	req.engine = NM_ENGINE_KMOD;
	req.mode = NM_MODE_LIVE;
	req.has_owner = true;
	req.owner = 4294967294u;
	o = nm_request_encode(&req, err);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(decode(s, &back, err), 0);
	assert_int_equal(back.npids, 3);
	assert_int_equal(back.pids[2], 7);
	assert_int_equal(back.threads, 4);
	assert_int_equal(back.engine, NM_ENGINE_KMOD);
	assert_int_equal(back.mode, NM_MODE_LIVE);
	assert_true(back.has_owner);
	assert_true(back.owner == 4294967294u);
	assert_true(nm_bitmap_equal(&back.target.old_nodes,
				    &req.target.old_nodes));
	assert_true(nm_bitmap_equal(&back.target.new_nodes,
				    &req.target.new_nodes));
	nm_request_release(&back);
	free(s);
	json_decref(o);
}

/* Frame I/O over a socket pair: whole, truncated, and timed out. */
static void test_frame_io(void **state)
{
	char err[NM_ERRLEN] = "";
	int sv[2];
	size_t len;
	bool eof;
	char *got;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(nm_frame_write(sv[0], "{\"a\":1}", 7, err), 0);
	got = nm_frame_read(sv[1], &len, 1000, &eof, err);
	assert_non_null(got);
	assert_int_equal(len, 7);
	assert_string_equal(got, "{\"a\":1}");
	free(got);
	/* a header promising 100 bytes, then 3 and nothing: timeout */
	assert_int_equal(write(sv[0], "\0\0\0\144abc", 7), 7);
	assert_null(nm_frame_read(sv[1], &len, 200, &eof, err));
	assert_non_null(strstr(err, "timed out"));
	/* the same, then the writer closes: truncated */
	assert_int_equal(write(sv[0], "\0\0\0\144abc", 7), 7);
	close(sv[0]);
	assert_null(nm_frame_read(sv[1], &len, 1000, &eof, err));
	assert_non_null(strstr(err, "truncated frame"));
	assert_false(eof);
	assert_null(nm_frame_read(sv[1], &len, 1000, &eof, err));
	assert_true(eof);
	close(sv[1]);
}

static json_t *rdec(const char *s, bool *prog, char *err)
{
	return nm_reply_decode(s, strlen(s), prog, err);
}

static void test_replies(void **state)
{
	char err[NM_ERRLEN] = "";
	bool prog;
	json_t *r;

	(void)state;
	r = rdec("{\"version\":1,\"ok\":false,\"code\":\"denied\","
		 "\"error\":\"no\"}", &prog, err);
	assert_non_null(r);
	assert_false(prog);
	json_decref(r);
	r = rdec("{\"version\":1,\"progress\":{}}", &prog, err);
	assert_non_null(r);
	assert_true(prog);
	json_decref(r);
	assert_null(rdec("{\"version\":1,\"ok\":false}", &prog, err));
	assert_null(rdec("{\"version\":9,\"ok\":true}", &prog, err));
}

/* policy, repack, restore: the preemption requests. */
static void test_repack_requests(void **state)
{
	struct nm_request req;
	char err[NM_ERRLEN] = "";

	(void)state;
	assert_int_equal(decode("{\"version\":1,\"op\":\"policy\",\"job\":7,"
				"\"policy\":\"never\"}", &req, err), 0);
	assert_int_equal(req.op, NM_OP_POLICY);
	assert_true(req.job == 7);
	assert_int_equal(req.policy, NM_POLICY_NEVER);
	assert_true(nm_bitmap_empty(&req.policy_nodes));
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"policy\",\"job\":8,"
				"\"policy\":\"nodes\",\"nodes\":\"2-3,5\"}",
				&req, err), 0);
	assert_int_equal(req.policy, NM_POLICY_NODES);
	assert_true(nm_bitmap_test(&req.policy_nodes, 2));
	assert_true(nm_bitmap_test(&req.policy_nodes, 5));
	assert_false(nm_bitmap_test(&req.policy_nodes, 4));
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"policy\",\"job\":0,"
				"\"policy\":\"auto\"}", &req, err), 0);
	assert_int_equal(req.policy, NM_POLICY_AUTO);
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"repack\",\"job\":"
				"4294967295}", &req, err), 0);
	assert_int_equal(req.op, NM_OP_REPACK);
	assert_true(req.job == 4294967295ULL);
	nm_request_release(&req);

	assert_int_equal(decode("{\"version\":1,\"op\":\"restore\",\"job\":"
				"12}", &req, err), 0);
	assert_int_equal(req.op, NM_OP_RESTORE);
	assert_true(req.job == 12);
	nm_request_release(&req);

	expect_error("{\"version\":1,\"op\":\"repack\"}", "needs a job");
	expect_error("{\"version\":1,\"op\":\"restore\"}", "needs a job");
	expect_error("{\"version\":1,\"op\":\"repack\",\"job\":-1}",
		     "out of range");
	expect_error("{\"version\":1,\"op\":\"repack\",\"job\":4294967296}",
		     "out of range");
	expect_error("{\"version\":1,\"op\":\"repack\",\"job\":\"5\"}",
		     "expected an integer");
	expect_error("{\"version\":1,\"op\":\"repack\",\"job\":5,"
		     "\"pids\":[1]}", "unknown key 'pids'");
	expect_error("{\"version\":1,\"op\":\"restore\",\"job\":5,"
		     "\"to\":\"1\"}", "unknown key 'to'");
	expect_error("{\"version\":1,\"op\":\"policy\",\"policy\":"
		     "\"auto\"}", "needs a job");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1}",
		     "needs a policy");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"sometimes\"}", "expected never, auto or "
		     "nodes");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":true}", "policy: expected a string");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"nodes\"}", "only with");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"auto\",\"nodes\":\"1\"}", "only with");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"nodes\",\"nodes\":\"\"}", "expected 1 to");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"nodes\",\"nodes\":\"3-1\"}", "reversed");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"nodes\",\"nodes\":[1]}", "nodes: expected "
		     "a string");
	expect_error("{\"version\":1,\"op\":\"policy\",\"job\":1,"
		     "\"policy\":\"never\",\"uid\":0}", "unknown key 'uid'");
}

/* The new requests survive encode -> decode unchanged. */
static void test_repack_round_trip(void **state)
{
	struct nm_request in, out;
	char err[NM_ERRLEN] = "", *s;
	json_t *o;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = NM_OP_POLICY;
	in.job = 99;
	in.step = NM_NO_ID;
	in.policy = NM_POLICY_NODES;
	nm_bitmap_set(&in.policy_nodes, 1);
	nm_bitmap_set(&in.policy_nodes, 3);
	o = nm_request_encode(&in, err);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_int_equal(decode(s, &out, err), 0);
	assert_int_equal(out.op, NM_OP_POLICY);
	assert_true(out.job == 99);
	assert_int_equal(out.policy, NM_POLICY_NODES);
	assert_true(nm_bitmap_equal(&out.policy_nodes, &in.policy_nodes));
	nm_request_release(&out);
	free(s);
	json_decref(o);

	for (int op = NM_OP_REPACK; op <= NM_OP_RESTORE; op++) {
		memset(&in, 0, sizeof(in));
		in.op = (enum nm_op)op;
		in.job = 5;
		in.step = NM_NO_ID;
		o = nm_request_encode(&in, err);
		assert_non_null(o);
		s = json_dumps(o, JSON_COMPACT);
		assert_int_equal(decode(s, &out, err), 0);
		assert_int_equal(out.op, op);
		assert_true(out.job == 5);
		nm_request_release(&out);
		free(s);
		json_decref(o);
	}
	assert_string_equal(nm_policy_name(NM_POLICY_AUTO), "auto");
	assert_string_equal(nm_op_name(NM_OP_RESTORE), "restore");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_requests),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_frame_io),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_repack_requests),
		cmocka_unit_test(test_repack_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
