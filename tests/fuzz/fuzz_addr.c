/* Fuzzes the address and prefix parsers and the index arithmetic of lib/addr.h: addr_parse(),
 * prefix_parse(), prefix_usable(), prefix_addr_at(), prefix_index_of(), prefix_overlap().
 * The input is "<text>[\0<bytes>]": text (at most 127 bytes) holds one or two
 * space-separated strings, each tried as an address and as a prefix; the bytes after the NUL
 * (or a hash of the input) give a number for indexes and derived prefixes.
 * Invariants:
 * - addresses: parse(format(a)) == a and format is canonical; "<s>/32" or "<s>/128" is a prefix
 *   of that very address;
 * - prefixes: a failed parse gives a reason; a parsed one has no host bits set,
 *   parse(format(p)) == p, format is canonical, and p overlaps itself;
 * - with at most 64 host bits: first <= last <= 2^h - 1 from prefix_usable(), and for the
 *   indexes 0, first, last, 2^h - 1 and the input number masked to the host bits,
 *   index_of(addr_at(i)) == i; that address flipped in a network bit, or of the other family,
 *   is not inside;
 * - overlap is symmetric, for two parsed prefixes and for a prefix derived from one (with a
 *   known answer: equal up to the shorter length unless a flipped bit lies inside it), and
 *   agrees with index_of of the longer network in the shorter prefix. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
family_bits(int family)
{
	return family == 4 ? 32 : 128;
}

static int
bit_get(const uint8_t *b, unsigned i)
{
	return b[i / 8] >> (7 - i % 8) & 1;
}

static void
bit_flip(uint8_t *b, unsigned i)
{
	b[i / 8] ^= (uint8_t)(1u << (7 - i % 8));
}

static int
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static int
prefix_equal(const struct prefix *a, const struct prefix *b)
{
	return a->len == b->len && addr_equal(&a->net, &b->net);
}

static void
check_addr(const struct addr *a)
{
	char text[ADDR_STRLEN], again[ADDR_STRLEN];
	struct addr b;

	if (a->family != 4 && a->family != 6)
		__builtin_trap();
	if (a->family == 4)
		for (unsigned i = 4; i < sizeof(a->b); i++)
			if (a->b[i] != 0)
				__builtin_trap();
	addr_format(a, text);
	if (addr_parse(text, &b) != 0 || !addr_equal(a, &b))
		__builtin_trap();
	addr_format(&b, again);
	if (strcmp(text, again) != 0)
		__builtin_trap();
}

/* Overlap is symmetric and agrees with containment of the longer network in the shorter
 * prefix (checked through index_of when the shorter one has at most 64 host bits). */
static int
check_overlap(const struct prefix *p, const struct prefix *q)
{
	const struct prefix *shorter = p->len <= q->len ? p : q;
	const struct prefix *longer = shorter == p ? q : p;
	int o = prefix_overlap(p, q);
	uint64_t idx;

	if (o != 0 && o != 1)
		__builtin_trap();
	if (prefix_overlap(q, p) != o)
		__builtin_trap();
	if (p->net.family != q->net.family) {
		if (o)
			__builtin_trap();
		return o;
	}
	if (prefix_host_bits(shorter) <= 64 &&
	    (prefix_index_of(shorter, &longer->net, &idx) == 0) != o)
		__builtin_trap();
	return o;
}

static void
check_index(const struct prefix *p, uint64_t idx, uint64_t raw)
{
	struct addr a, other;
	uint64_t back;

	prefix_addr_at(p, idx, &a);
	if (a.family != p->net.family)
		__builtin_trap();
	check_addr(&a);
	if (prefix_index_of(p, &a, &back) != 0 || back != idx)
		__builtin_trap();
	if (p->len > 0) {
		other = a;
		bit_flip(other.b, (unsigned)(raw % p->len));
		if (prefix_index_of(p, &other, &back) == 0)
			__builtin_trap();
	}
	other = a;
	other.family = a.family == 4 ? 6 : 4;
	if (prefix_index_of(p, &other, &back) == 0)
		__builtin_trap();
}

/* A prefix of the same family from p and raw: a length from raw, p's bits up to it, and
 * maybe one bit flipped. Returns whether it must overlap p. */
static int
derive(const struct prefix *p, uint64_t raw, struct prefix *q)
{
	unsigned bits = family_bits(p->net.family), flip = (unsigned)((raw >> 16) % bits);
	int flipped = (raw & 1) != 0;

	*q = *p;
	q->len = (unsigned)((raw >> 8) % (bits + 1));
	if (flipped)
		bit_flip(q->net.b, flip);
	for (unsigned i = q->len; i < bits; i++)
		if (bit_get(q->net.b, i))
			bit_flip(q->net.b, i);
	return !(flipped && flip < (p->len < q->len ? p->len : q->len));
}

static void
check_prefix(const struct prefix *p, uint64_t raw)
{
	char text[PREFIX_STRLEN], again[PREFIX_STRLEN], whybuf[128];
	unsigned bits, h;
	uint64_t top, first, last;
	struct prefix b, q;
	const char *why;
	int want;

	if (p->net.family != 4 && p->net.family != 6)
		__builtin_trap();
	bits = family_bits(p->net.family);
	if (p->len > bits)
		__builtin_trap();
	for (unsigned i = p->len; i < 128; i++)
		if (bit_get(p->net.b, i))
			__builtin_trap();
	prefix_format(p, text);
	if (prefix_parse(text, &b, whybuf, sizeof(whybuf), &why) != 0 || why != NULL ||
	    !prefix_equal(p, &b))
		__builtin_trap();
	prefix_format(&b, again);
	if (strcmp(text, again) != 0)
		__builtin_trap();
	if (prefix_overlap(p, p) != 1)
		__builtin_trap();

	h = prefix_host_bits(p);
	if (h != bits - p->len)
		__builtin_trap();
	if (h <= 64) {
		top = h == 64 ? UINT64_MAX : (UINT64_C(1) << h) - 1;
		prefix_usable(p, &first, &last);
		if (first > last || last > top)
			__builtin_trap();
		check_index(p, 0, raw);
		check_index(p, top, raw);
		check_index(p, first, raw);
		check_index(p, last, raw);
		check_index(p, raw & top, raw);
	}

	want = derive(p, raw, &q);
	if (check_overlap(p, &q) != want)
		__builtin_trap();
}

/* Try s as an address and as a prefix; *p gets the prefix, and the return says whether
 * there is one. */
static int
try_string(const char *s, uint64_t raw, struct prefix *p)
{
	char whybuf[128], full[256];
	struct prefix fp;
	struct addr a;
	const char *why;

	if (addr_parse(s, &a) == 0) {
		check_addr(&a);
		snprintf(full, sizeof(full), "%s/%u", s, family_bits(a.family));
		if (prefix_parse(full, &fp, whybuf, sizeof(whybuf), &why) != 0 ||
		    fp.len != family_bits(a.family) || !addr_equal(&fp.net, &a))
			__builtin_trap();
	}
	why = NULL;
	memset(whybuf, 0xa5, sizeof(whybuf));
	if (prefix_parse(s, p, whybuf, sizeof(whybuf), &why) != 0) {
		if (why == NULL || why[0] == '\0')
			__builtin_trap();
		if (why == whybuf && memchr(whybuf, '\0', sizeof(whybuf)) == NULL)
			__builtin_trap();
		return 0;
	}
	check_prefix(p, raw);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128], *second;
	size_t n = 0;
	uint64_t raw = UINT64_C(14695981039346656037);
	struct prefix p1, p2;
	int ok1, ok2;

	while (n < size && n < sizeof(text) - 1 && data[n] != '\0')
		n++;
	memcpy(text, data, n);
	text[n] = '\0';
	if (n < size && data[n] == '\0' && size - n - 1 >= 8) {
		raw = 0;
		for (size_t i = n + 1; i < n + 9; i++)
			raw = raw << 8 | data[i];
	} else {
		/* FNV-1a of the whole input. */
		for (size_t i = 0; i < size; i++)
			raw = (raw ^ data[i]) * UINT64_C(1099511628211);
	}
	if ((second = strchr(text, ' ')) != NULL)
		*second++ = '\0';
	ok1 = try_string(text, raw, &p1);
	ok2 = second != NULL && try_string(second, raw ^ (raw >> 29), &p2);
	if (ok1 && ok2)
		check_overlap(&p1, &p2);
	return 0;
}
