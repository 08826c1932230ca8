#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tun.h"

int
tun_open(const char *name, unsigned queues, int *fds, char ifname[IFNAMSIZ])
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
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (queues > 1 ? IFF_MULTI_QUEUE : 0);
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

int
tun_write(int fd, const void *pkt, size_t len)
{
	ssize_t w;

	do
		w = write(fd, pkt, len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	/* A TUN write takes the packet whole or fails: a short count would be a kernel bug. */
	return (size_t)w == len ? 0 : -EIO;
}
