#include <stdio.h>

#include "../lib/prom.h"
#include "metrics.h"

#define L(...) \
	(struct prom_label[]){__VA_ARGS__}, \
	    sizeof((struct prom_label[]){__VA_ARGS__}) / sizeof(struct prom_label)

static void
tunnels(struct prom *p, const struct tunnels_metrics *t, const char *agent)
{
	const struct counters *c = &t->total;

	prom_family(p, "snaptun_tunnel_connections",
	    "QUIC connections of tunnels now, in any phase.", PROM_GAUGE);
	prom_u64(p, "snaptun_tunnel_connections", L({"agent", agent}), t->connections);
	prom_family(p, "snaptun_sessions", "Established tunnel sessions now.", PROM_GAUGE);
	prom_u64(p, "snaptun_sessions", L({"agent", agent}), t->established);
	prom_family(p, "snaptun_tunnel_packets_total",
	    "Packets the tunnels carried: uplink from the clients, downlink to them.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_tunnel_packets_total", L({"agent", agent}, {"direction", "uplink"}),
	    c->rx_packets);
	prom_u64(p, "snaptun_tunnel_packets_total", L({"agent", agent}, {"direction", "downlink"}),
	    c->tx_packets);
	prom_family(p, "snaptun_tunnel_bytes_total", "Bytes of the packets the tunnels carried.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_tunnel_bytes_total", L({"agent", agent}, {"direction", "uplink"}),
	    c->rx_bytes);
	prom_u64(p, "snaptun_tunnel_bytes_total", L({"agent", agent}, {"direction", "downlink"}),
	    c->tx_bytes);
	prom_family(p, "snaptun_tunnel_drops_total", "Packets dropped, by reason.", PROM_COUNTER);
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		prom_u64(p, "snaptun_tunnel_drops_total",
		    L({"agent", agent}, {"reason", counters_drop_names[i]}), c->drops[i]);
	prom_family(p, "snaptun_handshakes_total",
	    "Tunnels that completed the snaptun handshake (session renewed, address assigned).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_handshakes_total", L({"agent", agent}), t->events.handshakes);
	prom_family(p, "snaptun_handshake_failures_total",
	    "Tunnel connections that ended before completing the handshake, by QUIC application "
	    "close code (other: the TLS handshake failed, idle timeout, transport error).",
	    PROM_COUNTER);
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		prom_u64(p, "snaptun_handshake_failures_total",
		    L({"agent", agent}, {"code", tunevents_close_names[i]}),
		    t->events.handshake_failures[i]);
	prom_family(p, "snaptun_session_closes_total",
	    "Established sessions closed, by QUIC application close code (other: idle timeout, "
	    "transport error).",
	    PROM_COUNTER);
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		prom_u64(p, "snaptun_session_closes_total",
		    L({"agent", agent}, {"code", tunevents_close_names[i]}), t->events.closes[i]);
}

static void
channel(struct prom *p, const struct metrics_snap *s, const char *agent)
{
	prom_family(p, "snaptun_state_channel_up",
	    "1 while the manager has welcomed this agent on the state channel.", PROM_GAUGE);
	prom_u64(p, "snaptun_state_channel_up", L({"agent", agent}), (uint64_t)s->channel_up);
	prom_family(p, "snaptun_state_channel_frames_total",
	    "State-channel frames: in from the manager, out to it.", PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_frames_total", L({"agent", agent}, {"direction", "in"}),
	    s->channel.frames_in);
	prom_u64(p, "snaptun_state_channel_frames_total", L({"agent", agent}, {"direction", "out"}),
	    s->channel.frames_out);
	prom_family(p, "snaptun_state_channel_errors_total",
	    "State channels dropped (the manager closed it, a protocol error, silence).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_errors_total", L({"agent", agent}), s->channel.drops);
	prom_family(p, "snaptun_state_channel_reconnects_total",
	    "WELCOMEs after the first: the channel was lost and made again.", PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_reconnects_total", L({"agent", agent}),
	    s->channel.welcomes > 0 ? s->channel.welcomes - 1 : 0);
}

/* The data planes' modes' own counts (scion mode's SCMP Parameter Problems by code), and the
 * SCION underlay's traffic. */
static void
planes(struct prom *p, const struct metrics_snap *s, const char *agent)
{
	for (size_t i = 0; i < s->nplanes; i++) {
		const struct dp_mode *m = s->planes[i].mode;

		if (m->counts == NULL)
			continue;
		prom_family(p, m->counts_metric, m->counts_help, PROM_COUNTER);
		for (int k = 0; k < DP_MODE_COUNTS && m->counts[k] != NULL; k++)
			prom_u64(p, m->counts_metric,
			    L({"agent", agent}, {m->counts_label, m->counts[k]}),
			    s->planes[i].stats.mode[k]);
	}
	if (!s->has_scion)
		return;
	prom_family(p, "snaptun_agent_scion_underlay_packets_total",
	    "UDP datagrams on the SCION underlay: out to border routers and local hosts, in from "
	    "them.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_agent_scion_underlay_packets_total",
	    L({"agent", agent}, {"direction", "out"}), s->scion.tx_packets);
	prom_u64(p, "snaptun_agent_scion_underlay_packets_total",
	    L({"agent", agent}, {"direction", "in"}), s->scion.rx_packets);
	prom_family(p, "snaptun_agent_scion_underlay_bytes_total",
	    "Bytes of the UDP datagrams on the SCION underlay.", PROM_COUNTER);
	prom_u64(p, "snaptun_agent_scion_underlay_bytes_total",
	    L({"agent", agent}, {"direction", "out"}), s->scion.tx_bytes);
	prom_u64(p, "snaptun_agent_scion_underlay_bytes_total",
	    L({"agent", agent}, {"direction", "in"}), s->scion.rx_bytes);
	prom_family(p, "snaptun_agent_scion_local_packets_total",
	    "Uplink SCION packets for the local ISD-AS: sent to their host, or (hairpin) into the "
	    "tunnel of this agent that owns it.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_agent_scion_local_packets_total", L({"agent", agent}, {"to", "host"}),
	    s->scion.local - s->scion.hairpin);
	prom_u64(p, "snaptun_agent_scion_local_packets_total",
	    L({"agent", agent}, {"to", "tunnel"}), s->scion.hairpin);
}

char *
metrics_render(const struct metrics_snap *s, size_t *len)
{
	struct prom p;
	char agent[24];

	snprintf(agent, sizeof(agent), "%llu", (unsigned long long)s->agent_id);
	prom_init(&p);
	prom_family(
	    &p, "snaptun_agent_uptime_seconds", "Seconds since the agent started.", PROM_GAUGE);
	prom_double(&p, "snaptun_agent_uptime_seconds", L({"agent", agent}),
	    (double)s->tunnels.uptime_ns / 1e9);
	tunnels(&p, &s->tunnels, agent);
	planes(&p, s, agent);
	channel(&p, s, agent);
	return prom_finish(&p, len);
}
