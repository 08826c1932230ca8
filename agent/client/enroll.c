#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/secret.h"
#include "bundle.h"
#include "enroll.h"
#include "../../lib/mgrhttp.h"

#define JOIN_ATTEMPTS 4
#define RETRY_SLEEP_MAX 5 /* s: the longest a blocking join waits between tries */

static enum enroll_status __attribute__((format(printf, 4, 5)))
say(enum enroll_status st, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return st;
}

static enum enroll_status
status_of(enum mgrhttp_class c)
{
	return c == MGRHTTP_OK     ? ENROLL_OK
	    : c == MGRHTTP_REFUSED ? ENROLL_REFUSED
				   : ENROLL_TRANSIENT;
}

static void
sleep_s(long s)
{
	struct timespec ts = {.tv_sec = s};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The wait before try n (1, 2, ...): the manager's Retry-After when it gave one, else 1, 2, 4 s,
 * never more than RETRY_SLEEP_MAX. */
static long
retry_wait(const struct mgrhttp_reply *r, unsigned n)
{
	long s = r->retry_after >= 0 ? r->retry_after : 1L << (n < 3 ? n - 1 : 2);

	return s < 1 ? 1 : s > RETRY_SLEEP_MAX ? RETRY_SLEEP_MAX : s;
}

/* Refuse to overwrite what may be the only copy of an identity: a bundle that was acknowledged,
 * or a file we cannot read as a bundle. An unacknowledged bundle is worthless and may go. */
static enum enroll_status
check_target(const char *path, char *err, size_t errlen)
{
	struct bundle old;
	struct stat st;
	char why[512];
	int acked;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return ENROLL_OK;
		return say(ENROLL_REFUSED, err, errlen, "bundle %s: %s", path, strerror(errno));
	}
	if (bundle_load(path, &old, why, sizeof(why)) < 0) {
		bundle_free(&old);
		return say(ENROLL_REFUSED, err, errlen,
		    "%s exists and is no bundle this client can read (%s); move it away first",
		    path, why);
	}
	acked = old.ack_token == NULL;
	bundle_free(&old);
	if (acked)
		return say(ENROLL_REFUSED, err, errlen,
		    "%s holds an enrolled client already (pssid kept there); move it away or "
		    "choose another --bundle",
		    path);
	return ENROLL_OK;
}

static int
url_valid(const char *url)
{
	return url != NULL && strlen(url) <= BUNDLE_URL_MAX &&
	    ((strncmp(url, "http://", 7) == 0 && url[7] != '\0') ||
		(strncmp(url, "https://", 8) == 0 && url[8] != '\0'));
}

/* POST /v1/join/ack until it is answered, or until shortly before the ack deadline. */
static enum enroll_status
ack(const struct bundle *b, const char *path, char *err, size_t errlen)
{
	struct mgrhttp_reply r;
	enum mgrhttp_class c;

	for (unsigned n = 1;; n++) {
		c = mgrhttp_post(b->manager, b->ca, "/v1/join/ack",
		    json_pack("{s:s}", "ack_token", b->ack_token), "the ack token", &r);
		if (c == MGRHTTP_OK) {
			mgrhttp_reply_free(&r);
			return ENROLL_OK;
		}
		if (c == MGRHTTP_REFUSED || clock_unix() + retry_wait(&r, n) + 2 > b->ack_deadline)
			break;
		sleep_s(retry_wait(&r, n));
		mgrhttp_reply_free(&r);
	}
	say(status_of(c), err, errlen,
	    "%s; the bundle saved in %s was not acknowledged and is worthless (join again with "
	    "the same token after %lld s, when the manager has put it back)",
	    r.message, path, (long long)(b->ack_deadline - clock_unix() + 1));
	mgrhttp_reply_free(&r);
	return status_of(c);
}

enum enroll_status
enroll_client_join(const char *manager_url, const char *ca, const char *join_token,
    const char *name, const char *bundle_path, char *err, size_t errlen)
{
	char why[512], cabuf[PATH_MAX];
	struct mgrhttp_reply r = {0};
	struct bundle b = {0};
	enum enroll_status st;
	enum mgrhttp_class c;
	char shown[256];
	json_t *req;

	if (!url_valid(manager_url))
		return say(ENROLL_REFUSED, err, errlen,
		    "--manager \"%.100s\" is not an http:// or https:// URL",
		    mgrhttp_url_shown(manager_url, shown, sizeof(shown)));
	if (join_token == NULL || join_token[0] == '\0' || strlen(join_token) > BUNDLE_TOKEN_MAX)
		return say(ENROLL_REFUSED, err, errlen, "no join token given");
	/* The bundle is used from wherever the client is started later. */
	if (ca != NULL && realpath(ca, cabuf) == NULL)
		return say(ENROLL_REFUSED, err, errlen, "--ca %s: %s", ca, strerror(errno));
	if ((st = check_target(bundle_path, err, errlen)) != ENROLL_OK)
		return st;
	for (unsigned n = 1;; n++) {
		req = name != NULL ? json_pack("{s:s, s:s}", "token", join_token, "name", name)
				   : json_pack("{s:s}", "token", join_token);
		c = mgrhttp_post(
		    manager_url, ca != NULL ? cabuf : NULL, "/v1/join", req, "the join token", &r);
		if (c != MGRHTTP_TRANSIENT || n == JOIN_ATTEMPTS)
			break;
		sleep_s(retry_wait(&r, n));
		mgrhttp_reply_free(&r);
	}
	if (c != MGRHTTP_OK) {
		st = say(status_of(c), err, errlen, "%s", r.message);
		goto out;
	}
	if (bundle_from_join(r.body, clock_unix(), &b, why, sizeof(why)) < 0) {
		st = say(ENROLL_TRANSIENT, err, errlen,
		    "the manager's join answer is not a bundle: %s; nothing was acknowledged", why);
		goto out;
	}
	if ((b.manager = strdup(manager_url)) == NULL ||
	    (ca != NULL && (b.ca = strdup(cabuf)) == NULL)) {
		st = say(ENROLL_TRANSIENT, err, errlen, "out of memory");
		goto out;
	}
	/* First on disk, then acknowledged: see enroll.h. */
	if (bundle_save(bundle_path, &b, why, sizeof(why)) < 0) {
		st = say(ENROLL_TRANSIENT, err, errlen,
		    "%s; nothing was acknowledged: the join token goes back to the manager's pool "
		    "after its ack deadline",
		    why);
		goto out;
	}
	if ((st = ack(&b, bundle_path, err, errlen)) != ENROLL_OK)
		goto out;
	free(b.ack_token);
	b.ack_token = NULL;
	b.ack_deadline = 0;
	if (bundle_save(bundle_path, &b, why, sizeof(why)) < 0) {
		/* Enrolled, but the file still says otherwise: the user must know. */
		st = say(ENROLL_TRANSIENT, err, errlen,
		    "enrolled as %s, but %s: the bundle still holds the (used) ack token; remove "
		    "the ack_token and ack_deadline members by hand",
		    b.pssid, why);
		goto out;
	}
	st = ENROLL_OK;
	err[0] = '\0';
out:
	mgrhttp_reply_free(&r);
	bundle_free(&b);
	return st;
}

/* A new refresh request id: 128 random bits in base64url. */
static int
request_id_new(char out[BUNDLE_REQUEST_ID_LEN + 1])
{
	unsigned char raw[16];

	if (secret_random(raw, sizeof(raw)) < 0)
		return -1;
	b64url_encode(raw, sizeof(raw), out);
	return 0;
}

/* A 400 naming request_id: a manager from before idempotent refreshes. */
static int
request_id_unknown(const struct mgrhttp_reply *r)
{
	const char *field = json_string_value(json_object_get(r->body, "field"));

	return r->status == 400 && field != NULL && strcmp(field, "request_id") == 0;
}

enum enroll_status
enroll_client_refresh(
    struct bundle *b, const char *bundle_path, long *retry_after, char *err, size_t errlen)
{
	struct mgrhttp_reply r = {0};
	enum enroll_status st;
	enum mgrhttp_class c;
	char why[512];
	int with_id = 1;

	if (retry_after != NULL)
		*retry_after = -1;
	err[0] = '\0';
	if (b->refresh_token == NULL || b->manager == NULL)
		return say(
		    ENROLL_REFUSED, err, errlen, "the bundle has no refresh token or manager");
	if (b->refresh_request_id[0] == '\0' && request_id_new(b->refresh_request_id) < 0)
		return say(ENROLL_TRANSIENT, err, errlen, "no random bytes for a request id");
	/* Before anything is sent: a crash from here on finds the id beside the old token. */
	if (bundle_save(bundle_path, b, why, sizeof(why)) < 0)
		return say(ENROLL_TRANSIENT, err, errlen, "%s; no refresh was sent", why);
	for (;;) {
		json_t *req = json_pack("{s:s}", "refresh_token", b->refresh_token);

		if (req != NULL && with_id)
			json_object_set_new(req, "request_id", json_string(b->refresh_request_id));
		c = mgrhttp_post(b->manager, b->ca, "/v1/token", req, "the refresh token", &r);
		if (c != MGRHTTP_REFUSED || !with_id || !request_id_unknown(&r))
			break;
		/* Such a manager changed nothing (a 400 never does): the same token once more,
		 * without the id, and without the protection it gives. */
		with_id = 0;
		mgrhttp_reply_free(&r);
	}
	if (c != MGRHTTP_OK) {
		if (retry_after != NULL)
			*retry_after = r.retry_after;
		if (c == MGRHTTP_REFUSED && r.status == 401)
			st = say(ENROLL_REFUSED, err, errlen,
			    "%s: the client was revoked, or its refresh token was used by someone "
			    "else (which revokes it); enroll again with a new join token",
			    r.message);
		else
			st = say(status_of(c), err, errlen, "%s", r.message);
		goto out;
	}
	if (bundle_apply_refresh(b, r.body, clock_unix(), why, sizeof(why)) < 0) {
		/* The manager has rotated the token; the pending id gets the same answer again. */
		st = say(ENROLL_TRANSIENT, err, errlen, "the manager's token answer is invalid: %s",
		    why);
		goto out;
	}
	st = ENROLL_OK;
	if (bundle_save(bundle_path, b, why, sizeof(why)) < 0)
		say(ENROLL_OK, err, errlen,
		    "%s; the new refresh token is kept in memory and saved before the next refresh",
		    why);
out:
	mgrhttp_reply_free(&r);
	return st;
}
