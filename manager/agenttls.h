/* The state channel over the network (proto/README.md §2.8): a TCP listener beside the UNIX
 * socket, TLS 1.3 only, for agents on other hosts. The manager presents its certificate (made
 * in the state dir on first start, or given) whose SPKI pin agents are enrolled with; an agent
 * must present a client certificate whose SPKI pin is an enrolled, unrevoked agent's
 * (db/agentcred.h). A connection whose certificate is not is dropped right after the handshake,
 * before it may say anything and before anything is sent to it. A known one gets the channel
 * under its agent's own channel key, its frames accepted only from its agent id. Part of the
 * channel server (agentconn.h); off unless --agent-listen is given. */
#ifndef MANAGER_AGENTTLS_H
#define MANAGER_AGENTTLS_H

#include "../lib/loop.h"
#include "../lib/tlscert.h"

struct agentlink;
struct agentconn;
struct agenttls;

#define AGENTTLS_CERT_FILE "agent-tls.crt"
#define AGENTTLS_KEY_FILE "agent-tls.key"

struct agenttls_config {
	const char *listen; /* "HOST:PORT", numeric ("[::]:7443"); NULL: off */
	const char *cert_file, *key_file; /* NULL: <state_dir>/AGENTTLS_CERT_FILE and _KEY_FILE */
	const char *advertise; /* "HOST:PORT" agents dial (enrollment answers); NULL: listen's */
};

/* Listen on cfg->listen for l (on l->loop), with the certificate (created when it is the state
 * dir's and missing); a connection past its handshake is handed to conn_ready (the channel
 * server's handler: passed in, so that this part never calls up into it). Setup errors are
 * fatal. Free with agenttls_close() (NULL is fine); the connections it accepted are l's and
 * dropped by agentlink_close(). */
struct agenttls *agenttls_open(struct agentlink *l, const struct agenttls_config *cfg,
    const char *state_dir, loop_fd_fn *conn_ready);
void agenttls_close(struct agenttls *t);

/* The manager's SPKI pin (base64), and the address agents dial: cfg->advertise, or the address
 * bound ("1.2.3.4:7443"). */
const char *agenttls_pin(const struct agenttls *t);
const char *agenttls_address(const struct agenttls *t);

/* Go on with c's handshake (c in AGENTCONN_TLS, ready for what it waited for); once done, let
 * it on as its enrolled agent (agentconn_start) or drop it. */
void agenttls_step(struct agentconn *c);

#endif
