/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the node/CPU list parser and formatter round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[NM_ERRLEN];
	struct nm_bitmap a, b;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (nm_list_parse(s, &a, NM_BITMAP_BITS, NM_LIST_ALLOW_EMPTY, "list",
			  err) == 0) {
		static char buf[NM_BITMAP_BITS * 6];

		nm_list_format(&a, buf, sizeof(buf));
		if (nm_list_parse(buf, &b, NM_BITMAP_BITS, NM_LIST_ALLOW_EMPTY,
				  "list", err) != 0 || !nm_bitmap_equal(&a, &b))
			abort();
	} else if (!memchr(err, '\0', sizeof(err)) || strchr(err, '\n')) {
		abort(); /* errors are one terminated line */
	}
	free(s);
	return 0;
}
