/* The part of a SCION AS's topology file (scionproto's topology.json) the gateway needs: the AS's
 * ISD-AS and its border routers, each with its internal address (where packets leaving the AS
 * by one of its interfaces are sent over the AS's network) and the IDs of its interfaces:
 *
 *   {"isd_as": "1-ff00:0:110",
 *    "border_routers": {"br1": {"internal_addr": "10.0.0.9:31002",
 *                               "interfaces": {"1": {...}, "7": {...}}}, ...}, ...}
 *
 * Every other member (control service, MTU, the interfaces' own contents) is left alone. The
 * file is the operator's, read once at start, never input from the network (so it has no fuzz
 * harness; jansson parses the JSON); the parser still bounds it (SCION_TOPO_FILE_MAX bytes,
 * SCION_TOPO_ROUTERS_MAX routers, SCION_TOPO_IFS_MAX interfaces) and names the member and quotes
 * the value of every error. */
#ifndef AGENT_SCION_TOPO_H
#define AGENT_SCION_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/addr.h"

#define SCION_TOPO_FILE_MAX (1 << 20)
#define SCION_TOPO_ROUTERS_MAX 256
#define SCION_TOPO_IFS_MAX 4096
#define SCION_TOPO_NAME_MAX 64

struct scion_topo_router {
	char name[SCION_TOPO_NAME_MAX + 1];
	struct addr host; /* internal_addr */
	uint16_t port;
};

/* An interface of the AS and the router that owns it. */
struct scion_topo_if {
	uint16_t ifid; /* 1..65535: a hop field's interface is 16 bits */
	unsigned router; /* index into routers */
};

struct scion_topo {
	uint64_t isd_as;
	size_t nrouters;
	struct scion_topo_router *routers;
	size_t nifs;
	struct scion_topo_if *ifs; /* sorted by ifid, each once */
};

/* Parse the len bytes of text into *t (the caller frees it with scion_topo_free(), also on
 * failure). 0, or -1 with the reason in why (whylen bytes): not JSON, a required member missing
 * or of the wrong type ("isd_as", "border_routers", "border_routers.NAME.internal_addr",
 * "border_routers.NAME.interfaces"), an ISD-AS with a zero part, an internal address that is
 * not a numeric HOST:PORT with a port, an interface ID that is not 1..65535 or is claimed by
 * two routers, no router at all, more than the bounds. */
int scion_topo_parse(const char *text, size_t len, struct scion_topo *t, char *why, size_t whylen);

/* scion_topo_parse() of the file at path (at most SCION_TOPO_FILE_MAX bytes); the reason names
 * the file. */
int scion_topo_load(const char *path, struct scion_topo *t, char *why, size_t whylen);

void scion_topo_free(struct scion_topo *t);

/* The router owning interface ifid: its index, or -1. */
int scion_topo_router_of(const struct scion_topo *t, uint16_t ifid);

#endif
