/* The renewal schedule (75% of the lifetime, the margin before expiry, never in the past), the
 * retry backoff (doubling with jitter, bounded, the manager's Retry-After, ending before expiry),
 * and the renewer's thread boundary: a refresh against a manager that is not there runs on the
 * thread, the eventfd wakes the caller, and the result and the bundle come back. */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "../../agent/client/bundle.h"
#include "../../lib/mgrhttp.h"
#include "../../agent/client/renew.h"
#include "../../lib/clock.h"
#include "check.h"

static void
test_renew_at(void)
{
	CHECK_EQ_INT(renew_at(0, 3600, 0), 2700, "an hour's token at 45 min");
	CHECK_EQ_INT(renew_at(0, 60, 0), 30, "a minute's at 30 s (the margin)");
	CHECK_EQ_INT(renew_at(0, 100, 0), 70, "100 s: 30 s before expiry, earlier than 75%%");
	CHECK_EQ_INT(renew_at(0, 10, 0), 7, "10 s: 75%%, the margin does not fit");
	CHECK_EQ_INT(renew_at(0, 30, 0), 22, "30 s: 75%%");
	CHECK_EQ_INT(renew_at(1000, 4600, 4000), 4000, "late already: now");
	CHECK_EQ_INT(renew_at(0, 3600, 3700), 3700, "expired: now");
	CHECK_EQ_INT(renew_at(100, 100, 50), 50, "no lifetime: now");
	CHECK_EQ_INT(renew_at(200, 100, 50), 50, "negative lifetime: now");
}

static void
test_backoff(void)
{
	uint64_t ms;

	CHECK_EQ_INT(renew_backoff_ms(1, -1, 0, 3600, 0), 500, "first retry, no jitter: 0.5 s");
	ms = renew_backoff_ms(1, -1, 0, 3600, 0xffffffffu);
	CHECK(ms >= 500 && ms <= 1000, "first retry within 1 s (%llu)", (unsigned long long)ms);
	ms = renew_backoff_ms(3, -1, 0, 3600, 12345);
	CHECK(ms >= 2000 && ms <= 4000, "third retry 2..4 s (%llu)", (unsigned long long)ms);
	for (unsigned a = 1; a < 100; a++) {
		ms = renew_backoff_ms(a, -1, 0, 1u << 30, (uint32_t)a * 2654435761u);
		if (ms > RENEW_BACKOFF_MAX_MS || ms < RENEW_BACKOFF_MIN_MS / 2)
			break;
	}
	CHECK(ms <= RENEW_BACKOFF_MAX_MS, "never over 60 s (%llu)", (unsigned long long)ms);
	CHECK(renew_backoff_ms(40, -1, 0, 1u << 30, 0) >= 30000, "a late retry waits 30..60 s");
	CHECK_EQ_INT(renew_backoff_ms(1, 20, 0, 3600, 0), 20000, "Retry-After 20 s is honoured");
	CHECK_EQ_INT(
	    renew_backoff_ms(10, -1, 0, 40, 0), 25000, "ends 15 s before expiry (40 s left)");
	CHECK_EQ_INT(renew_backoff_ms(1, 600, 0, 40, 0), 25000,
	    "a long Retry-After still ends before expiry");
	CHECK_EQ_INT(renew_backoff_ms(3, -1, 7, 10, 0), 1500,
	    "a 10 s token failing at 7 s: within half the 3 s left");
	CHECK_EQ_INT(renew_backoff_ms(2, 30, 9, 10, 0), 500,
	    "the last second: half a second, whatever Retry-After says");
	CHECK_EQ_INT(renew_backoff_ms(10, -1, 100, 40, 0), 30000,
	    "expired: the plain step (the session is gone, the refresh may still help)");
}

static void
test_renewer(void)
{
	struct renewer_result res;
	struct renewer *rn = renewer_new();
	struct bundle b = {0};
	char path[4096];
	struct pollfd p;
	int n;

	snprintf(path, sizeof(path), "%s/renew.json", check_tmpdir());
	CHECK(rn != NULL, "renewer made");
	CHECK(renewer_take(rn, &res) < 0, "nothing to take before a start");
	b.access_token = strdup("a.b.c");
	b.refresh_token = strdup("snr_x");
	b.name = strdup("n");
	b.manager = strdup("http://127.0.0.1:1");
	strcpy(b.pssid, "6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11");
	b.access_token_expires_at = clock_unix() + 60;
	CHECK(renewer_start(rn, &b, path) == 0, "started");
	CHECK(renewer_busy(rn), "busy");
	CHECK(renewer_start(rn, &b, path) < 0, "a second start while busy is refused");
	p.fd = renewer_fd(rn);
	p.events = POLLIN;
	n = poll(&p, 1, 20000);
	CHECK(n == 1, "the eventfd turns readable");
	CHECK(renewer_take(rn, &res) == 0, "taken");
	CHECK(!renewer_busy(rn), "idle again");
	CHECK_EQ_INT(res.status, ENROLL_TRANSIENT, "an unreachable manager is transient");
	CHECK(strstr(res.message, "unreachable") != NULL, "message: %s", res.message);
	CHECK(strstr(res.message, "snr_x") == NULL, "no secret in the message");
	CHECK(strlen(b.refresh_request_id) == BUNDLE_REQUEST_ID_LEN,
	    "the request id stays pending for the retry");
	p.revents = 0;
	CHECK(poll(&p, 1, 0) == 0, "the eventfd is drained");
	bundle_free(&b);
	renewer_free(rn);
}

int
main(void)
{
	mgrhttp_init();
	test_renew_at();
	test_backoff();
	test_renewer();
	return check_done();
}
