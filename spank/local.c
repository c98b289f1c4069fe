/* SPDX-License-Identifier: MIT */
/*
 * Local context (srun, the user): is a bare --migrate-nodes=NODES a move
 * request or a policy?
 *
 * It is a request to move the running job into NODES when it is on this
 * srun's own command line and the srun launches a step into a running job
 * (--jobid, or SLURM_JOB_ID in its environment: inside sbatch/salloc).  The
 * same value inherited through the environment (the sruns of
 * 'sbatch --migrate-nodes=NODES') or given to an srun that makes its own
 * allocation is a policy.  The option callback cannot tell them apart (it
 * runs for both), so srun's own argv decides, here; the decision goes to
 * slurmstepd in the step's environment (NM_SPANK_MOVE_ENV).  spank_setenv()
 * works in remote context only, so it is set with setenv() in srun's own
 * environment, which srun copies into the step's; a SLURM_* name, since
 * that is all srun --export=NONE passes on.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/file.h"
#include "numamigrate.h"

#define CMDLINE_MAX (1 << 20)

/* What srun's own command line and environment say. */
static struct local_state {
	bool given_on_cmdline;	/* --migrate-nodes among srun's options */
	bool into_running_job;	/* --jobid, or inside an allocation */
} state;

/* /proc/self/cmdline: NUL-separated, @*len bytes; free() it. */
static char *read_cmdline(size_t *len)
{
	return nm_read_file("/proc/self/cmdline", CMDLINE_MAX, len);
}

/*
 * Is @arg the long option @name (as getopt_long takes it: --name,
 * --name=VALUE, or an unambiguous abbreviation of at least @min chars)?
 */
static bool is_long_opt(const char *arg, const char *name, size_t min)
{
	size_t n;

	if (strncmp(arg, "--", 2))
		return false;
	arg += 2;
	n = strcspn(arg, "=");
	return n >= min && n <= strlen(name) && !strncmp(arg, name, n);
}

/*
 * Scans srun's own options: its command line up to where its getopt
 * stopped (optind: the first word of the command srun runs, as srun
 * parses with a leading '+'), so a --migrate-nodes among the command's
 * own arguments does not count.  S_JOB_ARGV is not available yet here.
 */
static void scan_cmdline(void)
{
	size_t len, nwords = 0, i, last;
	char *buf, *p;

	buf = read_cmdline(&len);
	if (!buf) {
		slurm_debug("numamigrate: cannot read /proc/self/cmdline");
		return;
	}
	for (p = buf; p < buf + len; p += strlen(p) + 1)
		nwords++;
	last = nwords;
	if (optind > 0 && (size_t)optind <= nwords)
		last = (size_t)optind;
	for (i = 0, p = buf; i < last; i++, p += strlen(p) + 1) {
		if (i == 0)
			continue;	/* srun */
		if (!strcmp(p, "--"))
			break;
		/* --mi is ambiguous (--mincpus); --job is (--job-name). */
		if (is_long_opt(p, "migrate-nodes", 3))
			state.given_on_cmdline = true;
		else if (is_long_opt(p, "jobid", 4))
			state.into_running_job = true;
	}
	free(buf);
}

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

int nm_spank_local_init_post_opt(spank_t sp)
{
	(void)sp;
	/* Only this srun decides: never a value from its environment. */
	unsetenv(NM_SPANK_MOVE_ENV);
	if (nm_spank_opt.kind != NM_OPT_NODES)
		return 0;	/* unset, never/auto, OLD:NEW, move:NODES */
	scan_cmdline();
	/*
	 * The option's only other source is this variable: without it, the
	 * value came from the command line, whatever the scan saw.
	 */
	if (!env_set(NM_SPANK_OPTION_ENV))
		state.given_on_cmdline = true;
	/* srun's own environment, before it makes or joins an allocation. */
	if (env_set("SLURM_JOB_ID") || env_set("SLURM_JOBID"))
		state.into_running_job = true;
	if (!state.given_on_cmdline) {
		slurm_debug("numamigrate: --migrate-nodes=%s from the "
			    "environment (%s): a policy", nm_spank_opt.value,
			    NM_SPANK_OPTION_ENV);
		return 0;
	}
	if (!state.into_running_job) {
		slurm_debug("numamigrate: --migrate-nodes=%s on an srun that "
			    "makes its own allocation: a policy",
			    nm_spank_opt.value);
		return 0;
	}
	if (setenv(NM_SPANK_MOVE_ENV, "1", 1) < 0) {
		slurm_error("numamigrate: --migrate-nodes=%s: cannot pass the "
			    "move request to the step: %s", nm_spank_opt.value,
			    strerror(errno));
		return -1;
	}
	slurm_debug("numamigrate: --migrate-nodes=%s on a step of a running "
		    "job: a request to move the job into %s",
		    nm_spank_opt.value, nm_spank_opt.nodes);
	return 0;
}
