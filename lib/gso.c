/* Segmentation of TCP super-packets (gso.h). */
#include <string.h>

#include "be.h"
#include "csum.h"
#include "gso.h"

/* Complete a partial checksum as the kernel would (skb_checksum_help): the sum from start to
 * the end added to what the field holds (the pseudo-header sum), folded, a zero written as
 * 0xffff (UDP's "no checksum" must not appear by chance). */
static int
csum_complete(uint8_t *pkt, size_t len, size_t start, size_t offset)
{
	uint16_t c;

	if (start > len || offset > len - start || len - start - offset < 2)
		return -1;
	c = csum_fold(csum_add(0, pkt + start, len - start));
	if (c == 0)
		c = 0xffff;
	be_put16(pkt + start + offset, c);
	return 0;
}

int
gso_start(struct gso *g, const struct vnethdr *h, uint8_t *pkt, size_t len)
{
	int v6;

	switch (h->gso_type & ~VNETHDR_GSO_ECN) {
	case VNETHDR_GSO_NONE:
		if (h->flags & VNETHDR_F_NEEDS_CSUM)
			return csum_complete(pkt, len, h->csum_start, h->csum_offset);
		return 0;
	case VNETHDR_GSO_TCPV4: v6 = 0; break;
	case VNETHDR_GSO_TCPV6: v6 = 1; break;
	default: return -1;
	}
	/* The TCP header is found from the IP header; csum_start must agree (the kernel's own
	 * super-packets always do), so that no other part of the packet is taken for it. */
	if (tcpip_parse(pkt, len, &g->t) != 0 || g->t.v6 != v6 || g->t.iphlen != h->csum_start ||
	    h->gso_size == 0)
		return -1;
	g->pkt = pkt;
	g->len = len;
	g->mss = h->gso_size;
	g->off = g->t.hdrlen;
	g->i = 0;
	g->seq = be_get32(pkt + g->t.iphlen + 4);
	g->id = v6 ? 0 : be_get16(pkt + 4);
	return 1;
}

ssize_t
gso_next(struct gso *g, uint8_t *out, size_t cap)
{
	size_t hdrlen = g->t.hdrlen, n, seglen;
	uint8_t *tcp = out + g->t.iphlen;
	int last;

	/* a super-packet without payload (the kernel sends none) still makes one packet */
	if (g->off >= g->len && !(g->i == 0 && g->off == g->len))
		return 0;
	n = g->len - g->off < g->mss ? g->len - g->off : g->mss;
	seglen = hdrlen + n;
	if (seglen > cap || seglen > TCPIP_MAX) {
		g->off = g->len + 1; /* given up: no more segments */
		return -1;
	}
	last = g->off + n >= g->len;
	memcpy(out, g->pkt, hdrlen);
	memcpy(out + hdrlen, g->pkt + g->off, n);
	if (!g->t.v6)
		be_put16(out + 4, (uint16_t)(g->id + g->i));
	tcpip_set_length(out, &g->t, seglen);
	be_put32(tcp + 4, g->seq + (uint32_t)(g->off - hdrlen));
	if (!last)
		tcp[13] &= (uint8_t) ~(TCPIP_FIN | TCPIP_PSH);
	if (g->i > 0)
		tcp[13] &= (uint8_t)~TCPIP_CWR;
	be_put16(tcp + 16, tcpip_tcp_csum(out, &g->t, seglen));
	g->i++;
	g->off += n;
	if (n == 0)
		g->off = g->len + 1; /* the one empty segment is given */
	return (ssize_t)seglen;
}
