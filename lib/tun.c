#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tun.h"
#include "vnethdr.h"

/* tun_open with extra (IFF_*) flags. */
static int
open_flags(const char *name, unsigned queues, int extra, int *fds, char ifname[IFNAMSIZ])
{
	struct ifreq ifr;
	unsigned opened = 0;
	int rv = -EINVAL;

	if (queues < 1 || queues > TUN_MAX_QUEUES)
		return -EINVAL;
	if (name != NULL && strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	if (name != NULL)
		memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | extra | (queues > 1 ? IFF_MULTI_QUEUE : 0));
	for (; opened < queues; opened++) {
		int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0) {
			rv = -errno;
			goto out;
		}
		/* The first TUNSETIFF creates the device (naming it when asked to); the next ones
		 * attach queues to it by the name the kernel wrote back. */
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			rv = -errno;
			close(fd);
			goto out;
		}
		fds[opened] = fd;
	}
	memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	ifname[IFNAMSIZ - 1] = '\0';
	return 0;
out:
	while (opened > 0)
		close(fds[--opened]);
	return rv;
}

int
tun_open(const char *name, unsigned queues, int *fds, char ifname[IFNAMSIZ])
{
	return open_flags(name, queues, 0, fds, ifname);
}

int
tun_open_offload(const char *name, int *fd, char ifname[IFNAMSIZ])
{
	int hdrlen = VNETHDR_LEN, rv;

	if ((rv = open_flags(name, 1, IFF_VNET_HDR, fd, ifname)) < 0)
		return rv;
	/* TCP segmentation needs the checksum offload; no UDP segmentation (USO) or ECN
	 * variant beyond what TSO carries: lib/gso.h cuts TCP only. */
	if (ioctl(*fd, TUNSETVNETHDRSZ, &hdrlen) < 0 ||
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	    ioctl(*fd, TUNSETVNETLE, &(int){1}) < 0 ||
#endif
	    ioctl(*fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) < 0) {
		rv = -errno;
		close(*fd);
		*fd = -1;
		return rv;
	}
	return 0;
}

int
tun_open_best(const char *name, int *fd, char ifname[IFNAMSIZ], int *refused)
{
	int rv = tun_open_offload(name, fd, ifname);

	*refused = -rv;
	if (rv == 0)
		return 0;
	return tun_open(name, 1, fd, ifname);
}

int
tun_read_batch(int fd, unsigned char *const *bufs, size_t cap, size_t *lens, int n)
{
	int got = 0;

	while (got < n) {
		/* One byte of room past cap tells a packet of exactly cap bytes from a longer one:
		 * the kernel returns the packet's whole length or what it copied, and either is
		 * over cap only for a packet it had to cut. */
		unsigned char spill;
		struct iovec iov[2] = {{bufs[got], cap}, {&spill, 1}};
		ssize_t r = readv(fd, iov, 2);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || got > 0)
				break;
			return -errno;
		}
		if ((size_t)r > cap)
			continue; /* cut: dropped, its slot reused */
		lens[got++] = (size_t)r;
	}
	return got;
}

/* Write the iovcnt pieces of one packet (len bytes in all): 0 or -errno. */
static int
write_whole(int fd, const struct iovec *iov, int iovcnt, size_t len)
{
	ssize_t w;

	do
		w = writev(fd, iov, iovcnt);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* A TUN write takes the packet whole or fails: a short count would be a kernel bug. */
	return (size_t)w == len ? 0 : -EIO;
}

int
tun_write(int fd, const void *pkt, size_t len)
{
	struct iovec iov = {(void *)(uintptr_t)pkt, len};

	return write_whole(fd, &iov, 1, len);
}

int
tun_write_plain(int fd, const void *pkt, size_t len)
{
	static const unsigned char none[VNETHDR_LEN]; /* VNETHDR_GSO_NONE, no flags */
	struct iovec iov[2] = {
	    {(void *)(uintptr_t)none, sizeof(none)}, {(void *)(uintptr_t)pkt, len}};

	return write_whole(fd, iov, 2, sizeof(none) + len);
}
