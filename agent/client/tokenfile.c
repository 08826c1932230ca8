/* Reading --token-file (tokenfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/b64url.h"
#include "../../proto/jwt.h"
#include "tokenfile.h"

/* The exp and iat claims of a compact JWS, unverified. 0 or -1. */
static int
claims_peek(const char *tok, size_t len, int64_t *exp, int64_t *iat)
{
	unsigned char payload[JWT_TOKEN_MAX];
	const char *a, *b;
	struct jwt_claims c;
	ssize_t n;

	if ((a = memchr(tok, '.', len)) == NULL ||
	    (b = memchr(a + 1, '.', len - (size_t)(a + 1 - tok))) == NULL)
		return -1;
	if ((n = b64url_decode(a + 1, (size_t)(b - a - 1), payload, sizeof(payload))) < 0)
		return -1;
	if (jwt_claims_parse(payload, (size_t)n, &c) != 0)
		return -1;
	*exp = c.exp;
	*iat = (c.has & JWT_HAS_IAT) ? c.iat : 0;
	return 0;
}

int
tokenfile_read(
    const char *path, char *tok, size_t cap, int64_t *exp, int64_t *iat, char *why, size_t whycap)
{
	char buf[JWT_TOKEN_MAX + 64];
	size_t len = 0, start = 0, i;
	struct stat st;
	ssize_t n;
	int fd, rv = -1;

	/* O_NONBLOCK: a FIFO at path must not hang the client (refused below). Symlinks are
	 * followed: secret stores publish the current token through one. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(why, whycap, "token file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whycap, "token file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whycap, "token file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len == sizeof(buf)) {
		snprintf(why, whycap, "token file %s: over %d bytes", path, JWT_TOKEN_MAX);
		goto out;
	}
	while (start < len &&
	    (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' || buf[start] == '\r'))
		start++;
	while (len > start &&
	    (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
		buf[len - 1] == '\r'))
		len--;
	if (len == start) {
		snprintf(why, whycap, "token file %s is empty", path);
		goto out;
	}
	for (i = start; i < len; i++) {
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			snprintf(why, whycap,
			    "token file %s: byte 0x%02x at offset %zu is no token "
			    "character",
			    path, (unsigned char)buf[i], i);
			goto out;
		}
	}
	if (len - start >= cap) {
		snprintf(why, whycap, "token file %s: the token is over %zu bytes", path, cap - 1);
		goto out;
	}
	if (claims_peek(buf + start, len - start, exp, iat) != 0) {
		snprintf(why, whycap, "token file %s: not a JWT with an exp claim", path);
		goto out;
	}
	memcpy(tok, buf + start, len - start);
	tok[len - start] = '\0';
	rv = 0;
out:
	/* the token is a bearer secret: no copy left on the stack */
	explicit_bzero(buf, sizeof(buf));
	return rv;
}

int64_t
tokenfile_next(int64_t now, int64_t exp, int64_t iat)
{
	int64_t from = iat > 0 && iat < exp ? iat : now, at = from + (exp - from) * 3 / 4;

	if (exp - now < 240)
		at = now + (exp - now > 60 ? 60 : (exp - now) / 4);
	if (at <= now)
		at = now + 1;
	return at;
}
