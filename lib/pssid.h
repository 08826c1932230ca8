/* Client identities (pssid): SNAP writes UUIDs; outside issuers may write other opaque ids.
 * We accept 1..64 characters of [A-Za-z0-9._:-] so they are safe in logs, URLs and JSON. */
#ifndef LIB_PSSID_H
#define LIB_PSSID_H

#define PSSID_MAX 64

int pssid_valid(const char *s);

#endif
