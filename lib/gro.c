/* Coalescing of TCP segments into super-packets (gro.h). */
#include <stdlib.h>
#include <string.h>

#include "be.h"
#include "csum.h"
#include "gro.h"

int
gro_init(struct gro *g, unsigned max)
{
	memset(g, 0, sizeof(*g));
	if ((g->e = calloc(max, sizeof(*g->e))) == NULL ||
	    (g->mem = malloc((size_t)max * GRO_SLOT)) == NULL) {
		gro_free(g);
		return -1;
	}
	g->max = max;
	for (unsigned i = 0; i < max; i++)
		g->e[i].buf = g->mem + (size_t)i * GRO_SLOT;
	return 0;
}

void
gro_free(struct gro *g)
{
	free(g->e);
	free(g->mem);
	memset(g, 0, sizeof(*g));
}

void
gro_reset(struct gro *g)
{
	g->n = 0;
}

/* Whether p (a TCP packet as t says) and the entry's first packet q are of one flow: the same
 * IP version, addresses and ports. */
static int
same_flow(const uint8_t *p, const struct tcpip *t, const struct gro_entry *e)
{
	const uint8_t *q = e->buf + VNETHDR_LEN;

	if (!e->tcp || e->t.v6 != t->v6)
		return 0;
	if (t->v6)
		return memcmp(p + 8, q + 8, 32) == 0 && memcmp(p + 40, q + 40, 4) == 0;
	return memcmp(p + 12, q + 12, 8) == 0 && memcmp(p + t->iphlen, q + e->t.iphlen, 4) == 0;
}

/* Whether the segment p (len bytes, payload n) continues entry e exactly (gro.h). */
static int
continues(const uint8_t *p, size_t len, const struct tcpip *t, size_t n, const struct gro_entry *e)
{
	const uint8_t *q = e->buf + VNETHDR_LEN;
	const uint8_t *tp = p + t->iphlen, *tq = q + e->t.iphlen;

	if (!e->open || n == 0 || n > e->seg_size || t->hdrlen != e->t.hdrlen ||
	    e->len + n > TCPIP_MAX)
		return 0;
	if (t->v6) {
		/* version, traffic class, flow label; hop limit */
		if (memcmp(p, q, 4) != 0 || p[7] != q[7])
			return 0;
	} else {
		/* version/IHL, TOS; flags (DF) and offset; TTL, protocol */
		if (t->iphlen != 20 || memcmp(p, q, 2) != 0 || memcmp(p + 6, q + 6, 4) != 0 ||
		    be_get16(p + 4) != e->next_id)
			return 0;
	}
	/* sequence, then acknowledgment, header length, flags (the entry's are ACK alone, see
	 * gro_add), window, urgent pointer (with URG clear it means nothing, but cutting the
	 * super-packet copies the first's into every segment), and the options */
	if (be_get32(tp + 4) != e->next_seq || memcmp(tp + 8, tq + 8, 5) != 0 ||
	    (tp[13] & (uint8_t)~TCPIP_PSH) != tq[13] || memcmp(tp + 14, tq + 14, 2) != 0 ||
	    memcmp(tp + 18, tq + 18, 2) != 0 ||
	    memcmp(tp + 20, tq + 20, t->hdrlen - t->iphlen - 20) != 0)
		return 0;
	return tcpip_csums_ok(p, t, len);
}

int
gro_add(struct gro *g, const uint8_t *pkt, size_t len)
{
	struct gro_entry *e = NULL;
	struct tcpip t = {0};
	size_t n = 0;
	int tcp;

	if (len > TCPIP_MAX)
		return -1;
	tcp = tcpip_parse(pkt, len, &t) == 0 && tcpip_lengths_ok(pkt, len, &t);
	if (tcp) {
		n = len - t.hdrlen;
		/* only the flow's latest entry: joining an earlier one would reorder the flow */
		for (unsigned i = g->n; i-- > 0;)
			if (same_flow(pkt, &t, &g->e[i])) {
				e = &g->e[i];
				break;
			}
		if (e != NULL && continues(pkt, len, &t, n, e)) {
			memcpy(e->buf + VNETHDR_LEN + e->len, pkt + t.hdrlen, n);
			e->len += n;
			e->segs++;
			e->bytes += len;
			e->next_seq += (uint32_t)n;
			e->next_id++;
			if (n < e->seg_size || (pkt[t.iphlen + 13] & TCPIP_PSH)) {
				e->open = 0; /* a short or pushed segment ends the burst */
				e->buf[VNETHDR_LEN + t.iphlen + 13] |=
				    pkt[t.iphlen + 13] & TCPIP_PSH;
			}
			return 0;
		}
	}
	if (g->n == g->max)
		return -1;
	e = &g->e[g->n++];
	memcpy(e->buf + VNETHDR_LEN, pkt, len);
	e->len = len;
	e->segs = 1;
	e->bytes = len;
	e->tcp = tcp;
	e->t = t;
	/* A packet may start a super-packet when it is a plain data segment (ACK, maybe PSH on
	 * a segment that would then end it at once: not worth it) with right checksums. */
	e->seg_size = n;
	e->open = tcp && n > 0 && pkt[t.iphlen + 13] == TCPIP_ACK && tcpip_csums_ok(pkt, &t, len);
	if (e->open) {
		e->next_seq = be_get32(pkt + t.iphlen + 4) + (uint32_t)n;
		e->next_id = t.v6 ? 0 : (uint16_t)(be_get16(pkt + 4) + 1);
	}
	return 0;
}

void
gro_finish(struct gro *g)
{
	for (unsigned i = 0; i < g->n; i++) {
		struct gro_entry *e = &g->e[i];
		uint8_t *p = e->buf + VNETHDR_LEN;
		struct vnethdr h = {0};

		if (e->segs > 1) {
			/* the IPv4 identification stays the first segment's: the kernel numbers
			 * the segments up from it when it cuts them again */
			tcpip_set_length(p, &e->t, e->len);
			/* the partial checksum: the pseudo-header sum, not complemented */
			be_put16(p + e->t.iphlen + 16,
			    (uint16_t)~csum_fold(tcpip_pseudo(p, &e->t, e->len - e->t.iphlen)));
			h.flags = VNETHDR_F_NEEDS_CSUM;
			h.gso_type = e->t.v6 ? VNETHDR_GSO_TCPV6 : VNETHDR_GSO_TCPV4;
			h.hdr_len = (uint16_t)e->t.hdrlen;
			h.gso_size = (uint16_t)e->seg_size;
			h.csum_start = (uint16_t)e->t.iphlen;
			h.csum_offset = 16;
		}
		vnethdr_put(e->buf, &h);
	}
}
