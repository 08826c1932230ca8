/* DATAGRAM round trips through agent/quic/quic.h on loopback: a client sends datagrams of
 * min(1100, quic_conn_max_datagram) bytes, an echo server (a forked process, its own core)
 * sends each back; W datagrams are kept in flight. This is the reference the agent's data
 * plane is compared with. Usage: bench_datagram [seconds per window] (default 3). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../../agent/quic/quic.h"
#include "../../lib/clock.h"

/* ---- the echo server (child process) ---- */

static void
echo_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	(void)arg;
	(void)quic_datagram_send(c, data, len);
}

static void
run_server(struct quic_server *s, int ctl)
{
	struct pollfd pfd[2];
	struct timespec ts;
	uint64_t e, n;
	int fds[2];

	quic_server_fds(s, fds);
	pfd[0].fd = fds[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = ctl; /* the parent closes it when done */
	pfd[1].events = POLLIN;
	for (;;) {
		e = quic_server_expiry(s);
		n = clock_mono_ns();
		e = e == UINT64_MAX ? 1000000000u : e > n ? e - n : 0;
		ts.tv_sec = (time_t)(e / 1000000000u);
		ts.tv_nsec = (long)(e % 1000000000u);
		if (ppoll(pfd, 2, &ts, NULL) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN)
			quic_server_read(s, fds[0]);
		if (quic_server_expiry(s) <= clock_mono_ns())
			quic_server_expire(s, clock_mono_ns());
	}
	quic_server_free(s, 0, "shutting down");
}

/* ---- the client ---- */

struct bench {
	struct quic_conn *c;
	int ready, closed;
	size_t size;
	unsigned window, inflight;
	uint64_t received, seq;
	uint8_t buf[1500];
};

static void
cl_ready(void *arg, struct quic_conn *c)
{
	struct bench *b = arg;

	(void)c;
	b->ready = 1;
}

static void
cl_closed(void *arg, struct quic_conn *c, const struct quic_close *how)
{
	struct bench *b = arg;

	(void)c;
	fprintf(stderr, "bench_datagram: connection closed (code %llu \"%s\")\n",
	    (unsigned long long)how->code, how->reason);
	b->closed = 1;
	b->c = NULL;
}

static void
cl_datagram(void *arg, struct quic_conn *c, const uint8_t *data, size_t len)
{
	struct bench *b = arg;

	(void)c;
	(void)data;
	if (len != b->size)
		return;
	b->received++;
	if (b->inflight > 0)
		b->inflight--;
}

/* Keep the window full. */
static void
fill(struct bench *b)
{
	while (b->c != NULL && b->inflight < b->window) {
		memcpy(b->buf, &b->seq, sizeof(b->seq));
		if (quic_datagram_send(b->c, b->buf, b->size) != QUIC_OK)
			break;
		b->seq++;
		b->inflight++;
	}
}

/* One loop turn of the client; the timeout in ns. */
static void
client_turn(struct bench *b, uint64_t timeout)
{
	struct pollfd pfd;
	struct timespec ts;
	uint64_t e, n = clock_mono_ns();

	e = quic_client_expiry(b->c);
	e = e > n ? e - n : 0;
	if (e > timeout)
		e = timeout;
	ts.tv_sec = (time_t)(e / 1000000000u);
	ts.tv_nsec = (long)(e % 1000000000u);
	pfd.fd = quic_client_fd(b->c);
	pfd.events = POLLIN;
	if (ppoll(&pfd, 1, &ts, NULL) == -1 && errno != EINTR)
		return;
	if (pfd.revents & POLLIN)
		quic_client_read(b->c);
	if (b->c != NULL && quic_client_expiry(b->c) <= clock_mono_ns())
		quic_client_expire(b->c, clock_mono_ns());
	if (b->c != NULL) {
		fill(b);
		quic_client_flush(b->c);
	}
}

static int
measure(struct bench *b, unsigned window, double seconds)
{
	uint64_t start, end, last_progress, last_received;
	double rate;

	b->window = window;
	b->inflight = 0;
	/* warm-up: 0.3 s */
	end = clock_mono_ns() + 300000000u;
	while (b->c != NULL && clock_mono_ns() < end)
		client_turn(b, 10000000u);
	start = clock_mono_ns();
	end = start + (uint64_t)(seconds * 1e9);
	b->received = 0;
	last_received = 0;
	last_progress = start;
	while (b->c != NULL && clock_mono_ns() < end) {
		client_turn(b, 10000000u);
		if (b->received != last_received) {
			last_received = b->received;
			last_progress = clock_mono_ns();
		} else if (clock_mono_ns() - last_progress > 200000000u) {
			b->inflight = 0; /* lost ones: refill the window */
			last_progress = clock_mono_ns();
		}
	}
	if (b->c == NULL)
		return -1;
	rate = (double)b->received / ((double)(clock_mono_ns() - start) / 1e9);
	printf("datagram echo via agent/quic/quic.h: %.0f round trips/s (window %u, %zu-byte "
	       "datagrams)\n",
	    rate, window, b->size);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-datagram-XXXXXX", cert[256], key[256], target[64];
	unsigned char pin[QUIC_SPKI_PIN_LEN], secret[32] = {1, 2, 3};
	struct quic_server_config scfg;
	struct quic_client_config ccfg;
	struct quic_callbacks scb, ccb;
	struct quic_server *s;
	struct bench b;
	const struct sockaddr *sa;
	socklen_t sl;
	double seconds = argc > 1 && argv[1][0] != '\0' ? atof(argv[1]) : 3;
	int ctl[2], status, rv = 1;
	pid_t pid;
	uint64_t end;
	size_t max;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (quic_cert_ensure(cert, key) != 0 || quic_cert_spki_pin(cert, pin) != 0)
		return 1;
	memset(&scfg, 0, sizeof(scfg));
	scfg.listen = "127.0.0.1:0";
	scfg.cert_file = cert;
	scfg.key_file = key;
	scfg.static_secret = secret;
	scfg.retry = QUIC_RETRY_NEVER;
	memset(&scb, 0, sizeof(scb));
	scb.datagram = echo_datagram;
	if ((s = quic_server_new(&scfg, &scb)) == NULL)
		return 1;
	sa = quic_server_addr(s, &sl);
	snprintf(target, sizeof(target), "127.0.0.1:%u",
	    ntohs(((const struct sockaddr_in *)sa)->sin_port));
	if (pipe(ctl) == -1)
		return 1;
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		close(ctl[1]);
		run_server(s, ctl[0]);
		_exit(0);
	}
	close(ctl[0]);
	/* the parent's copy of the server: its socket stays with the child */
	memset(&b, 0, sizeof(b));
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.server = target;
	ccfg.spki_pin = pin;
	memset(&ccb, 0, sizeof(ccb));
	ccb.arg = &b;
	ccb.conn_ready = cl_ready;
	ccb.datagram = cl_datagram;
	ccb.conn_closed = cl_closed;
	if ((b.c = quic_client_open(&ccfg, &ccb)) == NULL)
		goto out;
	end = clock_mono_ns() + 3000000000u;
	while (b.c != NULL && !b.ready && clock_mono_ns() < end)
		client_turn(&b, 10000000u);
	if (!b.ready) {
		fprintf(stderr, "bench_datagram: no handshake\n");
		goto out;
	}
	/* until PMTUD has settled the size is 1200 - overhead; 1100 fits either way */
	max = quic_conn_max_datagram(b.c);
	b.size = max < 1100 ? max : 1100;
	printf("bench_datagram: loopback, client and echo server in two processes, %.1fs per "
	       "window\n",
	    seconds);
	if (measure(&b, 1, seconds) != 0 || measure(&b, 32, seconds) != 0)
		goto out;
	if (b.c != NULL) {
		struct quic_conn_stats st;

		quic_conn_stats(b.c, &st);
		printf("bench_datagram: client sent %llu datagrams, got %llu back\n",
		    (unsigned long long)st.tx_datagrams, (unsigned long long)st.rx_datagrams);
	}
	rv = 0;
out:
	quic_client_free(b.c);
	close(ctl[1]);
	waitpid(pid, &status, 0);
	/* the parent's copy: the fd is shared with the child, which is gone now */
	quic_server_free(s, 0, "done");
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return rv;
}
