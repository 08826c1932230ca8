/* The client's side of enrollment and token refresh (api.md "Enrollment"): join and ack, and
 * the exchange of the refresh token for a new access token, each written to the bundle file so
 * that no crash loses the client's identity.
 *
 * Crash windows, and why the order is what it is:
 * - join: the bundle (with its ack token) is on disk before the ack is sent. An ack without a
 *   saved bundle would consume the join token for an identity nobody kept; a saved bundle that
 *   was never acknowledged is worthless but harmless (the manager puts the join token back to
 *   issued after the ack deadline, and joining again replaces it).
 * - refresh: the refresh token rotates on every use. The bundle is saved with a fresh
 *   refresh_request_id before the request goes out; after a crash before the answer was saved,
 *   the next refresh sends the same (old) token with the same request id, and the manager
 *   answers the same successor instead of taking the token for a stolen copy.
 *
 * Blocking (HTTP): the event loop runs refreshes on the renewer's thread (renew.h). */
#ifndef CLIENT_ENROLL_H
#define CLIENT_ENROLL_H

#include <stddef.h>

struct bundle;

/* What came of a request to the manager, for the caller's next step. */
enum enroll_status {
	ENROLL_OK = 0,
	ENROLL_TRANSIENT, /* unreachable, busy, rate-limited, a local write failed: try later */
	ENROLL_REFUSED, /* the manager said no for good (revoked, token used or unknown) */
};

/* Enroll: POST /v1/join with join_token (and name, NULL for the join token's), save the bundle
 * to bundle_path (mode 0600) with manager_url and ca (NULL: the system's CAs; kept as an
 * absolute path) in it, POST /v1/join/ack, save it again without the ack members. An
 * acknowledged bundle already at bundle_path is never replaced (ENROLL_REFUSED); an
 * unacknowledged one is. A transient failure of the join is retried for a few seconds and of
 * the ack until shortly before its deadline. ENROLL_OK, or another status with a message for
 * the user in err (which says when a bundle was left unacknowledged). Nothing secret is ever
 * in err. */
enum enroll_status enroll_client_join(const char *manager_url, const char *ca,
    const char *join_token, const char *name, const char *bundle_path, char *err, size_t errlen);

/* Exchange b's refresh token for a new access token (POST /v1/token) and save b to
 * bundle_path. b->manager and b->ca say where. A pending b->refresh_request_id is sent again
 * with the same token; else a new one is made and saved before the request.
 * ENROLL_OK: b holds the new access token, expiry, refresh token (and the networks and agents
 * when the manager sent them) and no pending request id. err is "" — or, when only the final
 * save failed, a warning: b is right in memory, the file still holds the pending request id
 * (which the manager answers again), and the next refresh saves b before it sends anything.
 * ENROLL_TRANSIENT: nothing changed in b but maybe the pending request id; *retry_after (may be
 * NULL) is the manager's Retry-After in seconds, or -1. ENROLL_REFUSED: the refresh token is
 * dead (client revoked, token reused, enrollment not acknowledged): stop and enroll again. */
enum enroll_status enroll_client_refresh(
    struct bundle *b, const char *bundle_path, long *retry_after, char *err, size_t errlen);

#endif
