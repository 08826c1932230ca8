/*
 * fds: a table indexed by fd. The epoll data of each fd carries its number and a generation
 * bumped on every add and del, so an event collected for an fd that a callback of the same turn
 * removed (and maybe reused for another) is recognised as stale and dropped. An fd asked for
 * nothing is taken out of the epoll set: level-triggered hang-ups would otherwise wake the loop
 * in a spin with nobody to handle them.
 *
 * Timers: a binary min-heap ordered by (deadline, id) for the next one due, and a hash table
 * from id to timer for loop_timer_cancel. Ids only grow, which is what keeps a timer added
 * during the timer phase out of that phase and equal deadlines in the order of adding.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hashtab.h"
#include "loop.h"

#define LOOP_EVENTS 64
#define NS_PER_MS 1000000u

struct loop_fd {
	loop_fd_fn *fn;
	void *arg;
	unsigned mask;
	uint32_t gen;
	int used, in_epoll;
};

struct loop_timer {
	struct hnode node; /* in loop.timers, keyed by id */
	uint64_t id, at, interval;
	size_t pos; /* in loop.heap */
	loop_timer_fn *fn;
	void *arg;
};

struct loop {
	int ep;
	struct loop_fd *fds;
	size_t nfds;
	struct loop_timer **heap;
	size_t nheap, capheap;
	struct hashtab timers;
	uint64_t last_id;
	loop_hook_fn *hook;
	void *hook_arg;
	int wait_max; /* ms, < 0: none */
	uint64_t wait_until; /* monotonic ns the next wait ends by; UINT64_MAX: none */
	int sigfd;
	loop_signal_fn *sigfn;
	void *sigarg;
	volatile sig_atomic_t stop;
};

static const void *
timer_key(const struct hnode *n, size_t *len)
{
	*len = sizeof(uint64_t);
	return &hashtab_centry(n, struct loop_timer, node)->id;
}

struct loop *
loop_new(void)
{
	struct loop *l = NULL, *ret = NULL;
	int saved;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto out;
	l->ep = l->sigfd = -1;
	l->wait_max = -1;
	l->wait_until = UINT64_MAX;
	if (hashtab_init(&l->timers, timer_key, 0) < 0) {
		errno = ENOMEM;
		goto out;
	}
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto out;
	ret = l;
	l = NULL;
out:
	saved = errno;
	loop_free(l);
	errno = saved;
	return ret;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nheap; i++)
		free(l->heap[i]);
	free(l->heap);
	hashtab_free(&l->timers);
	free(l->fds);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->ep >= 0)
		close(l->ep);
	free(l);
}

/* ---- fds ---- */

static struct loop_fd *
fd_slot(const struct loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].used)
		return NULL;
	return &l->fds[fd];
}

/* Bring fd's membership of the epoll set in line with f->mask. */
static int
fd_sync(struct loop *l, int fd, struct loop_fd *f)
{
	struct epoll_event ev = {0};
	int op;

	if (f->mask == 0) {
		if (!f->in_epoll)
			return 0;
		f->in_epoll = 0;
		/* EBADF, ENOENT: the owner closed it first, which took it out already */
		if (epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF &&
		    errno != ENOENT)
			return -1;
		return 0;
	}
	ev.events = ((f->mask & LOOP_READ) ? EPOLLIN : 0) | ((f->mask & LOOP_WRITE) ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)f->gen << 32 | (uint32_t)fd;
	op = f->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(l->ep, op, fd, &ev) < 0)
		return -1;
	f->in_epoll = 1;
	return 0;
}

int
loop_fd_add(struct loop *l, int fd, unsigned mask, loop_fd_fn *fn, void *arg)
{
	struct loop_fd *f, *nf;
	size_t n;

	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd_slot(l, fd) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if ((size_t)fd >= l->nfds) {
		n = l->nfds ? l->nfds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		if ((nf = realloc(l->fds, n * sizeof(*nf))) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memset(nf + l->nfds, 0, (n - l->nfds) * sizeof(*nf));
		l->fds = nf;
		l->nfds = n;
	}
	f = &l->fds[fd];
	f->fn = fn;
	f->arg = arg;
	f->mask = mask & (LOOP_READ | LOOP_WRITE);
	f->gen++;
	f->in_epoll = 0;
	if (fd_sync(l, fd, f) < 0)
		return -1;
	f->used = 1;
	return 0;
}

int
loop_fd_mask(struct loop *l, int fd, unsigned mask)
{
	struct loop_fd *f = fd_slot(l, fd);

	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	mask &= LOOP_READ | LOOP_WRITE;
	if (mask == f->mask)
		return 0;
	f->mask = mask;
	return fd_sync(l, fd, f);
}

int
loop_fd_del(struct loop *l, int fd)
{
	struct loop_fd *f = fd_slot(l, fd);
	int rv;

	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	f->mask = 0;
	rv = fd_sync(l, fd, f);
	f->used = 0;
	f->fn = NULL;
	f->gen++;
	return rv;
}

/* Call the callbacks of the n events collected. Returns how many were delivered. */
static int
fd_dispatch(struct loop *l, const struct epoll_event *ev, int n)
{
	int count = 0;

	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)ev[i].data.u64;
		uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct loop_fd *f = fd_slot(l, fd);
		unsigned ready = 0;
		loop_fd_fn *fn;
		void *arg;

		if (f == NULL || f->gen != gen)
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			ready |= LOOP_READ;
		if (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			ready |= LOOP_WRITE;
		/* a callback earlier in this turn may have changed what fd is watched for */
		if ((ready &= f->mask) == 0)
			continue;
		/* the callback may grow l->fds: nothing of f is used after it */
		fn = f->fn;
		arg = f->arg;
		count++;
		if (fn != NULL)
			fn(l, fd, ready, arg);
	}
	return count;
}

/* ---- timers ---- */

static int
timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->at < b->at || (a->at == b->at && a->id < b->id);
}

static void
heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->pos = i;
}

static void
heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0 && timer_before(t, l->heap[(i - 1) / 2])) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

static void
heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < l->nheap) {
		if (c + 1 < l->nheap && timer_before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!timer_before(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void
heap_remove(struct loop *l, struct loop_timer *t)
{
	size_t i = t->pos;
	struct loop_timer *last = l->heap[--l->nheap];

	if (i == l->nheap)
		return;
	heap_set(l, i, last);
	heap_up(l, i);
	heap_down(l, last->pos);
}

static uint64_t
timer_new(struct loop *l, uint64_t at, uint64_t interval, loop_timer_fn *fn, void *arg)
{
	struct loop_timer *t, **nh;
	size_t cap;

	if (l->nheap == l->capheap) {
		cap = l->capheap ? l->capheap * 2 : 16;
		if ((nh = realloc(l->heap, cap * sizeof(*nh))) == NULL)
			return 0;
		l->heap = nh;
		l->capheap = cap;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return 0;
	t->id = ++l->last_id;
	t->at = at;
	t->interval = interval;
	t->fn = fn;
	t->arg = arg;
	heap_set(l, l->nheap++, t);
	heap_up(l, t->pos);
	hashtab_insert(&l->timers, &t->node);
	return t->id;
}

uint64_t
loop_timer_add(
    struct loop *l, uint64_t delay_ns, uint64_t interval_ns, loop_timer_fn *fn, void *arg)
{
	uint64_t now = clock_mono_ns();

	return timer_new(
	    l, delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns, interval_ns, fn, arg);
}

uint64_t
loop_timer_at(struct loop *l, uint64_t at_ns, loop_timer_fn *fn, void *arg)
{
	return timer_new(l, at_ns, 0, fn, arg);
}

int
loop_timer_cancel(struct loop *l, uint64_t id)
{
	struct hnode *n = hashtab_find(&l->timers, &id, sizeof(id));
	struct loop_timer *t;

	if (n == NULL)
		return -1;
	t = hashtab_entry(n, struct loop_timer, node);
	hashtab_remove(&l->timers, n);
	heap_remove(l, t);
	free(t);
	return 0;
}

/* Fire the timers due now, except those added meanwhile. Returns how many fired. */
static int
timer_run(struct loop *l)
{
	uint64_t now = clock_mono_ns(), last = l->last_id, id;
	struct loop_timer *t;
	loop_timer_fn *fn;
	void *arg;
	int count = 0;

	while (l->nheap > 0 && (t = l->heap[0])->at <= now && t->id <= last) {
		id = t->id;
		fn = t->fn;
		arg = t->arg;
		if (t->interval != 0) {
			t->at = t->interval > UINT64_MAX - now ? UINT64_MAX : now + t->interval;
			heap_down(l, 0);
		} else {
			hashtab_remove(&l->timers, &t->node);
			heap_remove(l, t);
			free(t);
		}
		count++;
		fn(l, id, arg);
	}
	return count;
}

/* How long the next wait may last, in ns (-1: no limit): until the nearest timer, the caller's
 * timeout, loop_wait_max and loop_wait_until, whichever is first. */
static int64_t
wait_ns(const struct loop *l, int timeout_ms)
{
	uint64_t now = clock_mono_ns(), at = l->wait_until, d;

	if (l->stop)
		return 0;
	if (l->nheap > 0 && l->heap[0]->at < at)
		at = l->heap[0]->at;
	if (timeout_ms >= 0 && now + (uint64_t)timeout_ms * NS_PER_MS < at)
		at = now + (uint64_t)timeout_ms * NS_PER_MS;
	if (l->wait_max >= 0 && now + (uint64_t)l->wait_max * NS_PER_MS < at)
		at = now + (uint64_t)l->wait_max * NS_PER_MS;
	if (at == UINT64_MAX)
		return -1;
	d = at <= now ? 0 : at - now;
	return d > INT64_MAX ? INT64_MAX : (int64_t)d;
}

/* epoll_wait with a timeout in ns (< 0: none). The QUIC transport's deadlines (pacing, loss
 * timers) are often under a millisecond apart, so the wait is exact where the kernel offers
 * epoll_pwait2 (Linux 5.11); elsewhere it is rounded up to the millisecond, since waking
 * before a deadline would only mean another wait. */
static int
wait_events(int ep, struct epoll_event *ev, int max, int64_t ns)
{
	static int no_pwait2;
	struct timespec ts;
	int64_t ms;

	if (!no_pwait2) {
		ts.tv_sec = (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		int n = epoll_pwait2(ep, ev, max, ns < 0 ? NULL : &ts, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		no_pwait2 = 1;
	}
	ms = ns < 0 ? -1 : (ns + NS_PER_MS - 1) / NS_PER_MS;
	return epoll_wait(ep, ev, max, ms > INT_MAX ? INT_MAX : (int)ms);
}

/* ---- the loop ---- */

void
loop_before_sleep(struct loop *l, loop_hook_fn *fn, void *arg)
{
	l->hook = fn;
	l->hook_arg = arg;
}

void
loop_wait_max(struct loop *l, int ms)
{
	if (ms >= 0 && (l->wait_max < 0 || ms < l->wait_max))
		l->wait_max = ms;
}

void
loop_wait_until(struct loop *l, uint64_t at_ns)
{
	if (at_ns < l->wait_until)
		l->wait_until = at_ns;
}

static void
signal_read(struct loop *l, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (l->sigfn != NULL)
			l->sigfn(l, (int)si.ssi_signo, l->sigarg);
		else
			loop_stop(l);
	}
}

int
loop_signals(struct loop *l, const sigset_t *set, loop_signal_fn *fn, void *arg)
{
	int fd, rv = -1;

	if (l->sigfd >= 0) {
		errno = EBUSY;
		goto out;
	}
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0 ||
	    (fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		goto out;
	if (loop_fd_add(l, fd, LOOP_READ, signal_read, NULL) < 0) {
		/* closing a descriptor just made succeeds, and leaves errno as it is */
		close(fd);
		goto out;
	}
	l->sigfd = fd;
	l->sigfn = fn;
	l->sigarg = arg;
	rv = 0;
out:
	return rv;
}

int
loop_fd(const struct loop *l)
{
	return l->ep;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

int
loop_once(struct loop *l, int timeout_ms)
{
	struct epoll_event ev[LOOP_EVENTS];
	int64_t ns;
	int n;

	if (l->hook != NULL)
		l->hook(l, l->hook_arg);
	ns = wait_ns(l, timeout_ms);
	l->wait_max = -1;
	l->wait_until = UINT64_MAX;
	if ((n = wait_events(l->ep, ev, LOOP_EVENTS, ns)) < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	n = fd_dispatch(l, ev, n);
	return n + timer_run(l);
}

int
loop_run(struct loop *l)
{
	int rv = 0;

	while (!l->stop) {
		if (loop_once(l, -1) < 0) {
			rv = -1;
			break;
		}
	}
	l->stop = 0;
	return rv;
}
