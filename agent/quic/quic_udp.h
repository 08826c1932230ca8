/* UDP sockets of the QUIC transport (quic_udp.c): address parsing, opening, the local address a
 * datagram came to, and batched sending. Below the connection core: it knows no connection. */
#ifndef AGENT_QUIC_UDP_H
#define AGENT_QUIC_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define QUIC_PKT_MAX 1500 /* buffer per UDP datagram we write (max_tx_udp_payload_size 1452) */
#define QUIC_BATCH 64 /* datagrams per sendmmsg/recvmmsg */
/* Room for the control messages of one datagram: IP_PKTINFO/IPV6_PKTINFO, and UDP_SEGMENT
 * (sending) or UDP_GRO (receiving): 64 bytes at most, twice that for room. A message whose
 * control data was cut (MSG_CTRUNC) is dropped: its run's segment size may be lost. */
#define QUIC_CMSG_SPACE 128
/* A UDP GSO send (UDP_SEGMENT) carries at most this many bytes of packets (the IP length
 * field's limit less the headers) and at most QUIC_GSO_SEGS of them (the kernel's limit). */
#define QUIC_GSO_BYTES 65000
#define QUIC_GSO_SEGS 64
/* A receive buffer of a socket with UDP GRO: the largest run the kernel joins (a UDP length). */
#define QUIC_GRO_BUF 65536

/* UDP batch sender: packets collected, then sent with one sendmmsg. With gso, runs of packets
 * to the same address of one size (the last of a run may be shorter) go as one message with
 * UDP_SEGMENT: the kernel passes the run through its stack as one buffer and cuts it into the
 * datagrams at the end (or the receiver's GRO keeps it whole), the per-packet cost of a send
 * paid once per run. */
struct quic_txbatch {
	int fd;
	int connected; /* client socket: no address per message */
	int gso; /* 1: the socket takes UDP_SEGMENT (quic_udp_gso(); cleared when a send fails) */
	size_t n;
	struct sockaddr_storage to[QUIC_BATCH], from[QUIC_BATCH];
	socklen_t tolen[QUIC_BATCH];
	size_t len[QUIC_BATCH];
	uint8_t buf[QUIC_BATCH][QUIC_PKT_MAX];
};

/* Parse "1.2.3.4:5", "[::1]:5"; 0 or -1. */
int quic_udp_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* A non-blocking UDP socket bound to ss (server) or connected to it (client). -1 (logged). */
int quic_udp_open(const struct sockaddr_storage *ss, socklen_t len, int server);

/* The buffer (QUIC_PKT_MAX bytes) for the next packet of tx, sending the batch first when it is
 * full. */
uint8_t *quic_tx_slot(struct quic_txbatch *tx);

/* Queue the len bytes written into the last quic_tx_slot() for to. from: the local address to
 * send from (IP_PKTINFO); NULL or a wildcard: the kernel's choice. */
void quic_tx_commit(struct quic_txbatch *tx, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from);

/* Whether fd's kernel does UDP GSO (UDP_SEGMENT): 1 or 0. */
int quic_udp_gso(int fd);

/* Ask for UDP GRO on fd (receive runs of one sender's equal-size datagrams as one buffer,
 * UDP_GRO control message giving the size): 1 when the kernel took it, else 0. A socket with
 * it needs QUIC_GRO_BUF bytes per receive buffer: a run longer than its buffer would arrive
 * truncated (MSG_TRUNC), and be dropped whole. */
int quic_udp_gro(int fd);

/* The size of each datagram in the len bytes msg received: the segment size of a UDP GRO run
 * (its UDP_GRO control message; the last datagram may be shorter), else len. */
size_t quic_udp_segment(struct msghdr *msg, size_t len);

/* Send what tx holds (one sendmmsg). */
void quic_tx_flush(struct quic_txbatch *tx);

/* One packet at once, unbatched (Retry, VN, resets, closes). */
void quic_udp_send1(int fd, const void *pkt, size_t len, const struct sockaddr *to, socklen_t tolen,
    const struct sockaddr *from);

/* The local address a datagram came to (its PKTINFO with the bound port), else the bound
 * address itself. */
void quic_udp_local(struct msghdr *msg, const struct sockaddr_storage *bound, socklen_t boundlen,
    struct sockaddr_storage *out, socklen_t *outlen);

/* ::ffff:a.b.c.d -> a.b.c.d (what quic_conn_remote shows); other addresses copied. */
void quic_udp_unmap(
    const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out, socklen_t *outlen);

#endif
