/* SPDX-License-Identifier: MIT */
/* numamigrated's configuration file, INI syntax via inih. */
#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "helper/site/conf.h"
#include "lib/base/limits.h"
#include "lib/base/units.h"
#include "lib/base/file.h"

#define NM_CONFIG_MAX (1 << 20)

struct load_state {
	struct nm_config cfg;	/* a copy, committed when all is well */
	const char *text;
	size_t len, off;
	int line;		/* lines inih has read */
	int errline;		/* the first error's, or 0 */
	char msg[NM_ERRLEN];
};

static void fail(struct load_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keeps the first error and its line. */
static void fail(struct load_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->errline)
		return;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
	va_end(ap);
	st->errline = st->line;
}

void nm_config_defaults(struct nm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", NM_DEFAULT_SOCKET);
	cfg->socket_mode = 0660;
	snprintf(cfg->journal_dir, sizeof(cfg->journal_dir), "%s",
		 NM_DEFAULT_JOURNAL);
	cfg->slurm_uid = (uid_t)-1;
	cfg->log_level = LOG_INFO;
	cfg->max_clients = 64;
	cfg->max_clients_per_uid = 8;
	cfg->max_tcp_unauthenticated = 16;
	cfg->engine = NM_ENGINE_AUTO;
	cfg->freeze_timeout_ms = 10000;
	cfg->frozen_deadline_ms = 600000;
	cfg->queue_wait_ms = 60000;
	cfg->queue_wait_priority_ms = 600000;
	cfg->mode = NM_MODE_FROZEN;
	cfg->live_threshold = 64ULL << 20;
	cfg->live_share_pct = 2;
	cfg->live_passes = 8;
	snprintf(cfg->tcp_address, sizeof(cfg->tcp_address), "0.0.0.0");
	cfg->tcp_port = NM_DEFAULT_TCP_PORT;
	cfg->default_policy = NM_POLICY_AUTO;
	cfg->restore_mode = NM_MODE_FROZEN;
}

static int parse_long(const char *v, long min, long max, int base, long *out,
		      char *err, const char *key)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, base);
	if (!*v || *end || errno || n < min || n > max) {
		nm_seterr(err, "%s = '%.60s': expected a number from %ld to "
			  "%ld", key, v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_bool(const char *v, bool *out, char *err, const char *key)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
	    !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
	    !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	nm_seterr(err, "%s = '%.60s': expected yes or no", key, v);
	return -1;
}

static int copy_str(char *dst, size_t len, const char *v, char *err,
		    const char *key)
{
	if (strlen(v) >= len) {
		nm_seterr(err, "%s: longer than %zu characters", key, len - 1);
		return -1;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

static int copy_abs_path(char *dst, size_t len, const char *v, char *err,
			 const char *key)
{
	if (v[0] != '/') {
		nm_seterr(err, "%s = '%.60s': expected an absolute path", key,
			  v);
		return -1;
	}
	return copy_str(dst, len, v, err, key);
}

static int parse_level(const char *v, int *out, char *err)
{
	static const struct { const char *name; int level; } levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(v, levels[i].name)) {
			*out = levels[i].level;
			return 0;
		}
	nm_seterr(err, "log_level = '%.40s': expected error, warning, notice, "
		  "info or debug", v);
	return -1;
}

static int set_daemon(struct nm_config *c, const char *k, const char *v,
		      char *err)
{
	long n;

	if (!strcmp(k, "socket"))
		return copy_abs_path(c->socket, sizeof(c->socket), v, err, k);
	if (!strcmp(k, "socket_mode")) {
		if (parse_long(v, 0, 0777, 8, &n, err, k) < 0)
			return -1;
		c->socket_mode = (unsigned int)n;
		return 0;
	}
	if (!strcmp(k, "socket_group"))
		return copy_str(c->socket_group, sizeof(c->socket_group), v,
				err, k);
	if (!strcmp(k, "slurm_user"))
		return copy_str(c->slurm_user, sizeof(c->slurm_user), v, err,
				k);
	if (!strcmp(k, "journal_dir"))
		return copy_abs_path(c->journal_dir, sizeof(c->journal_dir), v,
				     err, k);
	if (!strcmp(k, "log_level"))
		return parse_level(v, &c->log_level, err);
	if (!strcmp(k, "max_clients")) {
		if (parse_long(v, 1, 4096, 10, &n, err, k) < 0)
			return -1;
		c->max_clients = (int)n;
		return 0;
	}
	if (!strcmp(k, "max_clients_per_uid")) {
		if (parse_long(v, 1, 4096, 10, &n, err, k) < 0)
			return -1;
		c->max_clients_per_uid = (int)n;
		return 0;
	}
	if (!strcmp(k, "max_tcp_unauthenticated")) {
		if (parse_long(v, 1, 4096, 10, &n, err, k) < 0)
			return -1;
		c->max_tcp_unauthenticated = (int)n;
		return 0;
	}
	nm_seterr(err, "[daemon]: unknown key '%.40s'", k);
	return -1;
}

static int move_live_key(struct nm_config *c, const char *k, const char *v,
			 char *err);

static int set_move(struct nm_config *c, const char *k, const char *v,
		    char *err)
{
	long n;

	if (!strcmp(k, "threads")) {
		if (parse_long(v, 0, NM_MAX_THREADS, 10, &n, err, k) < 0)
			return -1;
		c->threads = (int)n;
		return 0;
	}
	if (!strcmp(k, "engine"))
		return nm_engine_parse(v, &c->engine, err);
	if (!strcmp(k, "freeze_timeout")) {
		if (parse_long(v, 1, 3600, 10, &n, err, k) < 0)
			return -1;
		c->freeze_timeout_ms = (int)n * 1000;
		return 0;
	}
	if (!strcmp(k, "frozen_deadline")) {
		if (parse_long(v, 1, 86400, 10, &n, err, k) < 0)
			return -1;
		c->frozen_deadline_ms = (int)n * 1000;
		return 0;
	}
	if (!strcmp(k, "queue_wait")) {
		if (parse_long(v, 0, 86400, 10, &n, err, k) < 0)
			return -1;
		c->queue_wait_ms = (int)n * 1000;
		return 0;
	}
	if (!strcmp(k, "queue_wait_priority")) {
		if (parse_long(v, 0, 86400, 10, &n, err, k) < 0)
			return -1;
		c->queue_wait_priority_ms = (int)n * 1000;
		return 0;
	}
	return move_live_key(c, k, v, err);
}

/* [move]'s mode and the live move's bounds. */
static int move_live_key(struct nm_config *c, const char *k, const char *v,
			 char *err)
{
	long n;

	if (!strcmp(k, "mode"))
		return nm_mode_parse(v, &c->mode, err);
	if (!strcmp(k, "live_threshold"))
		return nm_parse_bytes(v, &c->live_threshold, k, err);
	if (!strcmp(k, "live_share")) {
		if (parse_long(v, 0, 100, 10, &n, err, k) < 0)
			return -1;
		c->live_share_pct = (int)n;
		return 0;
	}
	if (!strcmp(k, "live_passes")) {
		if (parse_long(v, 1, 64, 10, &n, err, k) < 0)
			return -1;
		c->live_passes = (int)n;
		return 0;
	}
	if (!strcmp(k, "live_timeout")) {
		if (parse_long(v, 0, 86400, 10, &n, err, k) < 0)
			return -1;
		c->live_timeout_ms = (int)n * 1000;
		return 0;
	}
	nm_seterr(err, "[move]: unknown key '%.40s'", k);
	return -1;
}

static int set_tcp(struct nm_config *c, const char *k, const char *v,
		   char *err)
{
	long n;

	if (!strcmp(k, "enabled"))
		return parse_bool(v, &c->tcp, err, k);
	if (!strcmp(k, "address"))
		return copy_str(c->tcp_address, sizeof(c->tcp_address), v, err,
				k);
	if (!strcmp(k, "port")) {
		if (parse_long(v, 1, 65535, 10, &n, err, k) < 0)
			return -1;
		c->tcp_port = (int)n;
		return 0;
	}
	if (!strcmp(k, "host_name"))
		return copy_str(c->tcp_host_name, sizeof(c->tcp_host_name), v,
				err, k);
	if (!strcmp(k, "munge_socket"))
		return copy_abs_path(c->munge_socket, sizeof(c->munge_socket),
				     v, err, k);
	nm_seterr(err, "[tcp]: unknown key '%.40s'", k);
	return -1;
}

static int set_slurm(struct nm_config *c, const char *k, const char *v,
		     char *err)
{
	if (!strcmp(k, "conf"))
		return copy_abs_path(c->slurm_conf, sizeof(c->slurm_conf), v,
				     err, k);
	if (!strcmp(k, "node_name"))
		return copy_str(c->slurm_node, sizeof(c->slurm_node), v, err,
				k);
	if (!strcmp(k, "default_policy")) {
		if (nm_policy_parse(v, &c->default_policy, err) < 0)
			return -1;
		if (c->default_policy == NM_POLICY_NODES) {
			nm_seterr(err, "default_policy: expected auto or never");
			return -1;
		}
		return 0;
	}
	if (!strcmp(k, "restore_mode"))
		return nm_mode_parse(v, &c->restore_mode, err);
	nm_seterr(err, "[slurm]: unknown key '%.40s'", k);
	return -1;
}

static int set_testing(struct nm_config *c, const char *k, const char *v,
		       char *err)
{
	long n;

	if (!strcmp(k, "delay_ms")) {
		if (parse_long(v, 0, 600000, 10, &n, err, k) < 0)
			return -1;
		c->test_delay_ms = (int)n;
		return 0;
	}
	if (!strcmp(k, "batch_delay_ms")) {
		if (parse_long(v, 0, 10000, 10, &n, err, k) < 0)
			return -1;
		c->test_batch_delay_ms = (int)n;
		return 0;
	}
	if (!strcmp(k, "admit_delay_ms")) {
		if (parse_long(v, 0, 600000, 10, &n, err, k) < 0)
			return -1;
		c->test_admit_delay_ms = (int)n;
		return 0;
	}
	if (!strcmp(k, "hold_ms")) {
		if (parse_long(v, 0, 600000, 10, &n, err, k) < 0)
			return -1;
		c->test_hold_ms = (int)n;
		return 0;
	}
	if (!strcmp(k, "fail_thaws")) {
		if (parse_long(v, 0, 100, 10, &n, err, k) < 0)
			return -1;
		c->test_fail_thaws = (int)n;
		return 0;
	}
	if (!strcmp(k, "crash_frozen")) {
		if (parse_long(v, 0, 1, 10, &n, err, k) < 0)
			return -1;
		c->test_crash_frozen = n == 1;
		return 0;
	}
	if (!strcmp(k, "topology"))
		return copy_abs_path(c->test_topology,
				     sizeof(c->test_topology), v, err, k);
	if (!strcmp(k, "delay_file"))
		return copy_abs_path(c->test_delay_file,
				     sizeof(c->test_delay_file), v, err, k);
	if (!strcmp(k, "free"))
		return copy_str(c->test_free, sizeof(c->test_free), v, err, k);
	nm_seterr(err, "[testing]: unknown key '%.40s'", k);
	return -1;
}

/*
 * inih's reader, one line of the text per call.  inih counts the calls as
 * lines, and so do we: a handler error then names its own line even when
 * inih has seen a syntax error before it.  A line inih would cut in two
 * (the second half parsed as a line of its own) or one with a NUL (C
 * strings would cut it) is an error here, never a shortened value.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	const char *p = st->text + st->off, *nl;
	size_t left = st->len - st->off, n, chars;

	if (!left || num < 3)
		return NULL;
	nl = memchr(p, '\n', left);
	n = nl ? (size_t)(nl - p) + 1 : left;
	st->off += n;
	st->line++;
	str[0] = '\0';
	/* inih's buffer holds @num - 3 characters, '\r', '\n' and '\0' */
	chars = n;
	if (chars && p[chars - 1] == '\n')
		chars--;
	if (chars && p[chars - 1] == '\r')
		chars--;
	if (memchr(p, '\0', n)) {
		fail(st, "holds a NUL byte");
	} else if (chars > (size_t)num - 3) {
		fail(st, "longer than %d characters", num - 3);
	} else {
		memcpy(str, p, n);
		str[n] = '\0';
	}
	return str;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct load_state *st = user;
	char msg[NM_ERRLEN] = "";
	int rc;

	if (st->errline)
		return 1;	/* keep the first error */
	if (!strcmp(section, "daemon"))
		rc = set_daemon(&st->cfg, name, value, msg);
	else if (!strcmp(section, "move"))
		rc = set_move(&st->cfg, name, value, msg);
	else if (!strcmp(section, "tcp"))
		rc = set_tcp(&st->cfg, name, value, msg);
	else if (!strcmp(section, "slurm"))
		rc = set_slurm(&st->cfg, name, value, msg);
	else if (!strcmp(section, "testing"))
		rc = set_testing(&st->cfg, name, value, msg);
	else {
		nm_seterr(msg, "unknown section '[%.40s]'", section);
		rc = -1;
	}
	if (rc < 0) {
		fail(st, "%s", msg);
		return 0;
	}
	return 1;
}

/* Names and groups exist: checked once the whole file is read. */
static int resolve(struct nm_config *cfg, const char *name, char *err)
{
	if (cfg->slurm_user[0]) {
		struct passwd *pw = getpwnam(cfg->slurm_user);

		if (!pw) {
			nm_seterr(err, "%s: slurm_user '%.40s' does not exist",
				  name, cfg->slurm_user);
			return -1;
		}
		cfg->slurm_uid = pw->pw_uid;
	}
	if (cfg->socket_group[0] && !getgrnam(cfg->socket_group)) {
		nm_seterr(err, "%s: socket_group '%.40s' does not exist", name,
			  cfg->socket_group);
		return -1;
	}
	return 0;
}

int nm_config_load_string(struct nm_config *cfg, const char *name,
			  const char *text, size_t len, char *err)
{
	struct load_state st = { .cfg = *cfg, .text = text, .len = len };
	int rc;

	/* Everything goes to a copy: a bad file changes nothing. */
	rc = ini_parse_stream(read_line, &st, handler, &st);
	if (st.errline && (rc <= 0 || st.errline <= rc)) {
		nm_seterr(err, "%s: line %d: %s", name, st.errline, st.msg);
		return -1;
	}
	if (rc < 0) {
		nm_seterr(err, "%s: out of memory", name);
		return -1;
	}
	if (rc > 0) {
		nm_seterr(err, "%s: line %d: not 'key = value', a [section] "
			  "or a comment", name, rc);
		return -1;
	}
	if (resolve(&st.cfg, name, err) < 0)
		return -1;
	*cfg = st.cfg;
	return 0;
}

int nm_config_load(struct nm_config *cfg, const char *path, bool must_exist,
		   char *err)
{
	struct nm_config c = *cfg;
	size_t len;
	char *text;
	int rc;

	text = nm_read_file(path, NM_CONFIG_MAX, &len);
	if (!text) {
		if (errno == ENOENT && !must_exist) {
			if (resolve(&c, path, err) < 0)
				return -1;
			*cfg = c;
			return 0;
		}
		nm_seterr(err, "%s: %s", path, errno == EFBIG ?
			  "larger than 1 MiB" : strerror(errno));
		return -1;
	}
	rc = nm_config_load_string(cfg, path, text, len, err);
	free(text);
	return rc;
}
