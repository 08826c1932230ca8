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
	channel(&p, s, agent);
	return prom_finish(&p, len);
}
