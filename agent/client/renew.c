#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bundle.h"
#include "../../lib/mgrhttp.h"
#include "renew.h"

int64_t
renew_at(int64_t issued, int64_t expires, int64_t now)
{
	int64_t life = expires - issued, t;

	if (life <= 0 || expires <= now)
		return now;
	t = issued + life / 4 * 3 + (life % 4) * 3 / 4;
	if (expires - RENEW_MARGIN > issued && t > expires - RENEW_MARGIN)
		t = expires - RENEW_MARGIN;
	return t < now ? now : t;
}

uint64_t
renew_backoff_ms(unsigned attempt, long retry_after, int64_t now, int64_t expires, uint32_t rnd)
{
	uint64_t step = RENEW_BACKOFF_MAX_MS, ms, last;

	if (attempt == 0)
		attempt = 1;
	if (attempt <= 7)
		step = (uint64_t)RENEW_BACKOFF_MIN_MS << (attempt - 1);
	if (step > RENEW_BACKOFF_MAX_MS)
		step = RENEW_BACKOFF_MAX_MS;
	/* Half fixed, half random: never all at once, never much sooner than the step. */
	ms = step / 2 + (uint64_t)rnd % (step / 2 + 1);
	if (retry_after > 0 && (uint64_t)retry_after * 1000 > ms)
		ms = (uint64_t)retry_after * 1000;
	/* The last useful moment: half the margin before expiry, if still ahead; closer than
	 * that (short tokens), half the time left, so that tries come thicker as the end nears
	 * and one still lands before it. */
	last = UINT64_MAX;
	if (expires - RENEW_MARGIN / 2 > now)
		last = (uint64_t)(expires - RENEW_MARGIN / 2 - now) * 1000;
	else if (expires > now)
		last = (uint64_t)(expires - now) * 1000 / 2;
	if (ms > last)
		ms = last;
	return ms < RENEW_BACKOFF_MIN_MS / 2 ? RENEW_BACKOFF_MIN_MS / 2 : ms;
}

struct renewer {
	int efd;
	pthread_t thread;
	int started; /* the thread exists and was not joined yet (the loop's only) */
	atomic_int done; /* the thread wrote its result (the thread sets, the loop reads) */
	/* Set by the loop before the thread starts, the thread's until done, the loop's after. */
	struct bundle *bundle;
	const char *path;
	struct renewer_result res;
};

struct renewer *
renewer_new(void)
{
	struct renewer *rn = calloc(1, sizeof(*rn));

	if (rn == NULL)
		return NULL;
	if ((rn->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		free(rn);
		return NULL;
	}
	return rn;
}

static void *
run(void *arg)
{
	struct renewer *rn = arg;
	uint64_t one = 1;

	rn->res.status = enroll_client_refresh(
	    rn->bundle, rn->path, &rn->res.retry_after, rn->res.message, sizeof(rn->res.message));
	atomic_store(&rn->done, 1);
	/* A write of 1 to an eventfd only fails when the counter would overflow: never here. */
	while (write(rn->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	return NULL;
}

int
renewer_start(struct renewer *rn, struct bundle *b, const char *path)
{
	int rv;

	if (rn->started) {
		errno = EBUSY;
		return -1;
	}
	rn->bundle = b;
	rn->path = path;
	memset(&rn->res, 0, sizeof(rn->res));
	atomic_store(&rn->done, 0);
	if ((rv = pthread_create(&rn->thread, NULL, run, rn)) != 0) {
		errno = rv;
		return -1;
	}
	rn->started = 1;
	return 0;
}

int
renewer_take(struct renewer *rn, struct renewer_result *res)
{
	uint64_t n;

	/* Drain the eventfd whatever happens: a stale wake-up would spin the loop. */
	while (read(rn->efd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	if (!rn->started || !atomic_load(&rn->done)) {
		errno = EAGAIN;
		return -1;
	}
	pthread_join(rn->thread, NULL);
	rn->started = 0;
	*res = rn->res;
	rn->bundle = NULL;
	return 0;
}

int
renewer_fd(const struct renewer *rn)
{
	return rn->efd;
}

int
renewer_busy(const struct renewer *rn)
{
	return rn->started;
}

void
renewer_free(struct renewer *rn)
{
	if (rn == NULL)
		return;
	if (rn->started) {
		/* the refresh's request id is saved before it is sent: cut short, it is repeated
		 * safely at the next start */
		mgrhttp_cancel();
		pthread_join(rn->thread, NULL);
	}
	close(rn->efd);
	free(rn);
}
