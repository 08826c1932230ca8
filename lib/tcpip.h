/* The layout of a TCP packet over IPv4 or IPv6 and its checksums, as the TUN offloads (gso.h,
 * gro.h) need them: bounded by the length given, nothing trusted. Only what a TCP stack sends
 * for a bulk transfer is recognized: IPv4 without fragmentation, IPv6 with TCP as the first
 * next header (no extension headers). */
#ifndef LIB_TCPIP_H
#define LIB_TCPIP_H

#include <stddef.h>
#include <stdint.h>

#define TCPIP_FIN 0x01
#define TCPIP_SYN 0x02
#define TCPIP_RST 0x04
#define TCPIP_PSH 0x08
#define TCPIP_ACK 0x10
#define TCPIP_URG 0x20
#define TCPIP_ECE 0x40
#define TCPIP_CWR 0x80

#define TCPIP_MAX 65535 /* the largest packet: IPv4's total length, IPv6's (no jumbograms) */

struct tcpip {
	int v6;
	size_t iphlen; /* where the TCP header begins */
	size_t hdrlen; /* where the payload begins: iphlen + the TCP header with its options */
};

/* Whether pkt (len bytes) is a TCP packet as above, its headers whole within len: 0 with *t,
 * or -1. The IP length fields are not compared with len (a super-packet's may say anything);
 * tcpip_lengths_ok() does that for a packet from the network. */
int tcpip_parse(const uint8_t *pkt, size_t len, struct tcpip *t);

/* Whether the IP length field of a parsed packet says len bytes. 1 or 0. */
int tcpip_lengths_ok(const uint8_t *pkt, size_t len, const struct tcpip *t);

/* The pseudo-header sum (csum.h, not folded) of a TCP segment of tcplen bytes of pkt's
 * addresses. */
uint32_t tcpip_pseudo(const uint8_t *pkt, const struct tcpip *t, size_t tcplen);

/* Set the IP length field for a packet of len bytes, and for IPv4 the header checksum. */
void tcpip_set_length(uint8_t *pkt, const struct tcpip *t, size_t len);

/* The TCP checksum of the len-byte packet pkt, computed whole (the checksum field counted as
 * zero), to be stored as it is. */
uint16_t tcpip_tcp_csum(const uint8_t *pkt, const struct tcpip *t, size_t len);

/* Whether both checksums of the len-byte packet pkt (IPv4 header, TCP) are right. 1 or 0. */
int tcpip_csums_ok(const uint8_t *pkt, const struct tcpip *t, size_t len);

#endif
