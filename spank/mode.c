/* SPDX-License-Identifier: MIT */
/*
 * --migrate-mode=frozen|live: how a move request of this step runs.  The
 * site's default is the plugin argument mode=; without either, the
 * daemon's [move] mode decides.
 */
#include <string.h>

#include "numamigrate.h"

enum nm_move_mode nm_spank_mode = NM_MODE_DEFAULT;

static int mode_cb(int val, const char *optarg, int remote)
{
	char err[NM_ERRLEN];

	(void)val;
	if (!optarg || nm_mode_parse(optarg, &nm_spank_mode, err) < 0) {
		slurm_error("numamigrate: --migrate-mode: %s",
			    optarg ? err : "needs a value: frozen or live");
		return -1;
	}
	slurm_debug("numamigrate: --migrate-mode=%s (%s)", optarg,
		    remote ? "remote" : "local");
	return 0;
}

static struct spank_option migrate_mode = {
	.name = "migrate-mode",
	.arginfo = "frozen|live",
	.usage = "numamigrate: with a move request (--migrate-nodes on 'srun "
		 "--jobid=J --overlap ... true'): 'frozen' freezes the job for "
		 "the whole move; 'live' moves its memory while it runs and "
		 "freezes it only for a final pass (default: the site's).",
	.has_arg = 1,
	.val = 0,
	.cb = mode_cb,
};

int nm_spank_mode_register(spank_t sp)
{
	spank_err_t e = spank_option_register(sp, &migrate_mode);

	if (e != ESPANK_SUCCESS) {
		slurm_error("numamigrate: cannot register --migrate-mode: %s",
			    spank_strerror(e));
		return -1;
	}
	return 0;
}

enum nm_move_mode nm_spank_move_mode(void)
{
	return nm_spank_mode != NM_MODE_DEFAULT ? nm_spank_mode :
						  nm_spank_args.mode;
}
