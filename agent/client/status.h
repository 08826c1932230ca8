/* What `snaptun-client status` shows: one snapshot of the running client, gathered once by the
 * session and the pump, rendered as text lines or as one JSON object (the control socket sends
 * either). */
#ifndef CLIENT_STATUS_H
#define CLIENT_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../lib/addr.h"

#define STATUS_TEXT_MAX 256 /* agent ids and addresses, error texts: longer ones are cut */

enum status_state {
	STATUS_CONNECTING, /* opening the QUIC connection (first attempt) */
	STATUS_HANDSHAKING, /* QUIC up, renew_session / assign_addresses in progress */
	STATUS_UP, /* an address is assigned: packets flow */
	STATUS_RECONNECTING, /* the connection dropped (or failed): waiting to try again */
	STATUS_STOPPING, /* closing on a signal, `down` or a fatal refusal */
};

/* The pump's traffic counters. rx: from the tunnel (written to the TUN or the relay peer); tx:
 * into the tunnel. Drops by reason, each packet counted once. */
struct status_counters {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t drop_too_big; /* larger than the datagram room (answered with ICMP in TUN mode) */
	uint64_t drop_blocked; /* the QUIC send queue was full */
	uint64_t drop_down; /* no tunnel at the moment (connecting, reconnecting) */
	uint64_t drop_local; /* the TUN or the relay socket refused a packet from the tunnel */
};

struct status {
	enum status_state state;
	struct addr addr; /* family 0: none assigned yet */
	uint64_t isd_as;
	char agent_id[STATUS_TEXT_MAX]; /* "" without a bundle */
	char agent_address[STATUS_TEXT_MAX]; /* HOST:PORT of the agent connected or tried */
	int64_t valid_until; /* Unix seconds the session is valid through; 0 unknown */
	char device[STATUS_TEXT_MAX]; /* TUN device name, or "relay HOST:PORT" */
	unsigned mtu; /* datagram room = TUN MTU; 0 when down */
	unsigned reconnects; /* connections lost or failed since the start */
	struct status_counters counters;
	char last_error[STATUS_TEXT_MAX]; /* "" when none */
};

const char *status_state_str(enum status_state s);

/* Render st as "key: value" lines (json 0) or as one JSON object and a newline (json 1) into
 * out (cap bytes, NUL-terminated). Returns the length, or -1 when cap is too small. */
ssize_t status_render(const struct status *st, int json, char *out, size_t cap);

#endif
