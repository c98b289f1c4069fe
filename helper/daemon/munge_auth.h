/* SPDX-License-Identifier: MIT */
#ifndef NM_MUNGE_AUTH_H
#define NM_MUNGE_AUTH_H

#include <sys/types.h>

#include "lib/base/error.h"

/*
 * Requests over TCP carry a MUNGE credential whose payload is the request
 * itself, so the credential vouches for exactly that body.  Each
 * credential is accepted once: it is remembered until it expires (munged
 * refuses replays too; this holds even across munged restarts).
 */

/* @socket: munged's socket, "" for libmunge's default. */
void nm_munge_setup(const char *socket);

/*
 * Decodes @cred: on success *@payload (free()) holds the request body and
 * *@uid / *@gid who sent it.  Expired, replayed, invalid credentials and
 * an empty payload are errors.
 */
int nm_munge_verify(const char *cred, char **payload, size_t *len, uid_t *uid,
		    gid_t *gid, char *err);

#endif
