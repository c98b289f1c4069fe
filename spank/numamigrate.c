/* SPDX-License-Identifier: MIT */
/*
 * numamigrate SPANK plugin: the entry points Slurm looks up, each handing
 * over to the file of its context.  See spank/README.md.
 */
#include "numamigrate.h"

SPANK_PLUGIN(numamigrate, 1);

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	return nm_spank_init(sp, ac, av);
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	switch (spank_context()) {
	case S_CTX_LOCAL:
		return nm_spank_local_init_post_opt(sp);
	case S_CTX_REMOTE:
		return nm_spank_remote_init_post_opt(sp);
	default:
		return 0;
	}
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE)
		return nm_spank_remote_task_init(sp);
	return 0;
}

int slurm_spank_task_post_fork(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE)
		return nm_spank_remote_task_post_fork(sp);
	return 0;
}

int slurm_spank_task_exit(spank_t sp, int ac, char **av)
{
	(void)ac;
	(void)av;
	if (spank_context() == S_CTX_REMOTE)
		return nm_spank_remote_task_exit(sp);
	return 0;
}

/*
 * The job prolog and epilog run in a process of their own where
 * slurm_spank_init is not called: the plugin arguments come here.
 */
int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	nm_spank_job_script_args(ac, av);
	return nm_spank_job_prolog(sp);
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	nm_spank_job_script_args(ac, av);
	return nm_spank_job_epilog(sp);
}
