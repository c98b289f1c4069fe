/* SPDX-License-Identifier: MIT */
#ifndef NM_JOURNAL_H
#define NM_JOURNAL_H

#include <stddef.h>

#include "helper/engine/freezer.h"
#include "lib/base/error.h"

/*
 * The freeze journal: before a move freezes a job, a file under the
 * journal directory records what it will freeze ("intent": the freezes
 * that would undo any partial freeze); once frozen, exactly what was
 * frozen ("frozen").  The file goes when the job is thawed.  A daemon
 * that starts and finds files there died mid-move: it thaws what they
 * record (the "frozen" records when present, else every "intent") and
 * removes them.  Records are nm_freeze_format() lines; each file is
 * replaced atomically (write, fsync, rename).
 */
struct nm_journal {
	char path[600];		/* JOURNAL_DIR/move-ID.journal */
	unsigned long id;	/* the move's id, as the log names it */
};

/*
 * Creates the directory (0700) when missing, and picks this daemon's
 * generation: files are named move-GENERATION-ID.journal, GENERATION
 * above the clock's seconds and every one already there, so that ids
 * unique within one daemon are unique across restarts.  A journal is
 * never overwritten: nm_journal_begin() refuses an existing file.
 */
int nm_journal_init(const char *dir, char *err);
unsigned long long nm_journal_generation(void);

/*
 * The side journals a move keeps beside its freeze journal (live_journal.c,
 * cpuset_journal.c): @text written atomically to
 * DIR/PREFIX-GENERATION-ID.json, whose name goes to @path (@len bytes).
 * @what names the kind in errors.
 */
int nm_journal_put(char *path, size_t len, const char *dir,
		   const char *prefix, unsigned long id, const char *text,
		   const char *what, char *err);
/* Removes a side journal @path, once what it records is done. */
int nm_journal_drop(const char *path, const char *what, char *err);
/*
 * Calls @each with the path of every side journal DIR/PREFIX*.json; the
 * leftovers of writes that never completed (PREFIX*.tmp, never acted on)
 * go.  Returns how many there were, or -1 when @dir cannot be read.
 */
int nm_journal_each(const char *dir, const char *prefix,
		    void (*each)(void *arg, const char *path), void *arg,
		    char *err);

/*
 * A journal file's name: its generation and move id (an old-style
 * move-ID.journal has generation 0).  -1 when it is no journal's name.
 */
int nm_journal_name(const char *name, unsigned long long *gen,
		    unsigned long *id);

/* Thaws what one journal file records and removes it; -1 with @err. */
int nm_journal_recover_file(const char *path, char *err);

/* [testing] fail_thaws: the next @n recovery thaws fail on purpose. */
void nm_journal_test_failures(int n);

int nm_journal_begin(struct nm_journal *j, const char *dir, unsigned long id,
		     const struct nm_freeze *intent, int nintent, char *err);
int nm_journal_frozen(struct nm_journal *j, const struct nm_freeze *fz,
		      char *err);
int nm_journal_finish(struct nm_journal *j, char *err);

/*
 * The records to thaw in the @len bytes of a journal file: the "frozen"
 * ones when there are any, else every "intent".  Parsing only: @each gets
 * each record that parses, and acts (nm_journal_recover thaws it).  A
 * malformed record or a failing @each is an error (in @err, naming its
 * line) that does not stop the others: recovery thaws what it can.
 * Returns 0, or -1 when anything failed.
 */
int nm_journal_parse(const char *buf, size_t len,
		     int (*each)(void *arg, struct nm_freeze *fz, char *err),
		     void *arg, char *err);

/*
 * Thaws everything the journal files in @dir record, and removes them.
 * @report is told about each file (rc 0: thawed; -1 with a message).
 * Returns the number of files found, or -1 when @dir cannot be read.
 */
int nm_journal_recover(const char *dir,
		       void (*report)(void *arg, const char *file, int rc,
				      const char *msg),
		       void *arg, char *err);

#endif
