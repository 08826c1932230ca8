/* An exclusive advisory lock held for a process's life: flock(2) on a file of its own, so that
 * it survives the locked thing being replaced by rename (atomicfile_write gives a file a new
 * inode each time, which would drop a lock taken on the file itself). The kernel lets the lock
 * go when the process ends, however it ends: a crash leaves no stale lock, only the (empty)
 * lock file, which the next taker reuses. System-call conventions: nothing is logged. */
#ifndef LIB_LOCKFILE_H
#define LIB_LOCKFILE_H

/* Open (creating it 0600, never through a symlink) the regular file path and lock it
 * exclusively without waiting. 0 with the descriptor in *fd (close-on-exec; closing it lets the
 * lock go); -1 with errno EWOULDBLOCK when another open file description holds it (another
 * process, or this one through another open), EINVAL when path is no regular file, or what
 * open, fstat or flock said. */
int lockfile_take(const char *path, int *fd);

#endif
