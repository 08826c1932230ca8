/* pgcut: a relay between the manager and PostgreSQL that cuts a connection exactly around a
 * COMMIT, for the end-to-end tests of a commit whose answer is lost with the connection.
 *
 *   pgcut --listen SOCKET --to SOCKET --arm-dir DIR
 *       Listen on the UNIX socket --listen (a client reaches it as a PostgreSQL server whose
 *       socket dir is that path's dir: name it .s.PGSQL.5432), relay each connection to the
 *       server's UNIX socket --to. The relay reads the protocol's message frames (over a UNIX
 *       socket a client asks for no encryption). Two one-shot triggers, armed by creating a
 *       file in DIR and spent (the file removed) when they fire:
 *         DIR/answer   the server's answer to a COMMIT (CommandComplete "COMMIT") is dropped
 *                      and both sides of that connection closed: the transaction committed,
 *                      but the client cannot know;
 *         DIR/request  a client's COMMIT (a simple Query "COMMIT") is dropped and both sides
 *                      closed: the server never sees it and rolls back.
 *       The file holds a mark (one line, or nothing): the trigger fires at the first COMMIT
 *       on a connection whose client sent the mark since the trigger was armed (a value of the
 *       transaction's statements), so that a manager's background transactions do not spend
 *       it; an empty mark matches any COMMIT. Prints "cut answer" or "cut request" when a
 *       trigger fires. Runs until killed.
 *
 * At most 32 connections at once. Exit status 1 with a message on stderr on a setup error. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PAIRS_MAX 32
#define BUF_SIZE 65536
#define SSL_REQUEST 80877103u
#define GSSENC_REQUEST 80877104u

/* One direction of a relayed connection and where its reader stands in the message frames. */
struct side {
	int fd;
	unsigned char buf[BUF_SIZE];
	size_t len;
	uint64_t left; /* bytes of the current message still to relay as they come */
	int untyped; /* the next message has no type byte (the client's startup messages) */
};

enum trigger { T_ANSWER, T_REQUEST, T_COUNT };
static const char *const trigger_name[T_COUNT] = {"answer", "request"};

struct pair {
	struct side client, server; /* client: what the client sends; server: what it answers */
	int marked[T_COUNT]; /* the client sent the trigger's mark */
	int cut_answer; /* the COMMIT sent is the armed one: its answer is not relayed */
};

static struct pair *pairs[PAIRS_MAX];
static const char *arm_dir;

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether trigger t is armed; its mark into mark (mlen bytes). */
static int
armed(enum trigger t, char *mark, size_t mlen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", arm_dir, trigger_name[t]);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(mark, (int)mlen, f) == NULL)
		mark[0] = '\0';
	mark[strcspn(mark, "\n")] = '\0';
	fclose(f);
	return 1;
}

/* Whether trigger t fires at a COMMIT of pair p; disarms it when it does. */
static int
fire(struct pair *p, enum trigger t)
{
	char path[4096], mark[256];

	if (!armed(t, mark, sizeof(mark)) || (mark[0] != '\0' && !p->marked[t]))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", arm_dir, trigger_name[t]);
	if (unlink(path) < 0)
		return 0;
	for (int i = 0; i < PAIRS_MAX; i++)
		if (pairs[i] != NULL)
			pairs[i]->marked[t] = 0;
	printf("cut %s\n", trigger_name[t]);
	fflush(stdout);
	return 1;
}

/* Note the marks of the armed triggers in n bytes the client sent (a mark split over two
 * reads is missed: a client's statement comes in one write, and one read on a UNIX socket). */
static void
look_for_marks(struct pair *p, const unsigned char *data, size_t n)
{
	char mark[256];

	for (int t = 0; t < T_COUNT; t++)
		if (armed(t, mark, sizeof(mark)) && mark[0] != '\0' &&
		    memmem(data, n, mark, strlen(mark)) != NULL)
			p->marked[t] = 1;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Relay what s holds to fd, whole frames at a time where a COMMIT could be: 0 goes on, -1
 * closes the pair (a write failed, or a trigger fired). A COMMIT frame is 12 bytes: type, the
 * length 11, "COMMIT" and its NUL. */
static int
relay(struct pair *pr, int from_client)
{
	struct side *s = from_client ? &pr->client : &pr->server;
	int fd = from_client ? pr->server.fd : pr->client.fd;
	static const unsigned char commit[] = "COMMIT";
	size_t at = 0, n;

	while (at < s->len) {
		const unsigned char *p = s->buf + at;
		size_t avail = s->len - at;

		if (s->left > 0) {
			n = avail < s->left ? avail : (size_t)s->left;
			if (write_all(fd, p, n) < 0)
				return -1;
			s->left -= n;
			at += n;
			continue;
		}
		if (s->untyped) {
			/* Startup, SSL or GSS request: length and code, no type byte. */
			if (avail < 8)
				break;
			s->left = be32(p);
			if (s->left < 8)
				return -1;
			if (be32(p + 4) != SSL_REQUEST && be32(p + 4) != GSSENC_REQUEST)
				s->untyped = 0;
			else
				return -1; /* encryption would hide the frames: refused */
			continue;
		}
		if (avail < 5)
			break;
		s->left = 1 + (uint64_t)be32(p + 1);
		if (be32(p + 1) < 4)
			return -1;
		if (be32(p + 1) == 11 && (p[0] == (from_client ? 'Q' : 'C'))) {
			if (avail < 12)
				break;
			if (memcmp(p + 5, commit, sizeof(commit)) == 0) {
				if (from_client && fire(pr, T_REQUEST))
					return -1;
				if (from_client)
					pr->cut_answer = fire(pr, T_ANSWER);
				else if (pr->cut_answer)
					return -1;
			}
		}
	}
	memmove(s->buf, s->buf + at, s->len - at);
	s->len -= at;
	return 0;
}

static void
pair_close(int i)
{
	close(pairs[i]->client.fd);
	close(pairs[i]->server.fd);
	free(pairs[i]);
	pairs[i] = NULL;
}

static int
unix_address(const char *path, struct sockaddr_un *sun)
{
	*sun = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

static void
accept_one(int lfd, const struct sockaddr_un *to)
{
	struct pair *p;
	int c, s, i;

	if ((c = accept(lfd, NULL, NULL)) < 0)
		return;
	for (i = 0; i < PAIRS_MAX && pairs[i] != NULL; i++)
		;
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (i == PAIRS_MAX || s < 0 || connect(s, (const struct sockaddr *)to, sizeof(*to)) < 0 ||
	    (p = calloc(1, sizeof(*p))) == NULL) {
		fprintf(stderr, "pgcut: cannot relay a connection: %s\n",
		    i == PAIRS_MAX ? "too many" : strerror(errno));
		close(c);
		if (s >= 0)
			close(s);
		return;
	}
	p->client.fd = c;
	p->client.untyped = 1;
	p->server.fd = s;
	pairs[i] = p;
}

static void
usage(void)
{
	fprintf(stderr, "usage: pgcut --listen SOCKET --to SOCKET --arm-dir DIR\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"to", required_argument, NULL, 't'},
	    {"arm-dir", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	struct sockaddr_un to, la;
	const char *to_path = NULL, *listen_path = NULL;
	int lfd, ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': listen_path = optarg; break;
		case 't': to_path = optarg; break;
		case 'a': arm_dir = optarg; break;
		default: usage();
		}
	}
	if (to_path == NULL || listen_path == NULL || arm_dir == NULL || optind != argc)
		usage();
	if (unix_address(to_path, &to) < 0 || unix_address(listen_path, &la) < 0) {
		fprintf(stderr, "pgcut: a socket path is too long\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	unlink(listen_path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "pgcut: cannot listen on %s: %s\n", listen_path, strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd pfd[1 + 2 * PAIRS_MAX];
		int owner[1 + 2 * PAIRS_MAX], n = 1;

		pfd[0] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < PAIRS_MAX; i++) {
			if (pairs[i] == NULL)
				continue;
			owner[n] = i;
			pfd[n++] = (struct pollfd){pairs[i]->client.fd, POLLIN, 0};
			owner[n] = i;
			pfd[n++] = (struct pollfd){pairs[i]->server.fd, POLLIN, 0};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "pgcut: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd, &to);
		for (int k = 1; k < n; k++) {
			struct pair *p = pairs[owner[k]];
			int from_client;
			struct side *s;
			ssize_t r;

			if (p == NULL || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			from_client = pfd[k].fd == p->client.fd;
			s = from_client ? &p->client : &p->server;
			r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
			if (r > 0 && from_client)
				look_for_marks(p, s->buf + s->len, (size_t)r);
			if (r > 0)
				s->len += (size_t)r;
			if (r <= 0 || relay(p, from_client) < 0) {
				pair_close(owner[k]);
				continue;
			}
		}
	}
}
