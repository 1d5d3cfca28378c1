/*
 * fs - durable file operations.
 *
 * Contract: return 0 or a sysexits code with e filled.
 * fs_write_atomic: write to "<path>.tmp.<pid>" created O_EXCL with mode,
 * fsync it, rename over path, fsync the directory. Never truncates in
 * place. fs_read: reads at most max bytes (EX_DATAERR if larger).
 */
#ifndef CERTPIPE_FS_H
#define CERTPIPE_FS_H
#include <stddef.h>
#include <sys/types.h>
#include "err.h"

/* All len bytes to fd, again after EINTR and short writes: 0, or -1
 * with errno set. */
int fs_write_all(int fd, const void *data, size_t len);
int fs_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct err *e);
int fs_read(const char *path, size_t max, struct buf *out, struct err *e);
int fs_read_fd(int fd, size_t max, struct buf *out, struct err *e);
/* mkdir -p with mode for each created component; existing dirs are kept. */
int fs_mkdirs(const char *path, mode_t mode, struct err *e);
int fs_fsync_dir(const char *dir, struct err *e);
/* Overwrite with zeros, fsync, unlink: for private key files. */
int fs_unlink_secret(const char *path, struct err *e);

/* Where certpipe's program name lives: the directory of the running
 * binary when name is an executable there (a build tree), else the
 * install's libexec directory (CERTPIPE_LIBEXEC). fs_prog gives the
 * program's path, fs_prog_dir its directory; both malloc'd. */
char *fs_prog(const char *name);
char *fs_prog_dir(const char *name);

#endif
