/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/bitmap.h"
#include "lib/base/error.h"

unsigned int nm_bitmap_weight(const struct nm_bitmap *b)
{
	unsigned int n = 0;

	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		n += (unsigned int)__builtin_popcountll(b->w[i]);
	return n;
}

bool nm_bitmap_empty(const struct nm_bitmap *b)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		if (b->w[i])
			return false;
	return true;
}

bool nm_bitmap_equal(const struct nm_bitmap *a, const struct nm_bitmap *b)
{
	return memcmp(a->w, b->w, sizeof(a->w)) == 0;
}

bool nm_bitmap_subset(const struct nm_bitmap *sub, const struct nm_bitmap *of)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		if (sub->w[i] & ~of->w[i])
			return false;
	return true;
}

bool nm_bitmap_intersects(const struct nm_bitmap *a, const struct nm_bitmap *b)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

void nm_bitmap_or(struct nm_bitmap *dst, const struct nm_bitmap *src)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		dst->w[i] |= src->w[i];
}

void nm_bitmap_and(struct nm_bitmap *dst, const struct nm_bitmap *src)
{
	for (size_t i = 0; i < NM_BITMAP_WORDS; i++)
		dst->w[i] &= src->w[i];
}

int nm_bitmap_next(const struct nm_bitmap *b, int from)
{
	if (from < 0)
		from = 0;
	for (int i = from / 64; i < NM_BITMAP_WORDS; i++) {
		uint64_t word = b->w[i];

		if (i == from / 64)
			word &= ~UINT64_C(0) << (from % 64);
		if (word)
			return i * 64 + __builtin_ctzll(word);
	}
	return -1;
}

int nm_bitmap_ord(const struct nm_bitmap *b, int bit)
{
	int ord = 0;

	if (!nm_bitmap_test(b, bit))
		return -1;
	for (int i = 0; i < bit / 64; i++)
		ord += __builtin_popcountll(b->w[i]);
	if (bit % 64)
		ord += __builtin_popcountll(b->w[bit / 64] &
					    (~UINT64_C(0) >> (64 - bit % 64)));
	return ord;
}

int nm_bitmap_nth(const struct nm_bitmap *b, unsigned int ord)
{
	for (int i = 0; i < NM_BITMAP_WORDS; i++) {
		uint64_t word = b->w[i];
		unsigned int n = (unsigned int)__builtin_popcountll(word);

		if (ord >= n) {
			ord -= n;
			continue;
		}
		while (ord--)
			word &= word - 1;
		return i * 64 + __builtin_ctzll(word);
	}
	return -1;
}

/* Reads a decimal number below @limit; returns chars consumed or -1. */
static int parse_number(const char *s, unsigned int limit, unsigned int *out)
{
	unsigned long v = 0;
	int i = 0;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	while (isdigit((unsigned char)s[i])) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v >= limit)
			v = limit; /* saturate: reported as out of range */
		i++;
	}
	*out = (unsigned int)v;
	return i;
}

int nm_list_parse(const char *s, struct nm_bitmap *out, unsigned int limit,
		  unsigned int flags, const char *what, char *err)
{
	struct nm_bitmap b;
	size_t len;
	const char *p;

	if (limit > NM_BITMAP_BITS)
		limit = NM_BITMAP_BITS;
	nm_bitmap_zero(&b);
	if (!s) {
		nm_seterr(err, "%s: missing", what);
		return -1;
	}
	len = strlen(s);
	if (len && s[len - 1] == '\n')
		len--;
	if (len == 0) {
		if (flags & NM_LIST_ALLOW_EMPTY) {
			*out = b;
			return 0;
		}
		nm_seterr(err, "%s is empty", what);
		return -1;
	}

	p = s;
	for (;;) {
		unsigned int lo, hi;
		int n = parse_number(p, limit, &lo);

		if (n < 0)
			goto bad;
		p += n;
		hi = lo;
		if (*p == '-') {
			p++;
			n = parse_number(p, limit, &hi);
			if (n < 0)
				goto bad;
			p += n;
		}
		if (lo >= limit || hi >= limit) {
			nm_seterr(err, "%s '%.*s': %u is out of range (max %u)",
				  what, (int)len, s, lo >= limit ? lo : hi,
				  limit - 1);
			return -1;
		}
		if (hi < lo) {
			nm_seterr(err, "%s '%.*s': range %u-%u is reversed",
				  what, (int)len, s, lo, hi);
			return -1;
		}
		for (unsigned int i = lo; i <= hi; i++)
			nm_bitmap_set(&b, i);
		if ((size_t)(p - s) == len)
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	*out = b;
	return 0;
bad:
	if ((size_t)(p - s) >= len)
		nm_seterr(err, "%s '%.*s': ends early, expected a number",
			  what, (int)len, s);
	else if (isprint((unsigned char)*p))
		nm_seterr(err, "%s '%.*s': unexpected '%c' at position %zu "
			  "(expected a list like 0-3,8)", what, (int)len, s,
			  *p, (size_t)(p - s) + 1);
	else
		nm_seterr(err, "%s: unexpected byte 0x%02x at position %zu "
			  "(expected a list like 0-3,8)", what,
			  (unsigned char)*p, (size_t)(p - s) + 1);
	return -1;
}

size_t nm_list_format(const struct nm_bitmap *b, char *buf, size_t len)
{
	size_t need = 0;
	int bit = nm_bitmap_next(b, 0);

	if (len)
		buf[0] = '\0';
	while (bit >= 0) {
		int end = bit;
		char tmp[32];
		int n;

		while (nm_bitmap_test(b, end + 1))
			end++;
		if (end == bit)
			n = snprintf(tmp, sizeof(tmp), "%s%d", need ? "," : "",
				     bit);
		else
			n = snprintf(tmp, sizeof(tmp), "%s%d-%d",
				     need ? "," : "", bit, end);
		if (need + (size_t)n < len)
			memcpy(buf + need, tmp, (size_t)n + 1);
		else if (len)
			buf[need < len ? need : len - 1] = '\0';
		need += (size_t)n;
		bit = nm_bitmap_next(b, end + 1);
	}
	return need;
}
