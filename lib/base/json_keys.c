/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/base/json_keys.h"

int nm_json_check_keys(json_t *obj, const char *const *allowed,
		       const char *where, char *err)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		bool ok = false;

		(void)val;
		for (int i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			nm_seterr(err, "%s: unknown key '%.40s'", where, key);
			return -1;
		}
	}
	return 0;
}
