/* Small files that must be whole or absent (keys, tokens, the URL being served), written beside
 * and renamed into place, and read back the way a secret is read: never through a symlink, and
 * only when the size is exactly what was written. System-call conventions: 0 or -1 with errno;
 * nothing is logged, callers name the file in their message. */
#ifndef LIB_ATOMICFILE_H
#define LIB_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Write the len bytes at data to path durably: "<path>.tmp" is created (O_EXCL, O_NOFOLLOW)
 * with mode (less the umask, as open(2) does), written, synced, renamed over path, and the
 * directory synced. A temporary file left by a crash is removed first; a symlink planted at
 * its name is removed, never followed. After a crash, path is either the old file or the new
 * one. 0, or -1 with errno; on failure no temporary file is left (unless only the directory
 * sync failed: then path is already the new file). */
int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode);

/* Read the regular file path, which must be exactly len bytes, into buf. It is opened with
 * O_NOFOLLOW: a symlink fails with ELOOP. *size (may be NULL) gets the file's size, or -1 when
 * it could not be had. 0, or -1 with errno: ENOENT (absent), ELOOP, EINVAL (not a regular file,
 * or of another size than len), or what open, fstat or read said. On failure buf is zeroed. */
int atomicfile_read(const char *path, void *buf, size_t len, off_t *size);

/* fsync the directory dir, so that entries just created or renamed in it survive a crash. 0,
 * or -1 with errno. */
int atomicfile_sync_dir(const char *dir);

#endif
