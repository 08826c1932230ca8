/* The event loop: fd readiness over socketpairs (read, write only while asked, a hang-up on an
 * fd asked for nothing, an event dropped for an fd removed in the same turn), timers (order,
 * cancel, repeating, a timer's deadline met in one wait and never before), the before-sleep
 * hook and its wait limit, stop from a callback and from a signal. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/clock.h"
#include "../../lib/loop.h"
#include "check.h"

#define MS 1000000ull

struct rec {
	int calls;
	unsigned events;
	int fd;
	char order[32];
	size_t norder;
	uint64_t at;
	uint64_t cancel; /* a timer to cancel when called */
	int stop_after; /* stop the loop at this call */
};

static void
on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
	struct rec *r = arg;
	char buf[64];

	r->calls++;
	r->events |= events;
	r->fd = fd;
	if (events & LOOP_READ)
		(void)read(fd, buf, sizeof(buf));
	if (r->stop_after && r->calls == r->stop_after)
		loop_stop(l);
}

static void
on_timer(struct loop *l, uint64_t id, void *arg)
{
	struct rec *r = arg;

	r->calls++;
	r->at = clock_mono_ns();
	if (r->norder < sizeof(r->order) - 1)
		r->order[r->norder++] = (char)('0' + id % 10);
	if (r->cancel != 0)
		loop_timer_cancel(l, r->cancel);
	if (r->stop_after && r->calls == r->stop_after)
		loop_stop(l);
}

static void
test_fds(void)
{
	struct loop *l = loop_new();
	struct rec r = {0};
	int sp[2];

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp);
	CHECK(loop_fd_add(l, sp[0], LOOP_READ, on_fd, &r) == 0, "an fd is watched for reading");
	CHECK(loop_fd_add(l, sp[0], LOOP_READ, on_fd, &r) < 0 && errno == EEXIST,
	    "watching it twice is refused");
	CHECK(loop_once(l, 0) == 0 && r.calls == 0, "nothing to read: no callback");
	(void)write(sp[1], "x", 1);
	CHECK(loop_once(l, 1000) == 1 && r.calls == 1 && r.events == LOOP_READ && r.fd == sp[0],
	    "a byte written makes it readable, and only readable");

	memset(&r, 0, sizeof(r));
	CHECK(loop_fd_mask(l, sp[0], LOOP_READ | LOOP_WRITE) == 0, "asking for writability");
	CHECK(loop_once(l, 1000) == 1 && r.events == LOOP_WRITE, "a socket with room is writable");
	loop_fd_mask(l, sp[0], LOOP_READ);
	memset(&r, 0, sizeof(r));
	CHECK(loop_once(l, 0) == 0 && r.calls == 0, "no longer asked, no longer reported");

	/* asked for nothing, a hang-up must not wake the loop at every turn */
	loop_fd_mask(l, sp[0], 0);
	close(sp[1]);
	CHECK(loop_once(l, 20) == 0 && r.calls == 0, "an fd asked for nothing is not reported");
	loop_fd_mask(l, sp[0], LOOP_READ);
	CHECK(loop_once(l, 1000) == 1 && r.events == LOOP_READ,
	    "asked again, the hang-up shows as readable");
	CHECK(loop_fd_del(l, sp[0]) == 0 && loop_fd_del(l, sp[0]) < 0 && errno == ENOENT,
	    "an fd is removed once");
	CHECK(loop_fd_mask(l, sp[0], LOOP_READ) < 0 && errno == ENOENT,
	    "a removed fd cannot be changed");
	close(sp[0]);
	loop_free(l);
}

struct pair {
	int fd[2]; /* the watched ends */
	int calls;
};

static void
on_either(struct loop *l, int fd, unsigned events, void *arg)
{
	struct pair *p = arg;

	(void)events;
	p->calls++;
	/* the other one goes, with its event of this turn already collected */
	loop_fd_del(l, fd == p->fd[0] ? p->fd[1] : p->fd[0]);
}

static void
test_fd_removed_in_turn(void)
{
	struct loop *l = loop_new();
	struct pair p = {0};
	int a[2], b[2];

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a);
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b);
	p.fd[0] = a[0];
	p.fd[1] = b[0];
	loop_fd_add(l, a[0], LOOP_READ, on_either, &p);
	loop_fd_add(l, b[0], LOOP_READ, on_either, &p);
	(void)write(a[1], "x", 1);
	(void)write(b[1], "x", 1);
	usleep(1000);
	CHECK_EQ_INT(loop_once(l, 1000), 1, "two fds ready, one callback");
	CHECK_EQ_INT(p.calls, 1, "an fd removed by a callback of the same turn gets none");
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
	loop_free(l);
}

static void
test_timers(void)
{
	struct loop *l = loop_new();
	struct rec r = {0};
	uint64_t t1, t2, t3, t4, t0;

	/* added out of order; 3 and 4 share a deadline */
	t1 = loop_timer_add(l, 30 * MS, 0, on_timer, &r);
	t2 = loop_timer_add(l, 10 * MS, 0, on_timer, &r);
	t3 = loop_timer_add(l, 20 * MS, 0, on_timer, &r);
	t0 = clock_mono_ns();
	t4 = loop_timer_at(l, t0 + 20 * MS, on_timer, &r);
	CHECK(t1 == 1 && t2 == 2 && t3 == 3 && t4 == 4, "timer ids count up from 1");
	CHECK(loop_timer_cancel(l, t1) == 0, "a pending timer is cancelled");
	CHECK(loop_timer_cancel(l, t1) < 0 && loop_timer_cancel(l, 0) < 0 &&
		loop_timer_cancel(l, 99) < 0,
	    "cancelling it again, id 0 or an unknown id fails");
	while (r.calls < 3)
		loop_once(l, -1);
	r.order[r.norder] = '\0';
	CHECK(strcmp(r.order, "234") == 0,
	    "timers fire by deadline, equal deadlines in the order added (%s)", r.order);
	CHECK(loop_once(l, 50) == 0 && r.calls == 3, "the cancelled one never fires");
	CHECK(loop_timer_cancel(l, t2) < 0, "a fired one-shot timer is gone");

	/* the deadline: one wait, rounded up, never woken before it */
	memset(&r, 0, sizeof(r));
	t0 = clock_mono_ns();
	loop_timer_at(l, t0 + 25 * MS + MS / 2, on_timer, &r);
	CHECK(loop_once(l, -1) == 1 && r.calls == 1,
	    "a timer 25.5 ms away fires in the first wait, not after an early wake-up");
	CHECK(r.at >= t0 + 25 * MS + MS / 2 && r.at < t0 + 200 * MS,
	    "and not before its deadline (%.2f ms)", (double)(r.at - t0) / MS);
	memset(&r, 0, sizeof(r));
	loop_timer_at(l, t0, on_timer, &r);
	CHECK(loop_once(l, -1) == 1 && r.calls == 1, "a deadline past fires at once");
	loop_free(l);
}

static void
test_repeat_and_stop(void)
{
	struct loop *l = loop_new();
	struct rec r = {0}, self = {0};
	uint64_t id, t0 = clock_mono_ns();

	id = loop_timer_add(l, 0, 5 * MS, on_timer, &r);
	r.stop_after = 4;
	CHECK(loop_run(l) == 0 && r.calls == 4, "a repeating timer stops the loop at its 4th call");
	CHECK(clock_mono_ns() - t0 >= 15 * MS, "the repeats were 5 ms apart (%.1f ms for 3)",
	    (double)(clock_mono_ns() - t0) / MS);
	CHECK(loop_timer_cancel(l, id) == 0, "a repeating timer stays until cancelled");

	/* a repeating timer cancels itself from its callback */
	self.cancel = loop_timer_add(l, 0, 1 * MS, on_timer, &self);
	for (int i = 0; i < 5; i++)
		loop_once(l, 5);
	CHECK(self.calls == 1, "a repeating timer cancelled by its own callback fires once");
	loop_free(l);
}

static void
on_timer_add(struct loop *l, uint64_t id, void *arg)
{
	struct rec *r = arg;

	(void)id;
	r->calls++;
	if (r->calls == 1)
		loop_timer_add(l, 0, 0, on_timer_add, r);
}

struct hook {
	int calls;
	int wait;
};

static void
on_hook(struct loop *l, void *arg)
{
	struct hook *h = arg;

	h->calls++;
	loop_wait_max(l, h->wait);
}

static void
test_hook(void)
{
	struct loop *l = loop_new();
	struct hook h = {0, 10};
	struct rec r = {0};
	uint64_t t0;

	/* a zero-delay timer added by a timer callback: the next turn, not this one */
	loop_timer_add(l, 0, 0, on_timer_add, &r);
	CHECK(loop_once(l, 0) == 1 && r.calls == 1, "a timer added during the timer phase waits");
	CHECK(loop_once(l, 0) == 1 && r.calls == 2, "for the next turn");

	loop_before_sleep(l, on_hook, &h);
	t0 = clock_mono_ns();
	CHECK(loop_once(l, -1) == 0 && h.calls == 1, "the hook runs before the wait");
	CHECK(clock_mono_ns() - t0 < 1000 * MS, "its 10 ms limit ended a wait without end");
	h.wait = 0;
	t0 = clock_mono_ns();
	loop_timer_add(l, 2000 * MS, 0, on_timer, &r);
	loop_once(l, 5000);
	CHECK(
	    clock_mono_ns() - t0 < 1000 * MS && h.calls == 2, "a limit of 0 does not block at all");
	loop_before_sleep(l, NULL, NULL);
	loop_free(l);
}

static void
on_signal(struct loop *l, int signo, void *arg)
{
	int *got = arg;

	*got = signo;
	loop_stop(l);
}

static void
test_signals(void)
{
	struct loop *l = loop_new();
	struct rec r = {0};
	sigset_t set;
	int got = 0, sp[2];

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(loop_signals(l, &set, on_signal, &got) == 0, "SIGUSR1 comes through the loop");
	CHECK(loop_signals(l, &set, on_signal, &got) < 0, "once per loop");
	raise(SIGUSR1);
	CHECK(loop_run(l) == 0 && got == SIGUSR1, "a signal stops the loop from its callback");

	/* stop from an fd callback; the flag is cleared for the next run */
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp);
	loop_fd_add(l, sp[0], LOOP_READ, on_fd, &r);
	r.stop_after = 2;
	(void)write(sp[1], "x", 1);
	loop_timer_add(l, 20 * MS, 0, on_timer, &r);
	CHECK(loop_run(l) == 0 && r.calls == 2,
	    "an fd callback and then a timer callback ran, and the second stopped the loop");
	loop_stop(l);
	CHECK(loop_once(l, 1000) == 0, "a stop asked before the wait does not block");
	CHECK(loop_run(l) == 0, "and loop_run returns at once");
	loop_fd_del(l, sp[0]);
	close(sp[0]);
	close(sp[1]);
	loop_free(l);
	loop_free(NULL);
}

int
main(void)
{
	/* a wait that never ends is a failure, not a hung test run */
	alarm(60);
	test_fds();
	test_fd_removed_in_turn();
	test_timers();
	test_repeat_and_stop();
	test_hook();
	test_signals();
	return check_done();
}
