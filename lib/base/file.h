/* SPDX-License-Identifier: MIT */
#ifndef NM_FILE_H
#define NM_FILE_H

#include <stddef.h>

/*
 * The whole of @path, at most @max bytes, with a '\0' after them (parsers
 * still take the length: a file may hold NULs).  Reads until EOF, so /proc
 * files (size 0 in stat) work.  NULL with errno set; EFBIG: longer than
 * @max.  The file readers are thin wrappers around it and a pure parser,
 * which the fuzzers call directly.
 */
char *nm_read_file(const char *path, size_t max, size_t *len);

#endif
