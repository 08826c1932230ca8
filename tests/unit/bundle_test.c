/* The bundle file: a full bundle survives save and load member by member (networks, routes,
 * pending refresh request id, last address, CA), the file is written atomically with mode 0600
 * whatever the umask, a bundle readable by others or over the size bound is refused, every
 * invalid member is refused with a message naming it, a join answer becomes a bundle, and a
 * refresh answer is folded in all or nothing. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/client/bundle.h"
#include "../../lib/clock.h"
#include "check.h"

#define PIN "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static const char full[] =
    "{\"pssid\":\"6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11\",\"name\":\"edge-17\","
    "\"access_token\":\"eyJ.abc.def\",\"access_token_expires_at\":\"2026-11-22T14:31:56Z\","
    "\"access_token_received_at\":\"2026-11-22T13:31:56Z\",\"refresh_token\":\"snr_abc\","
    "\"agents\":[{\"id\":1,\"address\":\"192.0.2.1:4433\",\"spki_pin\":\"" PIN "\"},"
    "{\"id\":2,\"address\":\"[2001:db8::1]:4433\",\"spki_pin\":\"" PIN "\"}],"
    "\"networks\":[{\"pool\":\"edge-v4\",\"isd_as\":\"1-ff00:0:110\",\"family\":4,"
    "\"prefix\":\"10.20.0.0/24\",\"gateway\":\"10.20.0.1\",\"routes\":[\"192.168.0.0/16\"]},"
    "{\"pool\":\"edge-v6\",\"isd_as\":\"1-ff00:0:110\",\"family\":6,"
    "\"prefix\":\"2001:db8:20::/64\",\"gateway\":null,\"mode\":\"scion\",\"routes\":[]}],"
    "\"manager\":\"https://mgr.example:8443\",\"ca\":\"/etc/snaptun/ca.pem\","
    "\"refresh_request_id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"last_address\":\"1-ff00:0:110,10.20.0.7\"}";

static char path[4096];

/* full with the text from replaced by to (once). */
static char *
with(const char *from, const char *to)
{
	static char buf[4096];
	const char *p = strstr(full, from);

	if (p == NULL) {
		snprintf(buf, sizeof(buf), "%s", full);
		return buf;
	}
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - full), full, to, p + strlen(from));
	return buf;
}

static void
test_round_trip(void)
{
	struct bundle a, b;
	char err[512], *t1, *t2;
	struct stat st;
	mode_t old;

	CHECK(bundle_parse(full, strlen(full), &a, err, sizeof(err)) == 0, "full bundle parses: %s",
	    err);
	CHECK_EQ_INT(a.nagents, 2, "two agents");
	CHECK_EQ_INT(a.nnetworks, 2, "two networks");
	CHECK_EQ_INT(a.networks[0].nroutes, 1, "one route");
	CHECK(a.networks[0].has_gateway && !a.networks[1].has_gateway, "gateway, then none");
	CHECK_EQ_INT(a.networks[1].family, 6, "IPv6 network");
	CHECK(!a.networks[0].scion && a.networks[1].scion,
	    "no mode: ip (a manager before scion mode); \"scion\": scion");
	CHECK(strcmp(a.refresh_request_id, "AAAAAAAAAAAAAAAAAAAAAA") == 0, "request id read");
	CHECK(a.has_last_address && a.last_address.family == 4, "last address read");
	CHECK(a.access_token_expires_at - a.access_token_received_at == 3600, "times read");
	old = umask(0);
	CHECK(bundle_save(path, &a, err, sizeof(err)) == 0, "saved: %s", err);
	umask(old);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600 with umask 0 (%o)",
	    (unsigned)(st.st_mode & 0777));
	CHECK(bundle_load(path, &b, err, sizeof(err)) == 0, "loaded: %s", err);
	t1 = bundle_dump(&a);
	t2 = bundle_dump(&b);
	CHECK(t1 != NULL && t2 != NULL && strcmp(t1, t2) == 0, "same bundle after save and load");
	CHECK(strcmp(b.refresh_request_id, a.refresh_request_id) == 0,
	    "the pending request id is kept");
	CHECK(b.ca != NULL && strcmp(b.ca, "/etc/snaptun/ca.pem") == 0, "ca kept");
	CHECK(memcmp(&b.agents[1], &a.agents[1], sizeof(a.agents[1])) == 0, "agent kept");
	free(t1);
	free(t2);
	/* Without the optional members: no request id, no last address, no ca. */
	b.refresh_request_id[0] = '\0';
	b.has_last_address = 0;
	free(b.ca);
	b.ca = NULL;
	CHECK(bundle_save(path, &b, err, sizeof(err)) == 0, "saved again: %s", err);
	bundle_free(&b);
	CHECK(bundle_load(path, &b, err, sizeof(err)) == 0, "loaded again: %s", err);
	CHECK(b.refresh_request_id[0] == '\0' && !b.has_last_address && b.ca == NULL,
	    "absent members stay absent");
	bundle_free(&a);
	bundle_free(&b);
}

static void
test_file_checks(void)
{
	char err[512], big[BUNDLE_FILE_MAX + 2];
	struct bundle b;
	int fd;

	chmod(path, 0640);
	CHECK(bundle_load(path, &b, err, sizeof(err)) < 0 && strstr(err, "chmod 600") != NULL,
	    "group-readable bundle refused: %s", err);
	bundle_free(&b);
	chmod(path, 0600);
	memset(big, ' ', sizeof(big));
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, big, sizeof(big)) == (ssize_t)sizeof(big), "big file written");
	close(fd);
	CHECK(bundle_load(path, &b, err, sizeof(err)) < 0 && strstr(err, "more than 65536") != NULL,
	    "oversized bundle refused: %s", err);
	bundle_free(&b);
	CHECK(bundle_load("/nonexistent/b.json", &b, err, sizeof(err)) < 0 &&
		strstr(err, "No such file") != NULL,
	    "absent bundle: %s", err);
	bundle_free(&b);
}

static void
test_invalid(void)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
	    {"\"pssid\":\"6f1c", "\"pssid\":\"6 f1c", "member \"pssid\""},
	    {"\"name\":\"edge-17\",", "", "member \"name\" is missing"},
	    {"\"eyJ.abc.def\"", "\"eyJ abc\"", "member \"access_token\" is not a token"},
	    {"2026-11-22T14:31:56Z", "2026-02-30T14:31:56Z", "access_token_expires_at"},
	    {"2026-11-22T14:31:56Z", "yesterday", "is not an RFC 3339 time"},
	    {"\"192.0.2.1:4433\"", "\"192.0.2.1\"", "agents[0].address"},
	    {"\"192.0.2.1:4433\"", "\"192.0.2.1:0\"", "agents[0].address"},
	    {"{\"id\":2,", "{\"id\":0,", "agents[1].id"},
	    {"\"spki_pin\":\"" PIN "\"}]", "\"spki_pin\":\"AAAA\"}]", "agents[1].spki_pin"},
	    {"\"10.20.0.0/24\"", "\"10.20.0.1/24\"", "networks[0].prefix"},
	    {"\"family\":4", "\"family\":6", "networks[0].family"},
	    {"\"10.20.0.1\"", "\"10.21.0.1\"", "networks[0].gateway"},
	    {"[\"192.168.0.0/16\"]", "[\"2001:db8::/32\"]", "networks[0].routes[0]"},
	    {"[\"192.168.0.0/16\"]", "[17]", "networks[0].routes[0]"},
	    {"\"isd_as\":\"1-ff00:0:110\",\"family\":4", "\"isd_as\":\"x\",\"family\":4",
		"networks[0].isd_as"},
	    {"\"pool\":\"edge-v4\"", "\"pool\":[]", "networks[0].pool"},
	    {"\"mode\":\"scion\"", "\"mode\":\"tcp\"", "networks[1].mode\": \"tcp\" is neither"},
	    {"\"https://mgr.example:8443\"", "\"ftp://mgr\"", "member \"manager\""},
	    {"\"AAAAAAAAAAAAAAAAAAAAAA\"", "\"AAAA\"", "refresh_request_id"},
	    {"\"1-ff00:0:110,10.20.0.7\"", "\"10.20.0.7\"", "last_address"},
	    {"\"ca\":", "\"cb\":", "unknown member \"cb\""},
	    {"\"id\":1,", "\"id\":1,\"x\":1,", "unknown member \"agents[0].x\""},
	    {"\"pssid\"", "\"name\":\"a\",\"pssid\"", "line"},
	    {"\"refresh_token\":\"snr_abc\",", "", "member \"refresh_token\" is missing"},
	};
	char err[512], many[4096];
	struct bundle b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = with(cases[i].from, cases[i].to);

		err[0] = '\0';
		CHECK(strcmp(t, full) != 0, "case %zu changes the text", i);
		CHECK(bundle_parse(t, strlen(t), &b, err, sizeof(err)) < 0 &&
			strstr(err, cases[i].want) != NULL,
		    "refused naming \"%s\": %s", cases[i].want, err);
		bundle_free(&b);
	}
	/* 17 agents: one over the bound. */
	snprintf(many, sizeof(many), "%s", "[");
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%s{\"id\":%d,\"address\":\"192.0.2.1:1\",\"spki_pin\":\"" PIN "\"}",
		    i ? "," : "", i + 1);
	strcat(many, "]");
	{
		char t[8192];
		const char *p = strstr(full, "\"agents\":[");
		const char *q = strstr(full, "],\"networks\"");

		snprintf(t, sizeof(t), "%.*s\"agents\":%s%s", (int)(p - full), full, many, q + 1);
		CHECK(bundle_parse(t, strlen(t), &b, err, sizeof(err)) < 0 &&
			strstr(err, "more than 16") != NULL,
		    "17 agents refused: %s", err);
		bundle_free(&b);
	}
}

static void
test_join_and_refresh(void)
{
	const char *answer =
	    "{\"pssid\":\"6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11\",\"name\":\"n\","
	    "\"access_token\":\"a.b.c\",\"access_token_expires_at\":\"2026-11-22T14:31:56Z\","
	    "\"refresh_token\":\"snr_1\",\"agents\":[],\"ack_token\":\"ack_x\","
	    "\"ack_deadline\":\"2026-11-22T13:32:26Z\",\"something_new\":1}";
	json_t *j = json_loads(answer, 0, NULL), *r;
	struct bundle b;
	char err[512] = "";

	CHECK(bundle_from_join(j, 1000, &b, err, sizeof(err)) == 0, "join answer: %s", err);
	CHECK(b.ack_token != NULL && strcmp(b.ack_token, "ack_x") == 0, "ack token kept");
	CHECK_EQ_INT(b.access_token_received_at, 1000, "received at");
	strcpy(b.refresh_request_id, "AAAAAAAAAAAAAAAAAAAAAA");
	/* A bad refresh answer changes nothing. */
	r = json_loads("{\"access_token\":\"x.y.z\",\"access_token_expires_at\":\"2026-11-22T15:"
		       "31:56Z\",\"refresh_token\":\"snr_2\",\"networks\":[{\"pool\":1}]}",
	    0, NULL);
	CHECK(bundle_apply_refresh(&b, r, 2000, err, sizeof(err)) < 0 &&
		strstr(err, "networks[0].isd_as") != NULL,
	    "bad networks refused: %s", err);
	CHECK(strcmp(b.refresh_token, "snr_1") == 0 && b.refresh_request_id[0] == 'A',
	    "bundle unchanged");
	json_decref(r);
	r = json_loads("{\"access_token\":\"x.y.z\",\"access_token_expires_at\":\"2026-11-22T15:"
		       "31:56Z\",\"refresh_token\":\"snr_2\",\"networks\":[{\"pool\":1,"
		       "\"isd_as\":\"1-64512\",\"prefix\":\"10.0.0.0/8\",\"gateway\":null}]}",
	    0, NULL);
	CHECK(bundle_apply_refresh(&b, r, 2000, err, sizeof(err)) == 0, "refresh folded: %s", err);
	CHECK(strcmp(b.refresh_token, "snr_2") == 0 && strcmp(b.access_token, "x.y.z") == 0,
	    "tokens replaced");
	CHECK(b.refresh_request_id[0] == '\0', "request id cleared");
	CHECK(b.nnetworks == 1 && strcmp(b.networks[0].pool, "1") == 0, "networks replaced");
	CHECK_EQ_INT(b.access_token_received_at, 2000, "received at updated");
	json_decref(r);
	bundle_free(&b);
	json_object_del(j, "ack_token");
	CHECK(bundle_from_join(j, 1000, &b, err, sizeof(err)) < 0 && strstr(err, "ack_token"),
	    "a join answer without ack token: %s", err);
	bundle_free(&b);
	json_decref(j);
}

static void
test_rfc3339(void)
{
	int64_t t = 0;

	CHECK(clock_rfc3339_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "epoch");
	CHECK(clock_rfc3339_parse("2026-11-22T13:31:56Z", &t) == 0 && t == 1795354316,
	    "a date (%lld)", (long long)t);
	CHECK(clock_rfc3339_parse("2026-11-22T14:31:56.123+01:00", &t) == 0 && t == 1795354316,
	    "offset and fraction");
	CHECK(clock_rfc3339_parse("2024-02-29T00:00:00Z", &t) == 0, "leap day");
	CHECK(clock_rfc3339_parse("2023-02-29T00:00:00Z", &t) < 0, "no leap day in 2023");
	CHECK(clock_rfc3339_parse("2026-11-22T13:31:56", &t) < 0, "no zone");
	CHECK(clock_rfc3339_parse("2026-11-22T13:31:56Zx", &t) < 0, "trailing text");
	CHECK(clock_rfc3339_parse("2026-13-22T13:31:56Z", &t) < 0, "month 13");
	CHECK(clock_rfc3339_parse("1969-12-31T23:59:59Z", &t) == 0 && t == -1, "before 1970");
}

int
main(void)
{
	snprintf(path, sizeof(path), "%s/bundle.json", check_tmpdir());
	test_round_trip();
	test_file_checks();
	test_invalid();
	test_join_and_refresh();
	test_rfc3339();
	return check_done();
}
