/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "lib/base/error.h"
#include "lib/base/units.h"

int nm_parse_bytes(const char *s, uint64_t *out, const char *what, char *err)
{
	static const char suffixes[] = "KMGTP";
	uint64_t v = 0;
	unsigned int shift = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*p)) {
		nm_seterr(err, "%s '%s': expected a byte count like 4096 or 2G",
			  what, s ? s : "");
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			nm_seterr(err, "%s '%s': number too large", what, s);
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p) {
		for (unsigned int i = 0; suffixes[i]; i++)
			if (toupper((unsigned char)*p) == suffixes[i])
				shift = 10 * (i + 1);
		if (!shift || !(strcasecmp(p + 1, "") == 0 ||
				strcasecmp(p + 1, "B") == 0 ||
				strcasecmp(p + 1, "iB") == 0)) {
			nm_seterr(err, "%s '%s': unknown unit '%s' (use K, M, "
				  "G, T or P)", what, s, p);
			return -1;
		}
		if (v > (UINT64_MAX >> shift)) {
			nm_seterr(err, "%s '%s': number too large", what, s);
			return -1;
		}
		v <<= shift;
	}
	*out = v;
	return 0;
}

const char *nm_format_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, len, "%.2f %s", v, units[u]);
	return buf;
}
