/* SPDX-License-Identifier: MIT */
/* slurm_spank_init in every context: arguments, option registration. */
#include "config.h"
#include "numamigrate.h"

/* Set where a bad configuration must not fail anything (prolog, slurmd). */
bool nm_spank_disabled;

/*
 * Where nothing may fail (job prolog/epilog, slurmd): a bad argument is
 * logged and the plugin does nothing, since a failed prolog drains the node.
 */
void nm_spank_job_script_args(int ac, char **av)
{
	if (nm_spank_args_parse(ac, av) < 0) {
		slurm_error("numamigrate: bad plugin arguments in "
			    "plugstack.conf: numamigrate does nothing for this "
			    "job");
		nm_spank_disabled = true;
	}
}

int nm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();
	int rc = -1;

	if (ctx == S_CTX_JOB_SCRIPT || ctx == S_CTX_SLURMD) {
		nm_spank_job_script_args(ac, av);
		/* slurmd's log says which plugin version each node runs. */
		if (ctx == S_CTX_SLURMD && !nm_spank_disabled)
			slurm_info("numamigrate %s: plugin loaded (daemon "
				   "socket %s)", PACKAGE_VERSION,
				   nm_spank_args.socket);
		return 0;
	}
	if (nm_spank_args_parse(ac, av) < 0)
		goto fail;
	/*
	 * A static spank_options[] table reaches srun only: sbatch and salloc
	 * (allocator) know the option only when registered here, and
	 * slurmstepd (remote) must know it to run its callback.
	 */
	if (ctx == S_CTX_LOCAL || ctx == S_CTX_REMOTE ||
	    ctx == S_CTX_ALLOCATOR) {
		if (nm_spank_option_register(sp) < 0 ||
		    nm_spank_mode_register(sp) < 0)
			goto fail;
	}
	rc = 0;
fail:
	return rc;
}
