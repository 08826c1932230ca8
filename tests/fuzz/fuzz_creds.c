/* Fuzzes the parser of an enrolled agent's credentials (agent/creds.h): the manager's answer to
 * POST /v1/agent-enroll comes from the network, the file from disk; one parser reads both.
 * Invariants:
 * - no crash, no leak, no read past the input, whatever the bytes;
 * - what parses holds a positive agent id and 1 to CREDS_MANAGERS_MAX managers, each a numeric
 *   HOST:PORT (never a socket path), and survives creds_save and creds_load unchanged (one
 *   model, one serialisation). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct creds a, b;
	char why[256];

	if (creds_parse((const char *)data, size, &a, why, sizeof(why)) < 0)
		return 0;
	if (a.agent_id == 0 || a.nmanagers == 0 || a.nmanagers > CREDS_MANAGERS_MAX)
		abort();
	for (size_t i = 0; i < a.nmanagers; i++)
		if (!link_dial_is_tls(&a.managers[i]))
			abort();
	if (path[0] == '\0' && getpid() > 0)
		snprintf(path, sizeof(path), "/tmp/fuzz_creds.%d.json", (int)getpid());
	/* a file needs its client certificate named; an answer has none */
	if (a.cert[0] == '\0' || a.key[0] == '\0') {
		strcpy(a.cert, "/c.pem");
		strcpy(a.key, "/k.pem");
	}
	if (creds_save(path, &a) < 0 || creds_load(path, &b, why, sizeof(why)) < 0)
		abort();
	unlink(path);
	if (a.agent_id != b.agent_id || strcmp(a.name, b.name) != 0 ||
	    memcmp(a.channel_key, b.channel_key, sizeof(a.channel_key)) != 0 ||
	    a.nmanagers != b.nmanagers ||
	    memcmp(a.managers, b.managers, a.nmanagers * sizeof(a.managers[0])) != 0)
		abort();
	return 0;
}
