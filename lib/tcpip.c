/* TCP over IP: layout and checksums (tcpip.h). */
#include "tcpip.h"
#include "be.h"
#include "csum.h"

int
tcpip_parse(const uint8_t *pkt, size_t len, struct tcpip *t)
{
	size_t doff;

	if (len < 1)
		return -1;
	if ((pkt[0] >> 4) == 4) {
		if (len < 20 || (pkt[0] & 15) < 5 || pkt[9] != 6)
			return -1;
		/* a fragment (MF set or an offset) is not a whole segment */
		if ((be_get16(pkt + 6) & 0x3fff) != 0)
			return -1;
		t->v6 = 0;
		t->iphlen = (size_t)(pkt[0] & 15) * 4;
	} else if ((pkt[0] >> 4) == 6) {
		if (len < 40 || pkt[6] != 6)
			return -1;
		t->v6 = 1;
		t->iphlen = 40;
	} else {
		return -1;
	}
	if (len < t->iphlen + 20)
		return -1;
	doff = (size_t)(pkt[t->iphlen + 12] >> 4) * 4;
	if (doff < 20 || len < t->iphlen + doff)
		return -1;
	t->hdrlen = t->iphlen + doff;
	return 0;
}

int
tcpip_lengths_ok(const uint8_t *pkt, size_t len, const struct tcpip *t)
{
	if (t->v6)
		return (size_t)be_get16(pkt + 4) + 40 == len;
	return be_get16(pkt + 2) == len;
}

uint32_t
tcpip_pseudo(const uint8_t *pkt, const struct tcpip *t, size_t tcplen)
{
	uint8_t tail[4] = {0, 0, 0, 6};
	uint32_t sum;

	/* IPv4: addresses, zero, protocol, TCP length (16 bits); IPv6: addresses, TCP length
	 * (32 bits), zeros, next header. Both sum the same with a 32-bit length. */
	sum = t->v6 ? csum_add(0, pkt + 8, 32) : csum_add(0, pkt + 12, 8);
	sum = csum_add(sum, tail, sizeof(tail));
	be_put32(tail, (uint32_t)tcplen);
	return csum_add(sum, tail, sizeof(tail));
}

void
tcpip_set_length(uint8_t *pkt, const struct tcpip *t, size_t len)
{
	if (t->v6) {
		be_put16(pkt + 4, (unsigned)(len - 40));
		return;
	}
	be_put16(pkt + 2, (unsigned)len);
	be_put16(pkt + 10, 0);
	be_put16(pkt + 10, csum_fold(csum_add(0, pkt, t->iphlen)));
}

uint16_t
tcpip_tcp_csum(const uint8_t *pkt, const struct tcpip *t, size_t len)
{
	const uint8_t *tcp = pkt + t->iphlen;
	size_t tcplen = len - t->iphlen;
	uint32_t sum = tcpip_pseudo(pkt, t, tcplen);

	/* around the checksum field (offset 16), which counts as zero */
	sum = csum_add(sum, tcp, 16);
	return csum_fold(csum_add(sum, tcp + 18, tcplen - 18));
}

int
tcpip_csums_ok(const uint8_t *pkt, const struct tcpip *t, size_t len)
{
	/* a right sum over everything, checksum field included, folds to zero */
	if (!t->v6 && csum_fold(csum_add(0, pkt, t->iphlen)) != 0)
		return 0;
	return csum_fold(csum_add(
		   tcpip_pseudo(pkt, t, len - t->iphlen), pkt + t->iphlen, len - t->iphlen)) == 0;
}
