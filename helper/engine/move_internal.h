/* SPDX-License-Identifier: MIT */
#ifndef NM_MOVE_INTERNAL_H
#define NM_MOVE_INTERNAL_H

/* One move's state, shared by the files of its phases (move*.c). */
#include <pthread.h>

#include "helper/engine/cpuset.h"
#include "helper/engine/move.h"
#include "lib/linux/pidref.h"

struct nm_move {
	const struct nm_move_spec *spec;
	const struct nm_move_hooks *hooks;
	struct nm_move_result *r;
	struct nm_kmod_client kmod;	/* open when r->kmod_loaded */
	struct nm_pidref *procs;	/* one per r->pids: as admitted */
	int nprocs;			/* allocated */
	struct nm_scan *scans;		/* one per r->pids */
	bool *gone;			/* exited, per r->pids */
	uint64_t *failed_per_pid;	/* the engine's, per r->pids */
	struct nm_cpusets cpusets;
	/* The nodes the caller may use (the nodes hook), when limited. */
	struct nm_bitmap usable;
	bool usable_set;
	struct nm_freeze fz;
	/* Thawed once, by the move or its deadline, whoever comes first. */
	pthread_mutex_t thaw_lock;
	bool thawed;
	double t_freeze, t_thaw;
	/* Set by nm_move_expire(): the engine stops before its next batch. */
	volatile int cancel;
	/*
	 * A live pass's engine stops on live_stop instead, set between its
	 * batches once cancel is set or live_deadline (nm_now_seconds(); 0:
	 * none) has passed.
	 */
	bool in_live;
	volatile int live_stop;
	double live_deadline;
};

/* A log line through the log hook (printf-style). */
void nm_move_log(struct nm_move *m, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void nm_move_phase(struct nm_move *m, const char *phase);
/* Appends an error of a started move to the result. */
void nm_move_add_error(struct nm_move *m, enum nm_move_error_kind kind,
		       pid_t pid, const char *cgroup, const char *msg);
void nm_move_add_exited(struct nm_move *m, pid_t pid);
/*
 * Whether process @i (of r->pids) is still the one admitted; when not, it
 * is marked gone and reported (exited, replaced) once.  Called around
 * every action that names it by number.
 */
bool nm_move_proc_gone(struct nm_move *m, int i);
/* nm_move_proc_gone() over every process not yet gone: how many went. */
int nm_move_check_procs(struct nm_move *m);

/* move_freeze.c: before, during and after the freeze. */
enum nm_move_status nm_move_freeze(struct nm_move *m, char *err);
enum nm_move_status nm_move_thaw(struct nm_move *m, enum nm_move_status st,
				 char *err);

/*
 * move_handover.c: the thaw of m->fz, or, when the suspended hook says the
 * scheduler suspended the job meanwhile, its hand-over to that suspend.
 */
int nm_move_release(struct nm_move *m, char *err);

/*
 * move_shared.c: r->skipped from m->scans (shared memory of others the
 * scans left out), logged.  -1 when out of memory.
 */
int nm_move_note_skipped(struct nm_move *m, char *err);

/* move_frozen.c: what happens while the job is frozen. */
enum nm_move_status nm_move_frozen(struct nm_move *m, char *err);

/* move_frozen.c: the phases, for a frozen and a live move alike. */
/* [testing] pauses: @ms, or until the move is cancelled. */
void nm_move_pause(struct nm_move *m, int ms);
/* [testing] delay_ms before any page moves, cut short by delay_file. */
void nm_move_delay(struct nm_move *m);
int nm_move_widen(struct nm_move *m, char *err);
void nm_move_restore_mems(struct nm_move *m);
/* Rescans every process not yet seen exited (m->scans, m->gone). */
int nm_move_scan_all(struct nm_move *m, char *err);
/* The job's pages per node index (not page cache), from m->scans. */
void nm_move_pages_per_node(const struct nm_move *m, uint64_t *out);
/* The engine over m->scans into @res; -1 when it could not run at all. */
int nm_move_engine(struct nm_move *m, struct nm_engine_result *res,
		   char *err);
void nm_move_drop_exited(struct nm_move *m);
/* r->cpu_map: the plan's map, except nodes whose memory mostly stayed. */
void nm_move_effective_map(struct nm_move *m, const uint64_t *before,
			   const uint64_t *after);
/* Every live process's threads from their CPUs under @map. */
void nm_move_rebind_all(struct nm_move *m, const int *map);
void nm_move_narrow(struct nm_move *m, const uint64_t *after);

/*
 * move_live.c: a live move, from widening past the thaw: re-pin first,
 * passes while the job runs, then a freeze for the final pass.
 */
enum nm_move_status nm_move_live(struct nm_move *m, char *err);

#endif
