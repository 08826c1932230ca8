/* Fuzzes the joining of TCP segments (lib/gro.h). The input is a run of packets, each a 2-byte
 * length and that many bytes (cut short at the end), added to a table of 4 entries, which is
 * written out (gro_finish) whenever it is full and at the end. Invariants: every packet taken
 * comes out once, counted in exactly one entry: a lone one as it went in behind a zeroed
 * header; a super-packet, cut again by lib/gso.c, gives back the very packets that went in
 * (but for checksum fields, which are right) with as many bytes as counted. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/gro.h"
#include "../../lib/gso.h"
#include "../unit/tcppkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PKTS_MAX 256

struct in {
	const uint8_t *p;
	size_t len;
	int used;
};

/* Mark the first unused input equal to p (len bytes; checksum fields of TCP packets aside when
 * csums is set): abort when there is none. */
static void
take(struct in *in, unsigned n, const uint8_t *p, size_t len, int csums)
{
	struct tcpip t;

	for (unsigned i = 0; i < n; i++) {
		if (in[i].used || in[i].len != len)
			continue;
		if (!csums
			? memcmp(in[i].p, p, len) == 0
			: tcpip_parse(p, len, &t) == 0 && memcmp(in[i].p, p, t.v6 ? 40 : 10) == 0 &&
			    memcmp(in[i].p + 12, p + 12, t.iphlen + 16 - 12) == 0 &&
			    memcmp(in[i].p + t.iphlen + 18, p + t.iphlen + 18,
				len - t.iphlen - 18) == 0) {
			in[i].used = 1;
			return;
		}
	}
	abort();
}

static void
drain(struct gro *g, struct in *in, unsigned n)
{
	uint8_t *seg = malloc(TCPIP_MAX);

	gro_finish(g);
	for (unsigned i = 0; i < g->n; i++) {
		const struct gro_entry *e = &g->e[i];
		struct vnethdr h;
		struct gso gs;
		unsigned segs = 0;
		size_t bytes = 0;
		ssize_t got;

		vnethdr_get(e->buf, &h);
		if (e->segs == 1) {
			if (h.flags != 0 || h.gso_type != 0 || e->bytes != e->len)
				abort();
			take(in, n, e->buf + VNETHDR_LEN, e->len, 0);
			continue;
		}
		if (e->len > TCPIP_MAX || gso_start(&gs, &h, e->buf + VNETHDR_LEN, e->len) != 1)
			abort();
		while ((got = gso_next(&gs, seg, TCPIP_MAX)) > 0) {
			if (!tcppkt_csums_ok(seg, (size_t)got))
				abort();
			take(in, n, seg, (size_t)got, 1);
			segs++;
			bytes += (size_t)got;
		}
		if (got < 0 || segs != e->segs || bytes != e->bytes)
			abort();
	}
	gro_reset(g);
	free(seg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in[PKTS_MAX];
	struct gro g;
	unsigned n = 0;
	size_t off = 0;

	if (gro_init(&g, 4) != 0)
		return 0;
	while (off + 2 <= size && n < PKTS_MAX) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		uint8_t *p;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* each packet in a heap copy of exactly its length */
		p = malloc(len ? len : 1);
		memcpy(p, data + off, len);
		off += len;
		in[n] = (struct in){p, len, 0};
		if (gro_add(&g, p, len) != 0) {
			drain(&g, in, n);
			if (gro_add(&g, p, len) != 0)
				abort(); /* an empty table takes any packet of up to 64 KiB */
		}
		n++;
	}
	drain(&g, in, n);
	for (unsigned i = 0; i < n; i++) {
		if (!in[i].used)
			abort();
		free((void *)(uintptr_t)in[i].p);
	}
	gro_free(&g);
	return 0;
}
