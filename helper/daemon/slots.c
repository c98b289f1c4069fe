/* SPDX-License-Identifier: MIT */
/* Connection slots: shared, per uid, and unauthenticated TCP. */
#include <pthread.h>
#include <stdio.h>

#include "helper/daemon/slots.h"

/* Enough for every slot to be a different uid (max_clients <= 4096). */
#define MAX_UIDS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int used, unauthenticated;
static struct { uid_t uid; int n; } per_uid[MAX_UIDS];
static int nuids;

static int uid_slot(uid_t uid)
{
	for (int i = 0; i < nuids; i++)
		if (per_uid[i].uid == uid)
			return i;
	return -1;
}

bool nm_slots_take(const struct nm_config *cfg, uid_t uid, bool privileged,
		   char *why, size_t len)
{
	bool ok = false;
	int i;

	pthread_mutex_lock(&lock);
	i = uid_slot(uid);
	if (used >= cfg->max_clients)
		snprintf(why, len, "too many clients (%d)", cfg->max_clients);
	else if (!privileged && i >= 0 &&
		 per_uid[i].n >= cfg->max_clients_per_uid)
		snprintf(why, len, "too many connections from uid %u (%d)",
			 (unsigned int)uid, cfg->max_clients_per_uid);
	else if (i < 0 && nuids == MAX_UIDS)
		snprintf(why, len, "too many clients");
	else
		ok = true;
	if (ok) {
		if (i < 0) {
			i = nuids++;
			per_uid[i].uid = uid;
			per_uid[i].n = 0;
		}
		per_uid[i].n++;
		used++;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void nm_slots_put(uid_t uid)
{
	int i;

	pthread_mutex_lock(&lock);
	i = uid_slot(uid);
	if (i >= 0 && --per_uid[i].n == 0)
		per_uid[i] = per_uid[--nuids];
	used--;
	pthread_mutex_unlock(&lock);
}

bool nm_slots_take_unauthenticated(const struct nm_config *cfg, char *why,
				   size_t len)
{
	bool ok;

	pthread_mutex_lock(&lock);
	ok = unauthenticated < cfg->max_tcp_unauthenticated;
	if (ok)
		unauthenticated++;
	else
		snprintf(why, len, "too many unauthenticated TCP peers (%d)",
			 cfg->max_tcp_unauthenticated);
	pthread_mutex_unlock(&lock);
	return ok;
}

void nm_slots_put_unauthenticated(void)
{
	pthread_mutex_lock(&lock);
	unauthenticated--;
	pthread_mutex_unlock(&lock);
}
