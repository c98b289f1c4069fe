/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: numamigrated's configuration file, bytes through
 * nm_config_load_string(), the code nm_config_load() reads files with.  A
 * load succeeds with sane settings, the same again when repeated, or fails
 * with one line and leaves the settings exactly as they were.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper/site/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(s) (memchr((s), '\0', sizeof(s)) != NULL)

static void check(const struct nm_config *c)
{
	if (c->socket[0] != '/' || c->journal_dir[0] != '/' ||
	    !TERMINATED(c->socket) || !TERMINATED(c->socket_group) ||
	    !TERMINATED(c->slurm_user) || !TERMINATED(c->journal_dir) ||
	    !TERMINATED(c->tcp_address) || !TERMINATED(c->munge_socket) ||
	    !TERMINATED(c->slurm_conf) || !TERMINATED(c->slurm_node) ||
	    !TERMINATED(c->test_topology) || !TERMINATED(c->test_free) ||
	    c->socket_mode > 0777 || c->max_clients < 1 ||
	    c->max_clients > 4096 || c->threads < 0 || c->threads > 4096 ||
	    c->freeze_timeout_ms < 1000 || c->frozen_deadline_ms < 1000 ||
	    c->tcp_port < 1 || c->tcp_port > 65535 ||
	    c->default_policy == NM_POLICY_NODES ||
	    (c->slurm_user[0] && c->slurm_uid == (uid_t)-1) ||
	    c->test_delay_ms < 0 || c->test_batch_delay_ms < 0 ||
	    c->test_admit_delay_ms < 0)
		abort();
}

/* Field by field: struct copies need not copy padding. */
static bool same(const struct nm_config *a, const struct nm_config *b)
{
	return !strcmp(a->socket, b->socket) &&
	       a->socket_mode == b->socket_mode &&
	       !strcmp(a->socket_group, b->socket_group) &&
	       !strcmp(a->slurm_user, b->slurm_user) &&
	       a->slurm_uid == b->slurm_uid &&
	       !strcmp(a->journal_dir, b->journal_dir) &&
	       a->log_level == b->log_level &&
	       a->max_clients == b->max_clients && a->threads == b->threads &&
	       a->engine == b->engine &&
	       a->freeze_timeout_ms == b->freeze_timeout_ms &&
	       a->frozen_deadline_ms == b->frozen_deadline_ms &&
	       a->tcp == b->tcp && !strcmp(a->tcp_address, b->tcp_address) &&
	       a->tcp_port == b->tcp_port &&
	       !strcmp(a->munge_socket, b->munge_socket) &&
	       !strcmp(a->slurm_conf, b->slurm_conf) &&
	       !strcmp(a->slurm_node, b->slurm_node) &&
	       a->default_policy == b->default_policy &&
	       a->test_delay_ms == b->test_delay_ms &&
	       a->test_batch_delay_ms == b->test_batch_delay_ms &&
	       a->test_admit_delay_ms == b->test_admit_delay_ms &&
	       !strcmp(a->test_topology, b->test_topology) &&
	       !strcmp(a->test_free, b->test_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nm_config cfg, before, again;
	char err[NM_ERRLEN] = "";
	/* An exact copy: ASan sees any read past the end. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	nm_config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof(cfg));
	if (nm_config_load_string(&cfg, "fuzz.conf", text, size, err) == 0) {
		check(&cfg);
		memcpy(&again, &cfg, sizeof(cfg));
		if (nm_config_load_string(&again, "fuzz.conf", text, size,
					  err) != 0 || !same(&cfg, &again))
			abort();
	} else if (!err[0] || !memchr(err, '\0', sizeof(err)) ||
		   strchr(err, '\n') ||
		   memcmp(&cfg, &before, sizeof(cfg)) != 0) {
		abort();	/* one line, and nothing changed */
	}
	free(text);
	return 0;
}
