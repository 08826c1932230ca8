/* The tun sink: the gateway's TUN device (dp_tun.h). */
#include <errno.h>
#include <stdlib.h>

#include "../lib/gro.h"
#include "../lib/gso.h"
#include "../lib/tun.h"
#include "dp_tun.h"

struct dp_tun {
	int fd;
	int offload; /* packets behind a struct vnethdr (lib/tun.h) */
	size_t cap; /* bytes of each buffer */
	unsigned char *bufs[DP_TUN_BATCH];
	size_t lens[DP_TUN_BATCH];
	unsigned char *mem; /* the buffers, in one allocation */
	unsigned char *seg; /* offloads: a segment of a super-packet read (gso.h) */
	struct dataplane *dp; /* offloads: the data plane whose packets gro holds */
	struct gro gro; /* offloads: uplink packets not yet written (dp_tun_flush) */
};

struct dp_tun *
dp_tun_new(int fd, size_t mtu, int offload)
{
	struct dp_tun *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->fd = fd;
	t->offload = offload;
	/* with offloads a read is a super-packet of up to 64 KiB whatever the MTU */
	t->cap = offload ? VNETHDR_LEN + TCPIP_MAX : mtu > DP_PACKET_MAX ? DP_PACKET_MAX : mtu;
	if ((t->mem = malloc(t->cap * DP_TUN_BATCH)) == NULL ||
	    (offload &&
		((t->seg = malloc(TCPIP_MAX)) == NULL || gro_init(&t->gro, DP_TUN_GRO) != 0))) {
		dp_tun_free(t);
		return NULL;
	}
	for (int i = 0; i < DP_TUN_BATCH; i++)
		t->bufs[i] = t->mem + (size_t)i * t->cap;
	return t;
}

void
dp_tun_free(struct dp_tun *t)
{
	if (t == NULL)
		return;
	free(t->mem);
	free(t->seg);
	gro_free(&t->gro);
	free(t);
}

/* One packet to the device: 0, or DP_DROP_BLOCKED when it refuses (its queue is full, or the
 * device is going away). */
static int
tun_put(struct dp_tun *t, const uint8_t *pkt, size_t len)
{
	int rv = t->offload ? tun_write_plain(t->fd, pkt, len) : tun_write(t->fd, pkt, len);

	return rv < 0 ? DP_DROP_BLOCKED : 0;
}

/* Offloads: the packet joins the ones waiting for dp_tun_flush() (which runs first when they
 * fill the room): 0. */
static int
tun_gather(struct dp_tun *t, struct dataplane *dp, const uint8_t *pkt, size_t len)
{
	t->dp = dp;
	if (gro_add(&t->gro, pkt, len) == 0)
		return 0;
	dp_tun_flush(t);
	return gro_add(&t->gro, pkt, len) == 0 ? 0 : DP_DROP_MALFORMED; /* over 64 KiB */
}

static int
tun_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct dp_dest *dst)
{
	struct dp_tun *t = arg;
	struct dp_port *to = dataplane_route_find(dp, &dst->host);

	if (to != NULL && !dataplane_isolated(dp, &from->addr, &dst->host))
		return dataplane_forward(dp, from, to, pkt, len, &dst->host);
	if (t->offload)
		return tun_gather(t, dp, pkt, len);
	return tun_put(t, pkt, len);
}

static int
tun_answer(void *arg, const uint8_t *pkt, size_t len)
{
	return tun_put(arg, pkt, len);
}

void
dp_tun_sink(struct dp_tun *t, struct dp_sink *out)
{
	out->name = "tun";
	out->output = tun_output;
	out->answer = tun_answer;
	out->arg = t;
}

void
dp_tun_flush(struct dp_tun *t)
{
	if (!t->offload || t->gro.n == 0)
		return;
	gro_finish(&t->gro);
	for (unsigned i = 0; i < t->gro.n; i++) {
		const struct gro_entry *e = &t->gro.e[i];

		if (tun_write(t->fd, e->buf, VNETHDR_LEN + e->len) < 0)
			dataplane_sink_drop(t->dp, DP_DROP_BLOCKED, e->segs);
	}
	gro_reset(&t->gro);
}

/* One read from a device with offloads (buf: the struct vnethdr, then the packet): each IP
 * packet it carries to dp's downlink. A header that contradicts its packet (never from a sane
 * kernel) loses the packet, counted as malformed. */
static void
read_offloaded(struct dp_tun *t, struct dataplane *dp, uint8_t *buf, size_t len)
{
	struct vnethdr h;
	struct gso g;
	ssize_t n = 0;
	int rv = -1;

	if (len >= VNETHDR_LEN) {
		vnethdr_get(buf, &h);
		rv = gso_start(&g, &h, buf + VNETHDR_LEN, len - VNETHDR_LEN);
	}
	if (rv == 0) {
		dataplane_downlink(dp, buf + VNETHDR_LEN, len - VNETHDR_LEN);
		return;
	}
	while (rv > 0 && (n = gso_next(&g, t->seg, TCPIP_MAX)) != 0) {
		if (n < 0)
			break;
		dataplane_downlink(dp, t->seg, (size_t)n);
	}
	if (rv < 0 || (rv > 0 && n < 0))
		dataplane_sink_drop(dp, DP_DROP_MALFORMED, 1);
}

int
dp_tun_read(struct dp_tun *t, struct dataplane *dp)
{
	int total = 0;

	for (int round = 0; round < DP_TUN_BATCH_ROUNDS; round++) {
		int n = tun_read_batch(t->fd, t->bufs, t->cap, t->lens, DP_TUN_BATCH);

		if (n < 0)
			return total > 0 || n == -EAGAIN ? total : n;
		for (int i = 0; i < n; i++)
			if (t->offload)
				read_offloaded(t, dp, t->bufs[i], t->lens[i]);
			else
				dataplane_downlink(dp, t->bufs[i], t->lens[i]);
		total += n;
		if (n < DP_TUN_BATCH)
			break;
	}
	return total;
}
