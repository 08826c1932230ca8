/* slowclient: slow HTTP clients for the end-to-end tests of the manager's connection limits.
 *
 *   slowclient [--from ADDR] [--conns N] [--interval MS] [--seconds S] [--first TEXT]
 *              [--head TEXT] HOST PORT
 *       Open N connections to HOST:PORT (loopback only; from the local address ADDR when
 *       given), send the --first TEXT on each at once (none by default), then the --head TEXT
 *       one byte per connection every MS milliseconds (default 500),
 *       and after TEXT a header line "X-Trickle: 1\r\n" byte by byte, without end, so that a
 *       head is never complete. Prints "ready N" once connected, then, after S seconds
 *       (default 10) or when the server has closed them all, one line per connection: the
 *       seconds from its connection to its end by the server ("closed 2.01"), or "open".
 *
 * At most 256 connections, at most 60 seconds. Exit status 0, or 1 with a message on stderr. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 256
#define SECONDS_MAX 60

static const char trickle[] = "X-Trickle: 1\r\n";

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: slowclient [--from ADDR] [--conns N] [--interval MS] "
	    "[--seconds S] [--first TEXT] [--head TEXT] HOST PORT\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"conns", required_argument, NULL, 'n'},
	    {"interval", required_argument, NULL, 'i'},
	    {"seconds", required_argument, NULL, 's'},
	    {"head", required_argument, NULL, 'h'},
	    {"first", required_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	struct sockaddr_in to = {0}, from = {0};
	struct pollfd pfd[CONNS_MAX];
	double closed[CONNS_MAX], start, end, next;
	const char *src = NULL, *first = "", *head = "GET /v1/health HTTP/1.1\r\nHost: x\r\n";
	int n = 1, interval = 500, seconds = 10, ch, open;
	size_t sent = 0, hlen;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': src = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'h': head = optarg; break;
		case 'F': first = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || n < 1 || n > CONNS_MAX || interval < 1 || seconds < 1 ||
	    seconds > SECONDS_MAX)
		usage();
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	from.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[optind], &to.sin_addr) != 1 ||
	    (ntohl(to.sin_addr.s_addr) >> 24) != 127 ||
	    (src != NULL &&
		(inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
		    (ntohl(from.sin_addr.s_addr) >> 24) != 127))) {
		fprintf(stderr, "slowclient: loopback IPv4 addresses only\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	hlen = strlen(head);
	start = now();
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 ||
		    (src != NULL && bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0) ||
		    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
			fprintf(stderr, "slowclient: connection %d: %s\n", i, strerror(errno));
			return 1;
		}
		if (write(fd, first, strlen(first)) != (ssize_t)strlen(first)) {
			fprintf(stderr, "slowclient: connection %d: short write\n", i);
			return 1;
		}
		pfd[i].fd = fd;
		pfd[i].events = POLLIN;
		closed[i] = -1;
	}
	printf("ready %d\n", n);
	fflush(stdout);
	end = start + seconds;
	next = now();
	open = n;
	while (open > 0 && now() < end) {
		if (now() >= next) {
			char c = sent < hlen ? head[sent]
					     : trickle[(sent - hlen) % (sizeof(trickle) - 1)];
			for (int i = 0; i < n; i++)
				if (closed[i] < 0 && write(pfd[i].fd, &c, 1) < 0) {
					closed[i] = now() - start;
					open--;
				}
			sent++;
			next += interval / 1000.0;
		}
		if (poll(pfd, (nfds_t)n, 20) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			char buf[512];
			if (closed[i] >= 0 || (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			/* Whatever the server answers (nothing, for a head never complete) is read
			 * and dropped; its end is what is measured. */
			if (read(pfd[i].fd, buf, sizeof(buf)) <= 0) {
				closed[i] = now() - start;
				pfd[i].fd = -pfd[i].fd - 1;
				open--;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (closed[i] >= 0)
			printf("closed %.2f\n", closed[i]);
		else
			printf("open\n");
		close(pfd[i].fd < 0 ? -pfd[i].fd - 1 : pfd[i].fd);
	}
	return 0;
}
