/* agent/quic/quic_mem.c: ngtcp2's allocator keeps large blocks on pages of their own, resident
 * only where written (mincore), their tail pages given back when freed, counted to the byte;
 * small and zeroed ones go to malloc and are counted too. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/quic/quic_mem.h"
#include "check.h"

/* How many of the pages under [p, p + len) are resident. */
static size_t
resident_pages(const void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n, i, res = 0;
	uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1);
	unsigned char vec[64];

	n = ((uintptr_t)p + len - start + page - 1) / page;
	if (n > sizeof(vec) || mincore((void *)start, n * page, vec) != 0)
		return SIZE_MAX;
	for (i = 0; i < n; i++)
		res += vec[i] & 1;
	return res;
}

static int
all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
main(void)
{
	const ngtcp2_mem *m = quic_mem();
	size_t page = (size_t)sysconf(_SC_PAGESIZE), big = 3 * page - 100;
	struct quic_mem_stats s0, s;
	uint8_t *a, *b, *c, *small;

	quic_mem_stats(&s0);
	CHECK_EQ_INT(s0.allocs, 0, "nothing allocated at the start");

	/* a block like ngtcp2's object pools: only its first bytes written */
	a = m->malloc(big, m->user_data);
	CHECK(a != NULL, "a %zu-byte block", big);
	CHECK(((uintptr_t)a & 15) == 0, "16-byte aligned");
	memset(a, 0xaa, 200);
	/* (mincore before any read: reading an untouched page maps the zero page, which it
	 * counts, although the RSS does not) */
	CHECK_EQ_INT(resident_pages(a, big), 1, "only the written page is resident");
	CHECK(all_zero(a + page, big - page), "fresh pages read as zeros");
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.paged_blocks, 1, "one page block");
	CHECK_EQ_INT(s.paged_bytes, 3 * page, "three pages");
	CHECK_EQ_INT(s.allocs, 1, "one allocation");

	/* written all over, freed: the pages past the first go back; the next block of that size
	 * reuses it, and its untouched pages stay out of memory */
	memset(a, 0x55, big);
	CHECK_EQ_INT(resident_pages(a, big), 3, "written all over: three resident");
	m->free(a, m->user_data);
	CHECK_EQ_INT(resident_pages(a, big), 1, "freed: the first page only");
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.paged_blocks, 0, "no page block in use");
	CHECK_EQ_INT(s.paged_free_bytes, 3 * page, "kept for reuse");
	b = m->malloc(big, m->user_data);
	CHECK(b == a, "the freed block is reused");
	CHECK_EQ_INT(resident_pages(b, big), 1, "reused: the first page only is resident");
	CHECK(all_zero(b + page, big - page), "reused: the pages given back read as zeros");

	/* zeroed objects are malloc's (ngtcp2 fills them in whole) */
	c = m->calloc(1, big, m->user_data);
	CHECK(c != NULL && all_zero(c, big), "a zeroed block");
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.paged_blocks, 1, "not on pages");
	CHECK_EQ_INT(s.allocs, 2, "but counted");
	m->free(c, m->user_data);

	c = m->malloc(2 * page, m->user_data);
	CHECK(c != NULL && c != b, "a second block");
	memset(c, 1, 2 * page);

	/* small ones are malloc's, counted by their usable size */
	small = m->malloc(100, m->user_data);
	CHECK(small != NULL, "a small block");
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.allocs, 3, "three allocations");
	CHECK(s.bytes >= s.paged_bytes + 100, "the small one counted: %zu >= %zu + 100", s.bytes,
	    s.paged_bytes);
	memset(small, 7, 100);

	/* realloc across the threshold keeps the bytes */
	small = m->realloc(small, 5 * page, m->user_data);
	CHECK(small != NULL && small[0] == 7 && small[99] == 7, "grown onto pages, bytes kept");
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.paged_blocks, 3, "now three page blocks");
	CHECK(m->realloc(small, 4 * page, m->user_data) == small, "shrinking keeps the block");

	m->free(small, m->user_data);
	m->free(b, m->user_data);
	m->free(c, m->user_data);
	m->free(NULL, m->user_data);
	quic_mem_stats(&s);
	CHECK_EQ_INT(s.allocs, 0, "everything freed");
	CHECK_EQ_INT(s.bytes, 0, "no bytes counted");
	CHECK(m->calloc(SIZE_MAX / 2, 4, m->user_data) == NULL, "an overflowing calloc fails");
	return check_done();
}
