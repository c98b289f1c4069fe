/* SPDX-License-Identifier: MIT */
#ifndef NM_ERROR_H
#define NM_ERROR_H

#include <stddef.h>

/*
 * Every fallible function of the core library takes a caller-owned buffer
 * of NM_ERRLEN bytes and, on failure, leaves one line there that a user can
 * act on.  No function prints: the callers decide where errors go.
 */
#define NM_ERRLEN 256

void nm_seterr(char *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
