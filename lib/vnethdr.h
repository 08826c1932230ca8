/* The virtio-net header (struct virtio_net_hdr of <linux/virtio_net.h>, 10 bytes) in front of
 * every packet read from or written to a TUN device opened with offloads (tun.h): whether the
 * packet's checksum is still to be completed (VNETHDR_F_NEEDS_CSUM: the kernel put the
 * pseudo-header sum at csum_start + csum_offset, the sum from csum_start to the end is ours to
 * add) and whether it is a TCP super-packet to be cut into segments of gso_size payload bytes
 * (gso_type). The fields are little-endian on the wire (tun_open_offload asks the kernel for
 * that order on a big-endian host); struct vnethdr holds them in host order. */
#ifndef LIB_VNETHDR_H
#define LIB_VNETHDR_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define VNETHDR_LEN 10

#define VNETHDR_F_NEEDS_CSUM 1
#define VNETHDR_GSO_NONE 0
#define VNETHDR_GSO_TCPV4 1
#define VNETHDR_GSO_TCPV6 4
#define VNETHDR_GSO_ECN 0x80 /* with a TCP type: the sender set CWR in the first segment */

struct vnethdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len; /* the IP and TCP headers' length (a hint: nothing here trusts it) */
	uint16_t gso_size; /* payload bytes per segment */
	uint16_t csum_start; /* where the checksummed part (the TCP header) begins */
	uint16_t csum_offset; /* where in it the checksum field is */
};

static inline uint16_t
vnethdr_get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static inline void
vnethdr_put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static inline void
vnethdr_get(const uint8_t *p, struct vnethdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = vnethdr_get16(p + 2);
	h->gso_size = vnethdr_get16(p + 4);
	h->csum_start = vnethdr_get16(p + 6);
	h->csum_offset = vnethdr_get16(p + 8);
}

static inline void
vnethdr_put(uint8_t *p, const struct vnethdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	vnethdr_put16(p + 2, h->hdr_len);
	vnethdr_put16(p + 4, h->gso_size);
	vnethdr_put16(p + 6, h->csum_start);
	vnethdr_put16(p + 8, h->csum_offset);
}

#endif
