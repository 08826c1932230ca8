/* The server's connection-ID table (quic_cid.c): every CID it issued (and each client's initial
 * DCID) to its connection, for demultiplexing packets. A lib/hashtab table (SipHash with a
 * random key, since initial DCIDs are the client's choice); each connection lists its own
 * entries (quic_conn.cids) so they all go when it does. */
#ifndef AGENT_QUIC_CID_H
#define AGENT_QUIC_CID_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/hashtab.h"
#include "quic_conn.h"

struct quic_cid_table {
	struct hashtab t; /* of struct quic_cid_entry (quic_cid.c) by CID bytes */
};

/* An empty table in the caller's storage: 0, or -1 when out of memory (or of randomness for its
 * hash key). quic_cid_free() frees it (after every connection's entries are gone); it accepts a
 * zeroed table. */
int quic_cid_init(struct quic_cid_table *t);
void quic_cid_free(struct quic_cid_table *t);

/* The connection the len bytes of CID p lead to, or NULL. */
struct quic_conn *quic_cid_lookup(const struct quic_cid_table *t, const uint8_t *p, size_t len);

/* Map CID p (len bytes) to c: 0 (also when it is c's already), or -1 when another connection
 * has it, it is too long, or memory is short. */
int quic_cid_add(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len);

/* Remove CID p if it leads to c. */
void quic_cid_retire(struct quic_cid_table *t, struct quic_conn *c, const uint8_t *p, size_t len);

/* Remove every CID of c. */
void quic_cid_forget(struct quic_cid_table *t, struct quic_conn *c);

#endif
