/* SPDX-License-Identifier: MIT */
#include <munge.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper/daemon/munge_auth.h"

/*
 * The replay cache: each credential accepted and not yet expired, kept as
 * its SHA-256 (a credential may be up to a frame, 1 MiB; its digest is 32
 * bytes), so the cache is bounded in bytes: at most MAX_REMEMBERED
 * entries of sizeof(struct seen), about 4 MiB.
 */
#define MAX_REMEMBERED 100000

struct seen {
	uint8_t digest[SHA256_DIGEST_SIZE];
	time_t expires;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen *seen;
static size_t nseen, capseen;
static char munge_socket[512];

void nm_munge_setup(const char *socket)
{
	snprintf(munge_socket, sizeof(munge_socket), "%s", socket);
}

static void digest(const char *cred, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx h;

	sha256_init(&h);
	sha256_update(&h, strlen(cred), (const uint8_t *)cred);
	sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

/* Returns 1 when @cred was seen, 0 when now remembered, -1 when full. */
static int remember(const char *cred, time_t expires, char *err)
{
	uint8_t d[SHA256_DIGEST_SIZE];
	time_t now = time(NULL);
	size_t i;
	int rc = 0;

	digest(cred, d);
	pthread_mutex_lock(&lock);
	for (i = 0; i < nseen; ) {
		if (seen[i].expires < now) {
			seen[i] = seen[--nseen];
			continue;
		}
		if (!memcmp(seen[i].digest, d, sizeof(d))) {
			rc = 1;
			goto out;
		}
		i++;
	}
	if (nseen == MAX_REMEMBERED) {
		nm_seterr(err, "too many live credentials: try again later");
		rc = -1;
		goto out;
	}
	if (nseen == capseen) {
		size_t cap = capseen ? capseen * 2 : 256;
		struct seen *n = realloc(seen, cap * sizeof(*n));

		if (!n) {
			nm_seterr(err, "out of memory");
			rc = -1;
			goto out;
		}
		seen = n;
		capseen = cap;
	}
	memcpy(seen[nseen].digest, d, sizeof(d));
	seen[nseen++].expires = expires;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int nm_munge_verify(const char *cred, char **payload, size_t *len, uid_t *uid,
		    gid_t *gid, char *err)
{
	munge_ctx_t ctx = munge_ctx_create();
	munge_err_t e;
	void *buf = NULL;
	int blen = 0, ttl = 0, rc = -1;
	time_t encoded = 0;

	*payload = NULL;
	if (!ctx) {
		nm_seterr(err, "MUNGE: out of memory");
		return -1;
	}
	if (munge_socket[0] &&
	    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, munge_socket) != EMUNGE_SUCCESS) {
		nm_seterr(err, "MUNGE: cannot use socket %s", munge_socket);
		goto out;
	}
	e = munge_decode(cred, ctx, &buf, &blen, uid, gid);
	if (e != EMUNGE_SUCCESS) {
		nm_seterr(err, "MUNGE credential refused: %s",
			  munge_ctx_strerror(ctx));
		goto out;
	}
	if (!buf || blen <= 0) {
		nm_seterr(err, "MUNGE credential carries no request");
		goto out;
	}
	munge_ctx_get(ctx, MUNGE_OPT_ENCODE_TIME, &encoded);
	munge_ctx_get(ctx, MUNGE_OPT_TTL, &ttl);
	switch (remember(cred, encoded + ttl + 1, err)) {
	case 1:
		nm_seterr(err, "MUNGE credential refused: replayed");
		goto out;
	case -1:
		goto out;
	}
	*payload = buf;
	*len = (size_t)blen;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	munge_ctx_destroy(ctx);
	return rc;
}
