/* SPDX-License-Identifier: MIT */
#ifndef NM_UNITS_H
#define NM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/error.h"

/*
 * Byte counts as people write them: "4096", "512M", "1.5G" is NOT accepted
 * (a byte count is an integer); suffixes K, M, G, T, P are binary (KiB...)
 * and may be written "K", "KB" or "KiB", any case.
 */
int nm_parse_bytes(const char *s, uint64_t *out, const char *what, char *err);

/* "1.50 GiB", "4.00 KiB", "512 B". */
const char *nm_format_bytes(uint64_t bytes, char *buf, size_t len);

/*
 * The base page every page count is in (scan runs, engine batches, the
 * module's ranges): 4 KiB, the base page of the x86-64 and 4K-arm64
 * kernels numamigrate runs on, which pagemap and move_pages(2) count in.
 */
static inline uint64_t nm_page_size(void)
{
	return 4096;
}

#endif
