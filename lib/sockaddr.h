/* Socket addresses as text: "1.2.3.4:5" and "[::1]:5", both ways. */
#ifndef LIB_SOCKADDR_H
#define LIB_SOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct addr;

/* "[" host "]:" port and the NUL. */
#define SOCKADDR_STRLEN (INET6_ADDRSTRLEN + 8)
/* The longest host part sockaddr_split takes (a DNS name: 253). */
#define SOCKADDR_HOST_MAX 255

/* sa as "1.2.3.4:5" or "[2001:db8::1]:5" into buf (len bytes, SOCKADDR_STRLEN is enough). An
 * IPv4-mapped IPv6 address stays as it is ("[::ffff:1.2.3.4]:5"): it names what the socket
 * saw. Returns 0, or -1 (buf "?") for NULL or a family other than AF_INET and AF_INET6. */
int sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* The host alone, "1.2.3.4" or "2001:db8::1", into buf (INET6_ADDRSTRLEN is enough), an
 * IPv4-mapped IPv6 address as IPv4 (a dual-stack listener's view of an IPv4 peer): the form for
 * logs and records of who called. Returns 0, or -1 (buf "?") as sockaddr_format. */
int sockaddr_format_host(const struct sockaddr *sa, char *buf, size_t len);

/* Split "HOST:PORT" or "[HOST]:PORT" into host (the text inside the brackets for the second;
 * hostlen bytes, SOCKADDR_HOST_MAX + 1 is enough) and *port. Without brackets the last colon
 * ends HOST. HOST may be empty (":80": the caller decides what that means); PORT is decimal
 * digits only, at most 65535. *bracketed (may be NULL) tells which form it was. Returns 0, or
 * -1 for anything else (host is then meaningless). */
int sockaddr_split(const char *text, char *host, size_t hostlen, uint16_t *port, int *bracketed);

/* Parse a numeric address: "1.2.3.4:5" (IPv4 only without brackets) or "[2001:db8::1]:5"
 * (IPv6 only within them) into *ss, its length in *len. No name is resolved. Returns 0 or
 * -1. */
int sockaddr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* Whether h is a host name as DNS has it: dot-separated labels of letters, digits and '-'
 * (not at a label's ends), each 1 to 63 bytes, 253 in all; a final dot is allowed. */
int sockaddr_dns_name_valid(const char *h);

/* Whether text is an endpoint to dial: a numeric address as sockaddr_parse() takes it, or
 * "NAME:PORT" with a DNS name and a port above 0. */
int sockaddr_endpoint_valid(const char *text);

/* The host address (an IPv4-mapped IPv6 address as IPv4) and port of sa. 0, or -1 for NULL or
 * another family. */
int sockaddr_host(const struct sockaddr *sa, struct addr *a, uint16_t *port);

#endif
