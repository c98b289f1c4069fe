/* SPDX-License-Identifier: MIT */
#ifndef NM_SPANK_H
#define NM_SPANK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <slurm/spank.h>

#include "lib/base/error.h"
#include "lib/proto/protocol.h"
#include "lib/base/target.h"

/*
 * The numamigrate SPANK plugin: options, task registration, forwarding of
 * move requests and preemption hooks to the local numamigrated.  It never
 * moves anything itself.  One file per SPANK context, as in pyxis:
 *
 *   numamigrate.c  the slurm_spank_* entry points: a dispatcher
 *   init.c         slurm_spank_init / _exit in every context
 *   args.c         plugin arguments from plugstack.conf
 *   option.c       --migrate-nodes: parsing, registration, callback
 *   mode.c         --migrate-mode: frozen or live moves
 *   local.c        srun: is a bare --migrate-nodes=NODES a move request?
 *   remote.c       slurmstepd: move requests, task (un)registration
 *   prolog.c       job prolog / epilog: policy, repack, restore
 *   client.c       the daemon's Unix socket
 */

#define NM_SPANK_SOCKET_DEFAULT "/run/numamigrate/numamigrated.sock"
#define NM_SPANK_VALUE_MAX 1024
/*
 * Set by srun (local context) in the step's environment when a bare
 * --migrate-nodes=NODES on its command line is a move request into NODES;
 * read and removed by slurmstepd (remote context).
 */
#define NM_SPANK_MOVE_ENV "SLURM_NUMAMIGRATE_MOVE"
/* How sbatch/salloc pass --migrate-nodes on to the sruns of the job. */
#define NM_SPANK_OPTION_ENV \
	"SLURM_SPANK__SLURM_SPANK_OPTION_numamigrate_migrate_nodes"

/* Plugin arguments (plugstack.conf). */
enum nm_spank_repack { NM_REPACK_AUTO, NM_REPACK_NEVER };

struct nm_spank_args {
	char socket[108];		/* sizeof(sun_path) */
	enum nm_spank_repack repack;	/* policy of jobs that give none */
	enum nm_engine_kind engine;	/* engine of move requests */
	enum nm_move_mode mode;		/* of move requests; DEFAULT: the
					   daemon's */
	int timeout_s;			/* move, repack, restore */
	int quick_timeout_s;		/* register, unregister, policy */
};

extern struct nm_spank_args nm_spank_args;
/* A bad configuration in the prolog/slurmd: do nothing, fail nothing. */
extern bool nm_spank_disabled;

int nm_spank_args_parse(int ac, char **av);

/* --migrate-nodes */
enum nm_spank_opt_kind {
	NM_OPT_UNSET,
	NM_OPT_NEVER,		/* policy: never move this job automatically */
	NM_OPT_AUTO,		/* policy: the site default */
	NM_OPT_NODES,		/* policy: may be moved within these nodes */
	NM_OPT_MOVE_MAP,	/* request: OLD:NEW */
	NM_OPT_MOVE_TO,		/* request: move:NODES, or NODES on the
				 * command line of a step of a running job */
};

struct nm_spank_opt {
	enum nm_spank_opt_kind kind;
	char value[NM_SPANK_VALUE_MAX];	/* as given */
	char nodes[NM_SPANK_VALUE_MAX];	/* NODES / the list after "move:" */
	struct nm_target target;	/* MOVE_MAP, MOVE_TO, NODES */
};

extern struct nm_spank_opt nm_spank_opt;	/* set by the callback */

int nm_spank_option_parse(const char *s, struct nm_spank_opt *o, char *err);
bool nm_spank_opt_is_move(const struct nm_spank_opt *o);
/* A NODES policy becomes the request to move into NODES. */
void nm_spank_opt_make_move(struct nm_spank_opt *o);
/*
 * The daemon's policy op for a policy @o (unset and auto: the site's
 * default, repack=) of @job.
 */
void nm_spank_policy_request(const struct nm_spank_opt *o, uint32_t job,
			     struct nm_request *req);
int nm_spank_option_register(spank_t sp);
/* The value given to sbatch/salloc, in the job prolog; 0 and UNSET if none. */
int nm_spank_option_from_job(spank_t sp, struct nm_spank_opt *o);

/* --migrate-mode (mode.c): the step's, else the plugin argument's. */
extern enum nm_move_mode nm_spank_mode;
int nm_spank_mode_register(spank_t sp);
enum nm_move_mode nm_spank_move_mode(void);

/* Contexts */
int nm_spank_init(spank_t sp, int ac, char **av);
void nm_spank_job_script_args(int ac, char **av);
int nm_spank_local_init_post_opt(spank_t sp);
int nm_spank_remote_init_post_opt(spank_t sp);
int nm_spank_remote_task_init(spank_t sp);
int nm_spank_remote_task_post_fork(spank_t sp);
int nm_spank_remote_task_exit(spank_t sp);
int nm_spank_job_prolog(spank_t sp);
int nm_spank_job_epilog(spank_t sp);

/*
 * client.c: one request, encoded as the CLI does (lib/proto), its final
 * reply (json_decref), or NULL + @err.
 */
json_t *nm_spank_call(const struct nm_request *req, int timeout_s, char *err);
/* The reply's error text, or a fallback. */
const char *nm_spank_reply_error(const json_t *reply);
bool nm_spank_reply_ok(const json_t *reply);
/* The daemon does not know the op (an older numamigrated). */
bool nm_spank_reply_unknown_op(const json_t *reply);

#endif
