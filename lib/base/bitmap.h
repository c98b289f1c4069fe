/* SPDX-License-Identifier: MIT */
#ifndef NM_BITMAP_H
#define NM_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A fixed-size bit set for NUMA node numbers and CPU numbers alike.
 * 8192 bits covers Linux's largest NR_CPUS configurations and far more
 * than MAX_NUMNODES; fixed size keeps copies and comparisons trivial.
 */
#define NM_BITMAP_BITS 8192
#define NM_BITMAP_WORDS (NM_BITMAP_BITS / 64)

struct nm_bitmap {
	uint64_t w[NM_BITMAP_WORDS];
};

static inline void nm_bitmap_zero(struct nm_bitmap *b)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		b->w[i] = 0;
}

static inline void nm_bitmap_set(struct nm_bitmap *b, unsigned int bit)
{
	if (bit < NM_BITMAP_BITS)
		b->w[bit / 64] |= UINT64_C(1) << (bit % 64);
}

static inline void nm_bitmap_clear(struct nm_bitmap *b, unsigned int bit)
{
	if (bit < NM_BITMAP_BITS)
		b->w[bit / 64] &= ~(UINT64_C(1) << (bit % 64));
}

static inline bool nm_bitmap_test(const struct nm_bitmap *b, int bit)
{
	if (bit < 0 || bit >= NM_BITMAP_BITS)
		return false;
	return (b->w[bit / 64] >> (bit % 64)) & 1;
}

/* Number of set bits. */
unsigned int nm_bitmap_weight(const struct nm_bitmap *b);
bool nm_bitmap_empty(const struct nm_bitmap *b);
bool nm_bitmap_equal(const struct nm_bitmap *a, const struct nm_bitmap *b);
bool nm_bitmap_subset(const struct nm_bitmap *sub, const struct nm_bitmap *of);
bool nm_bitmap_intersects(const struct nm_bitmap *a, const struct nm_bitmap *b);
void nm_bitmap_or(struct nm_bitmap *dst, const struct nm_bitmap *src);
void nm_bitmap_and(struct nm_bitmap *dst, const struct nm_bitmap *src);

/* First set bit at or after @from, or -1. */
int nm_bitmap_next(const struct nm_bitmap *b, int from);

/* Position of @bit among the set bits (0-based), or -1 if not set. */
int nm_bitmap_ord(const struct nm_bitmap *b, int bit);
/* The @ord-th set bit, or -1 if there are not that many. */
int nm_bitmap_nth(const struct nm_bitmap *b, unsigned int ord);

#define nm_bitmap_foreach(bit, b) \
	for ((bit) = nm_bitmap_next((b), 0); (bit) >= 0; \
	     (bit) = nm_bitmap_next((b), (bit) + 1))

/*
 * Parse a list the way Linux writes node and CPU lists ("0-3,8,10-11").
 * Elements are decimal numbers or ascending ranges, separated by commas;
 * one trailing newline is accepted (sysfs files end in one).  Anything
 * else is an error.  An empty list is accepted only with
 * NM_LIST_ALLOW_EMPTY.  @what names the list in error messages ("node
 * list", "CPU list").  Numbers must be below @limit (<= NM_BITMAP_BITS).
 */
#define NM_LIST_ALLOW_EMPTY 1u
int nm_list_parse(const char *s, struct nm_bitmap *out, unsigned int limit,
		  unsigned int flags, const char *what, char *err);

/*
 * Format as a Linux list.  Always NUL-terminates; returns the length the
 * full string needs (like snprintf), so callers can detect truncation.
 */
size_t nm_list_format(const struct nm_bitmap *b, char *buf, size_t len);

#endif
