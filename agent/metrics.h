/* What the agent's own metrics listener shows (--metrics-listen): one look at the tunnels and the
 * state channel gathered into a plain struct, and its Prometheus text (lib/prom.h). The names
 * are the manager's where the meaning is the same (snaptun_tunnel_*, snaptun_handshakes_total,
 * …), per gateway and without the agents' sum; api.md "Metrics" lists them. */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane.h"
#include "dpmode.h"
#include "link.h"
#include "scion_underlay.h"
#include "tunnel.h"

struct metrics_snap {
	uint64_t agent_id;
	struct tunnels_metrics tunnels;
	int channel_up; /* welcomed by the manager now */
	struct link_stats channel;
	/* the data planes (ip, and scion with the underlay): their modes' own counts */
	size_t nplanes;
	struct {
		const struct dp_mode *mode;
		struct dp_stats stats;
	} planes[2];
	int has_scion; /* scion: the underlay's */
	struct scion_underlay_stats scion;
};

/* The document, NUL-terminated, its length in *len; the caller frees it. NULL when out of
 * memory. */
char *metrics_render(const struct metrics_snap *s, size_t *len);

#endif
