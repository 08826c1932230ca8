/* Socket addresses as text: the formatter (IPv4, IPv6, v4-mapped kept or shown as IPv4, what
 * is no IP address, a short buffer), the HOST:PORT splitter and the numeric parser, both on
 * what they must take and what they must refuse. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include "../../lib/addr.h"
#include "../../lib/sockaddr.h"
#include "check.h"

static const struct sockaddr *
sa6(const char *host, uint16_t port, struct sockaddr_in6 *s6)
{
	memset(s6, 0, sizeof(*s6));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	inet_pton(AF_INET6, host, &s6->sin6_addr);
	return (const struct sockaddr *)s6;
}

static void
test_format(void)
{
	struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(5)};
	struct sockaddr_in6 s6;
	struct sockaddr_un su = {.sun_family = AF_UNIX};
	char buf[SOCKADDR_STRLEN];

	inet_pton(AF_INET, "1.2.3.4", &s4.sin_addr);
	CHECK(sockaddr_format((struct sockaddr *)&s4, buf, sizeof(buf)) == 0 &&
		strcmp(buf, "1.2.3.4:5") == 0,
	    "IPv4: %s", buf);
	CHECK(sockaddr_format(sa6("::1", 5, &s6), buf, sizeof(buf)) == 0 &&
		strcmp(buf, "[::1]:5") == 0,
	    "IPv6 in brackets: %s", buf);
	CHECK(sockaddr_format(sa6("::ffff:1.2.3.4", 443, &s6), buf, sizeof(buf)) == 0 &&
		strcmp(buf, "[::ffff:1.2.3.4]:443") == 0,
	    "v4-mapped stays as the socket saw it: %s", buf);
	CHECK(sockaddr_format(sa6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, &s6), buf,
		  sizeof(buf)) == 0 &&
		strcmp(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535") == 0,
	    "the longest form fits SOCKADDR_STRLEN");
	CHECK(
	    sockaddr_format(NULL, buf, sizeof(buf)) < 0 && strcmp(buf, "?") == 0, "NULL is \"?\"");
	CHECK(
	    sockaddr_format((struct sockaddr *)&su, buf, sizeof(buf)) < 0 && strcmp(buf, "?") == 0,
	    "a Unix address is \"?\"");
	sockaddr_format((struct sockaddr *)&s4, buf, 4);
	CHECK(strcmp(buf, "1.2") == 0, "a short buffer is cut, NUL-terminated");

	CHECK(sockaddr_format_host((struct sockaddr *)&s4, buf, sizeof(buf)) == 0 &&
		strcmp(buf, "1.2.3.4") == 0,
	    "host of IPv4: %s", buf);
	CHECK(sockaddr_format_host(sa6("2001:db8::1", 5, &s6), buf, sizeof(buf)) == 0 &&
		strcmp(buf, "2001:db8::1") == 0,
	    "host of IPv6, no brackets: %s", buf);
	CHECK(sockaddr_format_host(sa6("::ffff:10.0.0.7", 5, &s6), buf, sizeof(buf)) == 0 &&
		strcmp(buf, "10.0.0.7") == 0,
	    "host of v4-mapped is IPv4: %s", buf);
	CHECK(sockaddr_format_host(NULL, buf, sizeof(buf)) < 0 &&
		sockaddr_format_host((struct sockaddr *)&su, buf, sizeof(buf)) < 0,
	    "no host for NULL or a Unix address");
}

static void
test_split(void)
{
	char host[SOCKADDR_HOST_MAX + 1], big[400];
	uint16_t port = 0;
	int br = -1;

	CHECK(sockaddr_split("127.0.0.1:8080", host, sizeof(host), &port, &br) == 0 &&
		strcmp(host, "127.0.0.1") == 0 && port == 8080 && br == 0,
	    "HOST:PORT");
	CHECK(sockaddr_split("[::1]:0", host, sizeof(host), &port, &br) == 0 &&
		strcmp(host, "::1") == 0 && port == 0 && br == 1,
	    "[HOST]:PORT, port 0");
	CHECK(sockaddr_split("localhost:65535", host, sizeof(host), &port, NULL) == 0 &&
		strcmp(host, "localhost") == 0 && port == 65535,
	    "a name, the highest port");
	CHECK(sockaddr_split(":80", host, sizeof(host), &port, NULL) == 0 && host[0] == '\0' &&
		port == 80,
	    "an empty host");
	CHECK(sockaddr_split("::1:80", host, sizeof(host), &port, &br) == 0 &&
		strcmp(host, "::1") == 0 && br == 0,
	    "without brackets the last colon ends the host");
	CHECK(sockaddr_split("h:00080", host, sizeof(host), &port, NULL) == 0 && port == 80,
	    "leading zeros");
	CHECK(sockaddr_split("h:65536", host, sizeof(host), &port, NULL) < 0,
	    "a port over 65535 (getaddrinfo would wrap it)");
	CHECK(sockaddr_split("h:99999999999999999999", host, sizeof(host), &port, NULL) < 0,
	    "a port that overflows");
	CHECK(sockaddr_split("h:", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("h", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("h:-1", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("h:+1", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("h: 1", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("h:1x", host, sizeof(host), &port, NULL) < 0,
	    "no port, a sign, a space or a letter in it");
	CHECK(sockaddr_split("[::1]80", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("[::1:80", host, sizeof(host), &port, NULL) < 0 &&
		sockaddr_split("[::1]:", host, sizeof(host), &port, NULL) < 0,
	    "broken brackets");
	memset(big, 'a', 300);
	memcpy(big + 300, ":80", 4);
	CHECK(sockaddr_split(big, host, sizeof(host), &port, NULL) < 0,
	    "a host longer than the buffer");
	CHECK(sockaddr_split("abcd:1", host, 4, &port, NULL) < 0 &&
		sockaddr_split("abc:1", host, 4, &port, NULL) == 0,
	    "the host buffer's size is respected exactly");
}

static void
test_parse(void)
{
	struct sockaddr_storage ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
	char buf[SOCKADDR_STRLEN];
	socklen_t len = 0;

	CHECK(sockaddr_parse("10.1.2.3:4433", &ss, &len) == 0 && ss.ss_family == AF_INET &&
		len == sizeof(*s4) && ntohs(s4->sin_port) == 4433,
	    "numeric IPv4");
	sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	CHECK(strcmp(buf, "10.1.2.3:4433") == 0, "and back: %s", buf);
	CHECK(sockaddr_parse("[2001:db8::2]:1", &ss, &len) == 0 && ss.ss_family == AF_INET6 &&
		len == sizeof(*s6) && ntohs(s6->sin6_port) == 1,
	    "numeric IPv6");
	sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	CHECK(strcmp(buf, "[2001:db8::2]:1") == 0, "and back: %s", buf);
	CHECK(sockaddr_parse("::1:80", &ss, &len) < 0 &&
		sockaddr_parse("[1.2.3.4]:80", &ss, &len) < 0,
	    "IPv6 only in brackets, IPv4 only without");
	CHECK(sockaddr_parse("localhost:80", &ss, &len) < 0 &&
		sockaddr_parse(":80", &ss, &len) < 0 && sockaddr_parse("[]:80", &ss, &len) < 0,
	    "no name is resolved, an empty host is no address");
	CHECK(sockaddr_parse("1.2.3.4:65536", &ss, &len) < 0, "the port range holds here too");
}

static void
test_host(void)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(4433)};
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct addr a;
	uint16_t port = 0;

	inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
	CHECK(sockaddr_host((struct sockaddr *)&in6, &a, &port) == 0 && a.family == 4 &&
		a.b[0] == 10 && a.b[3] == 3 && port == 4433,
	    "sockaddr_host: a v4-mapped address is its IPv4 address, with the port");
	inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr);
	CHECK(
	    sockaddr_host((struct sockaddr *)&in6, &a, &port) == 0 && a.family == 6 && a.b[15] == 7,
	    "sockaddr_host: an IPv6 address");
	inet_pton(AF_INET, "192.0.2.9", &in.sin_addr);
	CHECK(sockaddr_host((struct sockaddr *)&in, &a, &port) == 0 && a.family == 4 &&
		a.b[3] == 9 && port == 53,
	    "sockaddr_host: an IPv4 address");
	CHECK(sockaddr_host((struct sockaddr *)&un, &a, &port) == -1 &&
		sockaddr_host(NULL, &a, &port) == -1,
	    "sockaddr_host: another family or NULL is -1");
}

static void
test_names(void)
{
	static const char *const names[] = {"localhost", "a", "m-1.example.net", "example.net.",
	    "0.example", "xn--bcher-kva.example"};
	static const char *const not_names[] = {"", ".", ".a", "a..b", "-a", "a-", "a-.b", "a_b",
	    "a b", "a/b", "[::1]", "a.b..", "\xc3\xa9.example"};
	static const char *const endpoints[] = {
	    "192.0.2.1:1", "[2001:db8::1]:443", "manager.example:7443", "localhost:65535"};
	static const char *const not_endpoints[] = {"manager.example:0", "manager.example",
	    "[manager.example]:1", "2001:db8::1:443", "bad_name:1", ":443", "a:99999"};
	char label63[80], label64[80], long_name[300];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK(sockaddr_dns_name_valid(names[i]), "a DNS name: \"%s\"", names[i]);
	for (size_t i = 0; i < sizeof(not_names) / sizeof(not_names[0]); i++)
		CHECK(
		    !sockaddr_dns_name_valid(not_names[i]), "not a DNS name: \"%s\"", not_names[i]);
	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	CHECK(sockaddr_dns_name_valid(label63), "a label of 63 bytes");
	CHECK(!sockaddr_dns_name_valid(label64), "not a label of 64 bytes");
	for (size_t i = 0; i < 253; i += 2)
		long_name[i] = 'a', long_name[i + 1] = '.';
	long_name[253] = '\0'; /* 253 bytes, ends with "a" */
	long_name[252] = 'a';
	CHECK(sockaddr_dns_name_valid(long_name), "a name of 253 bytes");
	long_name[253] = '.';
	long_name[254] = '\0';
	CHECK(sockaddr_dns_name_valid(long_name), "and with its final dot");
	long_name[253] = 'b';
	CHECK(!sockaddr_dns_name_valid(long_name), "not a name of 254 bytes");
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		CHECK(sockaddr_endpoint_valid(endpoints[i]), "an endpoint: \"%s\"", endpoints[i]);
	for (size_t i = 0; i < sizeof(not_endpoints) / sizeof(not_endpoints[0]); i++)
		CHECK(!sockaddr_endpoint_valid(not_endpoints[i]), "not an endpoint: \"%s\"",
		    not_endpoints[i]);
}

int
main(void)
{
	test_names();
	test_host();
	test_format();
	test_split();
	test_parse();
	return check_done();
}
