/* spool - queue paths and the commit protocol (see spool.h). */
#ifdef __linux__
#define _GNU_SOURCE	/* renameat2 */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
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
	rec_newid(out);
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

/* tmp becomes dst unless dst exists (EEXIST); -1 with errno. */
static int
commit(const char *tmp, const char *dst)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	return link(tmp, dst);
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
	if (fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
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
	 * Commit without replacing: "check, then rename()" leaves a window
	 * in which two writers of one id both pass the check and the second
	 * silently replaces the first. Linux renames with RENAME_NOREPLACE,
	 * atomically; elsewhere (or on a filesystem without it) link()
	 * refuses an existing target, and until the unlink() below the job
	 * has a second name in tmp/, which spool_read takes for "not there
	 * yet" and spool_recover removes after a crash.
	 */
	if (commit(tmp, dst) < 0) {
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

/* Is st (q/new/id) a job spool_put is committing with link(): its
 * other name tmp/ID in q? */
static int
committing(struct spool *sp, const char *q, const char *id,
    const struct stat *st)
{
	struct stat t;
	char *tmp = path(sp->home, q, "tmp", id);
	int same = lstat(tmp, &t) == 0 && t.st_dev == st->st_dev &&
	    t.st_ino == st->st_ino;

	free(tmp);
	return same;
}

int
spool_read(struct spool *sp, const char *q, const char *id, struct buf *out,
    struct err *e)
{
	struct stat st;
	char *p;
	int fd, rc;

	if ((rc = check(q, id, e)) != 0)
		return rc;
	p = path(sp->home, q, "new", id);
	/* Only what spool_put wrote is a job: a plain file of ours with one
	 * link. Whoever may drop files into incoming can name one like a
	 * job; a link must not make us read what they cannot, nor a FIFO
	 * block us while we hold the spool lock. */
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0)
		rc = err_set(e, errno == ENOENT ? EX_NOINPUT : errno == ELOOP ?
		    EX_DATAERR : EX_IOERR, "%s: %s", p, errno == ELOOP ?
		    "a symbolic link, not a job file" : strerror(errno));
	else if (fstat(fd, &st) != 0)
		rc = err_set(e, EX_IOERR, "%s: %s", p, strerror(errno));
	else if (S_ISREG(st.st_mode) && st.st_nlink == 2 &&
	    committing(sp, q, id, &st))
		rc = err_set(e, EX_NOINPUT, "%s: being committed", p);
	else if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid())
		rc = err_set(e, EX_DATAERR, "%s: not a job file (%s)", p,
		    !S_ISREG(st.st_mode) ? "not a plain file" :
		    st.st_nlink != 1 ? "more than one link" :
		    "owned by another user");
	else if ((rc = fs_read_fd(fd, SPOOL_MAX_FILE, out, e)) != 0)
		err_prefix(e, "%s", p);
	if (fd >= 0)
		close(fd);
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

int
spool_lock_fd(const struct spool *sp)
{
	return sp->lockfd;
}

/*
 * Duplicates. A stage writes a job's new version into the next queue
 * before it removes the old one, so a crash between the two leaves the
 * job in two queues. The later state wins; the order is the one the
 * scheduler moves jobs in.
 */
static const char *const ranked[] = {
	"incoming", "deferred", "held", "failed", "done", NULL
};

struct copy {
	char *id;
	int rank;
};

static int
copy_cmp(const void *a, const void *b)
{
	const struct copy *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return y->rank - x->rank;	/* the latest state first */
}

int
spool_dedup(struct spool *sp, size_t *removed, struct err *e)
{
	struct copy *v = NULL;
	char **ids = NULL;
	size_t i, n, cnt = 0, gone = 0;
	int r, rc = 0;

	for (r = 0; ranked[r] && rc == 0; r++) {
		if ((rc = spool_list(sp, ranked[r], &ids, &n, e)) != 0)
			break;
		v = xrealloc(v, sizeof *v * (cnt + n + 1));
		for (i = 0; i < n; i++) {
			v[cnt].id = ids[i];
			v[cnt++].rank = r;
		}
		free(ids);
	}
	if (cnt)
		qsort(v, cnt, sizeof *v, copy_cmp);
	for (i = 1; i < cnt && rc == 0; i++) {
		if (strcmp(v[i].id, v[i - 1].id) != 0)
			continue;
		/* v[i] is an earlier state of a job kept further up */
		rc = spool_remove(sp, ranked[v[i].rank], v[i].id, e);
		if (rc == EX_NOINPUT)
			rc = 0;
		else if (rc == 0)
			gone++;
	}
	for (i = 0; i < cnt; i++)
		free(v[i].id);
	free(v);
	if (removed)
		*removed = gone;
	return rc;
}

/*
 * Drop-ins: files a user puts into incoming/new/ under any name that is
 * not a job id and does not start with '.'. Adoption is
 *     rename new/NAME -> adopt/ID      (ID fresh; the file is now ours)
 *     wrap it into a record with Id ID and commit it (spool_put)
 *     unlink adopt/ID
 * A crash before the rename leaves the drop-in where it was; after it,
 * adopt/ID names the job, and finishing it again yields the same ID
 * (spool_put refuses a second copy), so a drop-in becomes exactly one job.
 */
#define SPOOL_MAX_DROPIN (64 * 1024)	/* parse-csr's limit per request */

/* Headers a dropped-in record keeps: what it asks for. Who asked, the
 * job's identity and every result a stage writes are not the
 * dropper's to say. */
static const char *const dropin_keep[] = {
	"Realm", "Template", "Days", "Digest", "CN", "O", "OU", "C", "ST",
	"L", "SAN", NULL
};

/* A record with Id id and nothing else (rec_new picks its own Id). */
static struct rec *
skeleton(const char *id, const char *pem, size_t pemlen)
{
	struct buf b = {0};
	struct rec *r = NULL;
	struct err e = {0};

	buf_printf(&b, "CERTPIPE-RECORD 1\nId: %s\n\n", id);
	buf_add(&b, pem, pemlen);
	buf_printf(&b, "END-RECORD %s\n", id);
	if (rec_parse(b.p, b.len, &r, &e) != 0)
		r = NULL;
	buf_free(&b);
	err_free(&e);
	return r;
}

/* Occurrences of "-----BEGIN " in [p, p+len). */
static size_t
pem_begins(const char *p, size_t len, const char **first)
{
	static const char tag[] = "-----BEGIN ";
	size_t i, n = 0;

	*first = NULL;
	for (i = 0; i + sizeof tag - 1 <= len; i++)
		if (p[i] == '-' && memcmp(p + i, tag, sizeof tag - 1) == 0) {
			if (n++ == 0)
				*first = p + i;
		}
	return n;
}

/* The one PEM block of a drop-in, decoded by the record reader itself
 * (CRs dropped), into r; 0 when the text is not one readable block. */
static int
dropin_pem(struct rec *r, const char *data, size_t len)
{
	const unsigned char *der;
	const char *first, *label;
	struct buf b = {0};
	struct rec *t;
	struct err e = {0};
	size_t i, dlen;
	int ok = 0;

	if (pem_begins(data, len, &first) != 1)
		return 0;
	for (i = (size_t)(first - data); i < len; i++)
		if (data[i] != '\r')
			buf_addc(&b, data[i]);
	if (b.len && b.p[b.len - 1] != '\n')
		buf_addc(&b, '\n');
	if ((t = skeleton(rec_id(r), b.p, b.len)) != NULL &&
	    rec_npem(t) == 1) {
		rec_pem(t, 0, &label, &der, &dlen);
		ok = strstr(label, "CERTIFICATE REQUEST") != NULL &&
		    rec_add_pem(r, "CERTIFICATE REQUEST", der, dlen, &e) == 0;
	}
	rec_free(t);
	buf_free(&b);
	err_free(&e);
	return ok;
}

/* A drop-in that is itself a record: keep what it asks for. */
static int
dropin_rec(struct rec *r, const char *data, size_t len)
{
	const unsigned char *der;
	const char *name, *value, *label;
	const char *const *k;
	struct rec *in = NULL;
	struct err e = {0};
	size_t i, dlen;
	int rc;

	if (len < 17 || memcmp(data, "CERTPIPE-RECORD 1", 17) != 0 ||
	    rec_parse(data, len, &in, &e) != 0) {
		err_free(&e);
		return 0;
	}
	for (i = 0, rc = 0; i < rec_nheaders(in) && rc == 0; i++) {
		rec_header(in, i, &name, &value);
		for (k = dropin_keep; *k; k++)
			if (strcmp(*k, name) == 0)
				rc = rec_add(r, name, value, &e);
	}
	for (i = 0; i < rec_npem(in) && rc == 0; i++) {
		rec_pem(in, i, &label, &der, &dlen);
		/* the stages look for one label only */
		if (strcmp(label, "NEW CERTIFICATE REQUEST") == 0)
			label = "CERTIFICATE REQUEST";
		rc = rec_add_pem(r, label, der, dlen, &e);
	}
	rec_free(in);
	err_free(&e);
	return 1;
}

static void
dropin_fail(struct rec *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
dropin_fail(struct rec *r, const char *fmt, ...)
{
	struct buf b = {0};
	struct err e = {0};
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	rec_set(r, "Status", "failed", &e);
	rec_set(r, "Error", b.p, &e);
	rec_set(r, "Error-Code", "65", &e);
	rec_set(r, "Stage", "spool", &e);
	buf_free(&b);
	err_free(&e);
}

/* The owner's login name, the same identity audit_actor() gives the
 * person at a terminal (so a requester can never approve their own
 * drop-in), or "uid-N" for an owner without one. The record's Source
 * says it came through the spool. */
static void
dropin_owner(uid_t uid, struct buf *out)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res &&
	    res->pw_name[0] && strpbrk(res->pw_name, "\r\n ") == NULL)
		buf_adds(out, res->pw_name);
	else
		buf_printf(out, "uid-%lu", (unsigned long)uid);
}

/* The record every drop-in starts from: its Id, and who dropped it
 * (owner NULL: nobody known). */
static struct rec *
dropin_head(const char *id, const char *owner)
{
	struct rec *r = skeleton(id, "", 0);
	struct err e = {0};

	if (r != NULL && owner != NULL) {
		rec_add(r, "Type", "csr", &e);
		rec_add(r, "Source", "spool", &e);
		rec_add(r, "Requested-By", owner, &e);
	}
	err_free(&e);
	return r;
}

/* The last header of every drop-in: Realm, unless the drop-in said. */
static void
dropin_realm(struct rec *r)
{
	struct err e = {0};

	if (rec_get(r, "Realm") == NULL)
		rec_add(r, "Realm", "default", &e);
	err_free(&e);
}

/* The drop-in's bytes into r (see spool_wrap); 1 when nothing in them
 * can run. */
static int
dropin_bytes(struct rec *r, const char *data, size_t len)
{
	const unsigned char *der;
	const char *first;
	struct err e = {0};
	size_t dlen;
	int final = 1;

	if (len == 0) {
		dropin_fail(r, "drop-in is empty");
		goto out;
	}
	if (dropin_rec(r, data, len)) {
		if (!rec_find_pem(r, "CERTIFICATE REQUEST", &der, &dlen))
			dropin_fail(r, "drop-in record carries no "
			    "CERTIFICATE REQUEST");
		else
			final = 0;
		goto out;
	}
	if (pem_begins(data, len, &first) > 1) {
		rec_add_pem(r, "CERTIFICATE REQUEST", data, len, &e);
		dropin_fail(r, "drop-in holds several PEM blocks; drop one "
		    "request per file");
		goto out;
	}
	/* Not PEM that the reader takes: carried as it is, for parse-csr
	 * to accept (DER) or refuse with its reason. */
	if (!dropin_pem(r, data, len))
		rec_add_pem(r, "CERTIFICATE REQUEST", data, len, &e);
	final = 0;
out:
	err_free(&e);
	return final;
}

int
spool_wrap(const char *id, const char *owner, const void *data, size_t len,
    struct rec **out, int *final, struct err *e)
{
	struct rec *r;

	*out = NULL;
	*final = 1;
	if (!rec_id_ok(id))
		return err_set(e, EX_DATAERR, "drop-in: %s: not a job id", id);
	if (owner[0] == '\0' || strpbrk(owner, "\r\n") != NULL)
		return err_set(e, EX_DATAERR, "drop-in: owner is not one line");
	if ((r = dropin_head(id, owner)) == NULL)
		return err_set(e, EX_SOFTWARE, "drop-in: %s: no record", id);
	*final = dropin_bytes(r, data, len);
	dropin_realm(r);
	*out = r;
	return 0;
}

/*
 * The record for the staged drop-in at p: what the file is checked for
 * here, what its bytes say in spool_wrap. *final says the job cannot
 * run (nothing readable in it) and goes straight to failed.
 */
static struct rec *
dropin_wrap(const char *id, const char *p, int *final)
{
	struct rec *r = NULL;
	struct buf data = {0}, who = {0};
	struct err e = {0};
	struct stat st, fst;
	const char *why;
	int fd = -1;

	*final = 1;
	if (lstat(p, &st) < 0) {
		why = strerror(errno);
		if ((r = dropin_head(id, NULL)) != NULL)
			dropin_fail(r, "drop-in: %s", why);
		goto out;
	}
	dropin_owner(st.st_uid, &who);
	/* Regular files with one name only: the scheduler must not read
	 * what a symlink or a hard link to another's file points at. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		if ((r = dropin_head(id, who.p)) != NULL)
			dropin_fail(r, "drop-in is not a regular file with "
			    "one link");
		goto out;
	}
	if (st.st_size > SPOOL_MAX_DROPIN) {
		if ((r = dropin_head(id, who.p)) != NULL)
			dropin_fail(r, "drop-in is %lld bytes, more than %d",
			    (long long)st.st_size, SPOOL_MAX_DROPIN);
		goto out;
	}
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino ||
	    fst.st_dev != st.st_dev ||
	    fs_read_fd(fd, SPOOL_MAX_DROPIN, &data, &e) != 0) {
		why = fd < 0 ? strerror(errno) : err_str(&e);
		if ((r = dropin_head(id, who.p)) != NULL)
			dropin_fail(r, "drop-in: cannot read it: %s", why);
		goto out;
	}
	spool_wrap(id, who.p, data.p, data.len, &r, final, &e);
out:
	if (r != NULL)
		dropin_realm(r);
	if (fd >= 0)
		close(fd);
	buf_free(&data);
	buf_free(&who);
	err_free(&e);
	return r;
}

/* Is the job id committed in queue q? */
static int
committed(struct spool *sp, const char *q, const char *id)
{
	char *p = path(sp->home, q, "new", id);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Finish the staged adoption adopt/<id>: commit its job (once), then
 * remove the staged file. *q gets the queue the job went to. */
static int
adopt_finish(struct spool *sp, const char *id, const char **q,
    struct err *e)
{
	char *p = path(sp->home, "incoming", "adopt", id);
	char *dir = path(sp->home, "incoming", "adopt", NULL);
	struct buf b = {0};
	struct rec *r = NULL;
	int final = 0, rc = 0;

	*q = "incoming";
	if (committed(sp, "failed", id))
		*q = "failed";
	else if (!committed(sp, "incoming", id)) {
		/* not committed before a crash: wrap and commit it now */
		if ((r = dropin_wrap(id, p, &final)) == NULL) {
			rc = err_set(e, EX_SOFTWARE, "spool: %s: cannot make "
			    "a record", id);
			goto out;
		}
		*q = final ? "failed" : "incoming";
		rec_write(r, &b);
		if ((rc = spool_put(sp, *q, id, b.p, b.len, e)) != 0)
			goto out;
	}
	if (unlink(p) < 0 && errno != ENOENT)
		rc = err_set(e, EX_IOERR, "%s: unlink: %s", p, strerror(errno));
	else
		rc = fs_fsync_dir(dir, e);
out:
	rec_free(r);
	buf_free(&b);
	free(p);
	free(dir);
	return rc;
}

/* Names in dir that sel accepts (NULL-terminated, caller frees). */
static int
names(const char *dir, int (*sel)(int dfd, const char *name), char ***out,
    struct err *e)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	*out = xcalloc(1, sizeof **out);
	if ((dp = opendir(dir)) == NULL)
		return err_set(e, EX_IOERR, "%s: %s", dir, strerror(errno));
	while ((d = readdir(dp)) != NULL) {
		if (!sel(dirfd(dp), d->d_name))
			continue;
		*out = xrealloc(*out, sizeof **out * (n + 2));
		(*out)[n++] = xstrdup(d->d_name);
		(*out)[n] = NULL;
	}
	closedir(dp);
	return 0;
}

static int
sel_staged(int dfd, const char *name)
{
	return spool_id_ok(name);
}

/* A drop-in: not a job, not hidden (still being written), not a
 * directory. */
static int
sel_dropin(int dfd, const char *name)
{
	struct stat st;

	return name[0] != '.' && !spool_id_ok(name) &&
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode);
}

static void
names_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Stage the drop-in new/<name> as adopt/<id>: from here on it is ours. */
static int
adopt_stage(struct spool *sp, const char *name, char id[37], struct err *e)
{
	char *src = path(sp->home, "incoming", "new", name);
	char *dst, *sdir = path(sp->home, "incoming", "new", NULL);
	char *ddir = path(sp->home, "incoming", "adopt", NULL);
	int rc;

	spool_newid(id);
	dst = path(sp->home, "incoming", "adopt", id);
	if (rename(src, dst) < 0)
		rc = err_set(e, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: adopt: %s", src, strerror(errno));
	else if ((rc = fs_fsync_dir(ddir, e)) == 0)
		rc = fs_fsync_dir(sdir, e);
	free(src);
	free(dst);
	free(sdir);
	free(ddir);
	return rc;
}

int
spool_adopt(struct spool *sp, spool_adopt_fn fn, void *ctx, size_t *adopted,
    struct err *e)
{
	char *adir = path(sp->home, "incoming", "adopt", NULL);
	char *ndir = path(sp->home, "incoming", "new", NULL);
	char **v = NULL, id[37];
	const char *q;
	size_t i, cnt = 0;
	int rc;

	/* staged adoptions a crash cut short come first */
	if ((rc = fs_mkdirs(adir, 0700, e)) != 0 ||
	    (rc = names(adir, sel_staged, &v, e)) != 0)
		goto out;
	for (i = 0; v[i] && rc == 0; i++)
		if ((rc = adopt_finish(sp, v[i], &q, e)) == 0) {
			cnt++;
			if (fn)
				fn(NULL, v[i], q, ctx);
		}
	names_free(v);
	v = NULL;
	if (rc != 0 || (rc = names(ndir, sel_dropin, &v, e)) != 0)
		goto out;
	for (i = 0; v[i] && rc == 0; i++) {
		if ((rc = adopt_stage(sp, v[i], id, e)) == EX_NOINPUT) {
			rc = 0;		/* taken back by its writer */
			continue;
		}
		if (rc == 0 && (rc = adopt_finish(sp, id, &q, e)) == 0) {
			cnt++;
			if (fn)
				fn(v[i], id, q, ctx);
		}
	}
out:
	names_free(v);
	free(adir);
	free(ndir);
	if (adopted)
		*adopted = cnt;
	return rc;
}
