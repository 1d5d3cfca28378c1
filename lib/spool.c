/* spool - queue paths and the commit protocol (see spool.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include "fs.h"
#include "rec.h"
#include "spool.h"

/*
 * Larger than any record rec.c accepts (512 headers of 4 KiB plus
 * 256 KiB of PEM as base64), smaller than anything that hurts.
 */
#define SPOOL_MAX_FILE (8 * 1024 * 1024)

static const char *const queues[] = {
	"incoming", "policy", "held", "sign", "submit", "dcv", "deploy",
	"done", "failed", "deferred", NULL
};

struct spool {
	char *home;
	int lockfd;
};

const char *const *
spool_queues(void)
{
	return queues;
}

static int
queue_ok(const char *q)
{
	const char *const *p;

	for (p = queues; *p; p++)
		if (strcmp(*p, q) == 0)
			return 1;
	return 0;
}

int
spool_id_ok(const char *id)
{
	return rec_id_ok(id);	/* a job file is named by its record's Id */
}

void
spool_newid(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* "<home>/queue/<q>[/<sub>[/<id>]]" */
static char *
path(const char *home, const char *q, const char *sub, const char *id)
{
	struct buf b = {0};

	buf_printf(&b, "%s/queue", home);
	if (q)
		buf_printf(&b, "/%s", q);
	if (sub)
		buf_printf(&b, "/%s", sub);
	if (id)
		buf_printf(&b, "/%s", id);
	return buf_steal(&b);
}

static int
check(const char *q, const char *id, struct err *e)
{
	if (!queue_ok(q))
		return err_set(e, EX_SOFTWARE, "spool: no queue '%s'", q);
	if (id && !spool_id_ok(id))
		return err_set(e, EX_DATAERR, "spool: '%s' is not a job id", id);
	return 0;
}

int
spool_init(const char *home, struct err *e)
{
	const char *const *q;
	char *p = NULL;
	struct buf b = {0};
	struct stat st;
	int rc = 0, fd;

	for (q = queues; *q && rc == 0; q++) {
		p = path(home, *q, "tmp", NULL);
		rc = fs_mkdirs(p, 0700, e);
		free(p);
		if (rc)
			break;
		p = path(home, *q, "new", NULL);
		rc = fs_mkdirs(p, 0700, e);
		free(p);
	}
	if (rc)
		return rc;
	buf_printf(&b, "%s/trigger", home);
	/* 0620: front ends in the instance's group may poke it */
	if (mkfifo(b.p, 0620) == 0)
		(void)chmod(b.p, 0620);		/* past the umask */
	else if (errno != EEXIST)
		rc = err_set(e, EX_CANTCREAT, "%s: mkfifo: %s", b.p,
		    strerror(errno));
	else if (stat(b.p, &st) < 0 || !S_ISFIFO(st.st_mode))
		rc = err_set(e, EX_CANTCREAT, "%s: exists and is not a FIFO",
		    b.p);
	buf_reset(&b);
	buf_printf(&b, "%s/queue/lock", home);
	if (rc == 0) {
		fd = open(b.p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			rc = err_set(e, EX_CANTCREAT, "%s: %s", b.p,
			    strerror(errno));
		else
			close(fd);
	}
	buf_free(&b);
	return rc;
}

int
spool_open(const char *home, struct spool **out, struct err *e)
{
	struct stat st;
	char *p = path(home, NULL, NULL, NULL);
	int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	*out = NULL;
	if (!ok)
		return err_set(e, EX_CONFIG, "%s: no spool (run 'certpipe "
		    "init')", home);
	*out = xcalloc(1, sizeof **out);
	(*out)->home = xstrdup(home);
	(*out)->lockfd = -1;
	return 0;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	free(sp->home);
	free(sp);
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
spool_put(struct spool *sp, const char *q, const char *id, const void *data,
    size_t len, struct err *e)
{
	char *tmp = NULL, *dst = NULL, *dir = NULL;
	int fd = -1, rc, mine = 0;

	if ((rc = check(q, id, e)) != 0)
		return rc;
	tmp = path(sp->home, q, "tmp", id);
	dst = path(sp->home, q, "new", id);
	dir = path(sp->home, q, "new", NULL);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* Another writer of this id, or a crash's leftover that
		 * spool_recover will remove: not ours to delete. */
		rc = err_set(e, errno == EEXIST ? EX_TEMPFAIL : EX_IOERR,
		    "%s: create: %s", tmp, strerror(errno));
		goto out;
	}
	mine = 1;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		rc = err_set(e, EX_IOERR, "%s: write: %s", tmp, strerror(errno));
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = err_set(e, EX_IOERR, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	/*
	 * link() refuses an existing target atomically, where "check, then
	 * rename()" leaves a window in which two writers of one id both
	 * pass the check and the second silently replaces the first. A
	 * crash between link() and the unlink() below leaves only a second
	 * name in tmp/, which spool_recover removes.
	 */
	if (link(tmp, dst) < 0) {
		rc = err_set(e, errno == EEXIST ? EX_CANTCREAT : EX_IOERR,
		    "%s: commit: %s", dst, strerror(errno));
		goto out;
	}
	if ((rc = fs_fsync_dir(dir, e)) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (mine)
		unlink(tmp);	/* the link in new/ (if any) is the job */
	free(tmp);
	free(dst);
	free(dir);
	return rc;
}

int
spool_move(struct spool *sp, const char *from, const char *to, const char *id,
    struct err *e)
{
	char *src = NULL, *dst = NULL, *sdir = NULL, *ddir = NULL;
	int rc;

	if ((rc = check(from, id, e)) != 0 || (rc = check(to, NULL, e)) != 0)
		return rc;
	src = path(sp->home, from, "new", id);
	dst = path(sp->home, to, "new", id);
	sdir = path(sp->home, from, "new", NULL);
	ddir = path(sp->home, to, "new", NULL);
	/*
	 * rename(), not link() + unlink(): a crash must leave the job in
	 * exactly one queue, or a stage could run it twice (a certificate
	 * signed twice). The price is the check-then-rename window, in which
	 * a concurrent spool_put of the same id into the target would be
	 * replaced; ids are fresh UUIDs and a job has one owner at a time,
	 * so no such writer exists.
	 */
	if (access(src, F_OK) < 0) {
		rc = err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "spool: %s -> %s: %s: %s", from, to, id, strerror(errno));
		goto out;
	}
	if (access(dst, F_OK) == 0) {
		rc = err_set(e, EX_CANTCREAT, "spool: %s -> %s: %s is already "
		    "in %s", from, to, id, to);
		goto out;
	}
	if (rename(src, dst) < 0) {
		rc = err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "spool: %s -> %s: %s: %s", from, to, id, strerror(errno));
		goto out;
	}
	/* the new name first: if only one survives a crash, it is that */
	if ((rc = fs_fsync_dir(ddir, e)) != 0)
		goto out;
	rc = fs_fsync_dir(sdir, e);
out:
	free(src);
	free(dst);
	free(sdir);
	free(ddir);
	return rc;
}

int
spool_remove(struct spool *sp, const char *q, const char *id, struct err *e)
{
	char *p = NULL, *dir = NULL;
	int rc;

	if ((rc = check(q, id, e)) != 0)
		return rc;
	p = path(sp->home, q, "new", id);
	dir = path(sp->home, q, "new", NULL);
	if (unlink(p) < 0)
		rc = err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: unlink: %s", p, strerror(errno));
	else
		rc = fs_fsync_dir(dir, e);
	free(p);
	free(dir);
	return rc;
}

int
spool_read(struct spool *sp, const char *q, const char *id, struct buf *out,
    struct err *e)
{
	char *p;
	int rc;

	if ((rc = check(q, id, e)) != 0)
		return rc;
	p = path(sp->home, q, "new", id);
	rc = fs_read(p, SPOOL_MAX_FILE, out, e);
	free(p);
	return rc;
}

struct ent {
	char *id;
	struct timespec mtime;
};

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
spool_list(struct spool *sp, const char *q, char ***ids, size_t *n,
    struct err *e)
{
	struct ent *v = NULL;
	struct dirent *d;
	struct stat st;
	size_t i, cnt = 0;
	char *dir = NULL;
	DIR *dp = NULL;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((rc = check(q, NULL, e)) != 0)
		return rc;
	dir = path(sp->home, q, "new", NULL);
	if ((dp = opendir(dir)) == NULL) {
		rc = err_set(e, EX_IOERR, "%s: %s", dir, strerror(errno));
		goto out;
	}
	while ((d = readdir(dp)) != NULL) {
		if (!spool_id_ok(d->d_name) ||
		    fstatat(dirfd(dp), d->d_name, &st, 0) < 0)
			continue;	/* vanished, or not ours */
		v = xrealloc(v, sizeof *v * (cnt + 1));
		v[cnt].id = xstrdup(d->d_name);
		v[cnt].mtime = st.st_mtim;
		cnt++;
	}
	if (cnt)
		qsort(v, cnt, sizeof *v, ent_cmp);
	*ids = xcalloc(cnt + 1, sizeof **ids);
	for (i = 0; i < cnt; i++)
		(*ids)[i] = v[i].id;
	*n = cnt;
	rc = 0;
out:
	if (dp)
		closedir(dp);
	free(v);
	free(dir);
	return rc;
}

int
spool_count(struct spool *sp, const char *q, size_t *n, struct err *e)
{
	char **ids = NULL;
	size_t i;
	int rc = spool_list(sp, q, &ids, n, e);

	for (i = 0; ids && i < *n; i++)
		free(ids[i]);
	free(ids);
	return rc;
}

int
spool_recover(struct spool *sp, size_t *removed, struct err *e)
{
	const char *const *q;
	struct dirent *d;
	size_t cnt = 0;
	char *dir;
	DIR *dp;

	for (q = queues; *q; q++) {
		dir = path(sp->home, *q, "tmp", NULL);
		if ((dp = opendir(dir)) == NULL && errno == ENOENT) {
			/* an init cut short: no dir, nothing unfinished */
			free(dir);
			continue;
		}
		if (dp == NULL) {
			int rc = err_set(e, EX_IOERR, "%s: %s", dir,
			    strerror(errno));
			free(dir);
			return rc;
		}
		/* everything in tmp/ is an unfinished write by definition */
		while ((d = readdir(dp)) != NULL)
			if (d->d_name[0] != '.' &&
			    unlinkat(dirfd(dp), d->d_name, 0) == 0)
				cnt++;
		closedir(dp);
		free(dir);
	}
	if (removed)
		*removed = cnt;
	return 0;
}

int
spool_lock(struct spool *sp, struct err *e)
{
	char *p = path(sp->home, "lock", NULL, NULL);
	int rc = 0;

	/* path() gives <home>/queue/lock for the "queue" "lock" pair */
	if (sp->lockfd < 0)
		sp->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0)
		rc = err_set(e, EX_IOERR, "%s: %s", p, strerror(errno));
	else if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0)
		rc = err_set(e, errno == EWOULDBLOCK ? EX_TEMPFAIL : EX_IOERR,
		    "spool is locked by another process");
	free(p);
	return rc;
}

void
spool_trigger_pull(struct spool *sp)
{
	struct buf b = {0};
	int fd;

	buf_printf(&b, "%s/trigger", sp->home);
	/* O_NONBLOCK: with no reader the open fails (ENXIO) at once; a full
	 * pipe means a wake-up is pending anyway. Never wait, never fail. */
	fd = open(b.p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "", 1) < 0) {
			/* EAGAIN: already poked */
		}
		close(fd);
	}
	buf_free(&b);
}

int
spool_trigger_fd(struct spool *sp, int *fd, struct err *e)
{
	struct buf b = {0};
	int rc = 0;

	buf_printf(&b, "%s/trigger", sp->home);
	/* O_RDWR keeps a writer open ourselves, so the FIFO never reports
	 * EOF (and poll never spins) between pokes; Linux and the BSDs
	 * define O_RDWR on a FIFO this way. */
	*fd = open(b.p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		rc = err_set(e, EX_IOERR, "%s: %s", b.p, strerror(errno));
	buf_free(&b);
	return rc;
}

void
spool_trigger_drain(int fd)
{
	char junk[256];
	ssize_t n;

	/* until EAGAIN: the fd is non-blocking and never sees EOF */
	while ((n = read(fd, junk, sizeof junk)) > 0 ||
	    (n < 0 && errno == EINTR))
		;
}
