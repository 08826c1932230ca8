/* The enrollment bundle: what the manager's POST /v1/join answers (api.md "Enrollment") plus
 * what the client keeps beside it (the manager it came from, the CA that manager is checked
 * against, a refresh in flight, the last address it had), in one JSON file of mode 0600.
 *
 * One in-memory model, struct bundle, with three conversions: from a join answer
 * (bundle_from_join), from and to the file (bundle_load / bundle_save), and the refresh
 * answer folded in (bundle_apply_refresh). Every member read from outside is checked and
 * bounded; a message names the member and quotes what was wrong with it. */
#ifndef CLIENT_BUNDLE_H
#define CLIENT_BUNDLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/addr.h"
#include "../../lib/pssid.h"

#define BUNDLE_FILE_MAX 65536 /* bytes of a bundle file (a manager's answer: MGRHTTP_ANSWER_MAX) */
#define BUNDLE_AGENTS_MAX 16
#define BUNDLE_NETWORKS_MAX 16
#define BUNDLE_ROUTES_MAX 64
#define BUNDLE_PIN_LEN 32 /* SHA-256 of the agent certificate's SubjectPublicKeyInfo */
#define BUNDLE_ADDRESS_MAX 261 /* "[" host (a DNS name: 253) "]:" port */
#define BUNDLE_POOL_MAX 256 /* a pool name (64 characters of UTF-8) or id */
#define BUNDLE_TOKEN_MAX 8192 /* bytes of an access, refresh or ack token */
#define BUNDLE_URL_MAX 2048
/* A refresh request id: 22 base64url characters (128 random bits). */
#define BUNDLE_REQUEST_ID_LEN 22

/* One agent the client may dial, as the manager listed it. */
struct bundle_agent {
	int64_t id;
	char address[BUNDLE_ADDRESS_MAX + 1]; /* "HOST:PORT" or "[HOST]:PORT" */
	unsigned char spki_pin[BUNDLE_PIN_LEN];
};

/* One pool the client may get an address from, with what it routes into the tunnel. */
struct bundle_network {
	char pool[BUNDLE_POOL_MAX + 1]; /* the pool's name, or its id as decimal text */
	uint64_t isd_as;
	int family; /* 4 or 6, the prefix's */
	struct prefix prefix;
	int has_gateway; /* 0: "gateway" null, the agent has no address in the pool */
	struct addr gateway;
	/* "mode" "scion": the pool's tunnels carry SCION packets, which a TUN device cannot (an
	 * application with its own SCION stack uses --relay); absent or "ip": IP packets */
	int scion;
	size_t nroutes;
	struct prefix routes[BUNDLE_ROUTES_MAX]; /* reachable behind the gateway */
};

/* Strings are heap copies owned by the bundle (NULL: absent); bundle_free frees them and wipes
 * the secrets. A zeroed struct is an empty bundle. */
struct bundle {
	char pssid[PSSID_MAX + 1];
	char *name;
	char *access_token;
	int64_t access_token_expires_at; /* Unix seconds */
	/* When the client received the access token (Unix seconds): the start of its lifetime
	 * for the renewal schedule, kept in the file so that a restart renews on time. */
	int64_t access_token_received_at;
	char *refresh_token;
	size_t nagents;
	struct bundle_agent agents[BUNDLE_AGENTS_MAX];
	size_t nnetworks;
	struct bundle_network networks[BUNDLE_NETWORKS_MAX];
	/* Present only between POST /v1/join and its ack: a bundle that still has them was never
	 * acknowledged, and is worthless (the manager refuses it). */
	char *ack_token;
	int64_t ack_deadline;
	/* The client's own members. */
	char *manager; /* the manager's base URL ("https://mgr.example:8443") */
	char *ca; /* the CA file that manager's certificate is checked against; NULL: system */
	/* A refresh sent and not yet answered (or its answer not yet saved): "" when none.
	 * The next refresh sends the same refresh token with this id again, and the manager
	 * answers the same successor instead of treating the token as reused. */
	char refresh_request_id[BUNDLE_REQUEST_ID_LEN + 1];
	int has_last_address; /* the address the client last had, asked for again */
	uint64_t last_isd_as;
	struct addr last_address;
};

/* Free the bundle's strings, wiping the secrets first, and zero it. NULL is fine. */
void bundle_free(struct bundle *b);

/* Read the bundle file at path into *b (which is overwritten: bundle_free it afterwards, also
 * on failure). Refuses a file over BUNDLE_FILE_MAX, a symlink, and a bundle readable or
 * writable by group or others (it holds the refresh token: "chmod 600 FILE" says the message).
 * 0, or -1 with a message naming the file and the member in err. */
int bundle_load(const char *path, struct bundle *b, char *err, size_t errlen);

/* Write *b to path atomically with mode 0600 (lib/atomicfile.h): after a crash the file is the
 * old bundle or the new one, never a mix. 0, or -1 with a message in err. */
int bundle_save(const char *path, const struct bundle *b, char *err, size_t errlen);

/* Parse the text of a bundle file (len bytes, not NUL-terminated) into *b, as bundle_load does
 * after reading it: the parser the fuzz harness drives. 0, or -1 with a message in err. */
int bundle_parse(const char *text, size_t len, struct bundle *b, char *err, size_t errlen);

/* The bundle as JSON text (malloc'd, NUL-terminated; NULL when out of memory). Holds secrets:
 * the caller wipes and frees it. */
char *bundle_dump(const struct bundle *b);

/* Fill *b (zeroed first) from a POST /v1/join answer: pssid, name, access_token,
 * access_token_expires_at, refresh_token, agents, ack_token, ack_deadline, and networks when
 * the manager sends them. Unknown members are ignored (a newer manager may add some).
 * received_at is the wall time of the answer. 0, or -1 with a message naming the member. */
int bundle_from_join(
    const json_t *answer, int64_t received_at, struct bundle *b, char *err, size_t errlen);

/* Fold a POST /v1/token answer (access_token, access_token_expires_at, refresh_token, and
 * networks when present; agents when present) into *b, all or nothing, and clear
 * refresh_request_id. 0, or -1 with a message (b unchanged). */
int bundle_apply_refresh(
    struct bundle *b, const json_t *answer, int64_t received_at, char *err, size_t errlen);

/* The SPKI pin of agent i in its text form (standard base64, 44 characters) into buf (45
 * bytes). */
void bundle_pin_text(const struct bundle_agent *a, char buf[45]);

#endif
