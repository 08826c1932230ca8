/* Requests to the manager's public enrollment API (api.md "Enrollment", "Remote agents"): one
 * JSON POST over http or https with libcurl, bounded in time and size, answered with the status
 * and the parsed body. Blocking: the endhost client runs it on its renewer's thread
 * (agent/client/renew.h), `snaptun-agent enroll` once before anything else.
 *
 * Secrets travel only in request bodies, which are never logged; messages name the path and
 * the manager's own problem detail, never a token. */
#ifndef LIB_MGRHTTP_H
#define LIB_MGRHTTP_H

#include <jansson.h>

#define MGRHTTP_TIMEOUT_MS 15000 /* one request, connection included */
#define MGRHTTP_ANSWER_MAX 65536 /* bytes of an answer (a bundle, an agent's credentials) */

/* What became of one request. */
enum mgrhttp_class {
	MGRHTTP_OK, /* 2xx */
	MGRHTTP_REFUSED, /* 4xx other than 408 and 429: asking again will not help */
	MGRHTTP_TRANSIENT, /* no answer, 408, 429, 5xx: ask again later */
};

struct mgrhttp_reply {
	enum mgrhttp_class class;
	long status; /* HTTP status; 0 when none came */
	json_t *body; /* the parsed JSON body, or NULL (none, empty, not JSON) */
	long retry_after; /* seconds from Retry-After (429, 503); -1 when absent */
	/* One line for the user: on failure "manager refused the join token (410): the join
	 * token is consumed", "manager unreachable: Connection refused", ... */
	char message[512];
};

/* url as it may be shown in a log or message: a user:password@ in it becomes ***@. Written
 * into buf (cap bytes, cut to fit), which is returned. */
const char *mgrhttp_url_shown(const char *url, char *buf, size_t cap);

/* Call once before any request and before threads start (curl_global_init); 0 or -1. */
int mgrhttp_init(void);

/* POST body (JSON, consumed: decref'd here) to manager_url + path ("/v1/join"). ca: the CA file
 * that an https manager's certificate is checked against (NULL: the system's); certificate
 * and host name checks are never off. what names the request in messages ("the join token",
 * "the refresh token"). Fills *r (release with mgrhttp_reply_free) and returns r->class. The
 * answer is bounded to MGRHTTP_ANSWER_MAX bytes (a longer one is a transient failure). */
enum mgrhttp_class mgrhttp_post(const char *manager_url, const char *ca, const char *path,
    json_t *body, const char *what, struct mgrhttp_reply *r);

void mgrhttp_reply_free(struct mgrhttp_reply *r);

/* End the request running now on any thread at once (a transient failure, "cancelled"), and
 * every later one before it is sent: the process is stopping. Safe from any thread; final. */
void mgrhttp_cancel(void);

#endif
