/* SPDX-License-Identifier: MIT */
#ifndef NM_SLURM_COMPAT_H
#define NM_SLURM_COMPAT_H

/*
 * The libslurm API differences between the Slurm releases numamigrate is
 * built against (22.05 .. 24.11); configure says which one this is.
 */
#include <stddef.h>

#include <slurm/slurm.h>

#ifdef NM_SLURM_HOSTLIST_PTR
typedef hostlist_t nm_hostlist_t;	/* Slurm < 23.02: a pointer type */
#else
typedef hostlist_t *nm_hostlist_t;	/* 23.02 and later: the struct */
#endif

/*
 * The CPU ids job record @j (loaded with SHOW_DETAIL) holds on @node, as
 * the list `scontrol show job -d` prints in CPU_IDs=, into @buf.  0 on
 * success, -1 when there are none or they cannot be read.
 */
int nm_slurm_cpus_on_node(slurm_job_info_t *j, const char *node, char *buf,
			  size_t len);

#endif
