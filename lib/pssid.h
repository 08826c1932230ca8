/* Client identities (pssid). Tokens carry UUIDs (proto/README.md §1.5): SNAP and this manager
 * write them, and a token whose pssid is not one is refused. The stores and the admin API take
 * any 1..64 characters of [A-Za-z0-9._:-], safe in logs, URLs and JSON. */
#ifndef LIB_PSSID_H
#define LIB_PSSID_H

#define PSSID_MAX 64
#define PSSID_UUID_LEN 36 /* "6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11" */

/* Whether s is 1..PSSID_MAX characters of [A-Za-z0-9._:-]. 1 or 0. */
int pssid_valid(const char *s);

/* Whether s is a UUID in its canonical text form (RFC 9562 §4): 8-4-4-4-12 lowercase hex digits.
 * Upper case is refused, not folded: a pssid is compared byte for byte (revocations, grants),
 * and one identity must have one spelling. Any version and variant. 1 or 0. */
int pssid_uuid(const char *s);

#endif
