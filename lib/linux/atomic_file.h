/* SPDX-License-Identifier: MIT */
#ifndef NM_ATOMIC_FILE_H
#define NM_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/base/error.h"

/*
 * Replaces @path with the @len bytes at @data, all or nothing even across
 * a crash or power loss: writes @path.tmp (mode @mode), fsyncs it, renames
 * it over @path and fsyncs the directory, so that after a reboot either
 * the old or the new file is there and the rename itself is on disk.  On
 * failure @path is as it was, the temporary file is gone, and @err names
 * the file and the reason.  The daemon's journal and repack records use it.
 */
int nm_atomic_write(const char *path, const void *data, size_t len,
		    mode_t mode, char *err);

/*
 * Removes @path, and the removal is on disk (directory fsync) when it
 * returns 0.  A file already gone is no error.
 */
int nm_atomic_remove(const char *path, char *err);

#endif
