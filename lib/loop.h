/* The event loop each program runs, one per process on one thread (redis's ae in size): fds
 * watched with epoll, each with a callback; timers on CLOCK_MONOTONIC deadlines; a hook before
 * each wait; signals through a signalfd; a stop flag.
 *
 * A turn (loop_once): the before-sleep hook; one wait for events, no longer than the nearest
 * timer, the caller's timeout or what the hook asked for (loop_wait_max, loop_wait_until); the
 * callbacks of the ready fds; then the callbacks of the timers due.
 *
 * An owner whose library keeps an epoll fd of its own (libmicrohttpd's) registers it as an
 * ordinary fd: it is readable when one of the library's is ready. Ask for LOOP_WRITE only while
 * something is queued (loop_fd_mask), or the loop spins. */
#ifndef LIB_LOOP_H
#define LIB_LOOP_H

#include <signal.h>
#include <stdint.h>

#define LOOP_READ 1u
#define LOOP_WRITE 2u

struct loop;

/* An fd is ready: events holds LOOP_READ and/or LOOP_WRITE, only those asked for (an error or
 * a hang-up counts as both, so the next read or write sees it). */
typedef void loop_fd_fn(struct loop *l, int fd, unsigned events, void *arg);
/* The timer id is due (a repeating one is armed again already, so it may cancel itself). */
typedef void loop_timer_fn(struct loop *l, uint64_t id, void *arg);
typedef void loop_hook_fn(struct loop *l, void *arg);
typedef void loop_signal_fn(struct loop *l, int signo, void *arg);

/* A loop with no fds and no timers; NULL when out of memory or fds (errno). Free with
 * loop_free, which closes the loop's own fds (epoll, signalfd), not the ones registered. */
struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for mask (LOOP_READ, LOOP_WRITE, both or 0) with fn(l, fd, events, arg). fn NULL:
 * readiness only wakes the loop, for owners whose work runs every turn from the hook. 0, or
 * -1 with errno (EEXIST: fd is watched already; ENOMEM; what epoll_ctl said). */
int loop_fd_add(struct loop *l, int fd, unsigned mask, loop_fd_fn *fn, void *arg);

/* Change what fd is watched for (mask 0: nothing, the fd stays registered). 0, or -1 with
 * errno (ENOENT: fd is not watched). */
int loop_fd_mask(struct loop *l, int fd, unsigned mask);

/* Stop watching fd (before closing it, or at once after: both are fine). An event of fd
 * already collected in this turn is not delivered. 0, or -1 (ENOENT: fd is not watched). */
int loop_fd_del(struct loop *l, int fd);

/* A timer calling fn(l, id, arg) delay_ns from now, then again interval_ns after each firing
 * (0: once; a late turn delays the next firing rather than bunching firings up). Returns its id (never 0), or 0 when out of memory. A one-shot timer is gone once
 * it has fired. Timers with the same deadline fire in the order they were added; a timer
 * added by a timer callback never fires in the same turn. */
uint64_t loop_timer_add(
    struct loop *l, uint64_t delay_ns, uint64_t interval_ns, loop_timer_fn *fn, void *arg);

/* A one-shot timer at the monotonic deadline at_ns (clock_mono_ns), which may be past. Returns
 * its id or 0 as loop_timer_add. */
uint64_t loop_timer_at(struct loop *l, uint64_t at_ns, loop_timer_fn *fn, void *arg);

/* Cancel timer id. 0, or -1 when there is no such timer (it fired, was cancelled, or id is
 * 0). */
int loop_timer_cancel(struct loop *l, uint64_t id);

/* Call fn(l, arg) before each wait (NULL: none). */
void loop_before_sleep(struct loop *l, loop_hook_fn *fn, void *arg);

/* The next wait lasts at most ms milliseconds (0: it does not block; < 0: no change); the
 * least of several calls counts, and only for that wait. For owners whose library gives its
 * next timeout anew each turn (MHD_get_timeout): call it from the before-sleep hook. */
void loop_wait_max(struct loop *l, int ms);

/* The next wait ends by the monotonic deadline at_ns (clock_mono_ns) at the latest; the
 * earliest of several calls counts, and only for that wait. For owners that compute their next
 * deadline anew each turn (the QUIC transport): call it from the before-sleep hook. Waits are
 * exact to the nanosecond where the kernel has epoll_pwait2. */
void loop_wait_until(struct loop *l, uint64_t at_ns);

/* Block the signals in set and deliver them as fn(l, signo, arg) from the loop, through a
 * signalfd (fn NULL: each stops the loop). Once per loop. 0, or -1 with errno. The signals
 * stay blocked after loop_free. */
int loop_signals(struct loop *l, const sigset_t *set, loop_signal_fn *fn, void *arg);

/* Ask loop_run to return after the current turn (the turn is not cut short). It only sets a
 * flag: a signal handler may call it (the wait then ends with EINTR). */
void loop_stop(struct loop *l);

/* The loop's own epoll fd: readable while a watched fd is ready, so that a test can nest the
 * loop in its own poll and then run loop_once(l, 0). */
int loop_fd(const struct loop *l);

/* One turn (above), waiting at most timeout_ms (< 0: until an fd or a timer is due). Returns
 * how many callbacks ran (fds and timers), or -1 when epoll_wait failed (errno). A signal
 * interrupting the wait is no failure. */
int loop_once(struct loop *l, int timeout_ms);

/* Turn until loop_stop, then clear the stop flag. 0, or -1 as loop_once. */
int loop_run(struct loop *l);

#endif
