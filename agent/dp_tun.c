/* The tun sink: the gateway's TUN device (dp_tun.h). */
#include <errno.h>
#include <stdlib.h>

#include "../lib/tun.h"
#include "dp_tun.h"

struct dp_tun {
	int fd;
	size_t cap; /* bytes of each buffer */
	unsigned char *bufs[DP_TUN_BATCH];
	size_t lens[DP_TUN_BATCH];
	unsigned char *mem; /* the buffers, in one allocation */
};

struct dp_tun *
dp_tun_new(int fd, size_t mtu)
{
	struct dp_tun *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->fd = fd;
	t->cap = mtu > DP_PACKET_MAX ? DP_PACKET_MAX : mtu;
	if ((t->mem = malloc(t->cap * DP_TUN_BATCH)) == NULL) {
		free(t);
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
	free(t);
}

/* One packet to the device: 0, or DP_DROP_BLOCKED when it refuses (its queue is full, or the
 * device is going away). */
static int
tun_put(struct dp_tun *t, const uint8_t *pkt, size_t len)
{
	return tun_write(t->fd, pkt, len) < 0 ? DP_DROP_BLOCKED : 0;
}

static int
tun_output(void *arg, struct dataplane *dp, struct dp_port *from, const uint8_t *pkt, size_t len,
    const struct dp_dest *dst)
{
	struct dp_port *to = dataplane_route_find(dp, &dst->host);

	if (to != NULL && !dataplane_isolated(dp, &from->addr, &dst->host))
		return dataplane_forward(dp, from, to, pkt, len, &dst->host);
	return tun_put(arg, pkt, len);
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

int
dp_tun_read(struct dp_tun *t, struct dataplane *dp)
{
	int total = 0;

	for (int round = 0; round < DP_TUN_BATCH_ROUNDS; round++) {
		int n = tun_read_batch(t->fd, t->bufs, t->cap, t->lens, DP_TUN_BATCH);

		if (n < 0)
			return total > 0 || n == -EAGAIN ? total : n;
		for (int i = 0; i < n; i++)
			dataplane_downlink(dp, t->bufs[i], t->lens[i]);
		total += n;
		if (n < DP_TUN_BATCH)
			break;
	}
	return total;
}
