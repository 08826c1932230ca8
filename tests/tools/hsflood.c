/* hsflood: QUIC handshakes that never finish, for measuring what half-open connections cost
 * an agent (agent/README.md, "Handshakes under pressure").
 *
 *   hsflood [--count N] ADDR:PORT
 *   hsflood --help | --version
 *       Send N (default 1000, at most 20000) client Initials to ADDR:PORT (a loopback address
 *       only), each a real first flight from a port of its own that is closed right after:
 *       like a spoofed source, it never answers a Retry nor finishes the handshake. Paced at
 *       16 every 5 ms so that the server's socket buffer holds them. Prints "sent N".
 *
 * Exit status 0, or 1 with a message on stderr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../agent/quic/quic.h"
#include "../../lib/args.h"

#define COUNT_MAX 20000

static void
usage_print(FILE *f)
{
	fprintf(f,
	    "usage: hsflood [--count N] ADDR:PORT\n"
	    "       hsflood --help | --version\n"
	    "\n"
	    "  --count N   Initials to send, each from a port of its own (default 1000)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct quic_client_config cfg;
	struct quic_callbacks cb;
	struct quic_conn *c;
	long count = 1000, i, sent = 0;
	char *end;
	int ch, mute;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > COUNT_MAX) {
				fprintf(stderr, "hsflood: --count \"%s\": want 1 to %d\n", optarg,
				    COUNT_MAX);
				return 1;
			}
			break;
		case 'h': usage_print(stdout); return 0;
		case 'V': args_version("hsflood");
		default: usage_print(stderr); return 1;
		}
	}
	if (optind + 1 != argc) {
		usage_print(stderr);
		return 1;
	}
	if (strncmp(argv[optind], "127.", 4) != 0 && strncmp(argv[optind], "[::1]:", 6) != 0) {
		fprintf(stderr, "hsflood: \"%s\": loopback addresses only\n", argv[optind]);
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.server = argv[optind];
	memset(&cb, 0, sizeof(cb));
	if ((mute = socket(AF_INET, SOCK_DGRAM, 0)) == -1) {
		perror("hsflood: socket");
		return 1;
	}
	for (i = 0; i < count; i++) {
		if ((c = quic_client_open(&cfg, &cb)) == NULL)
			return 1;
		/* gone without a CONNECTION_CLOSE: its socket now sends nowhere */
		if (dup2(mute, quic_client_fd(c)) != -1)
			sent++;
		quic_client_free(c);
		if (i % 16 == 15)
			usleep(5000);
	}
	printf("sent %ld\n", sent);
	return 0;
}
