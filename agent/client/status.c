/* The status snapshot's two renderings: text for people, JSON for scripts. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/clock.h"
#include "../../lib/isdas.h"
#include "status.h"

const char *
status_state_str(enum status_state s)
{
	switch (s) {
	case STATUS_CONNECTING: return "connecting";
	case STATUS_HANDSHAKING: return "handshaking";
	case STATUS_UP: return "up";
	case STATUS_RECONNECTING: return "reconnecting";
	case STATUS_STOPPING: return "stopping";
	}
	return "unknown";
}

static ssize_t
render_json(const struct status *st, char *out, size_t cap)
{
	const struct status_counters *c = &st->counters;
	char a[ADDR_STRLEN], ia[ISDAS_STRLEN], until[CLOCK_RFC3339_LEN + 1];
	json_t *o, *cnt;
	size_t n;

	if (st->addr.family != 0) {
		addr_format(&st->addr, a);
		isdas_format(st->isd_as, ia);
	}
	clock_rfc3339(st->valid_until, until, sizeof(until));
	cnt = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "tx_packets",
	    (json_int_t)c->tx_packets, "tx_bytes", (json_int_t)c->tx_bytes, "rx_packets",
	    (json_int_t)c->rx_packets, "rx_bytes", (json_int_t)c->rx_bytes, "drop_too_big",
	    (json_int_t)c->drop_too_big, "drop_blocked", (json_int_t)c->drop_blocked, "drop_down",
	    (json_int_t)c->drop_down, "drop_local", (json_int_t)c->drop_local);
	o = json_pack("{s:s,s:s?,s:s?,s:{s:s,s:s},s:s?,s:I,s:s,s:i,s:i,s:o,s:s?}", "state",
	    status_state_str(st->state), "address", st->addr.family != 0 ? a : NULL, "isd_as",
	    st->addr.family != 0 ? ia : NULL, "agent", "id", st->agent_id, "address",
	    st->agent_address, "session_expires_at", st->valid_until > 0 ? until : NULL,
	    "session_valid_until", (json_int_t)st->valid_until, "device", st->device, "mtu",
	    (int)st->mtu, "reconnects", (int)st->reconnects, "counters", cnt, "last_error",
	    st->last_error[0] != '\0' ? st->last_error : NULL);
	if (o == NULL)
		return -1;
	n = json_dumpb(o, out, cap, JSON_COMPACT);
	json_decref(o);
	if (n == 0 || n + 2 > cap)
		return -1;
	out[n++] = '\n';
	out[n] = '\0';
	return (ssize_t)n;
}

ssize_t
status_render(const struct status *st, int json, char *out, size_t cap)
{
	const struct status_counters *c = &st->counters;
	char a[ADDR_STRLEN] = "-", ia[ISDAS_STRLEN] = "-", until[CLOCK_RFC3339_LEN + 1] = "-";
	int n;

	if (json)
		return render_json(st, out, cap);
	if (st->addr.family != 0) {
		addr_format(&st->addr, a);
		isdas_format(st->isd_as, ia);
	}
	if (st->valid_until > 0)
		clock_rfc3339(st->valid_until, until, sizeof(until));
	n = snprintf(out, cap,
	    "state: %s\naddress: %s\nisd_as: %s\nagent: %s%s%s\nsession expires: %s\n"
	    "device: %s\nmtu: %u\nreconnects: %u\n"
	    "tx: %llu packets, %llu bytes\nrx: %llu packets, %llu bytes\n"
	    "dropped: too_big %llu, blocked %llu, down %llu, local %llu\nlast error: %s\n",
	    status_state_str(st->state), a, ia, st->agent_id[0] ? st->agent_id : "",
	    st->agent_id[0] ? " " : "", st->agent_address[0] ? st->agent_address : "-", until,
	    st->device, st->mtu, st->reconnects, (unsigned long long)c->tx_packets,
	    (unsigned long long)c->tx_bytes, (unsigned long long)c->rx_packets,
	    (unsigned long long)c->rx_bytes, (unsigned long long)c->drop_too_big,
	    (unsigned long long)c->drop_blocked, (unsigned long long)c->drop_down,
	    (unsigned long long)c->drop_local, st->last_error[0] ? st->last_error : "-");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
