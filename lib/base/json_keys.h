/* SPDX-License-Identifier: MIT */
#ifndef NM_JSON_KEYS_H
#define NM_JSON_KEYS_H

#include <jansson.h>

/*
 * Accepts only @allowed keys (NULL-terminated) in @obj: a typo must not
 * silently mean "absent".  @where names the object in the error.
 */
int nm_json_check_keys(json_t *obj, const char *const *allowed,
		       const char *where, char *err);

#endif
