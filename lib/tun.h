/* TUN devices (Linux /dev/net/tun): layer-3 packets without a packet-information header, one
 * read(2) or write(2) per packet; with offloads (tun_open_offload) per TCP super-packet. Opened non-blocking and close-on-exec. Both the gateway (agent
 * --tun) and the endhost (snaptun-client) use them; addresses, MTU and routes are set through
 * netlink.h. System-call conventions: 0 or -errno; nothing is logged. */
#ifndef LIB_TUN_H
#define LIB_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <sys/types.h>

#define TUN_MAX_QUEUES 16

/* Create (or attach to) the TUN device name (at most IFNAMSIZ - 1 bytes; NULL or "" lets the
 * kernel pick "tunN") with queues queues (1..TUN_MAX_QUEUES; more than 1 opens a multiqueue
 * device, one descriptor per queue, so that several threads can read it). Each descriptor goes to
 * fds[i]; the device's name to ifname. A device that exists with other flags (a TAP device, a
 * single-queue device asked for several queues) fails with -EBUSY or -EINVAL as the kernel says.
 * The device goes away when the last descriptor is closed (unless made persistent elsewhere). */
int tun_open(const char *name, unsigned queues, int *fds, char ifname[IFNAMSIZ]);

/* Like tun_open with one queue, but with offloads: every packet read or written has a struct
 * vnethdr (vnethdr.h) in front, and the kernel may hand over TCP super-packets of up to 64 KiB
 * with their checksums left partial (lib/gso.h cuts them) and takes them (lib/gro.h joins
 * them): the device reads and writes many segments per system call. 0, or -errno when the
 * kernel refuses any of it (the device, if it made one, is closed again: open it with
 * tun_open then, one packet per system call). */
int tun_open_offload(const char *name, int *fd, char ifname[IFNAMSIZ]);

/* tun_open_offload, and when the kernel refuses the offloads tun_open (one queue): 0 with
 * *refused 0 (offloads on) or the errno of the refusal (a plain device: the caller says so), or
 * -errno of tun_open. */
int tun_open_best(const char *name, int *fd, char ifname[IFNAMSIZ], int *refused);

/* Read up to n packets from fd into bufs[i] (each cap bytes), their lengths into lens[i]:
 * how many were read (0 when none was waiting), or -errno when the first read fails. Fewer than
 * n means the queue is empty (EAGAIN) or a read failed after some packets (it fails again on
 * the next call), so an edge-triggered caller that gets fewer than n may wait. A packet of up to
 * cap bytes is read whole; a longer one is cut by the kernel and dropped here (not counted, its
 * slot reused): size cap to the device's MTU or more and none is. */
int tun_read_batch(int fd, unsigned char *const *bufs, size_t cap, size_t *lens, int n);

/* Write one packet: 0, or -errno (-EAGAIN when the device queue is full: the packet is dropped,
 * as a full interface queue drops). */
int tun_write(int fd, const void *pkt, size_t len);

/* Write one packet to a device opened with offloads: behind a zeroed struct vnethdr (a whole
 * packet with its checksums), as tun_write. */
int tun_write_plain(int fd, const void *pkt, size_t len);

#endif
