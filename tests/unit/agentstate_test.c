/* The agent's cached manager state (agent/state.h): keys from PEM with their algorithm pinned,
 * verify_until, retirement; the revoked-pssid set across growth; grants, pools and limits; and
 * the session arithmetic (agent/session.h): ids strictly increasing, expiry deadlines exactly at
 * the first instant past exp. */
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/session.h"
#include "../../agent/state.h"
#include "../../lib/err.h"
#include "check.h"

#define NOW 1790000000
#define NS 1000000000ull

static struct jwt_signer *signer;
static char pem[512];

/* The signer's public key as PEM SubjectPublicKeyInfo (the Ed25519 SPKI prefix + raw key). */
static void
make_pem(void)
{
	static const unsigned char prefix[12] = {
	    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	unsigned char der[44];
	gnutls_datum_t in = {der, sizeof(der)}, out;

	memcpy(der, prefix, sizeof(prefix));
	memcpy(der + sizeof(prefix), signer->pub, 32);
	if (gnutls_pem_base64_encode2("PUBLIC KEY", &in, &out) < 0)
		exit(2);
	snprintf(pem, sizeof(pem), "%.*s", (int)out.size, (const char *)out.data);
	gnutls_free(out.data);
}

static size_t
token(const char *pssid, int64_t exp, char *out, size_t cap)
{
	struct jwt_claims c;

	memset(&c, 0, sizeof(c));
	snprintf(c.pssid, sizeof(c.pssid), "%s", pssid);
	c.exp = exp;
	return (size_t)jwt_sign(signer, &c, out, cap);
}

static int
apply_key(struct state *st, const char *kid, const char *alg, const char *p, int64_t until)
{
	State__Key k;

	state__key__init(&k);
	k.kid = (char *)(uintptr_t)kid;
	k.alg = (char *)(uintptr_t)alg;
	k.public_key_pem = (char *)(uintptr_t)p;
	k.verify_until = until;
	return state_key_put(st, &k);
}

static void
test_keys(void)
{
	struct state *st = state_new();
	struct jwt_claims cl;
	char tok[JWT_TOKEN_MAX + 1];
	size_t n = token("4c1e7d2a-9b3f-4e6a-8d5c-0f1e2d3c4b5a", NOW + 60, tok, sizeof(tok));

	CHECK(st != NULL, "state_new");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW, &cl), JWT_ERR_UNKNOWN_KEY,
	    "no keys: the token is refused");
	CHECK_EQ_INT(apply_key(st, "k1", "ES256", pem, 0), ERR_INVALID,
	    "a key whose type is not the algorithm named is refused");
	CHECK_EQ_INT(apply_key(st, "k1", "EdDSA", "garbage", 0), ERR_INVALID, "bad PEM refused");
	CHECK_EQ_INT(st->nkeys, 0, "nothing kept of refused keys");
	CHECK_EQ_INT(apply_key(st, "k1", "EdDSA", pem, 0), 0, "KEY k1 applied");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW, &cl), 0, "token verifies with k1");
	CHECK(strcmp(cl.pssid, "4c1e7d2a-9b3f-4e6a-8d5c-0f1e2d3c4b5a") == 0 && cl.exp == NOW + 60,
	    "claims");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW + 61, &cl), JWT_ERR_EXPIRED, "expired");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW + 60, &cl), 0, "valid at exp exactly");

	CHECK_EQ_INT(apply_key(st, "k1", "EdDSA", pem, NOW - 1), 0, "k1 again, retiring");
	CHECK_EQ_INT(st->nkeys, 1, "same kid replaced, not added");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW, &cl), JWT_ERR_UNKNOWN_KEY,
	    "past its verify_until the key verifies nothing");
	CHECK_EQ_INT(state_verify_token(st, tok, n, NOW - 1, &cl), 0, "up to verify_until it does");

	CHECK_EQ_INT(state_key_retire(st, "k1"), 0, "KEY_RETIRE k1");
	CHECK_EQ_INT(st->nkeys, 0, "gone");
	CHECK(state_verify_token(st, tok, n, NOW - 1, &cl) < 0, "token refused after retirement");
	CHECK_EQ_INT(state_key_retire(st, "nope"), 0, "retiring an unknown kid: 0");
	state_free(st);
}

/* A key pushed with pins verifies only tokens that carry them. */
static void
test_key_pins(void)
{
	struct state *st = state_new();
	struct jwt_claims c, cl;
	char tok[JWT_TOKEN_MAX + 1];
	State__Key k;
	ssize_t n;

	state__key__init(&k);
	k.kid = (char *)(uintptr_t) "k1";
	k.alg = (char *)(uintptr_t) "EdDSA";
	k.public_key_pem = pem;
	k.pinned_iss = (char *)(uintptr_t) "a b";
	CHECK(st != NULL, "state_new");
	CHECK_EQ_INT(state_key_put(st, &k), ERR_INVALID, "a key with an invalid pin is refused");
	CHECK_EQ_INT(st->nkeys, 0, "  nothing kept");
	k.pinned_iss = (char *)(uintptr_t) "https://idp.example";
	k.pinned_aud = (char *)(uintptr_t) "snaptun";
	CHECK_EQ_INT(state_key_put(st, &k), 0, "KEY k1 pinned to an iss and an aud");
	memset(&c, 0, sizeof(c));
	snprintf(c.pssid, sizeof(c.pssid), "4c1e7d2a-9b3f-4e6a-8d5c-0f1e2d3c4b5a");
	c.exp = NOW + 60;
	snprintf(c.iss, sizeof(c.iss), "https://idp.example");
	snprintf(c.aud, sizeof(c.aud), "snaptun");
	n = jwt_sign(signer, &c, tok, sizeof(tok));
	CHECK_EQ_INT(state_verify_token(st, tok, (size_t)n, NOW, &cl), 0, "its tokens verify");
	snprintf(c.aud, sizeof(c.aud), "other");
	n = jwt_sign(signer, &c, tok, sizeof(tok));
	CHECK_EQ_INT(state_verify_token(st, tok, (size_t)n, NOW, &cl), JWT_ERR_AUD,
	    "one for another audience is refused");
	c.iss[0] = '\0';
	n = jwt_sign(signer, &c, tok, sizeof(tok));
	CHECK_EQ_INT(state_verify_token(st, tok, (size_t)n, NOW, &cl), JWT_ERR_ISS,
	    "one without iss is refused");
	k.pinned_iss = k.pinned_aud = (char *)(uintptr_t) "";
	CHECK_EQ_INT(state_key_put(st, &k), 0, "KEY k1 again without pins");
	CHECK_EQ_INT(state_verify_token(st, tok, (size_t)n, NOW, &cl), 0, "  then it verifies");
	state_free(st);
}

static void
test_revoked(void)
{
	struct state *st = state_new();
	char name[32];
	int all = 1, none = 1;

	CHECK(!state_revoked(st, "a"), "empty set");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "pssid-%d", i);
		if (state_revoke(st, name) != 0)
			all = 0;
	}
	CHECK(all, "300 REVOKED applied");
	state_revoke(st, "pssid-7");
	CHECK_EQ_INT(hashtab_count(&st->revoked), 300, "a duplicate counts once");
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "pssid-%d", i);
		all &= state_revoked(st, name);
		snprintf(name, sizeof(name), "other-%d", i);
		none &= !state_revoked(st, name);
	}
	CHECK(all && none, "every revoked pssid found, no other");
	CHECK_EQ_INT(state_revoke(st, "late"), 0, "REVOKE delta");
	CHECK(state_revoked(st, "late"), "late revoked");
	CHECK_EQ_INT(state_revoke(st, "bad pssid!"), ERR_INVALID, "invalid pssid refused");
	state_free(st);
}

static void
test_grants_pools(void)
{
	struct state *st = state_new();
	uint8_t a4[4] = {10, 9, 0, 5}, net[4] = {10, 9, 0, 0};
	const struct state_pool *p;
	State__Limits lim;
	State__Grant g;
	State__Pool pool;
	struct addr in, out;

	state__grant__init(&g);
	g.grant_id = 5;
	g.pssid = (char *)"c1";
	g.address.data = a4;
	g.address.len = 4;
	g.session_id = 77;
	g.state = STATE__GRANT_STATE__GRANT_STATE_ON_HOLD;
	CHECK_EQ_INT(state_grant_put(st, &g), 0, "GRANT");
	CHECK(state_grant_find(st, 5) != NULL && state_grant_find(st, 5)->on_hold &&
		state_grant_find(st, 5)->addr.b[3] == 5,
	    "grant 5 kept, on hold");
	g.address.len = 3;
	g.grant_id = 6;
	CHECK_EQ_INT(state_grant_put(st, &g), ERR_INVALID, "3-byte address refused");
	state_grant_release(st, 5);
	CHECK(state_grant_find(st, 5) == NULL && st->ngrants == 0, "GRANT_RELEASE: grant 5 gone");
	state_grant_release(st, 5);
	CHECK_EQ_INT(st->ngrants, 0, "releasing an unknown grant changes nothing");

	state__pool__init(&pool);
	pool.id = 3;
	pool.name = (char *)"p";
	pool.prefix.data = net;
	pool.prefix.len = 4;
	pool.prefix_length = 22;
	pool.mode = STATE__POOL_MODE__POOL_MODE_SCION;
	CHECK_EQ_INT(state_pool_put(st, &pool), 0, "POOL");
	addr_parse("10.9.3.255", &in);
	addr_parse("10.9.4.0", &out);
	p = state_pool_of(st, &in);
	CHECK(p != NULL && p->id == 3 && p->mode == STATE_POOL_SCION, "10.9.3.255 in 10.9.0.0/22");
	CHECK(state_pool_of(st, &out) == NULL, "10.9.4.0 outside");
	CHECK(p != NULL && p->gateway.family == 0 && !p->isolate_clients,
	    "no gateway, clients not isolated");
	{
		uint8_t gw[4] = {10, 9, 0, 1}, far[4] = {10, 9, 4, 1};

		pool.gateway.data = gw;
		pool.gateway.len = 4;
		pool.isolate_clients = 1;
		CHECK_EQ_INT(state_pool_put(st, &pool), 0, "POOL_UPDATE with a gateway");
		p = state_pool_of(st, &in);
		CHECK(p != NULL && p->gateway.family == 4 && p->gateway.b[3] == 1 &&
			p->isolate_clients && st->npools == 1,
		    "gateway 10.9.0.1 and isolate_clients kept, the pool replaced");
		pool.gateway.data = far;
		CHECK_EQ_INT(state_pool_put(st, &pool), ERR_INVALID,
		    "a gateway outside the prefix is refused");
		pool.gateway.len = 3;
		CHECK_EQ_INT(state_pool_put(st, &pool), ERR_INVALID, "a 3-byte gateway is refused");
		CHECK(
		    state_pool_of(st, &in)->gateway.b[3] == 1, "the refused updates left the pool");
		pool.gateway.len = 0;
		pool.isolate_clients = 0;
	}
	state_pool_remove(st, 4);
	CHECK_EQ_INT(st->npools, 1, "removing an unknown pool changes nothing");
	state_pool_remove(st, 3);
	CHECK(state_pool_of(st, &in) == NULL && st->npools == 0, "POOL_UPDATE removed: pool gone");

	state__limits__init(&lim);
	lim.max_sessions = 9;
	lim.heartbeat_seconds = 2;
	state_limits_set(st, &lim);
	CHECK(st->limits.max_sessions == 9 && st->limits.heartbeat_seconds == 2, "LIMITS kept");
	state_free(st);
}

static void
test_session(void)
{
	uint64_t last = 0, a, b, c;

	a = session_id_next(&last, 1000, 7);
	b = session_id_next(&last, 1000, 7);
	c = session_id_next(&last, 900, 1031);
	CHECK(a == (1000ull << 10 | 7) && b == (1001ull << 10 | 7) && c == (1002ull << 10 | 7),
	    "ids: ms, then previous + 1 when the clock does not move or goes back; agent id mod 1024");
	/* now = NOW + 0.25 s: exp NOW is still valid, until NOW + 1 exactly (0.75 s away) */
	CHECK_EQ_INT(session_expiry_deadline(NOW, NOW * NS + NS / 4, 5000), 5000 + NS * 3 / 4,
	    "expiry at exp: the first instant of second exp + 1");
	CHECK_EQ_INT(session_expiry_deadline(NOW + 10, NOW * NS, 5000), 5000 + 11 * NS,
	    "expiry 10 s ahead: 11 s from the start of this second");
	CHECK_EQ_INT(session_expiry_deadline(NOW - 1, NOW * NS + 1, 5000), 5000, "past: now");
	CHECK(session_expiry_deadline(INT64_MAX, NOW * NS, 5000) < UINT64_MAX / 2,
	    "far expiry capped, no overflow");
}

int
main(void)
{
	if (jwt_signer_new("k1", &signer) != 0)
		return 2;
	make_pem();
	test_keys();
	test_key_pins();
	test_revoked();
	test_grants_pools();
	test_session();
	jwt_signer_free(signer);
	return check_done();
}
