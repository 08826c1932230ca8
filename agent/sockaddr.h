/* Socket addresses as the agent shows and reports them: "1.2.3.4:5" / "[2001:db8::1]:5" text
 * (logs, the listen address in HELLO and agent.addr, a session's remote in SESSION_UP), and the
 * host address and port of assign_socketaddr. */
#ifndef AGENT_SOCKADDR_H
#define AGENT_SOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../lib/addr.h"

#define SOCKADDR_STRLEN (ADDR_STRLEN + 8) /* "[" address "]:" port and the NUL */

/* sa as "ADDRESS:PORT" (IPv4) or "[ADDRESS]:PORT" (IPv6) into buf (len bytes, truncated to
 * fit); "?" for NULL or another family. */
void sockaddr_format(const struct sockaddr *sa, char *buf, size_t len);

/* The host address (an IPv4-mapped IPv6 address as IPv4) and port of sa. 0, or -1 for NULL or
 * another family. */
int sockaddr_host(const struct sockaddr *sa, struct addr *a, uint16_t *port);

#endif
