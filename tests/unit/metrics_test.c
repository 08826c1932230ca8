/* The manager's metrics registry: an agent's counts stay monotonic across its reconnects (the
 * counts go on) and its restarts (they start from zero again: the last ones go into the base),
 * an older agent without tunnel events keeps none; a revocation is timed from the API call to
 * the close of its pssid's session, only when it had a live session, once, and forgotten after
 * the TTL; HTTP requests are counted by route and status with their latency; a NULL registry
 * takes every call. */
#include <string.h>

#include "../../manager/http.h"
#include "../../manager/metrics.h"
#include "../../proto/tunevents_pb.h"
#include "check.h"

#define S 1000000000ull

static struct counters
traffic(uint64_t n)
{
	struct counters c = {0};

	c.rx_packets = n;
	c.rx_bytes = n * 100;
	c.tx_packets = 2 * n;
	c.tx_bytes = n * 200;
	c.drops[COUNTERS_DROP_SPOOFED] = n / 10;
	c.dropped_packets = n / 10;
	return c;
}

/* The agent's monotonic totals: base + last. */
static uint64_t
rx(const struct metrics *m, size_t i)
{
	return m->agents[i].base.rx_packets + m->agents[i].last.rx_packets;
}

int
main(void)
{
	static const struct route r1 = {"GET", "/v1/pools/{}", NULL, 0, NULL, 0, "", 0, 0};
	static const struct route r1same = {"GET", "/v1/pools/{}", NULL, 0, NULL, 0, "", 0, 0};
	struct metrics *m = metrics_new();
	struct tunevents ev = {0};
	struct counters c;

	CHECK(m != NULL, "a registry");

	/* ---- agents ---- */
	metrics_agent_hello(m, 7);
	CHECK_EQ_INT(m->chan_reconnects, 0, "a first HELLO is no reconnect");
	c = traffic(100);
	ev.handshakes = 5;
	metrics_agent_stats(m, 7, 10 * S, &c, &ev);
	c = traffic(150);
	ev.handshakes = 6;
	metrics_agent_stats(m, 7, 15 * S, &c, &ev);
	CHECK(m->nagents == 1 && rx(m, 0) == 150 && m->agents[0].restarts == 0,
	    "a later STATS of the same process replaces the last counts");
	metrics_agent_hello(m, 7);
	c = traffic(160);
	metrics_agent_stats(m, 7, 16 * S, &c, &ev);
	CHECK(m->chan_reconnects == 1 && rx(m, 0) == 160 && m->agents[0].restarts == 0,
	    "a reconnect of the same process (uptime and counts go on) is no restart");
	metrics_agent_hello(m, 7);
	c = traffic(3);
	ev.handshakes = 1;
	metrics_agent_stats(m, 7, 1 * S, &c, &ev);
	CHECK(rx(m, 0) == 163 && m->agents[0].restarts == 1,
	    "a restart (uptime back) keeps what the last process reached: 160 + 3");
	CHECK(m->agents[0].base_ev.handshakes + m->agents[0].last_ev.handshakes == 7,
	    "the tunnel events carry over too: 6 + 1");
	CHECK(m->agents[0].base.drops[COUNTERS_DROP_SPOOFED] +
		    m->agents[0].last.drops[COUNTERS_DROP_SPOOFED] ==
		16,
	    "drops by reason carry over");
	c = traffic(2);
	metrics_agent_stats(m, 7, 30 * S, &c, &ev);
	CHECK(rx(m, 0) == 165 && m->agents[0].restarts == 2,
	    "a restart seen only by a count going back (its uptime passed the last) is one too");
	c = traffic(50);
	metrics_agent_stats(m, 9, 5 * S, &c, NULL);
	CHECK(m->nagents == 2 && rx(m, 1) == 50 && m->agents[1].last_ev.handshakes == 0,
	    "another agent is kept apart; an older agent without events reports none");
	c = traffic(200);
	ev.handshake_failures[1] = 4;
	metrics_agent_stats(m, 7, 40 * S, &c, &ev);
	c = traffic(210);
	ev.handshake_failures[1] = 1;
	ev.handshake_failures[2] = 9;
	metrics_agent_stats(m, 7, 45 * S, &c, &ev);
	CHECK(m->agents[0].restarts == 3 &&
		m->agents[0].base_ev.handshake_failures[1] +
			m->agents[0].last_ev.handshake_failures[1] ==
		    5,
	    "handshake failures by close code: one code going back is a restart, and the "
	    "count of that code carries over (4 + 1)");

	/* ---- tunnel events on the state channel ---- */
	{
		uint64_t closes[TUNEVENTS_CLOSES], failures[TUNEVENTS_CLOSES];
		State__TunnelEvents pb;
		struct tunevents back;

		tunevents_pb_from(&pb, &ev, closes, failures);
		tunevents_pb_to(&back, &pb);
		CHECK(pb.handshake_failures == 10 && back.handshake_failures[1] == 1 &&
			back.handshake_failures[2] == 9 &&
			tunevents_handshake_failures(&back) == 10,
		    "handshake failures by close code go over the channel, their sum beside");
		pb.n_handshake_failure_closes = 0;
		tunevents_pb_to(&back, &pb);
		CHECK(back.handshake_failures[TUNEVENTS_CLOSE_OTHER] == 10 &&
			back.handshake_failures[1] == 0,
		    "an older agent's failures, without codes, count as other");
	}

	/* ---- revocations ---- */
	metrics_revoked(m, "p-1", 1, 100 * S);
	metrics_revoked(m, "p-2", 0, 100 * S);
	CHECK(m->revocations == 2 && m->nrevoking == 1,
	    "both are counted; only the one with a live session waits for its close");
	metrics_session_closed(m, "p-2", 101 * S);
	CHECK_EQ_INT(m->revocation_latency.count, 0, "a close of another pssid times nothing");
	metrics_session_closed(m, "p-1", 100 * S + 40000000);
	CHECK(m->revocation_latency.count == 1 && m->revocation_latency.sum > 0.039 &&
		m->revocation_latency.sum < 0.041 && m->nrevoking == 0,
	    "the close of the revoked pssid's session is timed (40 ms) and the wait ends");
	metrics_session_closed(m, "p-1", 101 * S);
	CHECK_EQ_INT(m->revocation_latency.count, 1, "a second close is not timed again");
	metrics_revoked(m, "p-3", 1, 200 * S);
	metrics_revoked(m, "p-4", 1, 200 * S + METRICS_REVOKING_TTL_NS + 1);
	CHECK_EQ_INT(
	    m->nrevoking, 1, "a revocation whose session never closed is forgotten after the TTL");

	/* ---- HTTP ---- */
	metrics_http(m, &r1, 200, 0.002);
	metrics_http(m, &r1, 200, 0.003);
	metrics_http(m, &r1, 404, 0.001);
	metrics_http(m, NULL, 404, 0.001);
	CHECK(m->nroutes == 2 && m->routes[0].nstatus == 2 && m->routes[0].status[0].n == 2 &&
		m->routes[0].status[1].status == 404 && m->routes[0].latency.count == 3,
	    "requests by route and status, the latency of all of them");
	CHECK(m->routes[1].route == NULL && m->routes[1].status[0].n == 1,
	    "the requests no route matched are counted apart");
	metrics_http(m, &r1same, 200, 0.001);
	CHECK(m->nroutes == 2 && m->routes[0].status[0].n == 3,
	    "the same method and pattern in another route table is the same series");
	for (unsigned s = 100; s < 100 + METRICS_STATUSES_MAX + 3; s++)
		metrics_http(m, NULL, s, 0);
	CHECK(m->routes[1].nstatus == METRICS_STATUSES_MAX && m->routes[1].other_status == 4,
	    "statuses past the bound count as other (the label set stays bounded)");

	metrics_enrolled(m);
	metrics_enroll_failed(m, METRICS_ENROLL_TOKEN_GONE);
	CHECK(m->enrollments == 1 && m->enroll_failures[METRICS_ENROLL_TOKEN_GONE] == 1,
	    "enrollments and their failures by reason");
	CHECK(strcmp(metrics_enroll_fail_names[METRICS_ENROLL_ACK_GONE], "ack_gone") == 0,
	    "the reasons' names");

	/* ---- no registry ---- */
	metrics_http(NULL, &r1, 200, 0);
	metrics_enrolled(NULL);
	metrics_revoked(NULL, "p", 1, 0);
	metrics_session_closed(NULL, "p", 0);
	metrics_agent_hello(NULL, 1);
	metrics_agent_stats(NULL, 1, 0, &c, NULL);
	metrics_chan_frame(NULL, METRICS_IN);
	metrics_chan_error(NULL);
	CHECK(1, "a NULL registry takes every call");
	metrics_free(m);
	metrics_free(NULL);
	return check_done();
}
