/* An enrolled agent's credentials (agent/README.md "Agents on other hosts"): the JSON file
 * `snaptun-agent enroll` writes and `--credentials` reads, and the manager's answer to
 * POST /v1/agent-enroll it is made from. One parser for both (fuzzed: tests/fuzz/fuzz_creds.c):
 *
 *   {"agent_id": 1001, "name": "edge-1", "channel_key": "<base64url of 32 bytes>",
 *    "managers": [{"address": "192.0.2.1:7443", "pin": "<base64 SPKI pin>"}, ...],
 *    "cert": "client.crt", "key": "client.key"}
 *
 * cert and key (paths, relative ones to the file's directory) are the file's alone; the answer
 * has neither. A manager's address is HOST:PORT, HOST a numeric address or a DNS name; a manager
 * without "pin" is checked with the CAs of --manager-ca alone (the manager's answer always
 * names its pin; an operator who moves the managers to CA-signed certificates drops them). Unknown members are refused, so a misspelt one is not silently ignored. */
#ifndef AGENT_CREDS_H
#define AGENT_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "link_dial.h"

#define CREDS_MANAGERS_MAX 8
#define CREDS_TEXT_MAX 65536 /* a file or an answer longer than this is refused */

struct creds {
	uint64_t agent_id;
	char name[257];
	unsigned char channel_key[32];
	struct link_endpoint managers[CREDS_MANAGERS_MAX];
	size_t nmanagers;
	char cert[1024], key[1024]; /* "" in an answer */
};

/* Parse len bytes of text into *c. 0, or -1 with the reason in why (whylen bytes). */
int creds_parse(const char *text, size_t len, struct creds *c, char *why, size_t whylen);

/* Read the file path (at most CREDS_TEXT_MAX bytes) into *c, cert and key made absolute
 * against its directory. 0, or -1 with the reason in why. */
int creds_load(const char *path, struct creds *c, char *why, size_t whylen);

/* Write *c to path as above (0600, written beside and renamed). 0, or -1 with errno. */
int creds_save(const char *path, const struct creds *c);

#endif
