/* Directories that hold secrets (state dirs, the directories of key files). A directory another
 * user may write lets that user plant a file or a symlink where a secret is about to be written
 * or read, so such a directory is refused before anything is written to it. System-call
 * conventions: 0 or -1 with errno; nothing is logged, the caller prints why. */
#ifndef LIB_SAFEDIR_H
#define LIB_SAFEDIR_H

#include <stddef.h>

/* Whether dir may hold secrets: a directory (symlinks to one are followed), owned by the
 * effective user, that neither its group nor others may write. With root_ok (for keys that are
 * only read) root may own it too, and a process running as root accepts any owner (an agent
 * running as root reads the channel key in the manager's directory). 0; or -1 with errno (EPERM: another owner; EACCES: writable by
 * group or others; or what stat said, ENOTDIR for a non-directory), and in why (len bytes) a
 * sentence naming dir, what is wrong with it and the command that fixes it. */
int safedir_check(const char *dir, int root_ok, char *why, size_t len);

/* safedir_check for the directory that holds the file path ("." for a bare name). */
int safedir_check_parent(const char *path, int root_ok, char *why, size_t len);

#endif
