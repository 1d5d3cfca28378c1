/* fs - durable writes and bounded reads (see fs.h). */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fs.h"

int
fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fs_fsync_dir(const char *dir, struct err *e)
{
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, EX_IOERR, "%s: open: %s", dir, strerror(errno));
	if (fsync(fd) < 0)
		rc = err_set(e, EX_IOERR, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    struct err *e)
{
	struct buf tmp = {0}, dir = {0};
	const char *slash;
	int fd = -1, rc = EX_IOERR;

	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		/* a leftover of a crashed run of this same pid number */
		unlink(tmp.p);
		fd = open(tmp.p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	}
	if (fd < 0) {
		rc = err_set(e, EX_CANTCREAT, "%s: create: %s", tmp.p,
		    strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) < 0 || fs_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		err_set(e, EX_IOERR, "%s: write: %s", tmp.p, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(e, EX_IOERR, "%s: close: %s", tmp.p, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.p, path) < 0) {
		err_set(e, EX_IOERR, "%s: rename: %s", path, strerror(errno));
		goto out;
	}
	slash = strrchr(path, '/');
	if (slash == NULL)
		buf_adds(&dir, ".");
	else
		buf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	if ((rc = fs_fsync_dir(dir.p, e)) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp.p)
		unlink(tmp.p);
	buf_free(&tmp);
	buf_free(&dir);
	return rc;
}

int
fs_read_fd(int fd, size_t max, struct buf *out, struct err *e)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(e, EX_IOERR, "read: %s", strerror(errno));
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > max)
			return err_set(e, EX_DATAERR,
			    "input larger than %zu bytes", max);
		buf_add(out, chunk, (size_t)n);
	}
}

int
fs_read(const char *path, size_t max, struct buf *out, struct err *e)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	rc = fs_read_fd(fd, max, out, e);
	close(fd);
	if (rc != 0)
		err_prefix(e, "%s", path);
	return rc;
}

int
fs_mkdirs(const char *path, mode_t mode, struct err *e)
{
	struct buf b = {0};
	struct stat st;
	size_t i;
	int rc = 0;

	buf_adds(&b, path);
	for (i = 1; i <= b.len; i++) {
		if (b.p[i] != '/' && b.p[i] != '\0')
			continue;
		b.p[i] = '\0';
		if (mkdir(b.p, mode) < 0 && errno != EEXIST) {
			rc = err_set(e, EX_CANTCREAT, "%s: mkdir: %s", b.p,
			    strerror(errno));
			goto out;
		}
		if (stat(b.p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			rc = err_set(e, EX_CANTCREAT, "%s: not a directory", b.p);
			goto out;
		}
		if (i < b.len)
			b.p[i] = '/';
	}
out:
	buf_free(&b);
	return rc;
}

int
fs_unlink_secret(const char *path, struct err *e)
{
	static const char zero[4096];
	struct stat st;
	off_t left;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == 0) {
		for (left = st.st_size; left > 0;) {
			size_t n = left > (off_t)sizeof zero ? sizeof zero :
			    (size_t)left;
			if (fs_write_all(fd, zero, n) < 0)
				break;
			left -= (off_t)n;
		}
		fsync(fd);
	}
	close(fd);
	if (unlink(path) < 0)
		return err_set(e, EX_IOERR, "%s: unlink: %s", path,
		    strerror(errno));
	return 0;
}

#ifndef CERTPIPE_LIBEXEC
#define CERTPIPE_LIBEXEC "/usr/local/libexec/certpipe"
#endif

char *
fs_prog_dir(const char *name)
{
	char exe[PATH_MAX], *slash;
	struct buf p = {0};
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		buf_printf(&p, "%s/%s", exe, name);
		if (access(p.p, X_OK) == 0) {
			buf_free(&p);
			return xstrdup(exe);
		}
	}
	buf_free(&p);
	return xstrdup(CERTPIPE_LIBEXEC);
}

char *
fs_prog(const char *name)
{
	struct buf p = {0};
	char *dir = fs_prog_dir(name);

	buf_printf(&p, "%s/%s", dir, name);
	free(dir);
	return buf_steal(&p);
}
