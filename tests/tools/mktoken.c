/* mktoken: sign tunnel tokens (proto/README.md §1.5) the way an outside SNAP issuer does, for the
 * end-to-end tests and benchmarks.
 *
 *   mktoken --new-key FILE.pem
 *       Write a fresh Ed25519 private key (PKCS#8 PEM, mode 0600; FILE must not exist) and
 *       print its public key as a "-----BEGIN PUBLIC KEY-----" PEM (SubjectPublicKeyInfo), the
 *       form POST /v1/keys imports ({"kid":…,"alg":"EdDSA","public_key_pem":…}).
 *
 *   mktoken --key FILE.pem [--kid K] --pssid UUID|random --exp UNIX|+SECONDS|-SECONDS
 *           [--nbf UNIX|+SECONDS|-SECONDS] [--iss S] [--aud S]... [--only-pssid-exp]
 *           [--show-pssid]
 *       Print one token. Without --kid the header carries no kid (as SNAP issuers write them).
 *       The values go in as given, absurd ones included (a pssid that is no UUID, exp = 2^63-1),
 *       so that tests can send what a careless or hostile issuer would.
 *       Claims: pssid and exp, nbf when given, and iat and jti unless --only-pssid-exp (then
 *       exactly pssid and exp, plus nbf when given). --iss S writes "iss":S; --aud S once
 *       writes "aud":S, more than once an "aud" array of them in order. "random" is a fresh UUID v4; --show-pssid
 *       prints "PSSID TOKEN" instead of the token alone.
 *
 * Exit status 0, or 1 with a message on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/args.h"
#include "../../lib/b64url.h"
#include "../../lib/clock.h"
#include "../../lib/secret.h"
#include "../../proto/jwt.h"

static void
usage_print(FILE *f)
{
	fprintf(f,
	    "usage: mktoken --new-key FILE.pem\n"
	    "       mktoken --key FILE.pem [--kid K] --pssid UUID|random --exp UNIX|+SECONDS\n"
	    "               [--nbf UNIX|+SECONDS] [--iss S] [--aud S]... [--only-pssid-exp]\n"
	    "               [--show-pssid]\n"
	    "       mktoken --help | --version\n");
}

static void
usage(void)
{
	usage_print(stderr);
	exit(1);
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "mktoken: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* "UNIX" as it is, "+N" / "-N" relative to now. */
static int64_t
parse_time(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		die("bad %s time", what);
	if (s[0] == '+' || s[0] == '-')
		return clock_unix() + v;
	return v;
}

static void
random_uuid(char out[37])
{
	unsigned char b[16];
	int i, o = 0;

	if (secret_random(b, sizeof(b)) < 0)
		die("%s", "no randomness");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		o += sprintf(out + o, "%02x", b[i]);
	}
	out[o] = '\0';
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		die("cannot open %s", path);
	buf = malloc(16384);
	if (buf == NULL)
		die("%s", "out of memory");
	n = fread(buf, 1, 16383, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The SubjectPublicKeyInfo of a raw Ed25519 key (RFC 8410) as PEM on stdout. */
static void
print_spki_pem(const unsigned char pub[JWT_ED25519_LEN])
{
	static const unsigned char prefix[12] = {
	    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	unsigned char der[sizeof(prefix) + JWT_ED25519_LEN];
	char url[B64URL_LEN(sizeof(der)) + 1];
	size_t i, n;

	memcpy(der, prefix, sizeof(prefix));
	memcpy(der + sizeof(prefix), pub, JWT_ED25519_LEN);
	b64url_encode(der, sizeof(der), url);
	n = strlen(url);
	for (i = 0; i < n; i++) {
		if (url[i] == '-')
			url[i] = '+';
		else if (url[i] == '_')
			url[i] = '/';
	}
	/* 44 bytes encode to 59 characters plus one '=' of padding: one line. */
	printf("-----BEGIN PUBLIC KEY-----\n%s", url);
	for (i = n; i % 4 != 0; i++)
		putchar('=');
	printf("\n-----END PUBLIC KEY-----\n");
}

static int
new_key(const char *path)
{
	struct jwt_signer *s;
	char *pem;
	size_t len;
	int fd;

	if (jwt_signer_new(NULL, &s) < 0)
		die("%s", "cannot generate a key");
	if (jwt_signer_pem(s, &pem, &len) < 0)
		die("%s", "cannot write the key as PEM");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die("cannot create %s (it must not exist)", path);
	if (write(fd, pem, len) != (ssize_t)len || close(fd) < 0)
		die("cannot write %s", path);
	explicit_bzero(pem, len);
	free(pem);
	print_spki_pem(s->pub);
	jwt_signer_free(s);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"new-key", required_argument, NULL, 'n'},
	    {"key", required_argument, NULL, 'k'},
	    {"kid", required_argument, NULL, 'K'},
	    {"pssid", required_argument, NULL, 'p'},
	    {"exp", required_argument, NULL, 'e'},
	    {"nbf", required_argument, NULL, 'b'},
	    {"iss", required_argument, NULL, 'i'},
	    {"aud", required_argument, NULL, 'a'},
	    {"only-pssid-exp", no_argument, NULL, 'o'},
	    {"show-pssid", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *newkey = NULL, *keyfile = NULL, *kid = NULL, *pssid = NULL, *exp = NULL;
	const char *nbf = NULL, *iss = NULL;
	json_t *aud = json_array();
	int only = 0, show = 0, c;
	struct jwt_signer *s;
	struct jwt_claims cl;
	char tok[JWT_TOKEN_MAX + 1], uuid[37], *pem, *claims;
	json_t *o;
	unsigned char jti[16];
	size_t len;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': newkey = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'K': kid = optarg; break;
		case 'p': pssid = optarg; break;
		case 'e': exp = optarg; break;
		case 'b': nbf = optarg; break;
		case 'i': iss = optarg; break;
		case 'a': json_array_append_new(aud, json_string(optarg)); break;
		case 'o': only = 1; break;
		case 's': show = 1; break;
		case 'h': usage_print(stdout); exit(0);
		case 'V': args_version("mktoken");
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (newkey != NULL) {
		if (keyfile != NULL || pssid != NULL || exp != NULL)
			usage();
		json_decref(aud);
		return new_key(newkey);
	}
	if (keyfile == NULL || pssid == NULL || exp == NULL)
		usage();

	pem = read_file(keyfile, &len);
	if (jwt_signer_from_pem(kid, pem, len, &s) < 0)
		die("%s is not an Ed25519 private key PEM (or the kid is invalid)", keyfile);
	explicit_bzero(pem, len);
	free(pem);

	memset(&cl, 0, sizeof(cl));
	if (strcmp(pssid, "random") == 0) {
		random_uuid(uuid);
		pssid = uuid;
	}
	if (strlen(pssid) > PSSID_MAX)
		die("pssid \"%s\" is too long", pssid);
	strcpy(cl.pssid, pssid);
	/* The claims are written here, not by jwt_sign(), which refuses what our own issuer must
	 * never write: an outside issuer may, and the tests send such tokens on purpose. */
	if ((o = json_pack("{s:s, s:I}", "pssid", pssid, "exp",
		 (json_int_t)parse_time(exp, "--exp"))) == NULL)
		die("%s", "out of memory");
	if (nbf != NULL)
		json_object_set_new(o, "nbf", json_integer(parse_time(nbf, "--nbf")));
	if (iss != NULL)
		json_object_set_new(o, "iss", json_string(iss));
	if (json_array_size(aud) == 1)
		json_object_set(o, "aud", json_array_get(aud, 0));
	else if (json_array_size(aud) > 1)
		json_object_set(o, "aud", aud);
	json_decref(aud);
	if (!only) {
		json_object_set_new(o, "iat", json_integer(clock_unix()));
		if (secret_random(jti, sizeof(jti)) < 0)
			die("%s", "no randomness");
		b64url_encode(jti, sizeof(jti), cl.jti);
		json_object_set_new(o, "jti", json_string(cl.jti));
	}
	if ((claims = json_dumps(o, JSON_COMPACT)) == NULL)
		die("%s", "out of memory");
	n = jwt_sign_payload(s, claims, strlen(claims), tok, sizeof(tok));
	free(claims);
	json_decref(o);
	jwt_signer_free(s);
	if (n < 0)
		die("cannot sign: %s", jwt_err_str((int)n));
	if (show)
		printf("%s %s\n", cl.pssid, tok);
	else
		printf("%s\n", tok);
	return 0;
}
