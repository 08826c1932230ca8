/* ngtcp2's allocator: large blocks on pages of their own, small ones from malloc, all counted
 * (quic_mem.h says why). */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quic_mem.h"

/* A page block starts with this header (its first page is written by ngtcp2 anyway): the
 * pointer handed out follows it, 16-byte aligned like malloc's. */
struct mem_hdr {
	union {
		struct mem_hdr *next; /* while free: the next block of its class */
		size_t pages; /* in use: how many pages the block spans */
	} u;
	size_t class_pages; /* how many pages, kept while free too */
};

#define MEM_HDR 16
#define MEM_MAX_PAGES 8 /* larger blocks (none in ngtcp2 0.12's connections) go to malloc */
/* The address space reserved for page blocks, untouched until used (MAP_NORESERVE): 10,000
 * connections take about 1 GiB of it. Halved until the kernel grants it (RLIMIT_AS). */
#define MEM_REGION_MAX (64ull << 30)
#define MEM_REGION_MIN (256ull << 20)

static struct {
	int init; /* 1: region set up (or given up: base NULL) */
	size_t page;
	uint8_t *base, *next, *end; /* the region, its first never-used byte */
	struct mem_hdr *free[MEM_MAX_PAGES + 1]; /* by page count */
	struct quic_mem_stats st;
} mem;

_Static_assert(sizeof(struct mem_hdr) <= MEM_HDR, "the header fits its room");

static void
mem_region_init(void)
{
	size_t len;
	void *p;
	long pg;

	mem.init = 1;
	pg = sysconf(_SC_PAGESIZE);
	mem.page = pg > 0 ? (size_t)pg : 4096;
	for (len = MEM_REGION_MAX; len >= MEM_REGION_MIN; len /= 2) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			mem.base = mem.next = p;
			mem.end = mem.base + len;
			return;
		}
	}
	/* no room: everything goes to malloc */
}

static int
mem_paged(const void *p)
{
	return mem.base != NULL && (const uint8_t *)p >= mem.base && (const uint8_t *)p < mem.end;
}

/* A block for size bytes on pages of its own; NULL when size is not worth it or there is no
 * room (the caller uses malloc). A reused block holds old bytes in its first page only: the
 * others read as zeros until written. */
static void *
mem_page_alloc(size_t size)
{
	struct mem_hdr *h;
	size_t pages;

	if (!mem.init)
		mem_region_init();
	if (mem.base == NULL || size < mem.page || size > MEM_MAX_PAGES * mem.page - MEM_HDR)
		return NULL;
	pages = (size + MEM_HDR + mem.page - 1) / mem.page;
	if ((h = mem.free[pages]) != NULL) {
		mem.free[pages] = h->u.next;
		mem.st.paged_free_bytes -= pages * mem.page;
	} else {
		if ((size_t)(mem.end - mem.next) < pages * mem.page)
			return NULL;
		h = (struct mem_hdr *)(void *)mem.next;
		mem.next += pages * mem.page;
	}
	h->u.pages = pages;
	h->class_pages = pages;
	mem.st.paged_bytes += pages * mem.page;
	mem.st.paged_blocks++;
	mem.st.bytes += pages * mem.page;
	mem.st.allocs++;
	return (uint8_t *)h + MEM_HDR;
}

static void
mem_page_free(void *p)
{
	struct mem_hdr *h = (struct mem_hdr *)(void *)((uint8_t *)p - MEM_HDR);
	size_t pages = h->class_pages;

	mem.st.paged_bytes -= pages * mem.page;
	mem.st.paged_blocks--;
	mem.st.bytes -= pages * mem.page;
	mem.st.allocs--;
	/* the pages past the first go back to the kernel: resident again only where the next
	 * user writes */
	madvise((uint8_t *)h + mem.page, (pages - 1) * mem.page, MADV_DONTNEED);
	h->u.next = mem.free[pages];
	mem.free[pages] = h;
	mem.st.paged_free_bytes += pages * mem.page;
}

static size_t
mem_page_usable(const void *p)
{
	const struct mem_hdr *h =
	    (const struct mem_hdr *)(const void *)((const uint8_t *)p - MEM_HDR);

	return h->class_pages * mem.page - MEM_HDR;
}

static void *
mem_malloc(size_t size, void *user_data)
{
	void *p;

	(void)user_data;
	if ((p = mem_page_alloc(size)) != NULL)
		return p;
	if ((p = malloc(size)) != NULL) {
		mem.st.bytes += malloc_usable_size(p);
		mem.st.allocs++;
	}
	return p;
}

static void
mem_free(void *p, void *user_data)
{
	(void)user_data;
	if (p == NULL)
		return;
	if (mem_paged(p)) {
		mem_page_free(p);
		return;
	}
	mem.st.bytes -= malloc_usable_size(p);
	mem.st.allocs--;
	free(p);
}

/* Zeroed objects stay malloc's: ngtcp2 calloc()s the ones it fills in (the connection, its
 * congestion controller, hash tables), so they are resident whole wherever they are, and malloc
 * packs them tighter than whole pages (the 8,352-byte ngtcp2_conn: 3 pages resident on pages of
 * its own, measured, against 8.4 KiB from malloc). */
static void *
mem_calloc(size_t nmemb, size_t size, void *user_data)
{
	void *p;

	(void)user_data;
	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL; /* checked here: a sanitizer's calloc aborts on it */
	if ((p = calloc(nmemb, size)) != NULL) {
		mem.st.bytes += malloc_usable_size(p);
		mem.st.allocs++;
	}
	return p;
}

static void *
mem_realloc(void *p, size_t size, void *user_data)
{
	size_t old;
	void *n;

	if (p == NULL)
		return mem_malloc(size, user_data);
	if (!mem.init)
		mem_region_init(); /* p is malloc's: mem.page is needed below */
	if (size == 0) {
		mem_free(p, user_data);
		return NULL;
	}
	old = mem_paged(p) ? mem_page_usable(p) : malloc_usable_size(p);
	if (mem_paged(p) || size >= mem.page) {
		if (mem_paged(p) && size <= old)
			return p;
		if ((n = mem_malloc(size, user_data)) == NULL)
			return NULL;
		memcpy(n, p, old < size ? old : size);
		mem_free(p, user_data);
		return n;
	}
	if ((n = realloc(p, size)) == NULL)
		return NULL;
	mem.st.bytes = mem.st.bytes - old + malloc_usable_size(n);
	return n;
}

static const ngtcp2_mem quic_mem_funcs = {
    .user_data = NULL,
    .malloc = mem_malloc,
    .free = mem_free,
    .calloc = mem_calloc,
    .realloc = mem_realloc,
};

const ngtcp2_mem *
quic_mem(void)
{
	return &quic_mem_funcs;
}

void
quic_mem_stats(struct quic_mem_stats *st)
{
	*st = mem.st;
}
